"""Twisted protocols and factories serving a simulated Modbus device over TCP and RTU.

Why: these are the thin layer between the reactor and the sans-IO pieces.
``dataReceived`` feeds a framer, hands each frame to the :class:`Device`,
and writes the answer; nothing here blocks, and nothing here knows what a
request means.

Unit ids: a :class:`~cpppo.modbus.datastore.Units` maps each served unit id
to its own store.  A request for a unit id that is not served is answered
with exception 0x0B (gateway target failed to respond) on TCP and ignored on
RTU, where another device on the line may own it; an RTU request to unit 0 (broadcast) is
executed by every unit if it writes, and never answered.  A malformed MBAP header
closes the TCP connection (a stream cannot be resynchronised); RTU noise is
skipped by the framer.

Bounds (as the EtherNet/IP simulator's): at most ``max_connections`` TCP
connections (default 256); one beyond is accepted and closed at once, as a
Modbus/TCP device with a full connection table does (the Modbus Messaging on
TCP/IP Implementation Guide lets a server refuse a new connection when it has
no room; closing it at once tells the client now, where a listen queue left
full would keep it waiting on SYN retries).  A connection that sends nothing for
``idle`` seconds (default 120; 0 never) is closed, so idle peers cannot hold the
table for ever; one that polls is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import protocol
from twisted.internet.interfaces import IDelayedCall, ITCPTransport, ITransport
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from .datastore import Units
from .device import Device
from .errors import GATEWAY_NO_TARGET, FramingError
from .evil import Evil
from .framing import MbapFramer, RtuFramer, encode_mbap, encode_rtu, t35
from .pdu import exception_pdu

__all__ = ["ModbusTcpServerProtocol", "ModbusTcpServerFactory", "ModbusRtuServerProtocol"]

log = logging.getLogger(__name__)

_WRITES = frozenset((5, 6, 15, 16, 22, 23))


#: Default bounds: TCP connections served at once, and seconds a silent connection is kept.
MAX_CONNECTIONS = 256
IDLE_TIMEOUT = 120.0


class ModbusTcpServerProtocol(protocol.Protocol, TimeoutMixin):
    """One Modbus/TCP connection: MBAP frames in, answers out, in order; closed when idle too long."""

    factory: ModbusTcpServerFactory
    _counted = False

    def connectionMade(self) -> None:
        assert self.transport is not None  # makeConnection sets it before it calls connectionMade
        factory = self.factory
        if factory.connections >= factory.max_connections:
            factory.refused += 1
            log.warning("Modbus/TCP connection from %s refused: %d connections already (--max-connections)",
                        self.transport.getPeer(), factory.connections)
            self.transport.loseConnection()
            return
        self._counted = True
        if factory.clock is not None:
            self.callLater = factory.clock.callLater  # type: ignore[method-assign]
        self.setTimeout(factory.idle or None)
        self._framer = MbapFramer()
        self._units = self.factory.units
        self._device = self.factory.device
        self.factory.connections += 1
        self._late: list[IDelayedCall] = []  # answers held back by --evil delay
        self._due = 0.0
        flush = getattr(self.transport, "doWrite", None) if self.factory.flush else None
        self._flush: Callable[[], object] | None = flush if callable(flush) else None
        log.info("Modbus/TCP connection from %s", self.transport.getPeer())

    def timeoutConnection(self) -> None:
        log.info("Modbus/TCP %s idle for %g s (--idle-timeout); closing", self.transport and self.transport.getPeer(),
                 self.factory.idle)
        self.factory.timed_out += 1
        if self.transport is not None:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None  # connected: data comes from it
        if not self._counted:
            return  # refused: closing
        self.resetTimeout()
        framer = self._framer
        framer.receive_data(data)
        out = []
        try:
            while (frame := framer.next_event()) is not None:
                store = self._units.lookup(frame.unit)
                if store is None:
                    answer = exception_pdu(frame.pdu[0], GATEWAY_NO_TARGET)
                else:
                    answer = self._device.respond(store, frame.pdu)
                out.append(encode_mbap(frame.transaction, frame.unit, answer))
        except FramingError as exc:
            log.warning("Modbus/TCP %s: %s; closing", transport.getPeer(), exc)
            self.factory.framing_errors += 1
            if out:
                transport.writeSequence(out)
            transport.loseConnection()
            return
        if out:
            evil = self.factory.evil
            if evil is not None:
                self._misbehave(transport, evil, out)
                return
            transport.writeSequence(out) if len(out) > 1 else transport.write(out[0])
            flush = self._flush
            if flush is not None:
                self._flush_now(flush)

    def _misbehave(self, transport: ITransport, evil: Evil, answers: list[bytes]) -> None:
        """--evil: mangle each answer, and/or send it late (still in order, never blocking)."""
        for answer in answers:
            data = evil.mangle_tcp(answer)
            late = evil.lateness()
            if not late and not self._late:
                transport.write(data)
                continue
            now = self.factory.clock.seconds()
            self._due = max(self._due, now + late)
            call = self.factory.clock.callLater(self._due - now, self._write_late, data)
            self._late.append(call)

    def _write_late(self, data: bytes) -> None:
        self._late = [c for c in self._late if c.active()]
        if self.transport is not None and self.connected:
            self.transport.write(data)

    def _flush_now(self, flush: Callable[[], object]) -> None:
        """Send the answer now rather than on the reactor's next turn (a real TCP transport only).

        A request/response protocol always has a reply ready to go at the end of dataReceived;
        writing it here spares a reactor iteration per request (about a fifth of the CPU cost of
        a request).  ``doWrite`` is the transport's IWriteDescriptor method, the one the reactor
        itself would call; if it reports the connection broken, we abort it.
        """
        why = flush()
        if why is not None:
            ITCPTransport(self.transport).abortConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if not self._counted:
            return
        self._counted = False
        self.setTimeout(None)
        self.factory.connections -= 1
        for call in self._late:
            if call.active():
                call.cancel()
        self._late = []


class ModbusTcpServerFactory(protocol.Factory[ModbusTcpServerProtocol]):
    """Serves *units* (and their stores) to every Modbus/TCP connection.

    Args:
        units: unit id -> data store.
        device: the request executor (one is made if not given).
        flush: send each answer at the end of ``dataReceived`` instead of on the next reactor turn.
        evil: misbehave (see :mod:`cpppo.modbus.evil`); *clock* times its delays (and idle timeouts).
        max_connections: TCP connections served at once; another is closed as it connects.
        idle: seconds a connection may send nothing before it is closed (0: never).
    """

    protocol = ModbusTcpServerProtocol

    def __init__(self, units: Units, device: Device | None = None, flush: bool = True,
                 evil: Evil | None = None, clock: Any = None, max_connections: int = MAX_CONNECTIONS,
                 idle: float = IDLE_TIMEOUT) -> None:
        if clock is None and evil is not None:
            from twisted.internet import reactor as clock
        self.units = units
        self.device = device or Device()
        self.evil = evil
        self.clock = clock
        self.flush = flush  # send each answer at once (see ModbusTcpServerProtocol._flush_now)
        self.connections = 0
        self.framing_errors = 0
        self.max_connections = max_connections
        self.idle = idle
        self.refused = 0  # connections closed at once: the table was full
        self.timed_out = 0  # connections closed for idling


class ModbusRtuServerProtocol(protocol.Protocol):
    """A Modbus/RTU server on a serial line (or anything byte-stream like it).

    Args:
        units: unit id -> data store; unit ids not served get no answer.
        device: the request executor (one is made if not given).
        baudrate: sets the 3.5-character silence that ends a frame.
        clock: an IReactorTime (``reactor`` or ``task.Clock``) for the silence timer.
        silence: override the silence (seconds) computed from *baudrate*.
        evil: misbehave (see :mod:`cpppo.modbus.evil`).
    """

    def __init__(self, units: Units, device: Device | None = None, baudrate: int = 19200,
                 clock: Any = None, silence: float | None = None, evil: Evil | None = None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.units = units
        self.device = device or Device()
        self.clock = clock
        self.framer = RtuFramer("server", t35(baudrate) if silence is None else silence)
        self._timer: Any = None
        self.evil = evil
        self._late: list[IDelayedCall] = []
        #: frames answered, and frames ignored because they were for other unit ids
        self.answered = 0
        self.ignored = 0

    def dataReceived(self, data: bytes) -> None:
        framer = self.framer
        framer.receive_data(data, self.clock.seconds())
        self._drain()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = self.clock.callLater(framer.silence_s, self._silence) if framer.buffered else None

    def _silence(self) -> None:
        self._timer = None
        self.framer.silence()
        self._drain()

    def _drain(self) -> None:
        while (frame := self.framer.next_event()) is not None:
            if not frame.pdu:
                self.ignored += 1
                continue
            if frame.unit == 0:
                self._broadcast(frame.pdu)
                continue
            store = self.units.lookup(frame.unit)
            if store is None:
                self.ignored += 1  # another device's request
                continue
            self.answered += 1
            answer = encode_rtu(frame.unit, self.device.respond(store, frame.pdu))
            transport = self.transport
            assert transport is not None  # a frame to answer came in on it
            if self.evil is None:
                transport.write(answer)
                continue
            answer, late = self.evil.mangle_rtu(answer), self.evil.lateness()
            if late:
                self._late.append(self.clock.callLater(late, self._write_late, answer))
            else:
                transport.write(answer)

    def _write_late(self, data: bytes) -> None:
        self._late = [c for c in self._late if c.active()]
        if self.transport is not None:
            self.transport.write(data)

    def _broadcast(self, pdu: bytes) -> None:
        """Unit id 0 on a serial line: every device executes a write, and none answers."""
        self.ignored += 1
        if pdu[0] not in _WRITES:
            return
        stores = [self.units.any] if self.units.any is not None else [self.units[u] for u in self.units]
        for store in stores:
            self.device.respond(store, pdu)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        for call in self._late:
            if call.active():
                call.cancel()
        self._late = []
