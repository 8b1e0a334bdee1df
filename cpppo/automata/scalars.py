"""Machines that parse a value, as the original offered them: ``string``, ``integer`` (and their
``_bytes`` twins over byte streams), and ``dfa_post``.

Why: the original's users build parsers with ``cpppo.integer("port")`` (digits, stored as an int at
``<path>.integer``) and ``cpppo.string("name", initial="[a-z]+")`` (the matched text at
``<path>.string``; bytes from a byte stream unless ``decode=`` names an encoding).  Each is a
:class:`~cpppo.automata.machines.regex` whose accepting states lead, when the expression can go no
further, to one null state that converts what was collected (``<path>.<context>.input``) and stores
the value in its place, as the original's did when its machine terminated.  The regex always
takes the longest match (the original's ``greedy`` is accepted, as its strings matched to the end
either way).  ``dfa_post`` is a ``dfa`` whose users queue closures to run when the thread leaves
its ``with`` block (the original needed it to use a parser from inside itself).
"""

from __future__ import annotations

import array
import threading
from collections.abc import Callable
from typing import Any

from .machines import dfa, regex, regex_bytes
from .nodes import state

__all__ = ["string_base", "string", "string_bytes", "integer_base", "integer", "integer_bytes", "dfa_post"]


class _store_value(state):
    """The null terminal state after a value's expression: converts the collected input."""

    def __init__(self, owner: Any) -> None:
        super().__init__(f"{owner._name}.value", terminal=True)
        self.owner = owner

    def consume(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        if data is not None and path:
            collected = data.get(path + ".input")
            if isinstance(collected, array.array):
                collected = collected.tounicode() if collected.typecode == "u" else collected.tobytes()
            data[path] = self.owner.convert(collected)
        return True


class string_base:
    """Mixed into a regex class: the matched input, converted by :meth:`convert`, at ``<path>.<context>``."""

    _name: str
    initial: state

    def __init__(self, name: Any, initial: Any = ".*", context: str = "string", greedy: bool = False,
                 decode: str | None = None, **kwds: Any) -> None:
        self.decode = decode
        super().__init__(name=name, initial=initial, context=context, greedy=True, **kwds)  # type: ignore[call-arg]
        done = _store_value(self)
        for node in list(self.initial.nodes()):
            if node.terminal and node is not done:
                node[None] = done

    def convert(self, value: Any) -> Any:
        """The text (or bytes) matched, decoded if *decode* names an encoding."""
        return value.decode(self.decode) if self.decode is not None and isinstance(value, bytes) else value


class string(string_base, regex):
    """Text matching *initial* (default ``.*``), stored at ``<path>.string``."""


class string_bytes(string_base, regex_bytes):
    """Bytes matching *initial* from a byte stream (text, given ``decode=``), at ``<path>.string``."""


class integer_base(string_base):
    """Mixed into a regex class: decimal digits, stored as an int at ``<path>.integer``."""

    def __init__(self, name: Any, initial: Any = None, context: str = "integer", **kwds: Any) -> None:
        assert initial is None, f"Cannot specify a sub-machine for {type(self).__name__}"
        super().__init__(name=name, initial=r"\d+", context=context, **kwds)

    def convert(self, value: Any) -> int:
        return int(super().convert(value))


class integer(integer_base, regex):
    """Decimal digits from text, as an int."""


class integer_bytes(integer_base, regex_bytes):
    """Decimal digits from a byte stream, as an int."""


class dfa_post(dfa):
    """A dfa whose ``post_process_closure(closure)`` queues *closure* (per thread) to run when that
    thread leaves the machine's ``with`` block, in order."""

    def __init__(self, *args: Any, **kwds: Any) -> None:
        self.post: dict[int | None, list[Callable[[], Any]]] = {}
        super().__init__(*args, **kwds)

    def post_process_closure(self, closure: Callable[[], Any]) -> None:
        self.post.setdefault(threading.get_ident(), []).append(closure)

    def __exit__(self, *exc: object) -> None:
        try:
            super().__exit__(*exc)
        finally:
            pending = self.post.pop(threading.get_ident(), [])
            while pending:
                pending.pop(0)()
