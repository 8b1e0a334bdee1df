"""The twistd Options/makeService and the command lines' argument handling, with no reactor running."""

from __future__ import annotations

import contextlib
import io

from twisted.application import service
from twisted.internet import task
from twisted.trial import unittest

from cpppo.bin import modbus_poll, modbus_sim
from cpppo.modbus.ranges import parse_range
from cpppo.modbus.service import ModbusTcpService, make_service, parse_address
from cpppo.tap import modbus as tap


class TapOptionsTest(unittest.TestCase):
    def test_defaults(self) -> None:
        opts = tap.Options()
        opts.parseOptions(["40001-40010=5", "1-16=1"])
        self.assertEqual(opts["address"], "0.0.0.0:502")
        self.assertEqual([tuple(r[:2]) for r in opts["ranges"]], [(40001, 40010), (1, 16)])
        self.assertIsNone(opts["serial"])

    def test_units_and_serial_form(self) -> None:
        opts = tap.Options()
        opts.parseOptions(["-a", "/dev/ttyS1", "--unit", "1", "-u", "2", "--baudrate", "9600", "40001"])
        self.assertEqual(opts["serial"], "/dev/ttyS1")
        self.assertEqual(opts["units"], [1, 2])
        self.assertEqual(opts["baudrate"], 9600)

    def test_bad(self) -> None:
        """A mistake is modbus_sim's: the usage, then one line naming the tool; exit status 2."""
        for argv in ([], ["x-y"], ["--unit", "300", "40001"], ["-a", ":99999", "40001"],
                     ["--serial", "/dev/x", "--parity", "Q", "40001"], ["-r", "0", "40001"]):
            with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit, msg=argv) as exit:
                tap.Options().parseOptions(argv)
            self.assertEqual(exit.exception.code, 2)
            self.assertIn("twistd cpppo-modbus: error: ", err.getvalue().splitlines()[-1])

    def test_make_service(self) -> None:
        opts = tap.Options()
        opts.parseOptions(["-a", "127.0.0.1:0", "40001-40002=7"])
        svc = tap.makeService(opts).simulator
        self.assertIsInstance(svc, service.MultiService)
        self.assertEqual(svc.units.lookup(1).get(40001, 2), [7, 7])
        self.assertFalse(svc.running)


class FakeReactor(task.Clock):
    """Records listenTCP calls; the port reports what was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.listened: list = []

    def listenTCP(self, port, factory, backlog=50, interface=""):  # type: ignore[no-untyped-def]
        outer = self

        class Port:
            def getHost(self):  # type: ignore[no-untyped-def]
                from twisted.internet.address import IPv4Address
                return IPv4Address("TCP", interface or "0.0.0.0", port or 40123)

            def stopListening(self):  # type: ignore[no-untyped-def]
                outer.listened.remove(self)

        p = Port()
        self.listened.append(p)
        return p


class ServiceTest(unittest.TestCase):
    def test_start_reports_and_stops(self) -> None:
        reactor = FakeReactor()
        reported = []
        svc = make_service([parse_range("40001=1")], address="127.0.0.1:0", reactor=reactor,
                           report=lambda kind, addr: reported.append((kind, addr)))
        svc.privilegedStartService()
        svc.startService()
        self.assertEqual(reported, [("TCP", "127.0.0.1:40123")])
        self.assertEqual(len(reactor.listened), 1)
        self.successResultOf(svc.stopService())
        self.assertEqual(reactor.listened, [])

    def test_parse_address(self) -> None:
        self.assertEqual(parse_address("localhost:7502"), ("localhost", 7502))
        self.assertEqual(parse_address(":7502"), ("", 7502))
        self.assertEqual(parse_address("10.0.0.1"), ("10.0.0.1", 502))
        self.assertEqual(parse_address("[::1]:502"), ("::1", 502))
        with self.assertRaises(ValueError):
            parse_address("host:port")

    def test_tcp_service_tries_ports(self) -> None:
        class Busy(FakeReactor):
            def listenTCP(self, port, factory, backlog=50, interface=""):  # type: ignore[no-untyped-def]
                if port < 7504:
                    raise OSError("busy")
                return super().listenTCP(port, factory, backlog, interface)

        svc = ModbusTcpService(None, "", 7502, tries=3, reactor=Busy())  # type: ignore[arg-type]
        svc.startService()
        self.assertEqual(svc.listening.getHost().port, 7504)


class CommandLineTest(unittest.TestCase):
    def run_main(self, main, argv):  # type: ignore[no-untyped-def]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        return code, err.getvalue()

    def test_sim_usage_errors(self) -> None:
        for argv in ([], ["40010-40001"], ["-a", "host:x", "40001"], ["--unit", "999", "40001"],
                     ["--parity", "Q", "40001"], ["-r", "0", "40001"]):
            code, err = self.run_main(modbus_sim.main, argv)
            self.assertEqual(code, 2, argv)
            self.assertIn("usage:", err)
            self.assertNotIn("Traceback", err)

    def test_poll_usage_errors(self) -> None:
        for argv in ([], ["x"], ["-a", "host:x", "40001"], ["-R", "0", "40001"], ["--unit", "-1", "40001"]):
            code, err = self.run_main(modbus_poll.main, argv)
            self.assertEqual(code, 2, argv)
            self.assertIn("usage:", err)

    def test_help(self) -> None:
        self.assertEqual(self.run_main(modbus_sim.main, ["--help"])[0], 0)

    def test_serial_address(self) -> None:
        self.assertTrue(modbus_sim.is_serial_address("/dev/ttyS1"))
        self.assertFalse(modbus_sim.is_serial_address("localhost:502"))
        self.assertFalse(modbus_sim.is_serial_address(":502"))
