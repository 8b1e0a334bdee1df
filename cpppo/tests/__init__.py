"""The unit tests: ``trial cpppo.tests`` (from a checkout or an installed package).

Hypothesis keeps its files (an example database, caches) in a temporary folder of the run's own,
removed at exit: its default, a ``.hypothesis`` folder in whatever folder the tests were started
from, would be written outside the tests' temporary folders (the checkout, a user's folder).
"""

import atexit
import shutil
import tempfile

from hypothesis.configuration import set_hypothesis_home_dir

_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="cpppo-tests-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, True)
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
