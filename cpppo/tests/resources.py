"""Where the tests find their files and their own package, installed or in a checkout.

Why: ``trial cpppo.tests`` runs from an installed wheel as well as from a checkout, so the tests
never assume the checkout's layout.  Their data (L5X/CSV/TOML exports, golden frames) ships as
package data of ``cpppo.tests`` and is found through :mod:`importlib.resources`; a child Python
they start imports the same ``cpppo`` they run, wherever that was installed.
"""

from __future__ import annotations

import os
import pathlib
from importlib import resources

import cpppo

__all__ = ["data_file", "vectors_dir", "child_env"]


def data_file(name: str) -> str:
    """The path of a test data file (``plant.L5X``, ``tagfile.toml``...) shipped with the tests."""
    return str(resources.files("cpppo.tests") / "data" / name)


def vectors_dir() -> pathlib.Path:
    """The folder of golden EtherNet/IP conversations (``*.json``)."""
    return pathlib.Path(str(resources.files("cpppo.tests") / "vectors" / "enip"))


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment, with PYTHONPATH leading to the ``cpppo`` under test first."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(cpppo.__file__)))
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)
