"""One simulated ControlLogix as a plain object: identity, CIP objects, tags, connections, faults.

A :class:`Controller` knows nothing of sockets, sessions or encapsulation: it
is what the :mod:`~cpppo.enip.simulator.router` serves CIP requests against,
and what the web API and fault injection change.  It is built with a clock (a
``twisted.internet.task.Clock`` in tests; the reactor when served) because its
Forward Open connections time out and its Wall Clock object tells the time;
nothing else of Twisted's reaches it.  Several controllers live in one process
side by side: nothing here is module-level state.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from cpppo.enip.codec import encap
from cpppo.enip.simulator.controller.clock import WallClock
from cpppo.enip.simulator.controller.connections import ConnectionTable
from cpppo.enip.simulator.controller.device import (
    TCPIP,
    Attribute,
    ConnectionManager,
    Directory,
    EthernetLink,
    Identity,
    MessageRouter,
)
from cpppo.enip.simulator.controller.faults import ControllerFault
from cpppo.enip.simulator.controller.structures import PREDEFINED, StructTag, Structure, fill
from cpppo.enip.simulator.controller.symbols import ProgramName, SymbolBrowser, Templates
from cpppo.enip.simulator.controller.tags import Tags

__all__ = ["Controller"]


class Controller:
    """One simulated ControlLogix: give it tags; a router serves requests against it.

    *route_path*: None accepts any Unconnected Send route; a tuple of segments
    (``(Port(1, 0),)``) accepts only that route; False accepts only requests
    without routing (``--simple``).  *delay* is seconds, or a (low, high) range
    drawn from for every reply.  *address* is where clients reach it (List
    Identity reports it; the transport sets the port actually bound).
    *identity_class*, *message_router_class* and *connection_manager_class* make its
    Identity (with the *identity* keywords), Message Router (with the directory) and
    Connection Manager: subclasses of ours, as the original's ``main()`` accepts them.
    """

    def __init__(self, clock: Any, *, route_path: Any = None, slot: int = 0,
                 delay: float | tuple[float, float] = 0.0, identity: dict[str, Any] | None = None,
                 address: tuple[str, int] = ("0.0.0.0", 44818),
                 on_access: Callable[..., None] | None = None, identity_class: type = Identity,
                 message_router_class: type = MessageRouter,
                 connection_manager_class: type = ConnectionManager) -> None:
        self.clock = clock
        self.route_path = route_path
        self.slot = slot
        self.delay: float | tuple[float, float] = delay
        self.address = address
        self.directory = Directory()
        self.identity = self.directory.add(identity_class(**(identity or {})))
        self.message_router = self.directory.add(message_router_class(self.directory))
        self.directory.add(connection_manager_class())
        self.directory.add(TCPIP(address=address[0] if address[0] not in ("", "0.0.0.0") else "127.0.0.1"))
        self.directory.add(EthernetLink())
        self.tags = Tags(on_access=on_access)
        self.message_router.tags = self.tags  # (the original's tags are also its attributes @2/1/N)
        self.symbols = SymbolBrowser(self.tags, self)
        self.templates = Templates()
        self.programs: list[str] = []  # program names: their tags are named Program:<name>.<tag>
        self.directory.add(ProgramName())
        self.directory.add(WallClock(clock=clock.seconds))  # the controller's clock (0x8B): pylogix, pycomm3
        self.fault = self.directory.add(ControllerFault())  # its fault record (0x73): pylogix's Message()
        self.connections = ConnectionTable(clock, slot=slot, routing=route_path is not False)
        self.requests = 0  # encapsulation requests served (the web API's statistics)
        self.logic: Any = None  # the program it runs (a cpppo.logic.scan.Logic), if its L5X has one
        self._random = random.Random()

    def __repr__(self) -> str:
        return f"<Controller {self.identity.product_name!r} at {self.address[0]}:{self.address[1]}>"

    # --- configuration --------------------------------------------------------------
    def add_tag(self, name: str, type_cls: Any, length: int = 1, attribute_class: type = Attribute,
                default: Any = 0, dims: tuple[int, ...] | None = None) -> Attribute:
        """Create a tag of *length* elements with *attribute_class*.

        *dims* are its array dimensions (default: a scalar if *length* is 1, else one
        dimension); an array of one element is still an array.
        """
        if dims is None:
            dims = () if length == 1 else (length,)
        structure = type_cls if isinstance(type_cls, Structure) else (
            PREDEFINED.get(type_cls.upper()) or self.templates.named(type_cls) if isinstance(type_cls, str) else None)
        if structure is not None:
            self.templates.add(structure)
            return self.tags.add(StructTag(name, structure, dims=tuple(dims)))
        if isinstance(type_cls, str) and type_cls.upper() in ("SSTRING", "STRING") and default == 0:
            default = ""  # (a CIP STRING / SSTRING: text, not a Logix STRING structure)
        value = default if not dims else [default] * length
        attribute = attribute_class(name, type_cls, value)
        attribute.dims = tuple(dims)
        return self.tags.add(attribute)

    def load_tags(self, tag_file: Any) -> None:
        """Add the types, tags (with their initial values) and programs of a :mod:`.tagfile`."""
        for structure in tag_file.types.values():
            self.templates.add(structure)
        for program in tag_file.programs:
            if program not in self.programs:
                self.programs.append(program)
        for definition in tag_file.tags:
            length = 1
            for dim in definition.dims:
                length *= dim
            kind = definition.type
            tag = self.add_tag(definition.name, kind, length, dims=definition.dims,
                               default=0.0 if kind in ("REAL", "LREAL") else 0)
            if definition.value is not None:
                self._initialize(tag, definition.value)

    @staticmethod
    def _initialize(tag: Attribute, value: Any) -> None:
        values = value if isinstance(value, list) else [value]
        if len(values) > len(tag):
            raise ValueError(f"{len(values)} values for {tag.name}[{len(tag)}]")
        if isinstance(tag, StructTag):
            for index, one in enumerate(values):
                fill(tag.raw, index * tag.structure.size, tag.structure, one)
            return
        tag[0:len(values)] = values

    # --- faults a test injects ------------------------------------------------------
    def reply_delay(self) -> float:
        """Seconds to hold the next reply back (a fresh draw from a (low, high) range)."""
        delay = self.delay
        if isinstance(delay, tuple):
            return self._random.uniform(*delay)
        return delay

    def set_error(self, tag: str, status: int) -> None:
        """Make every access to *tag* fail with CIP *status* (0 to clear)."""
        self.tags[tag].error = status

    def set_fault(self, major: int, minor: int = 0) -> None:
        """Fault the controller: its fault record (class 0x73) shows *major* and *minor* until cleared."""
        self.fault.set(major, minor)

    def clear_fault(self) -> None:
        """Clear the controller's fault: its fault record shows zeros again (and a program that
        faulted runs again)."""
        self.fault.clear()
        if self.logic is not None:
            self.logic.clear_fault()

    # --- who it is ------------------------------------------------------------------
    def identity_item(self) -> encap.IdentityItem:
        """Its List Identity item: the Identity object's attributes and the address it is served at."""
        ident = self.identity.attributes
        host, port = self.address
        return encap.IdentityItem(
            1, 2, port, host if host not in ("", "0.0.0.0") else "0.0.0.0", ident[1].value, ident[2].value,
            ident[3].value, tuple(ident[4].value), ident[5].value, ident[6].value, ident[7].value, ident[8].value)
