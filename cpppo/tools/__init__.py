"""``cpppo.tools``, the original cpppo's helpers for scripts: :mod:`cpppo.tools.waits` (wait for a
time, a file, a line in a file, or a predicate)."""

__all__ = ["waits"]
from . import waits as waits
