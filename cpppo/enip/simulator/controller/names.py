"""Logix names match ignoring ASCII case: tag names, ``Program:<name>`` prefixes, program names,
aliases and UDT members.

A ControlLogix answers a request for ``basebool`` with the tag declared ``BaseBOOL`` (pylogix's
own tests depend on it), while browsing lists every name as declared.  So the declared spelling
is kept wherever a name is stored, and each lookup that misses it exactly is tried once more
through :func:`fold`, usually against an index of folded names built when the names are stored:
the exact match, the common case, costs nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["fold", "declared"]


def fold(name: str) -> str:
    """*name* with ASCII letters upper-cased and nothing else changed (Logix names are ASCII; a
    client's non-ASCII byte must not match by Unicode case rules, eg. ``ß`` against ``SS``)."""
    if name.isascii():
        return name.upper()
    return "".join(char.upper() if char.isascii() else char for char in name)


def declared(name: str, names: Iterable[str]) -> str | None:
    """The spelling among *names* that *name* matches ignoring ASCII case, or None: for lookups in
    short lists (program names) that need no index."""
    wanted = fold(name)
    return next((known for known in names if fold(known) == wanted), None)
