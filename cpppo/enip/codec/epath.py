"""CIP EPATHs on the wire: segments to bytes and back, for request paths and route paths.

Why: every CIP request names its target with an EPATH (``20 02 24 01`` is class 2 instance 1,
``91 05 'SCADA' 00 28 01`` is the tag ``SCADA[1]``), and Unconnected Send and Forward Open carry
route and connection paths, port segments first.  :func:`encode_path` / :func:`decode_path` turn
a tuple of :mod:`~cpppo.enip.codec.segments` values into bytes and back;
:func:`encode_route` / :func:`decode_route` add the route's ordering rule.  The decoder raises
only :class:`RemoteProtocolError`, with CIP status 0x04 (path segment error) and the offset.

Strategy: :func:`decode_path` is one loop dispatching on the segment byte, with no per-segment
function calls beyond building the result (it sets the frozen fields directly, having checked the
bytes itself); a Read Tag path decodes in about a microsecond.

This is also where the path API has always been imported from: the segments
(:mod:`~cpppo.enip.codec.segments`) and the text forms (:mod:`~cpppo.enip.codec.tag_names`:
``parse_tag``, ``format_path``, ``to_original``, ``from_original``) are importable from here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from cpppo.enip.codec.codes import GeneralStatus
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.enip.codec.segments import (
    KEY_LAYOUT,
    LOGICAL_KINDS,
    SEGMENT_TYPES,
    Bit,
    Data,
    Key,
    Logical,
    Port,
    Segment,
    Symbolic,
)
from cpppo.enip.codec.tag_names import format_path, from_original, parse_tag, to_original

__all__ = [
    "Logical", "Symbolic", "Port", "Data", "Key", "Bit", "Segment", "LOGICAL_KINDS",
    "encode_path", "decode_path", "encode_route", "decode_route", "parse_tag", "format_path",
    "to_original", "from_original",
]

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_new = object.__new__
_set = object.__setattr__


def encode_path(segments: Iterable[Segment], pad: bool = True) -> bytes:
    """Encode segments as an EPATH (padded, as in Message Router requests, unless ``pad`` is
    False), without the size byte; :class:`Bit` pseudo-segments are skipped.

    Raises:
        LocalProtocolError: something that is not a segment.
    """
    if not isinstance(segments, (tuple, list)):
        segments = tuple(segments)
    try:
        return b"".join([seg.encode(pad) for seg in segments])
    except (AttributeError, TypeError):
        bad = [seg for seg in segments if not isinstance(seg, SEGMENT_TYPES)]
        if not bad:
            raise
        raise LocalProtocolError(f"not EPATH segments: {bad!r}") from None


def _error(message: str, offset: int, expected: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, offset=offset, expected=expected,
                               cip_status=GeneralStatus.PATH_SEGMENT_ERROR)


def decode_path(data: bytes | bytearray | memoryview, offset: int = 0, words: int | None = None,
                pad: bool = True) -> tuple[Segment, ...]:
    """Decode the EPATH at ``offset``: ``words`` 16-bit words of it, or all the rest if None.

    ``pad`` False reads a packed EPATH (no pad byte before 16/32-bit logical values).

    Raises:
        RemoteProtocolError: (CIP status 0x04, with the offset of the bad segment) an unknown or
            reserved segment type, a segment running past the path's end, or a path size beyond
            the data.
    """
    end = len(data)
    if offset > end:
        raise _error(f"path offset {offset} beyond the {end} bytes of data", offset, "a path")
    if words is not None:
        if offset + 2 * words > end:
            raise _error(f"path of {words} words overruns the {end - offset} bytes left", offset,
                         f"{2 * words} bytes of path")
        end = offset + 2 * words
    segs: list[Segment] = []
    append = segs.append
    seg: Segment
    o = offset
    while o < end:
        t = data[o]
        if t == 0x91:
            if o + 2 > end:
                raise _error("truncated symbolic segment", o, "symbol length")
            n = data[o + 1]
            stop = o + 2 + n
            if not n or stop + (n & 1) > end:
                raise _error(f"symbolic segment of length {n} does not fit", o,
                             "1 to 255 characters within the path")
            seg = _new(Symbolic)
            _set(seg, "name", str(data[o + 2:stop], "latin-1"))
            o = stop + (n & 1)
        elif 0x20 <= t < 0x34:
            fmt = t & 3
            kind = LOGICAL_KINDS[(t >> 2) & 7]
            if fmt == 0:
                if o + 2 > end:
                    raise _error("truncated logical segment", o, f"8-bit {kind}")
                value = data[o + 1]
                size = 8
                o += 2
            elif fmt == 1:
                at = o + 2 if pad else o + 1
                if at + 2 > end:
                    raise _error("truncated logical segment", o, f"16-bit {kind}")
                value = _U16.unpack_from(data, at)[0]
                size = 16
                o = at + 2
            elif fmt == 2 and kind in ("instance", "element", "connection"):
                at = o + 2 if pad else o + 1
                if at + 4 > end:
                    raise _error("truncated logical segment", o, f"32-bit {kind}")
                value = _U32.unpack_from(data, at)[0]
                size = 32
                o = at + 4
            else:
                raise _error(f"reserved logical format in segment 0x{t:02X}", o,
                             "an 8/16-bit logical segment (32-bit for instance, member, connection)")
            seg = _new(Logical)
            _set(seg, "kind", kind)
            _set(seg, "value", value)
            _set(seg, "size", size)
        elif t < 0x20:
            ident = t & 0x0F
            if not ident:
                raise _error("reserved port 0", o, "port 1..65535")
            at = o + 1
            if t & 0x10:
                if at >= end:
                    raise _error("truncated port segment", o, "link address size")
                n = data[at]
                at += 1
            else:
                n = 0
            if ident == 0x0F:
                if at + 2 > end:
                    raise _error("truncated port segment", o, "extended port number")
                ident = _U16.unpack_from(data, at)[0]
                if not ident:
                    raise _error("reserved port 0", o, "port 1..65535")
                at += 2
            if t & 0x10:
                if not n or at + n + (n & 1) > end:
                    raise _error(f"port segment link address of {n} bytes does not fit", o,
                                 "1 to 255 link address bytes within the path")
                link: int | str = str(data[at:at + n], "latin-1")
                at += n + (n & 1)
            else:
                if at >= end:
                    raise _error("truncated port segment", o, "link address")
                link = data[at]
                at += 1
            seg = _new(Port)
            _set(seg, "port", ident)
            _set(seg, "link", link)
            o = at
        elif t == 0x34:
            if o + 10 > end or data[o + 1] != 0x04:
                raise _error("bad electronic key segment", o, "key format 4 and 8 bytes of key")
            _, _, vendor, device_type, product, major, minor = KEY_LAYOUT.unpack_from(data, o)
            seg = _new(Key)
            for name, value in (("vendor", vendor), ("device_type", device_type),
                                ("product_code", product), ("major", major & 0x7F),
                                ("minor", minor), ("compatibility", bool(major & 0x80))):
                _set(seg, name, value)
            o += 10
        elif t == 0x80:
            if o + 2 > end or o + 2 + 2 * data[o + 1] > end:
                raise _error("truncated simple data segment", o, "data words within the path")
            stop = o + 2 + 2 * data[o + 1]
            seg = _new(Data)
            _set(seg, "data", bytes(data[o + 2:stop]))
            o = stop
        else:
            raise _error(f"unsupported segment type 0x{t:02X}", o,
                         "a port, logical, symbolic or data segment")
        append(seg)
    return tuple(segs)


def _route_order(segments: Sequence[Segment]) -> int | None:
    """Index of the first segment out of route order (a port after a non-port, or a Bit)."""
    seen_other = False
    for index, seg in enumerate(segments):
        if isinstance(seg, Port):
            if seen_other:
                return index
        elif isinstance(seg, Bit):
            return index
        else:
            seen_other = True
    return None


def encode_route(segments: Iterable[Segment]) -> bytes:
    """Encode an Unconnected Send route path or a Forward Open connection path (padded, without
    its size byte): port segments first, then optionally a key and an application path
    (``(Port(1, 0), Logical("class", 2), Logical("instance", 1))`` is ``01 00 20 02 24 01``).

    Raises:
        LocalProtocolError: a port segment after a non-port one, a :class:`Bit`, more than 255
            words, or something that is not a segment.
    """
    segments = tuple(segments)
    bad = _route_order(segments)
    if bad is not None:
        raise LocalProtocolError(f"route path segment {segments[bad]!r} out of place: ports come first")
    path = encode_path(segments)
    if len(path) > 510:
        raise LocalProtocolError(f"route path of {len(path)} bytes: at most 510")
    return path


def decode_route(data: bytes | bytearray | memoryview, offset: int = 0,
                 words: int | None = None) -> tuple[Segment, ...]:
    """Decode a route or connection path (``words`` words at ``offset``, or the rest of the data),
    as :func:`decode_path`, and check that port segments come first.

    Raises:
        RemoteProtocolError: (CIP status 0x04) as :func:`decode_path`, or a port segment after a
            non-port one.
    """
    segments = decode_path(data, offset, words)
    bad = _route_order(segments)
    if bad is not None:
        where = offset + len(encode_path(segments[:bad]))
        raise _error(f"route path segment {segments[bad]!r} after the application path", where,
                     "port segments first")
    return segments
