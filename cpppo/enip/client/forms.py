"""The Logix forms of an operation: bits of integers, elements of BOOL arrays, and STRING writes.

Why a module of its own: these operations do not go on the wire as their tag strings read.
``Flags.5`` is a read of ``Flags`` and a pick of bit 5, and its write a Read Modify Write (0x4E)
whose masks touch that bit alone; ``Bits[35]`` of a BOOL[] (stored in DWORDs) is bit 3 of word 1;
``Name=(STRING)x`` is, to a Logix controller, the 88-byte STRING structure.  :func:`adapt` gives
the :class:`~.records.Planned` of an operation's form for what the client knows of the target
(:class:`~.shapes.Shapes`), and :func:`values` turns a reply's values into the operation's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cpppo.enip.client.records import Planned
from cpppo.enip.client.shapes import Shapes, tag_key
from cpppo.enip.codec import cip, types
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import GeneralStatus, LogixExtendedStatus, Service
from cpppo.enip.codec.epath import Bit, Logical

__all__ = ["adapt", "as_bool_array", "values", "bit_of", "element_of", "string_fallback", "MASK_SIZES",
           "maybe_bool_read", "maybe_bool_element", "word_probe", "is_dword", "unknown_structure", "wanting",
           "tag_key", "misfit", "as_bool_write", "is_bools"]

#: Read Modify Write mask sizes: the smallest that holds the bit is used (a mask may be smaller
#: than the element, never larger).
MASK_SIZES = (1, 2, 4, 8)
_STRING_CASTS = (types.STRING.code, types.SSTRING.code)
_DWORD = types.DWORD.code


def bit_of(path: tuple[Any, ...]) -> int | None:
    """The bit number of a ``Tag.5`` path, or None."""
    return path[-1].bit if path and isinstance(path[-1], Bit) else None


def element_of(path: tuple[Any, ...]) -> int | None:
    """The last element index of a path ending in one (``Bits[35]``: 35), or None."""
    last = path[-1] if path else None
    return last.value if isinstance(last, Logical) and last.kind == "element" else None


def _rmw(path: tuple[Any, ...], bit: int, value: Any, name: str = "") -> cip.Request:
    """Read Modify Write setting or clearing *bit* of the element at *path*, touching nothing else."""
    size = next((s for s in MASK_SIZES if bit < 8 * s), bit // 8 + 1)   # (beyond 64: the target refuses it)
    full = (1 << 8 * size) - 1
    on = _truth(value, name)
    or_mask = (1 << bit) if on else 0
    and_mask = full if on else full & ~(1 << bit)
    return cip.Request(Service.READ_MODIFY_WRITE, path,
                       body=logix.ReadModifyWrite(or_mask.to_bytes(size, "little"), and_mask.to_bytes(size, "little")))


def _truth(value: Any, name: str = "") -> bool:
    """A bit's value: 0 or 1, true or false (*name*, the operation's tag, for the error)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "false"):
            return word == "true"
        try:
            value = int(word, 0)
        except ValueError:
            pass
    if value not in (0, 1, True, False):
        raise ValueError(f"{name + ': ' if name else ''}a bit takes 0 or 1 (or true/false), not {value!r}")
    return bool(value)


def _replace(planned: Planned, requests: tuple[cip.Request, ...], reply_size: int | None = None, **changes: Any
             ) -> Planned:
    """A copy of *planned* that goes as *requests*: the original stays as it was for the requests of
    it already staged or on the wire; new operations take the copy (its ``successor``)."""
    request = requests[0]
    encoded = request.encode()
    sizes = (len(encoded) + 2, planned.sizes[1] if reply_size is None else reply_size)
    return dataclasses.replace(planned, request=request, requests=requests, encoded=encoded, sizes=sizes,
                               successor=None, **changes)


def adapt(planned: Planned, shapes: Shapes) -> Planned:
    """A freshly planned operation in its Logix form, as far as it is known now."""
    op, path = planned.op, planned.request.path
    bit = bit_of(path)
    if bit is not None:
        if planned.method != "write":
            planned.pick = ("bit", bit)
            return planned
        data = op.get("data") or []
        if len(data) != 1:
            raise ValueError(f"{_named(planned)}: a bit takes one value, not {len(data)}")
        return _replace(planned, (_rmw(path[:-1], bit, data[0], _named(planned)),), pick=("bit", bit))
    key = tag_key(path)
    if key in shapes.bool_arrays and element_of(path) is not None:
        return as_bool_array(planned)
    if planned.method == "write" and op.get("tag_type") in _STRING_CASTS and op.get("offset") is None:
        form = shapes.string_forms.get(key)
        if form is None or form == types.STRUCTURE:
            logix_form = _logix_strings(planned)
            if logix_form is not None:
                return _replace(planned, logix_form, fallback=planned.requests if form is None else ())
    planned.doubtful = maybe_bool_element(planned)   # (its place is kept until its reply is read)
    return planned


def _named(planned: Planned) -> str:
    """The operation's tag as its description names it (``Flags.5``, ``Grid[2,3]``)."""
    return str(planned.alone).split()[-1]


def _logix_strings(planned: Planned) -> tuple[cip.Request, ...] | None:
    """The write as Logix STRING structures (None if a text does not fit 82 characters, or the write
    is in fragments)."""
    data = planned.op.get("data") or []
    if len(planned.requests) != 1 or any(len(str(text)) > types.LOGIX_STRING_LENGTH for text in data):
        return None
    encoded = types.LOGIX_STRING.encode([str(text) for text in data])
    body = logix.WriteTag(types.STRUCTURE, len(data), encoded, types.LOGIX_STRING_HANDLE)
    return (cip.Request(Service.WRITE_TAG, planned.request.path, body=body),)


def string_fallback(planned: Planned, shapes: Shapes, worked: bool) -> Planned | None:
    """After a string write in the Logix form: remember the form that *worked* (later writes go in
    it alone); the operation in the CIP form, to try next if it did not."""
    key = tag_key(planned.request.path)
    if worked:
        shapes.string_forms[key] = types.STRUCTURE
        planned.successor = _replace(planned, planned.requests, fallback=())
        return None
    shapes.string_forms[key] = planned.op["tag_type"]
    planned.successor = _replace(planned, planned.fallback, fallback=())
    return planned.successor


def as_bool_array(planned: Planned) -> Planned:
    """An element operation of a BOOL[] for the DWORDs it is stored in: a read of the words holding
    the elements (picking their bits), a write as Read Modify Write of the one bit."""
    path = planned.request.path
    first = element_of(path)
    assert first is not None
    base = path[:-1]
    count = planned.op.get("elements") or 1
    word = Logical("element", first // 32)
    if planned.method == "read":
        words = (first + count - 1) // 32 - first // 32 + 1
        return _replace(planned, (cip.Request(Service.READ_TAG, base + (word,), body=logix.ReadTag(words)),),
                        4 + 2 + 2 + 4 * words, pick=("bits", first % 32, count), fits=False)
    data = planned.op.get("data") or []
    if len(data) != 1:
        raise ValueError(f"{_named(planned)}: one BOOL[] element at a time, not {len(data)}")
    return _replace(planned, (_rmw(base + (word,), first % 32, data[0], _named(planned)),))


def as_bool_write(planned: Planned) -> Planned:
    """A refused write of 0 or 1 to an element of a BOOL[] of bytes (the original cpppo
    simulator's, type 0xC1 per element), again as a write of one BOOL: the value, not its cast,
    says what was meant (``Bits[2]=1``, INT by default, is a bit)."""
    value = _truth((planned.op.get("data") or [None])[0], _named(planned))
    request = cip.Request(Service.WRITE_TAG, planned.request.path,
                          body=logix.WriteTag(types.BOOL.code, 1, types.BOOL.encode([value])))
    return _replace(planned, (request,))


def is_bools(reply: cip.Reply) -> bool:
    """A read reply of BOOLs (0xC1): an array of them stored a byte each (not a Logix BOOL[])."""
    body = reply.body
    return reply.status == 0 and isinstance(body, logix.ReadTagReply) and body.type == types.BOOL.code


def is_dword(reply: cip.Reply) -> bool:
    """A read reply of DWORDs: what Logix stores a BOOL[] in (and has no other tag of)."""
    body = reply.body
    return reply.status == 0 and isinstance(body, logix.ReadTagReply) and body.type == types.DWORD.code


def _element_read(planned: Planned) -> bool:
    return (planned.pick is None and element_of(planned.request.path) is not None
            and planned.request.service == Service.READ_TAG)


def maybe_bool_read(planned: Planned, reply: cip.Reply) -> bool:
    """Whether an element read's reply says its tag may be a BOOL[] read the wrong way: DWORDs came
    (the word of that index, not the one holding the bit), or the index is beyond the end (of the
    words) while it could be a bit of them."""
    status = reply.status
    if status == 0:   # (the usual reply, ruled out first: a poller's read comes here every time)
        body = reply.body
        if body.__class__ is not logix.ReadTagReply or body.type != _DWORD:
            return False
    elif status != 0xFF or reply.extended[:1] != (0x2105,):
        return False
    return _element_read(planned)


def maybe_bool_element(planned: Planned) -> bool:
    """Whether a refused write of one value to an element may be to a BOOL[] element."""
    data = planned.op.get("data") or []
    return (planned.method == "write" and planned.request.service == Service.WRITE_TAG and len(data) == 1
            and element_of(planned.request.path) is not None
            and str(data[0]).strip().lower() in ("0", "1", "true", "false"))


def word_probe(planned: Planned) -> cip.Request:
    """A read of the DWORD a BOOL[] element would be in."""
    path = planned.request.path
    element = element_of(path)
    assert element is not None
    return cip.Request(Service.READ_TAG, path[:-1] + (Logical("element", element // 32),), body=logix.ReadTag(1))


def unknown_structure(reply: cip.Reply, shapes: Shapes) -> int | None:
    """The handle of the structures a good read reply carries, if their template is not known yet."""
    body = reply.body
    if (reply.status == 0 and isinstance(body, logix.ReadTagReply) and body.type == types.STRUCTURE
            and not shapes.known(body.handle) and body.handle not in shapes.unreadable):
        return body.handle
    return None


def wanting(planned: Planned, reply: cip.Reply, shapes: Shapes, structures: bool) -> bool:
    """Whether a read's reply (in a Multiple Service Packet) needs more before it lands."""
    return maybe_bool_read(planned, reply) or (structures and unknown_structure(reply, shapes) is not None)


def values(planned: Planned, reply: cip.Reply, raw: list[Any], shapes: Shapes, structures: bool) -> list[Any]:
    """A read's values as the operation asked: Logix STRINGs as text, structures as dicts of their
    members (if *structures*: else the raw bytes the original gives), bits picked."""
    body = reply.body
    if isinstance(body, logix.ReadTagReply) and body.type == types.STRUCTURE:
        if body.handle == types.LOGIX_STRING_HANDLE or (structures and shapes.known(body.handle)):
            return shapes.decode(body.handle, body.data)
        return raw
    return pick(planned, raw)


def misfit(planned: Planned, reply: cip.Reply) -> cip.Reply:
    """The reply a bit's read lands with: a good reply of an integer holding the bit is as it came;
    of anything else it is the failure the target gives the write of that bit (the simulator's,
    and a Logix controller's, Read Modify Write refusals): 0xFF/0x2107 for a value that is not an
    integer (a REAL, a STRING, a structure), 0x03 for a bit beyond the integer's size."""
    how = planned.pick
    body = reply.body
    if how is None or how[0] != "bit" or reply.status or not isinstance(body, logix.ReadTagReply):
        return reply
    kind = types.TYPES_BY_CODE.get(body.type)
    if kind is None or kind.hi is None or not kind.size:   # (only the integer types have a range)
        return cip.Reply(reply.service, int(GeneralStatus.GENERAL_ERROR),
                         (int(LogixExtendedStatus.DATA_TYPE_MISMATCH),))
    if how[1] >= 8 * kind.size:
        return cip.Reply(reply.service, int(GeneralStatus.INVALID_PARAMETER_VALUE))
    return reply


def pick(planned: Planned, values: list[Any]) -> list[Any]:
    """The operation's values from its reply's: a bit of an integer, BOOL[] elements from their words."""
    how = planned.pick
    if how is None:
        return values
    if how[0] == "bit":
        return [bool(int(value) >> how[1] & 1) for value in values]
    start, count = how[1], how[2]
    return types.bits_from_dwords([int(v) & 0xFFFFFFFF for v in values])[start:start + count]
