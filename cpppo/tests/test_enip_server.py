"""The EtherNet/IP simulator's service and protocol, without sockets: StringTransport and Clock."""

from __future__ import annotations

import logging
import struct
from dataclasses import replace
from typing import Any

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from cpppo.enip.codec import cip, encap
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.connection import NEED_DATA, Connection, Role
from cpppo.enip.codec.epath import Logical, Port, Symbolic
from cpppo.enip.simulator import options
from cpppo.enip.simulator import run as main
from cpppo.enip.simulator.controller import device
from cpppo.enip.simulator.server_protocol import EnipDatagram, EnipFactory
from cpppo.enip.simulator.service import EnipService
from cpppo.misc import NORMAL

CM = (Logical("class", 6), Logical("instance", 1))
ROUTER = (Logical("class", 2), Logical("instance", 1))
CONNECTION_PATH = (Port(1, 0), Logical("class", 2), Logical("instance", 1))


def tag(name: str, element: int | None = None) -> tuple:
    return (Symbolic(name),) + ((Logical("element", element),) if element is not None else ())


class Peer:
    """A client's end of one connection to the service, in memory."""

    def __init__(self, factory: EnipFactory, port: int = 5555) -> None:
        self.protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", port))
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", port))
        self.protocol.makeConnection(self.transport)
        self.parser = Connection(Role.CLIENT)
        self.session = 0
        self.context = 0

    def send(self, frame: encap.Frame) -> None:
        self.protocol.dataReceived(encap.encode_frame(frame))

    def replies(self) -> list[encap.Frame]:
        data = self.transport.value()
        self.transport.clear()
        if data:  # (an empty chunk would mean end of stream)
            self.parser.receive_data(data)
        out = []
        while (event := self.parser.next_event()) is not NEED_DATA:
            out.append(event)
        return out

    def register(self) -> int:
        self.send(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession()))
        (reply,) = self.replies()
        self.session = reply.session
        return reply.session

    def request(self, request: cip.Request, route: bool = True) -> encap.Frame:
        self.context += 1
        message = cip.Request(0x52, CM, body=cip.UnconnectedSend(request, (Port(1, 0),))) if route else request
        items = (encap.NullAddress(), encap.UnconnectedData(message))
        return encap.Frame(encap.SEND_RR_DATA, encap.SendData(items, 0, 5), self.session, 0,
                           struct.pack("<Q", self.context))

    def ask(self, request: cip.Request, route: bool = True) -> cip.Reply:
        self.send(self.request(request, route))
        (reply,) = self.replies()
        return reply.body.items[1].message

    def connected(self, o_t: int, sequence: int, request: cip.Request) -> encap.Frame:
        items = (encap.ConnectedAddress(o_t), encap.ConnectedData(sequence, request))
        return encap.Frame(encap.SEND_UNIT_DATA, encap.SendData(items), self.session)


def read(name: str, element: int | None = None, count: int = 1) -> cip.Request:
    return cip.Request(0x4C, tag(name, element), body=logix.ReadTag(count))


def write(name: str, element: int | None, kind: int, values: bytes, count: int = 1) -> cip.Request:
    return cip.Request(0x4D, tag(name, element), body=logix.WriteTag(kind, count, values))


def forward_open(serial: int = 1, size: int = 500, large: bool = False, path: tuple = CONNECTION_PATH,
                 trigger: int = 0xA3, rpi: int = 100000, multiplier: int = 0) -> cip.Request:
    parameters = (0x4200 << 16 if large else 0x4200) | size  # size in the low bits of a WORD or a DWORD
    return cip.Request(0x5B if large else 0x54, CM, body=cip.ForwardOpen(
        path, 0, 0xB000 + serial, serial, 0x1337, 42, multiplier, rpi, parameters, rpi, parameters,
        trigger, large=large))


class ServiceTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.service = EnipService(self.clock, route_path=(Port(1, 0),))
        self.service.add_tag("SCADA", "INT", 1000)
        self.service.add_tag("FLOAT", "REAL", 10, default=0.0)
        self.service.add_tag("ONE", "DINT", 1)
        self.factory = EnipFactory(self.service)
        self.peer = Peer(self.factory)
        self.peer.register()


class TestSessions(ServiceTestCase):
    def test_register_and_a_wrong_session(self) -> None:
        self.assertIn(self.peer.session, self.service.sessions)
        frame = self.peer.request(read("SCADA", 1))
        self.peer.send(encap.Frame(frame.command, frame.body, self.peer.session + 1, 0, frame.context))
        (reply,) = self.peer.replies()
        self.assertEqual((reply.status, reply.context), (encap.INVALID_SESSION, frame.context))
        self.assertEqual(self.peer.ask(read("SCADA", 1)).status, 0)  # still served

    def test_unsupported_version_and_unregister(self) -> None:
        other = Peer(self.factory, 5556)
        other.send(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession(2, 0)))
        (reply,) = other.replies()
        self.assertEqual(reply.status, encap.UNSUPPORTED_PROTOCOL)
        self.peer.send(encap.Frame(encap.UNREGISTER_SESSION, encap.RegisterSession(), self.peer.session))
        self.assertEqual(self.peer.replies(), [])
        self.assertTrue(self.peer.transport.disconnecting)

    def test_list_commands_and_nop(self) -> None:
        self.peer.send(encap.Frame(encap.NOP, encap.Raw(b"xyz")))
        self.peer.send(encap.Frame(encap.LIST_IDENTITY))
        self.peer.send(encap.Frame(encap.LIST_SERVICES))
        self.peer.send(encap.Frame(0x0042))
        identity, services, unknown = self.peer.replies()
        self.assertEqual(identity.body.items[0].product_name, "1756-L61/B LOGIX5561")
        self.assertEqual(services.body.items[0].name, "Communications")
        self.assertEqual(unknown.status, encap.INVALID_COMMAND)

    def test_udp_list_identity(self) -> None:
        datagram = EnipDatagram(self.service)
        sent: list[tuple[bytes, Any]] = []
        datagram.transport = type("T", (), {"write": lambda self, data, addr: sent.append((data, addr))})()
        datagram.datagramReceived(encap.encode_frame(encap.Frame(encap.LIST_IDENTITY)), ("127.0.0.1", 2222))
        datagram.datagramReceived(b"garbage", ("127.0.0.1", 2222))
        (data, addr), = sent
        self.assertEqual(encap.decode_frame(data, reply=True).body.items[0].vendor_id, 1)


class TestTags(ServiceTestCase):
    def test_read_write_and_multiple(self) -> None:
        reply = self.peer.ask(write("SCADA", 2, 0xC3, struct.pack("<3h", 7, -8, 9), 3))
        self.assertEqual(reply.status, 0)
        reply = self.peer.ask(read("SCADA", 1, 5))
        self.assertEqual(reply.body.values(), [0, 7, -8, 9, 0])
        reads = (read("SCADA", 3), read("FLOAT", 0), read("NOPE"))
        reply = self.peer.ask(cip.Request(0x0A, ROUTER, body=cip.MultipleService(reads)))
        self.assertEqual(reply.status, 0x1E)
        first, second, third = reply.body.replies
        self.assertEqual((first.body.values(), second.body.values(), third.status), ([-8], [0.0], 0x04))

    def test_where_a_path_lands_follows_the_tags(self) -> None:
        """The tags remember where each path lands; a tag added, an alias, a forced error all count."""
        from cpppo.enip.simulator.controller.tags import CIPError, Tags
        tags = Tags()
        first = tags.add(device.Attribute("A", default=[0] * 4))
        path = (Symbolic("A"), Logical("element", 2))
        self.assertEqual(tags.resolve(path), (first, 2))
        self.assertEqual(tags.resolve(path), (first, 2))            # (remembered)
        second = tags.add(device.Attribute("A", default=[0] * 8))   # the tag is replaced
        self.assertIs(tags.resolve(path)[0], second)
        with self.assertRaises(CIPError):
            tags.resolve((Symbolic("B"),))
        tags.alias("B", second, (Logical("element", 5),))
        self.assertEqual(tags.resolve((Symbolic("B"),)), (second, 5))
        second.error = 0x1F                                         # forced to fail, after it was found
        with self.assertRaises(CIPError) as raised:
            tags.resolve(path)
        self.assertEqual(raised.exception.status, 0x1F)
        second.error = 0
        self.assertEqual(tags.locate([Symbolic("A"), Logical("element", 1)]), (second, [Logical("element", 1)]))
        # a Read Tag request served again is served from what it meant, with the same checks
        request = cip.Request(0x4C, path, body=logix.ReadTag(1))
        second[2] = 5
        self.assertEqual([tags.serve(request).body.values() for _ in range(2)], [[5], [5]])
        second.error = 0x1F
        with self.assertRaises(CIPError):
            tags.serve(request)
        second.error, second.external_access = 0, 3   # external access None: not served
        with self.assertRaises(CIPError) as raised:
            tags.serve(request)
        self.assertEqual(raised.exception.status, 0x0F)
        third = tags.add(device.Attribute("A", default=[9] * 8))   # replaced again: served from the new tag
        self.assertIs(tags.resolve(path)[0], third)
        self.assertEqual(tags.serve(request).body.values(), [9])

    def test_reply_too_large(self) -> None:
        reads = tuple(read("SCADA", 0, 200) for _ in range(3))  # 3 x 400 bytes: more than one reply holds
        reply = self.peer.ask(cip.Request(0x0A, ROUTER, body=cip.MultipleService(reads)))
        self.assertEqual(reply.status, 0x11)

    def test_unrouted_requests_are_served_the_same(self) -> None:
        self.assertEqual(self.peer.ask(read("SCADA", 0), route=False).status, 0)

    def test_controllogix_error_statuses(self) -> None:
        cases = [
            (read("NOPE"), 0x04, ()),
            (read("SCADA", 999, 2), 0xFF, (0x2105,)),
            (read("SCADA", 1000), 0xFF, (0x2105,)),
            (write("SCADA", 0, 0xC4, b"\x00" * 4), 0xFF, (0x2107,)),
            (cip.Request(0x53, tag("SCADA", 998), body=logix.WriteTagFragmented(0xC3, 2, 0, b"\x00" * 6)), 0x15, ()),
            (write("SCADA", 0, 0xC3, b"\x00" * 2, 2), 0x13, ()),
            (cip.Request(0x4B, tag("SCADA")), 0x08, ()),
            (cip.Request(0x0E, (Logical("class", 0x99), Logical("instance", 1), Logical("attribute", 1))), 0x05, ()),
            (cip.Request(0x0E, (Logical("class", 1), Logical("instance", 1), Logical("attribute", 99))), 0x14, ()),
            (cip.Request(0x10, (Logical("class", 1), Logical("instance", 1), Logical("attribute", 1)), b"\x01\x00"),
             0x0E, ()),
            (cip.Request(0x33, (Logical("class", 1), Logical("instance", 1))), 0x08, ()),
        ]
        for request, status, extended in cases:
            reply = self.peer.ask(request)
            self.assertEqual((reply.status, reply.extended), (status, extended), request)
            self.assertEqual(reply.service, request.service | 0x80)

    def test_fragmented_read(self) -> None:
        values = list(range(1000))
        self.service.tags["SCADA"][0:1000] = values
        reply = self.peer.ask(read("SCADA", 0, 1000))
        self.assertEqual(reply.status, 0x06)
        got = list(reply.body.values())
        while len(got) < 1000:
            request = cip.Request(0x52, tag("SCADA", 0), body=logix.ReadTagFragmented(1000, len(got) * 2))
            reply = self.peer.ask(request)
            self.assertIn(reply.status, (0, 6))
            self.assertLessEqual(len(reply.payload()), 504)
            got += reply.body.values()
        self.assertEqual((got, reply.status), (values, 0))

    def test_identity_objects(self) -> None:
        reply = self.peer.ask(cip.Request(0x01, (Logical("class", 1), Logical("instance", 1))))
        vendor, device_type, product, major, minor, status, serial, size = struct.unpack_from("<HHHBBHIB",
                                                                                            reply.data)
        self.assertEqual((vendor, device_type, product), (1, 0x0E, 54))
        self.assertEqual(reply.data[15:15 + size], b"1756-L61/B LOGIX5561")
        for class_id, attribute in ((0xF5, 5), (0xF5, 6), (0xF6, 3), (2, 1)):
            path = (Logical("class", class_id), Logical("instance", 1), Logical("attribute", attribute))
            self.assertEqual(self.peer.ask(cip.Request(0x0E, path)).status, 0, (class_id, attribute))

    def test_forced_error_and_eof(self) -> None:
        self.service.set_error("SCADA", 0x1F)
        self.assertEqual(self.peer.ask(read("SCADA", 0)).status, 0x1F)
        self.service.set_error("SCADA", 0)
        self.assertEqual(self.peer.ask(read("SCADA", 0)).status, 0)
        self.assertEqual(self.service.eof(), 1)
        self.assertTrue(self.peer.transport.disconnecting)


class TestRepeatedRequests(ServiceTestCase):
    """A poller sends the same request again and again: what the server keeps of it must never show a
    stale value."""

    def read_again(self) -> tuple[int, Any]:
        """SCADA[1] read once more (the same bytes but the sender context): its status and values."""
        frame = self.peer.request(read("SCADA", 1))
        self.peer.send(frame)
        (reply,) = self.peer.replies()
        self.assertEqual(reply.context, frame.context)  # each reply carries its own request's context
        message = reply.body.items[1].message
        return message.status, message.body.values() if message.status == 0 else None

    def test_a_repeated_read_follows_every_change(self) -> None:
        """Served from what was kept (the request decoded once, the reply while the value is unchanged),
        and every way the value or the tag changes shows in the next read."""
        self.assertEqual(self.read_again(), (0, [0]))
        self.assertEqual(self.read_again(), (0, [0]))
        self.assertEqual(len(self.peer.protocol.connection._unconnected), 1)  # decoded once
        self.assertEqual(self.peer.ask(write("SCADA", 1, 0xC3, struct.pack("<h", 123))).status, 0)
        self.assertEqual(self.read_again(), (0, [123]))
        self.service.tags["SCADA"][1] = -5  # written by the controller's own code (logic, the web API)
        self.assertEqual(self.read_again(), (0, [-5]))
        rmw = cip.Request(0x4E, tag("SCADA", 1), body=logix.ReadModifyWrite(b"\x00\x00", b"\xff\x00"))
        self.assertEqual(self.peer.ask(rmw).status, 0)
        self.assertEqual(self.read_again(), (0, [0xFB]))  # (-5 & 0x00FF)
        self.service.set_error("SCADA", 0x1F)
        self.assertEqual(self.read_again(), (0x1F, None))
        self.service.set_error("SCADA", 0)
        self.assertEqual(self.read_again(), (0, [0xFB]))
        self.service.add_tag("SCADA", "DINT", 2)  # the tag itself replaced
        self.service.tags["SCADA"][1] = 70000
        self.assertEqual(self.read_again(), (0, [70000]))

    def test_an_unchanged_value_is_answered_with_the_same_reply(self) -> None:
        """The tags answer a read they served before, whose value bytes are unchanged, with the same
        (immutable) reply record, encoded once; a changed value gets a new one."""
        tags, request = self.service.tags, read("SCADA", 1)
        first = tags.serve(request)
        self.assertIs(tags.serve(request), first)
        self.assertIs(first.encode(), first.encode())
        tags["SCADA"][1] = 9
        changed = tags.serve(request)
        self.assertEqual(changed.body.values(), [9])
        self.assertIsNot(changed, first)
        self.assertEqual(first.body.values(), [0])  # (the old reply is untouched)

    def test_an_unchanged_reply_is_sent_in_the_same_command_data(self) -> None:
        """The dispatcher wraps the same reply to the same request in the same SendRRData record (each
        frame with its own sender context); a changed reply gets its own."""
        frame, link = self.peer.request(read("SCADA", 1)), self.peer.protocol.link
        first, again = (self.service.handle(replace(frame, context=context), link) for context in (b"1" * 8, b"2" * 8))
        self.assertIs(again.body, first.body)
        self.assertEqual((first.context, again.context), (b"1" * 8, b"2" * 8))
        self.service.tags["SCADA"][1] = 9
        changed = self.service.handle(frame, link)
        self.assertIsNot(changed.body, first.body)
        self.assertEqual(changed.body.items[1].message.body.values(), [9])
        self.assertEqual(first.body.items[1].message.body.values(), [0])


class TestConnected(ServiceTestCase):
    def open(self, **kwds: Any) -> cip.Reply:
        return self.peer.ask(forward_open(**kwds), route=False)

    def test_forward_open_read_and_close(self) -> None:
        reply = self.open(large=True, size=4002)
        self.assertEqual(reply.status, 0)
        o_t = reply.body.o_t_connection
        self.peer.send(self.peer.connected(o_t, 7, read("SCADA", 0, 1000)))
        (frame,) = self.peer.replies()
        address, data = frame.body.items
        self.assertEqual((address.connection, data.sequence), (0xB001, 7))
        self.assertEqual((data.message.status, len(data.message.body.values())), (0, 1000))  # fits 4002
        close = cip.Request(0x4E, CM, body=cip.ForwardClose(CONNECTION_PATH, 1, 0x1337, 42))
        self.assertEqual(self.peer.ask(close, route=False).status, 0)
        self.assertEqual(len(self.service.connections), 0)
        self.assertEqual(self.peer.ask(close, route=False).extended, (0x0107,))

    def test_idle_connection_is_dropped(self) -> None:
        reply = self.open(rpi=100000, multiplier=1)  # 0.1 s x 8
        o_t = reply.body.o_t_connection
        self.clock.advance(0.5)
        self.peer.send(self.peer.connected(o_t, 1, read("ONE")))
        self.assertEqual(self.peer.replies()[0].body.items[1].message.status, 0)
        self.clock.advance(0.79)  # activity restarted the timer
        self.assertEqual(len(self.service.connections), 1)
        self.clock.advance(0.02)
        self.assertEqual(len(self.service.connections), 0)
        self.peer.send(self.peer.connected(o_t, 2, read("ONE")))
        self.assertEqual(self.peer.replies()[0].body.items[1].message.status, 0x01)

    def test_refused_forward_opens(self) -> None:
        cases = [
            (dict(path=(Port(1, 3), Logical("class", 2), Logical("instance", 1))), (0x0315,)),
            (dict(path=(Port(2, 0), Logical("class", 2), Logical("instance", 1))), (0x0311,)),
            (dict(path=(Port(1, 0), Logical("class", 1), Logical("instance", 1))), (0x0315,)),
            (dict(trigger=0xA1), (0x0103,)),
            (dict(size=5000, large=True), (0x0109,)),
        ]
        for kwds, extended in cases:
            reply = self.open(**kwds)
            self.assertEqual((reply.status, reply.extended), (0x01, extended), kwds)
            self.assertTrue(reply.body.failed)
        self.assertEqual(self.open().status, 0)
        self.assertEqual(self.open().extended, (0x0100,))  # the same triad again

    def test_connections_of_a_closed_client_are_dropped(self) -> None:
        self.open()
        self.peer.transport.loseConnection()
        self.peer.protocol.connectionLost(None)
        self.assertEqual(len(self.service.connections), 0)


class SlowAttribute(device.Attribute):
    """Reads answer only when the test fires them."""

    pending: list[defer.Deferred]

    def __getitem__(self, key: Any) -> Any:
        d: defer.Deferred = defer.Deferred()
        self.pending.append(d)
        value = super().__getitem__(key)
        return d.addCallback(lambda _: value)


class TestOrderAndDelay(ServiceTestCase):
    def test_replies_keep_request_order(self) -> None:
        slow = self.service.tags.add(SlowAttribute("SLOW", "DINT", [5, 6]))
        slow.pending = []
        self.peer.send(self.peer.request(read("SLOW", 0, 2)))
        self.peer.send(self.peer.request(read("SCADA", 0)))
        self.assertEqual(self.peer.replies(), [])  # the fast reply waits behind the slow one
        slow.pending[0].callback(None)
        first, second = self.peer.replies()
        self.assertEqual(first.body.items[1].message.body.values(), [5, 6])
        self.assertEqual(first.context, struct.pack("<Q", 1))
        self.assertEqual(second.context, struct.pack("<Q", 2))

    def test_delay(self) -> None:
        self.service.delay = 0.25
        self.peer.send(self.peer.request(read("SCADA", 0)))
        self.clock.advance(0.2)
        self.assertEqual(self.peer.replies(), [])
        self.clock.advance(0.06)
        self.assertEqual(len(self.peer.replies()), 1)
        self.service.delay = (0.1, 0.2)
        self.peer.send(self.peer.request(read("SCADA", 0)))
        self.clock.advance(0.099)
        self.assertEqual(self.peer.replies(), [])
        self.clock.advance(0.102)
        self.assertEqual(len(self.peer.replies()), 1)


class TestBadFrames(ServiceTestCase):
    def test_bad_command_data_is_answered(self) -> None:
        bad = encap.HEADER.pack(encap.SEND_RR_DATA, 8, self.peer.session, 0, b"badframe", 0) + struct.pack(
            "<IHH", 0, 5, 3)
        self.peer.protocol.dataReceived(bad)
        (reply,) = self.peer.replies()
        self.assertEqual((reply.status, reply.context), (encap.INCORRECT_DATA, b"badframe"))
        self.assertEqual(self.peer.ask(read("SCADA", 0)).status, 0)

    def test_malformed_cip_is_answered(self) -> None:
        items = (encap.NullAddress(), encap.UnconnectedData(b"\x4c\x09\x91"))
        self.peer.send(encap.Frame(encap.SEND_RR_DATA, encap.SendData(items), self.peer.session))
        (reply,) = self.peer.replies()
        self.assertEqual(reply.body.items[1].message.service, 0xCC)
        self.assertNotEqual(reply.body.items[1].message.status, 0)
        self.assertFalse(self.peer.transport.disconnecting)

    def test_impossible_length_closes(self) -> None:
        self.peer.protocol.dataReceived(encap.HEADER.pack(encap.SEND_RR_DATA, 65535, 0, 0, bytes(8), 0))
        self.assertTrue(self.peer.transport.disconnecting)
        other = Peer(self.factory, 5557)
        self.assertTrue(other.register())

    def test_disabled_refuses_new_clients(self) -> None:
        self.service.disable(True)
        self.assertIsNone(self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1)))
        self.assertTrue(self.peer.transport.disconnecting)


class TestOptions(unittest.TestCase):
    def test_tag_specs(self) -> None:
        self.assertEqual(options.parse_tag("SCADA=dint[1000]"), options.TagSpec("SCADA", "DINT", 1000, (1000,)))
        self.assertEqual(options.parse_tag("x"), options.TagSpec("x", "INT", 1))
        self.assertEqual(options.parse_tag("One=INT[1]"), options.TagSpec("One", "INT", 1, (1,)))
        self.assertEqual(options.parse_tag("Grid=DINT[5,5]"), options.TagSpec("Grid", "DINT", 25, (5, 5)))
        self.assertEqual(options.parse_tag("Bits=BOOL[64]"), options.TagSpec("Bits", "DWORD", 2, (2,), bits=64))
        self.assertEqual(options.parse_tag("Bits=BOOL[33]").length, 2)
        for bad in ("SCADA=FOO", "=INT", "A=INT[x]", "A=INT[0]", "A=INT[2,0]", "A=INT[1,2,3,4]", "B=BOOL[2,2]"):
            with self.assertRaises(ValueError):
                options.parse_tag(bad)

    def test_addresses_routes_delays(self) -> None:
        self.assertEqual(options.parse_address(":44818"), ("", 44818))
        self.assertEqual(options.parse_address("127.0.0.1:0"), ("127.0.0.1", 0))
        self.assertEqual(options.parse_address("localhost"), ("localhost", 44818))
        self.assertEqual(options.parse_route_path("1/0"), (Port(1, 0),))
        self.assertEqual(options.parse_route_path('[{"port": 1, "link": 3}]'), (Port(1, 3),))
        self.assertIs(options.parse_route_path("false"), False)
        self.assertEqual(options.parse_delay("0.5"), 0.5)
        self.assertEqual(options.parse_delay("0.1-0.3"), (0.1, 0.3))
        for bad in ("x", "-1", "0.3-0.1"):
            with self.assertRaises(ValueError):
                options.parse_delay(bad)

    def test_usage_errors_exit_2(self) -> None:
        for argv in (["SCADA=FOO"], [], ["-d", "x", "A=INT"], ["-a", "host:port", "A=INT"], ["-c", "/nope", "A"]):
            ap = options.parser()
            with self.assertRaises(SystemExit) as caught:
                options.configure(ap.parse_args(argv), ap)
            self.assertEqual(caught.exception.code, 2, argv)

    def test_config_file(self) -> None:
        path = self.mktemp()
        with open(path, "w") as file:
            file.write("[Identity]\nVendor Number = 7\nProduct Name = Simulated PLC  # comment\n"
                       "Product Revision = 2836\n[UCMM]\nRoute Path = 1/2\n")
        ap = options.parser()
        settings = options.configure(ap.parse_args(["--no-config", "-c", path, "A=INT"]), ap)
        self.assertEqual(settings.identity, {"vendor": 7, "product_name": "Simulated PLC", "revision": (20, 11)})
        self.assertEqual(settings.route_path, (Port(1, 2),))


class TestStart(unittest.TestCase):
    """The simulator on a real loopback socket, in the test's reactor."""

    @defer.inlineCallbacks
    def test_start_read_and_stop(self) -> Any:
        from twisted.internet import endpoints, protocol, reactor

        lines: list[str] = []
        out = type("Out", (), {"write": lambda self, s: lines.append(s), "flush": lambda self: None})()
        printer = logging.getLogger("cpppo.enip.simulator.run")   # -p prints reads when it shows NORMAL (-v)
        self.addCleanup(printer.setLevel, printer.level)
        printer.setLevel(NORMAL)
        server = main.start(["--no-config", "-a", "127.0.0.1:0", "-A", "-p", "SCADA=INT[10]"], reactor, out=out)
        self.addCleanup(server.stop)
        self.assertIn(f"Network TCP Server address = {server.address!r}", "".join(lines))

        class Client(protocol.Protocol):
            def __init__(self) -> None:
                self.parser = Connection(Role.CLIENT)
                self.frames: defer.DeferredQueue = defer.DeferredQueue()

            def dataReceived(self, data: bytes) -> None:
                self.parser.receive_data(data)
                while (event := self.parser.next_event()) is not NEED_DATA:
                    self.frames.put(event)

        client = yield endpoints.connectProtocol(
            endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", server.address[1]), Client())
        client.transport.write(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession())))
        registered = yield client.frames.get()
        items = (encap.NullAddress(), encap.UnconnectedData(read("SCADA", 0, 3)))
        client.transport.write(encap.encode_frame(encap.Frame(encap.SEND_RR_DATA, encap.SendData(items),
                                                              registered.session)))
        reply = yield client.frames.get()
        self.assertEqual(reply.body.items[1].message.body.values(), [0, 0, 0])
        self.assertIn("SCADA[    0-2    ] == [0, 0, 0]", "".join(lines))
        client.transport.loseConnection()


class TestBrowsing(ServiceTestCase):
    """What pycomm3's LogixDriver.open() asks for: the controller name and the Symbol instances."""

    def test_program_name(self) -> None:
        reply = self.peer.ask(cip.Request(0x01, (Logical("class", 0x64), Logical("instance", 1))))
        self.assertEqual(reply.data, struct.pack("<H", 9) + b"Simulator")

    def test_symbol_instances_in_pages(self) -> None:
        from cpppo.enip.codec import browse

        for n in range(40):
            self.service.add_tag(f"LONG_TAG_NAME_NUMBER_{n:03d}", "DINT", 1)
        attributes = (1, 2, 3, 5, 6, 8, 10)
        seen: list[browse.SymbolInstance] = []
        start, pages = 0, 0
        while True:
            path = (Logical("class", 0x6B), Logical("instance", start))
            reply = self.peer.ask(cip.Request(0x55, path, body=cip.GetAttributeList(attributes)), route=False)
            self.assertIn(reply.status, (0, 6))
            page = browse.decode_symbol_instances(reply.data, attributes)
            seen += page
            pages += 1
            if reply.status == 0:
                break
            start = page[-1].instance + 1
        self.assertGreater(pages, 1)
        self.assertEqual([s.name for s in seen][:3], ["SCADA", "FLOAT", "ONE"])
        self.assertEqual(len(seen), 43)
        scada = seen[0]
        self.assertEqual((scada.type, scada.dimensions), (0x20C3, (1000, 0, 0)))
        self.assertEqual((seen[2].type, seen[2].dimensions), (0xC4, (0, 0, 0)))
        reply = self.peer.ask(cip.Request(0x55, (Logical("class", 0x6B), Logical("instance", 0)),
                                          body=cip.GetAttributeList((1, 4))), route=False)
        self.assertEqual(reply.status, 0x0A)


class TestArrays(ServiceTestCase):
    def test_multi_dimensional_addressing(self) -> None:
        grid = self.service.add_tag("Grid", "DINT", 25, dims=(5, 5))
        grid[0:25] = list(range(25))
        two = cip.Request(0x4C, (Symbolic("Grid"), Logical("element", 2), Logical("element", 3)),
                          body=logix.ReadTag(2))
        self.assertEqual(self.peer.ask(two).body.values(), [13, 14])
        self.assertEqual(self.peer.ask(read("Grid", 24)).body.values(), [24])
        beyond = cip.Request(0x4C, (Symbolic("Grid"), Logical("element", 5), Logical("element", 0)),
                             body=logix.ReadTag(1))
        self.assertEqual(self.peer.ask(beyond).extended, (0x2105,))
        three = cip.Request(0x4C, (Symbolic("Grid"),) + (Logical("element", 0),) * 3, body=logix.ReadTag(1))
        self.assertEqual(self.peer.ask(three).status, 0x04)
        from cpppo.enip.codec import browse
        reply = self.peer.ask(cip.Request(0x55, (Logical("class", 0x6B), Logical("instance", 0)),
                                          body=cip.GetAttributeList((1, 2, 8))), route=False)
        symbols = {s.name: s for s in browse.decode_symbol_instances(reply.data, (1, 2, 8))}
        self.assertEqual((symbols["Grid"].type, symbols["Grid"].dimensions), (0x40C4, (5, 5, 0)))

    def test_bool_array_bits_with_read_modify_write(self) -> None:
        self.service.add_tag("Bits", "DWORD", 2, dims=(2,))
        for bit in (3, 33):
            element, mask = divmod(bit, 32)
            rmw = cip.Request(0x4E, tag("Bits", element),
                              body=logix.ReadModifyWrite((1 << mask).to_bytes(4, "little"), b"\xff" * 4))
            self.assertEqual(self.peer.ask(rmw).status, 0)
        reply = self.peer.ask(read("Bits", 0, 2))
        self.assertEqual((reply.body.type, reply.body.values()), (0xD3, [8, 2]))


class TestStructures(ServiceTestCase):
    """STRING and TIMER tags: templates for clients, members, whole-structure reads and writes."""

    def setUp(self) -> None:
        super().setUp()
        self.name = self.service.add_tag("Name", "STRING", 1)
        self.names = self.service.add_tag("Names", "STRING", 3, dims=(3,))
        self.timer = self.service.add_tag("T1", "TIMER", 1)
        self.name.set_string(0, "hello")

    def test_command_line_types(self) -> None:
        self.assertEqual(options.parse_tag("Name=string"), options.TagSpec("Name", "STRING", 1))
        self.assertEqual(options.parse_tag("Names=STRING[10]"), options.TagSpec("Names", "STRING", 10, (10,)))
        self.assertEqual(options.parse_tag("T1=TIMER").type, "TIMER")

    def test_templates(self) -> None:
        from cpppo.enip.codec import browse

        path = (Logical("class", 0x6C), Logical("instance", 0x0FCE))
        reply = self.peer.ask(cip.Request(0x03, path, body=cip.GetAttributeList((4, 5, 2, 1))))
        values = {v.attribute: v.data for v in browse.decode_attribute_list_reply(reply.data,
                                                                                    browse.TEMPLATE_ATTRIBUTES)}
        self.assertEqual(struct.unpack("<I", values[5])[0], 88)
        self.assertEqual(struct.unpack("<H", values[1])[0], 0x0FCE)
        words = struct.unpack("<I", values[4])[0]
        reply = self.peer.ask(cip.Request(0x4C, path, body=logix.ReadTemplate(0, words * 4 - 23)))
        template = browse.decode_template(reply.payload(), 2)  # (0xCC looks like a Read Tag reply)
        self.assertEqual([(m.name, m.type, m.offset, m.info) for m in template.members],
                         [("LEN", 0xC4, 0, 0), ("DATA", 0xC2, 4, 82)])
        self.assertEqual(template.name, "STRING")

    def test_string_reads_and_writes(self) -> None:
        reply = self.peer.ask(read("Name"))
        self.assertEqual((reply.body.type, reply.body.handle), (0x02A0, 0x0FCE))
        self.assertEqual(reply.body.data[:9], b"\x05\x00\x00\x00hello")
        value = struct.pack("<i", 3) + b"abc".ljust(82, b"\0") + b"\0\0"
        write_string = cip.Request(0x4D, tag("Names", 1), body=logix.WriteTag(0x02A0, 1, value, 0x0FCE))
        self.assertEqual(self.peer.ask(write_string).status, 0)
        self.assertEqual(self.names.get_string(1), "abc")
        wrong = cip.Request(0x4D, tag("Names", 1), body=logix.WriteTag(0x02A0, 1, value, 0x1234))
        self.assertEqual(self.peer.ask(wrong).extended, (0x2107,))
        length = cip.Request(0x4C, (Symbolic("Name"), Symbolic("LEN")), body=logix.ReadTag(1))
        self.assertEqual(self.peer.ask(length).body.values(), [5])

    def test_timer_members_and_bits(self) -> None:
        pre = cip.Request(0x4D, (Symbolic("T1"), Symbolic("PRE")), body=logix.WriteTag(0xC4, 1, struct.pack("<i", 500)))
        done = cip.Request(0x4D, (Symbolic("T1"), Symbolic("DN")), body=logix.WriteTag(0xC1, 1, b"\xff"))
        self.assertEqual((self.peer.ask(pre).status, self.peer.ask(done).status), (0, 0))
        whole = self.peer.ask(read("T1")).body.data
        self.assertEqual(struct.unpack("<iii", whole), (1 << 29, 500, 0))
        bit = self.peer.ask(cip.Request(0x4C, (Symbolic("T1"), Symbolic("DN")), body=logix.ReadTag(1)))
        self.assertEqual((bit.body.type, bit.body.data), (0xC1, b"\xff"))
        nope = self.peer.ask(cip.Request(0x4C, (Symbolic("T1"), Symbolic("NOPE")), body=logix.ReadTag(1)))
        self.assertEqual(nope.status, 0x04)
        hidden = self.peer.ask(cip.Request(0x4C, (Symbolic("T1"), Symbolic("CTL")), body=logix.ReadTag(1)))
        self.assertEqual(hidden.status, 0x04)

    def test_symbols_of_structures(self) -> None:
        from cpppo.enip.codec import browse

        reply = self.peer.ask(cip.Request(0x55, (Logical("class", 0x6B), Logical("instance", 0)),
                                          body=cip.GetAttributeList((1, 2, 8))), route=False)
        symbols = {s.name: s for s in browse.decode_symbol_instances(reply.data, (1, 2, 8))}
        self.assertEqual(symbols["Name"].type, 0x8FCE)
        self.assertEqual((symbols["Names"].type, symbols["Names"].dimensions), (0xAFCE, (3, 0, 0)))
        self.assertEqual(symbols["T1"].type, 0x8F83)


class TestShortStrings(ServiceTestCase):
    def test_sstring_tags(self) -> None:
        self.service.add_tag("Short", "SSTRING", 2, dims=(2,))
        data = b"\x02hi\x03you"
        self.assertEqual(self.peer.ask(write("Short", 0, 0xDA, data, 2)).status, 0)
        reply = self.peer.ask(read("Short", 0, 2))
        self.assertEqual((reply.body.type, reply.body.data), (0xDA, data))
        self.assertEqual(self.peer.ask(write("Short", 0, 0xDA, b"\x05ab", 1)).status, 0x13)
        self.assertEqual(options.parse_tag("S=sstring").type, "SSTRING")


class TestMultipleFragmented(ServiceTestCase):
    def test_read_tag_fragmented_inside_a_multiple_service_packet(self) -> None:
        reads = (cip.Request(0x52, tag("SCADA", 0), body=logix.ReadTagFragmented(3, 2)), read("ONE"))
        reply = self.peer.ask(cip.Request(0x0A, ROUTER, body=cip.MultipleService(reads)))
        self.assertEqual([r.status for r in reply.body.replies], [0, 0])
        self.assertEqual(len(reply.body.replies[0].body.values()), 2)
        nested = cip.Request(0x0A, ROUTER, body=cip.MultipleService((cip.Request(
            0x52, CM, body=cip.UnconnectedSend(read("ONE"), (Port(1, 0),))),)))
        self.assertEqual(self.peer.ask(nested).body.replies[0].status, 0x08)
