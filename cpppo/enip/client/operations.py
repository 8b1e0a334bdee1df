"""Tag strings to client operations: ``client.parse_operations``.

Scripts and the command line name what to read and write as short strings
(``SCADA[1-10]``, ``Tag[0-9]+16=(DINT)4,5,6``, ``@1/1/7``); the client works
on operations, the original cpppo's plain dicts (``method``, ``path`` in the
original's list-of-dicts form, ``elements``, ``offset``, ``tag_type``,
``data``), so that operations written by hand or saved by old scripts keep
working.  The tag names themselves are parsed by the codec
(:func:`cpppo.enip.codec.epath.parse_tag`); this module adds what only a
client needs: element ranges, byte offsets, values and their casts.

Bad input raises :class:`ValueError` naming the whole string and the part
that is wrong, before anything goes on the wire.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from cpppo.enip.codec import types
from cpppo.enip.codec.epath import Bit, parse_tag, to_original
from cpppo.enip.codec.errors import LocalProtocolError

__all__ = ["parse_operations", "parse_operation", "attribute_operations", "CASTS", "cast_values", "format_path"]

#: The casts a write may name, ``Tag=(DINT)1,2``: the original's set.
CASTS = ("BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL", "LREAL",
         "SSTRING", "STRING")

_RANGE = re.compile(r"\[\s*(\d+)\s*-\s*(\d+)\s*\]\s*$")
_CAST = re.compile(r"\s*\(\s*([A-Za-z]+)\s*\)(.*)$", re.S)


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "false"):
        return word == "true"
    return int(word, 0) != 0


def _integer(kind: types.CIPType) -> Callable[[str], int]:
    def cast(text: str) -> int:
        text = text.strip()
        try:
            value = int(text)
        except ValueError:
            value = int(text, 0)
        if not kind.lo <= value <= kind.hi:  # type: ignore[operator]
            raise ValueError(f"{value} is outside the {kind.name} range {kind.lo}..{kind.hi}")
        return value
    return cast


def _caster(name: str) -> Callable[[str], Any]:
    kind = types.type_of(name)
    if kind.fmt in ("f", "d"):
        return float
    if kind.fmt == "?":
        return _bool
    if not kind.fmt:
        return str
    return _integer(kind)


def cast_values(text: str, type_name: str) -> list[Any]:
    """Comma-separated values (double-quoted where they hold commas) cast to *type_name*.

    Raises:
        ValueError: a value that is not of the type, or outside its range.
    """
    (fields,) = csv.reader([text], quotechar='"', delimiter=",", skipinitialspace=True)
    cast = _caster(type_name)
    values = []
    for field in fields:
        try:
            values.append(cast(field))
        except ValueError as exc:
            raise ValueError(f"value {field!r} is not a {type_name}: {exc}") from None
    return values


def _path(text: str, whole: str) -> tuple[list[dict[str, Any]], int | None, tuple[Any, ...]]:
    """The original-style path of a tag (with its first element), the range's element count, and
    the path's segments (which the client uses as they are)."""
    count = None
    match = _RANGE.search(text)
    if match:
        first, last = int(match.group(1)), int(match.group(2))
        if last < first:
            raise ValueError(f"{whole!r}: element range [{first}-{last}] runs backwards")
        count = last - first + 1
        text = text[:match.start()].rstrip() + f"[{first}]"
    if text.count("[") != text.count("]"):
        raise ValueError(f"{whole!r}: a '[' without its ']' (or a ']' without its '[')")
    try:
        segments = parse_tag(text)
    except LocalProtocolError as exc:
        raise ValueError(_tag_error(whole, text, exc)) from None
    return to_original(segments), count, segments


def _tag_error(whole: str, text: str, exc: Exception) -> str:
    """One message naming the string once: the codec's message names the tag too (``... in 'X'``)."""
    detail = str(exc)
    for naming in (f" in {text!r}", f" component {text!r}", f": {text!r}", f" {text!r}"):
        detail = detail.replace(naming, "")
    return f"{whole!r}: {detail}"


def _write(opr: dict[str, Any], text: str, whole: str, int_type: str, fragment: bool) -> None:
    """Fill in a write's ``tag_type``, ``data`` and ``elements`` from its value text."""
    type_name = "REAL" if "." in text else int_type
    cast = _CAST.match(text)
    if cast:
        type_name, text = cast.group(1).upper(), cast.group(2)
        if type_name not in CASTS:
            raise ValueError(f"{whole!r}: unknown cast ({type_name}); use one of {', '.join(CASTS)}")
    if not text.strip():
        raise ValueError(f"{whole!r}: no values to write")
    kind = types.type_of(type_name)
    opr["tag_type"] = kind.code
    try:
        opr["data"] = cast_values(text, type_name)
    except ValueError as exc:
        raise ValueError(f"{whole!r}: {exc}") from None
    count = len(opr["data"])
    if "offset" not in opr and not fragment:
        opr.setdefault("elements", count)
        if count != opr["elements"]:
            raise ValueError(f"{whole!r}: {count} values for {opr['elements']} elements")
        return
    if "elements" not in opr or not kind.size:
        raise ValueError(f"{whole!r}: a fragmented write needs an element range and a fixed-size type")
    offset = opr.get("offset") or 0
    if offset % kind.size:
        raise ValueError(f"{whole!r}: byte offset {offset} is not a multiple of the {kind.size}-byte {kind.name}")
    if offset // kind.size + count > opr["elements"]:
        raise ValueError(f"{whole!r}: {count} values from byte offset {offset} overrun {opr['elements']} elements")


def _parse_one(tag: str, int_type: str, fragment: bool) -> tuple[dict[str, Any], tuple[Any, ...]]:
    whole = tag
    opr: dict[str, Any] = {}
    value = None
    if "=" in tag:
        tag, value = (part.strip() for part in tag.split("=", 1))
        opr["method"] = "write"
    if "+" in tag:
        tag, offset = (part.strip() for part in tag.rsplit("+", 1))
        try:
            opr["offset"] = int(offset, 0) if offset else None
        except ValueError:
            raise ValueError(f"{whole!r}: bad byte offset {offset!r}") from None
        if opr["offset"] is None:
            del opr["offset"]
    if not tag:
        raise ValueError(f"{whole!r}: no tag name")
    opr["path"], count, segments = _path(tag, whole)
    if count is not None:
        opr["elements"] = count
    if value is not None:
        _write(opr, value, whole, int_type, fragment)
    if segments and isinstance(segments[-1], Bit):
        _bit(opr, value, whole)
    return opr, segments


def _bit(opr: dict[str, Any], value: str | None, whole: str) -> None:
    """A ``Tag.5`` write of anything but one 0 or 1 (true or false) is refused here, before the
    run (whose other operations it would otherwise stop).  (The codec refuses bits beyond 63.)"""
    if value is None:
        return
    data = opr["data"]
    if len(data) != 1 or opr.get("offset") is not None:
        raise ValueError(f"{whole!r}: a bit takes one value, not {len(data)}")
    text = _CAST.match(value)
    word = (text.group(2) if text else value).strip().lower()
    try:
        good = word in ("true", "false") or int(word, 0) in (0, 1)
    except ValueError:
        good = False
    if not good:
        raise ValueError(f"{whole!r}: a bit takes 0 or 1 (or true/false), not {word!r}")


def parse_operation(tag: str) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """One tag string's operation dict and its path's segments, as :func:`parse_operations` parses
    it (INT by default): the client plans a string operation from these, with no round trip from
    the dict's path back to segments.

    Raises:
        ValueError: naming the string and the part of it that is wrong.
    """
    if not isinstance(tag, str) or not tag.strip() or tag.strip().startswith("#"):
        raise ValueError(f"{tag!r}: not a tag")
    return _parse_one(tag.strip(), "INT", False)


def parse_operations(tags: Iterable[Any], route_path: Any = None, send_path: Any = None,
                     int_type: str | None = None, fragment: bool = False, **kwds: Any) -> Iterator[dict[str, Any]]:
    """Yield one operation dict per tag string (dicts pass through, with the extra keys added).

    ``Tag``, ``Tag[3]``, ``Tag[1-10]`` (elements 1 to 10), ``Tag[0-9]+16`` (from byte offset
    16: fragmented), ``Tag[1-3]=1,2,3`` (INT, or *int_type*; REAL if any value has a ``.``),
    ``Tag=(DINT)7`` (a cast, range-checked), ``Motor.Speed``, ``@1/1/7`` and
    ``@4/5/{"connection":100}``.  A ``route_path`` / ``send_path`` (or any other keyword)
    given is added to every operation.  Blank strings and ``#`` comments (lines read from a
    file) are skipped.

    Raises:
        ValueError: naming the string and the part of it that is wrong.
    """
    int_type = (int_type or "INT").strip().upper()
    if int_type not in CASTS:
        raise ValueError(f"int_type {int_type!r} is not one of {', '.join(CASTS)}")
    extra = dict(kwds)
    if route_path is not None:
        extra["route_path"] = route_path
    if send_path is not None:
        extra["send_path"] = send_path
    for tag in tags:
        if isinstance(tag, dict):
            opr = dict(tag)
        else:
            if not isinstance(tag, str):
                raise ValueError(f"{tag!r}: an operation must be a tag string or a dict")
            tag = tag.strip()
            if not tag or tag.startswith("#"):
                continue
            opr = _parse_one(tag, int_type, fragment)[0]
        opr.update(extra)
        yield opr


def attribute_operations(paths: Iterable[Any], int_type: str | None = None, **kwds: Any) -> Iterator[dict[str, Any]]:
    """Operations for attribute services: a path ending in an instance reads all its attributes;
    one ending in an attribute (or element) gets it, or sets it when it has a value (SINT unless
    cast).

    Raises:
        ValueError: a path these services cannot address, or Set on a whole instance.
    """
    for op in parse_operations(paths, int_type=int_type or "SINT", **kwds):
        last = op["path"][-1]
        if "instance" in last:
            if "data" in op:
                raise ValueError(f"{format_path(op['path'])}: Set Attribute needs an attribute, not an instance")
            op["method"] = "get_attributes_all"
        elif "symbolic" in last or "attribute" in last or "element" in last:
            op["method"] = "set_attribute_single" if "data" in op else "get_attribute_single"
        else:
            raise ValueError(f"{format_path(op['path'])}: not an instance or attribute address")
        yield op


def format_path(path: Sequence[dict[str, Any]] | str, count: int | None = None) -> str:
    """A path as the original prints it: ``SCADA[1]``, ``SCADA[1-10]``, ``@0x0001/1/7``; several
    indices as asked (``Grid[2,3]``, a range on the last: ``Grid[2,3-4]``), and a bit ``Flags.5``."""
    if isinstance(path, str):
        return path
    text = ""
    numeric: list[str] = []
    elements: list[Any] = []
    for seg in path:
        if "symbolic" in seg:
            text += _indices(elements) + ("." if text else "") + seg["symbolic"]
            elements = []
        elif "bit" in seg:
            text += _indices(elements) + f".{seg['bit']}"
            elements = []
        elif "element" in seg:
            elements.append(seg["element"])
        elif text:
            numeric.append(json.dumps(seg, separators=(",", ":")))
        elif "class" in seg and not numeric:
            numeric.append(f"0x{seg['class']:04X}")
        elif "instance" in seg and len(numeric) == 1:
            numeric.append(str(seg["instance"]))
        elif "attribute" in seg and len(numeric) == 2:
            numeric.append(str(seg["attribute"]))
        else:
            numeric.append(json.dumps(seg, separators=(",", ":")))
    if not text:
        text = "@" + "/".join(numeric)
    if elements and count is not None:
        last = elements[-1]
        return text + _indices(elements[:-1] + [f"{last}-{last + count - 1}"])
    return text + _indices(elements)


def _indices(elements: list[Any]) -> str:
    return f"[{','.join(map(str, elements))}]" if elements else ""
