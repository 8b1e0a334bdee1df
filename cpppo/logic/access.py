"""The compiler's accessor interface to the controller's tag storage: an operand becomes get/set callables.

Why: a scan must do no name lookups.  :class:`Binder` resolves a rung's tag
reference once, at load time, against the controller's
:class:`~cpppo.enip.simulator.controller.tags.Tags` (program tags first, then
controller tags; names ignore case; aliases share their base tag's storage),
and returns callables that touch the storage directly: an atomic tag's
``Attribute.value`` (a scalar, or a list of elements), a structure tag's raw
bytes at a fixed offset through the type's precompiled ``struct`` (as
:mod:`~cpppo.enip.simulator.controller.members` lays them out), a bit of an
integer, a bit of a BOOL array (held as DWORDs, as Logix and our tags hold
it).  A subscript that is a tag (``a[i]``) is computed each scan and checked:
out of range is the major fault a Logix raises (type 4, code 20).  Writes
convert as a Logix store does: REAL to float32, a REAL into an integer
rounds, an integer wraps to its width (:func:`converter`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cpppo.enip.codec import types as cip_types
from cpppo.enip.codec.epath import Bit, Logical, Symbolic
from cpppo.enip.simulator.controller.device import Attribute, Refusal
from cpppo.enip.simulator.controller.structures import StructTag, Structure
from cpppo.logic.expression import Index, Literal, MemberName, Node, TagRef
from cpppo.logic.program_status import FaultType, MajorFault, ProgramFault, Status

__all__ = ["Value", "StructRef", "Binder", "converter", "UnknownTag"]

Getter = Callable[[], Any]
Setter = Callable[[Any], None]
_F32 = struct.Struct("<f")
_STATUS = {"S:FS": "fs", "S:V": "v", "S:Z": "z", "S:N": "n", "S:C": "c", "S:MINOR": "minor"}


class UnknownTag(ValueError):
    """A rung names a tag (or member) the controller does not have: a load-time error of that rung."""


@dataclass
class Value:
    """A bound operand: how to read it, how to write it (None: not writable), its type, its name,
    and for arrays the flat element it starts at and how to reach the following ones (COP, FLL)."""

    get: Getter
    set: Setter | None
    kind: cip_types.CIPType | Structure
    name: str
    region: Any = None  # a _Region, for the copy and fill instructions
    #: A bit at a fixed place: (its word list or byte array, the index there, the mask), so the bit
    #: instructions test and set it without a call (None: through get and set).
    bit: tuple[Any, int, int] | None = None


@dataclass
class StructRef:
    """A structure operand (a TIMER, COUNTER, CONTROL): its tag's bytes and where it starts in them."""

    raw: bytearray
    offset: Callable[[], int]
    structure: Structure
    name: str


def converter(kind: cip_types.CIPType | Structure) -> Callable[[Any], Any]:
    """What a Logix store makes of a value for *kind*: float32 for REAL, rounded and wrapped integers."""
    if isinstance(kind, Structure):
        raise UnknownTag(f"a {kind.name} is not a number")
    fmt = kind.fmt
    if fmt == "?":
        return bool
    if fmt == "f":
        def real(value: Any) -> float:
            try:
                return _F32.unpack(_F32.pack(float(value)))[0]
            except OverflowError:
                return math.copysign(math.inf, value)
        return real
    if fmt == "d":
        return float
    bits = (kind.size or 4) * 8
    mask, full, half, signed = (1 << bits) - 1, 1 << bits, 1 << (bits - 1), fmt.islower()

    def integer(value: Any) -> int:
        if type(value) is not int:
            if isinstance(value, float):
                if value != value or value in (math.inf, -math.inf):
                    return 0
                value = round(value)  # half to even, as Logix rounds a REAL into an integer
            else:
                value = int(value)
        value &= mask
        return value - full if signed and value >= half else value
    return integer


class _Region:
    """Bytes from an operand to the end of its tag (a structure tag) or of its array (an atomic one)."""

    def __init__(self, tag: Attribute, kind: cip_types.CIPType | Structure, start: Callable[[], int]) -> None:
        self.tag, self.kind, self.start = tag, kind, start
        self.size = kind.size or 1

    def read(self, count: int) -> bytes:
        if isinstance(self.tag, StructTag):
            at = self.start()
            return bytes(self.tag.raw[at:at + count])
        first = self.start()
        values = self.tag.value if not self.tag.scalar else [self.tag.value]
        need = -(-count // (self.tag.cip.size or 1))
        return self.tag.cip.encode(values[first:first + need])[:count]

    def write(self, data: bytes) -> None:
        if isinstance(self.tag, StructTag):
            at = self.start()
            room = len(self.tag.raw) - at
            self.tag.raw[at:at + min(room, len(data))] = data[:room]
            return
        size = self.tag.cip.size or 1
        first = self.start()
        length = len(self.tag)
        whole = min(len(data) // size, length - first)
        values = self.tag.cip.decode(bytes(data[:whole * size])) if whole > 0 else []
        rest = data[whole * size:]
        if rest and first + whole < length:  # part of one more element: its other bytes kept
            old = bytearray(self.tag.cip.encode([self[first + whole]]))
            old[:len(rest)] = rest
            values += self.tag.cip.decode(bytes(old))
        if self.tag.scalar:
            if values:
                self.tag.value = values[0]
        else:
            self.tag.value[first:first + len(values)] = values

    def __getitem__(self, index: int) -> Any:
        return self.tag.value if self.tag.scalar else self.tag.value[index]

    def listed_like(self, other: _Region) -> bool:
        """Both regions are elements of plain atomic arrays of one type: a copy is a list slice."""
        return all(type(r.tag) is Attribute and not r.tag.scalar for r in (self, other)) \
            and self.tag.cip == other.tag.cip

    def copy_from(self, other: _Region, count: int) -> None:
        """*count* elements of *other* (see :meth:`listed_like`) into this one, stopping at either's end."""
        first, source = self.start(), other.start()
        count = min(count, len(self.tag) - first, len(other.tag) - source)
        if count > 0:
            self.tag.value[first:first + count] = other.tag.value[source:source + count]

    def elements(self) -> int:
        """Elements of this operand's size from its start to the end of the region."""
        if isinstance(self.tag, StructTag):
            return (len(self.tag.raw) - self.start()) // self.size
        return len(self.tag) - self.start()


def _function(element: Callable[[], int] | int) -> Callable[[], int]:
    """A constant element as a function too (what a region asks for its start)."""
    if callable(element):
        return element
    return lambda: element


def _scaled(flat: Callable[[], int] | int, size: int) -> Callable[[], int] | int:
    """An element number as a byte offset: a constant, or a function of a subscript computed each scan."""
    if callable(flat):
        return lambda: flat() * size
    return flat * size


def _fault(what: str) -> MajorFault:
    return MajorFault(FaultType.PROGRAM, ProgramFault.SUBSCRIPT_RANGE, f"{what}: subscript out of range")


class Binder:
    """Binds a program's operands to the controller's tags: ``value(node)``, ``structure(node)``.

    *number* compiles a subscript expression (the compiler's :func:`~.compiler.number`, passed in
    to keep the layering one way); *program* is the program whose tags come first.
    """

    def __init__(self, tags: Any, status: Status, program: str, number: Callable[[Node], Getter],
                 watch: Callable[[str, str, Any], None] | None = None) -> None:
        self.tags, self.status, self.program, self.number, self.watch = tags, status, program, number, watch

    # --- finding a tag ---------------------------------------------------------------
    def _find(self, ref: TagRef) -> tuple[Attribute, tuple[MemberName | Index, ...]]:
        names = [f"Program:{self.program}.{ref.name}", ref.name] if not ref.name.upper().startswith(
            "PROGRAM:") else [ref.name]
        for name in names:
            try:
                attribute, within = self.tags.locate((Symbolic(name),))
            except Refusal:
                continue
            return attribute, tuple(self._segments(within)) + ref.path
        raise UnknownTag(f"no tag {ref.name!r}")

    @staticmethod
    def _segments(within: list[Any]) -> list[MemberName | Index]:
        """An alias's path within its base tag, as a rung's path."""
        out: list[MemberName | Index] = []
        for segment in within:
            if isinstance(segment, Symbolic):
                out.append(MemberName(segment.name))
            elif isinstance(segment, Bit):
                out.append(MemberName(str(segment.bit)))
            elif isinstance(segment, Logical) and segment.kind == "element":
                out.append(Index((Literal(segment.value),)))
        return out

    def _flat(self, subscripts: tuple[Node, ...], dims: tuple[int, ...], what: str) -> Callable[[], int] | int:
        """The flat element subscripts name: a constant, or a function checking its range each scan."""
        if len(subscripts) != len(dims) and not (len(subscripts) == 1 and dims):
            raise UnknownTag(f"{what}: {len(subscripts)} subscripts for dimensions {list(dims)}")
        total = 1
        for dim in dims:
            total *= dim
        if all(isinstance(s, Literal) for s in subscripts):
            indices = [int(s.value) for s in subscripts]  # type: ignore[union-attr]
            flat = self._combine(indices, dims if len(indices) > 1 else (total,))
            if flat is None:
                raise UnknownTag(f"{what}: subscript {indices} outside {list(dims)}")
            return flat
        getters = [self.number(s) for s in subscripts]
        shape = dims if len(getters) > 1 else (total,)
        combine = self._combine

        def flat_now() -> int:
            flat = combine([int(g()) for g in getters], shape)
            if flat is None:
                raise _fault(what)
            return flat
        return flat_now

    @staticmethod
    def _combine(indices: list[int], dims: tuple[int, ...]) -> int | None:
        flat = 0
        for value, dim in zip(indices, dims):
            if not 0 <= value < dim:
                return None
            flat = flat * dim + value
        return flat

    # --- binding -------------------------------------------------------------------------
    def value(self, node: Node) -> Value:
        """A tag reference bound for reading and writing, or a literal (read only)."""
        value = self._value(node)
        if self.watch is not None and value.set is not None:
            value.set, value.bit = self._watched(value), None  # (every write through the watch)
        return value

    def _watched(self, value: Value) -> Setter:
        """*value*'s setter, telling ``watch`` (``-p``) of each change it makes."""
        get, put, watch, status, name = value.get, value.set, self.watch, self.status, value.name
        assert put is not None and watch is not None

        def changed(v: Any) -> None:
            old = get()
            put(v)
            if old != v:
                watch(status.where, name, v)
        return changed

    def _value(self, node: Node) -> Value:
        if isinstance(node, Literal):
            constant = node.value
            kind = cip_types.REAL if isinstance(constant, float) else cip_types.DINT
            return Value(lambda: constant, None, kind, str(constant))
        if not isinstance(node, TagRef):
            getter = self.number(node)
            return Value(getter, None, cip_types.REAL, str(node))
        field = _STATUS.get(node.name.upper())
        if field is not None and not node.path:
            return self._status(field, node.name)
        attribute, path = self._find(node)
        if isinstance(attribute, StructTag):
            return self._in_structure(attribute, path, str(node))
        return self._atomic(attribute, path, str(node))

    def _status(self, field: str, name: str) -> Value:
        status = self.status
        return Value(lambda: getattr(status, field), lambda v: setattr(status, field, bool(v)),
                     cip_types.BOOL, name)

    def _atomic(self, tag: Attribute, path: tuple[MemberName | Index, ...], name: str) -> Value:
        kind = tag.cip
        dims = getattr(tag, "dims", None) or (() if tag.scalar else (len(tag),))
        element: Callable[[], int] | int = 0
        bit_array = False
        rest = list(path)
        if rest and isinstance(rest[0], Index):
            if not dims:
                raise UnknownTag(f"{name}: {tag.name} is not an array")
            index = rest.pop(0)
            assert isinstance(index, Index)
            if kind is cip_types.DWORD or kind.name == "DWORD":  # a BOOL array: the subscript names a bit
                bit_array = True
                element = self._flat(index.subscripts, (len(tag) * 32,), name)
            else:
                element = self._flat(index.subscripts, dims, name)
        bit: int | None = None
        if rest:
            part = rest.pop(0)
            if rest or not isinstance(part, MemberName) or part.bit is None or kind.fmt not in "bhiqBHIQ" \
                    or part.bit >= (kind.size or 0) * 8 or bit_array:
                raise UnknownTag(f"{name}: cannot address {part} of a {kind.name}")
            bit = part.bit
        region = _Region(tag, kind, _function(element))
        if bit_array:
            return self._bit_of_array(tag, element, name, region)
        if type(tag) is not Attribute:  # a subclass (history, live data): through its own item access
            return self._through_items(tag, element, bit, name, region)
        if tag.scalar:
            get: Getter = lambda: tag.value  # noqa: E731
            def put(v: Any) -> None:
                tag.value = v
        elif callable(element):
            at = element
            get = lambda: tag.value[at()]  # noqa: E731
            def put(v: Any) -> None:
                tag.value[at()] = v
        else:
            i = element
            get = lambda: tag.value[i]  # noqa: E731
            def put(v: Any) -> None:
                tag.value[i] = v
        if bit is not None:
            return self._bit_of(get, put, kind, bit, name)
        return Value(get, put, kind, name, region)

    def _through_items(self, tag: Attribute, element: Callable[[], int] | int, bit: int | None, name: str,
                       region: _Region) -> Value:
        at = _function(element)
        get: Getter = lambda: tag[at()]  # noqa: E731
        def put(v: Any) -> None:
            tag[at()] = v
        if bit is not None:
            return self._bit_of(get, put, tag.cip, bit, name)
        return Value(get, put, tag.cip, name, region)

    @staticmethod
    def _bit_of(get: Getter, put: Setter, kind: cip_types.CIPType, bit: int, name: str) -> Value:
        wrap = converter(kind)
        mask = 1 << bit

        def set_bit(v: Any) -> None:
            word = get()
            put(wrap(word | mask if v else word & ~mask))
        return Value(lambda: bool(get() & mask), set_bit, cip_types.BOOL, name)

    @staticmethod
    def _bit_of_array(tag: Attribute, element: Callable[[], int] | int, name: str, region: _Region) -> Value:
        words = tag.value if not tag.scalar else None
        if words is None or type(tag) is not Attribute:
            raise UnknownTag(f"{name}: a BOOL array of {tag.name!r} not held as a list")
        if callable(element):
            at = element

            def get() -> bool:
                i = at()
                return bool(words[i >> 5] >> (i & 31) & 1)

            def put(v: Any) -> None:
                i = at()
                words[i >> 5] = words[i >> 5] | (1 << (i & 31)) if v else words[i >> 5] & ~(1 << (i & 31))
        else:
            word, mask = element >> 5, 1 << (element & 31)
            get = lambda: bool(words[word] & mask)  # noqa: E731

            def put(v: Any) -> None:
                words[word] = words[word] | mask if v else words[word] & ~mask
            return Value(get, put, cip_types.BOOL, name, region, (words, word, mask))
        return Value(get, put, cip_types.BOOL, name, region)

    def _walk(self, tag: StructTag, path: tuple[MemberName | Index, ...], name: str) -> tuple[
            cip_types.CIPType | Structure, Callable[[], int], int | None, int]:
        """Where a path lands in a structure tag: its type, byte offset (a function), bit, host width."""
        kind: cip_types.CIPType | Structure = tag.structure
        parts: list[Callable[[], int] | int] = []
        rest = list(path)
        if rest and isinstance(rest[0], Index):
            if tag.scalar:
                raise UnknownTag(f"{name}: {tag.name} is not an array")
            index = rest.pop(0)
            assert isinstance(index, Index)
            flat = self._flat(index.subscripts, tag.dims, name)
            size = tag.structure.size
            parts.append(_scaled(flat, size))
        bit, host, count = None, 4, 0
        while rest:
            part = rest.pop(0)
            if isinstance(part, Index):
                if not count:
                    raise UnknownTag(f"{name}: not an array there")
                if kind is cip_types.DWORD:  # a BOOL[] member: the subscript names a bit
                    flat = self._flat(part.subscripts, (count * 32,), name)
                    if callable(flat):
                        raise UnknownTag(f"{name}: a tag as subscript of a BOOL member array is not supported")
                    parts.append(flat >> 5 << 2)
                    bit, host, kind, count = flat & 31, 4, cip_types.BOOL, 0
                    continue
                flat = self._flat(part.subscripts, (count,), name)
                size = kind.size or 1
                parts.append(_scaled(flat, size))
                count = 0
                continue
            if bit is not None:
                raise UnknownTag(f"{name}: nothing below a bit")
            if isinstance(kind, Structure):
                try:
                    member = kind.member(part.name)
                except Refusal:
                    raise UnknownTag(f"{name}: {kind.name} has no member {part.name!r}") from None
                parts.append(member.offset)
                kind, count = member.type, member.count
                if member.bit is not None:
                    bit, host, kind = member.bit, member.type.size or 1, cip_types.BOOL
                continue
            if part.bit is not None and kind.fmt in "bhiqBHIQ" and part.bit < (kind.size or 0) * 8:
                bit, host, kind = part.bit, kind.size or 1, cip_types.BOOL
                continue
            raise UnknownTag(f"{name}: cannot address .{part.name} of a {kind.name}")
        constant = sum(p for p in parts if not callable(p))
        moving = [p for p in parts if callable(p)]
        if not moving:
            return kind, (lambda: constant), bit, host
        return kind, (lambda: constant + sum(p() for p in moving)), bit, host

    def _in_structure(self, tag: StructTag, path: tuple[MemberName | Index, ...], name: str) -> Value:
        kind, offset, bit, host = self._walk(tag, path, name)
        raw = tag.raw
        dynamic = len(path) and any(isinstance(p, Index) and not all(isinstance(s, Literal) for s in p.subscripts)
                                    for p in path)
        region = _Region(tag, kind, offset)
        if bit is not None:
            byte_bit = bit
            if dynamic:
                def get() -> bool:
                    return bool(raw[offset() + (byte_bit >> 3)] >> (byte_bit & 7) & 1)

                def put(v: Any) -> None:
                    at = offset() + (byte_bit >> 3)
                    raw[at] = raw[at] | (1 << (byte_bit & 7)) if v else raw[at] & ~(1 << (byte_bit & 7))
            else:
                at, mask = offset() + (bit >> 3), 1 << (bit & 7)
                get = lambda: bool(raw[at] & mask)  # noqa: E731

                def put(v: Any) -> None:
                    raw[at] = raw[at] | mask if v else raw[at] & ~mask
                return Value(get, put, cip_types.BOOL, name, region, (raw, at, mask))
            return Value(get, put, cip_types.BOOL, name, region)
        if isinstance(kind, Structure):
            def whole() -> bytes:
                at = offset()
                return bytes(raw[at:at + kind.size])
            return Value(whole, None, kind, name, region)
        one = kind.struct
        assert one is not None, kind
        unpack, pack = one.unpack_from, one.pack_into
        if dynamic:
            get = lambda: unpack(raw, offset())[0]  # noqa: E731

            def put(v: Any) -> None:
                pack(raw, offset(), v)
        else:
            fixed = offset()
            get = lambda: unpack(raw, fixed)[0]  # noqa: E731

            def put(v: Any) -> None:
                pack(raw, fixed, v)
        return Value(get, put, kind, name, region)

    def structure(self, node: Node, expected: Structure | None = None) -> StructRef:
        """A structure operand (a TIMER, COUNTER or CONTROL tag, or one element or member of one)."""
        if not isinstance(node, TagRef):
            raise UnknownTag(f"{node}: a structure tag expected")
        attribute, path = self._find(node)
        if not isinstance(attribute, StructTag):
            raise UnknownTag(f"{node}: {attribute.name} is a {attribute.cip.name}, not a structure")
        kind, offset, bit, _ = self._walk(attribute, path, str(node))
        if not isinstance(kind, Structure) or (expected is not None and kind.name != expected.name):
            raise UnknownTag(f"{node}: a {expected.name if expected else 'structure'} expected, not {kind.name}")
        return StructRef(attribute.raw, offset, kind, str(node))
