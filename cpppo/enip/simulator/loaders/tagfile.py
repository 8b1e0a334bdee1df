"""``--tags FILE``: user-defined types, tags with initial values, and program-scoped tags, in TOML or JSON.

The command line declares simple tags (``SCADA=INT[1000]``); a tags file
declares what a real controller has::

    [types.Motor]                      # a user-defined type (UDT)
    members = [
      { name = "Speed",   type = "REAL" },
      { name = "Running", type = "BOOL" },
      { name = "Faults",  type = "DINT", dims = 4 },
      { name = "Label",   type = "STRING" },
    ]

    [[tags]]
    name = "Motor1"
    type = "Motor"
    value = { Speed = 1.5, Running = true, Label = "conveyor" }

    [[tags]]
    name = "Line"
    type = "Motor"
    dims = [5]

    [[programs.Main.tags]]             # Program:Main.Count
    name = "Count"
    type = "DINT"
    value = 3

Members are laid out as Logix lays them out: each aligned to its size, BOOLs
packed eight to a hidden SINT, the whole rounded up to 4 bytes (8 with a
64-bit member).  The same data as JSON works too (a ``.json`` file).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.codec import types as cip_types
from cpppo.enip.simulator.controller.structures import FIRST_USER_TEMPLATE, PREDEFINED, Member, Structure
from cpppo.enip.simulator.loaders.l5x_data import pack_bools

__all__ = ["TagDefinition", "TagFile", "load", "layout"]

_ATOMIC = ("BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL", "LREAL", "DWORD")


@dataclass
class TagDefinition:
    name: str  # Program:Main.Count for a program-scoped tag
    type: str | Structure  # an atomic type name, or a Structure
    dims: tuple[int, ...] = ()
    value: Any = None


@dataclass
class TagFile:
    types: dict[str, Structure] = field(default_factory=dict)
    tags: list[TagDefinition] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)


def _dims(value: Any, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    dims = (value,) if isinstance(value, int) else tuple(value)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, int) and d > 0 for d in dims):
        raise ValueError(f"{where}: dims {value!r} must be 1 to 3 positive integers")
    return dims


def _align(offset: int, size: int) -> int:
    return (offset + size - 1) // size * size


def layout(name: str, members: list[dict[str, Any]], types: dict[str, Structure], instance: int) -> Structure:
    """A Structure from member declarations, laid out as Logix does."""
    laid: list[Member] = []
    offset = 0
    host_offset, host_bits, hosts = None, 8, 0
    widest = 1
    for spec in members:
        member_name, kind = spec.get("name"), str(spec.get("type", "")).upper()
        where = f"type {name} member {member_name!r}"
        if not member_name or not kind:
            raise ValueError(f"{where}: needs a name and a type")
        dims = _dims(spec.get("dims"), where)
        if len(dims) > 1:
            raise ValueError(f"{where}: a member array has one dimension")
        count = dims[0] if dims else 0
        if kind == "BOOL" and not count:
            if host_offset is None or host_bits == 8:
                host_offset, host_bits = offset, 0
                laid.append(Member(f"ZZZZZZZZZZ{name}{hosts}", cip_types.SINT, offset, hidden=True))
                hosts += 1
                offset += 1
            laid.append(Member(member_name, cip_types.SINT, host_offset, 0, host_bits))
            host_bits += 1
            continue
        host_offset = None
        if kind == "BOOL":  # a BOOL array member: DWORDs, as Logix stores them
            kind, count = "DWORD", (count + 31) // 32
        if kind in _ATOMIC:
            element: cip_types.CIPType | Structure = cip_types.type_of(kind)
            align = element.size or 1
        elif kind in PREDEFINED or kind in {k.upper() for k in types}:
            element = PREDEFINED.get(kind) or next(t for k, t in types.items() if k.upper() == kind)
            align = 8 if element.size % 8 == 0 and element.size >= 8 and _has_64(element) else 4
        else:
            raise ValueError(f"{where}: unknown type {spec.get('type')!r} (define it before it is used)")
        widest = max(widest, align)
        offset = _align(offset, align)
        laid.append(Member(member_name, element, offset, count))
        offset += (element.size or 0) * max(count, 1)
    size = _align(max(offset, 1), 8 if widest >= 8 else 4)
    return Structure(name, tuple(laid), size, instance=instance)


def _has_64(structure: Structure) -> bool:
    return any((isinstance(m.type, Structure) and _has_64(m.type))
               or (not isinstance(m.type, Structure) and (m.type.size or 0) == 8) for m in structure.members)


def _read(path: str) -> dict[str, Any]:
    with open(path, "rb") as file:
        raw = file.read()
    if path.endswith(".json"):
        return json.loads(raw)
    return tomllib.loads(raw.decode("utf-8"))


def _tag(spec: dict[str, Any], types: dict[str, Structure], prefix: str, where: str) -> TagDefinition:
    name, kind = spec.get("name"), str(spec.get("type", "")).upper()
    if not name or not kind:
        raise ValueError(f"{where}: a tag needs a name and a type")
    dims = _dims(spec.get("dims"), f"{where} tag {name!r}")
    known = {k.upper(): v for k, v in types.items()}
    value = spec.get("value")
    if kind == "BOOL" and dims:   # a BOOL array is held in DWORDs, as Logix (and every other loader) holds it
        if len(dims) != 1:
            raise ValueError(f"{where} tag {name!r}: a BOOL array has one dimension")
        bits = value if isinstance(value, list) else None
        if value is not None and (bits is None or len(bits) > dims[0]):
            raise ValueError(f"{where} tag {name!r}: a BOOL[{dims[0]}] takes a list of at most {dims[0]} values")
        return TagDefinition(prefix + name, "DWORD", ((dims[0] + 31) // 32,),
                             pack_bools([bool(b) for b in bits]) if bits is not None else None)
    if kind in _ATOMIC or kind == "SSTRING":   # (a CIP SSTRING tag; no member: it has no fixed size)
        resolved: str | Structure = kind
    elif kind in PREDEFINED:
        resolved = PREDEFINED[kind]
    elif kind in known:
        resolved = known[kind]
    else:
        raise ValueError(f"{where} tag {name!r}: unknown type {spec.get('type')!r}")
    return TagDefinition(prefix + name, resolved, dims, value)


def load(paths: list[str], first_instance: int = FIRST_USER_TEMPLATE) -> TagFile:
    """Read tags files (TOML, or JSON by extension) into types, tags and programs."""
    result = TagFile()
    instance = first_instance
    for path in paths:
        if not os.path.exists(path):
            raise ValueError(f"tags file {path!r} not found")
        try:
            content = _read(path)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"tags file {path!r}: {error}") from None
        for name, spec in (content.get("types") or {}).items():
            if name.upper() in PREDEFINED or name.upper() in _ATOMIC or name in result.types:
                raise ValueError(f"{path}: type {name!r} is already defined")
            result.types[name] = layout(name, list(spec.get("members") or []), result.types, instance)
            instance += 1
        for spec in content.get("tags") or []:
            result.tags.append(_tag(spec, result.types, "", path))
        for program, spec in (content.get("programs") or {}).items():
            if program not in result.programs:
                result.programs.append(program)
            for tag in spec.get("tags") or []:
                result.tags.append(_tag(tag, result.types, f"Program:{program}.", path))
    return result
