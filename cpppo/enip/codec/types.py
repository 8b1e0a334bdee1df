"""CIP elementary data types: the bytes of tag and attribute values, both directions side by side.

Why: Read/Write Tag replies and requests, attribute values and template definitions all carry
arrays of CIP elementary values, and the server and the client must agree byte for byte.  Each
type is one frozen :class:`CIPType` constant holding its wire code, element size and precompiled
``struct`` format; :meth:`CIPType.encode` and :meth:`CIPType.decode` turn a sequence of Python
values into little-endian bytes and back.

Strategy: arrays go through one ``struct`` call (the format ``"<{n}h"`` is compiled once by the
``struct`` module's own cache), so the cost is one C call plus the list.  Range checking costs
nothing on the good path: ``struct`` refuses out-of-range values and only then do we look for the
culprit to name it in a :class:`LocalProtocolError`.  Short input is the peer's fault:
:class:`RemoteProtocolError` with CIP status 0x13 (not enough data).

REAL values keep NaN payloads bit for bit: a 32-bit NaN (which a C float->double->float trip may
quieten) decodes to a :class:`Float32NaN`, a ``float`` that remembers its raw bits and encodes
them back unchanged.  LREAL needs no help: Python floats are IEEE doubles.

Strings: SSTRING (USINT length + chars), CIP STRING (UINT length + chars) and the Logix STRING
structure (DINT LEN + 82 SINT, 88 bytes) through :func:`encode_string` / :func:`decode_string`;
characters are ISO-8859-1, one byte each.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cpppo.enip.codec.codes import GeneralStatus
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError, short

__all__ = [
    "CIPType", "Float32NaN", "TYPES", "TYPES_BY_CODE", "type_of", "encode_string", "decode_string",
    "STRUCTURE", "BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL",
    "LREAL", "BYTE", "WORD", "DWORD", "LWORD", "STRING", "SSTRING", "LOGIX_STRING",
    "LOGIX_STRING_HANDLE", "LOGIX_STRING_LENGTH", "bits_from_dwords", "dwords_from_bits",
]

#: The type code a Read Tag reply / Write Tag request uses for any structure; the structure
#: handle (UINT) follows it.
STRUCTURE = 0x02A0
#: The structure handle of the Logix built-in STRING.
LOGIX_STRING_HANDLE = 0x0FCE
#: Characters in a Logix STRING's DATA member.
LOGIX_STRING_LENGTH = 82

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")
_ONE_STRUCT = struct.Struct


class Float32NaN(float):
    """A REAL NaN that remembers its 32 raw bits, so that it encodes back exactly as received."""

    __slots__ = ("bits",)
    bits: int

    def __new__(cls, bits: int) -> Float32NaN:
        if not isinstance(bits, int) or bits & 0x7F800000 != 0x7F800000 or not bits & 0x007FFFFF \
                or not 0 <= bits <= 0xFFFFFFFF:
            raise LocalProtocolError(f"Float32NaN bits {bits!r} are not a 32-bit NaN")
        self = super().__new__(cls, math.nan)
        self.bits = bits
        return self

    def __repr__(self) -> str:
        return f"Float32NaN(0x{self.bits:08X})"

    def __reduce__(self) -> tuple[type[Float32NaN], tuple[int]]:
        return (Float32NaN, (self.bits,))


@dataclass(frozen=True, slots=True, eq=False)
class CIPType:
    """One CIP data type: its wire code, name, element size and codec.

    ``code`` is the type code on the wire (``STRUCTURE`` for structures, with ``handle`` the
    structure handle that follows it); ``size`` is bytes per element (None if variable);
    ``fmt`` the ``struct`` character of one element (empty for strings); ``lo``/``hi`` the
    range of an integer type.
    """

    name: str
    code: int
    size: int | None
    fmt: str = ""
    lo: int | None = None
    hi: int | None = None
    handle: int | None = None
    #: The precompiled ``struct.Struct`` of one element (None for strings); set from ``fmt``.
    struct: struct.Struct | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.fmt and self.struct is None:
            object.__setattr__(self, "struct", _ONE_STRUCT("<" + ("B" if self.fmt == "?" else self.fmt)))

    def encode(self, values: Sequence[Any]) -> bytes:
        """Encode a sequence of values as consecutive elements.

        Raises:
            LocalProtocolError: a value is out of range or of the wrong kind for this type.
        """
        fmt = self.fmt
        if not fmt:
            return b"".join(encode_string(v, self) for v in values)
        if fmt == "?":
            return bytes([0xFF if v else 0x00 for v in values])
        try:
            if len(values) == 1 and fmt != "f":  # (one element, the most read: its precompiled struct)
                return self.struct.pack(values[0])  # type: ignore[union-attr]  # (set: a fmt)
            data = struct.pack(f"<{len(values)}{fmt}", *values)
        except (struct.error, OverflowError, TypeError) as exc:
            raise self._culprit(values, exc) from exc
        if fmt == "f":
            try:
                total = sum(values)
            except TypeError:
                total = math.nan
            if total != total:  # some NaN (or inf - inf): restore any remembered NaN bits
                data = b"".join(
                    _U32.pack(v.bits) if isinstance(v, Float32NaN) else _F32.pack(v) for v in values)
        return data

    def _culprit(self, values: Sequence[Any], exc: Exception) -> LocalProtocolError:
        one = struct.Struct("<" + self.fmt)
        for index, value in enumerate(values):
            try:
                one.pack(value)
            except (struct.error, OverflowError, TypeError):
                rng = f" (range {self.lo}..{self.hi})" if self.lo is not None else ""
                return LocalProtocolError(
                    f"{self.name} cannot encode {value!r} at index {index}{rng}")
        return LocalProtocolError(f"{self.name} cannot encode {values!r}: {exc}")

    def decode(self, data: bytes | bytearray | memoryview, count: int | None = None,
               offset: int = 0) -> list[Any]:
        """Decode ``count`` elements starting at ``offset`` (all remaining bytes if None).

        With ``count`` None the remaining data must be a whole number of elements; with a count,
        bytes after the last element are left for the caller.

        Raises:
            RemoteProtocolError: (CIP status 0x13) the data ends inside an element.
        """
        size = self.size
        fmt = self.fmt
        if not fmt or (size is None):
            return self._decode_strings(data, count, offset)
        have = len(data) - offset
        if count is None:
            if have < 0 or have % size:
                raise short(self.name, offset + have - have % size, size, have % size)
            count = have // size
        elif count * size > have:
            raise short(self.name, offset, count * size, max(have, 0))
        if fmt == "?":
            return [b != 0 for b in data[offset:offset + count]]
        one = self.struct
        if count == 1 and one is not None:
            values = list(one.unpack_from(data, offset))
        else:
            values = list(struct.unpack_from(f"<{count}{fmt}", data, offset))
        if fmt == "f" and count:
            total = sum(values)
            if total != total:
                for index, value in enumerate(values):
                    if value != value:
                        values[index] = Float32NaN(_U32.unpack_from(data, offset + 4 * index)[0])
        return values

    def _decode_strings(self, data: bytes | bytearray | memoryview, count: int | None,
                        offset: int) -> list[Any]:
        values: list[Any] = []
        end = len(data)
        while (count is None and offset < end) or (count is not None and len(values) < count):
            text, offset = decode_string(data, self, offset)
            values.append(text)
            if self is STRING and len(text) % 2 and offset < end and not data[offset] and (end - offset) % 2:
                offset += 1   # the pad byte the original cpppo puts after a CIP STRING of odd length
        return values

    def __repr__(self) -> str:
        return f"<CIPType {self.name} 0x{self.code:04X}>"


BOOL = CIPType("BOOL", 0xC1, 1, "?")
SINT = CIPType("SINT", 0xC2, 1, "b", -2**7, 2**7 - 1)
INT = CIPType("INT", 0xC3, 2, "h", -2**15, 2**15 - 1)
DINT = CIPType("DINT", 0xC4, 4, "i", -2**31, 2**31 - 1)
LINT = CIPType("LINT", 0xC5, 8, "q", -2**63, 2**63 - 1)
USINT = CIPType("USINT", 0xC6, 1, "B", 0, 2**8 - 1)
UINT = CIPType("UINT", 0xC7, 2, "H", 0, 2**16 - 1)
UDINT = CIPType("UDINT", 0xC8, 4, "I", 0, 2**32 - 1)
ULINT = CIPType("ULINT", 0xC9, 8, "Q", 0, 2**64 - 1)
REAL = CIPType("REAL", 0xCA, 4, "f")
LREAL = CIPType("LREAL", 0xCB, 8, "d")
STRING = CIPType("STRING", 0xD0, None)
BYTE = CIPType("BYTE", 0xD1, 1, "B", 0, 2**8 - 1)
WORD = CIPType("WORD", 0xD2, 2, "H", 0, 2**16 - 1)
DWORD = CIPType("DWORD", 0xD3, 4, "I", 0, 2**32 - 1)
LWORD = CIPType("LWORD", 0xD4, 8, "Q", 0, 2**64 - 1)
SSTRING = CIPType("SSTRING", 0xDA, None)
#: The Logix STRING structure: DINT LEN, SINT DATA[82], 2 pad bytes.
LOGIX_STRING = CIPType("LOGIX_STRING", STRUCTURE, 88, handle=LOGIX_STRING_HANDLE)

_ALL = (BOOL, SINT, INT, DINT, LINT, USINT, UINT, UDINT, ULINT, REAL, LREAL, STRING, BYTE, WORD,
        DWORD, LWORD, SSTRING, LOGIX_STRING)

#: Types by upper-case name.
TYPES: MappingProxyType[str, CIPType] = MappingProxyType({t.name: t for t in _ALL})
#: Elementary types by wire code (structures, code 0x02A0, are not here).
TYPES_BY_CODE: MappingProxyType[int, CIPType] = MappingProxyType(
    {t.code: t for t in _ALL if t.code != STRUCTURE})


def type_of(name_or_code: str | int) -> CIPType:
    """The type named (case-insensitive, e.g. ``"dint"``) or with that wire code (e.g. 0xC4).

    Raises:
        LocalProtocolError: no such type (for codes read from a peer, catch it or look the code
            up in ``TYPES_BY_CODE``).
    """
    try:
        if isinstance(name_or_code, str):
            return TYPES[name_or_code.upper()]
        return TYPES_BY_CODE[name_or_code]
    except (KeyError, TypeError):
        raise LocalProtocolError(f"unknown CIP type {name_or_code!r}") from None


def _kind(kind: CIPType | str) -> CIPType:
    ctype = type_of(kind) if isinstance(kind, str) else kind
    if ctype not in (SSTRING, STRING, LOGIX_STRING):
        raise LocalProtocolError(f"{ctype.name} is not a string type")
    return ctype


def encode_string(text: str, kind: CIPType | str = STRING) -> bytes:
    """Encode ``text`` as an SSTRING, a CIP STRING or a Logix STRING (88 bytes, zero padded).

    Raises:
        LocalProtocolError: a character outside ISO-8859-1, or the text too long for the kind.
    """
    ctype = _kind(kind)
    try:
        raw = text.encode("latin-1")
    except (UnicodeEncodeError, AttributeError) as exc:
        raise LocalProtocolError(f"{ctype.name} cannot encode {text!r}: {exc}") from None
    n = len(raw)
    if ctype is SSTRING:
        if n > 0xFF:
            raise LocalProtocolError(f"SSTRING of {n} characters: at most 255")
        return _U8.pack(n) + raw
    if ctype is STRING:
        if n > 0xFFFF:
            raise LocalProtocolError(f"STRING of {n} characters: at most 65535")
        return _U16.pack(n) + raw
    if n > LOGIX_STRING_LENGTH:
        raise LocalProtocolError(
            f"Logix STRING of {n} characters {text[:20]!r}...: at most {LOGIX_STRING_LENGTH}")
    return _I32.pack(n) + raw + bytes(88 - 4 - n)


def decode_string(data: bytes | bytearray | memoryview, kind: CIPType | str = STRING,
                  offset: int = 0) -> tuple[str, int]:
    """Decode one string of the given kind at ``offset``; returns ``(text, end offset)``.

    Raises:
        RemoteProtocolError: 0x13 if the data ends early; 0x09 if a Logix STRING's LEN is not
            within 0..82.
    """
    ctype = _kind(kind)
    end = len(data)
    if ctype is SSTRING:
        head = 1
    elif ctype is STRING:
        head = 2
    else:
        if end - offset < 88:
            raise short(ctype.name, offset, 88, max(end - offset, 0))
        n = _I32.unpack_from(data, offset)[0]
        if not 0 <= n <= LOGIX_STRING_LENGTH:
            raise RemoteProtocolError(
                f"Logix STRING LEN {n} outside 0..{LOGIX_STRING_LENGTH}", offset=offset,
                expected=f"LEN 0..{LOGIX_STRING_LENGTH}", cip_status=GeneralStatus.INVALID_ATTRIBUTE_VALUE)
        return str(data[offset + 4:offset + 4 + n], "latin-1"), offset + 88
    if end - offset < head:
        raise short(ctype.name, offset, head, max(end - offset, 0))
    n = data[offset] if head == 1 else _U16.unpack_from(data, offset)[0]
    start = offset + head
    if end - start < n:
        raise short(ctype.name, start, n, end - start)
    return str(data[start:start + n], "latin-1"), start + n


def bits_from_dwords(words: Sequence[int]) -> list[bool]:
    """Expand a Logix BOOL array read as DWORDs (bit 0 of word 0 is element 0) into booleans."""
    return [bool(word >> bit & 1) for word in words for bit in range(32)]


def dwords_from_bits(bits: Sequence[Any]) -> list[int]:
    """Pack booleans (element 0 first) into the DWORDs of a Logix BOOL array, zero filling the last."""
    words = []
    for start in range(0, len(bits), 32):
        word = 0
        for bit, value in enumerate(bits[start:start + 32]):
            if value:
                word |= 1 << bit
        words.append(word)
    return words
