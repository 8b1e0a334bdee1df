"""Tag browsing and structure descriptions: the Symbol (0x6B) and Template (0x6C) objects.

What a client needs to discover a controller's tags: Get Instance Attribute
List (0x55) on the Symbol class returns, per tag, its instance id and the
attributes asked for, in the order asked; Get Attribute List (0x03) on a
Template instance returns the structure's sizes; Read Template returns its
member definitions and names.  These replies cannot be decoded without
knowing what was asked, so their codecs take the attribute ids (or the member
count) as an argument, with an encoder beside each decoder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.codec.codes import GeneralStatus
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "SymbolInstance", "SYMBOL_ATTRIBUTES", "encode_symbol_instances", "decode_symbol_instances",
    "AttributeValue", "encode_attribute_list_reply", "decode_attribute_list_reply",
    "TEMPLATE_ATTRIBUTES", "TemplateMember", "Template", "encode_template", "decode_template",
]

_UINT = struct.Struct("<H")
_UDINT = struct.Struct("<I")
_DIMS = struct.Struct("<III")
_MEMBER = struct.Struct("<HHI")


@dataclass(frozen=True, slots=True)
class SymbolInstance:
    """One tag as the Symbol object lists it."""

    instance: int
    name: str = ""
    type: int = 0  # bit 15 structure, bits 13-14 dimension count, bit 12 system, low 12 bits type/template
    address: int = 0
    object_address: int = 0
    software_control: int = 0
    byte_count: int = 0
    dimensions: tuple[int, int, int] = (0, 0, 0)
    external_access: int = 0


# The Symbol attributes a client may ask for: id -> (record field, struct or None for the name)
SYMBOL_ATTRIBUTES: dict[int, tuple[str, struct.Struct | None]] = {
    1: ("name", None),
    2: ("type", _UINT),
    3: ("address", _UDINT),
    5: ("object_address", _UDINT),
    6: ("software_control", _UDINT),
    7: ("byte_count", _UINT),
    8: ("dimensions", _DIMS),
    10: ("external_access", struct.Struct("<B")),
}


def _check_attributes(attributes: Iterable[int]) -> None:
    unknown = [a for a in attributes if a not in SYMBOL_ATTRIBUTES]
    if unknown:
        raise LocalProtocolError(f"Symbol attributes {unknown} are not supported")


def encode_symbol_instances(instances: Sequence[SymbolInstance], attributes: Sequence[int]) -> bytes:
    """A Get Instance Attribute List reply's data: each instance id, then the attributes in order."""
    _check_attributes(attributes)
    out = []
    for sym in instances:
        out.append(_UDINT.pack(sym.instance))
        for attribute in attributes:
            name, fmt = SYMBOL_ATTRIBUTES[attribute]
            value = getattr(sym, name)
            try:
                if fmt is None:
                    text = value.encode("ascii")
                    out.append(_UINT.pack(len(text)) + text)
                elif fmt is _DIMS:
                    out.append(fmt.pack(*value))
                else:
                    out.append(fmt.pack(value))
            except (struct.error, UnicodeEncodeError) as exc:
                raise LocalProtocolError(f"symbol {sym.name!r} attribute {attribute}: {exc}") from None
    return b"".join(out)


def decode_symbol_instances(data: bytes, attributes: Sequence[int]) -> list[SymbolInstance]:
    """The instances in a Get Instance Attribute List reply that asked for *attributes*."""
    _check_attributes(attributes)
    out = []
    at = 0
    while at < len(data):
        if at + 4 > len(data):
            raise RemoteProtocolError("symbol instance id truncated", offset=at, expected="UDINT instance",
                                      cip_status=GeneralStatus.NOT_ENOUGH_DATA)
        values: dict[str, Any] = {"instance": _UDINT.unpack_from(data, at)[0]}
        at += 4
        for attribute in attributes:
            name, fmt = SYMBOL_ATTRIBUTES[attribute]
            if fmt is None:
                if at + 2 > len(data):
                    raise RemoteProtocolError("symbol name length truncated", offset=at, expected="UINT length",
                                              cip_status=GeneralStatus.NOT_ENOUGH_DATA)
                (size,) = _UINT.unpack_from(data, at)
                if at + 2 + size > len(data):
                    raise RemoteProtocolError("symbol name truncated", offset=at, expected=f"{size} chars",
                                              cip_status=GeneralStatus.NOT_ENOUGH_DATA)
                values[name] = data[at + 2:at + 2 + size].decode("ascii", "replace")
                at += 2 + size
                continue
            if at + fmt.size > len(data):
                raise RemoteProtocolError(f"symbol attribute {attribute} truncated", offset=at,
                                          expected=f"{fmt.size} bytes",
                                          cip_status=GeneralStatus.NOT_ENOUGH_DATA)
            unpacked = fmt.unpack_from(data, at)
            values[name] = unpacked if fmt is _DIMS else unpacked[0]
            at += fmt.size
        out.append(SymbolInstance(**values))
    return out


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """One attribute of a Get Attribute List reply: id, status, and its value's bytes."""

    attribute: int
    status: int = 0
    data: bytes = b""


def encode_attribute_list_reply(values: Sequence[AttributeValue]) -> bytes:
    """A Get Attribute List reply's data: count, then (id, status, value) per attribute."""
    out = [_UINT.pack(len(values))]
    for value in values:
        out.append(_UINT.pack(value.attribute) + _UINT.pack(value.status) + value.data)
    return b"".join(out)


def decode_attribute_list_reply(data: bytes, sizes: dict[int, int]) -> list[AttributeValue]:
    """Decode a Get Attribute List reply, given each attribute's value size in bytes.

    An attribute answered with a non-zero status carries no value.
    """
    if len(data) < 2:
        raise RemoteProtocolError("attribute count truncated", offset=0, expected="UINT count",
                                  cip_status=GeneralStatus.NOT_ENOUGH_DATA)
    (count,) = _UINT.unpack_from(data, 0)
    at = 2
    out = []
    for _ in range(count):
        if at + 4 > len(data):
            raise RemoteProtocolError("attribute id and status truncated", offset=at, expected="4 bytes",
                                      cip_status=GeneralStatus.NOT_ENOUGH_DATA)
        attribute, status = struct.unpack_from("<HH", data, at)
        at += 4
        size = 0 if status else sizes.get(attribute)
        if size is None:
            raise RemoteProtocolError(f"attribute {attribute} of unknown size", offset=at - 4,
                                      expected=f"one of {sorted(sizes)}",
                                      cip_status=GeneralStatus.ATTRIBUTE_NOT_SUPPORTED)
        if at + size > len(data):
            raise RemoteProtocolError(f"attribute {attribute} value truncated", offset=at,
                                      expected=f"{size} bytes", cip_status=GeneralStatus.NOT_ENOUGH_DATA)
        out.append(AttributeValue(attribute, status, bytes(data[at:at + size])))
        at += size
    if at != len(data):
        raise RemoteProtocolError(f"{len(data) - at} bytes after {count} attributes", offset=at,
                                  expected="end of reply", cip_status=GeneralStatus.TOO_MUCH_DATA)
    return out


#: The Template attributes clients ask for, and their sizes: 1 handle, 2 member count,
#: 3 (a UINT pylogix asks for), 4 definition size (32-bit words), 5 structure size (bytes).
TEMPLATE_ATTRIBUTES = {1: 2, 2: 2, 3: 2, 4: 4, 5: 4}


@dataclass(frozen=True, slots=True)
class TemplateMember:
    """One member of a structure: its name, type code, byte offset, and ``info``
    (the array length, or the bit number for a BOOL member)."""

    name: str
    type: int
    offset: int
    info: int = 0
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Template:
    """A structure's definition as Read Template returns it."""

    name: str
    members: tuple[TemplateMember, ...] = field(default_factory=tuple)
    handle: int = field(default=0, compare=False)  # (not in the definition: Template attribute 1)

    def definition(self) -> bytes:
        return encode_template(self)

    @property
    def definition_words(self) -> int:
        """Template attribute 4: the definition's size in 32-bit words, as Logix reports it
        (the member table and names, plus the 23 bytes clients subtract when reading)."""
        return (len(encode_template(self)) + 23 + 3) // 4


def encode_template(template: Template) -> bytes:
    """The Read Template data: member table (info, type, offset), then the name and member names.

    The name is followed by ``;n`` and two bytes per member, the second holding its access
    (3: read/write, visible; 0 in the low bits: hidden), which pylogix reads; pycomm3 reads
    the name up to the ``;``.  Neither byte is ever zero, since names end at a NUL.
    """
    table = []
    for member in template.members:
        try:
            table.append(_MEMBER.pack(member.info, member.type, member.offset))
        except struct.error as exc:
            raise LocalProtocolError(f"template member {member.name!r}: {exc}") from None
    access = b"".join(bytes((1, 4 if member.hidden else 3)) for member in template.members)
    names = [template.name.encode("ascii") + b";n" + access]
    names += [member.name.encode("ascii") for member in template.members]
    return b"".join(table) + b"".join(name + b"\0" for name in names)


def decode_template(data: bytes, member_count: int) -> Template:
    """A Read Template reply's data (all fragments joined), for a structure of *member_count* members."""
    table_size = member_count * _MEMBER.size
    if len(data) < table_size:
        raise RemoteProtocolError(f"template of {member_count} members in {len(data)} bytes", offset=0,
                                  expected=f"{table_size} bytes of member table",
                                  cip_status=GeneralStatus.NOT_ENOUGH_DATA)
    rows = [_MEMBER.unpack_from(data, i * _MEMBER.size) for i in range(member_count)]
    parts = data[table_size:].split(b"\0")
    if not parts or not parts[0]:
        raise RemoteProtocolError("template without its name", offset=table_size, expected="name;n...",
                                  cip_status=GeneralStatus.NOT_ENOUGH_DATA)
    title, names = parts[0], [p.decode("ascii", "replace") for p in parts[1:1 + member_count]]
    raw_name, _, suffix = title.partition(b";")
    access = suffix[1:] if suffix.startswith(b"n") else b""
    if len(names) < member_count:
        names += [""] * (member_count - len(names))
    members = tuple(TemplateMember(n, typ, offset, info,
                                   hidden=len(access) >= 2 * i + 2 and not access[2 * i + 1] & 0x03)
                    for i, (n, (info, typ, offset)) in enumerate(zip(names, rows)))
    return Template(raw_name.decode("ascii", "replace"), members)
