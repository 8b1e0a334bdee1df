"""Fixtures the end-to-end tests share."""

import signal

import pytest

from tests.peers import original

# A run started in the background by a non-interactive shell (a CI script's ``make test &``)
# begins with SIGINT ignored, and every process it starts inherits that: the servers and tools the
# tests stop as Control-C would then never stop.  A handler is not inherited across exec, so the
# children start with SIGINT at its default again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def original_venv():
    """The virtualenv holding the original cpppo (a test peer), created once; the test fails if it cannot be."""
    try:
        return original.original_venv()
    except original.OriginalUnavailable as exc:
        problem = str(exc)
    pytest.fail(f"could not create the virtualenv with the original cpppo {original.ORIGINAL_VERSION}"
                f" from the package index (needed as a test peer):\n{problem}", pytrace=False)
