"""Paths as people write them: Logix tag names, ``@class/instance/attribute``, and the original
cpppo's list of dicts.

Why apart from the wire format: clients and tag files name tags as text (``Line[3].Motor.Speed``,
``Program:Main.Flags.5``, ``@0x6B/1/2``), logs show paths as text, and scripts written for the
original cpppo pass paths as ``[{'symbolic': 'SCADA'}, {'element': 1}]``.  :func:`parse_tag` and
:func:`from_original` turn those into :mod:`~cpppo.enip.codec.segments` values (raising
:class:`LocalProtocolError` for text that is not a path); :func:`format_path` and
:func:`to_original` go back.  No bytes here: :mod:`~cpppo.enip.codec.epath` encodes the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cpppo.enip.codec.errors import LocalProtocolError
from cpppo.enip.codec.segments import LOGICAL_KINDS, Bit, Data, Key, Logical, Port, Segment, Symbolic

__all__ = ["parse_tag", "format_path", "to_original", "from_original"]

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


def _original(seg: Segment) -> dict[str, Any]:
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


def to_original(segments: Iterable[Segment]) -> list[dict[str, Any]]:
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
            if key in LOGICAL_KINDS or key == "member":
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
