"""modbus_sim --evil: late, truncated and corrupted answers, and how our client copes with them."""

from __future__ import annotations

import contextlib
import io

from twisted.internet import error, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial import unittest

from cpppo.bin import modbus_sim
from cpppo.modbus import client, datastore, framing, ranges, server
from cpppo.modbus.evil import parse_evil
from cpppo.tap import modbus as tap

READ = framing.encode_mbap(5, 1, bytes.fromhex("0300000002"))
ANSWER = framing.encode_mbap(5, 1, bytes.fromhex("030400070007"))


def units() -> datastore.Units:
    return datastore.Units([ranges.parse_range("40001-40010=7")])


class ParseTest(unittest.TestCase):
    def test_modes(self) -> None:
        self.assertEqual(parse_evil("delay").delay, (5.0, 5.0))
        self.assertEqual(parse_evil("delay:2.5").delay, (2.5, 2.5))
        self.assertEqual(parse_evil("delay:.1-.5").delay, (0.1, 0.5))
        self.assertEqual(parse_evil("truncate").mode, "truncate")
        self.assertEqual(parse_evil("corrupt").what, "transaction")
        self.assertEqual(parse_evil("corrupt:unit").what, "unit")

    def test_bad(self) -> None:
        for bad in ("delay:x", "delay:2-1", "delay:-1", "truncate:3", "corrupt:nope", "explode"):
            with self.assertRaises(ValueError, msg=bad):
                parse_evil(bad)

    def test_command_lines(self) -> None:
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(modbus_sim.main(["--evil", "explode", "40001"]), 2)
        self.assertIn("--evil", err.getvalue())
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            tap.Options().parseOptions(["--evil", "delay:x", "40001"])
        opts = tap.Options()
        opts.parseOptions(["-e", "delay:1", "40001"])
        self.assertEqual(opts["evil"], "delay:1")


class TcpEvilTest(unittest.TestCase):
    def connect(self, mode: str):  # type: ignore[no-untyped-def]
        self.clock = task.Clock()
        factory = server.ModbusTcpServerFactory(units(), evil=parse_evil(mode, seed=1), clock=self.clock)
        proto = factory.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        return proto, transport

    def test_delay_keeps_order(self) -> None:
        proto, transport = self.connect("delay:1-2")
        second = framing.encode_mbap(6, 1, bytes.fromhex("0300000001"))
        proto.dataReceived(READ)
        proto.dataReceived(second)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(2.0)
        self.assertEqual(transport.value(), ANSWER + framing.encode_mbap(6, 1, bytes.fromhex("03020007")))

    def test_delay_cancelled_on_close(self) -> None:
        proto, transport = self.connect("delay:3")
        proto.dataReceived(READ)
        proto.connectionLost(Failure(error.ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_truncate(self) -> None:
        proto, transport = self.connect("truncate")
        proto.dataReceived(READ)
        self.assertLess(len(transport.value()), len(ANSWER))
        self.assertTrue(ANSWER.startswith(transport.value()))

    def test_corrupt(self) -> None:
        expected = {
            "transaction": framing.encode_mbap(5 ^ 0xFFFF, 1, bytes.fromhex("030400070007")),
            "unit": framing.encode_mbap(5, 0xFE, bytes.fromhex("030400070007")),
            "function": framing.encode_mbap(5, 1, bytes.fromhex("7c0400070007")),
            "registers": framing.encode_mbap(5, 1, bytes.fromhex("030600070007")),
        }
        for what, answer in expected.items():
            proto, transport = self.connect(f"corrupt:{what}")
            proto.dataReceived(READ)
            self.assertEqual(transport.value(), answer, what)
        proto, transport = self.connect("corrupt:protocol")
        proto.dataReceived(READ)
        self.assertEqual(transport.value()[2:4], b"\xff\xff")

    def test_our_client_survives_corruption(self) -> None:
        """A wrong transaction id times out; a wrong protocol id closes; a short answer fails."""
        for what, outcome in (("transaction", TimeoutError), ("protocol", None), ("registers", Exception)):
            proto, transport = self.connect(f"corrupt:{what}")
            cproto = client.ModbusTcpClientProtocol(clock=self.clock, timeout=1, unit=1)
            ctransport = StringTransport()
            cproto.makeConnection(ctransport)
            d = cproto.read(40001, 2)
            proto.dataReceived(ctransport.value())
            cproto.dataReceived(transport.value())
            if outcome is None:
                self.assertTrue(ctransport.disconnecting)
                cproto.connectionLost(Failure(error.ConnectionDone()))
                self.failureResultOf(d)
            else:
                self.clock.advance(1)
                self.failureResultOf(d, outcome)


class RtuEvilTest(unittest.TestCase):
    def test_corrupt_fails_crc_and_delay_is_late(self) -> None:
        clock = task.Clock()
        rtu_units = datastore.Units([ranges.parse_range("40001-40010=7")], [1])
        proto = server.ModbusRtuServerProtocol(rtu_units, clock=clock, evil=parse_evil("corrupt"))
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(framing.encode_rtu(1, bytes.fromhex("0300000002")))
        f = framing.RtuFramer("client")
        f.receive_data(transport.value())
        f.silence()
        self.assertIsNone(f.next_event())
        proto = server.ModbusRtuServerProtocol(rtu_units, clock=clock, evil=parse_evil("delay:1"))
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(framing.encode_rtu(1, bytes.fromhex("0300000002")))
        self.assertEqual(transport.value(), b"")
        clock.advance(1)
        self.assertEqual(transport.value(), framing.encode_rtu(1, bytes.fromhex("030400070007")))
