"""``--l5x FILE``: a Studio 5000 / RSLogix 5000 L5X export as the simulator's types and tags.

People testing an HMI or a historian want the simulator to be *their* PLC, and
the L5X export already describes it: ``<DataTypes>`` (user-defined types, with
the hidden SINT hosts of their BOOL members and each BIT member's ``Target``
and ``BitNumber``), ``<AddOnInstructionDefinitions>`` (instances are
structures of their parameters and local tags), controller ``<Tags>`` and each
``<Program>``'s tags, with initial values.  The result is a :class:`L5XFile`,
a :class:`~.tagfile.TagFile` that ``EnipService.load_tags`` serves as it
serves ``--tags``, plus what only an export has: aliases, each tag's external
access and constness, the controller's name and processor type.

Produced and consumed tags are loaded as base tags: their ``<ProduceInfo>`` and
``<ConsumeInfo>`` describe connections to other controllers, which a simulator
does not make, and a client reads and writes them as any other tag.  A
``Constant="true"`` tag refuses client writes as a Read Only tag does.

UDT members are placed as Logix places them (each aligned to its size,
structures to 4 or 8, the whole rounded to 4 or 8), but the BOOL hosts and bit
numbers are the export's own, never re-derived, so raw ``<Data>`` bytes land
where the controller had them.  The XML is read with expat, refusing DTDs and
entities; every problem is one ValueError naming file, line and element.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET
from xml.parsers import expat

from cpppo.enip.codec import types as cip_types
from cpppo.enip.codec.epath import Symbolic, parse_tag
from cpppo.enip.simulator.controller import members
from cpppo.enip.simulator.controller.device import Refusal
from cpppo.enip.simulator.controller.structures import FIRST_USER_TEMPLATE, PREDEFINED, Member, StructTag, Structure
from cpppo.enip.simulator.loaders import l5x_data
from cpppo.enip.simulator.loaders.l5x_data import Kind, where
from cpppo.enip.simulator.loaders.tagfile import TagDefinition, TagFile, layout

__all__ = ["L5XTag", "L5XFile", "load_l5x", "parse", "resolve_aliases", "apply", "merge", "ACCESS", "ATOMIC"]

log = logging.getLogger(__name__)

#: ExternalAccess as the Symbol object's attribute 10 reports it (pycomm3's reading of the codes).
ACCESS = {"READ/WRITE": 0, "READ ONLY": 2, "NONE": 3}
ATOMIC = ("BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL", "LREAL", "DWORD")


@dataclass
class L5XTag(TagDefinition):
    """A tag as an export declares it: also its external access (0 read/write, 2 read only, 3 none)
    and whether it is a constant (clients cannot write it, whatever its external access)."""

    access: int = 0
    description: str = ""
    constant: bool = False


@dataclass
class L5XFile(TagFile):
    """What the exports hold: types, tags and programs, plus aliases (alias name: base tag name),
    the controller's name and processor type (for Identity and pycomm3's ``plc.info``)."""

    aliases: dict[str, str] = field(default_factory=dict)
    controller: str = ""
    processor: str = ""
    #: Each file's path and ``<Controller>`` element, for what else reads the export (its program:
    #: :func:`cpppo.logic.program.read_programs`), so no file is parsed twice.
    trees: list[tuple[str, Any]] = field(default_factory=list, repr=False, compare=False)


class _Element(ET.Element):
    """An element that remembers the line it started on, for error messages."""

    line: int = 0


def parse(path: str) -> ET.Element:
    """The XML tree of *path* (lines recorded); DTDs and entities are refused, never resolved."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as error:
        raise ValueError(f"L5X file {path!r}: {error.strerror}") from None
    parser = expat.ParserCreate()
    stack: list[_Element] = []
    roots: list[_Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag, attrs)
        element.line = parser.CurrentLineNumber
        if stack:
            stack[-1].append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            top = stack[-1]
            if len(top):
                last = top[-1]
                last.tail = (last.tail or "") + data
            else:
                top.text = (top.text or "") + data

    def refuse(*args: Any) -> None:
        raise ValueError(f"{path}:{parser.CurrentLineNumber}: DTDs and entities are not accepted in an L5X")

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = lambda *args: 0
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as error:
        raise ValueError(f"{path}:{error.lineno}: not well-formed XML ({expat.ErrorString(error.code)})") from None
    except LookupError as error:  # an encoding= the XML declaration names and Python does not know
        raise ValueError(f"{path}:1: {error}") from None
    if not roots or roots[0].tag != "RSLogix5000Content":
        raise ValueError(f"{path}: not an L5X export (the root is not <RSLogix5000Content>)")
    return roots[0]


def _dims(text: str | None, place: str, members: bool = False) -> tuple[int, ...]:
    """``Dimensions="5 5"`` (tags, 1 to 3) or ``Dimension="10"`` (members, one; 0 for none)."""
    try:
        dims = tuple(int(d) for d in (text or "").replace(",", " ").split())
    except ValueError:
        raise ValueError(f"{place}: bad dimensions {text!r}") from None
    if members:
        dims = tuple(d for d in dims if d)
    if len(dims) > (1 if members else 3) or not all(d > 0 for d in dims):
        raise ValueError(f"{place}: dimensions {text!r} must be {'one' if members else '1 to 3'} positive")
    return dims


def _align(offset: int, size: int) -> int:
    return (offset + size - 1) // size * size


def _has_64(structure: Structure) -> bool:
    return any(_has_64(m.type) if isinstance(m.type, Structure) else (m.type.size or 0) == 8
               for m in structure.members)


class _Types:
    """The types of one load: built on first use, so a type may be declared after a type using it."""

    def __init__(self, instance: int) -> None:
        self.specs: dict[str, tuple[str, ET.Element]] = {}  # NAME: (path, DataType or AOI element)
        self.built: dict[str, Structure | None] = {}
        self.order: list[Structure] = []
        self.building: list[str] = []
        self.instance = instance

    def declare(self, path: str, element: ET.Element) -> None:
        name = element.get("Name")
        if not name:
            raise ValueError(f"{where(path, element)}: a type without a Name")
        if name.upper() in PREDEFINED or name.upper() in ATOMIC:
            raise ValueError(f"{where(path, element)}: {name} is a predefined type")
        self.specs.setdefault(name.upper(), (path, element))  # Use="Context" repeats: the first stands

    def resolve(self, name: str) -> Kind | None:
        """An atomic type name, a Structure, or None for a type we cannot serve (eg. MESSAGE, PID)."""
        upper = name.upper()
        if upper in ATOMIC:
            return upper
        if upper in PREDEFINED:
            return PREDEFINED[upper]
        if upper in self.built:
            return self.built[upper]
        if upper not in self.specs:
            return None
        path, element = self.specs[upper]
        if upper in self.building:
            raise ValueError(f"{where(path, element)}: {name} contains itself ({' > '.join(self.building)})")
        self.building.append(upper)
        try:
            structure = (self._aoi(path, element) if element.tag == "AddOnInstructionDefinition"
                         else self._udt(path, element))
        finally:
            self.building.pop()
        self.built[upper] = structure
        if structure is not None:
            self.order.append(structure)
        return structure

    def _next_instance(self) -> int:
        self.instance += 1
        return self.instance - 1

    def _udt(self, path: str, element: ET.Element) -> Structure | None:
        """A ``<DataType>``: members placed in order, BIT members on the export's own hosts."""
        name = element.get("Name") or ""
        laid: list[Member] = []
        offset, widest = 0, 1
        declared = [m for ms in element.findall("Members") for m in ms.findall("Member")]
        if not declared:
            raise ValueError(f"{where(path, element)}: a data type without members")
        for spec in declared:
            place = where(path, spec)
            member, kind = spec.get("Name"), (spec.get("DataType") or "").upper()
            if not member or not kind:
                raise ValueError(f"{place}: a member needs a Name and a DataType")
            hidden = (spec.get("Hidden") or "false").lower() == "true"
            if kind == "BIT":
                target = next((m for m in laid if m.name.upper() == (spec.get("Target") or "").upper()), None)
                if target is None or isinstance(target.type, Structure) or target.count or target.bit is not None:
                    raise ValueError(f"{place}: Target {spec.get('Target')!r} is not an earlier integer member")
                try:
                    bit = int(spec.get("BitNumber") or "")
                except ValueError:
                    raise ValueError(f"{place}: bad BitNumber {spec.get('BitNumber')!r}") from None
                if not 0 <= bit < (target.type.size or 1) * 8:
                    raise ValueError(f"{place}: BitNumber {bit} outside its {target.type.name} host")
                laid.append(Member(member, target.type, target.offset, 0, bit, hidden))
                continue
            dims = _dims(spec.get("Dimension"), place, members=True)
            count = dims[0] if dims else 0
            if kind == "BOOL":
                if not count:
                    raise ValueError(f"{place}: a single BOOL member is a BIT on a hidden SINT in an L5X")
                kind, count = "DWORD", (count + 31) // 32
            resolved = self.resolve(kind)
            if resolved is None:
                log.warning("%s: type %s of member %s is not served: %s skipped", place, kind, member, name)
                return None
            if isinstance(resolved, Structure):
                align, size = (8 if _has_64(resolved) else 4), resolved.size
                one: Any = resolved
            else:
                one = cip_types.type_of(resolved)
                align = size = one.size or 1
            widest = max(widest, align)
            offset = _align(offset, align)
            laid.append(Member(member, one, offset, count, None, hidden))
            offset += size * max(count, 1)
        size = _align(max(offset, 1), 8 if widest >= 8 else 4)
        return Structure(name, tuple(laid), size, instance=self._next_instance())

    def _aoi(self, path: str, element: ET.Element) -> Structure | None:
        """An Add-On Instruction: a structure of its parameters (InOut ones are references, not
        data) and local tags, BOOLs packed as in a UDT."""
        name = element.get("Name") or ""
        members: list[dict[str, Any]] = []
        for section, item in (("Parameters", "Parameter"), ("LocalTags", "LocalTag")):
            for spec in (s for block in element.findall(section) for s in block.findall(item)):
                place = where(path, spec)
                if (spec.get("Usage") or "").lower() == "inout":
                    continue
                kind = spec.get("DataType") or ""
                if self.resolve(kind) is None:
                    log.warning("%s: type %s is not served: Add-On Instruction %s skipped", place, kind, name)
                    return None
                dims = _dims(spec.get("Dimensions"), place, members=True)
                members.append({"name": spec.get("Name"), "type": kind.upper(),
                                "dims": list(dims) or None, "hidden": False})
        if not members:
            raise ValueError(f"{where(path, element)}: an Add-On Instruction without parameters")
        known = {s.name: s for s in self.built.values() if s is not None}
        try:
            return layout(name, members, known, self._next_instance())
        except ValueError as error:
            raise ValueError(f"{where(path, element)}: {error}") from None


def _value(tag: ET.Element, kind: Kind, dims: tuple[int, ...], path: str, types: _Types) -> Any:
    """The tag's initial value: Decorated data first, then String, then raw bytes; None if none."""
    datas = tag.findall("Data")
    for data in datas:
        if data.get("Format") == "Decorated":
            return l5x_data.decorated(data, kind, dims, path, types.resolve)
    for data in datas:
        if data.get("Format") == "String" and not dims:
            return l5x_data.text_value(data, kind, path)
    for data in datas:
        if data.get("Format") is None and (data.text or "").strip():
            return l5x_data.from_bytes(data, kind, dims, path)
    if any(data.get("Format") == "L5K" for data in datas):
        log.info("%s: only L5K data (not read): the tag starts at zero", where(path, tag))
    return None


def _tag(tag: ET.Element, prefix: str, path: str, types: _Types, result: L5XFile,
         aliases: list[tuple[str, str, str, str]], seen: set[str]) -> None:
    place = where(path, tag)
    name, kind_name = tag.get("Name"), tag.get("DataType") or ""
    if not name:
        raise ValueError(f"{place}: a tag without a Name")
    if (prefix + name).upper() in seen:
        raise ValueError(f"{place}: tag {prefix}{name} is declared twice")
    seen.add((prefix + name).upper())
    if tag.get("TagType") == "Alias":  # (Produced and Consumed tags are held as Base tags are)
        aliases.append((prefix + name, prefix, tag.get("AliasFor") or "", place))
        return
    if tag.get("Usage") == "InOut":
        return
    access = (tag.get("ExternalAccess") or "Read/Write").upper()
    if access not in ACCESS:
        raise ValueError(f"{place}: ExternalAccess {tag.get('ExternalAccess')!r}")
    kind = types.resolve(kind_name)
    if kind is None:
        log.info("%s: tag %s%s of type %r is not served: skipped", place, prefix, name, kind_name)
        return
    dims = _dims(tag.get("Dimensions"), place)
    stored: Kind = kind
    stored_dims = dims
    if kind == "BOOL" and dims:  # a BOOL array is held in DWORDs, as Logix holds it
        if len(dims) != 1:
            raise ValueError(f"{place}: a BOOL array has one dimension")
        stored, stored_dims = "DWORD", ((dims[0] + 31) // 32,)
    value = _value(tag, stored, stored_dims, path, types)
    description = (tag.findtext("Description") or "").strip()
    constant = (tag.get("Constant") or "false").lower() == "true"
    result.tags.append(L5XTag(prefix + name, stored, stored_dims, value, ACCESS[access], description, constant))


def resolve_aliases(result: L5XFile, aliases: list[tuple[str, str, str, str]]) -> None:
    """Aliases share their base tag's storage: of a whole tag, an element, a member or a bit of
    an integer (``Motor1.Speed``, ``Lines[1].Spares[1]``, ``Counter.3``); the target is kept fully
    named (a program's tag prefixed).  Aliases of I/O points are not served (one log line each)."""
    names = {t.name.upper(): t.name for t in result.tags}
    for alias, prefix, target, place in aliases:
        try:
            segments = parse_tag(target)
        except ValueError:
            segments = ()
        if not segments or not isinstance(segments[0], Symbolic):
            log.info("%s: alias %s for %r is not served", place, alias, target)
            continue
        head = segments[0].name
        if prefix and (prefix + head).upper() in names:
            result.aliases[alias] = prefix + target
        elif head.upper() in names or any(n.startswith(head.upper() + ".") for n in names):
            result.aliases[alias] = target
        else:
            log.info("%s: alias %s for %r (no such tag here) is not served", place, alias, target)


def load_l5x(paths: list[str], first_instance: int = FIRST_USER_TEMPLATE) -> L5XFile:
    """Read L5X exports into types (in dependency order), tags with values, programs and aliases."""
    result = L5XFile()
    types = _Types(first_instance)
    trees: list[tuple[str, ET.Element]] = []
    for path in paths:
        if not os.path.exists(path):
            raise ValueError(f"L5X file {path!r} not found")
        root = parse(path)
        controller = root.find("Controller")
        if controller is None:
            raise ValueError(f"{where(path, root)}: no <Controller>")
        if controller.get("Use") != "Context" or not result.controller:
            result.controller = controller.get("Name") or result.controller
            result.processor = controller.get("ProcessorType") or result.processor
        for element in (d for block in controller.findall("DataTypes") for d in block.findall("DataType")):
            types.declare(path, element)
        for element in (a for block in controller.findall("AddOnInstructionDefinitions")
                        for a in block.findall("AddOnInstructionDefinition")):
            types.declare(path, element)
        for module in (m for block in controller.findall("Modules") for m in block.findall("Module")):
            log.info("%s: module %s skipped (I/O is not simulated)", where(path, module), module.get("Name"))
        trees.append((path, controller))
    for name in list(types.specs):
        types.resolve(name)
    for structure in types.order:
        result.types[structure.name] = structure
    aliases: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    for path, controller in trees:
        for tag in (t for block in controller.findall("Tags") for t in block.findall("Tag")):
            _tag(tag, "", path, types, result, aliases, seen)
        for program in (p for block in controller.findall("Programs") for p in block.findall("Program")):
            program_name = program.get("Name")
            if not program_name:
                raise ValueError(f"{where(path, program)}: a program without a Name")
            if program_name not in result.programs:
                result.programs.append(program_name)
            for tag in (t for block in program.findall("Tags") for t in block.findall("Tag")):
                _tag(tag, f"Program:{program_name}.", path, types, result, aliases, seen)
    resolve_aliases(result, aliases)
    result.trees = trees
    return result


def apply(service: Any, exported: L5XFile) -> None:
    """What an export adds to a service beyond ``load_tags``: each tag's external access (the
    attribute the Symbol object reports and the tag services check) and constness (writes
    refused), its aliases (the alias name resolves to the base tag's own Attribute: one storage),
    and the controller's name (class 0x64, what pycomm3 shows as ``plc.info["name"]``).  Call it after
    ``service.load_tags(exported)``."""
    for tag in exported.tags:
        if isinstance(tag, L5XTag) and tag.name in service.tags:
            service.tags[tag.name].external_access = tag.access
            service.tags[tag.name].constant = tag.constant
    for alias, target in exported.aliases.items():
        try:
            attribute, within = service.tags.locate(parse_tag(target))
            if isinstance(attribute, StructTag) and within:
                members.resolve(attribute, list(within))  # (the path must name a part of the tag)
        except (Refusal, ValueError) as error:
            log.info("alias %s for %r is not served: %s", alias, target, error)
            continue
        service.tags.alias(alias, attribute, tuple(within))
    if exported.controller:
        try:
            service.directory.lookup(0x64, 1).name = exported.controller
        except Refusal:  # a service without the controller-name object: nothing to name
            log.info("controller name %s not served", exported.controller)


def merge(into: L5XFile, other: L5XFile) -> L5XFile:
    """*other*'s types, tags, programs and aliases added to *into* (an L5X's, then a CSV's)."""
    into.types.update({k: v for k, v in other.types.items() if k not in into.types})
    into.tags.extend(other.tags)
    into.programs.extend(p for p in other.programs if p not in into.programs)
    into.aliases.update(other.aliases)
    into.trees.extend(other.trees)
    return into
