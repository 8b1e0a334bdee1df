"""The EtherNet/IP encapsulation layer: the 24-byte header, command data, and framing a stream.

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
The Common Packet Format items inside the command data are :mod:`~cpppo.enip.codec.cpf`'s
(importable from here too, where they have always been).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cpppo import automata
from cpppo.enip.codec.codes import Command, EncapStatus, ItemType
from cpppo.enip.codec.cpf import (
    ConnectedAddress,
    ConnectedData,
    IdentityItem,
    Item,
    MessageDecoder,
    NullAddress,
    RawItem,
    ServicesItem,
    SockaddrInfo,
    UnconnectedData,
    decode_items,
    encode_items,
    message_bytes,
)
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError, need

__all__ = [
    "HEADER", "MAX_LENGTH", "Frame", "RegisterSession", "SendData", "ItemList", "Raw",
    "NullAddress", "ConnectedAddress", "UnconnectedData", "ConnectedData", "SockaddrInfo",
    "IdentityItem", "ServicesItem", "RawItem", "FrameParser", "frame_machine",
    "decode_frame", "encode_frame", "decode_items", "encode_items", "decode_body", "encode_body",
    "Item", "Body", "MessageDecoder", "Framed", "HeaderFramer",
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
Body = Raw | RegisterSession | SendData | ItemList


@dataclass(frozen=True, slots=True)
class Frame:
    """One encapsulation frame: the header's fields and the decoded command data."""

    command: int
    body: Body = field(default_factory=Raw)
    session: int = 0
    status: int = 0
    context: bytes = bytes(8)
    options: int = 0


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
        need(data, 0, _SEND.size, "interface handle and timeout")
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


# A SendRRData / SendUnitData frame as most are, its header, command data and CPF item headers in one
# struct (the CIP message follows): unconnected, a null address item and an unconnected data item;
# connected, a connected address item and a connected data item with its sequence count.
_UNCONNECTED = struct.Struct("<HHII8sIIHHHHHH")
_CONNECTED = struct.Struct("<HHII8sIIHHHHIHHH")
_UNCONNECTED_DATA = int(ItemType.UNCONNECTED_DATA)
_CONNECTED_ADDRESS, _CONNECTED_DATA = int(ItemType.CONNECTED_ADDRESS), int(ItemType.CONNECTED_DATA)


def encode_frame(frame: Frame) -> bytes:
    """The bytes of *frame*: header, then its command data.

    Why two ways: a server answers almost every request with one of the two usual SendData shapes
    (a reply in an unconnected or a connected data item), and packing its header, command data
    and item headers with one precompiled struct costs a fraction of encoding each record in turn;
    the bytes are the same (the golden vectors test both).
    """
    body = frame.body
    if body.__class__ is SendData and len(frame.context) == 8:
        packed = _encode_send_data(frame, body)
        if packed is not None:
            return packed
    try:
        data = encode_body(body)
    except struct.error as exc:  # (a field of the command data out of range)
        raise LocalProtocolError(f"encapsulation command data field out of range: {exc}") from None
    if len(data) > MAX_LENGTH:
        raise LocalProtocolError(f"{len(data)} bytes of command data (at most {MAX_LENGTH})")
    if len(frame.context) != 8:
        raise LocalProtocolError(f"sender context of {len(frame.context)} bytes (must be 8)")
    try:
        head = HEADER.pack(frame.command, len(data), frame.session, frame.status, frame.context, frame.options)
    except struct.error as exc:
        raise LocalProtocolError(f"encapsulation header field out of range: {exc}") from None
    return head + data


def _encode_send_data(frame: Frame, body: SendData) -> bytes | None:
    """*frame* in one pack, if its items are one of the two usual pairs (None: encode it item by item)."""
    items = body.items
    if len(items) != 2:
        return None
    address, data = items
    try:
        if address.__class__ is NullAddress and data.__class__ is UnconnectedData:
            message = message_bytes(data.message)
            size = len(message)
            if size > MAX_LENGTH - 16:
                return None  # (refused by the general way, with its message)
            return _UNCONNECTED.pack(frame.command, 16 + size, frame.session, frame.status, frame.context,
                                     frame.options, body.interface, body.timeout, 2, 0, 0, _UNCONNECTED_DATA,
                                     size) + message
        if address.__class__ is ConnectedAddress and data.__class__ is ConnectedData:
            message = message_bytes(data.message)
            size = len(message)
            if size > MAX_LENGTH - 22:
                return None
            return _CONNECTED.pack(frame.command, 22 + size, frame.session, frame.status, frame.context,
                                   frame.options, body.interface, body.timeout, 2, _CONNECTED_ADDRESS, 4,
                                   address.connection, _CONNECTED_DATA, size + 2,
                                   data.sequence & 0xFFFF) + message
    except struct.error:
        return None  # a field out of range: the general way says which
    return None


# --- framing ----------------------------------------------------------------------------

class _payload(automata.state_bytes):
    """The command data: ``header.length`` bytes, refused at once if over the limit."""

    def _length(self, path: str | None, data: Any) -> int:
        length: int = data["header"]["length"]
        if length > MAX_LENGTH:
            error = RemoteProtocolError(f"encapsulation length {length} over {MAX_LENGTH}", offset=2,
                                        expected=f"length <= {MAX_LENGTH}",
                                        encap_status=EncapStatus.INVALID_LENGTH)
            # The header itself is usable: a server answers it with the status before closing.
            error.header = dict(data["header"])
            raise error
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
        return framed_frame(framed, self.reply, self.message)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet framed."""
        return self._feeder.buffered

    def frames(self, data: bytes) -> Iterator[Frame]:
        """Receive *data* and yield every frame it completes."""
        self.receive_data(data)
        while (frame := self.next_frame()) is not None:
            yield frame


class HeaderFramer(FrameParser):
    """A :class:`FrameParser` for the client's side: the same interface and errors, framing by the
    header's length alone.

    Why a second framer: the header is fixed (24 bytes, the length of what follows at offset 2),
    so on a stream of replies a buffer and one ``unpack_from`` frame a reply in a fraction of what
    stepping a machine over it costs, and a client frames every reply it gets.  The simulator keeps
    the DFA (:class:`FrameParser`), which tells a bad request's header to answer it.
    """

    def __init__(self, reply: bool = True, message: MessageDecoder | None = None) -> None:
        # (no super().__init__: it builds the machine this framer does without)
        self.reply = reply
        self.message = message
        self._buffer = bytearray()
        self._ended = False
        self.last_header: dict[str, Any] | None = None

    def receive_data(self, data: bytes) -> None:
        if data:
            self._buffer += data
        else:
            self._ended = True

    def next_framed(self) -> Framed | None:
        """As :meth:`FrameParser.next_framed`: the next frame's ``header`` and ``payload``, or None."""
        self.last_header = None
        buffer = self._buffer
        if not buffer:
            return None
        have = len(buffer)
        if have < 24:
            if self._ended:
                raise RemoteProtocolError(f"truncated encapsulation frame: {have} bytes of a header",
                                          expected="a whole frame", encap_status=EncapStatus.INCORRECT_DATA)
            return None
        command, length, session, status, context, options = HEADER.unpack_from(buffer, 0)
        if length > MAX_LENGTH:
            raise RemoteProtocolError(f"encapsulation length {length} over {MAX_LENGTH}", offset=2,
                                      expected=f"length <= {MAX_LENGTH}", encap_status=EncapStatus.INVALID_LENGTH)
        end = 24 + length
        if have < end:
            if self._ended:
                raise RemoteProtocolError(f"truncated encapsulation frame: {have - 24} of {length} bytes of data",
                                          expected="a whole frame", encap_status=EncapStatus.INCORRECT_DATA)
            return None
        payload = bytes(buffer[24:end])
        del buffer[:end]
        header = {"command": command, "length": length, "session": session, "status": status,
                  "context": context, "options": options}
        self.last_header = header
        return {"header": header, "payload": payload}

    @property
    def buffered(self) -> int:
        """Bytes received and not yet framed."""
        return len(self._buffer)


def framed_frame(framed: Framed, reply: bool, message: MessageDecoder | None = None) -> Frame:
    """The :class:`Frame` of a framed frame (its command data decoded: a reply's with *reply*)."""
    header = framed["header"]
    body = decode_body(header["command"], framed["payload"], reply, message)
    return Frame(header["command"], body, header["session"], header["status"], header["context"],
                 header["options"])


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

