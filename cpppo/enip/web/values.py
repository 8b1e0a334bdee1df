"""Tag elements as the web API shows and takes them: numbers for atomic tags, JSON for structures.

An atomic tag's element is a number (or true/false for BOOL) checked against its
CIP type's range.  A structure tag (STRING, TIMER, user-defined types: a
:class:`~.structures.StructTag`, held as raw bytes) shows each element as a JSON
object of its members (nested as the type is; BOOL members as true/false), and a
STRING-like element as its text; a write takes the same JSON (only the members
given change) or, for a STRING-like tag, plain text.  Values are checked before
anything is stored, so a refused write leaves the tag as it was.
"""

from __future__ import annotations

import json
import math
from typing import Any

from cpppo.enip.simulator.controller.structures import Structure, decode, fill, is_string

__all__ = ["BadValue", "show", "parse", "is_structure", "is_string"]


class BadValue(ValueError):
    """A value the tag cannot take (the API answers 400 with its message)."""


def is_structure(attribute: Any) -> bool:
    return isinstance(getattr(attribute, "structure", None), Structure)


def show(attribute: Any, values: Any) -> Any:
    """*values* read from *attribute* (one element, a list, or a structure's bytes) as JSON-able data."""
    if not is_structure(attribute):
        return values
    structure = attribute.structure
    raw = bytes(values)
    elements = [decode(raw, i * structure.size, structure) for i in range(len(raw) // structure.size)]
    return elements


def _atomic(attribute: Any, item: Any) -> Any:
    cip = attribute.cip
    try:
        if cip.name in ("REAL", "LREAL"):
            if isinstance(item, bool):
                raise ValueError
            value: Any = float(item)
            if not math.isfinite(value):  # a controller's value a client reads back as a number
                raise ValueError
        elif cip.name == "BOOL":
            if isinstance(item, str):
                lowered = item.strip().lower()
                value = lowered in ("true", "yes", "on") or (lowered not in ("false", "no", "off") and
                                                             bool(int(lowered, 0)))
            else:
                value = bool(item)
        elif isinstance(item, str):
            value = int(item, 0)
        elif isinstance(item, int) and not isinstance(item, bool):
            value = item
        else:
            raise ValueError
        cip.encode([value])
    except Exception:
        raise BadValue(f"{item!r} is not a {cip.name}") from None
    return value


def _structured(attribute: Any, current: bytes, item: Any) -> bytes:
    structure = attribute.structure
    raw = bytearray(current)
    try:
        fill(raw, 0, structure, item)
    except Exception as error:  # fill's ValueError, a Refusal for an unknown member, a codec error
        raise BadValue(f"{structure.name}: {error}") from None
    return bytes(raw)


def parse(attribute: Any, text: str, current: list[bytes] | None, count: int | None) -> list[Any]:
    """The values *text* gives for *count* elements (one if None) of *attribute*.

    *text* is one value, or a JSON list of them when *count* is given.  For a structure
    tag, *current* holds the elements' bytes now, so members not given keep their values.
    """
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = text  # a bare word: a number as text, true/false, or a STRING's text
    if count is None and is_structure(attribute) and is_string(attribute.structure) \
            and not isinstance(data, (str, dict)):
        data = text  # a STRING of digits, say: the text as given
    if count is None:
        items = [data]
    elif isinstance(data, list) and len(data) == count:
        items = data
    else:
        raise BadValue(f"{text!r} is not a JSON list of {count} values, eg. [1,2,3]")
    if not is_structure(attribute):
        return [_atomic(attribute, item) for item in items]
    return [_structured(attribute, old, item) for old, item in zip(current or [], items)]
