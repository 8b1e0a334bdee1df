"""The states that consume one symbol: ``state_input`` keeps it, ``state_drop`` discards it.

They carry the original's text grammars (a regex's states are ``state_input``
by default) and any parser that decides symbol by symbol.  Binary protocols,
which read whole fields, use :mod:`~cpppo.automata.binary` instead.
"""

from __future__ import annotations

import array
from typing import Any

from .markers import path_ext_input
from .nodes import state

__all__ = ["state_input", "state_drop"]


class state_input(state):
    """Consumes one symbol and appends it to ``data['<path>.<context>.input']`` (an array)."""

    def __init__(self, name: Any, **kwds: Any) -> None:
        if kwds.get("extension") is None:
            kwds["extension"] = path_ext_input
        if kwds.get("typecode") is None:
            kwds["typecode"] = "u"
        super().__init__(name, **kwds)

    def accepts(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        inp = source.peek()
        return inp is not None and self.validate(inp)

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        inp = next(source)
        if data is None:
            return
        where = self.where(path)
        if not where:
            return
        store = data.get(where)
        if store is None:
            typecode = self.typecode
            if typecode == "u" and isinstance(inp, int):
                typecode = "B"
            store = data[where] = array.array(typecode) if typecode else []
        store.append(inp)


class state_drop(state_input):
    """Consumes one symbol and discards it (separators, padding)."""

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        next(source)
