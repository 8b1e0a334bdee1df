"""The encapsulation layer: golden frames, framing in pieces, bad frames, round trips."""

from __future__ import annotations

import struct
import unittest

from hypothesis import given, settings
from hypothesis import strategies as st

from cpppo.enip.codec import encap
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.tests.enip_vectors import captured_frames


def header(command: int, length: int, session: int = 0, status: int = 0, context: bytes = bytes(8)) -> bytes:
    return encap.HEADER.pack(command, length, session, status, context, 0)


class TestGoldenFrames(unittest.TestCase):
    def test_every_captured_frame_decodes_and_rebuilds_byte_exact(self) -> None:
        frames = captured_frames()
        self.assertGreater(len(frames), 100)
        for frame in frames:
            with self.subTest(source=frame.source, index=frame.index, note=frame.note):
                decoded = encap.decode_frame(frame.data, reply=frame.reply)
                self.assertEqual(encap.encode_frame(decoded), frame.data)

    def test_a_read_tag_request_from_the_original_client(self) -> None:
        frame = next(f for f in captured_frames() if f.source == "cpppo525-read-single" and f.index == 2)
        decoded = encap.decode_frame(frame.data)
        self.assertEqual(decoded.command, encap.SEND_RR_DATA)
        self.assertIsInstance(decoded.body, encap.SendData)
        null, data = decoded.body.items
        self.assertIsInstance(null, encap.NullAddress)
        self.assertIsInstance(data, encap.UnconnectedData)
        self.assertEqual(data.message[:2], b"\x52\x02")  # Unconnected Send, 2-word path

    def test_list_identity_reply(self) -> None:
        reply = next(f for f in captured_frames() if f.source == "cpppo525-list-identity" and f.reply
                     and f.data[:2] == b"\x63\x00")
        decoded = encap.decode_frame(reply.data, reply=True)
        (identity,) = decoded.body.items
        self.assertIsInstance(identity, encap.IdentityItem)
        self.assertEqual(identity.product_name, "1756-L61/B LOGIX5561")


class TestFraming(unittest.TestCase):
    def test_a_conversation_split_at_every_point(self) -> None:
        stream = [f for f in captured_frames() if f.source == "pylogix-read-single" and not f.reply]
        wire = b"".join(f.data for f in stream)
        want = [encap.decode_frame(f.data) for f in stream]
        for cut in range(len(wire) + 1):
            parser = encap.FrameParser()
            got = list(parser.frames(wire[:cut])) if cut else []
            got += list(parser.frames(wire[cut:]))
            self.assertEqual(got, want, cut)

    def test_byte_at_a_time(self) -> None:
        stream = [f.data for f in captured_frames() if f.source == "cpppo525-read-multiple" and not f.reply]
        parser = encap.FrameParser()
        got = [frame for byte in b"".join(stream) for frame in parser.frames(bytes((byte,)))]
        self.assertEqual([encap.encode_frame(g) for g in got], stream)

    def test_over_long_frame_is_refused_after_its_header(self) -> None:
        parser = encap.FrameParser()
        parser.receive_data(header(encap.SEND_RR_DATA, 65512))
        with self.assertRaises(RemoteProtocolError) as caught:
            parser.next_frame()
        self.assertEqual(caught.exception.encap_status, encap.INVALID_LENGTH)
        self.assertEqual(caught.exception.offset, 2)
        with self.assertRaises(RemoteProtocolError):
            encap.decode_frame(header(encap.SEND_RR_DATA, 65512))

    def test_stream_ending_mid_frame(self) -> None:
        parser = encap.FrameParser()
        parser.receive_data(header(encap.REGISTER_SESSION, 4) + b"\x01\x00")
        self.assertIsNone(parser.next_frame())
        parser.receive_data(b"")
        with self.assertRaises(RemoteProtocolError):
            parser.next_frame()

    def test_bad_command_data_keeps_the_stream_in_step(self) -> None:
        parser = encap.FrameParser()
        bad = header(encap.SEND_RR_DATA, 8) + struct.pack("<IHH", 0, 5, 3)  # 3 items announced, none there
        good = header(encap.NOP, 2) + b"hi"
        parser.receive_data(bad + good)
        with self.assertRaises(RemoteProtocolError) as caught:
            parser.next_frame()
        self.assertEqual(caught.exception.encap_status, encap.INCORRECT_DATA)
        self.assertEqual(parser.last_header["command"], encap.SEND_RR_DATA)
        self.assertEqual(parser.next_frame(), encap.Frame(encap.NOP, encap.Raw(b"hi")))

    def test_cpf_faults(self) -> None:
        cases = {
            "null address with data": encap.encode_items([encap.RawItem(0, b"xx")]),
            "short connected address": encap.encode_items([encap.RawItem(0xA1, b"\x01\x02")]),
            "connected data without sequence": encap.encode_items([encap.RawItem(0xB1, b"\x01")]),
            "item overruns": struct.pack("<HHH", 1, 0xB2, 9) + b"abc",
            "trailing bytes": encap.encode_items([encap.NullAddress()]) + b"\x00",
            "sockaddr short": encap.encode_items([encap.RawItem(0x8000, b"\x00" * 15)]),
        }
        for name, data in cases.items():
            with self.subTest(name), self.assertRaises(RemoteProtocolError):
                encap.decode_items(data)

    def test_encoding_errors_are_ours(self) -> None:
        with self.assertRaises(LocalProtocolError):
            encap.encode_frame(encap.Frame(encap.NOP, encap.Raw(bytes(65512))))
        with self.assertRaises(LocalProtocolError):
            encap.encode_frame(encap.Frame(encap.NOP, context=b"short"))
        with self.assertRaises(LocalProtocolError):
            encap.encode_frame(encap.Frame(0x10000))
        usual = encap.SendData((encap.NullAddress(), encap.UnconnectedData(b"\x00")))
        for frame in (encap.Frame(encap.SEND_RR_DATA, usual, context=b"short"),  # (each also packed at once)
                      encap.Frame(encap.SEND_RR_DATA, usual, session=-1),
                      encap.Frame(encap.SEND_RR_DATA, encap.SendData(usual.items, timeout=0x10000)),
                      encap.Frame(encap.SEND_RR_DATA, encap.SendData((encap.NullAddress(),
                                                                      encap.UnconnectedData(bytes(65496)))))):
            with self.subTest(frame=str(frame)[:80]), self.assertRaises(LocalProtocolError):
                encap.encode_frame(frame)


addresses = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
messages = st.binary(max_size=40)
items = st.one_of(
    st.builds(encap.NullAddress),
    st.builds(encap.ConnectedAddress, st.integers(0, 2**32 - 1)),
    st.builds(encap.UnconnectedData, messages),
    st.builds(encap.ConnectedData, st.integers(0, 0xFFFF), messages),
    st.builds(encap.SockaddrInfo, st.sampled_from([0x8000, 0x8001]), st.just(2), st.integers(0, 0xFFFF), addresses),
    st.builds(encap.ServicesItem, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
              st.text("abcdefghij", max_size=15)),
    st.builds(encap.IdentityItem, st.integers(0, 0xFFFF), st.just(2), st.integers(0, 0xFFFF), addresses,
              st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
              st.tuples(st.integers(0, 255), st.integers(0, 255)), st.integers(0, 0xFFFF),
              st.integers(0, 2**32 - 1), st.text("ABCxyz 0123/-", max_size=32), st.integers(0, 255)),
    st.builds(encap.RawItem, st.sampled_from([0x0001, 0x1234, 0xF000]), st.binary(max_size=20)),
)
bodies = st.one_of(
    st.builds(encap.SendData, st.lists(items, max_size=4).map(tuple), st.integers(0, 2**32 - 1),
              st.integers(0, 0xFFFF)),
    st.builds(encap.RegisterSession, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
)


class TestRoundTrip(unittest.TestCase):
    @settings(max_examples=300, deadline=None)
    @given(bodies, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.binary(min_size=8, max_size=8))
    def test_records_round_trip(self, body: object, session: int, status: int, context: bytes) -> None:
        command = encap.SEND_RR_DATA if isinstance(body, encap.SendData) else encap.REGISTER_SESSION
        frame = encap.Frame(command, body, session, status, context)
        wire = encap.encode_frame(frame)
        self.assertEqual(encap.decode_frame(wire), frame)
        parser = encap.FrameParser()
        self.assertEqual(list(parser.frames(wire[:7])) + list(parser.frames(wire[7:])), [frame])

    @settings(max_examples=200, deadline=None)
    @given(st.one_of(st.tuples(st.builds(encap.NullAddress), st.builds(encap.UnconnectedData, messages)),
                     st.tuples(st.builds(encap.ConnectedAddress, st.integers(0, 2**32 - 1)),
                               st.builds(encap.ConnectedData, st.integers(0, 0xFFFF), messages))),
           st.integers(0, 2**32 - 1), st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1),
           st.binary(min_size=8, max_size=8), st.integers(0, 2**32 - 1))
    def test_the_usual_send_data_packed_at_once_is_item_by_item(self, pair: tuple, interface: int, timeout: int,
                                                                 session: int, context: bytes, options: int) -> None:
        """encode_frame packs a SendData of an address and a data item in one struct: the same bytes as
        the header followed by the command data encoded item by item."""
        body = encap.SendData(pair, interface, timeout)
        for command in (encap.SEND_RR_DATA, encap.SEND_UNIT_DATA):
            frame = encap.Frame(command, body, session, 0, context, options)
            data = encap.encode_body(body)
            self.assertEqual(encap.encode_frame(frame),
                             encap.HEADER.pack(command, len(data), session, 0, context, options) + data)
            self.assertEqual(encap.decode_frame(encap.encode_frame(frame)), frame)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=80))
    def test_garbage_raises_only_remote_errors(self, data: bytes) -> None:
        for reply in (False, True):
            try:
                frame = encap.decode_frame(data, reply=reply)
            except RemoteProtocolError:
                continue
            self.assertEqual(encap.encode_frame(frame), data)


if __name__ == "__main__":
    unittest.main()
