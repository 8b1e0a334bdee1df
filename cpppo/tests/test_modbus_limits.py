"""The Modbus/TCP server's bounds on real loopback sockets: connections beyond the limit closed, idle ones closed.

Issue 21: nothing a peer does may exhaust the simulator.  Each test serves through
:func:`~cpppo.modbus.service.make_service` (what ``modbus_sim`` and ``twistd cpppo-modbus`` run) on
127.0.0.1 with small bounds, and speaks to it with plain TCP peers.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from twisted.internet import defer, endpoints, protocol, task
from twisted.trial import unittest

from cpppo.bin import modbus_sim
from cpppo.modbus import framing, ranges
from cpppo.modbus.service import make_service

READ = bytes.fromhex("0300000001")


class Peer(protocol.Protocol):
    """A Modbus/TCP peer: sends reads, counts answers, knows when the server closed it."""

    def __init__(self) -> None:
        self.answers = 0
        self.closed: defer.Deferred = defer.Deferred()
        self.waiting: defer.Deferred | None = None

    def read(self) -> defer.Deferred:
        self.waiting = defer.Deferred()
        assert self.transport is not None
        self.transport.write(framing.encode_mbap(self.answers + 1, 1, READ))
        return self.waiting

    def dataReceived(self, data: bytes) -> None:
        self.answers += 1
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.callback(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.closed.callback(None)


class LimitsTest(unittest.TestCase):
    def serve(self, **bounds: Any) -> Any:
        from twisted.internet import reactor

        self.reactor = reactor
        bound: list[str] = []
        top = make_service([ranges.parse_range("40001-40010=7")], address="127.0.0.1:0",
                           report=lambda kind, address: bound.append(address), **bounds)
        top.startService()
        self.addCleanup(top.stopService)
        self.port = int(bound[0].rsplit(":", 1)[1])
        return top.factory

    @defer.inlineCallbacks
    def peer(self) -> Any:
        peer = yield endpoints.connectProtocol(endpoints.TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.port),
                                               Peer())
        self.addCleanup(lambda: peer.transport.loseConnection() or peer.closed)
        return peer

    def within(self, d: defer.Deferred, seconds: float = 5.0) -> defer.Deferred:
        return d.addTimeout(seconds, self.reactor)

    @defer.inlineCallbacks
    def test_connections_beyond_the_limit_are_closed_at_once(self) -> Any:
        factory = self.serve(max_connections=3, idle=0)
        served = []
        for _ in range(3):
            peer = yield self.peer()
            yield self.within(peer.read())
            served.append(peer)
        extra = yield self.peer()
        yield self.within(extra.closed)  # accepted, then closed: the table is full
        self.assertEqual((factory.refused, factory.connections), (1, 3))
        for peer in served:  # the served ones are untouched
            yield self.within(peer.read())
        served[0].transport.loseConnection()
        yield served[0].closed
        while factory.connections > 2:
            yield task.deferLater(self.reactor, 0.01, lambda: None)
        again = yield self.peer()  # room again
        yield self.within(again.read())
        self.assertFalse(again.closed.called)

    @defer.inlineCallbacks
    def test_idle_connection_closed_active_one_kept(self) -> Any:
        factory = self.serve(idle=0.4)
        idle = yield self.peer()
        busy = yield self.peer()
        yield self.within(busy.read())
        for _ in range(12):  # 1.2 s of polling, three times the timeout
            yield task.deferLater(self.reactor, 0.1, lambda: None)
            yield self.within(busy.read())
        self.assertTrue(idle.closed.called)
        self.assertFalse(busy.closed.called)
        self.assertEqual(factory.timed_out, 1)

    def test_options(self) -> None:
        parser = modbus_sim.build_parser()
        args = parser.parse_args(["40001"])
        self.assertEqual((args.max_connections, args.idle_timeout), (256, 120.0))
        args = parser.parse_args(["--max-connections", "4", "--idle-timeout", "0", "40001"])
        self.assertEqual((args.max_connections, args.idle_timeout), (4, 0.0))
        for bad in (["--max-connections", "0"], ["--idle-timeout", "-1"], ["--idle-timeout", "inf"]):
            with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
                parser.parse_args([*bad, "40001"])
        self.assertIn("--max-connections", parser.format_help())
        self.assertIn("--idle-timeout", parser.format_help())
