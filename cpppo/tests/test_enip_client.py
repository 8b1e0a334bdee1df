"""The Deferred EtherNet/IP client against the real simulator, in process, on trial's reactor."""

from __future__ import annotations

import struct

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from cpppo.enip.client import deferred as pipeline
from cpppo.enip.client import plan
from cpppo.enip.client.client_protocol import ConnectionClosed, EncapsulationError, RequestTimeout
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.simulator import run as main
from cpppo.enip.simulator.controller import device

TAGS = ["SCADA=INT[1000]", "FLOAT=REAL[10]", "BIG=DINT[300]"]


class Base(unittest.TestCase):
    server_args: list[str] = []

    def setUp(self):
        self.server = main.start(["--address", "127.0.0.1:0", "--no-udp", *self.server_args, *TAGS], reactor)
        self.host, self.port = self.server.address
        self.addCleanup(self.server.stop)
        self.clients = []

    def tearDown(self):
        return defer.gatherResults([c.close() for c in self.clients])

    @defer.inlineCallbacks
    def connect(self, **kwds):
        client = yield pipeline.connect(self.host, self.port, timeout=5, **kwds)
        self.clients.append(client)
        return client

    def watch(self, c):
        """Record, at each send, how many requests are on the wire; and the sends made before each decode."""
        proto = c.protocol
        on_wire, sends_at_decode = [], []
        send, decode = proto.send_request, proto.connection.decode

        def counting_send(*args, **kwds):
            d = send(*args, **kwds)
            on_wire.append(len(proto._outstanding))
            return d

        def noting_decode(framed):
            sends_at_decode.append(len(on_wire))
            return decode(framed)
        proto.send_request = counting_send
        proto.connection.decode = noting_decode
        return on_wire, sends_at_decode


class Services(Base):
    @defer.inlineCallbacks
    def test_read_write_attributes_identity(self):
        c = yield self.connect()
        self.assertTrue(c.session)
        self.assertIs((yield c.write("SCADA[1-3]=7,8,9")), True)
        self.assertEqual((yield c.read("SCADA[0-4]")), [0, 7, 8, 9, 0])
        self.assertIs((yield c.write("FLOAT[2]", [1.5], tag_type="REAL")), True)
        self.assertEqual((yield c.read("FLOAT[2]")), [1.5])
        name = yield c.get_attribute_single("@1/1/7")
        self.assertEqual(bytes(name[1:]).decode(), "1756-L61/B LOGIX5561")
        self.assertTrue((yield c.get_attributes_all("@1/1")))
        identity = yield c.list_identity()
        self.assertEqual(identity.product_name, "1756-L61/B LOGIX5561")

    @defer.inlineCallbacks
    def test_failures_are_results_not_errors(self):
        c = yield self.connect()
        (result,) = yield c.pipeline(["NOPE[0]"])
        idx, dsc, req, rpy, sts, val = result
        self.assertEqual((sts, val), (4, None))
        (result,) = yield c.pipeline(["SCADA[999-1000]"])
        self.assertEqual(result[4], (0xFF, [0x2105]))
        with self.assertRaises(pipeline.CIPError):
            yield c.read("NOPE")

    @defer.inlineCallbacks
    def test_simple_device_paths(self):
        c = yield self.connect(route_path=False, send_path="")
        self.assertEqual((yield c.read("SCADA[0]")), [0])


class Pipelining(Base):
    @defer.inlineCallbacks
    def test_depth_and_multiple_keep_order(self):
        c = yield self.connect()
        yield c.write("SCADA[0-99]", list(range(100)), tag_type="INT")
        ops = [f"SCADA[{i}]" for i in range(100)]
        for depth, multiple in ((1, 0), (5, 0), (20, 0), (20, 500), (1, 250)):
            results = yield c.pipeline(ops, depth=depth, multiple=multiple)
            self.assertEqual([r[5] for r in results], [[i] for i in range(100)], (depth, multiple))
            requests = len({r[0] for r in results})
            if multiple:
                self.assertLess(requests, 100)
                self.assertTrue(all(r[1].startswith("Multi.") for r in results))
            else:
                self.assertEqual(requests, 100)

    @defer.inlineCallbacks
    def test_operate_results_process(self):
        c = yield self.connect()
        ops = list(parse_operations(["SCADA[1-2]=3,4", "SCADA[1-2]", "NOPE"]))
        validated = yield c.operate(ops, depth=2, validating=True)
        self.assertEqual([r[5] for r in validated], [[3, 4], [3, 4], None])
        self.assertEqual((yield c.results(ops)), [True, [3, 4], None])
        self.assertEqual((yield c.process(ops, depth=3, multiple=500)), (1, [True, [3, 4], None]))

    @defer.inlineCallbacks
    def test_async_iterator(self):
        c = yield self.connect()

        async def gather():
            return [r async for r in c.iterate([f"SCADA[{i}]" for i in range(10)], depth=4)]
        got = yield defer.Deferred.fromCoroutine(gather())
        self.assertEqual([r[5] for r in got], [[0]] * 10)


class Fragmenting(Base):
    @defer.inlineCallbacks
    def check_big(self, c):
        yield c.write("SCADA[0-999]", [i % 300 for i in range(1000)], tag_type="INT")
        self.assertEqual((yield c.read("SCADA[0-999]")), [i % 300 for i in range(1000)])
        (result,) = yield c.pipeline(["SCADA[0-999]"], fragment=True)
        self.assertIsInstance(result[2].body, logix.ReadTagFragmented)
        self.assertEqual(len(result[5]), 1000)

    def test_unconnected_1000_elements(self):
        return self.connect().addCallback(self.check_big)

    def test_connected_1000_elements(self):
        return self.connect(connected=True).addCallback(self.check_big)

    @defer.inlineCallbacks
    def test_plain_when_it_fits_fragmented_when_not(self):
        c = yield self.connect()
        (small,) = yield c.pipeline(["SCADA[0-9]"])
        self.assertIsInstance(small[2].body, logix.ReadTag)
        requests = plan.write_requests({"data": list(range(600)), "tag_type": 0xC3}, (), False, False, 504)
        self.assertGreater(len(requests), 1)
        self.assertTrue(all(r.service == plan.WRITE_FRAG for r in requests))

    @defer.inlineCallbacks
    def test_no_fragment_refuses_too_large(self):
        c = yield self.connect()
        with self.assertRaises(plan.FragmentRequired):
            yield c.pipeline(["SCADA[0-999]"], no_fragment=True)
        with self.assertRaises(plan.FragmentRequired):
            yield c.pipeline([{"method": "write", "path": [{"symbolic": "SCADA"}, {"element": 0}],
                               "data": list(range(600)), "elements": 600, "tag_type": 0xC3}], no_fragment=True)
        self.assertEqual((yield c.read("SCADA[0-9]")), [0] * 10)   # still usable

    @defer.inlineCallbacks
    def test_byte_offset(self):
        c = yield self.connect()
        yield c.write("BIG[0-9]", list(range(10)), tag_type="DINT")
        self.assertEqual((yield c.read("BIG[0-9]+16")), [4, 5, 6, 7, 8, 9])


class Reuse(Base):
    @defer.inlineCallbacks
    def test_an_operation_changed_in_place_is_worked_out_again(self):
        """The client remembers what an operation means; the same dict with new values must write them."""
        c = yield self.connect()
        (op,) = parse_operations(["SCADA[3-4]=(INT)1,2"])
        yield c.pipeline([op])
        self.assertEqual((yield c.read("SCADA[3-4]")), [1, 2])
        op["data"][:] = [7, 8]            # the same list, changed
        yield c.pipeline([op])
        self.assertEqual((yield c.read("SCADA[3-4]")), [7, 8])
        op["path"][1]["element"] = 5       # another element, same dict
        (result,) = yield c.pipeline([op])
        self.assertEqual(result[4], 0)
        self.assertEqual((yield c.read("SCADA[3-6]")), [7, 8, 7, 8])


class WireDiscipline(Base):
    """A pipeline never has more than ``depth`` requests on the wire, and sends the next one as soon
    as a reply is framed, before that reply is decoded."""

    @defer.inlineCallbacks
    def test_depth_bounds_the_requests_on_the_wire(self):
        c = yield self.connect()
        on_wire, _ = self.watch(c)
        big_write = f"SCADA[0-599]=(INT){','.join(str(i % 100) for i in range(600))}"
        for depth in (1, 3):
            del on_wire[:]
            ops = [big_write, "SCADA[0-999]", "SCADA[5]", "SCADA[0-999]", "SCADA[7]", "BIG[0-299]"] * 2
            results = yield c.pipeline(ops, depth=depth)
            self.assertEqual([r[4] for r in results], [0] * len(ops))
            self.assertEqual(results[1][5], [i % 100 for i in range(600)] + [0] * 400)
            self.assertGreater(len(on_wire), len(ops))   # the fragments and partial reads went too
            self.assertLessEqual(max(on_wire), depth, depth)
            if depth > 1:
                self.assertEqual(max(on_wire), depth)

    @defer.inlineCallbacks
    def test_next_request_leaves_before_the_reply_is_decoded(self):
        c = yield self.connect()
        on_wire, sends_at_decode = self.watch(c)
        ops = [f"SCADA[{i}]" for i in range(5)]
        # The first time, a read's reply might come back partial (and need the rest before any
        # later request): each reply is decoded before the next request goes.
        self.assertEqual(len((yield c.pipeline(ops, depth=1))), 5)
        self.assertEqual(sends_at_decode, [1, 2, 3, 4, 5])
        # Known to fit now: reply k is decoded after request k+1 went out (the last has no successor).
        del on_wire[:], sends_at_decode[:]
        self.assertEqual(len((yield c.pipeline(ops, depth=1))), 5)
        self.assertEqual(sends_at_decode, [2, 3, 4, 5, 5])
        self.assertEqual(on_wire, [1, 1, 1, 1, 1])


class WhenThingsGoWrong(Base):
    """Whatever fails the run stops it before anything more is sent, and a read that fit before
    but comes back partial still keeps the depth."""

    @defer.inlineCallbacks
    def test_an_encapsulation_error_sends_nothing_more(self):
        c = yield self.connect()
        yield c.pipeline(["SCADA[0]"])                     # (known to fit: its place goes back early)
        proto, real = c.protocol, c.protocol.dataReceived
        spoil = [True]

        def spoiled(data):                                # the next reply says encapsulation status 1
            if spoil and len(data) >= 24:
                spoil.pop()
                data = data[:8] + struct.pack("<I", 1) + data[12:]
            return real(data)
        proto.dataReceived = spoiled
        with self.assertRaises(EncapsulationError):
            yield c.pipeline(["SCADA[0]", "SCADA[6]=(INT)43"], depth=1)
        yield task.deferLater(reactor, 0.2, lambda: None)
        self.assertEqual((yield c.read("SCADA[6]")), [0])   # the write never went

    @defer.inlineCallbacks
    def test_a_read_that_no_longer_fits_keeps_the_depth(self):
        c = yield self.connect()
        ops = ["BIG[0-199]", "SCADA[7]"]
        self.assertEqual([r[4] for r in (yield c.pipeline(ops))], [0, 0])   # 800 bytes: partial
        self.assertEqual([r[4] for r in (yield c.pipeline(["SCADA[0-199]"]))], [0])   # 400: fits
        self.server.service.tags.add(device.Attribute("SCADA", "DINT", [3] * 1000))   # now 800 bytes
        on_wire, _ = self.watch(c)
        results = yield c.pipeline(["SCADA[0-199]", "SCADA[7]", "SCADA[1]"], depth=1)
        self.assertEqual([r[5] for r in results], [[3] * 200, [3], [3]])
        self.assertEqual(max(on_wire), 1, on_wire)
        self.assertGreater(len(on_wire), 3)   # the rest of the read went too

    @defer.inlineCallbacks
    def test_operations_are_taken_just_ahead_of_the_results(self):
        c = yield self.connect()
        delivered, taken_at = [], []

        def operations():
            for i in range(6):
                taken_at.append(len(delivered))
                yield f"SCADA[{i}]"
        yield c.pipeline([f"SCADA[{i}]" for i in range(6)])   # (all known to fit)
        yield c.stream(operations(), delivered.append, depth=1)
        self.assertEqual(len(delivered), 6)
        # one on the wire and one staged: operation k is taken once k - 2 results are delivered
        self.assertEqual(taken_at, [0, 0, 0, 1, 2, 3])


class Timeouts(Base):
    server_args = ["--delay", "0.3"]

    @defer.inlineCallbacks
    def test_a_timeout_sends_nothing_more(self):
        c = yield self.connect()
        with self.assertRaises(RequestTimeout):
            yield c.pipeline(["SCADA[0]", "SCADA[5]=(INT)42"], depth=1, timeout=0.1)
        self.server.service.delay = 0
        yield task.deferLater(reactor, 0.5, lambda: None)
        self.assertEqual((yield c.read("SCADA[5]")), [0])   # the write never went

    @defer.inlineCallbacks
    def test_a_waiting_request_times_out_from_its_sending(self):
        """The next request is encoded while it waits for a place on the wire; its timeout runs
        from when it is sent, not from then."""
        c = yield self.connect()
        start = reactor.seconds()
        results = yield c.pipeline(["SCADA[1]", "SCADA[2]", "SCADA[3]"], depth=1, timeout=0.5)
        self.assertEqual([r[5] for r in results], [[0], [0], [0]])
        self.assertGreaterEqual(reactor.seconds() - start, 0.9)

    @defer.inlineCallbacks
    def test_timeout_fails_request_connection_stays_usable(self):
        c = yield self.connect()
        with self.assertRaises(RequestTimeout):
            yield c.read("SCADA[0]", timeout=0.05)
        self.assertFalse(c.closed)
        self.assertEqual((yield c.read("SCADA[1]", timeout=5)), [0])


class Disconnects(Base):
    @defer.inlineCallbacks
    def test_lost_connection_fails_outstanding(self):
        c = yield self.connect()
        d = c.pipeline([f"SCADA[{i}]" for i in range(50)], depth=10)
        c.protocol.transport.abortConnection()
        with self.assertRaises(ConnectionClosed):
            yield d
        self.assertTrue(c.closed)
        with self.assertRaises(ConnectionClosed):
            yield c.read("SCADA[0]")

    @defer.inlineCallbacks
    def test_refused(self):
        port = self.port
        yield self.server.stop()
        with self.assertRaises(Exception):
            yield pipeline.connect("127.0.0.1", port, timeout=2)
