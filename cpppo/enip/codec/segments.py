"""CIP EPATH segments as values: what a path is made of, each checked when built.

Why apart from the encoding: the simulator, the client and the tag-name parser all build and
compare paths as tuples of these frozen values, and most of them never touch the bytes.

Segments: :class:`Logical` (class, instance, element/member, connection point, attribute),
:class:`Symbolic` (ANSI extended symbol), :class:`Port`, :class:`Data` (simple data),
:class:`Key` (electronic key) and the pseudo-segment :class:`Bit` (a ``Tag.5`` bit access, never
encoded).  A segment validates itself when built, raising
:class:`~cpppo.enip.codec.errors.LocalProtocolError`, and knows its own bytes (``encode``);
:mod:`~cpppo.enip.codec.epath` decodes bytes back into segments without re-validating (it has
already checked the bytes).  A decoded :class:`Logical` remembers the width the peer used
(``size``, not part of equality), so that decoding then encoding gives the same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from cpppo.enip.codec.errors import LocalProtocolError

__all__ = [
    "Logical", "Symbolic", "Port", "Data", "Key", "Bit", "Segment", "SEGMENT_TYPES", "LOGICAL_KINDS",
    "KEY_LAYOUT",
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

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
#: An electronic key segment's 10 bytes: 0x34, key format, vendor, device type, product code,
#: major revision (bit 7: compatibility), minor revision.
KEY_LAYOUT = struct.Struct("<BBHHHBB")
_set = object.__setattr__


def _smallest(value: int) -> int:
    return 8 if value <= 0xFF else 16 if value <= 0xFFFF else 32


def _latin1(text: Any, what: str, limit: int = 0xFF) -> bytes:
    try:
        raw: bytes = text.encode("latin-1")
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
    link: int | str

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
        return KEY_LAYOUT.pack(0x34, 0x04, self.vendor, self.device_type, self.product_code,
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


Segment: TypeAlias = Logical | Symbolic | Port | Data | Key | Bit
#: The segment classes, for isinstance checks.
SEGMENT_TYPES = (Logical, Symbolic, Port, Data, Key, Bit)
