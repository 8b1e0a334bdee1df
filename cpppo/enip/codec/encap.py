"""The EtherNet/IP encapsulation layer: 24-byte header, command data, Common Packet Format.

Frames arrive in pieces, so framing is a DFA run by a :class:`~cpppo.automata.Feeder`:
one bulk state reads the 24-byte header with one precompiled struct, a second
reads the ``length`` bytes of command data.  A header announcing more than
65511 bytes is refused as soon as it is read (the connection is then useless:
nothing tells where the next frame starts).  Once a frame is whole, its command
data is decoded by plain functions: the bytes are all there, and a function is
faster than stepping states over a buffer already in memory.

Records are frozen dataclasses; every decoder has its encoder beside it, and
``encode_frame(decode_frame(b)) == b`` for every frame we accept.  The codes are
:mod:`~cpppo.enip.codec.codes`' enums; the short names importers use
(``encap.SEND_RR_DATA``, ``encap.INCORRECT_DATA``) are those enums' members.
(``socket`` is imported only to turn IPv4 addresses into bytes and back.)
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

from cpppo import automata
from cpppo.enip.codec.codes import Command, EncapStatus, ItemType
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "HEADER", "MAX_LENGTH", "Frame", "RegisterSession", "SendData", "ItemList", "Raw",
    "NullAddress", "ConnectedAddress", "UnconnectedData", "ConnectedData", "SockaddrInfo",
    "IdentityItem", "ServicesItem", "RawItem", "FrameParser", "frame_machine",
    "decode_frame", "encode_frame", "decode_items", "encode_items", "decode_body", "encode_body",
    "Item", "Body", "MessageDecoder", "Framed",
]

HEADER = struct.Struct("<HHII8sI")
MAX_LENGTH = 65511
_FIELDS = ("command", "length", "session", "status", "context", "options")

# The commands and statuses by their short names, as the simulator and the client import them
# (``encap.SEND_RR_DATA``): the members of codes.Command and codes.EncapStatus, not copies.
NOP = Command.NOP
LIST_SERVICES = Command.LIST_SERVICES
LIST_IDENTITY = Command.LIST_IDENTITY
LIST_INTERFACES = Command.LIST_INTERFACES
REGISTER_SESSION = Command.REGISTER_SESSION
UNREGISTER_SESSION = Command.UNREGISTER_SESSION
SEND_RR_DATA = Command.SEND_RR_DATA
SEND_UNIT_DATA = Command.SEND_UNIT_DATA
INVALID_COMMAND = EncapStatus.INVALID_COMMAND
INSUFFICIENT_MEMORY = EncapStatus.INSUFFICIENT_MEMORY
INCORRECT_DATA = EncapStatus.INCORRECT_DATA
INVALID_SESSION = EncapStatus.INVALID_SESSION_HANDLE
INVALID_LENGTH = EncapStatus.INVALID_LENGTH
UNSUPPORTED_PROTOCOL = EncapStatus.UNSUPPORTED_PROTOCOL_REVISION


# --- records ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Raw:
    """Command data we keep as bytes (NOP payloads, commands with nothing to decode)."""

    data: bytes = b""


@dataclass(frozen=True, slots=True)
class RegisterSession:
    """RegisterSession / UnRegisterSession data: protocol version and options."""

    version: int = 1
    options: int = 0


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
Item = Union[NullAddress, ConnectedAddress, UnconnectedData, ConnectedData, SockaddrInfo, IdentityItem,
             ServicesItem, RawItem]
#: Decodes the CIP message bytes of a data item (a request or a reply decoder; never raising).
MessageDecoder = Callable[[bytes], Any]
#: A frame as framed but not yet decoded: ``{"header": {field: value}, "payload": bytes}``.
Framed = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendData:
    """SendRRData / SendUnitData data: interface handle, timeout, CPF items."""

    items: tuple[Item, ...] = ()
    interface: int = 0
    timeout: int = 0


@dataclass(frozen=True, slots=True)
class ItemList:
    """ListIdentity / ListServices / ListInterfaces reply data: a CPF item list."""

    items: tuple[Item, ...] = ()


#: An encapsulation frame's command data, decoded.
Body = Union[Raw, RegisterSession, SendData, ItemList]


@dataclass(frozen=True, slots=True)
class Frame:
    """One encapsulation frame: the header's fields and the decoded command data."""

    command: int
    body: Body = field(default_factory=Raw)
    session: int = 0
    status: int = 0
    context: bytes = bytes(8)
    options: int = 0


# --- the Common Packet Format -----------------------------------------------------------

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


def _need(data: bytes, offset: int, size: int, what: str) -> None:
    if offset + size > len(data):
        raise RemoteProtocolError(f"{what} truncated: {len(data) - offset} of {size} bytes",
                                  offset=offset, expected=what, encap_status=EncapStatus.INCORRECT_DATA)


def _sockaddr(data: bytes, offset: int) -> tuple[int, int, str]:
    _need(data, offset, 16, "sockaddr")
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
    if type_id == _ITEM_SOCKADDR_O_T or type_id == _ITEM_SOCKADDR_T_O:
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
        body = _message_bytes(item.message)
        return _ITEM.pack(_ITEM_UNCONNECTED_DATA, len(body)) + body
    if isinstance(item, NullAddress):
        return b"\0\0\0\0"
    if isinstance(item, ConnectedAddress):
        return _ITEM.pack(_ITEM_CONNECTED_ADDRESS, 4) + _UDINT.pack(item.connection)
    if isinstance(item, ConnectedData):
        body = _message_bytes(item.message)
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


def _message_bytes(message: Any) -> bytes:
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
        _need(data, offset, 2, "CPF item count")
    (count,) = _UINT.unpack_from(data, offset)
    offset += 2
    items: list[Item] = []
    for _ in range(count):
        if offset + 4 > size:
            _need(data, offset, 4, "CPF item header")
        type_id, length = _ITEM.unpack_from(data, offset)
        offset += 4
        if offset + length > size:
            _need(data, offset, length, f"CPF item 0x{type_id:04X} data")
        items.append(_decode_item(type_id, data, offset, length, message))
        offset += length
    if offset != len(data):
        raise RemoteProtocolError(f"{len(data) - offset} bytes after {count} CPF items", offset=offset,
                                  expected="end of data", encap_status=EncapStatus.INCORRECT_DATA)
    return tuple(items)


def encode_items(items: Sequence[Item]) -> bytes:
    """The CPF item list: count, then each item's type, length and data."""
    return _UINT.pack(len(items)) + b"".join(_encode_item(item) for item in items)


# --- command data -----------------------------------------------------------------------

_SEND = struct.Struct("<IH")
_REGISTER = struct.Struct("<HH")
# Which commands carry which command data (sets of plain ints, as the item ids above).
_SENDS = frozenset(map(int, (Command.SEND_RR_DATA, Command.SEND_UNIT_DATA)))
_REGISTERS = frozenset(map(int, (Command.REGISTER_SESSION, Command.UNREGISTER_SESSION)))
_LISTS = frozenset(map(int, (Command.LIST_IDENTITY, Command.LIST_SERVICES, Command.LIST_INTERFACES)))


def decode_body(command: int, data: bytes, reply: bool, message: MessageDecoder | None = None) -> Body:
    """Decode a frame's command data (a request's, or with *reply* a reply's).

    *message* decodes the CIP messages in SendRRData / SendUnitData items.
    """
    if command in _SENDS:
        if not data and reply:
            return Raw(b"")  # an error reply may carry no data
        _need(data, 0, _SEND.size, "interface handle and timeout")
        interface, timeout = _SEND.unpack_from(data, 0)
        return SendData(decode_items(data, _SEND.size, message), interface, timeout)
    if command in _REGISTERS and len(data) == _REGISTER.size:
        return RegisterSession(*_REGISTER.unpack(data))
    if command in _LISTS and reply and data:
        return ItemList(decode_items(data))
    return Raw(bytes(data))


def encode_body(body: Body) -> bytes:
    """The bytes of a frame's command data."""
    if isinstance(body, SendData):
        return _SEND.pack(body.interface, body.timeout) + encode_items(body.items)
    if isinstance(body, RegisterSession):
        return _REGISTER.pack(body.version, body.options)
    if isinstance(body, ItemList):
        return encode_items(body.items)
    if isinstance(body, Raw):
        return bytes(body.data)
    raise LocalProtocolError(f"not encapsulation command data: {body!r}")


def encode_frame(frame: Frame) -> bytes:
    """The bytes of *frame*: header, then its command data."""
    data = encode_body(frame.body)
    if len(data) > MAX_LENGTH:
        raise LocalProtocolError(f"{len(data)} bytes of command data (at most {MAX_LENGTH})")
    if len(frame.context) != 8:
        raise LocalProtocolError(f"sender context of {len(frame.context)} bytes (must be 8)")
    try:
        head = HEADER.pack(frame.command, len(data), frame.session, frame.status, frame.context, frame.options)
    except struct.error as exc:
        raise LocalProtocolError(f"encapsulation header field out of range: {exc}") from None
    return head + data


# --- framing ----------------------------------------------------------------------------

class _payload(automata.state_bytes):
    """The command data: ``header.length`` bytes, refused at once if over the limit."""

    def _length(self, path: str | None, data: Any) -> int:
        length: int = data["header"]["length"]
        if length > MAX_LENGTH:
            raise RemoteProtocolError(f"encapsulation length {length} over {MAX_LENGTH}", offset=2,
                                      expected=f"length <= {MAX_LENGTH}",
                                      encap_status=EncapStatus.INVALID_LENGTH)
        return length


def frame_machine() -> automata.dfa:
    """The DFA that frames the byte stream: a 24-byte header, then ``length`` bytes."""
    header = automata.state_fields("header", HEADER.format, _FIELDS, context="header")
    payload = _payload("payload", 0, context="payload", terminal=True)
    header[None] = payload
    return automata.dfa("enip", initial=header, terminal=True)


class FrameParser:
    """Splits a byte stream into :class:`Frame` records, sans-IO.

    ``receive_data(bytes)`` then ``next_frame()``, which returns a Frame, None
    when it needs more bytes, and raises RemoteProtocolError for a stream that
    cannot be framed (the connection must then be closed).  Command data of
    frames that frame correctly but do not decode is reported by
    :meth:`next_frame` too, after the frame's bytes are consumed, so the stream
    stays in step; ``last_header`` then tells what to answer.
    """

    def __init__(self, reply: bool = False, machine: automata.dfa | None = None,
                 message: MessageDecoder | None = None) -> None:
        self.reply = reply
        self.message = message
        self._feeder = automata.Feeder(machine or frame_machine(), data_factory=dict)
        self.last_header: dict[str, Any] | None = None

    def receive_data(self, data: bytes) -> None:
        self._feeder.receive_data(data)

    def next_frame(self) -> Frame | None:
        framed = self.next_framed()
        return None if framed is None else self.decode(framed)

    def next_framed(self) -> Framed | None:
        """The next frame's bytes, framed but not yet decoded: a dict of its ``header`` (the
        fields, ``context`` included) and its ``payload``; None when more bytes are needed.

        A client matches a reply to its request by the header alone, and so can send the next
        request before spending time on the decoding (:meth:`decode`)."""
        self.last_header = None
        try:
            sentence = self._feeder.next_event()
        except automata.NonTerminal as exc:
            raise RemoteProtocolError(f"truncated encapsulation frame: {exc}",
                                      expected="a whole frame",
                                      encap_status=EncapStatus.INCORRECT_DATA) from None
        if sentence is automata.NEED_DATA or sentence is None:
            return None
        framed: Framed = sentence
        self.last_header = framed["header"]
        return framed

    def decode(self, framed: Framed) -> Frame:
        """The :class:`Frame` of what :meth:`next_framed` returned."""
        header = framed["header"]
        body = decode_body(header["command"], framed["payload"], self.reply, self.message)
        return Frame(header["command"], body, header["session"], header["status"], header["context"],
                     header["options"])

    @property
    def buffered(self) -> int:
        """Bytes received and not yet framed."""
        return self._feeder.buffered

    def frames(self, data: bytes) -> Iterator[Frame]:
        """Receive *data* and yield every frame it completes."""
        self.receive_data(data)
        while (frame := self.next_frame()) is not None:
            yield frame


def decode_frame(data: bytes, reply: bool = False) -> Frame:
    """Decode one whole frame (exactly one: trailing bytes are an error)."""
    if len(data) < HEADER.size:
        raise RemoteProtocolError(f"{len(data)} bytes is less than an encapsulation header",
                                  offset=len(data), expected="24-byte header",
                                  encap_status=EncapStatus.INCORRECT_DATA)
    command, length, session, status, context, options = HEADER.unpack_from(data, 0)
    if length > MAX_LENGTH:
        raise RemoteProtocolError(f"encapsulation length {length} over {MAX_LENGTH}", offset=2,
                                  expected=f"length <= {MAX_LENGTH}", encap_status=EncapStatus.INVALID_LENGTH)
    if HEADER.size + length != len(data):
        raise RemoteProtocolError(f"header says {length} bytes of data, frame has {len(data) - HEADER.size}",
                                  offset=2, expected="matching length", encap_status=EncapStatus.INCORRECT_DATA)
    body = decode_body(command, data[HEADER.size:], reply)
    return Frame(command, body, session, status, context, options)

