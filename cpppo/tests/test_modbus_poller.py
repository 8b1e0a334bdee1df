"""poller_modbus on a task.Clock with a fake client: merging, load, offline/online, reconnects, writes."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, error, task
from twisted.trial import unittest

from cpppo.modbus.errors import ModbusError
from cpppo.remote.plc_modbus import PlcOffline, merge, poller_modbus


class FakeClient:
    """Answers reads from a dict after *latency* seconds of the clock; records writes."""

    def __init__(self, clock: task.Clock, values: dict[int, int], latency: float = 0.1) -> None:
        self.clock, self.values, self.latency = clock, values, latency
        self.connected = True
        self.lost: defer.Deferred = defer.Deferred()
        self.reads: list[tuple[int, int]] = []
        self.writes: list[tuple[int, Any]] = []

    def read(self, address: int, count: int = 1, unit: int | None = None) -> defer.Deferred:
        self.reads.append((address, count))
        d: defer.Deferred = defer.Deferred()

        def answer() -> None:
            if not self.connected:
                d.errback(error.ConnectionLost())
            elif all(a in self.values for a in range(address, address + count)):
                d.callback([self.values[a] for a in range(address, address + count)])
            else:
                d.errback(ModbusError(2))

        self.clock.callLater(self.latency, answer)
        return d

    def write(self, address: int, values: Any, unit: int | None = None, multi: bool = False) -> defer.Deferred:
        self.writes.append((address, values))
        vals = [values] if isinstance(values, int) else values
        for i, v in enumerate(vals):
            self.values[address + i] = v
        return defer.succeed(None)

    def close(self) -> None:
        self.drop()

    def drop(self) -> None:
        if self.connected:
            self.connected = False
            self.lost.callback(None)


class PollerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.values = {a: a - 40000 for a in range(40001, 40021)}
        self.clients: list[FakeClient] = []
        self.reachable = True

        def connect() -> defer.Deferred:
            if not self.reachable:
                return defer.fail(error.ConnectionRefusedError())
            c = FakeClient(self.clock, self.values)
            self.clients.append(c)
            return defer.succeed(c)

        self.poller = poller_modbus("fake", rate=1.0, reactor=self.clock, connect=connect, reach=5)

    def tearDown(self) -> None:
        self.poller.stop()
        self.clock.advance(10)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_merge_compat(self) -> None:
        self.assertEqual(list(merge([(40001, 1), (40003, 1)], reach=3)), [(40001, 3)])

    def test_polls_merged_and_reads(self) -> None:
        for a in (40001, 40002, 40003, 40010, 40011):
            self.poller.poll(a)
        self.assertIsNone(self.poller.read(40001))
        self.clock.advance(0)
        self.clock.advance(0.1)
        self.clock.advance(0.1)
        self.assertEqual(self.clients[0].reads, [(40001, 3), (40010, 2)])
        self.assertEqual(self.poller.read(40002), 2)
        self.assertEqual(self.poller.read(40011), 11)
        self.assertTrue(self.poller.online)
        self.assertEqual(self.poller.polling, {(40001, 3), (40010, 2)})

    def test_load(self) -> None:
        self.poller.poll(40001)
        self.poller.poll(40020)
        self.assertEqual(self.poller.load, (None, None, None))
        self.clock.advance(0)
        for _ in range(5):
            self.clock.advance(0.1)
        # two requests of 0.1 s each in a 1 s period: 20% of the period on I/O
        self.assertAlmostEqual(self.poller.load[0], 0.2)
        self.assertAlmostEqual(self.poller.duration, 0.2)
        self.clients[0].latency = 0.25  # binary-exact steps: no rounding in the clock
        for _ in range(60 * 4 * 8):
            self.clock.advance(0.125)
        one, five, fifteen = self.poller.load
        self.assertGreater(one, five)
        self.assertGreater(five, fifteen)
        self.assertLess(one, 0.5 + 1e-9)
        self.assertGreater(one, 0.45)

    def test_failing_range(self) -> None:
        self.poller.poll(40030)
        self.poller.poll(40001)
        self.clock.advance(0)
        self.clock.pump([0.1] * 3)
        self.assertEqual(self.poller.failing, {(40030, 1)})
        self.assertEqual(self.poller.read(40001), 1)
        self.assertIsNone(self.poller.read(40030))

    def test_goes_away_and_comes_back(self) -> None:
        self.poller.poll(40005)
        self.clock.advance(0)
        self.clock.advance(0.1)
        self.assertEqual(self.poller.read(40005), 5)
        self.reachable = False
        self.clients[0].drop()
        self.clock.pump([0.5] * 4)
        self.assertFalse(self.poller.online)
        self.assertIsNone(self.poller.read(40005))
        self.values[40005] = 55
        self.reachable = True
        self.clock.pump([0.5] * 4)
        self.assertEqual(len(self.clients), 2)
        self.assertEqual(self.poller.read(40005), 55)

    def test_write_deferred(self) -> None:
        self.poller.poll(40001)
        d = self.poller.write_deferred(40001, [7, 8])
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(self.clients[0].writes, [(40001, [7, 8])])
        self.clock.advance(0)
        self.clock.advance(0.1)
        self.assertEqual(self.poller.read(40001), 7)
        self.failureResultOf(self.poller.write_deferred(30001, 1), ValueError)

    def test_write_offline(self) -> None:
        self.reachable = False
        self.failureResultOf(self.poller.write_deferred(40001, 1), PlcOffline)

    def test_big_write_is_shattered(self) -> None:
        self.successResultOf(self.poller.write_deferred(40001, list(range(200))))
        self.assertEqual([(a, len(v)) for a, v in self.clients[0].writes], [(40001, 123), (40124, 77)])

    def test_stop_closes(self) -> None:
        self.poller.poll(40001)
        self.clock.advance(0)
        self.clock.advance(0.1)
        self.poller.join()
        self.assertFalse(self.clients[0].connected)
        self.assertTrue(self.poller._finished.is_set())


class ReactorPollerTest(unittest.TestCase):
    """poller_modbus from Twisted code: the test's own reactor, a real server on 127.0.0.1:0, Deferreds."""

    @defer.inlineCallbacks
    def test_poll_and_write_deferred(self):  # type: ignore[no-untyped-def]
        from twisted.internet import reactor

        from cpppo.modbus import datastore, ranges, server

        units = datastore.Units([ranges.parse_range("40001-40004=3")])
        factory = server.ModbusTcpServerFactory(units)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        poller = poller_modbus("here", host="127.0.0.1", port=port.getHost().port, rate=0.05, reactor=reactor)
        self.assertIs(poller.reactor, reactor)
        try:
            poller.poll(40001)
            yield self.until(lambda: poller.read(40001) == 3)
            yield poller.write_deferred(40001, [7, 8])
            self.assertEqual(units.lookup(0).get(40001, 2), [7, 8])
            yield self.until(lambda: poller.read(40001) == 7)
            client = poller._client
        finally:
            poller.stop()
            yield port.stopListening()
        yield client.lost
        yield self.until(lambda: factory.connections == 0)

    @staticmethod
    @defer.inlineCallbacks
    def until(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        from twisted.internet import reactor

        waited = 0.0
        while not predicate():
            if waited > timeout:
                raise AssertionError("condition not met in time")
            yield task.deferLater(reactor, 0.02, lambda: None)
            waited += 0.02
