"""CIP messages: the Message Router request and reply, and the services that carry others.

A request is a service code, a padded EPATH and service data; a reply echoes
the service code with bit 7 set, then a general status, optional extended
status words, and data.  Which service a code means depends on its target
(0x52 is Unconnected Send to the Connection Manager but Read Tag Fragmented to
a tag; 0x4C is Read Tag, or Read Template on class 0x6C), so request bodies
are decoded by code *and* path.  Reply bodies that describe themselves are
decoded (Forward Open, Multiple Service Packet, the tag reads); the rest stay
bytes for the caller who knows what it asked for.

Records are frozen dataclasses.  ``Request.encode()`` / ``Reply.encode()``
give the bytes; ``decode_request`` / ``decode_reply`` take them back, and every
decoder raises only :class:`RemoteProtocolError` (with the CIP status a server
should answer) on input it cannot use.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable

from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.epath import Logical, Port, decode_path, decode_route, encode_path, encode_route

__all__ = [
    "Request", "Reply", "UnconnectedSend", "ForwardOpen", "ForwardOpenReply", "ForwardClose",
    "ForwardCloseReply", "MultipleService", "MultipleServiceReply", "GetAttributeList",
    "decode_request", "decode_reply", "target_class",
]

# General status codes used here
PATH_SEGMENT_ERROR, PATH_UNKNOWN, NOT_ENOUGH_DATA, TOO_MUCH_DATA = 0x04, 0x05, 0x13, 0x15
SERVICE_NOT_SUPPORTED, EMBEDDED_ERROR = 0x08, 0x1E

CONNECTION_MANAGER, MESSAGE_ROUTER, SYMBOL, TEMPLATE = 0x06, 0x02, 0x6B, 0x6C


def _short(what: str, offset: int, need: int, have: int) -> RemoteProtocolError:
    return RemoteProtocolError(f"{what}: {have} of {need} bytes", offset=offset, expected=what,
                               cip_status=NOT_ENOUGH_DATA)


# --- the Message Router -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Request:
    """A Message Router request: ``service``, ``path`` (EPATH segments) and its data.

    The service data is either ``body`` (a decoded record: an UnconnectedSend, a
    logix.ReadTag, ...) or, where it is opaque, ``data`` (bytes); ``payload()``
    gives the bytes either way.
    """

    service: int
    path: tuple[Any, ...] = ()
    data: bytes = b""
    body: Any = None

    def payload(self) -> bytes:
        """The service data as bytes."""
        return self.body.encode() if self.body is not None else self.data

    def encode(self) -> bytes:
        path = encode_path(self.path)
        if len(path) // 2 > 255:
            raise LocalProtocolError(f"request path of {len(path)} bytes (at most 510)")
        return bytes((self.service, len(path) // 2)) + path + self.payload()


@dataclass(frozen=True, slots=True)
class Reply:
    """A Message Router reply: ``service`` (request | 0x80), ``status``, ``extended`` words, data.

    As for :class:`Request`, the data is a decoded ``body`` or opaque ``data`` bytes.
    """

    service: int
    status: int = 0
    extended: tuple[int, ...] = ()
    data: bytes = b""
    body: Any = None
    reserved: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 0

    def payload(self) -> bytes:
        """The reply data as bytes."""
        return self.body.encode() if self.body is not None else self.data

    def encode(self) -> bytes:
        if len(self.extended) > 255:
            raise LocalProtocolError("more than 255 extended status words")
        data = self.payload()
        head = bytes((self.service, self.reserved, self.status, len(self.extended)))
        if self.extended:
            head += struct.pack(f"<{len(self.extended)}H", *self.extended)
        return head + data


def target_class(path: tuple[Any, ...]) -> int | None:
    """The class a path addresses (its first logical class segment), or None for a tag."""
    for segment in path:
        if isinstance(segment, Logical):
            return segment.value if segment.kind == "class" else None
        if not isinstance(segment, Port):
            return None
    return None


def decode_request(data: bytes, offset: int = 0, end: int | None = None) -> Request:
    """The request in ``data[offset:end]``, its service data decoded where known."""
    end = len(data) if end is None else end
    if end - offset < 2:
        raise _short("request service and path size", offset, 2, end - offset)
    service, words = data[offset], data[offset + 1]
    at = offset + 2
    if at + 2 * words > end:
        raise RemoteProtocolError(f"request path of {words} words runs past the request", offset=offset + 1,
                                  expected="a path inside the request", cip_status=0x26)
    path = decode_path(data, at, words)
    at += 2 * words
    body_data = bytes(data[at:end])
    decoder = _request_decoder(service, path)
    body = decoder(body_data, at) if decoder is not None else None
    return Request(service, path, b"" if body is not None else body_data, body)


def decode_reply(data: bytes, offset: int = 0, end: int | None = None, request: Request | None = None) -> Reply:
    """The reply in ``data[offset:end]``, its data decoded where it describes itself.

    Given the *request* it answers, a reply whose code means something else on
    that target (Read Template on class 0x6C, not Read Tag) is left as bytes.
    """
    end = len(data) if end is None else end
    if end - offset < 4:
        raise _short("reply header", offset, 4, end - offset)
    service, reserved, status, words = data[offset:offset + 4]
    if not service & 0x80:
        raise RemoteProtocolError(f"reply service 0x{service:02X} without the reply bit", offset=offset,
                                  expected="service | 0x80")
    at = offset + 4
    if at + 2 * words > end:
        raise _short("extended status", at, 2 * words, end - at)
    extended = struct.unpack_from(f"<{words}H", data, at) if words else ()
    at += 2 * words
    body_data = bytes(data[at:end])
    decoder = _REPLY_DECODERS.get(service & 0x7F)
    if request is not None and target_class(request.path) not in (None, CONNECTION_MANAGER, MESSAGE_ROUTER):
        decoder = None  # a service on an object, not a tag: its data is the object's to interpret
    body = decoder(body_data, at, status) if decoder is not None else None
    return Reply(service, status, tuple(extended), b"" if body is not None else body_data, body, reserved)


# --- Unconnected Send -------------------------------------------------------------------

_UCS = struct.Struct("<BBH")


@dataclass(frozen=True, slots=True)
class UnconnectedSend:
    """Unconnected Send (0x52 to the Connection Manager): an embedded request and its route."""

    request: Request
    route: tuple[Any, ...] = ()
    priority: int = 0x0A
    timeout_ticks: int = 0x0E
    pad: int = 0

    def encode(self) -> bytes:
        message = self.request.encode()
        route = encode_route(self.route)
        pad = bytes((self.pad,)) if len(message) % 2 else b""
        return (_UCS.pack(self.priority, self.timeout_ticks, len(message)) + message + pad
                + bytes((len(route) // 2, 0)) + route)


def _decode_unconnected_send(data: bytes, base: int) -> UnconnectedSend:
    if len(data) < _UCS.size:
        raise _short("Unconnected Send header", base, _UCS.size, len(data))
    priority, ticks, size = _UCS.unpack_from(data, 0)
    at = _UCS.size
    if at + size > len(data):
        raise RemoteProtocolError(f"embedded message of {size} bytes runs past the request",
                                  offset=base + 2, expected="message size within the data",
                                  cip_status=NOT_ENOUGH_DATA)
    request = decode_request(data, at, at + size)
    at += size
    pad = 0
    if size % 2:
        if at >= len(data):
            raise _short("pad byte after an odd-sized message", base + at, 1, 0)
        pad = data[at]
        at += 1
    if at + 2 > len(data):
        raise _short("route path size", base + at, 2, len(data) - at)
    words = data[at]
    at += 2
    if at + 2 * words != len(data):
        raise RemoteProtocolError(f"route path of {words} words does not end the request",
                                  offset=base + at - 2, expected="route path to the end",
                                  cip_status=0x26)
    route = decode_route(data, at, words)
    return UnconnectedSend(request, route, priority, ticks, pad)


# --- Forward Open / Forward Close -------------------------------------------------------

_FO = struct.Struct("<BBIIHHIB3sIHIHB")
_LFO = struct.Struct("<BBIIHHIB3sIIIIB")
_FO_REPLY = struct.Struct("<IIHHIIIBB")
_FO_FAIL = struct.Struct("<HHIBB")
_FC = struct.Struct("<BBHHI")
_FC_REPLY = struct.Struct("<HHIBB")


@dataclass(frozen=True, slots=True)
class ForwardOpen:
    """Forward Open (0x54) or, with ``large``, Large Forward Open (0x5B)."""

    path: tuple[Any, ...] = ()
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


def _decode_forward_open(large: bool) -> Callable[[bytes, int], ForwardOpen]:
    fmt = _LFO if large else _FO

    def decode(data: bytes, base: int) -> ForwardOpen:
        if len(data) < fmt.size + 1:
            raise _short("Forward Open", base, fmt.size + 1, len(data))
        (priority, ticks, o_t, t_o, serial, vendor, orig, mult, reserved, o_t_rpi, o_t_par, t_o_rpi, t_o_par,
         trigger) = fmt.unpack_from(data, 0)
        words = data[fmt.size]
        at = fmt.size + 1
        if at + 2 * words != len(data):
            raise RemoteProtocolError(f"connection path of {words} words does not end the request",
                                      offset=base + fmt.size, expected="path to the end", cip_status=0x26)
        path = decode_route(data, at, words)
        return ForwardOpen(path, o_t, t_o, serial, vendor, orig, mult, o_t_rpi, o_t_par, t_o_rpi, t_o_par,
                           trigger, priority, ticks, large, reserved)
    return decode


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


def _decode_forward_open_reply(data: bytes, base: int, status: int) -> ForwardOpenReply | None:
    if status:
        if len(data) != _FO_FAIL.size:
            return None  # some targets send nothing useful with a failure: keep the bytes
        serial, vendor, orig, remaining, reserved = _FO_FAIL.unpack(data)
        return ForwardOpenReply(serial=serial, vendor=vendor, originator_serial=orig, failed=True,
                                remaining_path=remaining, reserved=reserved)
    if len(data) < _FO_REPLY.size:
        raise _short("Forward Open reply", base, _FO_REPLY.size, len(data))
    o_t, t_o, serial, vendor, orig, o_t_api, t_o_api, words, reserved = _FO_REPLY.unpack_from(data, 0)
    application = data[_FO_REPLY.size:]
    if len(application) != 2 * words:
        raise RemoteProtocolError("Forward Open application reply size mismatch", offset=base + 26,
                                  expected=f"{2 * words} bytes", cip_status=TOO_MUCH_DATA)
    return ForwardOpenReply(o_t, t_o, serial, vendor, orig, o_t_api, t_o_api, bytes(application), reserved)


@dataclass(frozen=True, slots=True)
class ForwardClose:
    """Forward Close (0x4E to the Connection Manager): the connection triad and its path."""

    path: tuple[Any, ...] = ()
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


def _decode_forward_close(data: bytes, base: int) -> ForwardClose:
    if len(data) < _FC.size + 2:
        raise _short("Forward Close", base, _FC.size + 2, len(data))
    priority, ticks, serial, vendor, orig = _FC.unpack_from(data, 0)
    words, reserved = data[_FC.size], data[_FC.size + 1]
    at = _FC.size + 2
    if at + 2 * words != len(data):
        raise RemoteProtocolError(f"connection path of {words} words does not end the request",
                                  offset=base + _FC.size, expected="path to the end", cip_status=0x26)
    return ForwardClose(decode_route(data, at, words), serial, vendor, orig, priority, ticks, reserved)


@dataclass(frozen=True, slots=True)
class ForwardCloseReply:
    serial: int = 0
    vendor: int = 0
    originator_serial: int = 0
    application: bytes = b""
    reserved: int = 0

    def encode(self) -> bytes:
        return _FC_REPLY.pack(self.serial, self.vendor, self.originator_serial, len(self.application) // 2,
                              self.reserved) + self.application


def _decode_forward_close_reply(data: bytes, base: int, status: int) -> ForwardCloseReply | None:
    if len(data) < _FC_REPLY.size:
        return None
    serial, vendor, orig, words, reserved = _FC_REPLY.unpack_from(data, 0)
    application = data[_FC_REPLY.size:]
    if len(application) != 2 * words:
        return None
    return ForwardCloseReply(serial, vendor, orig, bytes(application), reserved)


# --- Multiple Service Packet ------------------------------------------------------------

def _offsets(parts: list[bytes]) -> bytes:
    table = []
    at = 2 + 2 * len(parts)
    for part in parts:
        table.append(at)
        at += len(part)
    if at > 0xFFFF:
        raise LocalProtocolError(f"Multiple Service Packet of {at} bytes")
    return struct.pack(f"<H{len(parts)}H", len(parts), *table)


def _split(data: bytes, base: int, what: str) -> list[tuple[int, int]]:
    if len(data) < 2:
        raise _short(f"{what} count", base, 2, len(data))
    (count,) = struct.unpack_from("<H", data, 0)
    if 2 + 2 * count > len(data):
        raise _short(f"{what} offset table", base + 2, 2 * count, len(data) - 2)
    offsets = struct.unpack_from(f"<{count}H", data, 2)
    bounds = []
    for i, start in enumerate(offsets):
        stop = offsets[i + 1] if i + 1 < count else len(data)
        if not 2 + 2 * count <= start <= stop <= len(data):
            raise RemoteProtocolError(f"{what} offset {i} ({start}) out of order or outside the packet",
                                      offset=base + 2 + 2 * i, expected="increasing offsets inside the packet",
                                      cip_status=0x03)
        bounds.append((start, stop))
    return bounds


@dataclass(frozen=True, slots=True)
class MultipleService:
    """Multiple Service Packet (0x0A): several requests, with an offsets table."""

    requests: tuple[Request, ...] = ()
    #: The requests already encoded, if the caller has them (a client packing requests it sends
    #: again and again); they must be the encodings of ``requests``.
    encoded: tuple[bytes, ...] | None = field(default=None, compare=False, repr=False)

    def encode(self) -> bytes:
        parts = self.encoded if self.encoded is not None else [request.encode() for request in self.requests]
        return _offsets(parts) + b"".join(parts)


def _decode_multiple(data: bytes, base: int) -> MultipleService:
    return MultipleService(tuple(decode_request(data, start, stop)
                                 for start, stop in _split(data, base, "Multiple Service Packet")))


@dataclass(frozen=True, slots=True)
class MultipleServiceReply:
    replies: tuple[Reply, ...] = ()
    #: The replies already encoded, if the caller has them (a server that measured them against
    #: its reply budget); they must be the encodings of ``replies``.
    encoded: tuple[bytes, ...] | None = field(default=None, compare=False, repr=False)

    def encode(self) -> bytes:
        parts = self.encoded if self.encoded is not None else [reply.encode() for reply in self.replies]
        return _offsets(parts) + b"".join(parts)


def _decode_multiple_reply(data: bytes, base: int, status: int) -> MultipleServiceReply | None:
    if status not in (0, EMBEDDED_ERROR) or not data:
        return None
    return MultipleServiceReply(tuple(decode_reply(data, start, stop)
                                      for start, stop in _split(data, base, "Multiple Service reply")))


# --- Get Attribute List (and the attribute list of Get Instance Attribute List) ---------

@dataclass(frozen=True, slots=True)
class GetAttributeList:
    """Get Attribute List (0x03) / Get Instance Attribute List (0x55): the attribute ids asked for."""

    attributes: tuple[int, ...] = ()

    def encode(self) -> bytes:
        return struct.pack(f"<H{len(self.attributes)}H", len(self.attributes), *self.attributes)


def _decode_attribute_list(data: bytes, base: int) -> GetAttributeList:
    if len(data) < 2:
        raise _short("attribute count", base, 2, len(data))
    (count,) = struct.unpack_from("<H", data, 0)
    if len(data) != 2 + 2 * count:
        raise RemoteProtocolError(f"{count} attribute ids in {len(data) - 2} bytes", offset=base,
                                  expected=f"{2 * count} bytes of ids",
                                  cip_status=NOT_ENOUGH_DATA if len(data) < 2 + 2 * count else TOO_MUCH_DATA)
    return GetAttributeList(struct.unpack_from(f"<{count}H", data, 2))


# --- dispatch ---------------------------------------------------------------------------

def _request_decoder(service: int, path: tuple[Any, ...]) -> Callable[[bytes, int], Any] | None:
    cls = target_class(path)
    if cls == CONNECTION_MANAGER:
        return _CONNECTION_MANAGER.get(service)
    if service == 0x0A:
        return _decode_multiple
    if service in (0x03, 0x55):
        return _decode_attribute_list
    if cls == TEMPLATE:
        return logix.decode_read_template if service == 0x4C else None
    return logix.TAG_REQUESTS.get(service)


_CONNECTION_MANAGER: dict[int, Callable[[bytes, int], Any]] = {
    0x52: _decode_unconnected_send,
    0x54: _decode_forward_open(False),
    0x5B: _decode_forward_open(True),
    0x4E: _decode_forward_close,
}

_REPLY_DECODERS: dict[int, Callable[[bytes, int, int], Any]] = {
    0x54: _decode_forward_open_reply,
    0x5B: _decode_forward_open_reply,
    0x0A: _decode_multiple_reply,
    0x4C: logix.decode_read_reply,
    0x52: logix.decode_read_reply,
}
