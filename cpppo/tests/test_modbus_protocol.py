"""The Twisted Modbus protocols, without sockets: StringTransport, task.Clock and an in-memory pair."""

from __future__ import annotations

from twisted.internet import defer, error, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial import unittest

from cpppo.modbus import client, datastore, framing, ranges, server
from cpppo.modbus.errors import ModbusError

READ_PDU = bytes.fromhex("030000000a")


def units(ids=None) -> datastore.Units:  # type: ignore[no-untyped-def]
    return datastore.Units([ranges.parse_range("40001-40010=7"), ranges.parse_range("1-8=1")], ids)


class TcpServerTest(unittest.TestCase):
    def connect(self, ids=None):  # type: ignore[no-untyped-def]
        factory = server.ModbusTcpServerFactory(units(ids), clock=task.Clock())  # its idle timer
        proto = factory.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        return proto, transport

    def test_read_pipelined_and_split(self) -> None:
        proto, transport = self.connect()
        req = framing.encode_mbap(1, 1, READ_PDU) + framing.encode_mbap(2, 5, bytes.fromhex("0300000001"))
        proto.dataReceived(req[:3])
        self.assertEqual(transport.value(), b"")
        proto.dataReceived(req[3:])
        f = framing.MbapFramer()
        f.receive_data(transport.value())
        self.assertEqual(f.next_event(), (1, 1, bytes.fromhex("0314") + b"\x00\x07" * 10))
        self.assertEqual(f.next_event(), (2, 5, bytes.fromhex("03020007")))

    def test_exception_keeps_connection(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(framing.encode_mbap(9, 1, bytes.fromhex("0300640001")))
        self.assertEqual(transport.value(), framing.encode_mbap(9, 1, bytes.fromhex("8302")))
        self.assertFalse(transport.disconnecting)

    def test_unknown_unit(self) -> None:
        proto, transport = self.connect([1, 2])
        proto.dataReceived(framing.encode_mbap(3, 3, READ_PDU))
        self.assertEqual(transport.value(), framing.encode_mbap(3, 3, bytes.fromhex("830b")))

    def test_malformed_closes(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(bytes.fromhex("00010007000601030000000a"))
        self.assertTrue(transport.disconnecting)
        self.assertEqual(proto.factory.framing_errors, 1)


class RtuServerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.proto = server.ModbusRtuServerProtocol(units([1, 2]), clock=self.clock, baudrate=9600)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def test_answers_own_units_only(self) -> None:
        self.proto.dataReceived(framing.encode_rtu(3, READ_PDU))
        self.assertEqual(self.transport.value(), b"")
        self.proto.dataReceived(framing.encode_rtu(2, READ_PDU))
        self.assertEqual(self.transport.value(), framing.encode_rtu(2, bytes.fromhex("0314") + b"\x00\x07" * 10))

    def test_broadcast_writes_without_answer(self) -> None:
        self.proto.dataReceived(framing.encode_rtu(0, bytes.fromhex("0600000063")))
        self.proto.dataReceived(framing.encode_rtu(0, READ_PDU))
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual(self.proto.units[1].get(40001), [0x63])
        self.assertEqual(self.proto.units[2].get(40001), [0x63])

    def test_partial_frame_dropped_after_silence(self) -> None:
        frame = framing.encode_rtu(1, READ_PDU)
        self.proto.dataReceived(frame[:4])
        self.clock.advance(1.0)  # far longer than t3.5
        self.assertEqual(self.proto.framer.buffered, 0)
        self.proto.dataReceived(frame)
        self.assertTrue(self.transport.value().startswith(b"\x01\x03\x14"))

    def test_unknown_function_answered_after_silence(self) -> None:
        self.proto.dataReceived(framing.encode_rtu(1, b"\x41\x00"))
        self.assertEqual(self.transport.value(), b"")
        self.clock.advance(1.0)
        self.assertEqual(self.transport.value(), framing.encode_rtu(1, b"\xc1\x01"))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_noise_and_split(self) -> None:
        frame = framing.encode_rtu(1, READ_PDU)
        self.proto.dataReceived(b"\xff\x00")
        self.proto.dataReceived(frame[:3])
        self.proto.dataReceived(frame[3:])
        self.assertTrue(self.transport.value().startswith(b"\x01\x03\x14"))

    def test_lost_cancels_timer(self) -> None:
        self.proto.dataReceived(b"\x01")
        self.proto.connectionLost(Failure(error.ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])


class TcpClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.proto = client.ModbusTcpClientProtocol(clock=self.clock, timeout=3, unit=1)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def test_read_and_answer_out_of_order(self) -> None:
        d1 = self.proto.read(40001, 2)
        d2 = self.proto.read(1, 3)
        f = framing.MbapFramer()
        f.receive_data(self.transport.value())
        r1, r2 = f.next_event(), f.next_event()
        self.assertEqual(r1.pdu, bytes.fromhex("0300000002"))
        self.assertEqual(r2.pdu, bytes.fromhex("0100000003"))
        self.proto.dataReceived(framing.encode_mbap(r2.transaction, 1, bytes.fromhex("010105")))
        self.proto.dataReceived(framing.encode_mbap(r1.transaction, 1, bytes.fromhex("030400010002")))
        self.assertEqual(self.successResultOf(d1), [1, 2])
        self.assertEqual(self.successResultOf(d2), [1, 0, 1])

    def test_exception_and_timeout(self) -> None:
        d1 = self.proto.write(40001, 5)
        d2 = self.proto.read(40001)
        f = framing.MbapFramer()
        f.receive_data(self.transport.value())
        r1 = f.next_event()
        self.proto.dataReceived(framing.encode_mbap(r1.transaction, 1, bytes.fromhex("8602")))
        self.assertEqual(self.failureResultOf(d1, ModbusError).value.code, 2)
        self.clock.advance(3)
        self.failureResultOf(d2, TimeoutError)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_connection_lost_fails_outstanding(self) -> None:
        d = self.proto.read(40001)
        self.proto.connectionLost(Failure(error.ConnectionDone()))
        self.failureResultOf(d, error.ConnectionLost)
        self.failureResultOf(self.proto.read(40001), error.ConnectionLost)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancel(self) -> None:
        d = self.proto.read(40001)
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class RtuClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.proto = client.ModbusRtuClientProtocol(clock=self.clock, timeout=2, unit=1, baudrate=9600)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def test_one_at_a_time(self) -> None:
        d1 = self.proto.read(40001, 1)
        d2 = self.proto.write(40001, [3, 4])
        self.assertEqual(self.transport.value(), framing.encode_rtu(1, bytes.fromhex("0300000001")))
        self.transport.clear()
        answer = framing.encode_rtu(1, bytes.fromhex("03020009"))
        self.proto.dataReceived(b"\x00" + answer[:4])  # noise, then a split answer
        self.proto.dataReceived(answer[4:])
        self.assertEqual(self.successResultOf(d1), [9])
        self.assertEqual(self.transport.value(), b"")  # not before 3.5 characters of silence
        self.clock.advance(self.proto.framer.silence_s)
        self.assertEqual(self.transport.value(), framing.encode_rtu(1, bytes.fromhex("100000000204" "00030004")))
        self.clock.advance(2)
        self.failureResultOf(d2, TimeoutError)


class RoundTripTest(unittest.TestCase):
    """Our client against our server, in memory."""

    def test_round_trip(self) -> None:
        store = units()
        factory = server.ModbusTcpServerFactory(store, clock=task.Clock())
        clock = task.Clock()
        cproto = client.ModbusTcpClientProtocol(clock=clock, unit=1)
        sproto = factory.buildProtocol(None)
        pump = iosim.connect(sproto, iosim.makeFakeServer(sproto), cproto, iosim.makeFakeClient(cproto))
        d = cproto.write(40003, [11, 12])
        pump.flush()
        self.assertIsNone(self.successResultOf(d))
        d = cproto.read(40001, 4)
        pump.flush()
        self.assertEqual(self.successResultOf(d), [7, 7, 11, 12])
        d = cproto.read(40010, 2)
        pump.flush()
        self.assertEqual(self.failureResultOf(d, ModbusError).value.code, 2)
        d = cproto.write(2, 0)
        pump.flush()
        self.successResultOf(d)
        self.assertEqual(store.lookup(1).get(1, 3), [1, 0, 1])
        with self.assertRaises(ValueError):
            cproto.write(30001, 1)
