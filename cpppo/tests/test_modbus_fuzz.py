"""Property tests: framers and the device take any bytes, split anywhere, and fail only in the documented way."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from cpppo.modbus import datastore, device, framing, ranges
from cpppo.modbus.errors import FramingError

SETTINGS = settings(max_examples=150, deadline=None, database=None)

# Requests whose RTU length follows from the function code: (function, body) pairs.
requests = st.one_of(
    st.tuples(st.sampled_from([1, 2, 3, 4, 5, 6]), st.binary(min_size=4, max_size=4)),
    st.tuples(st.sampled_from([15, 16]), st.binary(min_size=0, max_size=40)).map(
        lambda t: (t[0], bytes(4) + bytes([len(t[1])]) + t[1])),
    st.tuples(st.just(22), st.binary(min_size=6, max_size=6)),
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0] + points, points + [len(data)])]


class MbapProperties(unittest.TestCase):
    @SETTINGS
    @given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255), st.binary(min_size=1, max_size=253)),
                    min_size=1, max_size=5), st.lists(st.integers(0, 2000), max_size=8))
    def test_split_anywhere(self, frames, cuts) -> None:  # type: ignore[no-untyped-def]
        data = b"".join(framing.encode_mbap(*f) for f in frames)
        framer, got = framing.MbapFramer(), []
        for piece in split(data, cuts):
            framer.receive_data(piece)
            while (event := framer.next_event()) is not None:
                got.append(tuple(event))
        self.assertEqual(got, [tuple(f) for f in frames])

    @SETTINGS
    @given(st.binary(max_size=300))
    def test_garbage_raises_only_framing_error(self, data: bytes) -> None:
        framer = framing.MbapFramer()
        framer.receive_data(data)
        try:
            while framer.next_event() is not None:
                pass
        except FramingError:
            pass


class RtuProperties(unittest.TestCase):
    @SETTINGS
    @given(st.lists(st.tuples(st.integers(1, 247), requests), min_size=1, max_size=4),
           st.lists(st.integers(0, 500), max_size=6))
    def test_split_anywhere(self, frames, cuts) -> None:  # type: ignore[no-untyped-def]
        expected = [framing.RtuFrame(unit, bytes([fc]) + body) for unit, (fc, body) in frames]
        data = b"".join(framing.encode_rtu(f.unit, f.pdu) for f in expected)
        framer, got = framing.RtuFramer("server"), []
        for piece in split(data, cuts):
            framer.receive_data(piece)
            while (event := framer.next_event()) is not None:
                got.append(event)
        self.assertEqual(got, expected)

    @SETTINGS
    @given(st.binary(max_size=120), st.integers(1, 247), requests)
    def test_garbage_then_silence_then_frame(self, garbage, unit, request) -> None:  # type: ignore[no-untyped-def]
        framer = framing.RtuFramer("server")
        framer.receive_data(garbage)
        while framer.next_event() is not None:
            pass
        framer.silence()
        while framer.next_event() is not None:
            pass
        pdu = bytes([request[0]]) + request[1]
        framer.receive_data(framing.encode_rtu(unit, pdu))
        self.assertEqual(framer.next_event(), framing.RtuFrame(unit, pdu))


class DeviceProperties(unittest.TestCase):
    store = datastore.DataStore([ranges.parse_range("40001-40100=1"), ranges.parse_range("1-100=1"),
                                 ranges.parse_range("10001-10100=1"), ranges.parse_range("30001-30100=1")])

    @SETTINGS
    @given(st.one_of(st.binary(min_size=1, max_size=30),
                     st.tuples(st.sampled_from(sorted(device.SUPPORTED)), st.binary(max_size=30)).map(
                         lambda t: bytes([t[0]]) + t[1])))
    def test_any_request_gets_an_answer(self, pdu: bytes) -> None:
        answer = device.Device().respond(self.store, pdu)
        self.assertIn(answer[0], (pdu[0], pdu[0] | 0x80))
        if answer[0] & 0x80 and not pdu[0] & 0x80:
            self.assertEqual(len(answer), 2)
            self.assertIn(answer[1], (1, 2, 3))
