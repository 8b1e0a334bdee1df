"""Connected (class 3) explicit messaging: Forward Open, Forward Close, and the connections they make.

pylogix reads and writes over a connection it opens with (Large) Forward Open;
pycomm3 does the same.  A :class:`ConnectionTable` checks a Forward Open (the
path must lead to this controller's Message Router, the transport must be
class 3, the size must fit), chooses the O->T connection id, and keeps the
connection while it is used: one left idle longer than its RPI times its
timeout multiplier is dropped, as a controller does.  Refusals carry general
status 0x01 and the Connection Manager's extended status.  The table holds at
most ``limit`` connections (a ControlLogix has a connection limit too): a Forward
Open beyond it is refused with 0x01 / 0x0113 (out of connections).  It is indexed
by the connection triad as well as by id, so that neither a Forward Open's duplicate
check nor a Forward Close scans the table.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.codec import cip
from cpppo.enip.codec.epath import Key, Logical, Port
from cpppo.enip.simulator.controller.device import Refusal

__all__ = ["Connected", "ConnectionTable"]

log = logging.getLogger(__name__)

CONNECTION_FAILURE = 0x01
DUPLICATE, TRANSPORT, SIZE, NOT_FOUND, OUT_OF_CONNECTIONS = 0x0100, 0x0103, 0x0109, 0x0107, 0x0113
BAD_SEGMENT, BAD_PORT = 0x0315, 0x0311
LARGEST, LARGEST_LARGE = 511, 4002


@dataclass
class Connected:
    """One open connection: its ids, triad, sizes and idle timeout."""

    o_t: int
    t_o: int
    triad: tuple[int, int, int]
    size: int  # T->O connection size: the largest connected reply message, with its sequence count
    timeout: float  # seconds of silence after which it is dropped
    owner: Any = None  # the protocol (TCP connection) that opened it
    sequence: int = 0
    timer: Any = field(default=None, repr=False)


class ConnectionTable:
    """The open connections of one device, by O->T id, with their idle timers on *clock*."""

    def __init__(self, clock: Any, slot: int = 0, routing: bool = True, first_id: int = 0x7E5D0001,
                 limit: int = 256) -> None:
        self.clock = clock
        self.slot = slot
        self.routing = routing
        self.limit = limit  # connections at once (Limits.forward_opens)
        self._by_id: dict[int, Connected] = {}
        self._by_triad: dict[tuple[int, int, int], int] = {}  # triad -> O->T id
        self._ids = itertools.count(first_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, o_t: int) -> Connected | None:
        connection = self._by_id.get(o_t)
        if connection is not None:
            self._touch(connection)
        return connection

    def _touch(self, connection: Connected) -> None:
        if connection.timer is not None and connection.timer.active():
            connection.timer.reset(connection.timeout)

    def _check_path(self, path: tuple[Any, ...]) -> None:
        segments = list(path)
        if segments and isinstance(segments[0], Port):
            port = segments.pop(0)
            if port.port != 1:
                raise Refusal(CONNECTION_FAILURE, (BAD_PORT,), f"no port {port.port}")
            if port.link != self.slot:
                raise Refusal(CONNECTION_FAILURE, (BAD_SEGMENT,), f"no controller in slot {port.link}")
        segments = [s for s in segments if not isinstance(s, Key)]  # an electronic key: any device matches
        target = [(s.kind, s.value) for s in segments if isinstance(s, Logical)]
        if target[:2] != [("class", 0x02), ("instance", 1)] or len(target) != len(segments):
            raise Refusal(CONNECTION_FAILURE, (BAD_SEGMENT,), f"connection path {path!r} is not the Message Router")

    def open(self, request: cip.ForwardOpen, owner: Any = None) -> cip.ForwardOpenReply:
        """Open a connection (or raise Refusal with the Connection Manager's status)."""
        self._check_path(request.path)
        if request.trigger & 0x0F != 3:
            raise Refusal(CONNECTION_FAILURE, (TRANSPORT,), f"transport 0x{request.trigger:02X} is not class 3")
        largest = LARGEST_LARGE if request.large else LARGEST
        if not 0 < request.o_t_size <= largest or not 0 < request.t_o_size <= largest:
            raise Refusal(CONNECTION_FAILURE, (SIZE,), f"connection size {request.o_t_size}/{request.t_o_size}")
        triad = (request.serial, request.vendor, request.originator_serial)
        if triad in self._by_triad:
            raise Refusal(CONNECTION_FAILURE, (DUPLICATE,), f"connection {triad} already open")
        if len(self._by_id) >= self.limit:
            raise Refusal(CONNECTION_FAILURE, (OUT_OF_CONNECTIONS,), f"{self.limit} connections open")
        o_t = next(self._ids) & 0xFFFFFFFF
        while o_t in self._by_id:  # (after 2**32 opens the ids wrap)
            o_t = next(self._ids) & 0xFFFFFFFF
        timeout = request.o_t_rpi / 1e6 * (4 << min(request.multiplier, 7))
        connection = Connected(o_t, request.t_o_connection, triad, request.t_o_size, max(timeout, 0.1), owner)
        connection.timer = self.clock.callLater(connection.timeout, self._expire, o_t)
        self._by_id[o_t] = connection
        self._by_triad[triad] = o_t
        log.info("Forward Open: connection 0x%08X (T->O 0x%08X), size %d, idle timeout %.3fs",
                 o_t, connection.t_o, connection.size, connection.timeout)
        return cip.ForwardOpenReply(o_t, request.t_o_connection, request.serial, request.vendor,
                                    request.originator_serial, request.o_t_rpi, request.t_o_rpi)

    def close(self, request: cip.ForwardClose) -> cip.ForwardCloseReply:
        triad = (request.serial, request.vendor, request.originator_serial)
        o_t = self._by_triad.get(triad)
        if o_t is not None:
            self._drop(o_t)
            return cip.ForwardCloseReply(*triad)
        raise Refusal(CONNECTION_FAILURE, (NOT_FOUND,), f"no connection {triad}")

    def _expire(self, o_t: int) -> None:
        connection = self._by_id.pop(o_t, None)
        if connection is not None:
            self._by_triad.pop(connection.triad, None)
            log.info("connection 0x%08X idle for %.3fs: dropped", o_t, connection.timeout)

    def _drop(self, o_t: int) -> None:
        connection = self._by_id.pop(o_t, None)
        if connection is not None:
            self._by_triad.pop(connection.triad, None)
        if connection is not None and connection.timer is not None and connection.timer.active():
            connection.timer.cancel()

    def drop_owner(self, owner: Any) -> None:
        """Drop every connection a (closed) TCP connection opened."""
        for o_t, connection in list(self._by_id.items()):
            if connection.owner is owner:
                self._drop(o_t)

    def clear(self) -> None:
        for o_t in list(self._by_id):
            self._drop(o_t)
