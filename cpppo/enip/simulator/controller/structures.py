"""Logix structures: STRING, TIMER, COUNTER, CONTROL and user-defined types, as tags and templates.

A :class:`Structure` is a data type laid out in bytes (members at offsets, BOOL
members as bits of a hidden host, arrays, nested structures); a
:class:`StructTag` holds one or an array of them as raw bytes, the way a
controller does, so a whole-structure read or write (type 0x02A0 and the
structure handle) is a byte copy and a member is a typed view at an offset.
Clients decode our structures themselves from the Template object (0x6C): its
attributes (handle, member count, definition size, structure size) and Read
Template (member table and names) come from :meth:`Structure.template`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.codec import browse
from cpppo.enip.codec import types as cip_types
from cpppo.enip.simulator.controller.device import Attribute, Refusal
from cpppo.enip.simulator.controller.names import fold

__all__ = ["Member", "Structure", "StructTag", "PREDEFINED", "STRING", "TIMER", "COUNTER", "CONTROL",
           "FIRST_USER_TEMPLATE", "fill", "decode", "is_string"]

#: Template instance ids of user-defined types start here (Logix numbers them from 0x100).
FIRST_USER_TEMPLATE = 0x100
STRUCT_BIT = 0x8000


@dataclass(frozen=True)
class Member:
    """One member: its type (a CIPType or a Structure), byte offset, array length (0: scalar),
    and for a BOOL packed into a host integer, its bit number."""

    name: str
    type: cip_types.CIPType | Structure
    offset: int
    count: int = 0
    bit: int | None = None
    hidden: bool = False

    @property
    def size(self) -> int:
        one = self.type.size if isinstance(self.type, Structure) else (self.type.size or 0)
        return one * max(self.count, 1)


@dataclass(eq=False)
class Structure:
    """A structure type: name, members, size in bytes, structure handle and template instance id."""

    name: str
    members: tuple[Member, ...]
    size: int
    handle: int = 0
    instance: int = 0
    by_name: dict[str, Member] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {fold(m.name): m for m in self.members}  # by name ignoring ASCII case
        if not self.handle:
            definition = repr([(m.name, self._code(m), m.offset, m.count, m.bit) for m in self.members])
            self.handle = zlib.crc32(f"{self.name}:{definition}".encode()) & 0xFFFF or 1

    def member(self, name: str) -> Member:
        found = self.by_name.get(fold(name))
        if found is None or found.hidden:
            raise Refusal(0x04, message=f"{self.name} has no member {name!r}")
        return found

    @staticmethod
    def _code(member: Member) -> int:
        if isinstance(member.type, Structure):
            return STRUCT_BIT | member.type.instance
        if member.bit is not None:
            return cip_types.BOOL.code
        return member.type.code

    def template(self) -> browse.Template:
        """The Template object's view of this type: what Read Template returns."""
        # A BOOL member is described by the byte holding it and its bit in that byte, as clients
        # decode it (their bit numbers are 0-7), whatever the width of the host we keep it in.
        members = tuple(browse.TemplateMember(m.name, self._code(m), m.offset + m.bit // 8, m.bit % 8, m.hidden)
                        if m.bit is not None else
                        browse.TemplateMember(m.name, self._code(m), m.offset, m.count, m.hidden)
                        for m in self.members)
        return browse.Template(self.name, members, self.handle)

    def attributes(self) -> dict[int, bytes]:
        """Template attributes 1 (handle), 2 (member count), 4 (definition words), 5 (size), and 3,
        which pylogix asks for (a UINT; we give the structure's size in 32-bit words)."""
        template = self.template()
        return {1: self.handle.to_bytes(2, "little"), 2: len(self.members).to_bytes(2, "little"),
                3: ((self.size + 3) // 4).to_bytes(2, "little"),
                4: template.definition_words.to_bytes(4, "little"), 5: self.size.to_bytes(4, "little")}

    def definition(self) -> bytes:
        """What Read Template returns: the member table and names, zero-padded to the length clients
        derive from attribute 4 (pycomm3 reads words * 4 - 21 bytes, pylogix rounds words * 4 - 23 up)."""
        template = self.template()
        return browse.encode_template(template).ljust(template.definition_words * 4 - 20, b"\0")


def _string(name: str, length: int, handle: int) -> Structure:
    return Structure(name, (Member("LEN", cip_types.DINT, 0), Member("DATA", cip_types.SINT, 4, length)),
                     4 + length + (-(4 + length) % 4), handle, handle)


def _bits(host: str, bits: dict[str, int]) -> tuple[Member, ...]:
    return tuple(Member(name, cip_types.DINT, 0, 0, bit) for name, bit in bits.items())


STRING = _string("STRING", 82, 0x0FCE)
TIMER = Structure("TIMER", (Member("CTL", cip_types.DINT, 0, hidden=True), Member("PRE", cip_types.DINT, 4),
                            Member("ACC", cip_types.DINT, 8)) + _bits("CTL", {"EN": 31, "TT": 30, "DN": 29}),
                  12, 0x0F83, 0x0F83)
COUNTER = Structure("COUNTER", (Member("CTL", cip_types.DINT, 0, hidden=True), Member("PRE", cip_types.DINT, 4),
                                Member("ACC", cip_types.DINT, 8))
                    + _bits("CTL", {"CU": 31, "CD": 30, "DN": 29, "OV": 28, "UN": 27}), 12, 0x0F82, 0x0F82)
CONTROL = Structure("CONTROL", (Member("CTL", cip_types.DINT, 0, hidden=True), Member("LEN", cip_types.DINT, 4),
                                Member("POS", cip_types.DINT, 8))
                    + _bits("CTL", {"EN": 31, "EU": 30, "DN": 29, "EM": 28, "ER": 27, "UL": 26, "IN": 25, "FD": 24}),
                    12, 0x0F81, 0x0F81)

#: The predefined Logix structures, by name.
PREDEFINED = {s.name: s for s in (STRING, TIMER, COUNTER, CONTROL)}


class StructTag(Attribute):
    """A tag of a structure type (or an array of them), held as the controller holds it: bytes."""

    def __init__(self, name: str, structure: Structure, count: int = 0, dims: tuple[int, ...] = ()) -> None:
        self.name = name
        self.structure = structure
        self.cip = cip_types.CIPType(structure.name, cip_types.STRUCTURE, structure.size, handle=structure.handle)
        self.parser = None
        self.dims = tuple(dims) if dims else ((count,) if count else ())
        self.scalar = not self.dims
        elements = 1
        for dim in self.dims:
            elements *= dim
        self.raw = bytearray(structure.size * elements)
        self.value = self.raw
        self.error = 0
        self.mask = 0

    def __len__(self) -> int:
        return len(self.raw) // self.structure.size

    def __repr__(self) -> str:
        shape = "" if self.scalar else f"{list(self.dims)}"
        return f"<StructTag {self.name} {self.structure.name}{shape}>"

    # Element access reads and writes whole structures as bytes.
    def __getitem__(self, key: int | slice) -> Any:
        size = self.structure.size
        self._validate_key(key)
        if isinstance(key, slice):
            start, stop, _ = key.indices(len(self))
            return bytes(self.raw[start * size:stop * size])
        return bytes(self.raw[key * size:(key + 1) * size])

    def __setitem__(self, key: int | slice, value: Any) -> None:
        size = self.structure.size
        self._validate_key(key)
        if isinstance(key, slice):
            start, stop, _ = key.indices(len(self))
        else:
            start, stop = key, key + 1
        data = bytes(value)
        if len(data) != (stop - start) * size:
            raise Refusal(0x13 if len(data) < (stop - start) * size else 0x15)
        self.raw[start * size:stop * size] = data

    def set_string(self, index: int, text: str) -> None:
        """Store *text* in element *index* of a STRING-like tag (LEN and DATA)."""
        data = self.structure.by_name["DATA"]
        encoded = text.encode("latin-1")
        if len(encoded) > data.count:
            raise ValueError(f"{len(encoded)} characters for a {data.count}-character {self.structure.name}")
        base = index * self.structure.size
        self.raw[base:base + 4] = len(encoded).to_bytes(4, "little", signed=True)
        self.raw[base + data.offset:base + data.offset + data.count] = encoded.ljust(data.count, b"\0")

    def get_string(self, index: int = 0) -> str:
        base = index * self.structure.size
        length = int.from_bytes(self.raw[base:base + 4], "little", signed=True)
        data = self.structure.by_name["DATA"]
        length = max(0, min(length, data.count))
        return bytes(self.raw[base + data.offset:base + data.offset + length]).decode("latin-1")


def fill(raw: bytearray, base: int, structure: Structure, value: Any) -> None:
    """Store *value* (a dict of member values, nested as the members are; a str for a STRING-like
    type) into the structure at byte *base* of *raw*."""
    if isinstance(value, str):
        length, data = structure.by_name.get("LEN"), structure.by_name.get("DATA")
        if length is None or data is None:
            raise ValueError(f"a {structure.name} is not a string: cannot store {value!r}")
        encoded = value.encode("latin-1")
        if len(encoded) > data.count:
            raise ValueError(f"{len(encoded)} characters for a {data.count}-character {structure.name}")
        raw[base:base + 4] = len(encoded).to_bytes(4, "little", signed=True)
        raw[base + data.offset:base + data.offset + data.count] = encoded.ljust(data.count, b"\0")
        return
    if not isinstance(value, dict):
        raise ValueError(f"a {structure.name} value is a table of its members, not {value!r}")
    for key, item in value.items():
        member = structure.member(key)
        at = base + member.offset
        if member.bit is not None:
            width = member.type.size or 1
            host = int.from_bytes(raw[at:at + width], "little")
            host = host | (1 << member.bit) if item else host & ~(1 << member.bit)
            raw[at:at + width] = host.to_bytes(width, "little")
        elif isinstance(member.type, Structure):
            items = item if member.count else [item]
            for i, one in enumerate(items[:max(member.count, 1)]):
                fill(raw, at + i * member.type.size, member.type, one)
        else:
            items = list(item) if member.count else [item]
            if len(items) > max(member.count, 1):
                raise ValueError(f"{len(items)} values for {structure.name}.{member.name}")
            encoded = member.type.encode(items)
            raw[at:at + len(encoded)] = encoded


def is_string(structure: Structure) -> bool:
    """A STRING-family type: visible members LEN and DATA (SINT[n]) and nothing else."""
    data = structure.by_name.get("DATA")
    return ("LEN" in structure.by_name and data is not None and data.count > 0
            and data.type is cip_types.SINT and len([m for m in structure.members if not m.hidden]) == 2)


def decode(raw: bytes, base: int, structure: Structure) -> Any:
    """The structure at byte *base* of *raw* as values (the inverse of :func:`fill`): a dict of its
    visible members, nested as they are, with STRING-family values as text."""
    if is_string(structure):
        data = structure.by_name["DATA"]
        length = int.from_bytes(raw[base:base + 4], "little", signed=True)
        length = max(0, min(length, data.count))
        return bytes(raw[base + data.offset:base + data.offset + length]).decode("latin-1")
    value: dict[str, Any] = {}
    for member in structure.members:
        if member.hidden:
            continue
        at = base + member.offset
        if member.bit is not None:
            width = member.type.size or 1
            value[member.name] = bool(int.from_bytes(raw[at:at + width], "little") >> member.bit & 1)
        elif isinstance(member.type, Structure):
            items = [decode(raw, at + i * member.type.size, member.type) for i in range(max(member.count, 1))]
            value[member.name] = items if member.count else items[0]
        else:
            items = member.type.decode(raw, max(member.count, 1), at)
            value[member.name] = items if member.count else items[0]
    return value
