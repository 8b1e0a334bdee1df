"""Tag browsing: the Symbol object (0x6B) and the controller name (class 0x64).

pycomm3's ``LogixDriver.open()`` and pylogix's ``GetTagList`` discover a
controller's tags by asking the Symbol class for its instances with Get
Instance Attribute List (0x55): one instance per tag, numbered from 1, each
with the attributes asked for, in the order asked, a page at a time (status
0x06 while more remain; the client continues from the last instance + 1).
pycomm3 also reads the controller's name from class 0x64 instance 1.
"""

from __future__ import annotations

from typing import Any

from cpppo.enip.codec import browse, cip
from cpppo.enip.codec import types as cip_types
from cpppo.enip.codec.epath import Bit
from cpppo.enip.simulator.controller import members
from cpppo.enip.simulator.controller.device import Attribute, Object, Refusal
from cpppo.enip.simulator.controller.names import declared
from cpppo.enip.simulator.controller.structures import STRUCT_BIT, StructTag, Structure
from cpppo.enip.simulator.controller.tags import NO_ACCESS, Tags

__all__ = ["SymbolBrowser", "ProgramName", "symbol_type"]

PARTIAL = 0x06
#: The Symbol type of a program entry (a system symbol, bit 12): what a ControlLogix lists.
PROGRAM_TYPE = 0x1068
ARRAY_1D = 1 << 13
#: Software control bit 26: a base tag (not an alias), as pycomm3 reads it.
BASE_TAG = 1 << 26


def dimensions(attribute: Attribute) -> tuple[int, ...]:
    """A tag's array dimensions (empty for a scalar)."""
    dims = getattr(attribute, "dims", None)
    if dims is None:
        dims = () if attribute.scalar else (len(attribute),)
    return tuple(dims)


def _three(dims: tuple[int, ...]) -> tuple[int, int, int]:
    """The Symbol object's three dimension words: *dims*, padded with zeros (or cut) to three."""
    padded = dims + (0, 0, 0)
    return padded[0], padded[1], padded[2]


def symbol_type(attribute: Attribute) -> int:
    """The Symbol object's type word: atomic type code (or bit 15 and the template instance of a
    structure), and the number of array dimensions (bits 13-14)."""
    structure = getattr(attribute, "structure", None)
    code = (STRUCT_BIT | structure.instance) if structure is not None else attribute.cip.code & 0xFFF
    return code | (len(dimensions(attribute)) * ARRAY_1D)


class ProgramName(Object):
    """Class 0x64 instance 1: Get Attributes All returns the controller's name (a CIP STRING)."""

    class_id = 0x64

    def __init__(self, name: str = "Simulator", instance_id: int = 1) -> None:
        super().__init__(instance_id)
        self.name = name

    def get_attributes_all(self) -> Any:
        return cip_types.encode_string(self.name, cip_types.STRING)


class SymbolBrowser:
    """Answers Get Instance Attribute List on the Symbol class from a :class:`Tags` table."""

    def __init__(self, tags: Tags, owner: Any = None) -> None:
        self.tags = tags
        self.owner = owner  # the service: its program names

    def instances(self, program: str | None = None) -> list[tuple[int, Any]]:
        """(instance, tag) pairs: controller-scoped tags and one ``Program:<name>`` entry per program,
        or with *program* (``Program:Main``) that program's tags, named without the prefix."""
        listed: list[tuple[int, Any]] = []
        prefix = f"{program}." if program else None
        for number, attribute in enumerate(self.tags, start=1):
            name = attribute.name
            if getattr(attribute, "external_access", 0) == NO_ACCESS:  # ExternalAccess None: not browsed
                continue
            if prefix is None and not name.startswith("Program:"):
                listed.append((number, attribute))
            elif prefix is not None and name.startswith(prefix):
                listed.append((number, (name[len(prefix):], attribute)))
        base = len(self.tags)
        for alias, attribute, within in self.tags.aliases():  # alias tags (an export's): listed as aliases
            base += 1
            if getattr(attribute, "external_access", 0) == NO_ACCESS:
                continue
            if prefix is None and not alias.startswith("Program:"):
                listed.append((base, (alias, attribute, within)))
            elif prefix is not None and alias.startswith(prefix):
                listed.append((base, (alias[len(prefix):], attribute, within)))
        if prefix is None and self.owner is not None:
            for offset, name in enumerate(getattr(self.owner, "programs", ()), start=1):
                listed.append((base + offset, f"Program:{name}"))
        return listed

    def describe(self, instance: int, entry: Any) -> browse.SymbolInstance:
        if isinstance(entry, str):  # a program: a symbol of the program type, no data
            return browse.SymbolInstance(instance, entry, PROGRAM_TYPE, 0, instance << 16, 0, 0, (0, 0, 0), 0)
        name, attribute = entry[:2] if isinstance(entry, tuple) else (entry.name, entry)
        control = 0 if isinstance(entry, tuple) and len(entry) == 3 else BASE_TAG  # bit 26 clear: an alias
        access = getattr(attribute, "external_access", 0)
        if isinstance(entry, tuple) and len(entry) == 3 and entry[2]:  # an alias of a part of a tag
            kind, shape, size = self._part(attribute, entry[2])
            return browse.SymbolInstance(instance, name, kind | len(shape) * ARRAY_1D, 0, instance << 16, control,
                                         size, _three(shape), access)
        dims = _three(dimensions(attribute))
        structure = getattr(attribute, "structure", None)
        size = structure.size if structure is not None else attribute.cip.size or 0
        return browse.SymbolInstance(instance, name, symbol_type(attribute), 0, instance << 16,
                                     control, size * len(attribute), dims, access)

    @staticmethod
    def _part(attribute: Attribute, within: tuple[Any, ...]) -> tuple[int, tuple[int, ...], int]:
        """The type word, dimensions and byte size of the part of a tag an alias names."""
        if isinstance(attribute, StructTag):
            view = members.resolve(attribute, list(within))
            kind = (STRUCT_BIT | view.type.instance) if isinstance(view.type, Structure) else (
                cip_types.BOOL.code if view.bit is not None else view.type.code)
            shape = (view.available,) if view.available > 1 else ()
            return kind, shape, (view.size or 1) * view.available
        if within and isinstance(within[-1], Bit):  # a bit of an integer: a BOOL
            return cip_types.BOOL.code, (), 1
        return attribute.cip.code & 0xFFF, (), attribute.cip.size or 0

    def program(self, path: str) -> str:
        """``Program:<name>`` as declared, for a path naming a program in any case (a controller
        matches ``PROGRAM:mainprogram`` too); 0x04 for a program it does not have."""
        head, colon, name = path.partition(":")
        found = declared(name, getattr(self.owner, "programs", ())) if colon and head.upper() == "PROGRAM" else None
        if found is None:
            raise Refusal(0x04, message=f"no program {path!r}")
        return f"Program:{found}"

    def get_instance_attribute_list(self, request: cip.Request, start: int, budget: int,
                                    program: str | None = None) -> cip.Reply:
        body = request.body
        attributes = tuple(getattr(body, "attributes", ()))
        unknown = [a for a in attributes if a not in browse.SYMBOL_ATTRIBUTES]
        if unknown or not attributes:
            raise Refusal(0x0A if unknown else 0x13, message=f"Symbol attributes {unknown or attributes}")
        room = budget - 4  # the reply header
        parts: list[bytes] = []
        used = 0
        status = 0
        if program is not None:
            program = self.program(program)
        for number, entry in self.instances(program):
            if number < start:
                continue
            part = browse.encode_symbol_instances([self.describe(number, entry)], attributes)
            if used + len(part) > room:
                status = PARTIAL
                break
            parts.append(part)
            used += len(part)
        if status == PARTIAL and not parts:
            raise Refusal(0x11, message="a single symbol does not fit the reply")
        return cip.Reply(request.service | 0x80, status, data=b"".join(parts))



class Templates:
    """The Template object (0x6C): each structure type's attributes and definition, by instance id."""

    def __init__(self) -> None:
        self.by_instance: dict[int, Structure] = {}

    def add(self, structure: Structure) -> None:
        """Register *structure* (and the structures its members use)."""
        if self.by_instance.get(structure.instance) is structure:
            return
        self.by_instance[structure.instance] = structure
        for member in structure.members:
            if isinstance(member.type, Structure):
                self.add(member.type)

    def named(self, name: str) -> Structure | None:
        """The registered structure of this (case-insensitive) name, if any."""
        wanted = name.upper()
        return next((s for s in self.by_instance.values() if s.name.upper() == wanted), None)

    def lookup(self, instance: int) -> Structure:
        try:
            return self.by_instance[instance]
        except KeyError:
            raise Refusal(0x05, message=f"no template instance {instance}") from None

    def serve(self, request: cip.Request, instance: int, budget: int) -> cip.Reply:
        structure = self.lookup(instance)
        reply_service = request.service | 0x80
        if request.service == 0x03:
            attributes = structure.attributes()
            values = [browse.AttributeValue(a, 0, attributes[a]) if a in attributes
                      else browse.AttributeValue(a, 0x14) for a in request.body.attributes]
            return cip.Reply(reply_service, data=browse.encode_attribute_list_reply(values))
        if request.service == 0x4C and request.body is not None:
            definition = structure.definition()
            offset, count = request.body.offset, request.body.count
            if offset > len(definition):
                raise Refusal(0xFF, (0x2105,), f"template offset {offset} beyond {len(definition)}")
            length = min(count, len(definition) - offset, budget - 4)
            # More to come only if the reply had to stop short of what was asked (pycomm3 and
            # pylogix ask for slightly different lengths: each gets what it asked for).
            status = PARTIAL if length < count and offset + length < len(definition) else 0
            return cip.Reply(reply_service, status, data=definition[offset:offset + length])
        raise Refusal(0x08, message=f"service 0x{request.service:02X} not supported by the Template object")
