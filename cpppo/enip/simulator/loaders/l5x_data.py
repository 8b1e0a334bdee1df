"""Initial values of L5X tags: ``<Data Format="Decorated">``, ``Format="String"`` and raw ``<Data>`` bytes.

An export carries a tag's value up to three ways; the Decorated form names
every member and element, so it is preferred; older exports (and
``ExportOptions`` with raw data) give the controller's own bytes as hex, which
we decode through the same layout the tag will be served with.  Either way the
result is what :meth:`.service.EnipService.load_tags` stores: a number, a flat
row-major list, a dict of members (bits as bools, nested dicts, lists), or a
str for a STRING-family structure.  Every problem is a ValueError naming the
file, line and element, so a bad export stops the server with one clear line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeAlias
from xml.etree import ElementTree as ET

from cpppo.enip.codec import types as cip_types
from cpppo.enip.simulator.controller.structures import Structure, decode, is_string

__all__ = ["Kind", "where", "number", "logix_string", "decorated", "from_bytes", "pack_bools", "text_value"]

#: What a tag or member holds: an atomic type name or a Structure.
Kind: TypeAlias = str | Structure
#: The resolver of a type name (the L5X's or a predefined one), None when unknown.
Resolver = Callable[[str], Kind | None]

_ESCAPES = {"$": "$", "'": "'", '"': '"', "L": "\n", "N": "\r\n", "P": "\f", "R": "\r", "T": "\t"}


def where(path: str, element: ET.Element) -> str:
    """``file:line <Tag Name="X">``: how an error names the place it was found."""
    name = element.get("Name")
    shown = f'<{element.tag} Name="{name}">' if name else f"<{element.tag}>"
    return f"{path}:{getattr(element, 'line', '?')} {shown}"


def logix_string(text: str, place: str) -> str:
    """A Logix string literal (``'conveyor$0D$N'``) as text: quotes removed, ``$`` escapes undone."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        following = text[i + 1:i + 2]
        if following.upper() in _ESCAPES and following:
            out.append(_ESCAPES[following.upper()])
            i += 2
        elif len(text) >= i + 3 and all(c in "0123456789abcdefABCDEF" for c in text[i + 1:i + 3]):
            out.append(chr(int(text[i + 1:i + 3], 16)))
            i += 3
        else:
            raise ValueError(f"{place}: bad $ escape in string {text!r}")
    return "".join(out)


def number(text: str | None, kind: str, place: str) -> int | float | bool:
    """A Decorated ``Value`` of atomic *kind* in any Logix radix: ``42``, ``16#00ff``, ``2#0000_0101``,
    ``8#17``, ``'A'`` (ASCII), ``1.5``, ``3.0e+038``, ``1.#QNAN``, ``-1.#INF``."""
    if text is None:
        raise ValueError(f"{place}: no Value for a {kind}")
    raw = text.strip().replace("_", "")
    try:
        if kind in ("REAL", "LREAL"):
            upper = raw.upper()
            if "#QNAN" in upper or "#SNAN" in upper or "#IND" in upper:
                return math.nan
            if "#INF" in upper:
                return -math.inf if upper.startswith("-") else math.inf
            return float(raw)
        if raw.startswith("'"):  # ASCII radix: bytes, most significant first
            value = int.from_bytes(logix_string(raw, place).encode("latin-1"), "big")
        elif "#" in raw:
            sign = -1 if raw.startswith("-") else 1
            base, _, digits = raw.lstrip("+-").partition("#")
            value = sign * int(digits, int(base))
        elif raw.lower() in ("true", "false"):
            value = int(raw.lower() == "true")
        else:
            value = int(float(raw)) if "." in raw or "e" in raw.lower() else int(raw)
    except ValueError:
        raise ValueError(f"{place}: {text!r} is not a {kind} value") from None
    if kind == "BOOL":
        return bool(value)
    spec = cip_types.type_of(kind)
    if spec.lo is not None and spec.hi is not None and not spec.lo <= value <= spec.hi:
        width = (spec.size or 1) * 8
        if spec.lo < 0 and 0 <= value < 1 << width:  # a hex/binary radix shows the bit pattern
            value -= 1 << width if value >= 1 << (width - 1) else 0
        if not spec.lo <= value <= spec.hi:
            raise ValueError(f"{place}: {text!r} is out of range for a {kind}")
    return value


def pack_bools(bits: list[bool]) -> list[int]:
    """BOOL array elements as the DWORDs Logix stores them in (bit 0 of word 0 first)."""
    words = [0] * ((len(bits) + 31) // 32)
    for index, bit in enumerate(bits):
        if bit:
            words[index // 32] |= 1 << (index % 32)
    return words


def _index(text: str | None, dims: tuple[int, ...], place: str) -> int:
    """``[2]`` or ``[1,2]``: the row-major flat index of an element."""
    try:
        indices = [int(i) for i in (text or "").strip().strip("[]").split(",")]
    except ValueError:
        raise ValueError(f"{place}: bad Index {text!r}") from None
    if len(indices) != len(dims) or not all(0 <= i < d for i, d in zip(indices, dims)):
        raise ValueError(f"{place}: Index {text!r} outside {list(dims)}")
    flat = 0
    for value, dim in zip(indices, dims):
        flat = flat * dim + value
    return flat


def _dims(text: str | None, place: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in (text or "").replace(",", " ").split())
    except ValueError:
        raise ValueError(f"{place}: bad Dimensions {text!r}") from None
    if not dims or not all(d > 0 for d in dims):
        raise ValueError(f"{place}: bad Dimensions {text!r}")
    return dims


def _array(element: ET.Element, kind: Kind, path: str, resolve: Resolver) -> list[Any]:
    """An ``<Array>`` or ``<ArrayMember>``: a flat list (BOOL elements packed into DWORDs)."""
    place = where(path, element)
    declared = (element.get("DataType") or "").upper()
    dims = _dims(element.get("Dimensions"), place)
    total = math.prod(dims)
    values: list[Any] = [None] * total
    for item in element:
        if item.tag != "Element":
            continue
        at = _index(item.get("Index"), dims, where(path, item))
        if isinstance(kind, Structure):
            inner = next((c for c in item if c.tag in ("Structure", "StructureMember")), None)
            if inner is None:
                raise ValueError(f"{where(path, item)}: an element of a {kind.name} needs a <Structure>")
            values[at] = _structure(inner, kind, path, resolve)
        else:
            values[at] = number(item.get("Value"), "BOOL" if declared == "BOOL" else kind, where(path, item))
    if declared == "BOOL":
        return pack_bools([bool(v) for v in values])
    if isinstance(kind, Structure):
        return [{} if v is None else v for v in values]
    return [0 if v is None else v for v in values]


def _structure(element: ET.Element, structure: Structure, path: str, resolve: Resolver) -> dict | str:
    """A ``<Structure>`` or ``<StructureMember>``: a dict of member values (a str for a STRING-family)."""
    value: dict[str, Any] = {}
    text: str | None = None
    for child in element:
        place = where(path, child)
        name = child.get("Name") or ""
        member = structure.by_name.get(name.upper())
        if child.tag not in ("DataValueMember", "ArrayMember", "StructureMember"):
            continue
        if member is None or member.hidden:
            raise ValueError(f"{place}: {structure.name} has no member {name!r}")
        text_data = (child.get("DataType") or "").upper() == "STRING" and name.upper() == "DATA"
        if (child.tag == "ArrayMember") != bool(member.count) and not (text_data and is_string(structure)):
            raise ValueError(f"{place}: member {name!r} is {'an array' if member.count else 'not an array'}")
        if child.tag == "DataValueMember":
            if text_data and is_string(structure):
                text = logix_string(child.text or "''", place)
            elif member.bit is not None:
                value[member.name] = bool(number(child.get("Value"), "BOOL", place))
            elif isinstance(member.type, Structure):
                raise ValueError(f"{place}: member {name!r} is a {member.type.name}, not a single value")
            else:
                value[member.name] = number(child.get("Value"), member.type.name, place)
        elif child.tag == "ArrayMember":
            kind = member.type if isinstance(member.type, Structure) else member.type.name
            value[member.name] = _array(child, kind, path, resolve)
            if len(value[member.name]) != member.count:
                raise ValueError(f"{place}: {len(value[member.name])} elements for {name}[{member.count}]")
        elif isinstance(member.type, Structure):
            value[member.name] = _structure(child, member.type, path, resolve)
        else:
            raise ValueError(f"{place}: member {name!r} is a {member.type.name}, not a structure")
    return text if text is not None else value


def decorated(data: ET.Element, kind: Kind, dims: tuple[int, ...], path: str, resolve: Resolver) -> Any:
    """The value in a ``<Data Format="Decorated">`` of a tag of *kind* and *dims*."""
    for child in data:
        place = where(path, child)
        if child.tag == "DataValue":
            if isinstance(kind, Structure) or dims:
                raise ValueError(f"{place}: a single value for a tag that is not a single atomic value")
            return number(child.get("Value"), kind, place)
        if child.tag == "Array":
            if not dims:
                raise ValueError(f"{place}: an Array for a tag that is not an array")
            given = math.prod(_dims(child.get("Dimensions"), place))
            if (child.get("DataType") or "").upper() == "BOOL":  # held in DWORDs
                given = (given + 31) // 32
            if given != math.prod(dims):
                raise ValueError(f"{place}: Dimensions {child.get('Dimensions')!r} differ from the tag's")
            return _array(child, kind, path, resolve)
        if child.tag == "Structure":
            if not isinstance(kind, Structure) or dims:
                raise ValueError(f"{place}: a Structure for a tag that is not a single structure")
            return _structure(child, kind, path, resolve)
    raise ValueError(f"{where(path, data)}: Decorated data without a DataValue, Array or Structure")


def text_value(data: ET.Element, kind: Kind, path: str) -> str | None:
    """``<Data Format="String" Length="8">'conveyor'</Data>``: a STRING-family tag's text."""
    if not isinstance(kind, Structure) or not is_string(kind):
        return None
    return logix_string(data.text or "''", where(path, data))


def from_bytes(data: ET.Element, kind: Kind, dims: tuple[int, ...], path: str) -> Any:
    """The value in raw ``<Data>`` (the controller's bytes as hex), decoded through *kind*'s layout."""
    place = where(path, data)
    try:
        raw = bytes.fromhex((data.text or "").replace("\n", " "))
    except ValueError:
        raise ValueError(f"{place}: raw data is not hex bytes") from None
    count = math.prod(dims) if dims else 1
    size = kind.size if isinstance(kind, Structure) else (cip_types.type_of(kind).size or 1)
    if len(raw) < size * count:
        raise ValueError(f"{place}: {len(raw)} bytes of data for {count} x {size}")
    if isinstance(kind, Structure):
        values: list[Any] = [decode(raw, i * size, kind) for i in range(count)]
    else:
        values = cip_types.type_of(kind).decode(raw, count)
    return values if dims else values[0]
