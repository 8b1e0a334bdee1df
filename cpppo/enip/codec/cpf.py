"""The Common Packet Format: the items a SendRRData / SendUnitData frame or a List reply carries.

Why apart from the frame: the items are a format of their own (type id, length, data), with a
record per item type: the address and data items that carry CIP messages, the sockaddr items of
I/O connections, and the identity and services items of List Identity and List Services replies.
:func:`decode_items` / :func:`encode_items` turn an item list into records and back; the CIP
message inside a data item is decoded by the caller's *message* decoder (the Message Router's,
see :class:`~cpppo.enip.codec.connection.Connection`), so this module knows nothing of CIP.

Errors are the peer's (:class:`RemoteProtocolError`, encapsulation status 0x03 incorrect data) or
our caller's (:class:`LocalProtocolError`).  (``socket`` is imported only to turn IPv4 addresses
into bytes and back.)
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cpppo.enip.codec.codes import EncapStatus, ItemType
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError, need

__all__ = [
    "NullAddress", "ConnectedAddress", "UnconnectedData", "ConnectedData", "SockaddrInfo",
    "IdentityItem", "ServicesItem", "RawItem", "Item", "MessageDecoder", "decode_items", "encode_items",
    "message_bytes",
]

@dataclass(frozen=True, slots=True)
class NullAddress:
    """CPF item 0x0000: the address of an unconnected message."""


@dataclass(frozen=True, slots=True)
class ConnectedAddress:
    """CPF item 0x00A1: the connection a connected message travels on."""

    connection: int


@dataclass(frozen=True, slots=True)
class UnconnectedData:
    """CPF item 0x00B2: an unconnected CIP message (bytes, or a decoded request/reply)."""

    message: Any = b""


@dataclass(frozen=True, slots=True)
class ConnectedData:
    """CPF item 0x00B1: a connected CIP message, after its sequence count."""

    sequence: int
    message: Any = b""


@dataclass(frozen=True, slots=True)
class SockaddrInfo:
    """CPF items 0x8000 (O->T) and 0x8001 (T->O): a big-endian sockaddr_in."""

    type_id: int
    family: int = socket.AF_INET
    port: int = 0
    address: str = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class IdentityItem:
    """CPF item 0x000C: a ListIdentity reply's CIP Identity."""

    version: int = 1
    family: int = socket.AF_INET
    port: int = 44818
    address: str = "0.0.0.0"
    vendor_id: int = 0
    device_type: int = 0
    product_code: int = 0
    revision: tuple[int, int] = (0, 0)
    status: int = 0
    serial_number: int = 0
    product_name: str = ""
    state: int = 0xFF


@dataclass(frozen=True, slots=True)
class ServicesItem:
    """CPF item 0x0100: a ListServices reply's communications service."""

    version: int = 1
    capability: int = 0
    name: str = "Communications"
    name_size: int = 16  # the name field's width on the wire (16 by the spec; some peers send 15)


@dataclass(frozen=True, slots=True)
class RawItem:
    """Any other CPF item, kept as bytes (ListInterfaces items, vendor items)."""

    type_id: int
    data: bytes = b""


#: A Common Packet Format item.
Item = (NullAddress | ConnectedAddress | UnconnectedData | ConnectedData | SockaddrInfo | IdentityItem
        | ServicesItem | RawItem)
#: Decodes the CIP message bytes of a data item (a request or a reply decoder; never raising).
MessageDecoder = Callable[[bytes], Any]


_ITEM = struct.Struct("<HH")
# The item type ids as plain ints, read from ItemType once: in Python 3.11 reading an enum member
# costs four times the comparison it is read for, and these run for every item of every frame.
_ITEM_NULL_ADDRESS = int(ItemType.NULL_ADDRESS)
_ITEM_LIST_IDENTITY = int(ItemType.LIST_IDENTITY)
_ITEM_CONNECTED_ADDRESS = int(ItemType.CONNECTED_ADDRESS)
_ITEM_CONNECTED_DATA = int(ItemType.CONNECTED_DATA)
_ITEM_UNCONNECTED_DATA = int(ItemType.UNCONNECTED_DATA)
_ITEM_LIST_SERVICES = int(ItemType.LIST_SERVICES)
_ITEM_SOCKADDR_O_T = int(ItemType.SOCKADDR_O_T)
_ITEM_SOCKADDR_T_O = int(ItemType.SOCKADDR_T_O)
_UINT = struct.Struct("<H")
_UDINT = struct.Struct("<I")
_SOCKADDR = struct.Struct(">hH4s8s")
_IDENTITY_HEAD = struct.Struct("<H")
_IDENTITY_TAIL = struct.Struct("<HHHBBHI")


def _sockaddr(data: bytes, offset: int) -> tuple[int, int, str]:
    need(data, offset, 16, "sockaddr")
    family, port, addr, _ = _SOCKADDR.unpack_from(data, offset)
    return family, port, socket.inet_ntoa(addr)


def _decode_item(type_id: int, data: bytes, offset: int, length: int,
                 message: MessageDecoder | None = None) -> Item:
    if type_id == _ITEM_UNCONNECTED_DATA:
        body = data[offset:offset + length]
        return UnconnectedData(message(body) if message is not None else body)
    if type_id == _ITEM_NULL_ADDRESS:
        if length:
            raise RemoteProtocolError(f"null address item of length {length}", offset=offset,
                                      expected="length 0", encap_status=EncapStatus.INCORRECT_DATA)
        return NullAddress()
    if type_id == _ITEM_CONNECTED_ADDRESS:
        if length != 4:
            raise RemoteProtocolError(f"connected address item of length {length}", offset=offset,
                                      expected="length 4", encap_status=EncapStatus.INCORRECT_DATA)
        return ConnectedAddress(_UDINT.unpack_from(data, offset)[0])
    if type_id == _ITEM_CONNECTED_DATA:
        if length < 2:
            raise RemoteProtocolError("connected data item without its sequence count", offset=offset,
                                      expected="length >= 2", encap_status=EncapStatus.INCORRECT_DATA)
        body = data[offset + 2:offset + length]
        return ConnectedData(_UINT.unpack_from(data, offset)[0], message(body) if message is not None else body)
    if type_id in (_ITEM_SOCKADDR_O_T, _ITEM_SOCKADDR_T_O):
        if length != 16:
            raise RemoteProtocolError(f"sockaddr item of length {length}", offset=offset,
                                      expected="length 16", encap_status=EncapStatus.INCORRECT_DATA)
        family, port, address = _sockaddr(data, offset)
        return SockaddrInfo(type_id, family, port, address)
    if type_id == _ITEM_LIST_IDENTITY:
        return _decode_identity(data[offset:offset + length], offset)
    if type_id == _ITEM_LIST_SERVICES:
        if length < 4:
            raise RemoteProtocolError(f"services item of length {length}", offset=offset,
                                      expected="length >= 4", encap_status=EncapStatus.INCORRECT_DATA)
        version, capability = _ITEM.unpack_from(data, offset)
        name = data[offset + 4:offset + length]
        return ServicesItem(version, capability, name.rstrip(b"\0").decode("ascii", "replace"), len(name))
    return RawItem(type_id, data[offset:offset + length])


def _decode_identity(body: bytes, base: int) -> IdentityItem:
    need = 2 + 16 + _IDENTITY_TAIL.size + 1
    if len(body) < need:
        raise RemoteProtocolError("identity item truncated", offset=base, expected=f">= {need} bytes",
                                  encap_status=EncapStatus.INCORRECT_DATA)
    (version,) = _IDENTITY_HEAD.unpack_from(body, 0)
    family, port, address = _sockaddr(body, 2)
    vendor, device, product, major, minor, status, serial = _IDENTITY_TAIL.unpack_from(body, 18)
    at = 18 + _IDENTITY_TAIL.size
    size = body[at]
    if at + 1 + size + 1 != len(body):
        raise RemoteProtocolError("identity item product name / state do not fit its length",
                                  offset=base + at, expected=f"{size}-char name and a state byte",
                                  encap_status=EncapStatus.INCORRECT_DATA)
    name = body[at + 1:at + 1 + size].decode("ascii", "replace")
    return IdentityItem(version, family, port, address, vendor, device, product, (major, minor), status,
                        serial, name, body[at + 1 + size])


def _encode_item(item: Item) -> bytes:
    if isinstance(item, UnconnectedData):
        body = message_bytes(item.message)
        return _ITEM.pack(_ITEM_UNCONNECTED_DATA, len(body)) + body
    if isinstance(item, NullAddress):
        return b"\0\0\0\0"
    if isinstance(item, ConnectedAddress):
        return _ITEM.pack(_ITEM_CONNECTED_ADDRESS, 4) + _UDINT.pack(item.connection)
    if isinstance(item, ConnectedData):
        body = message_bytes(item.message)
        return _ITEM.pack(_ITEM_CONNECTED_DATA, len(body) + 2) + _UINT.pack(item.sequence & 0xFFFF) + body
    if isinstance(item, SockaddrInfo):
        body = _SOCKADDR.pack(item.family, item.port, socket.inet_aton(item.address), bytes(8))
        return _ITEM.pack(item.type_id, 16) + body
    if isinstance(item, IdentityItem):
        name = item.product_name.encode("ascii")
        if len(name) > 255:
            raise LocalProtocolError(f"product name of {len(name)} characters (at most 255)")
        body = (_IDENTITY_HEAD.pack(item.version)
                + _SOCKADDR.pack(item.family, item.port, socket.inet_aton(item.address), bytes(8))
                + _IDENTITY_TAIL.pack(item.vendor_id, item.device_type, item.product_code, item.revision[0],
                                      item.revision[1], item.status, item.serial_number)
                + bytes((len(name),)) + name + bytes((item.state,)))
        return _ITEM.pack(_ITEM_LIST_IDENTITY, len(body)) + body
    if isinstance(item, ServicesItem):
        name = item.name.encode("ascii")
        if len(name) > item.name_size:
            raise LocalProtocolError(f"service name {item.name!r} longer than {item.name_size} characters")
        return (_ITEM.pack(_ITEM_LIST_SERVICES, 4 + item.name_size)
                + _ITEM.pack(item.version, item.capability)
                + name.ljust(item.name_size, b"\0"))
    if isinstance(item, RawItem):
        return _ITEM.pack(item.type_id, len(item.data)) + bytes(item.data)
    raise LocalProtocolError(f"not a CPF item: {item!r}")


def message_bytes(message: Any) -> bytes:
    """The bytes of a data item's CIP message (bytes, or a record with ``encode()``)."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    encode = getattr(message, "encode", None)
    if encode is None:
        raise LocalProtocolError(f"a CIP message must be bytes or have .encode(): {message!r}")
    data: bytes = encode()
    return data


def decode_items(data: bytes, offset: int = 0, message: MessageDecoder | None = None) -> tuple[Item, ...]:
    """The CPF item list at *offset*, which must fill *data* exactly.

    *message*, if given, decodes the CIP message bytes of data items (never raising:
    see :class:`~cpppo.enip.codec.connection.Connection`).
    """
    size = len(data)
    if offset + 2 > size:
        need(data, offset, 2, "CPF item count")
    (count,) = _UINT.unpack_from(data, offset)
    offset += 2
    items: list[Item] = []
    for _ in range(count):
        if offset + 4 > size:
            need(data, offset, 4, "CPF item header")
        type_id, length = _ITEM.unpack_from(data, offset)
        offset += 4
        if offset + length > size:
            need(data, offset, length, f"CPF item 0x{type_id:04X} data")
        items.append(_decode_item(type_id, data, offset, length, message))
        offset += length
    if offset != len(data):
        raise RemoteProtocolError(f"{len(data) - offset} bytes after {count} CPF items", offset=offset,
                                  expected="end of data", encap_status=EncapStatus.INCORRECT_DATA)
    return tuple(items)


def encode_items(items: Sequence[Item]) -> bytes:
    """The CPF item list: count, then each item's type, length and data."""
    return _UINT.pack(len(items)) + b"".join(_encode_item(item) for item in items)
