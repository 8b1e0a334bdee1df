"""Property tests: whole MBAP frames of garbage through the Modbus/TCP server's protocol (issue 21).

test_modbus_fuzz feeds the framers and the device; here the bytes go through
:class:`~cpppo.modbus.server.ModbusTcpServerProtocol` with a real data store behind it, split
anywhere: whatever comes in, what goes out is whole MBAP frames (answers or exception answers,
one per request framed, in order), or the connection closes; nothing raises.  A fixed example
budget keeps it to a few seconds.
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from cpppo.modbus import datastore, ranges, server
from cpppo.tests.test_modbus_fuzz import split

SETTINGS = settings(max_examples=250, deadline=None, database=None, derandomize=True)
MBAP = struct.Struct(">HHHB")


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """An MBAP frame: a request's shape, or any PDU, with its length true or not."""
    function = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 15, 16, 22, 23, 0, 0x80, 0xFF]))
    pdu = bytes([function]) + draw(st.binary(max_size=40))
    length = draw(st.one_of(st.just(len(pdu) + 1), st.integers(0, 0xFFFF)))
    protocol_id = draw(st.sampled_from([0, 0, 0, 1]))
    return MBAP.pack(draw(st.integers(0, 0xFFFF)), protocol_id, length, draw(st.integers(0, 255))) + pdu


class ThroughTheProtocol(unittest.TestCase):
    @SETTINGS
    @given(st.lists(st.one_of(frames(), st.binary(max_size=30)), max_size=6), st.lists(st.integers(0, 400)))
    def test_garbage_in_whole_frames_or_a_close_out(self, parts: list[bytes], cuts: list[int]) -> None:
        units = datastore.Units([ranges.parse_range("40001-40010=7"), ranges.parse_range("1-16=1")], None)
        factory = server.ModbusTcpServerFactory(units, clock=task.Clock())
        proto = factory.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        for chunk in split(b"".join(parts), cuts):
            if transport.disconnecting:
                break
            if chunk:
                proto.dataReceived(chunk)  # raises nothing
        out, offset = transport.value(), 0
        while offset < len(out):  # whole frames, back to back: protocol 0, a PDU, nothing torn
            _transaction, protocol_id, length, _unit = MBAP.unpack_from(out, offset)
            self.assertEqual(protocol_id, 0)
            self.assertGreaterEqual(length, 2)
            offset += 6 + length
        self.assertEqual(offset, len(out))
        proto.connectionLost(None)  # type: ignore[arg-type]  # (a reason is not read)
