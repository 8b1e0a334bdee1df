"""Twisted Modbus clients: requests return Deferreds, over TCP (pipelined) or RTU (one at a time).

Why: the poller, ``modbus_poll`` and the tests need a Modbus master that
never blocks the reactor and that fails cleanly: every request either gets
its answer, a :class:`~cpppo.modbus.errors.ModbusError` (the device said
no), a :class:`TimeoutError`, or a ``ConnectionLost`` when the link drops.

Layers (as in Twisted's AMP): the framer turns bytes into frames; a table of
outstanding requests (by transaction id on TCP; the single request in
flight on RTU) turns frames into fired Deferreds; :class:`ModbusClientMixin`
turns one-based addresses (``40001``) into requests.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadDiscreteInputsRequest,
    WriteMultipleCoilsRequest,
    WriteSingleCoilRequest,
)
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)
from twisted.internet import defer, error, protocol
from twisted.python.failure import Failure

from .errors import FramingError
from .framing import MbapFramer, RtuFramer, encode_mbap, encode_rtu, t35
from .pdu import ModbusPDU, decode_response, encode
from .ranges import locate

__all__ = ["ModbusClientMixin", "ModbusTcpClientProtocol", "ModbusRtuClientProtocol", "DEFAULT_TIMEOUT"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0

_READERS = MappingProxyType({"co": ReadCoilsRequest, "di": ReadDiscreteInputsRequest,
                             "ir": ReadInputRegistersRequest, "hr": ReadHoldingRegistersRequest})


class ModbusClientMixin:
    """Reads and writes by one-based address on top of ``request(unit, pdu)``."""

    unit: int = 0

    def request(self, unit: int, pdu: ModbusPDU) -> defer.Deferred:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, address: int, count: int = 1, unit: int | None = None) -> defer.Deferred:
        """Read *count* values from one-based *address* (e.g. 40001); fires with a list of ints."""
        table, wire = locate(address)
        d = self.request(self.unit if unit is None else unit, _READERS[table](address=wire, count=count))

        def values(response: Any) -> list[int]:
            got = ([1 if b else 0 for b in response.bits[:count]] if table in ("co", "di")
                   else list(response.registers))
            if len(got) != count:
                raise FramingError(f"asked for {count} values at {address}, got {len(got)}")
            return got

        return d.addCallback(values)

    def write(self, address: int, values: int | Sequence[int], unit: int | None = None,
              multi: bool = False) -> defer.Deferred:
        """Write value(s) from one-based *address* (coils or holding registers); fires with None.

        A single int uses function 5 or 6 (unless *multi*); a sequence uses 15 or 16.
        """
        table, wire = locate(address)
        if isinstance(values, int):
            single, vals = True, [values]
        else:
            single, vals = False, list(values)
        if table == "hr":
            req: ModbusPDU = (WriteSingleRegisterRequest(address=wire, registers=vals) if single and not multi
                              else WriteMultipleRegistersRequest(address=wire, registers=vals))
        elif table == "co":
            req = (WriteSingleCoilRequest(address=wire, bits=[bool(vals[0])]) if single and not multi
                   else WriteMultipleCoilsRequest(address=wire, bits=[bool(v) for v in vals]))
        else:
            raise ValueError(f"{address} is not writable (only coils and holding registers are)")
        return self.request(self.unit if unit is None else unit, req).addCallback(lambda _: None)


class _Pending:
    __slots__ = ("deferred", "timer", "function")

    def __init__(self, deferred: defer.Deferred, timer: Any, function: int) -> None:
        self.deferred, self.timer, self.function = deferred, timer, function


class ModbusTcpClientProtocol(protocol.Protocol, ModbusClientMixin):
    """A pipelining Modbus/TCP master: many requests in flight, matched by transaction id.

    Args:
        clock: IReactorTime for timeouts (the global reactor by default).
        timeout: seconds each request may take before it fails with TimeoutError.
        unit: the default unit id.
    """

    def __init__(self, clock: Any = None, timeout: float = DEFAULT_TIMEOUT, unit: int = 0) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.timeout = timeout
        self.unit = unit
        self._framer = MbapFramer()
        self._pending: dict[int, _Pending] = {}
        self._next = 0
        self.connected = False
        self.lost: defer.Deferred = defer.Deferred()  # fires when the connection is lost

    def connectionMade(self) -> None:
        self.connected = True

    def request(self, unit: int, pdu: ModbusPDU) -> defer.Deferred:
        """Send *pdu* to *unit*; fires with the decoded response object."""
        transport = self.transport
        if not self.connected or transport is None:
            return defer.fail(error.ConnectionLost("not connected"))
        self._next = tid = (self._next + 1) & 0xFFFF
        while tid in self._pending:
            self._next = tid = (tid + 1) & 0xFFFF
        d: defer.Deferred[Any] = defer.Deferred(lambda _: self._forget(tid))
        timer = self.clock.callLater(self.timeout, self._timed_out, tid)
        self._pending[tid] = _Pending(d, timer, pdu.function_code)
        transport.write(encode_mbap(tid, unit, encode(pdu)))
        return d

    def _forget(self, tid: int) -> None:
        pending = self._pending.pop(tid, None)
        if pending is not None and pending.timer.active():
            pending.timer.cancel()

    def _timed_out(self, tid: int) -> None:
        pending = self._pending.pop(tid, None)
        if pending is not None:
            pending.deferred.errback(TimeoutError(f"no answer to function {pending.function} in {self.timeout} s"))

    def dataReceived(self, data: bytes) -> None:
        self._framer.receive_data(data)
        try:
            while (frame := self._framer.next_event()) is not None:
                pending = self._pending.pop(frame.transaction, None)
                if pending is None:
                    log.info("Modbus/TCP answer to unknown transaction %d ignored", frame.transaction)
                    continue
                pending.timer.cancel()
                try:
                    response = decode_response(frame.pdu)
                    if response.function_code != pending.function:
                        raise FramingError(f"answer to function {pending.function} has function "
                                           f"{response.function_code}")
                except Exception:
                    pending.deferred.errback(Failure())
                else:
                    pending.deferred.callback(response)
        except FramingError as exc:
            log.warning("Modbus/TCP: %s; closing", exc)
            assert self.transport is not None  # the data came from it
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.connected = False
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if p.timer.active():
                p.timer.cancel()
            p.deferred.errback(error.ConnectionLost(str(reason.value)))
        if not self.lost.called:
            self.lost.callback(None)

    def close(self) -> None:
        """Close the connection (outstanding requests fail with ConnectionLost)."""
        if self.transport is not None and self.connected:
            self.transport.loseConnection()


class ModbusRtuClientProtocol(protocol.Protocol, ModbusClientMixin):
    """A Modbus/RTU master: one request on the line at a time, the rest queued.

    Args:
        clock: IReactorTime for timeouts and the inter-frame silence.
        timeout: seconds each request may take (from when it is sent).
        baudrate: sets the 3.5-character silence.
        unit: the default unit id.
    """

    def __init__(self, clock: Any = None, timeout: float = DEFAULT_TIMEOUT, baudrate: int = 19200,
                 unit: int = 1, silence: float | None = None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.timeout = timeout
        self.unit = unit
        self.framer = RtuFramer("client", t35(baudrate) if silence is None else silence)
        self._queue: deque[tuple[defer.Deferred, int, bytes, int]] = deque()
        self._current: tuple[defer.Deferred, int, int, Any] | None = None
        self._silence_timer: Any = None
        self.connected = False
        self.lost: defer.Deferred = defer.Deferred()

    def connectionMade(self) -> None:
        self.connected = True

    def request(self, unit: int, pdu: ModbusPDU) -> defer.Deferred:
        """Queue *pdu* for *unit*; fires with the decoded response object."""
        if not self.connected:
            return defer.fail(error.ConnectionLost("not connected"))
        d: defer.Deferred = defer.Deferred(lambda d: self._cancel(d))
        self._queue.append((d, unit, encode_rtu(unit, encode(pdu)), pdu.function_code))
        self._send_next()
        return d

    def _cancel(self, d: defer.Deferred) -> None:
        self._queue = deque(q for q in self._queue if q[0] is not d)
        if self._current is not None and self._current[0] is d:
            self._finish()

    def _send_next(self) -> None:
        while self._current is None and self._queue:
            d, unit, frame, function = self._queue.popleft()
            if d.called:
                continue
            timer = self.clock.callLater(self.timeout, self._timed_out)
            self._current = (d, unit, function, timer)
            assert self.transport is not None  # request() queues only while connected
            self.transport.write(frame)

    def _finish(self) -> defer.Deferred | None:
        current, self._current = self._current, None
        if current is None:
            return None
        if current[3].active():
            current[3].cancel()
        # The line must be quiet for 3.5 characters between frames before the next request.
        self.clock.callLater(self.framer.silence_s, self._send_next)
        return current[0]

    def _timed_out(self) -> None:
        function = self._current[2] if self._current else 0
        d = self._finish()
        if d is not None and not d.called:
            d.errback(TimeoutError(f"no answer to function {function} in {self.timeout} s"))

    def dataReceived(self, data: bytes) -> None:
        self.framer.receive_data(data, self.clock.seconds())
        self._drain()
        if self._silence_timer is not None and self._silence_timer.active():
            self._silence_timer.cancel()
        self._silence_timer = (self.clock.callLater(self.framer.silence_s, self._silence)
                               if self.framer.buffered else None)

    def _silence(self) -> None:
        self._silence_timer = None
        self.framer.silence()
        self._drain()

    def _drain(self) -> None:
        while (frame := self.framer.next_event()) is not None:
            if self._current is None or frame.unit != self._current[1]:
                log.info("Modbus/RTU frame from unit %d not awaited; ignored", frame.unit)
                continue
            function = self._current[2]
            d = self._finish()
            try:
                response = decode_response(frame.pdu)
                if response.function_code != function:
                    raise FramingError(f"answer to function {function} has function {response.function_code}")
            except Exception:
                if d is not None and not d.called:
                    d.errback(Failure())
            else:
                if d is not None and not d.called:
                    d.callback(response)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.connected = False
        if self._silence_timer is not None and self._silence_timer.active():
            self._silence_timer.cancel()
        d = self._finish()
        failed = [d] if d is not None else []
        failed += [q[0] for q in self._queue]
        self._queue.clear()
        for waiting in failed:
            if not waiting.called:
                waiting.errback(error.ConnectionLost(str(reason.value)))
        if not self.lost.called:
            self.lost.callback(None)

    def close(self) -> None:
        """Close the serial port (outstanding requests fail with ConnectionLost)."""
        if self.transport is not None and self.connected:
            self.transport.loseConnection()
