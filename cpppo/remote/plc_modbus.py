"""Polling a Modbus PLC on the reactor: ``poller_modbus`` with ``poll``, ``read``, ``write``, ``load``.

Why: scripts written for the original cpppo create a ``poller_modbus``,
``poll`` some addresses, ``read`` the latest values and ``write`` new ones,
without knowing about threads or reactors.  The original ran its own
thread of blocking pymodbus calls; this one runs its whole poll cycle on the
Twisted reactor -- the caller's reactor when used from Twisted code (pass
``reactor=``, or construct it in the reactor thread), or the one shared
reactor thread of :mod:`cpppo.blocking` when used from plain code.

Strategy: each cycle merges the polled addresses into as few requests as the
protocol allows (:func:`merge`), reads them one transaction at a time, and
stores the values; writes take the same transaction lock, so a write goes out
at the next opportunity between polls.  A cycle in which nothing could be read
takes the PLC offline: reads return None, the connection is dropped, and the
next cycle connects again.  The ``load`` is the exponentially averaged
fraction of the poll period spent waiting on I/O, over about 1, 5 and 15
minutes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, error

from .. import blocking
from ..modbus.client import ModbusRtuClientProtocol, ModbusTcpClientProtocol
from ..modbus.errors import ModbusError
from ..modbus.ranges import WRITE_LIMIT, locate, merge, shatter
from ..modbus.transports import connect_tcp, open_serial
from .plc import PlcOffline

__all__ = ["poller_modbus", "PlcOffline", "Defaults", "merge", "shatter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Defaults:
    """The defaults the original kept in ``pymodbus.constants.Defaults``."""

    Port: int = 502
    UnitId: int = 0
    Timeout: float = 1.0


def _ema(current: float | None, sample: float, weight: float) -> float:
    if current is None:
        return sample
    return current + min(weight, 1.0) * (sample - current)


class poller_modbus:
    """Polls a Modbus/TCP (or, with ``serial=``, Modbus/RTU) PLC on the reactor.

    Args:
        description: a name for logs.
        host, port: the Modbus/TCP PLC (default port 502).
        serial: a serial device (e.g. "/dev/ttyUSB0") instead of host/port, with *baudrate*,
            *parity*, *stopbits*, *bytesize*.
        rate: poll period in seconds.
        unit: unit id for every request (default 0 on TCP, 1 on RTU).
        reach: merge polled addresses this close into one request.
        multi: write single registers/coils with functions 16/15 instead of 6/5.
        timeout: seconds for each transaction (and each connection attempt).
        reactor: the reactor (or ``task.Clock`` plus ``connect``) to run on; by default the
            running reactor when constructed in its thread, else cpppo.blocking's.
        connect: ``connect() -> Deferred[client]``, replacing the TCP/serial connection (tests).
    """

    def __init__(self, description: str, host: str | None = None, port: int | None = None,
                 rate: float = 1.0, unit: int | None = None, reach: int = 100, multi: bool = False,
                 timeout: float | None = None, reactor: Any = None,
                 connect: Callable[[], defer.Deferred] | None = None, serial: str | None = None,
                 baudrate: int = 19200, parity: str = "N", stopbits: float = 1, bytesize: int = 8) -> None:
        self.description = description
        self.rate = rate
        self.reach = reach
        self.multi = multi
        self.timeout = Defaults.Timeout if timeout is None else float(timeout)
        self.unit = unit if unit is not None else (1 if serial else Defaults.UnitId)
        self.online = False
        self.polling: set[tuple[int, int]] = set()
        self.failing: set[tuple[int, int]] = set()
        self.duration = 0.0
        self.counter = 0
        self._load: tuple[float | None, float | None, float | None] = (None, None, None)
        self._data: dict[int, int | None] = {}
        self._client: Any = None
        self._connecting = False
        self._waiters: list[defer.Deferred] = []
        self._lock = defer.DeferredLock()
        self._timer: Any = None
        self._running = False
        self._target: float | None = None
        self._done = False
        self._finished = threading.Event()
        self._serial: tuple[str, dict[str, Any]] | None = None  # the device, and open_serial's options
        if serial:
            if host is not None or port is not None:
                raise ValueError("give host/port or serial, not both")
            self._serial = (serial, dict(baudrate=baudrate, parity=parity, stopbits=stopbits, bytesize=bytesize))
        else:
            self.host = host or "localhost"
            self.port = Defaults.Port if port is None else int(port)
        self._connect_fn = connect
        if reactor is not None:
            self.reactor, self._threaded = reactor, False
        elif blocking.in_reactor_thread():
            from twisted.internet import reactor as global_reactor
            self.reactor, self._threaded = global_reactor, False
        else:
            self.reactor, self._threaded = blocking.get_reactor(), True

    # --- the public API (any thread) ---

    @property
    def load(self) -> tuple[float | None, float | None, float | None]:
        """The (1, 5, 15)-minute average fraction of the poll period spent on I/O (None until polled)."""
        return self._load

    def poll(self, address: int, rate: float | None = None) -> None:
        """Poll one-based *address* (e.g. 40001) from now on, at *rate* seconds or faster."""
        locate(address)  # ValueError for a non-address, here, in the caller's thread
        if rate is not None:
            self.rate = min(self.rate or rate, rate)
        self._data.setdefault(address, None)
        self._on_reactor(self._kick)

    def read(self, address: int) -> int | None:
        """The last polled value of *address* (starting to poll it), or None if offline or not yet polled."""
        if address not in self._data:
            self.poll(address)
        return self._data.get(address) if self.online else None

    def write(self, address: int, value: int | Sequence[int], **kwargs: Any) -> None:
        """Write value(s) at *address*, blocking until the PLC answers.

        Raises:
            PlcOffline: the PLC cannot be reached.
            ModbusError: the PLC answered with an exception.
            ReactorThreadError: called from the reactor thread (use :meth:`write_deferred`).
        """
        blocking.call(self.write_deferred, address, value, timeout=self.timeout * 4 + 10, **kwargs)

    def forget(self, address: int) -> None:
        """Drop the value known for *address*: it reads None until the next poll has read it."""
        self._data[address] = None

    def write_deferred(self, address: int, value: int | Sequence[int], unit: int | None = None) -> defer.Deferred:
        """Write value(s) at *address* at the next opportunity; fires with None when the PLC has answered."""
        return self._lock.run(self._write, address, value, unit)

    def stop(self) -> None:
        """Stop polling (from any thread) and close the connection."""
        self._done = True
        self._on_reactor(self._shutdown)

    def join(self, timeout: float | None = None) -> None:
        """Stop, and (outside the reactor thread) wait up to *timeout* seconds for the poller to finish."""
        self.stop()
        if self._threaded and not blocking.in_reactor_thread():
            self._finished.wait(timeout)

    def __repr__(self) -> str:
        return f"<poller_modbus {self.description!r} online={self.online} addresses={len(self._data)}>"

    # --- on the reactor ---

    def _on_reactor(self, fn: Callable[[], Any]) -> None:
        if self._threaded and not blocking.in_reactor_thread():
            self.reactor.callFromThread(fn)
        else:
            fn()

    def _kick(self) -> None:
        if self._done or self._running or (self._timer is not None and self._timer.active()):
            return
        self._timer = self.reactor.callLater(0, self._cycle)

    def _shutdown(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._drop_client()
        if not self._running:
            self._finished.set()

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _new_client(self) -> defer.Deferred:
        if self._connect_fn is not None:
            return self._connect_fn()
        if self._serial is not None:
            device, options = self._serial
            rtu = ModbusRtuClientProtocol(clock=self.reactor, timeout=self.timeout, unit=self.unit,
                                          baudrate=options["baudrate"])
            return defer.maybeDeferred(open_serial, self.reactor, device, rtu, **options).addCallback(
                lambda _: rtu)
        proto = ModbusTcpClientProtocol(clock=self.reactor, timeout=self.timeout, unit=self.unit)
        return connect_tcp(self.reactor, self.host, self.port, proto, timeout=max(self.timeout, 1.0))

    def _connected(self) -> defer.Deferred:
        """Fires with a connected client (connecting first if needed), or fails with PlcOffline."""
        if self._client is not None and self._client.connected:
            return defer.succeed(self._client)
        waiter: defer.Deferred = defer.Deferred()
        self._waiters.append(waiter)
        if not self._connecting:
            self._connecting = True
            defer.maybeDeferred(self._new_client).addCallbacks(self._made, self._failed)
        return waiter

    def _made(self, client: Any) -> None:
        self._connecting = False
        waiters, self._waiters = self._waiters, []
        if self._done:
            client.close()
            for w in waiters:
                w.errback(PlcOffline(f"PLC {self.description}: poller stopped"))
            return
        self._client = client
        lost = getattr(client, "lost", None)
        if lost is not None:
            lost.addCallback(lambda _: self._lost(client))
        log.info("PLC %s: connected", self.description)
        for w in waiters:
            w.callback(client)

    def _failed(self, failure: Any) -> None:
        self._connecting = False
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            w.errback(PlcOffline(f"PLC {self.description}: cannot connect: {failure.getErrorMessage()}"))

    def _lost(self, client: Any) -> None:
        if self._client is client:
            self._client = None
            log.warning("PLC %s: connection lost", self.description)

    @defer.inlineCallbacks
    def _write(self, address: int, value: int | Sequence[int], unit: int | None) -> Any:
        table, _ = locate(address)
        if table not in WRITE_LIMIT:
            raise ValueError(f"{address} is not writable (only coils and holding registers are)")
        try:
            client = yield self._connected()
        except PlcOffline:
            raise
        if isinstance(value, int):
            log.info("PLC %s: %6d <== %r", self.description, address, value)
            yield client.write(address, value, unit=unit, multi=self.multi)
            return None
        values = list(value)
        for base, count in shatter(address, len(values), WRITE_LIMIT[table]):
            chunk, values = values[:count], values[count:]
            log.info("PLC %s: %6d <== %r", self.description, base, chunk)
            try:
                yield client.write(base, chunk, unit=unit)
            except (error.ConnectionLost, TimeoutError) as exc:
                self._drop_client()
                raise PlcOffline(f"PLC {self.description}: write of {base} failed: {exc}") from exc
        return None

    @defer.inlineCallbacks
    def _cycle(self) -> Any:
        self._timer = None
        if self._done:
            self._finished.set()
            return
        if not self._data or not self.rate:
            return  # dormant until poll() kicks us again
        self._running = True
        try:
            yield self._poll_once()
        except Exception:
            log.exception("PLC %s: poll cycle failed", self.description)
        finally:
            self._running = False
        if self._done:
            self._finished.set()
            return
        now = self.reactor.seconds()
        target = (self._target if self._target is not None else now) + self.rate
        if target < now:
            slipped = int((now - target) / self.rate) + 1
            log.info("PLC %s: poll slipped %d cycle(s)", self.description, slipped)
            target += slipped * self.rate
        self._target = target
        self._timer = self.reactor.callLater(target - now, self._cycle)

    @defer.inlineCallbacks
    def _poll_once(self) -> Any:
        started = self.reactor.seconds()
        if self._target is None:
            self._target = started
        ranges = list(merge(((a, 1) for a in list(self._data)), reach=self.reach))
        succeeded: set[tuple[int, int]] = set()
        failed: set[tuple[int, int]] = set()
        busy = 0.0
        try:
            yield self._connected()
        except PlcOffline as exc:
            failed.update(ranges)
            if self.online or not self.failing:
                log.warning("%s", exc)
        else:
            for address, count in ranges:
                if self._done:
                    break
                begin = self.reactor.seconds()
                try:
                    values = yield self._lock.run(self._read, address, count)
                except ModbusError as exc:
                    failed.add((address, count))
                    if (address, count) not in self.failing:
                        log.warning("PLC %s: failing %d-%d: %s", self.description, address, address + count - 1, exc)
                except Exception as exc:
                    if self._done:
                        break  # stopped mid-poll: the connection was closed on purpose
                    failed.add((address, count))
                    if (address, count) not in self.failing:
                        log.warning("PLC %s: failing %d-%d: %s", self.description, address, address + count - 1, exc)
                    if isinstance(exc, (TimeoutError, error.ConnectionLost, PlcOffline)):
                        self._drop_client()
                else:
                    succeeded.add((address, count))
                    if not self.online:
                        self.online = True
                        log.warning("PLC %s: online", self.description)
                    for offset, value in enumerate(values):
                        if address + offset in self._data:
                            self._data[address + offset] = value
                busy += self.reactor.seconds() - begin
        if self._done:
            return
        self.polling, self.failing, self.duration = succeeded, failed, busy
        if ranges and not succeeded and self.online:
            self.online = False
            log.warning("PLC %s: offline", self.description)
        self.counter += 1
        sample = busy / self.rate if self.rate > 0 else 1.0
        per_minute = 60.0 / self.rate if self.rate > 0 else 1.0
        one, five, fifteen = self._load  # the 1, 5 and 15-minute averages
        self._load = (_ema(one, sample, 1.0 / (1 * per_minute)), _ema(five, sample, 1.0 / (5 * per_minute)),
                      _ema(fifteen, sample, 1.0 / (15 * per_minute)))

    def _read(self, address: int, count: int) -> defer.Deferred:
        client = self._client
        if client is None or not client.connected:
            return defer.fail(PlcOffline(f"PLC {self.description}: not connected"))
        return client.read(address, count)
