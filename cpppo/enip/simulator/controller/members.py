"""Reading and writing structure tags and their members (``Motor.Speed``, ``Line[3].Motor.Speed``, ``T1.DN``).

A path into a :class:`~.structures.StructTag` walks element and member
segments to a :class:`View`: a typed region of the tag's bytes (an offset, the
type there, how many elements follow, and for a BOOL member the bit of its
host).  Reading a view copies bytes out with the type code a controller
answers with (0x02A0 and the handle for a structure); writing checks the type
and copies bytes in.  Reads too large for the reply budget come back in
fragments (0x06), as for atomic tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cpppo.enip.codec import cip
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec import types as cip_types
from cpppo.enip.codec.codes import GeneralStatus, LogixExtendedStatus
from cpppo.enip.codec.epath import Logical, Symbolic
from cpppo.enip.simulator.controller.device import Refusal
from cpppo.enip.simulator.controller.structures import StructTag, Structure, is_string

__all__ = ["View", "resolve", "read", "write", "read_modify_write", "masked", "flat_index", "INTEGER_FORMATS"]

GENERAL, OUT_OF_RANGE, TYPE_MISMATCH = 0xFF, 0x2105, 0x2107
PARTIAL = 0x06
#: The struct formats of the integer types a Read Modify Write may change (BOOL arrays are DWORDs).
INTEGER_FORMATS = frozenset("bhiqBHIQ")
#: The mask sizes a Read Modify Write may state, in bytes.
MASK_SIZES = (1, 2, 4, 8, 12)


@dataclass(frozen=True)
class View:
    tag: StructTag
    type: cip_types.CIPType | Structure
    offset: int  # bytes into tag.raw
    available: int  # elements from offset to the end of the array (1 for a scalar)
    bit: int | None = None  # a BOOL member: its bit in the host integer at offset
    host: int = 4  # the host integer's width in bytes
    capacity: int | None = None  # the LEN member of a STRING-family structure: its DATA's size

    @property
    def size(self) -> int:
        return self.type.size or 0


def _indices(segments: list[Any]) -> list[int]:
    out = []
    while segments and isinstance(segments[0], Logical) and segments[0].kind == "element":
        out.append(segments.pop(0).value)
    return out


def flat_index(indices: list[int], dims: tuple[int, ...], what: str) -> int:
    """The element *indices* name, row-major over *dims* (a single index is already flat)."""
    if len(indices) == 1:
        if indices[0] >= max(1, _product(dims)):
            raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{what}: index {indices[0]} beyond {dims}")
        return indices[0]
    if len(indices) != len(dims):
        raise Refusal(0x04, message=f"{what}: {len(indices)} indices for dimensions {dims}")
    index = 0
    for value, dim in zip(indices, dims):
        if value >= dim:
            raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{what}: index {indices} beyond {dims}")
        index = index * dim + value
    return index


def _product(dims: tuple[int, ...]) -> int:
    total = 1
    for dim in dims:
        total *= dim
    return total


def resolve(tag: StructTag, segments: list[Any]) -> View:
    """The view a path (after the tag's name) names within *tag*."""
    segments = list(segments)
    kind: cip_types.CIPType | Structure = tag.structure
    offset, available = 0, len(tag)
    indices = _indices(segments)
    if indices:
        index = flat_index(indices, tag.dims or (len(tag),), tag.name)
        offset, available = index * tag.structure.size, len(tag) - index
    elif not tag.scalar:
        available = len(tag)
    bit, host, capacity = None, 4, None
    while segments:
        segment = segments.pop(0)
        if not isinstance(segment, Symbolic) or not isinstance(kind, Structure) or bit is not None:
            raise Refusal(0x04, message=f"{tag.name}: cannot address {segment!r} there")
        member = kind.member(segment.name)
        capacity = kind.by_name["DATA"].count if member.name == "LEN" and is_string(kind) else None
        offset += member.offset
        kind, available, bit = member.type, max(member.count, 1), member.bit
        if bit is not None:
            host = member.type.size or 4
        indices = _indices(segments)
        if indices:
            if not member.count:
                raise Refusal(0x04, message=f"{tag.name}: member {member.name} is not an array")
            index = flat_index(indices, (member.count,), member.name)
            offset += index * (kind.size or 0)
            available = member.count - index
    return View(tag, kind, offset, available, bit, host, capacity)


def _type_of(view: View) -> tuple[int, int | None]:
    if view.bit is not None:
        return cip_types.BOOL.code, None
    if isinstance(view.type, Structure):
        return cip_types.STRUCTURE, view.type.handle
    return view.type.code, None


def read(view: View, service: int, elements: int, offset: int, budget: int) -> cip.Reply:
    """Read *elements* from *view* (from byte *offset*, for Read Tag Fragmented)."""
    if elements < 1 or elements > view.available:
        raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{view.tag.name}: {elements} of {view.available} elements")
    code, handle = _type_of(view)
    if view.bit is not None:
        host = int.from_bytes(view.tag.raw[view.offset:view.offset + view.host], "little")
        return cip.Reply(service | 0x80, body=logix.ReadTagReply(code, b"\xff" if host >> view.bit & 1 else b"\x00"))
    size = view.size
    total = elements * size
    if offset >= total:  # any byte offset before the end resumes: it is where our last fragment ended
        raise Refusal(GeneralStatus.GENERAL_ERROR, (LogixExtendedStatus.OFFSET_BEYOND_TEMPLATE,),
                       f"{view.tag.name}: byte offset {offset} of {total}")
    head = 4 + 2 + (2 if handle is not None else 0)
    room = max(size, (budget - head) // size * size) if handle is None else max(budget - head, 1)
    length = min(total - offset, room)
    start = view.offset + offset
    data = bytes(view.tag.raw[start:start + length])
    status = PARTIAL if offset + length < total else 0
    return cip.Reply(service | 0x80, status, body=logix.ReadTagReply(code, data, handle))


def write(view: View, service: int, body: Any) -> cip.Reply:
    """Write Tag [Fragmented] into *view*."""
    code, handle = _type_of(view)
    if body.type in _TEXT and isinstance(view.type, Structure) and is_string(view.type) \
            and isinstance(body, logix.WriteTag):
        return _write_text(view, view.type, service, body)
    if body.type != code or (handle is not None and body.handle != handle):
        raise Refusal(GENERAL, (TYPE_MISMATCH,), f"{view.tag.name}: type 0x{body.type:04X} for 0x{code:04X}")
    if body.elements < 1 or body.elements > view.available:
        raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{view.tag.name}: {body.elements} of {view.available} elements")
    raw = view.tag.raw
    if view.bit is not None:
        if not body.data:
            raise Refusal(0x13)
        width = view.host
        host = int.from_bytes(raw[view.offset:view.offset + width], "little")
        host = host | (1 << view.bit) if body.data[0] else host & ~(1 << view.bit)
        raw[view.offset:view.offset + width] = host.to_bytes(width, "little")
        return cip.Reply(service | 0x80)
    size = view.size
    offset = getattr(body, "offset", 0)
    room = body.elements * size - offset
    data = body.data
    if not isinstance(body, logix.WriteTagFragmented) and doubled(data, room, service & 0x7F):
        data = data[:room]
    if offset % size if handle is None else False:
        raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{view.tag.name}: byte offset {offset}")
    if len(data) > room:
        raise Refusal(0x15)
    if len(data) < room and not isinstance(body, logix.WriteTagFragmented):
        raise Refusal(0x13)
    if isinstance(view.type, Structure) and is_string(view.type):
        _check_lengths(view, view.type, offset, data)
    elif view.capacity is not None:  # a STRING's LEN written alone: it too must fit
        field = bytearray(raw[view.offset:view.offset + 4])
        field[offset:offset + len(data)] = data
        check_length(view, int.from_bytes(field[:4], "little", signed=True), view.capacity)
    start = view.offset + offset
    raw[start:start + len(data)] = data
    return cip.Reply(service | 0x80)


def doubled(data: bytes, room: int, service: int) -> bool:
    """Whether a Write Tag's *data* past its elements' *room* bytes is the whole request again.

    pycomm3 1.2 sends its connected Write Tag so, twice in one message (the second copy after the
    connected data's 2-byte sequence count again), and a ControlLogix takes the first; that is the
    one excess accepted.  Any other data beyond the elements the request states is refused with
    0x15 (too much data) and nothing is written.
    """
    extra, value = data[room:], data[:room]
    for skip in (0, 2):
        again = extra[skip:]  # service, path size (words), path, type (2 bytes, 4 with a handle), count, value
        if len(again) > 2 and again[0] == service and again.endswith(value) \
                and len(again) - 2 * again[1] - room - 6 in (0, 2):
            return True
    return False


def _check_lengths(view: View, structure: Structure, offset: int, data: bytes) -> None:
    """Each STRING-family element whose LEN this (fragment of a) write touches must fit its DATA, as
    its LEN will be after the write: a LEN split between two fragments is checked as it completes.
    *structure* is the view's type, a STRING-family Structure."""
    raw, stop = view.tag.raw, offset + len(data)
    length, capacity = structure.by_name["LEN"].offset, structure.by_name["DATA"].count
    for element in range(offset // structure.size, -(-stop // structure.size)):
        at = element * structure.size + length  # the LEN field, in bytes from the view's start
        if at + 4 <= offset or at >= stop:
            continue
        field = bytearray(raw[view.offset + at:view.offset + at + 4])
        for byte in range(max(at, offset), min(at + 4, stop)):
            field[byte - at] = data[byte - offset]
        check_length(view, int.from_bytes(field, "little", signed=True), capacity)


#: The CIP string types a Logix STRING-family tag also takes in a Write Tag (the original cpppo
#: client's ``(STRING)`` and ``(SSTRING)``): UINT or USINT length, then the characters.
_TEXT = {cip_types.STRING.code: cip_types.STRING, cip_types.SSTRING.code: cip_types.SSTRING}


def _texts(view: View, body: Any) -> list[bytes]:
    """The *body.elements* CIP [SHORT_]STRINGs of a write, as bytes (a CIP STRING of odd length may
    carry a pad byte, as the original cpppo sends it); 0x13/0x15 if the data does not hold exactly them."""
    kind, data, at, texts = _TEXT[body.type], body.data, 0, []
    for _ in range(body.elements):
        try:
            text, at = cip_types.decode_string(data, kind, at)
        except Exception:
            raise Refusal(GeneralStatus.NOT_ENOUGH_DATA, message=f"{view.tag.name}: {body.elements} "
                           f"{kind.name}s in {len(data)} bytes") from None
        if kind is cip_types.STRING and len(text) % 2 and at < len(data) and data[at] == 0:
            at += 1
        texts.append(text.encode("latin-1"))
    if at != len(data):
        raise Refusal(GeneralStatus.TOO_MUCH_DATA, message=f"{view.tag.name}: {len(data) - at} bytes after the text")
    return texts


def _write_text(view: View, structure: Structure, service: int, body: Any) -> cip.Reply:
    """A CIP STRING (0xD0) or SHORT_STRING (0xDA) written to a Logix STRING-family view (of type
    *structure*): each text becomes one element's LEN and DATA (the rest of DATA zeroed), as a Logix
    STRING write would."""
    if body.elements < 1 or body.elements > view.available:
        raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{view.tag.name}: {body.elements} of {view.available} elements")
    length, data = structure.by_name["LEN"], structure.by_name["DATA"]
    texts = _texts(view, body)
    for text in texts:
        check_length(view, len(text), data.count)
    raw = view.tag.raw
    for index, text in enumerate(texts):
        base = view.offset + index * structure.size
        raw[base + length.offset:base + length.offset + 4] = len(text).to_bytes(4, "little", signed=True)
        raw[base + data.offset:base + data.offset + data.count] = text.ljust(data.count, b"\0")
    return cip.Reply(service | 0x80)


def check_length(view: View, length: int, capacity: int) -> None:
    """A STRING-family element's LEN must fit its DATA: the status a longer one gets, whatever
    encoding carried it."""
    if not 0 <= length <= capacity:
        raise Refusal(GENERAL, (OUT_OF_RANGE,), f"{view.tag.name}: {length} characters for {capacity}")


def masked(old: bytes, body: logix.ReadModifyWrite) -> bytes:
    """*old* with its first n bytes (n: the masks' size) set to ``(old | OR) & AND``; bytes of the
    AND mask beyond n (pycomm3 always sends 8) were never part of it and are ignored."""
    size = len(body.or_mask)
    value = int.from_bytes(old[:size], "little") | int.from_bytes(body.or_mask, "little")
    value &= int.from_bytes(body.and_mask[:size], "little")
    return value.to_bytes(size, "little") + bytes(old[size:])


def mask_size(body: logix.ReadModifyWrite, room: int, what: str) -> int:
    """The masks' size n, if a Read Modify Write may state it for an element of *room* bytes (0x03
    if not: "the size of masks must be the same or smaller than the size of the data type")."""
    size = len(body.or_mask)
    if size not in MASK_SIZES or size > room or len(body.and_mask) < size:
        raise Refusal(GeneralStatus.INVALID_PARAMETER_VALUE,
                       message=f"{what}: masks of {size} bytes for {room} bytes")
    return size


def read_modify_write(view: View, service: int, body: logix.ReadModifyWrite) -> cip.Reply:
    """Read Modify Write (0x4E) inside a structure: on an integer member or element, on a BOOL[]
    word, or on a BOOL member (one byte: its bit is bit 0).  The masks may be no larger than that
    one element (a controller refuses them with 0x03: they never reach the next element or member).
    A REAL or a structure is 0xFF/0x2107."""
    raw, name = view.tag.raw, view.tag.name
    if view.bit is not None:
        mask_size(body, 1, name)
        host = int.from_bytes(raw[view.offset:view.offset + view.host], "little")
        on = masked(bytes([host >> view.bit & 1]), body)[0] & 1
        host = host | (1 << view.bit) if on else host & ~(1 << view.bit)
        raw[view.offset:view.offset + view.host] = host.to_bytes(view.host, "little")
        return cip.Reply(service | 0x80)
    if isinstance(view.type, Structure) or view.type.fmt not in INTEGER_FORMATS:
        raise Refusal(GeneralStatus.GENERAL_ERROR, (LogixExtendedStatus.DATA_TYPE_MISMATCH,),
                       f"{name}: no Read Modify Write of a {view.type.name}")
    size = mask_size(body, view.size, name)
    start = view.offset
    value = masked(bytes(raw[start:start + size]), body)
    if view.capacity is not None:  # a STRING's LEN: what the masks make of it must fit
        check_length(view, int.from_bytes(value + bytes(raw[start + size:start + 4]), "little", signed=True),
                     view.capacity)
    raw[start:start + size] = value
    return cip.Reply(service | 0x80)
