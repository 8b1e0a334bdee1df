"""Serve a plant in one reactor: every controller and Modbus device at its own address, or none at all.

Strategy: :meth:`PlantServer.start` first builds every device (:mod:`.build`: a bad
tag or tag file is a :class:`~.model.PlantError` before any port is bound), groups
the controllers by address (one alone is served by its own transport; several are a
:class:`~.chassis.Chassis`), then binds each address in turn with the simulators'
own listeners.  If one cannot be bound, every port already bound is closed and the
error names that entry: nothing is left half-started.  Each controller keeps the
simulator's per-controller limits (connections, sessions, Forward Opens); the caches
peers fill are bounded per process.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer

from cpppo.bin.startup import reason
from cpppo.enip.simulator.listeners import description, listen
from cpppo.enip.simulator.transport import Limits, Transport
from cpppo.modbus.service import make_service
from cpppo.plant.build import Builder
from cpppo.plant.chassis import Chassis
from cpppo.plant.model import ControllerSpec, DeviceSpec, ModbusSpec, Plant, PlantError

__all__ = ["PlantServer", "Served", "start", "long_lived"]

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Served:
    """One device of a running plant: its record, what serves it, and the transport that keeps its clients
    (a chassis' for a controller in one; None for a Modbus device, whose factory counts them)."""

    device: DeviceSpec
    service: Any  # an EnipService, or a Modbus simulator (cpppo.modbus.service.ModbusSimulator)
    transport: Transport | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def requests(self) -> int:
        """Requests served so far (encapsulation requests, or Modbus ones)."""
        if isinstance(self.device, ModbusSpec):
            return int(self.service.device.requests)
        return int(self.service.controller.requests)

    @property
    def bound(self) -> tuple[str, int]:
        """Where it is served (the port the OS chose, for a port 0); the file's address until bound."""
        if isinstance(self.device, ModbusSpec):
            listening = next(iter(self.service)).listening
            if listening is not None:
                host = listening.getHost()
                return host.host, host.port
        elif self.transport is not None and self.transport.listeners and self.transport.listeners[0].bound:
            return self.transport.listeners[0].bound
        return self.device.address

    @property
    def clients(self) -> int:
        """Client connections open now."""
        if isinstance(self.device, ModbusSpec):
            factory = self.service.factory
            return int(factory.connections) if factory is not None else 0
        return len(self.transport.links) if self.transport is not None else 0


class PlantServer:
    """A plant served in *reactor*; ``served`` maps each name to its :class:`Served`, in plant order."""

    def __init__(self, plant: Plant, reactor: Any, limits: Limits | None = None, udp: bool = True,
                 cache_bytes: int = 16 << 20, logic: str | None = None, scan_period: float = 0.010) -> None:
        self.plant = plant
        self.reactor = reactor
        self.udp = udp
        self.builder = Builder(plant.file, reactor, limits, cache_bytes, logic=logic, scan_period=scan_period)
        self.served: dict[str, Served] = {}
        self.web: Any = None  # the plant web server's port, if any
        self._transports: list[tuple[ControllerSpec, Transport]] = []  # (the first controller there, its listener)
        self.closing: defer.Deferred = defer.succeed(None)  # what a failed listen() closed, once closed

    def build(self) -> None:
        """Build every device; PlantError (and nothing built) if one cannot be."""
        served: dict[str, Served] = {}
        transports: list[tuple[ControllerSpec, Transport]] = []
        at: dict[tuple[str, int], list[ControllerSpec]] = defaultdict(list)
        for controller in self.plant.controllers:
            at[controller.address].append(controller)
        for controllers in at.values():
            services = [self.builder.controller(c) for c in controllers]
            if len(controllers) == 1 and controllers[0].slot is None:
                transport = services[0].transport
            else:
                chassis = Chassis({c.slot or 0: s for c, s in zip(controllers, services)}, services[0].limits)
                transport = chassis.transport
            transports.append((controllers[0], transport))
            for c, s in zip(controllers, services):
                served[c.name] = Served(c, s, transport)
        for device in self.plant.modbus:
            simulator = make_service(self.builder.ranges(device), address=f"{device.host}:{device.port}",
                                     reactor=self.reactor)
            served[device.name] = Served(device, simulator)
        self.served = {d.name: served[d.name] for d in self.plant.devices}
        self._transports = transports

    def listen(self) -> None:
        """Bind every address; if one cannot be, close what was bound and raise PlantError naming it."""
        bound: list[Any] = []
        try:
            for controller, transport in self._transports:
                try:
                    listen(self.reactor, transport, description(*controller.address), udp=self.udp)
                except Exception as error:
                    raise PlantError(self.plant.file, controller.entry, reason(error)) from None
                bound.append(transport)
            for served in self.served.values():
                if isinstance(served.device, ModbusSpec):
                    try:
                        served.service.startService()
                    except Exception as error:
                        raise PlantError(self.plant.file, served.device.entry, reason(error)) from None
                    bound.append(served.service)
        except PlantError:  # nothing half-started: close what was bound (``closing`` fires once it is closed)
            self.closing = defer.gatherResults([defer.maybeDeferred(one.stop if isinstance(one, Transport)
                                                                    else one.stopService) for one in bound])
            raise
        log.info("plant %s: %d controllers at %d addresses, %d Modbus devices", self.plant.file,
                 len(self.plant.controllers), len(self._transports), len(self.plant.modbus))

    def start(self) -> PlantServer:
        with long_lived():
            self.build()
        self.listen()
        return self

    def stop(self) -> defer.Deferred:
        """Close every client connection and every port (the web server's too); stop every program."""
        stopping = [transport.stop() for _, transport in self._transports]
        for served in self.served.values():
            if isinstance(served.device, ControllerSpec):
                served.service.connections.clear()  # (their idle timers)
                if served.service.controller.logic is not None:  # its L5X's program: no more scans
                    served.service.controller.logic.stop()
            elif served.service.running:
                stopping.append(defer.maybeDeferred(served.service.stopService))
        web, self.web = self.web, None
        if web is not None:
            stopping.append(defer.maybeDeferred(web.stopListening))
        return defer.gatherResults(stopping)


@contextmanager
def long_lived() -> Iterator[None]:
    """Build what lives as long as the process with the cyclic collector paused, then freeze it.

    Why: a plant of 1,000 controllers is some 200,000 objects that are never garbage.  Built
    with the collector running, each full collection rescans all built so far (about a third of
    a 1,000-controller build); left in the collected generations, every later full collection
    (1,000 clients connecting trigger one) rescans them all again: 0.16 to 0.5 s at 1,000
    controllers, a pause every client of the plant sees.  Frozen (:func:`gc.freeze`), they are
    never scanned; their memory is still freed when they are released.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def start(plant: Plant, reactor: Any = None, **kwds: Any) -> PlantServer:
    """Serve *plant* in *reactor* (default: the global one); returns the running :class:`PlantServer`."""
    if reactor is None:
        from twisted.internet import reactor
    return PlantServer(plant, reactor, **kwds).start()
