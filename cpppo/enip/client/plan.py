"""Operations to CIP requests, and CIP replies back to operation results.

The client's engine (:mod:`.pipeline`) moves requests and replies; what a
given operation dict *means* on the wire lives here, as plain functions on
the codec's records, so the Deferred API, the blocking connector and the
command line all build the very same requests and read replies the same way:
which service (plain or fragmented), how big the request and its reply will
be (to pack Multiple Service Packets and to decide when to fragment), the
6-tuple's value and status, and the original's one-line summary of a result.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from cpppo.dotdict import dotdict, plain
from cpppo.enip.client.errors import CIPError, FragmentRequired
from cpppo.enip.client.operations import format_path, parse_operation
from cpppo.enip.client.records import Description, Planned
from cpppo.enip.codec import cip, encap, types
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import ClassCode, Service
from cpppo.enip.codec.epath import Logical, Port, from_original, parse_tag, to_original
from cpppo.enip.codec.errors import LocalProtocolError
from cpppo.misc import remember

__all__ = [
    "ROUTE_PATH_DEFAULT", "SEND_PATH_DEFAULT", "FragmentRequired", "route_path", "send_path", "method_of",
    "segments", "read_request", "write_requests", "attribute_request", "estimate", "outcome",
    "describe", "summary", "format_path", "request_view", "prepare", "snapshot", "cip_reply", "ROUTER", "CACHE_SIZE",
    "from_original", "to_original",   # (the codec's path forms, used through this module by the client)
]

#: The original's defaults: Unconnected Send via the Connection Manager (@6/1) to the
#: processor in slot 0 of the backplane (port 1).
ROUTE_PATH_DEFAULT: tuple[Any, ...] = (Port(1, 0),)
SEND_PATH_DEFAULT: tuple[Any, ...] = (Logical("class", ClassCode.CONNECTION_MANAGER), Logical("instance", 1))
#: The Message Router (@2/1): where Multiple Service Packets and Forward Open's connection go.
ROUTER: tuple[Any, ...] = (Logical("class", ClassCode.MESSAGE_ROUTER), Logical("instance", 1))
#: Operations (and encoded requests) a client remembers.
CACHE_SIZE = 1024

READ_TAG, READ_FRAG = Service.READ_TAG, Service.READ_TAG_FRAGMENTED
WRITE_TAG, WRITE_FRAG = Service.WRITE_TAG, Service.WRITE_TAG_FRAGMENTED
GET_ATTRIBUTE_SINGLE, GET_ATTRIBUTES_ALL = Service.GET_ATTRIBUTE_SINGLE, Service.GET_ATTRIBUTES_ALL
SET_ATTRIBUTE_SINGLE, MULTIPLE = Service.SET_ATTRIBUTE_SINGLE, Service.MULTIPLE_SERVICE_PACKET
_REPLY_HEAD = 4          # service, reserved, status, extended size
_VALUES: dict[tuple[int, int | None, bytes], tuple[Any, ...]] = {}   # small reads' values, by their bytes
_METHODS = ("read", "write", "get_attribute_single", "get_attributes_all", "set_attribute_single")


def route_path(value: Any) -> tuple[Any, ...]:
    """A route path from the original's forms: None (the default, port 1 link 0), a false value
    (``0``, ``"false"``, ``[]``, ``""``: no route, so no Unconnected Send), ``"1/0"``, JSON, or
    a list of ``{"port": .., "link": ..}`` dicts."""
    if value is None:
        return ROUTE_PATH_DEFAULT
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", "0", "false", "none", "[]"):
            return ()
        if text[0] in "[{":
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"route path {value!r}: {exc}") from None
            value = value if isinstance(value, list) else [value]
        else:
            port, _, link = text.partition("/")
            try:
                return (Port(int(port, 0), int(link, 0) if link.isdigit() else link),)
            except (ValueError, LocalProtocolError) as exc:
                raise ValueError(f"route path {value!r}: expected <port>/<link>: {exc}") from None
    if not value:
        return ()
    try:
        return from_original(value)
    except (LocalProtocolError, TypeError) as exc:
        raise ValueError(f"route path {value!r}: {exc}") from None


def send_path(value: Any) -> tuple[Any, ...]:
    """A send path: None (``@6/1``), ``""`` (none: plain requests), ``"@6/1"`` or a list of dicts."""
    if value is None:
        return SEND_PATH_DEFAULT
    if not value:
        return ()
    try:
        return parse_tag(value) if isinstance(value, str) else from_original(value)
    except LocalProtocolError as exc:
        raise ValueError(f"send path {value!r}: {exc}") from None


def method_of(op: dict[str, Any]) -> str:
    method = op.get("method") or ("write" if "data" in op else "read")
    if method not in _METHODS:
        raise ValueError(f"operation {op!r}: unknown method {method!r}")
    return method


def prepare(op: str | dict[str, Any], fragment: bool, no_fragment: bool, budget: int, default_route: tuple[Any, ...],
            default_send: tuple[Any, ...]) -> Planned:
    """What one operation (a tag string or the original's dict) means on the wire.

    A string is parsed straight to its path segments (no round trip through the dict's form).

    Raises:
        ValueError: an operation that cannot be planned (no path, a bad type, bad data).
        FragmentRequired: a write too large for one request, with fragmenting forbidden.
    """
    if isinstance(op, str):
        op, path = parse_operation(op)
    else:
        op = dict(op)   # kept: the caller's dict may change later
        path = segments(op)
    method = method_of(op)
    route = route_path(op["route_path"]) if op.get("route_path") is not None else default_route
    send = send_path(op["send_path"]) if op.get("send_path") is not None else default_send
    requests: tuple[cip.Request, ...]
    if method == "read":
        offset = op.get("offset")
        if offset is None and fragment:
            offset = 0
        requests = (read_request(path, op.get("elements") or 1, offset),)
    elif method == "write":
        requests = tuple(write_requests(op, path, fragment, no_fragment, budget))
    else:
        requests = (attribute_request(op, method, path),)
    request = requests[0]
    alone, packed = (Description(describe(method, request, op, multiple)) for multiple in (False, True))
    alone.op = packed.op = op
    encoded = request.encode()
    return Planned(op, method, request, requests, route, send, alone, packed, encoded,
                   estimate(op, method, request, len(encoded)))


def snapshot(op: dict[str, Any]) -> dict[str, Any]:
    """A copy of an operation dict to tell later whether it changed in place (its lists too)."""
    return copy.deepcopy(op)


def cip_reply(frame: encap.Frame) -> cip.Reply:
    """The CIP reply a SendRRData / SendUnitData frame carries.

    Raises:
        RemoteProtocolError: the message in it did not decode.
        CIPError: there is no CIP reply in it.
    """
    items: tuple[Any, ...] = getattr(frame.body, "items", ())
    if len(items) == 2 and type(message := getattr(items[1], "message", None)) is cip.Reply:
        return message   # (the usual frame: an address item, then the data item)
    for item in items:
        message = getattr(item, "message", None)
        if isinstance(message, cip.Reply):
            return message
        if message is not None and hasattr(message, "error"):
            raise message.error
    raise CIPError(f"no CIP reply in the frame to command 0x{frame.command:04X}")


def segments(op: dict[str, Any]) -> tuple[Any, ...]:
    try:
        return from_original(op["path"])
    except KeyError:
        raise ValueError(f"operation {op!r} has no path") from None
    except LocalProtocolError as exc:
        raise ValueError(f"operation {op!r}: {exc}") from None


def _type(op: dict[str, Any], default: types.CIPType) -> types.CIPType:
    code = op.get("tag_type")
    if not code:
        return default
    try:
        return types.type_of(code)
    except LocalProtocolError as exc:
        raise ValueError(f"operation {op!r}: {exc}") from None


def read_request(path: tuple[Any, ...], elements: int, offset: int | None) -> cip.Request:
    """Read Tag, or Read Tag Fragmented when there is a byte offset (0 forces it)."""
    if offset is None:
        return cip.Request(READ_TAG, path, body=logix.ReadTag(elements))
    return cip.Request(READ_FRAG, path, body=logix.ReadTagFragmented(elements, offset))


def write_requests(op: dict[str, Any], path: tuple[Any, ...], fragment: bool, no_fragment: bool,
                   budget: int) -> list[cip.Request]:
    """The request(s) of a write: one plain Write Tag when it fits *budget* bytes (and no offset
    or *fragment* forces Write Tag Fragmented), else as many fragments as the data needs.

    Raises:
        FragmentRequired: the data does not fit one plain request and *no_fragment* is set.
        ValueError: values the type cannot encode.
    """
    kind = _type(op, types.INT)
    try:
        data = padded_strings(op["data"]) if kind is types.STRING else kind.encode(op["data"])
    except LocalProtocolError as exc:
        raise ValueError(f"operation {format_path(op['path'])}: {exc}") from None
    elements = op.get("elements") or len(op["data"])
    offset = op.get("offset")
    head = 2 + len(cip.Request(WRITE_FRAG, path).encode()) + 8
    if offset is None and not fragment and head - 4 + len(data) <= budget:
        return [cip.Request(WRITE_TAG, path, body=logix.WriteTag(kind.code, elements, data))]
    if no_fragment:
        raise FragmentRequired(f"{format_path(op['path'])}: {len(data)} bytes of data do not fit one "
                               f"{budget}-byte request, and fragmenting is off")
    size = kind.size or 1
    room = max(size, (budget - head) // size * size)
    start = offset or 0
    return [cip.Request(WRITE_FRAG, path,
                        body=logix.WriteTagFragmented(kind.code, elements, start + at, data[at:at + room]))
            for at in range(0, max(len(data), 1), room)]


def attribute_request(op: dict[str, Any], method: str, path: tuple[Any, ...]) -> cip.Request:
    if method == "get_attribute_single":
        return cip.Request(GET_ATTRIBUTE_SINGLE, path)
    if method == "get_attributes_all":
        return cip.Request(GET_ATTRIBUTES_ALL, path)
    kind = _type(op, types.USINT)
    try:
        return cip.Request(SET_ATTRIBUTE_SINGLE, path, data=kind.encode(op.get("data", [])))
    except LocalProtocolError as exc:
        raise ValueError(f"operation {format_path(op['path'])}: {exc}") from None


def estimate(op: dict[str, Any], method: str, request: cip.Request, encoded: int | None = None) -> tuple[int, int]:
    """(request bytes, reply bytes) of one operation inside a Multiple Service Packet.

    A read's reply is estimated from its ``tag_type`` (4-byte elements if none, as the
    original does); an attribute read of unknown size is counted as unbounded, so it travels
    alone.  *encoded*: the request's encoded size, if known.
    """
    size = (len(request.encode()) if encoded is None else encoded) + 2
    if method == "read":
        kind = _type(op, types.DINT)
        return size, _REPLY_HEAD + 2 + 2 + (kind.size or 88) * (op.get("elements") or 1)
    if method in ("write", "set_attribute_single"):
        return size, _REPLY_HEAD + 2
    if op.get("data_size"):
        return size, _REPLY_HEAD + 2 + op["data_size"]
    return size, 1 << 30


def outcome(method: str, reply: cip.Reply) -> tuple[Any, Any]:
    """(status, value) of a reply: the value a list for reads (None on failure), True for writes;
    the status an int, or (status, [extended...]) for a failure with extended status."""
    status = reply.status
    if status in (0x00, 0x06) and method == "read":
        body = reply.body
        if isinstance(body, logix.ReadTagReply):
            # (a poller's value that did not change comes in the same bytes: decoded once, a new
            # list each time, since the caller owns it)
            key = (body.type, body.handle, body.data)
            known = _VALUES.get(key)
            if known is None:
                try:
                    known = tuple(body.values())
                except LocalProtocolError:
                    known = tuple(body.data)  # a structure: its raw bytes
                if len(body.data) <= 64:
                    remember(_VALUES, key, known, CACHE_SIZE)
            return status, list(known)
        return status, None
    if status in (0x00, 0x06) and method in ("get_attribute_single", "get_attributes_all"):
        return status, list(reply.data)
    if status == 0x00:
        return status, True
    if reply.extended:
        return (status, list(reply.extended)), None
    return status, None


def describe(method: str, request: cip.Request, op: dict[str, Any], multiple: bool) -> str:
    """The original's description of a request, e.g. ``Single Read  Tag  SCADA[1-1]``."""
    kind = {"read": "Read  ", "write": "Write ", "get_attribute_single": "G_A_S ",
            "get_attributes_all": "G_A_A ", "set_attribute_single": "S_A_S "}[method]
    form = ("Frag" if request.service in (READ_FRAG, WRITE_FRAG) else "Tag ") if method in ("read", "write") else "    "
    return f"{'Multi. ' if multiple else 'Single '}{kind}{form} {format_path(op['path'], op.get('elements'))}"


def summary(op: dict[str, Any], request: cip.Request, reply: cip.Reply | None, value: Any) -> tuple[str, Any]:
    """The original's one-line summary of a result (``SCADA[1][  1-1  ]+  0 == [0]: 'OK'``), and the
    value it shows (for writes, the data written)."""
    path = op["path"]
    body = request.body
    act, off, cnt = "??", 0, 0
    if isinstance(body, logix.ReadTagFragmented):
        act, off = "==", body.offset
        cnt = len(value) if reply is not None and reply.status in (0, 6) and value else body.elements
    elif isinstance(body, logix.ReadTag):
        act, cnt = "==", op.get("elements") or body.elements
    elif isinstance(body, (logix.WriteTag, logix.WriteTagFragmented)):
        act, value = "<=", op.get("data")
        off = getattr(body, "offset", 0) if isinstance(body, logix.WriteTagFragmented) else 0
        cnt = body.elements - off if off else body.elements
    elif isinstance(body, logix.ReadModifyWrite):   # a bit (of an integer, or of a BOOL[])
        act, value, cnt = "<=", op.get("data"), 1
    if reply is None or not reply.status:   # (no reply at all: shown as OK, as before)
        result = "OK"
    else:
        status = reply.status
        result = f"Status {status} {list(reply.extended)!r}" if reply.extended else f"Status {status} "
    tag = format_path(path)
    last = path[-1] if path else {}
    if "element" in last:
        elm = last["element"]
        return f"{tag:>20}[{elm:3d}-{elm + cnt - 1:<3d}]+{off:3d} {act} {value!r}: {result!r}", value
    return f"{tag:>20}              {act} {value!r}: {result!r}", value


def request_view(request: cip.Request) -> dotdict:
    """A request as the original's dotdict (``service``, ``path.segment``, ``read_frag.offset``...),
    for scripts that inspect what the low-level blocking calls issued."""
    view = plain(path=plain(segment=[plain(**seg) for seg in to_original(request.path)]))
    body = request.body
    if isinstance(body, logix.ReadTag):
        view["read_tag"] = plain(elements=body.elements)
    elif isinstance(body, logix.ReadTagFragmented):
        view["read_frag"] = plain(elements=body.elements, offset=body.offset)
    elif isinstance(body, logix.WriteTag):
        view["write_tag"] = plain(elements=body.elements, data=_written(body), type=body.type)
    elif isinstance(body, logix.WriteTagFragmented):
        view["write_frag"] = plain(elements=body.elements, offset=body.offset, data=_written(body), type=body.type)
    elif isinstance(body, logix.ReadModifyWrite):
        view["read_modify_write"] = plain(or_mask=list(body.or_mask), and_mask=list(body.and_mask))
    elif request.service == GET_ATTRIBUTE_SINGLE:
        view["get_attribute_single"] = True
    elif request.service == GET_ATTRIBUTES_ALL:
        view["get_attributes_all"] = True
    elif request.service == SET_ATTRIBUTE_SINGLE:
        view["set_attribute_single"] = plain(data=list(request.data))
    view["service"] = int(request.service)   # (after the body, a plain int and the bytes: as the original shows it)
    view["input"] = bytearray(request.encode())
    return view


def padded_strings(texts: list[Any]) -> bytes:
    """CIP STRINGs as the original cpppo writes them: each of odd length followed by a pad byte (its
    simulator refuses them otherwise; a Logix controller and ours take either)."""
    parts = [types.encode_string(str(text), types.STRING) for text in texts]
    return b"".join(part + b"\0" if len(part) % 2 else part for part in parts)


def _written(body: logix.WriteTag | logix.WriteTagFragmented) -> list[Any]:
    """The values a write carries: Logix STRINGs as text, another structure as its bytes."""
    if body.type == types.STRUCTURE:
        if body.handle == types.LOGIX_STRING_HANDLE and not len(body.data) % 88:
            return types.LOGIX_STRING.decode(body.data)
        return list(body.data)
    return body.values()
