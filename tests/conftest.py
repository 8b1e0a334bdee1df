"""Fixtures the end-to-end tests share."""

import pytest

from tests.peers import original


@pytest.fixture(scope="session")
def original_venv():
    """The virtualenv holding the original cpppo (a test peer), created once; the test fails if it cannot be."""
    try:
        return original.original_venv()
    except original.OriginalUnavailable as exc:
        problem = str(exc)
    pytest.fail(f"could not create the virtualenv with the original cpppo {original.ORIGINAL_VERSION}"
                f" from the package index (needed as a test peer):\n{problem}", pytrace=False)
