"""CIP messages: golden frames to records and back, round trips, faults, fuzzing, the dotdict view."""

from __future__ import annotations

import random
import struct
import unittest
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cpppo.enip.codec import browse, cip, encap, view
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.connection import CLOSED, NEED_DATA, Connection, Malformed, Role
from cpppo.enip.codec.epath import Logical, Port, Symbolic
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.tests.enip_vectors import captured_frames

CM = (Logical("class", 6), Logical("instance", 1))
ROUTER = (Logical("class", 2), Logical("instance", 1))


def received(data: bytes, reply: bool) -> encap.Frame:
    connection = Connection(Role.CLIENT if reply else Role.SERVER)
    connection.receive_data(data)
    return connection.next_event()


def message(frame: encap.Frame) -> Any:
    return frame.body.items[-1].message


def golden(source: str, index: int) -> Any:
    return next(f for f in captured_frames() if f.source == source and f.index == index)


class TestGoldenMessages(unittest.TestCase):
    def test_every_captured_message_decodes_and_rebuilds(self) -> None:
        for frame in captured_frames():
            with self.subTest(source=frame.source, index=frame.index, note=frame.note):
                decoded = received(frame.data, frame.reply)
                if isinstance(decoded.body, encap.SendData):
                    for item in decoded.body.items:
                        self.assertNotIsInstance(getattr(item, "message", None), Malformed)
                self.assertEqual(encap.encode_frame(decoded), frame.data)

    def test_read_tag_through_unconnected_send(self) -> None:
        request = message(received(golden("cpppo525-read-single", 2).data, False))
        self.assertEqual((request.service, request.path), (0x52, CM))
        ucs = request.body
        self.assertIsInstance(ucs, cip.UnconnectedSend)
        self.assertEqual(ucs.route, (Port(1, 0),))
        self.assertEqual(ucs.request, cip.Request(0x4C, (Symbolic("SCADA"), Logical("element", 1)),
                                                  body=logix.ReadTag(1)))
        reply = message(received(golden("cpppo525-read-single", 3).data, True))
        self.assertEqual((reply.service, reply.status), (0xCC, 0))
        self.assertEqual(reply.body, logix.ReadTagReply(0xC3, b"\x00\x00"))
        self.assertEqual(reply.body.values(), [0])

    def test_multiple_service_packet(self) -> None:
        request = message(received(golden("cpppo525-read-multiple", 2).data, False)).body.request
        self.assertEqual((request.service, request.path), (0x0A, ROUTER))
        names = [(r.path[0].name, r.path[1].value, r.body.elements) for r in request.body.requests]
        self.assertEqual(names, [("SCADA", 0, 1), ("SCADA", 1, 1), ("SCADA", 2, 3), ("FLOAT", 0, 1),
                                 ("COUNT", 1, 1)])
        reply = message(received(golden("cpppo525-read-multiple", 3).data, True))
        types = [r.body.type for r in reply.body.replies]
        self.assertEqual(types, [0xC3, 0xC3, 0xC3, 0xCA, 0xC4])

    def test_write_and_fragmented_read(self) -> None:
        for frame in captured_frames():
            if frame.source == "cpppo525-write-range" and not frame.reply and b"\x4d" in frame.data[40:60]:
                write = message(received(frame.data, False)).body.request
                if write.service == 0x4D:
                    self.assertEqual((write.body.type, write.body.elements), (0xC3, 3))
                    self.assertEqual(write.body.values(), [1, 2, 3])
                    break
        else:
            self.fail("no Write Tag in the capture")
        fragments = [message(received(f.data, True)) for f in captured_frames()
                     if f.source == "cpppo525-read-fragmented-offsets" and f.reply and f.index > 1]
        self.assertEqual([r.status for r in fragments], [0x06, 0x06, 0x00])
        self.assertEqual(sum(len(r.body.data) for r in fragments), 1000)

    def test_large_forward_open_from_pylogix(self) -> None:
        request = message(received(golden("pylogix-read-single", 2).data, False))
        fo = request.body
        self.assertIsInstance(fo, cip.ForwardOpen)
        self.assertTrue(fo.large)
        self.assertEqual(fo.path, (Port(1, 0), Logical("class", 2), Logical("instance", 1)))
        self.assertEqual(fo.o_t_size, 4002)
        reply = message(received(golden("pylogix-read-single", 3).data, True)).body
        self.assertEqual((reply.serial, reply.vendor, reply.originator_serial), (fo.serial, fo.vendor,
                                                                                  fo.originator_serial))


requests = st.deferred(lambda: st.one_of(
    st.builds(lambda n, e, k: cip.Request(0x4C, (Symbolic(n), Logical("element", e)), body=logix.ReadTag(k)),
              st.text("ABCxyz_", min_size=1, max_size=12), st.integers(0, 70000), st.integers(0, 0xFFFF)),
    st.builds(lambda n, k, o: cip.Request(0x52, (Symbolic(n),), body=logix.ReadTagFragmented(k, o)),
              st.text("abc", min_size=1, max_size=5), st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1)),
    st.builds(lambda t, k, d: cip.Request(0x4D, (Symbolic("T"),), body=logix.WriteTag(t, k, d)),
              st.sampled_from([0xC2, 0xC3, 0xC4, 0xCA]), st.integers(0, 100), st.binary(max_size=16)),
    st.builds(lambda h, d: cip.Request(0x53, (Symbolic("S"),), body=logix.WriteTagFragmented(0x2A0, 1, 8, d, h)),
              st.integers(0, 0xFFFF), st.binary(max_size=16)),
    st.builds(lambda m: cip.Request(0x4E, (Symbolic("B"),), body=logix.ReadModifyWrite(m, bytes(len(m)))),
              st.binary(max_size=8)),
    st.builds(lambda c, i, a: cip.Request(0x0E, (Logical("class", c), Logical("instance", i), Logical("attribute", a))),
              st.integers(1, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
    st.builds(lambda a: cip.Request(0x03, (Logical("class", 0x6C), Logical("instance", 1)),
                                    body=cip.GetAttributeList(tuple(a))),
              st.lists(st.integers(0, 0xFFFF), max_size=5)),
    st.builds(lambda o, c: cip.Request(0x4C, (Logical("class", 0x6C), Logical("instance", 9)),
                                       body=logix.ReadTemplate(o, c)),
              st.integers(0, 2**32 - 1), st.integers(0, 0xFFFF)),
))

embedded = st.one_of(
    requests,
    st.lists(requests, max_size=4).map(lambda rs: cip.Request(0x0A, ROUTER, body=cip.MultipleService(tuple(rs)))),
)
carriers = st.one_of(
    embedded.map(lambda r: cip.Request(0x52, CM, body=cip.UnconnectedSend(r, (Port(1, 0),)))),
    st.builds(lambda large, serial: cip.Request(0x5B if large else 0x54, CM, body=cip.ForwardOpen(
        (Port(1, 0), Logical("class", 2), Logical("instance", 1)), 0, 0x1234, serial, 0x1337, 42, 3,
        2000000, 0x4200 | (4002 if large else 500), 2000000, 0x4200 | (4002 if large else 500), 0xA3,
        large=large)), st.booleans(), st.integers(0, 0xFFFF)),
    st.builds(lambda serial: cip.Request(0x4E, CM, body=cip.ForwardClose(
        (Port(1, 0), Logical("class", 2), Logical("instance", 1)), serial, 0x1337, 42)), st.integers(0, 0xFFFF)),
    embedded,
)
replies = st.one_of(
    st.builds(lambda s, t, d: cip.Reply(0xCC, s, (), body=logix.ReadTagReply(t, d)), st.sampled_from([0, 6]),
              st.sampled_from([0xC1, 0xC3, 0xC4, 0xCA]), st.binary(max_size=20)),
    st.builds(lambda s, e: cip.Reply(0xCD, s, tuple(e)), st.integers(0, 255),
              st.lists(st.integers(0, 0xFFFF), max_size=2)),
    st.builds(lambda h, d: cip.Reply(0xD2, 0, (), body=logix.ReadTagReply(0x2A0, d, h)), st.integers(0, 0xFFFF),
              st.binary(max_size=12)),
    st.builds(lambda o, t: cip.Reply(0xD4, 0, (), body=cip.ForwardOpenReply(o, t, 1, 2, 3, 4, 5)),
              st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
)


class TestRoundTrips(unittest.TestCase):
    @settings(max_examples=300, deadline=None)
    @given(carriers)
    def test_requests(self, request: cip.Request) -> None:
        wire = request.encode()
        decoded = cip.decode_request(wire)
        self.assertEqual(decoded.encode(), wire)
        self.assertEqual(decoded.service, request.service)
        self.assertEqual(decoded.path, request.path)
        if request.body is not None:
            self.assertEqual(type(decoded.body), type(request.body))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(replies, max_size=4))
    def test_replies(self, parts: list[cip.Reply]) -> None:
        for reply in parts + [cip.Reply(0x8A, 0, (), body=cip.MultipleServiceReply(tuple(parts)))]:
            wire = reply.encode()
            decoded = cip.decode_reply(wire)
            self.assertEqual(decoded.encode(), wire)
            if reply.body is not None:
                self.assertEqual(decoded.body, reply.body)

    def test_whole_frames_in_pieces(self) -> None:
        request = cip.Request(0x52, CM, body=cip.UnconnectedSend(
            cip.Request(0x4C, (Symbolic("Tag"), Logical("element", 3)), body=logix.ReadTag(2)), (Port(1, 0),)))
        frame = encap.Frame(encap.SEND_RR_DATA, encap.SendData((encap.NullAddress(), encap.UnconnectedData(request))),
                            7, 0, b"context!")
        wire = encap.encode_frame(frame) * 3
        for cut in range(1, len(wire)):
            connection = Connection(Role.SERVER)
            got = []
            for piece in (wire[:cut], wire[cut:]):
                connection.receive_data(piece)
                while (event := connection.next_event()) is not NEED_DATA:
                    got.append(event)
            self.assertEqual(len(got), 3)
            self.assertEqual(message(got[2]).body.request.body, logix.ReadTag(2))
        connection.receive_data(b"")
        self.assertIs(connection.next_event(), CLOSED)


class TestFaults(unittest.TestCase):
    def test_each_fault_is_a_remote_error_with_a_status(self) -> None:
        ucs = cip.Request(0x52, CM, body=cip.UnconnectedSend(cip.Request(0x4C, (Symbolic("X"),),
                                                                        body=logix.ReadTag(1)), (Port(1, 0),)))
        good = ucs.encode()
        cases = {
            "empty": b"",
            "path past the end": b"\x4c\x05\x91\x01",
            "unknown segment": b"\x4c\x01\xee\x00",
            "read tag without count": b"\x4c\x02\x91\x01X\x00",
            "read tag with extra": b"\x4c\x02\x91\x01X\x00\x01\x00\x00",
            "ucs message past the end": good[:8] + b"\xff\x00" + good[10:],
            "ucs without route": good[:-4],
            "msp offsets out of order": cip.Request(0x0A, ROUTER).encode() + b"\x02\x00\x10\x00\x06\x00",
            "forward open short": cip.Request(0x54, CM).encode() + b"\x0a\x0e",
            "attribute list short": (cip.Request(0x03, (Logical("class", 1), Logical("instance", 1))).encode()
                                     + b"\x03\x00\x01\x00"),
        }
        for name, data in cases.items():
            with self.subTest(name), self.assertRaises(RemoteProtocolError) as caught:
                cip.decode_request(data)
            self.assertIsNotNone(caught.exception.cip_status, name)

    def test_server_connection_reports_malformed_messages_and_carries_on(self) -> None:
        bad = encap.Frame(encap.SEND_RR_DATA, encap.SendData((encap.NullAddress(), encap.UnconnectedData(b"\x4c\x05"))))
        good = encap.Frame(encap.NOP, encap.Raw(b""))
        connection = Connection(Role.SERVER)
        connection.receive_data(encap.encode_frame(bad) + encap.encode_frame(good))
        first = connection.next_event()
        malformed = message(first)
        self.assertIsInstance(malformed, Malformed)
        self.assertEqual(malformed.error.cip_status, 0x26)  # path size invalid
        self.assertEqual(connection.next_event(), good)

    def test_our_own_mistakes_are_local_errors(self) -> None:
        with self.assertRaises(LocalProtocolError):
            cip.Request(0x4D, (Symbolic("T"),), body=logix.WriteTag(0x10000)).encode()
        with self.assertRaises(LocalProtocolError):
            logix.ReadModifyWrite(b"\x01", b"").encode()
        with self.assertRaises(LocalProtocolError):
            cip.Reply(0xCC, 0, tuple(range(300))).encode()


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.6 and data:
            del data[rng.randrange(len(data)):]
        elif choice < 0.8:
            data[rng.randrange(len(data) + 1):0] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif len(data) > 4:
            at = rng.randrange(len(data) - 2)
            data[at:at + 2] = struct.pack("<H", rng.choice([0, 1, 0xFF, 0xFFFF, rng.randrange(0x10000)]))
    return bytes(data)


class TestFuzz(unittest.TestCase):
    """10,000 random and mutated frames: only RemoteProtocolError (or Malformed messages), never a hang."""

    def test_random_and_mutated_frames(self) -> None:
        rng = random.Random(0x5EED)
        seeds = [f.data for f in captured_frames()]
        for n in range(10_000):
            if n % 5 == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 120)))
            else:
                data = mutate(rng, rng.choice(seeds))
            for role in (Role.SERVER, Role.CLIENT):
                connection = Connection(role)
                try:
                    connection.receive_data(data)
                    connection.receive_data(b"")
                    for _ in range(len(data) // 24 + 2):
                        if connection.next_event() is CLOSED:
                            break
                    else:
                        self.fail(f"more frames than fit in {len(data)} bytes")
                except RemoteProtocolError:
                    pass


class TestOriginalView(unittest.TestCase):
    """The keys the original cpppo 5.2.5 client's next(conn) gives scripts (checked against it)."""

    def test_read_reply_view(self) -> None:
        frame = received(golden("cpppo525-read-range", 3).data, True)
        rpy = view.reply_view(frame)
        self.assertEqual(rpy.enip.command, 0x6F)
        self.assertEqual(rpy.enip.status, 0)
        self.assertEqual(rpy["enip.CIP.send_data.CPF.count"], 2)
        self.assertEqual(rpy["enip.CIP.send_data.CPF.item[1].type_id"], 0xB2)
        request = rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request
        self.assertEqual((request.service, request.status, request.status_ext.size), (0xCC, 0, 0))
        self.assertEqual(request.read_tag.type, 0xC3)
        self.assertEqual(len(request.read_tag.data), 10)
        self.assertEqual(rpy.enip.sender_context.input.tobytes(), frame.context)
        self.assertEqual(len(rpy.enip.input), rpy.enip.length)

    def test_write_reply_view(self) -> None:
        reply = cip.Reply(0xD3)
        frame = encap.Frame(encap.SEND_RR_DATA, encap.SendData((encap.NullAddress(), encap.UnconnectedData(reply))))
        rpy = view.reply_view(frame)
        self.assertIs(rpy["enip.CIP.send_data.CPF.item[1].unconnected_send.request.write_frag"], True)


    def test_views_are_dotdicts_all_the_way_down(self) -> None:
        """The layout the blocking client yields for each result: every level a dotdict."""
        from cpppo.dotdict import dotdict
        from cpppo.enip.client import plan
        from cpppo.enip.client.operations import parse_operations

        def shape(x: Any) -> Any:
            if isinstance(x, dict):
                self.assertIs(type(x), dotdict)
                return {k: shape(v) for k, v in dict.items(x)}
            return [shape(v) for v in x] if isinstance(x, list) else x

        (op,) = parse_operations(["SCADA[1-3]=(DINT)1,2,3"])
        write = plan.write_requests(op, plan.segments(op), True, False, 504)[0]
        self.assertEqual(shape(plan.request_view(write)), {
            "service": 0x53, "path": {"segment": [{"symbolic": "SCADA"}, {"element": 1}]},
            "write_frag": {"type": 0xC4, "elements": 3, "data": [1, 2, 3], "offset": 0},
            "input": bytearray(write.encode())})
        self.assertIs(type(plan.request_view(write).service), int)   # (printed as the original: 83)
        inner = cip.Reply(0xCC, 0, (), body=logix.ReadTagReply(0xC3, b"\x07\x00"))
        packet = cip.Reply(0x8A, 0x1E, (), body=cip.MultipleServiceReply((inner, cip.Reply(0xCC, 0x05))))
        got = shape(view.cip_reply_view(packet))
        self.assertEqual(got["multiple"]["number"], 2)
        self.assertEqual(got["multiple"]["request"][0]["read_tag"], {"type": 0xC3, "data": [7]})
        self.assertEqual(got["multiple"]["request"][1]["status_ext"], {"size": 0})
        self.assertEqual((got["service"], got["status"]), (0x8A, 0x1E))
        self.assertEqual(view.cip_reply_view(cip.Reply(0xCD, 0xFF, (0x2105,))).status_ext.data, [0x2105])


class TestBrowsing(unittest.TestCase):
    def test_symbol_instances_round_trip(self) -> None:
        attrs = (1, 2, 3, 5, 6, 8, 10)
        tags = [browse.SymbolInstance(1, "SCADA", 0x20C3, 0, 0x1000, 0, 0, (1000, 0, 0), 3),
                browse.SymbolInstance(7, "Program:Main", 0x1068, 0, 0, 0, 0, (0, 0, 0), 0)]
        data = browse.encode_symbol_instances(tags, attrs)
        self.assertEqual(browse.decode_symbol_instances(data, attrs), tags)
        with self.assertRaises(RemoteProtocolError):
            browse.decode_symbol_instances(data[:-1], attrs)
        self.assertEqual(browse.decode_symbol_instances(browse.encode_symbol_instances(tags, (1, 2)), (1, 2)),
                         [browse.SymbolInstance(1, "SCADA", 0x20C3), browse.SymbolInstance(7, "Program:Main", 0x1068)])

    def test_template_round_trip(self) -> None:
        template = browse.Template("Motor", (browse.TemplateMember("Speed", 0xCA, 0),
                                             browse.TemplateMember("Running", 0xC1, 4, 0)), 0x1234)
        data = browse.encode_template(template)
        self.assertEqual(browse.decode_template(data, 2), template)
        values = [browse.AttributeValue(4, 0, struct.pack("<I", template.definition_words)),
                  browse.AttributeValue(2, 0, b"\x02\x00"), browse.AttributeValue(9, 0x14)]
        wire = browse.encode_attribute_list_reply(values)
        self.assertEqual(browse.decode_attribute_list_reply(wire, browse.TEMPLATE_ATTRIBUTES), values)


if __name__ == "__main__":
    unittest.main()
