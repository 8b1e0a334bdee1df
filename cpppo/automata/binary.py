"""The states that decode binary fields: ``state_fields``, ``state_bytes`` and ``state_struct``.

Binary protocols are records of fixed-size fields and length-prefixed runs.
``state_fields`` reads a run of fields with one precompiled ``struct.Struct``
and ``state_bytes`` a run of N symbols, each in one step, so a frame costs a
few method calls rather than one per byte.  ``state_struct`` is the original's
way (decode what ``state_input`` states collected a byte at a time), kept for
the parsers written that way.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .markers import NonTerminal, path_ext_input
from .nodes import state

__all__ = ["state_struct", "state_fields", "state_bytes"]


class _Bulk(Protocol):
    """What the binary states ask of their source: bulk access, as :class:`~.sources.peeking` gives."""

    def has(self, n: int) -> bool: ...

    def take(self, n: int) -> Any: ...


class state_struct(state):
    """A null state decoding the symbols collected at ``<path>.<context>.input`` with a struct format.

    Kept for the original's parsers that collect bytes one at a time; new parsers
    use :class:`state_fields`, which reads a field in one step.
    """

    def __init__(self, name: Any, format: str = "B", offset: int = 0, index: int = 0,
                 input_extension: str | None = None, **kwds: Any) -> None:
        super().__init__(name, **kwds)
        self._struct = struct.Struct(format)
        self.offset = offset
        self.index = index
        self._input = input_extension if input_extension is not None else path_ext_input

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        ours = self.context(path)
        size = self._struct.size
        beg = self.offset + self.index * size
        raw = data[ours + self._input]
        buf = raw.tobytes() if isinstance(raw, array.array) else bytes(raw)
        value = self._struct.unpack_from(buf, beg)[0]
        existing = data.get(ours) if ours else None
        if isinstance(existing, list):
            existing.append(value)
        else:
            data[ours] = value


class state_fields(state):
    """Consumes a run of fixed-size binary fields in one step, with one precompiled ``struct``.

    ``state_fields('header', '<HHIIQI', ('command', 'length', ...), context='header')``
    stores each named field at ``<path>.<context>.<field>``; with no *fields*, a
    single-value format (``'<H'``) stores its value at ``<path>.<context>``.  A
    ``'8s'`` field yields bytes.  *decode* (optional) maps the stored values.
    """

    def __init__(self, name: Any, format: str, fields: Sequence[str] | None = None, **kwds: Any) -> None:
        super().__init__(name, **kwds)
        self._struct = struct.Struct(format)
        self._unpack = self._struct.unpack
        self.size = self._struct.size
        self.fields = tuple(fields) if fields is not None else None
        if self.fields is not None and len(self.fields) != len(self._struct.unpack(bytes(self.size))):
            raise ValueError(f"{name}: {len(self.fields)} field names for format {format!r}")
        if self.fields is None and len(self._struct.unpack(bytes(self.size))) != 1:
            raise ValueError(f"{name}: format {format!r} holds several values; name them with fields=")

    def accepts(self, source: _Bulk, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        return source.has(self.size)

    def consume(self, source: _Bulk, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        raw = source.take(self.size)
        if raw is None:
            return False
        if data is not None:
            where = self.where(path)
            if self.fields is None:
                if "." in where or "[" in where or not isinstance(data, dict):
                    data[where] = self._unpack(raw)[0]
                else:
                    dict.__setitem__(data, where, self._unpack(raw)[0])
            else:
                dict.update(self._node(path, data) if where else data, zip(self.fields, self._unpack(raw)))
        return True

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        if not self.consume(source, machine, path, data):
            raise NonTerminal(f"{self}: input ended inside a {self.size}-byte field")

    def consumer(self, source: Any, machine: Any = None, path: str | None = None) -> Callable[[Any], bool]:
        take, size, unpack, fields = source.take, self.size, self._unpack, self.fields
        where = self.where(path)
        if fields is None:
            flat = "." not in where and "[" not in where

            def consume_one(data: Any) -> bool:
                raw = take(size)
                if raw is None:
                    return False
                if data is not None:
                    if flat and isinstance(data, dict):
                        dict.__setitem__(data, where, unpack(raw)[0])
                    else:
                        data[where] = unpack(raw)[0]
                return True

            return consume_one
        node = self._node if where else None
        flat = bool(where) and "." not in where and "[" not in where

        def consume(data: Any) -> bool:
            raw = take(size)
            if raw is None:
                return False
            if data is not None:
                if flat and data.__class__ is dict and where not in data:  # (what _node would make: a dict)
                    data[where] = dict(zip(fields, unpack(raw)))
                else:
                    dict.update(data if node is None else node(path, data), zip(fields, unpack(raw)))
            return True

        return consume


class state_bytes(state):
    """Consumes a run of N symbols in one step and stores it (``bytes`` from byte input).

    *length* is an int, a data path relative to this state's path (a length
    field parsed earlier: a length-prefixed field), or a callable
    ``length(path=, data=)``.  The run is stored at ``<path>.<context><extension>``.
    """

    def __init__(self, name: Any, length: int | str | Callable[..., int], **kwds: Any) -> None:
        super().__init__(name, **kwds)
        self.length = length

    def _length(self, path: str | None, data: Any) -> int:
        length = self.length
        if isinstance(length, int):
            return length
        if isinstance(length, str):
            key = (path + "." + length) if path else length
            value = data[key]
        else:
            value = length(path=path, data=data)
        if not isinstance(value, int) or value < 0:
            raise NonTerminal(f"{self}: length {self.length!r} is {value!r}, not a count")
        return value

    def accepts(self, source: _Bulk, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        return source.has(self._length(path, data))

    def consume(self, source: _Bulk, machine: Any = None, path: str | None = None, data: Any = None) -> bool:
        run = source.take(self._length(path, data))
        if run is None:
            return False
        if data is not None:
            data[self.where(path)] = run
        return True

    def process(self, source: Any, machine: Any = None, path: str | None = None, data: Any = None) -> None:
        if not self.consume(source, machine, path, data):
            raise NonTerminal(f"{self}: input ended inside a {self._length(path, data)}-symbol field")

    def consumer(self, source: Any, machine: Any = None, path: str | None = None) -> Callable[[Any], bool]:
        take, length, where = source.take, self._length, self.where(path)

        def consume(data: Any) -> bool:
            run = take(length(path, data))
            if run is None:
                return False
            if data is not None:
                data[where] = run
            return True

        return consume
