"""CIP messages: the Message Router's request and reply, and the bodies they carry.

A request is a service code, a padded EPATH and service data; a reply echoes
the service code with bit 7 set, then a general status, optional extended
status words, and data.  Which service a code means depends on its target
(0x52 is Unconnected Send to the Connection Manager but Read Tag Fragmented to
a tag; 0x4C is Read Tag, or Read Template on class 0x6C), so request bodies
are decoded by code *and* path: through the Connection Manager's table
(:mod:`~cpppo.enip.codec.connection_manager`), the Message Router's own
services here (Multiple Service Packet, Get Attribute List), or the Logix tag
services (:mod:`~cpppo.enip.codec.tag_services`).  Reply bodies that describe
themselves are decoded (Forward Open, Multiple Service Packet, the tag reads);
the rest stay bytes for the caller who knows what it asked for.

Records are frozen dataclasses.  ``Request.encode()`` / ``Reply.encode()``
give the bytes; :func:`decode_request` / :func:`decode_reply` take them back,
and every decoder raises only :class:`RemoteProtocolError` (with the CIP status
a server should answer) on input it cannot use.  The Connection Manager's
records, and the request and reply themselves (:mod:`~cpppo.enip.codec.message`, which the
Connection Manager's Unconnected Send embeds too), are importable from here, where they have
always been.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cpppo.enip.codec import tag_services
from cpppo.enip.codec.codes import REPLY, ClassCode, GeneralStatus, Service
from cpppo.enip.codec.connection_manager import (
    ForwardClose,
    ForwardCloseReply,
    ForwardOpen,
    ForwardOpenReply,
    UnconnectedSend,
    decode_forward_close,
    decode_forward_open,
    decode_forward_open_reply,
    decode_large_forward_open,
    decode_unconnected_send,
)
from cpppo.enip.codec.epath import Logical, Port, Segment, decode_path
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError, short
from cpppo.enip.codec.message import Reply, Request

__all__ = [
    "Request", "Reply", "UnconnectedSend", "ForwardOpen", "ForwardOpenReply", "ForwardClose",
    "ForwardCloseReply", "MultipleService", "MultipleServiceReply", "GetAttributeList",
    "decode_request", "decode_reply", "target_class",
]

#: A request body decoder: (service data, its offset in the message) -> record.
RequestDecoder = Callable[[bytes, int], Any]
#: A reply body decoder: (reply data, its offset, general status) -> record, or None to keep bytes.
ReplyDecoder = Callable[[bytes, int, int], Any]


# --- the Message Router -----------------------------------------------------------------

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
        raise short("request service and path size", offset, 2, end - offset)
    service, words = data[offset], data[offset + 1]
    at = offset + 2
    if at + 2 * words > end:
        raise RemoteProtocolError(f"request path of {words} words runs past the request", offset=offset + 1,
                                  expected="a path inside the request",
                                  cip_status=GeneralStatus.PATH_SIZE_INVALID)
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
        raise short("reply header", offset, 4, end - offset)
    service, reserved, status, words = data[offset:offset + 4]
    if not service & REPLY:
        raise RemoteProtocolError(f"reply service 0x{service:02X} without the reply bit", offset=offset,
                                  expected="service | 0x80")
    at = offset + 4
    if at + 2 * words > end:
        raise short("extended status", at, 2 * words, end - at)
    extended = struct.unpack_from(f"<{words}H", data, at) if words else ()
    at += 2 * words
    body_data = bytes(data[at:end])
    decoder = _REPLY_DECODERS.get(service & 0x7F)  # the request's code: the REPLY bit cleared
    if request is not None and target_class(request.path) not in _ROUTERS:
        decoder = None  # a service on an object, not a tag: its data is the object's to interpret
    body = decoder(body_data, at, status) if decoder is not None else None
    return Reply(service, status, tuple(extended), b"" if body is not None else body_data, body, reserved)


# --- Multiple Service Packet ------------------------------------------------------------

def _offsets(parts: Sequence[bytes]) -> bytes:
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
        raise short(f"{what} count", base, 2, len(data))
    (count,) = struct.unpack_from("<H", data, 0)
    if 2 + 2 * count > len(data):
        raise short(f"{what} offset table", base + 2, 2 * count, len(data) - 2)
    offsets = struct.unpack_from(f"<{count}H", data, 2)
    bounds = []
    for i, start in enumerate(offsets):
        stop = offsets[i + 1] if i + 1 < count else len(data)
        if not 2 + 2 * count <= start <= stop <= len(data):
            raise RemoteProtocolError(f"{what} offset {i} ({start}) out of order or outside the packet",
                                      offset=base + 2 + 2 * i, expected="increasing offsets inside the packet",
                                      cip_status=GeneralStatus.INVALID_PARAMETER_VALUE)
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


#: A Multiple Service Packet reply carries its replies on success and when some of them failed.
_MSP_WITH_DATA = frozenset(map(int, (GeneralStatus.SUCCESS, GeneralStatus.EMBEDDED_SERVICE_ERROR)))


def _decode_multiple_reply(data: bytes, base: int, status: int) -> MultipleServiceReply | None:
    if status not in _MSP_WITH_DATA or not data:
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
        raise short("attribute count", base, 2, len(data))
    (count,) = struct.unpack_from("<H", data, 0)
    if len(data) != 2 + 2 * count:
        raise RemoteProtocolError(f"{count} attribute ids in {len(data) - 2} bytes", offset=base,
                                  expected=f"{2 * count} bytes of ids",
                                  cip_status=GeneralStatus.NOT_ENOUGH_DATA if len(data) < 2 + 2 * count
                                  else GeneralStatus.TOO_MUCH_DATA)
    return GetAttributeList(struct.unpack_from(f"<{count}H", data, 2))


# --- dispatch ---------------------------------------------------------------------------

# The dispatch works on plain ints read from codes.py once: in Python 3.11 reading an enum member
# costs four times the comparison it is read for, and an int finds an enum key in a dict at half
# speed; this runs for every request (twenty times for a Multiple Service Packet of twenty).
_CONNECTION_MANAGER_CLASS = int(ClassCode.CONNECTION_MANAGER)
_TEMPLATE_CLASS = int(ClassCode.TEMPLATE)
_MULTIPLE_SERVICE_PACKET = int(Service.MULTIPLE_SERVICE_PACKET)
_READ_TEMPLATE = int(Service.READ_TEMPLATE)
_ATTRIBUTE_LISTS = frozenset(map(int, (Service.GET_ATTRIBUTE_LIST, Service.GET_INSTANCE_ATTRIBUTE_LIST)))


def _request_decoder(service: int, path: tuple[Segment, ...]) -> RequestDecoder | None:
    cls = target_class(path)
    if cls == _CONNECTION_MANAGER_CLASS:
        return _CONNECTION_MANAGER.get(service)
    if service == _MULTIPLE_SERVICE_PACKET:
        return _decode_multiple
    if service in _ATTRIBUTE_LISTS:
        return _decode_attribute_list
    if cls == _TEMPLATE_CLASS:
        return tag_services.decode_read_template if service == _READ_TEMPLATE else None
    return tag_services.TAG_REQUESTS.get(service)


#: The Connection Manager's request decoders, by service code.
_CONNECTION_MANAGER: dict[int, RequestDecoder] = {
    int(Service.UNCONNECTED_SEND): partial(decode_unconnected_send, decode_request),
    int(Service.FORWARD_OPEN): decode_forward_open,
    int(Service.LARGE_FORWARD_OPEN): decode_large_forward_open,
    int(Service.FORWARD_CLOSE): decode_forward_close,
}

#: Decoders of the replies whose data describes itself, by request service code.
_REPLY_DECODERS: dict[int, ReplyDecoder] = {
    int(Service.FORWARD_OPEN): decode_forward_open_reply,
    int(Service.LARGE_FORWARD_OPEN): decode_forward_open_reply,
    int(Service.MULTIPLE_SERVICE_PACKET): _decode_multiple_reply,
    int(Service.READ_TAG): tag_services.decode_read_reply,
    int(Service.READ_TAG_FRAGMENTED): tag_services.decode_read_reply,
}

#: Classes whose replies are decoded by service code alone (as a tag's are).
_ROUTERS = frozenset((None, int(ClassCode.CONNECTION_MANAGER), int(ClassCode.MESSAGE_ROUTER)))
