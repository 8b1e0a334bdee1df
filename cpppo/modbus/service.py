"""The Modbus simulator as a Twisted service: Modbus/TCP listener or Modbus/RTU serial port.

Why: ``modbus_sim`` and ``twistd -n cpppo-modbus`` must start the same
thing from the same settings.  :func:`make_service` returns a
``MultiService`` that owns the data stores (one :class:`Units` per service,
nothing at module level), opens the port or serial device when started,
reports what it actually bound (port 0 lets the OS choose), and closes
everything when stopped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from twisted.application import service
from twisted.internet import defer

from .datastore import Units
from .device import Device
from .evil import Evil, parse_evil
from .ranges import Range
from .server import IDLE_TIMEOUT, MAX_CONNECTIONS, ModbusRtuServerProtocol, ModbusTcpServerFactory
from .transports import open_serial, serial_options

__all__ = ["ModbusTcpService", "ModbusSerialService", "ModbusSimulator", "make_service", "parse_address",
           "success_line"]

log = logging.getLogger(__name__)


#: The listen queue: a burst of connects (hundreds of pollers starting at once) waits in it, not on SYN retries.
BACKLOG = 256


def parse_address(text: str, default_port: int = 502) -> tuple[str, int]:
    """``[<interface>][:<port>]`` -> (interface, port); '' means every interface.

    Raises:
        ValueError: the port is not a number from 0 to 65535.
    """
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", "")
    host = host.strip("[]")
    if not sep:
        port = ""
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"bad address {text!r}: port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"bad address {text!r}: port {number} is not 0-65535")
    return ("" if host in ("", "*") else host), number


def success_line(kind: str, address: str) -> str:
    """The line the original simulator printed once serving (its users' scripts parse it)."""
    return f"Success; Started Modbus/{kind} Simulator; PID = {os.getpid()}; address = {address}"


class ModbusTcpService(service.Service):
    """Listens for Modbus/TCP on (interface, port), trying *tries* consecutive ports if busy."""

    def __init__(self, factory: ModbusTcpServerFactory, interface: str, port: int, tries: int = 1,
                 reactor: Any = None, report: Callable[[str], None] | None = None) -> None:
        self.factory, self.interface, self.port, self.tries = factory, interface, port, max(1, tries)
        self.reactor, self.report = reactor, report
        self.listening: Any = None

    def privilegedStartService(self) -> None:
        self._listen()
        service.Service.privilegedStartService(self)

    def startService(self) -> None:
        if self.listening is None:
            self._listen()
        service.Service.startService(self)

    def _listen(self) -> None:
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        last: Exception | None = None
        for port in range(self.port, self.port + self.tries) if self.port else [0]:
            try:
                self.listening = reactor.listenTCP(port, self.factory, backlog=BACKLOG, interface=self.interface)
                break
            except Exception as exc:  # CannotListenError, mostly
                last = exc
        else:
            assert last is not None  # tries >= 1: the loop ran, and every attempt failed
            raise last
        host = self.listening.getHost()
        bound = f"[{host.host}]:{host.port}" if ":" in host.host else f"{host.host}:{host.port}"
        log.info("Modbus/TCP simulator listening on %s", bound)
        if self.report:
            self.report(bound)

    def stopService(self) -> defer.Deferred | None:
        service.Service.stopService(self)
        listening, self.listening = self.listening, None
        return defer.maybeDeferred(listening.stopListening) if listening is not None else None


class ModbusSerialService(service.Service):
    """Serves Modbus/RTU on a serial *device*."""

    def __init__(self, units: Units, device: str, options: dict[str, Any], reactor: Any = None,
                 report: Callable[[str], None] | None = None, silence: float | None = None,
                 executor: Device | None = None, evil: Evil | None = None) -> None:
        self.units, self.device, self.options = units, device, options
        self.reactor, self.report, self.silence, self.executor = reactor, report, silence, executor
        self.evil = evil
        self.port: Any = None
        self.protocol: ModbusRtuServerProtocol | None = None

    def startService(self) -> None:
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        self.protocol = ModbusRtuServerProtocol(self.units, self.executor, baudrate=self.options["baudrate"],
                                                clock=reactor, silence=self.silence, evil=self.evil)
        self.port = open_serial(reactor, self.device, self.protocol, **self.options)
        log.info("Modbus/RTU simulator on %s (%s)", self.device, self.options)
        if self.report:
            self.report(self.device)
        service.Service.startService(self)

    def stopService(self) -> None:
        service.Service.stopService(self)
        port, self.port = self.port, None
        if port is not None:
            port.loseConnection()


class ModbusSimulator(service.MultiService):
    """What :func:`make_service` makes: the TCP or RTU service, and what it serves."""

    def __init__(self, units: Units, device: Device) -> None:
        super().__init__()
        self.units = units
        self.device = device
        self.factory: ModbusTcpServerFactory | None = None  # serving Modbus/TCP: its protocol factory


def make_service(ranges: Sequence[Range], address: str | None = None, serial: str | None = None,
                 unit_ids: Sequence[int] | None = None, baudrate: int = 19200, parity: str = "N",
                 stopbits: float = 1, bytesize: int = 8, tries: int = 1, reactor: Any = None,
                 report: Callable[[str, str], None] | None = None, evil: str | None = None,
                 max_connections: int = MAX_CONNECTIONS, idle: float = IDLE_TIMEOUT) -> ModbusSimulator:
    """A MultiService simulating one Modbus device (or several unit ids) over TCP or RTU.

    Args:
        ranges: the addresses (and initial values) every unit serves.
        address: ``[<interface>]:<port>`` for Modbus/TCP (ignored if *serial* is given).
        serial: a serial device for Modbus/RTU, with *baudrate*, *parity*, *stopbits*, *bytesize*.
        unit_ids: unit ids served, each with its own store; none means every unit id, one store.
        report: called with ("TCP" or "RTU", bound address) once serving.
        evil: a misbehaviour, e.g. "delay:2.5" (see :mod:`cpppo.modbus.evil`).
        max_connections, idle: Modbus/TCP's bounds (see :mod:`cpppo.modbus.server`).

    Raises:
        ValueError: a bad address, unit id or serial setting.
    """
    units = Units(ranges, unit_ids)
    misbehave = parse_evil(evil) if evil else None
    top = ModbusSimulator(units, Device())
    if serial:
        options = serial_options(baudrate, parity, stopbits, bytesize)
        rtu = ModbusSerialService(units, serial, options, reactor=reactor, executor=top.device,
                                  report=(lambda a: report("RTU", a)) if report else None, evil=misbehave)
        rtu.setServiceParent(top)
    else:
        interface, port = parse_address(address or "", 502)
        factory = ModbusTcpServerFactory(units, top.device, evil=misbehave, clock=reactor,
                                         max_connections=max_connections, idle=idle)
        top.factory = factory
        tcp = ModbusTcpService(factory, interface, port, tries, reactor=reactor,
                               report=(lambda a: report("TCP", a)) if report else None)
        tcp.setServiceParent(top)
    return top
