"""Property tests: whole frames of garbage through the simulator's TCP protocol (issue 21).

The codec's own fuzzing (test_enip_encap, _cip, _epath, _types) feeds its parsers; here the bytes
go through :class:`~cpppo.enip.simulator.server_protocol.EnipProtocol` with a real controller
behind it, split anywhere: whatever comes in, what goes out is whole encapsulation frames (status
replies among them), or the connection closes; nothing raises, nothing is logged as an error, and
the decoded requests it kept go back to the byte budget when it closes.  A fixed example budget
keeps it to a few seconds.
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import address, task
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from cpppo.enip.codec import budget
from cpppo.enip.simulator.server_protocol import EnipFactory
from cpppo.enip.simulator.service import EnipService

SETTINGS = settings(max_examples=250, deadline=None, database=None, derandomize=True)
HEADER = struct.Struct("<HHII8sI")
COMMANDS = (0x0000, 0x0004, 0x0063, 0x0064, 0x0065, 0x0066, 0x006F, 0x0070, 0x0001, 0xFFFF)

cip_messages = st.one_of(
    st.binary(max_size=64),  # any bytes
    st.builds(lambda service, path, data: bytes([service, len(path) // 2]) + path + data,  # a request's shape
              st.sampled_from([0x4C, 0x4D, 0x52, 0x53, 0x4E, 0x0A, 0x0E, 0x54, 0x4E, 0x5B]),
              st.sampled_from([b"\x91\x05SCADA\x00", b"\x91\x05SCADA\x00\x28\x03", b"\x20\x06\x24\x01",
                               b"\x20\x02\x24\x01", b"\x91\x04TEXT"]),
              st.binary(max_size=48)),
)


def send_data(message: bytes, connected: bool) -> bytes:
    """SendRRData / SendUnitData command data carrying *message* (the CPF's two items)."""
    if connected:
        items = struct.pack("<HHHI", 2, 0xA1, 4, 0x7E5D0001) + struct.pack("<HH", 0xB1, len(message) + 2) \
            + b"\x01\x00" + message
    else:
        items = struct.pack("<HHH", 2, 0, 0) + struct.pack("<HH", 0xB2, len(message)) + message
    return struct.pack("<IH", 0, 5) + items


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    command = draw(st.sampled_from(COMMANDS))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        payload = draw(st.binary(max_size=80))
    elif kind == 1:
        payload = struct.pack("<HH", draw(st.integers(0, 2)), 0)  # RegisterSession's shape
    else:
        payload = send_data(draw(cip_messages), kind == 3)
    length = draw(st.one_of(st.just(len(payload)), st.integers(0, 0xFFFF)))
    session = draw(st.sampled_from([0, 1, 0xFFFFFFFF]))
    return HEADER.pack(command, length, session, 0, b"fuzzing!", draw(st.sampled_from([0, 1]))) + payload


def whole_frames(data: bytes) -> int:
    """How many whole encapsulation frames *data* is (it must be nothing else)."""
    count, at = 0, 0
    while at < len(data):
        assert len(data) - at >= HEADER.size, data[at:]
        length = HEADER.unpack_from(data, at)[1]
        at += HEADER.size + length
        assert at <= len(data), "a frame cut short"
        count += 1
    return count


class FrameFuzz(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.service = EnipService(self.clock)
        self.service.add_tag("SCADA", "INT", 10)
        self.service.add_tag("TEXT", "STRING", 1)
        self.factory = EnipFactory(self.service)

    @SETTINGS
    @given(st.lists(frames(), min_size=1, max_size=6), st.lists(st.integers(0, 600), max_size=6))
    def test_garbage_in_status_or_close_out(self, sent: list[bytes], cuts: list[int]) -> None:
        protocol = self.factory.buildProtocol(address.IPv4Address("TCP", "127.0.0.1", 5555))
        assert protocol is not None
        transport = StringTransport(peerAddress=address.IPv4Address("TCP", "127.0.0.1", 5555))
        protocol.makeConnection(transport)
        data = b"".join(sent)
        points = sorted({c % (len(data) + 1) for c in cuts})
        caches = (protocol.connection._cache, protocol.connection._unconnected)  # CIP messages, SendRRData data
        try:
            for a, b in zip([0, *points], [*points, len(data)], strict=True):
                if not transport.disconnecting:
                    protocol.dataReceived(data[a:b])
            self.clock.advance(1)
            whole_frames(transport.value())
        finally:
            protocol.connectionLost(None)
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual(len(self.service.clients), 0)
        for cache in caches:
            assert cache is not None
            self.assertEqual((len(cache), cache.bytes), (0, 0))
            self.assertNotIn(cache, budget.PEERS.caches)
