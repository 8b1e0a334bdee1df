"""Logix tag services: Read/Write Tag [Fragmented], Read Modify Write, Read Template.

The request bodies are a few fixed fields and, for writes, the data; the read
replies describe themselves (a type code, for structures 0x02A0 and a handle,
then the data), so the values can be decoded without the request.  Values
stay bytes in the records (``data``) so that a frame re-encodes to exactly
the bytes it came from; ``values()`` decodes them with the CIP types.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cpppo.enip.codec.codes import GeneralStatus, Service
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError, short
from cpppo.enip.codec.types import STRUCTURE, type_of

__all__ = [
    "ReadTag", "ReadTagFragmented", "WriteTag", "WriteTagFragmented", "ReadModifyWrite",
    "ReadTemplate", "ReadTagReply", "TAG_REQUESTS", "decode_read_reply", "decode_read_template",
    "STRUCTURE",
]

#: Statuses whose reply carries tag data (success, and partial transfer: more follows).
_WITH_DATA = frozenset(map(int, (GeneralStatus.SUCCESS, GeneralStatus.PARTIAL_TRANSFER)))

_UINT = struct.Struct("<H")
_FRAG = struct.Struct("<HI")
_TEMPLATE = struct.Struct("<IH")


def _exact(what: str, data: bytes, size: int, base: int) -> None:
    if len(data) != size:
        status = GeneralStatus.NOT_ENOUGH_DATA if len(data) < size else GeneralStatus.TOO_MUCH_DATA
        raise RemoteProtocolError(f"{what} of {len(data)} bytes", offset=base, expected=f"{size} bytes",
                                  cip_status=status)


def _type_prefix(data: bytes, base: int) -> tuple[int, int | None, int]:
    """A tag type (UINT, or 0x02A0 + structure handle): (type, handle, bytes used)."""
    if len(data) < 2:
        raise short("data type", base, 2, len(data))
    (kind,) = _UINT.unpack_from(data, 0)
    if kind == STRUCTURE:
        if len(data) < 4:
            raise short("structure handle", base + 2, 2, len(data) - 2)
        return kind, _UINT.unpack_from(data, 2)[0], 4
    return kind, None, 2


def _type_bytes(kind: int, handle: int | None) -> bytes:
    try:
        return _UINT.pack(kind) + (_UINT.pack(handle) if kind == STRUCTURE else b"")
    except struct.error as exc:
        raise LocalProtocolError(f"data type out of range: {exc}") from None


def _values(kind: int, handle: int | None, data: bytes) -> list[Any]:
    if kind == STRUCTURE:
        raise LocalProtocolError(f"structure 0x{handle or 0:04X}: decode it with its template")
    return type_of(kind).decode(data)


@dataclass(frozen=True, slots=True)
class ReadTag:
    """Read Tag (0x4C): how many elements to read."""

    elements: int = 1

    def encode(self) -> bytes:
        return _UINT.pack(self.elements)


@dataclass(frozen=True, slots=True)
class ReadTagFragmented:
    """Read Tag Fragmented (0x52 on a tag): elements, and the byte offset to read from."""

    elements: int = 1
    offset: int = 0

    def encode(self) -> bytes:
        return _FRAG.pack(self.elements, self.offset)


@dataclass(frozen=True, slots=True)
class WriteTag:
    """Write Tag (0x4D): the type, the element count and the data."""

    type: int
    elements: int = 1
    data: bytes = b""
    handle: int | None = None

    def encode(self) -> bytes:
        return _type_bytes(self.type, self.handle) + _UINT.pack(self.elements) + self.data

    def values(self) -> list[Any]:
        return _values(self.type, self.handle, self.data)


@dataclass(frozen=True, slots=True)
class WriteTagFragmented:
    """Write Tag Fragmented (0x53): type, element count, byte offset, and this fragment's data."""

    type: int
    elements: int = 1
    offset: int = 0
    data: bytes = b""
    handle: int | None = None

    def encode(self) -> bytes:
        return _type_bytes(self.type, self.handle) + _FRAG.pack(self.elements, self.offset) + self.data

    def values(self) -> list[Any]:
        return _values(self.type, self.handle, self.data)


@dataclass(frozen=True, slots=True)
class ReadModifyWrite:
    """Read Modify Write (0x4E on a tag): OR and AND masks of ``size`` bytes each."""

    or_mask: bytes
    and_mask: bytes
    #: Bytes after the AND mask: pycomm3 1.2 sends an AND mask longer than the size it states
    #: (a controller uses the stated size); kept so the request re-encodes to the same bytes.
    trailing: bytes = b""

    def encode(self) -> bytes:
        if len(self.or_mask) != len(self.and_mask):
            raise LocalProtocolError("OR and AND masks of different sizes")
        return _UINT.pack(len(self.or_mask)) + self.or_mask + self.and_mask + self.trailing


@dataclass(frozen=True, slots=True)
class ReadTemplate:
    """Read Template (0x4C on class 0x6C): byte offset and count of the definition to read."""

    offset: int = 0
    count: int = 0

    def encode(self) -> bytes:
        return _TEMPLATE.pack(self.offset, self.count)


@dataclass(frozen=True, slots=True)
class ReadTagReply:
    """A Read Tag [Fragmented] reply's data: type (and structure handle) and the value bytes."""

    type: int
    data: bytes = b""
    handle: int | None = None

    def encode(self) -> bytes:
        return _type_bytes(self.type, self.handle) + self.data

    def values(self) -> list[Any]:
        return _values(self.type, self.handle, self.data)


def _read_tag(data: bytes, base: int) -> ReadTag:
    _exact("Read Tag data", data, 2, base)
    return ReadTag(_UINT.unpack(data)[0])


def _read_fragmented(data: bytes, base: int) -> ReadTagFragmented:
    _exact("Read Tag Fragmented data", data, _FRAG.size, base)
    return ReadTagFragmented(*_FRAG.unpack(data))


def _write_tag(data: bytes, base: int) -> WriteTag:
    kind, handle, at = _type_prefix(data, base)
    if len(data) < at + 2:
        raise short("Write Tag element count", base + at, 2, len(data) - at)
    (elements,) = _UINT.unpack_from(data, at)
    return WriteTag(kind, elements, bytes(data[at + 2:]), handle)


def _write_fragmented(data: bytes, base: int) -> WriteTagFragmented:
    kind, handle, at = _type_prefix(data, base)
    if len(data) < at + _FRAG.size:
        raise short("Write Tag Fragmented count and offset", base + at, _FRAG.size, len(data) - at)
    elements, offset = _FRAG.unpack_from(data, at)
    return WriteTagFragmented(kind, elements, offset, bytes(data[at + _FRAG.size:]), handle)


def _read_modify_write(data: bytes, base: int) -> ReadModifyWrite:
    if len(data) < 2:
        raise short("mask size", base, 2, len(data))
    (size,) = _UINT.unpack_from(data, 0)
    if len(data) < 2 + 2 * size:
        raise short("Read Modify Write masks", base + 2, 2 * size, len(data) - 2)
    return ReadModifyWrite(bytes(data[2:2 + size]), bytes(data[2 + size:2 + 2 * size]),
                           bytes(data[2 + 2 * size:]))


def decode_read_template(data: bytes, base: int) -> ReadTemplate:
    _exact("Read Template data", data, _TEMPLATE.size, base)
    return ReadTemplate(*_TEMPLATE.unpack(data))


def decode_read_reply(data: bytes, base: int, status: int) -> ReadTagReply | None:
    """A Read Tag [Fragmented] reply body (success or partial transfer), or None for an error reply."""
    if status not in _WITH_DATA or not data:
        return None
    kind, handle, at = _type_prefix(data, base)
    return ReadTagReply(kind, bytes(data[at:]), handle)


#: Request body decoders of the tag services, by service code (plain ints: an int finds an enum
#: key in a dict at half speed).
TAG_REQUESTS: dict[int, Callable[[bytes, int], Any]] = {
    int(Service.READ_TAG): _read_tag,
    int(Service.READ_TAG_FRAGMENTED): _read_fragmented,
    int(Service.WRITE_TAG): _write_tag,
    int(Service.WRITE_TAG_FRAGMENTED): _write_fragmented,
    int(Service.READ_MODIFY_WRITE): _read_modify_write,
}
