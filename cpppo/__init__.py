"""cpppo: Communication Protocol Python Parser and Originator, on Twisted.

The flat public namespace the original offered: the DFA framework
(``cpppo.dfa``, ``cpppo.state``, ``cpppo.regex``, ...), ``cpppo.dotdict`` and the
small helpers of :mod:`cpppo.misc` (``timer``, ``log_cfg``).
"""

from . import automata  # noqa: F401
from .automata import *  # noqa: F401,F403
from .dotdict import dotdict  # noqa: F401
from .misc import *  # noqa: F401,F403
from .version import __version__, __version_info__
