"""CIP EPATH segments: request paths, route paths and Logix tag names, both directions.

Why: every CIP request names its target with an EPATH (``20 02 24 01`` is class 2 instance 1,
``91 05 'SCADA' 00 28 01`` is the tag ``SCADA[1]``), Unconnected Send and Forward Open carry route
and connection paths of port segments, and clients write tags as text (``Line[3].Motor.Speed``).
This module turns all three into one small set of frozen segment values and back.

Segments: :class:`Logical` (class, instance, element/member, connection point, attribute),
:class:`Symbolic` (ANSI extended symbol), :class:`Port`, :class:`Data` (simple data),
:class:`Key` (electronic key) and the pseudo-segment :class:`Bit` (a ``Tag.5`` bit access, never
encoded).  Segments validate themselves when built, raising :class:`LocalProtocolError`; the
decoder builds them without re-validating (it has already checked the bytes) and raises only
:class:`RemoteProtocolError`, with CIP status 0x04 (path segment error) and the offset.

Strategy: :func:`decode_path` is one loop dispatching on the segment byte, with no per-segment
function calls beyond building the result; a Read Tag path decodes in about a microsecond.  A
decoded :class:`Logical` remembers the width the peer used (``size``, not part of equality), so
that decoding then encoding gives the same bytes.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "Logical", "Symbolic", "Port", "Data", "Key", "Bit", "Segment", "LOGICAL_KINDS",
    "encode_path", "decode_path", "encode_route", "decode_route", "parse_tag", "format_path",
    "to_original", "from_original",
]

#: Logical segment kinds, indexed by the logical type in bits 2-4 of the segment byte
#: ("element" is the Member ID type, as Logix uses it for array indices).
LOGICAL_KINDS = ("class", "instance", "element", "connection", "attribute")
_TYPE_OF_KIND = {"class": 0, "instance": 1, "element": 2, "member": 2, "connection": 3,
                 "attribute": 4}
#: Widths (bits) each kind may use; 32-bit only for instance, member and connection point.
_WIDTHS = {"class": (8, 16), "instance": (8, 16, 32), "element": (8, 16, 32),
           "connection": (8, 16, 32), "attribute": (8, 16)}
_FORMAT_OF_WIDTH = {8: 0, 16: 1, 32: 2}
_MAX_OF_WIDTH = {8: 0xFF, 16: 0xFFFF, 32: 0xFFFFFFFF}

_PATH_SEGMENT_ERROR = 0x04
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_KEY = struct.Struct("<BBHHHBB")
_new = object.__new__
_set = object.__setattr__


def _smallest(value: int) -> int:
    return 8 if value <= 0xFF else 16 if value <= 0xFFFF else 32


def _latin1(text: Any, what: str, limit: int = 0xFF) -> bytes:
    try:
        raw = text.encode("latin-1")
    except (AttributeError, UnicodeEncodeError):
        raise LocalProtocolError(f"{what} must be ISO-8859-1 text, not {text!r}") from None
    if not 1 <= len(raw) <= limit:
        raise LocalProtocolError(f"{what} {text!r}: 1 to {limit} characters")
    return raw


def _uint(value: Any, what: str, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise LocalProtocolError(f"{what} must be an integer 0..{limit}, not {value!r}")


@dataclass(frozen=True, slots=True)
class Logical:
    """A logical segment: ``kind`` in :data:`LOGICAL_KINDS` (``"member"`` is accepted as
    ``"element"``), its ``value``, and ``size`` the width in bits (8/16/32) the peer used or the
    caller wants; None builds the smallest form.  ``size`` does not take part in equality."""

    kind: str
    value: int
    size: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        kind = self.kind
        if kind == "member":
            _set(self, "kind", kind := "element")
        widths = _WIDTHS.get(kind)
        if widths is None:
            raise LocalProtocolError(f"unknown logical segment kind {kind!r}")
        _uint(self.value, f"{kind} id", _MAX_OF_WIDTH[widths[-1]])
        if self.size is not None:
            if self.size not in widths:
                raise LocalProtocolError(f"{kind} segment cannot be {self.size}-bit")
            if self.value > _MAX_OF_WIDTH[self.size]:
                raise LocalProtocolError(f"{kind} {self.value} does not fit in {self.size} bits")

    def encode(self, pad: bool = True) -> bytes:
        """The segment's bytes (padded EPATH form unless ``pad`` is False)."""
        value = self.value
        width = self.size or _smallest(value)
        code = 0x20 | _TYPE_OF_KIND[self.kind] << 2 | _FORMAT_OF_WIDTH[width]
        if width == 8:
            return bytes((code, value))
        head = bytes((code, 0)) if pad else bytes((code,))
        return head + (_U16.pack(value) if width == 16 else _U32.pack(value))


@dataclass(frozen=True, slots=True)
class Symbolic:
    """An ANSI extended symbolic segment (0x91): a tag or member name, 1 to 255 characters."""

    name: str

    def __post_init__(self) -> None:
        _latin1(self.name, "symbolic name")

    def encode(self, pad: bool = True) -> bytes:
        """The segment's bytes: 0x91, length, name, a pad byte if the length is odd."""
        raw = self.name.encode("latin-1")
        return bytes((0x91, len(raw))) + raw + (b"\x00" if len(raw) & 1 else b"")


@dataclass(frozen=True, slots=True)
class Port:
    """A port segment: ``port`` 1..65535 (15 and above use the extended port form) and ``link``,
    an int 0..255 (one link byte) or text such as an IP address (the extended link form).

    Decoding keeps the link form byte-exact (text for an extended link, even a one-byte one);
    the one form not kept is a port below 15 sent in the extended port form, which re-encodes
    in the short form."""

    port: int
    link: Union[int, str]

    def __post_init__(self) -> None:
        _uint(self.port, "port", 0xFFFF)
        if self.port == 0:
            raise LocalProtocolError("port 0 is reserved")
        if isinstance(self.link, str):
            _latin1(self.link, "link address")
        else:
            _uint(self.link, "link", 0xFF)

    def encode(self, pad: bool = True) -> bytes:
        """The segment's bytes (port segments always pad to an even length)."""
        port = self.port
        ext = _U16.pack(port) if port >= 0x0F else b""
        ident = 0x0F if ext else port
        if isinstance(self.link, int):
            return bytes((ident,)) + ext + bytes((self.link,))
        raw = self.link.encode("latin-1")
        return bytes((ident | 0x10, len(raw))) + ext + raw + (b"\x00" if len(raw) & 1 else b"")


@dataclass(frozen=True, slots=True)
class Data:
    """A simple data segment (0x80): an even number of bytes, at most 510."""

    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or len(self.data) & 1 or len(self.data) > 510:
            raise LocalProtocolError(f"simple data must be an even number of bytes, at most 510: {self.data!r}")

    def encode(self, pad: bool = True) -> bytes:
        """The segment's bytes: 0x80, size in words, data."""
        return bytes((0x80, len(self.data) // 2)) + self.data


@dataclass(frozen=True, slots=True)
class Key:
    """An electronic key segment (0x34, key format 4), as found in Forward Open connection paths."""

    vendor: int
    device_type: int
    product_code: int
    major: int
    minor: int
    compatibility: bool = False

    def __post_init__(self) -> None:
        for name in ("vendor", "device_type", "product_code"):
            _uint(getattr(self, name), name, 0xFFFF)
        _uint(self.major, "major revision", 0x7F)
        _uint(self.minor, "minor revision", 0xFF)

    def encode(self, pad: bool = True) -> bytes:
        """The segment's 10 bytes."""
        return _KEY.pack(0x34, 0x04, self.vendor, self.device_type, self.product_code,
                         self.major | (0x80 if self.compatibility else 0), self.minor)


@dataclass(frozen=True, slots=True)
class Bit:
    """Not a wire segment: the bit number of a ``Tag.5`` access, left for the caller to apply to
    the value read.  :func:`encode_path` skips it."""

    bit: int

    def __post_init__(self) -> None:
        _uint(self.bit, "bit number", 63)

    def encode(self, pad: bool = True) -> bytes:
        """Nothing: a bit access is not encoded."""
        return b""


Segment = Union[Logical, Symbolic, Port, Data, Key, Bit]
_SEGMENT_TYPES = (Logical, Symbolic, Port, Data, Key, Bit)


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
        bad = [seg for seg in segments if not isinstance(seg, _SEGMENT_TYPES)]
        if not bad:
            raise
        raise LocalProtocolError(f"not EPATH segments: {bad!r}") from None


def _error(message: str, offset: int, expected: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, offset=offset, expected=expected,
                               cip_status=_PATH_SEGMENT_ERROR)


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
    segs: list = []
    append = segs.append
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
            _, _, vendor, device_type, product, major, minor = _KEY.unpack_from(data, o)
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


# ---------------------------------------------------------------------------------------------
# Text: Logix tag names and the original cpppo's list-of-dicts paths

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_FIRST = re.compile(rf"({_NAME}(?::[A-Za-z0-9_]+)*)(?:\[([0-9 ,]+)\])?$")
_MEMBER = re.compile(rf"({_NAME})(?:\[([0-9 ,]+)\])?$")
_NUMERIC = ("class", "instance", "attribute", "element")


def _indices(text: str | None, where: str) -> list[Logical]:
    if text is None:
        return []
    try:
        return [Logical("element", int(part)) for part in text.split(",")]
    except ValueError:
        raise LocalProtocolError(f"bad array index in {where!r}") from None


def _parse_int(text: str) -> int:
    return int(text, 0) if text[:2].lower() in ("0x", "0o", "0b") else int(text, 10)


def parse_tag(text: str) -> tuple[Segment, ...]:
    """Turn a Logix tag name (or the original's ``@class/instance/attribute[/element]``) into
    segments.

    ``Tag[1,2]`` gives one element segment per index, ``Program:Main.Tag`` keeps
    ``Program:Main`` as one symbolic segment, and a trailing all-digit member (``Flags.5``) gives
    a :class:`Bit`.  In the ``@`` form terms may be hex (``0x6B``) or JSON segments
    (``{"connection":100}``), and an element may follow in brackets (``@1/1/7[2]``).

    Raises:
        LocalProtocolError: text that is not a tag name.
    """
    if not isinstance(text, str) or not text.strip():
        raise LocalProtocolError(f"not a tag name: {text!r}")
    text = text.strip()
    if text.startswith("@"):
        return _parse_numeric(text)
    parts = text.split(".")
    segments: list[Segment] = []
    for index, part in enumerate(parts):
        if index and part.isdigit():
            if index != len(parts) - 1:
                raise LocalProtocolError(f"a bit number must come last in {text!r}")
            segments.append(Bit(int(part)))
            continue
        match = (_MEMBER if index else _FIRST).match(part)
        if match is None:
            raise LocalProtocolError(f"bad tag name component {part!r} in {text!r}")
        segments.append(Symbolic(match.group(1)))
        segments.extend(_indices(match.group(2), text))
    return tuple(segments)


def _parse_numeric(text: str) -> tuple[Segment, ...]:
    body, element = text[1:], None
    if body.endswith("]") and "[" in body:
        body, _, element = body[:-1].rpartition("[")
    segments: list[Segment] = []
    try:
        for index, term in enumerate(body.split("/")):
            if term.startswith("{"):
                segments.extend(from_original([json.loads(term)]))
            elif index < len(_NUMERIC):
                segments.append(Logical(_NUMERIC[index], _parse_int(term)))
            else:
                raise LocalProtocolError(f"no default segment kind beyond {_NUMERIC}")
    except (ValueError, TypeError) as exc:
        raise LocalProtocolError(f"bad numeric path {text!r}: {exc}") from None
    segments.extend(_indices(element, text))
    return tuple(segments)


def format_path(segments: Iterable[Segment]) -> str:
    """Text for a path, for logs: the inverse of :func:`parse_tag` for tag names and ``@`` paths
    (``SCADA[1]``, ``Program:Main.Motor.Speed``, ``@1/1/7``), with port segments first as
    ``port/link`` (``1/0/@2/1``); other segments appear as JSON terms."""
    groups: list[str] = []
    current = ""      # the group being built
    mode = ""         # "tag", "num" or "" (nothing open)
    for seg in segments:
        if isinstance(seg, Symbolic):
            if mode == "tag":
                current += "." + seg.name
            else:
                if current:
                    groups.append(current)
                current, mode = seg.name, "tag"
        elif isinstance(seg, Logical) and seg.kind == "element" and mode in ("tag", "num"):
            if current.endswith("]"):
                current = current[:-1] + f",{seg.value}]"
            else:
                current += f"[{seg.value}]"
        elif isinstance(seg, Bit) and mode == "tag":
            current += f".{seg.bit}"
        elif isinstance(seg, Logical) and mode == "num" and not current.endswith("]"):
            count = current.count("/")
            term = (str(seg.value) if count + 1 < len(_NUMERIC) and _NUMERIC[count + 1] == seg.kind
                    else json.dumps({seg.kind: seg.value}, separators=(",", ":")))
            current += "/" + term
        elif isinstance(seg, Logical) and seg.kind == "class":
            if current:
                groups.append(current)
            current, mode = f"@{seg.value}", "num"
        else:
            if current:
                groups.append(current)
            current, mode = "", ""
            if isinstance(seg, Port):
                groups.append(f"{seg.port}/{seg.link}")
            else:
                groups.append(json.dumps(_original(seg), separators=(",", ":"), default=bytes.hex))
    if current:
        groups.append(current)
    return "/".join(groups)


def _original(seg: Segment) -> dict:
    if isinstance(seg, Logical):
        return {seg.kind: seg.value}
    if isinstance(seg, Symbolic):
        return {"symbolic": seg.name}
    if isinstance(seg, Port):
        return {"port": seg.port, "link": seg.link}
    if isinstance(seg, Data):
        return {"data": seg.data}
    if isinstance(seg, Key):
        return {"key": {"vendor": seg.vendor, "device_type": seg.device_type,
                        "product_code": seg.product_code, "major": seg.major, "minor": seg.minor,
                        "compatibility": seg.compatibility}}
    if isinstance(seg, Bit):
        return {"bit": seg.bit}
    raise LocalProtocolError(f"not an EPATH segment: {seg!r}")


def to_original(segments: Iterable[Segment]) -> list[dict]:
    """The original cpppo's list-of-dicts form: ``[{'symbolic': 'SCADA'}, {'element': 1}]``,
    ``{'port': 1, 'link': 0}``; extensions the original lacks: ``data``, ``key``, ``bit``."""
    return [_original(seg) for seg in segments]


def from_original(path: Sequence[Mapping[str, Any]]) -> tuple[Segment, ...]:
    """Segments from the original cpppo's list-of-dicts path (see :func:`to_original`).

    Raises:
        LocalProtocolError: a dict without exactly one known segment (``port`` with ``link``).
    """
    segments: list[Segment] = []
    for item in path:
        if not isinstance(item, Mapping):
            raise LocalProtocolError(f"path segment must be a dict, not {item!r}")
        keys = set(item)
        if keys == {"port", "link"}:
            segments.append(Port(item["port"], item["link"]))
        elif len(keys) != 1:
            raise LocalProtocolError(f"path segment must have one key: {dict(item)!r}")
        else:
            (key, value), = item.items()
            if key in _TYPE_OF_KIND:
                segments.append(Logical(key, value))
            elif key == "symbolic":
                segments.append(Symbolic(value))
            elif key == "data":
                segments.append(Data(bytes.fromhex(value) if isinstance(value, str) else value))
            elif key == "key" and isinstance(value, Mapping):
                try:
                    segments.append(Key(**value))
                except TypeError as exc:
                    raise LocalProtocolError(f"bad key segment {dict(value)!r}: {exc}") from None
            elif key == "bit":
                segments.append(Bit(value))
            else:
                raise LocalProtocolError(f"unknown path segment {dict(item)!r}")
    return tuple(segments)
