"""The Connection Manager's services (class 0x06): Unconnected Send, Forward Open, Forward Close.

Why apart from :mod:`~cpppo.enip.codec.cip`: the Message Router's request and reply are the
envelope every CIP service travels in; these are what a few services carry inside it, to set up
connections and route requests through a backplane.  Their bodies hold route and connection
paths (port segments first, :func:`~cpppo.enip.codec.epath.encode_route`), and Unconnected Send
holds a whole embedded request.

An embedded request is a :class:`~cpppo.enip.codec.message.Request`, decoded by the Message
Router's own decoder, which this module does not import (cip imports this module):
:func:`decode_unconnected_send` takes it as its first argument.

Records are frozen dataclasses with ``encode()``; decoders raise only
:class:`~cpppo.enip.codec.errors.RemoteProtocolError` (with the CIP status to answer).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from cpppo.enip.codec.codes import GeneralStatus
from cpppo.enip.codec.epath import Segment, decode_route, encode_route
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError, short
from cpppo.enip.codec.message import Request

__all__ = [
    "UnconnectedSend", "ForwardOpen", "ForwardOpenReply", "ForwardClose", "ForwardCloseReply",
    "decode_unconnected_send", "decode_forward_open", "decode_large_forward_open",
    "decode_forward_open_reply", "decode_forward_close",
]

_UCS = struct.Struct("<BBH")
_FO = struct.Struct("<BBIIHHIB3sIHIHB")
_LFO = struct.Struct("<BBIIHHIB3sIIIIB")
_FO_REPLY = struct.Struct("<IIHHIIIBB")
_FO_FAIL = struct.Struct("<HHIBB")
_FC = struct.Struct("<BBHHI")
_FC_REPLY = struct.Struct("<HHIBB")


def _path_to_end(what: str, words: int, at: int, size: int, offset: int) -> None:
    """A route or connection path of *words* words at *at* must end the request's *size* bytes."""
    if at + 2 * words != size:
        raise RemoteProtocolError(f"{what} of {words} words does not end the request", offset=offset,
                                  expected=f"{what} to the end",
                                  cip_status=GeneralStatus.PATH_SIZE_INVALID)


# --- Unconnected Send -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UnconnectedSend:
    """Unconnected Send (0x52 to the Connection Manager): an embedded request and its route."""

    request: Request
    route: tuple[Segment, ...] = ()
    priority: int = 0x0A
    timeout_ticks: int = 0x0E
    pad: int = 0

    def encode(self) -> bytes:
        message = self.request.encode()
        route = encode_route(self.route)
        pad = bytes((self.pad,)) if len(message) % 2 else b""
        return (_UCS.pack(self.priority, self.timeout_ticks, len(message)) + message + pad
                + bytes((len(route) // 2, 0)) + route)


def decode_unconnected_send(decode_request: Callable[[bytes, int, int], Request], data: bytes,
                            base: int) -> UnconnectedSend:
    """An Unconnected Send body at offset *base* of its message; *decode_request* (data, start,
    end) decodes the embedded request (first, so that ``partial(decode_unconnected_send,
    decode_request)`` is a request body decoder, and a fast one: no keyword to merge)."""
    if len(data) < _UCS.size:
        raise short("Unconnected Send header", base, _UCS.size, len(data))
    priority, ticks, size = _UCS.unpack_from(data, 0)
    at = _UCS.size
    if at + size > len(data):
        raise RemoteProtocolError(f"embedded message of {size} bytes runs past the request",
                                  offset=base + 2, expected="message size within the data",
                                  cip_status=GeneralStatus.NOT_ENOUGH_DATA)
    request = decode_request(data, at, at + size)
    at += size
    pad = 0
    if size % 2:
        if at >= len(data):
            raise short("pad byte after an odd-sized message", base + at, 1, 0)
        pad = data[at]
        at += 1
    if at + 2 > len(data):
        raise short("route path size", base + at, 2, len(data) - at)
    words = data[at]
    at += 2
    _path_to_end("route path", words, at, len(data), base + at - 2)
    return UnconnectedSend(request, decode_route(data, at, words), priority, ticks, pad)


# --- Forward Open / Forward Close -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ForwardOpen:
    """Forward Open (0x54) or, with ``large``, Large Forward Open (0x5B)."""

    path: tuple[Segment, ...] = ()
    o_t_connection: int = 0
    t_o_connection: int = 0
    serial: int = 0
    vendor: int = 0
    originator_serial: int = 0
    multiplier: int = 0
    o_t_rpi: int = 0
    o_t_parameters: int = 0
    t_o_rpi: int = 0
    t_o_parameters: int = 0
    trigger: int = 0xA3
    priority: int = 0x0A
    timeout_ticks: int = 0x0E
    large: bool = False
    reserved: bytes = bytes(3)

    @property
    def o_t_size(self) -> int:
        """The O->T connection size in bytes (the low 9 bits, or 16 bits for a Large Forward Open)."""
        return self.o_t_parameters & (0xFFFF if self.large else 0x1FF)

    @property
    def t_o_size(self) -> int:
        """The T->O connection size in bytes, as :attr:`o_t_size`."""
        return self.t_o_parameters & (0xFFFF if self.large else 0x1FF)

    def encode(self) -> bytes:
        path = encode_route(self.path)
        fmt = _LFO if self.large else _FO
        try:
            head = fmt.pack(self.priority, self.timeout_ticks, self.o_t_connection, self.t_o_connection,
                            self.serial, self.vendor, self.originator_serial, self.multiplier, self.reserved,
                            self.o_t_rpi, self.o_t_parameters, self.t_o_rpi, self.t_o_parameters, self.trigger)
        except struct.error as exc:
            raise LocalProtocolError(f"Forward Open field out of range: {exc}") from None
        return head + bytes((len(path) // 2,)) + path


def _decode_forward_open(data: bytes, base: int, large: bool) -> ForwardOpen:
    fmt = _LFO if large else _FO
    if len(data) < fmt.size + 1:
        raise short("Forward Open", base, fmt.size + 1, len(data))
    (priority, ticks, o_t, t_o, serial, vendor, orig, mult, reserved, o_t_rpi, o_t_par, t_o_rpi, t_o_par,
     trigger) = fmt.unpack_from(data, 0)
    words = data[fmt.size]
    at = fmt.size + 1
    _path_to_end("connection path", words, at, len(data), base + fmt.size)
    return ForwardOpen(decode_route(data, at, words), o_t, t_o, serial, vendor, orig, mult, o_t_rpi,
                       o_t_par, t_o_rpi, t_o_par, trigger, priority, ticks, large, reserved)


def decode_forward_open(data: bytes, base: int) -> ForwardOpen:
    """A Forward Open (0x54) body at offset *base* of its message."""
    return _decode_forward_open(data, base, False)


def decode_large_forward_open(data: bytes, base: int) -> ForwardOpen:
    """A Large Forward Open (0x5B) body at offset *base* of its message."""
    return _decode_forward_open(data, base, True)


@dataclass(frozen=True, slots=True)
class ForwardOpenReply:
    """A successful Forward Open reply; ``failed`` replies carry only the connection triad."""

    o_t_connection: int = 0
    t_o_connection: int = 0
    serial: int = 0
    vendor: int = 0
    originator_serial: int = 0
    o_t_api: int = 0
    t_o_api: int = 0
    application: bytes = b""
    reserved: int = 0
    failed: bool = False
    remaining_path: int = 0

    def encode(self) -> bytes:
        if self.failed:
            return _FO_FAIL.pack(self.serial, self.vendor, self.originator_serial, self.remaining_path,
                                 self.reserved)
        if len(self.application) % 2:
            raise LocalProtocolError("application reply must be a whole number of words")
        return _FO_REPLY.pack(self.o_t_connection, self.t_o_connection, self.serial, self.vendor,
                              self.originator_serial, self.o_t_api, self.t_o_api, len(self.application) // 2,
                              self.reserved) + self.application


def decode_forward_open_reply(data: bytes, base: int, status: int) -> ForwardOpenReply | None:
    """A Forward Open reply's data (success or failure), or None for a failure that carries
    something else (some targets send nothing useful: the caller keeps the bytes)."""
    if status:
        if len(data) != _FO_FAIL.size:
            return None
        serial, vendor, orig, remaining, reserved = _FO_FAIL.unpack(data)
        return ForwardOpenReply(serial=serial, vendor=vendor, originator_serial=orig, failed=True,
                                remaining_path=remaining, reserved=reserved)
    if len(data) < _FO_REPLY.size:
        raise short("Forward Open reply", base, _FO_REPLY.size, len(data))
    o_t, t_o, serial, vendor, orig, o_t_api, t_o_api, words, reserved = _FO_REPLY.unpack_from(data, 0)
    application = data[_FO_REPLY.size:]
    if len(application) != 2 * words:
        raise RemoteProtocolError("Forward Open application reply size mismatch", offset=base + 26,
                                  expected=f"{2 * words} bytes", cip_status=GeneralStatus.TOO_MUCH_DATA)
    return ForwardOpenReply(o_t, t_o, serial, vendor, orig, o_t_api, t_o_api, bytes(application), reserved)


@dataclass(frozen=True, slots=True)
class ForwardClose:
    """Forward Close (0x4E to the Connection Manager): the connection triad and its path."""

    path: tuple[Segment, ...] = ()
    serial: int = 0
    vendor: int = 0
    originator_serial: int = 0
    priority: int = 0x0A
    timeout_ticks: int = 0x0E
    reserved: int = 0

    def encode(self) -> bytes:
        path = encode_route(self.path)
        return (_FC.pack(self.priority, self.timeout_ticks, self.serial, self.vendor, self.originator_serial)
                + bytes((len(path) // 2, self.reserved)) + path)


def decode_forward_close(data: bytes, base: int) -> ForwardClose:
    """A Forward Close body at offset *base* of its message."""
    if len(data) < _FC.size + 2:
        raise short("Forward Close", base, _FC.size + 2, len(data))
    priority, ticks, serial, vendor, orig = _FC.unpack_from(data, 0)
    words, reserved = data[_FC.size], data[_FC.size + 1]
    at = _FC.size + 2
    _path_to_end("connection path", words, at, len(data), base + _FC.size)
    return ForwardClose(decode_route(data, at, words), serial, vendor, orig, priority, ticks, reserved)


@dataclass(frozen=True, slots=True)
class ForwardCloseReply:
    """A Forward Close reply's data: the connection triad and any application reply.

    Built by a server; a client leaves a Forward Close reply as bytes (0x4E is also Read Modify
    Write's code on a tag, so the code alone does not say what the data is)."""

    serial: int = 0
    vendor: int = 0
    originator_serial: int = 0
    application: bytes = b""
    reserved: int = 0

    def encode(self) -> bytes:
        return _FC_REPLY.pack(self.serial, self.vendor, self.originator_serial, len(self.application) // 2,
                              self.reserved) + self.application
