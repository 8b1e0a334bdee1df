"""``cpppo.remote.plc`` and ``cpppo.remote.io``, used as the original's HMI scripts use them.

Why: scripts written for cpppo 5.2.5 describe a plant as points on a PLC poller (``io.input``,
``io.output``, a ``io.motor`` of six points) and read and write ``.value``; the poller may be a
simulated PLC (``poller_simulator``) or a real one (``poller_modbus``).  The simulated PLC runs on a
manual clock; the real one is our Modbus/TCP server on a loopback port, with the script in a
process of its own (plain blocking code, as the original's scripts are).
"""

from __future__ import annotations

import json
import logging
import random
import sys

from twisted.internet import defer, reactor, utils
from twisted.trial import unittest

from cpppo.modbus import datastore, ranges, server
from cpppo.remote import io, plc, plc_modbus
from cpppo.tests.resources import child_env


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestPoller(unittest.TestCase):
    def test_memory_plc_reads_what_it_was_told_until_offline(self) -> None:
        p = plc.poller("memory", rate=1.0)
        p.poll(40001, rate=0.5)
        self.assertEqual(p.rate, 0.5)
        self.assertIsNone(p.read(40001))
        p.write(40001, [7, 8])                      # a sequence lands at consecutive addresses
        self.assertEqual((p.read(40001), p.read(40002)), (7, 8))
        p.forget(40001)
        self.assertIsNone(p.read(40001))
        p.online = False
        self.assertIsNone(p.read(40002))
        with self.assertRaises(plc.PlcOffline):
            p.write(40002, 1)
        self.assertIs(plc_modbus.PlcOffline, plc.PlcOffline)   # one exception for every poller

    def test_simulated_plc_shows_writes_after_a_poll(self) -> None:
        clock = ManualClock()
        p = plc.poller_simulator("sim", rate=1.0, timer=clock)
        self.assertIsNone(p.read(1))                # a new address: 0 arrives with the next poll
        clock.now += 1.0
        self.assertEqual(p.read(1), 0)
        p.write(1, 5)
        self.assertEqual(p.read(1), 0)              # not yet polled
        clock.now += 1.0
        self.assertEqual(p.read(1), 5)
        p.online = False
        with self.assertRaises(plc.PlcOffline):
            p.write(1, 6)


class TestIo(unittest.TestCase):
    def test_points_log_changes_and_writes(self) -> None:
        p = plc.poller("memory", rate=0.25)
        point = io.output_event(p, 40001, group="g", level=logging.INFO)
        p.write(40001, 3)
        self.assertEqual(point.value, 3)
        point.value = 4
        self.assertEqual(point.value, 4)
        p.online = False
        with self.assertRaises(plc.PlcOffline):
            point.value = 5
        messages = [e["message"] for e in point.events(since=0)]
        self.assertEqual(messages, ["5 (was 4)", "4 (was 3)", "4 (was 3)", "3 (was None)"])
        self.assertEqual({e["description"] for e in point.events(since=0)}, {"memory/ 40001"})
        self.assertEqual(list(point.events()), [])   # since None: nothing

    def test_motor_status_follows_its_points(self) -> None:
        p = plc.poller("memory", rate=0.25)
        m = io.motor("pumps", "M1", "Pump 1", p, auto=1, running=2, start=3, fault=4, estop=5, reset=6)
        for address, value in ((1, 1), (2, 0), (3, 0), (4, 1), (5, 0), (6, 0)):
            p.write(address, value)
        self.assertEqual(m.status, "stopped")
        m.start = "true"                             # as a web form sends it
        self.assertEqual((m.start, m.status), (True, "starting"))
        p.write(2, 1)
        self.assertEqual(m.status, "started")
        p.write(4, 0)                                # fault is negative logic
        self.assertEqual((m.fault, m.status), (True, "fault"))
        shown = json.loads(str(m))
        self.assertEqual((shown["identity"], shown["status"], shown["running"]), ("M1", "fault", True))
        self.assertIn("Start Sent", [e["message"] for e in m.events(since=0)])
        p.online = False
        self.assertEqual(m.status, "offline")

    def test_motor_simulator_runs_repeatably(self) -> None:
        def run(seed: int) -> list[str]:
            clock = ManualClock()
            p = plc.poller_simulator("sim", rate=0.25, timer=clock)
            m = io.motor_simulator("g", "M2", "sim", p, auto=1, running=2, start=3, fault=4, estop=5, reset=6,
                                   chance=random.Random(seed))
            seen = []
            for _ in range(3000):
                clock.now += 0.1
                seen.append(m.status)
            return seen

        first = run(7)
        self.assertEqual(first, run(7))
        self.assertTrue({"started", "stopped"} <= set(first), set(first))


#: A script as the original's users write one: a motor on a Modbus PLC, plain blocking code.
MOTOR_SCRIPT = r"""
import sys, time
from cpppo.remote import io
from cpppo.remote.plc_modbus import poller_modbus
plc = poller_modbus("plant", host="127.0.0.1", port=int(sys.argv[1]), rate=0.05, unit=1)
m = io.motor("pumps", "M1", "Pump 1", plc, auto=1, running=2, start=3, fault=4, estop=5, reset=6)
def until(predicate):
    deadline = time.monotonic() + 20
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
until(lambda: m.status != "offline" and m.auto is not None)
print(m.status)
m.start = True
until(lambda: m.status == "starting")
print(m.status)
print(sorted({e["message"] for e in m.events(since=0)}))
plc.join(5)
"""


class TestMotorOnModbus(unittest.TestCase):
    @defer.inlineCallbacks
    def test_motor_script_against_our_modbus_server(self):
        units = datastore.Units([ranges.parse_range("1-6=1,0,0,1,0,0")])
        port = reactor.listenTCP(0, server.ModbusTcpServerFactory(units), interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        number = port.getHost().port  # type: ignore[attr-defined]
        out, err, code = yield utils.getProcessOutputAndValue(
            sys.executable, ["-c", MOTOR_SCRIPT, str(number)], env=child_env())
        self.assertEqual(code, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertEqual(lines[:2], ["stopped", "starting"])
        self.assertIn("Start Sent", lines[2])
        self.assertEqual(units[1].get(3), [1])         # the write reached the PLC
