"""A chassis: several controllers behind one address, each reached by its slot, as in a ControlLogix rack.

Why: a plant has racks with several CPUs behind one Ethernet module; a client
picks one by the route path (backplane port 1, link = slot): pycomm3's
``127.0.1.1/1/3``, pylogix's ``PLC(ip, slot=3)``.  The chassis is one
encapsulation endpoint (one listener, one session table, one
:class:`~cpppo.enip.simulator.dispatch.Dispatcher`), in front of each slot's
own :class:`~cpppo.enip.simulator.router.Router` and controller, built as a
lone controller would be.  :class:`SlotRouter` picks the slot's router: by the
Unconnected Send's route, by a Forward Open's connection path, and for
connected requests by which slot's table holds the connection (each slot's
table numbers its connections in a range of its own).  List Identity on the
address answers for the chassis: the identity of its lowest slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from cpppo.enip.codec import cip
from cpppo.enip.codec.codes import GeneralStatus, Service
from cpppo.enip.codec.epath import Port
from cpppo.enip.simulator.controller.connections import ConnectionTable
from cpppo.enip.simulator.dispatch import Dispatcher
from cpppo.enip.simulator.router import ROUTE_NOT_ACCEPTED, Router
from cpppo.enip.simulator.service import EnipService
from cpppo.enip.simulator.transport import Limits, Transport

__all__ = ["Chassis", "SlotRouter", "connection_ids"]

_FORWARD_OPENS = (Service.FORWARD_OPEN, Service.LARGE_FORWARD_OPEN)


def connection_ids(slot: int) -> int:
    """The first O->T connection id of *slot*'s table: 16M ids a slot, so a chassis' ids never collide."""
    return (0x7E000001 + (slot << 24)) & 0xFFFFFFFF


def _slot_of(route: Iterable[Any]) -> int | None:
    first = next(iter(route), None)
    if isinstance(first, Port) and first.port == 1 and isinstance(first.link, int):
        return first.link
    return None


class _Connections:
    """The chassis' view of its slots' connection tables, as the dispatcher asks it (get, drop_owner)."""

    def __init__(self, slots: dict[int, EnipService]) -> None:
        self._tables = [(slot, service.controller.connections) for slot, service in sorted(slots.items())]

    def owner(self, o_t: int) -> int | None:
        for slot, table in self._tables:
            if table.get(o_t) is not None:
                return slot
        return None

    def get(self, o_t: int) -> Any:
        for _, table in self._tables:
            connection = table.get(o_t)
            if connection is not None:
                return connection
        return None

    def drop_owner(self, owner: Any) -> None:
        for _, table in self._tables:
            table.drop_owner(owner)

    def __len__(self) -> int:
        return sum(len(table) for _, table in self._tables)


class _Front:
    """What the chassis' dispatcher asks of "its controller": the lowest slot's identity and clock, the
    connections of every slot, and a request count of its own (each slot counts what it serves)."""

    def __init__(self, slots: dict[int, EnipService]) -> None:
        self.slots = slots
        self.lowest = slots[min(slots)].controller
        self.clock = self.lowest.clock
        self.connections = _Connections(slots)
        self.requests = 0
        self.delay = 0.0

    def reply_delay(self) -> float:
        return 0.0

    def identity_item(self) -> Any:
        return self.lowest.identity_item()

    @property
    def address(self) -> tuple[str, int]:
        return self.lowest.address

    @address.setter
    def address(self, address: tuple[str, int]) -> None:  # (the listener reports where it bound)
        for service in self.slots.values():
            service.controller.address = address


class SlotRouter:
    """Routes a chassis' CIP requests to the router of the slot they name (see the module's docstring)."""

    def __init__(self, slots: dict[int, EnipService], connections: _Connections) -> None:
        self.routers: dict[int, Router] = {slot: service.router for slot, service in slots.items()}
        self.lowest = min(slots)
        self.connections = connections

    def _slot(self, request: Any) -> int:
        if isinstance(request, cip.Request):
            body = request.body
            if request.service == Service.UNCONNECTED_SEND and isinstance(body, cip.UnconnectedSend):
                slot = _slot_of(body.route)
                return self.lowest if slot is None else slot
            if request.service in _FORWARD_OPENS and isinstance(body, cip.ForwardOpen):
                slot = _slot_of(body.path)
                return self.lowest if slot is None else slot
        return self.lowest

    def unconnected(self, request: Any, origin: Any = None) -> Any:
        router = self.routers.get(self._slot(request))
        if router is None:  # no CPU in that slot: the route is not accepted, as a lone controller says it
            service = request.body.request.service if isinstance(request.body, cip.UnconnectedSend) else \
                request.service
            return cip.Reply(service | 0x80, GeneralStatus.CONNECTION_FAILURE, (ROUTE_NOT_ACCEPTED,))
        router.controller.requests += 1
        return router.unconnected(request, origin)

    def connected(self, connection: Any, request: Any, origin: Any = None) -> tuple[int, Any]:
        slot = None if connection is None else self.connections.owner(connection.o_t)
        router = self.routers[self.lowest if slot is None else slot]
        router.controller.requests += 1
        return router.connected(connection, request, origin)


class Chassis:
    """The controllers (*slots*: slot -> service, each built as a lone controller) behind one address.

    ``transport`` is what listens (:func:`cpppo.enip.simulator.listeners.listen`) and keeps the
    clients; each slot's own transport stays unused.
    """

    def __init__(self, slots: dict[int, EnipService], limits: Limits | None = None) -> None:
        self.slots = slots
        for slot, service in slots.items():  # each slot numbers its connections in a range of its own
            old = service.controller.connections
            service.controller.connections = ConnectionTable(old.clock, slot=slot, routing=old.routing,
                                                             first_id=connection_ids(slot), limit=old.limit)
        front = _Front(slots)
        self.front = front
        self.dispatcher = Dispatcher(cast(Any, front), cast(Any, SlotRouter(slots, front.connections)))
        self.transport = Transport(self.dispatcher, limits)
        self.dispatcher.sessions.limit = self.transport.limits.sessions
