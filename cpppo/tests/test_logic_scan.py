"""The controller's program scanned on a fake clock: every instruction of issue 24, timers, counters,
rung-condition and branch semantics, prescan, first scan, tasks, modes and unsupported routines.

Expected values are worked out from the instruction reference (1756-RM003, as the logix-logic
notes table each instruction, section numbers given), never from our own output.  The exports
are in ``data/logic/``: ``instructions.L5X`` (a program export: one continuous task of its own),
``machine.L5X`` (a controller export: continuous, periodic and inhibited tasks, a disabled
program), ``unsupported.L5X`` (a PID rung and a Structured Text routine).
"""

from __future__ import annotations

import struct
from typing import Any

from twisted.internet.task import Clock
from twisted.trial import unittest

from cpppo.enip.simulator import options, run
from cpppo.enip.simulator.controller.structures import StructTag
from cpppo.logic import Mode
from cpppo.tests.resources import data_file

SCAN = 0.010  # the continuous task's default minimum period
WORDS = struct.Struct("<Iii")
EN, TT, DN = 1 << 31, 1 << 30, 1 << 29
CU, CD, OV, UN = 1 << 31, 1 << 30, 1 << 28, 1 << 27


def serve(name: str, *extra: str) -> tuple[Any, Clock]:
    """A service of ``data/logic/<name>`` (its program attached, started) on a fake clock."""
    clock = Clock()
    ap = options.parser()
    settings = options.configure(ap.parse_args(["--no-config", "--l5x", data_file(f"logic/{name}"), *extra]), ap)
    return run.build_service(settings, clock=clock), clock


def words(tag: StructTag) -> tuple[int, int, int]:
    """A TIMER's or COUNTER's status bits, PRE and ACC."""
    return WORDS.unpack_from(tag.raw)


def scans(clock: Clock, count: int, period: float = SCAN) -> None:
    for _ in range(count):
        clock.advance(period)


class TestInstructions(unittest.TestCase):
    """``instructions.L5X`` after three scans: one rung (or a few) per instruction."""

    def setUp(self) -> None:
        self.service, self.clock = serve("instructions.L5X")
        self.clock.advance(0)  # the first scan
        scans(self.clock, 2)
        self.tags = self.service.tags

    def value(self, name: str) -> Any:
        return self.tags[name].value

    def test_nothing_unsupported(self) -> None:
        self.assertEqual(self.service.controller.logic.statistics.problems, [])

    def test_bits(self) -> None:
        """4.1: OTE follows its rung; XIO inverts; OTL/OTU hold; ONS after a true prescan gives no pulse."""
        self.assertEqual([self.value(n) for n in ("OteOut", "XioOut", "Latch", "Unlatch")], [True, False, True, False])
        self.assertEqual(self.value("OnsCount"), 0)  # prescan set the storage bit: In1 was already true
        self.tags["In1"].value = False
        scans(self.clock, 1)
        self.assertFalse(self.value("OteOut"))
        self.assertTrue(self.value("Latch"))  # OTL keeps its bit on a false rung
        self.tags["In1"].value = True
        scans(self.clock, 3)
        self.assertEqual(self.value("OnsCount"), 1)  # one rising edge, one pass

    def test_osr_osf_pulse_one_scan_each(self) -> None:
        """4.1: OSR's output is on for the one scan its rung goes true; OSF's for the scan it goes false."""
        self.tags["Pulse"].value = True
        scans(self.clock, 1)
        self.assertTrue(self.value("OsrOut"))
        scans(self.clock, 3)
        self.assertFalse(self.value("OsrOut"))
        self.assertEqual(self.value("OsrCount"), 1)
        self.assertEqual(self.value("OsfCount"), 0)
        self.tags["Pulse"].value = False
        scans(self.clock, 1)
        self.assertTrue(self.value("OsfOut"))
        scans(self.clock, 3)
        self.assertEqual((self.value("OsfOut"), self.value("OsfCount"), self.value("OsrCount")), (False, 1, 1))

    def test_compare(self) -> None:
        """4.4 with MathA=7, MathB=2, RealA=2.5: LIM 1..10 holds 7, 8..10 does not, circular 10..1 does not;
        MEQ (16#F0F5 AND 16#00FF) = (16#00F5 AND 16#00FF); with mask 16#0F0F, 5 is not 6."""
        names = ("EquOut", "NeqOut", "LesOut", "LeqOut", "GrtOut", "GeqOut", "RealGrt", "LimIn", "LimOutside",
                 "LimCircular", "MeqOut", "MeqNot")
        self.assertEqual([self.value(n) for n in names],
                         [True, True, True, True, False, True, True, True, False, False, True, False])
        self.tags["MathA"].value = 12
        scans(self.clock, 1)
        self.assertTrue(self.value("LimCircular"))  # 12 >= 10: inside the circular band

    def test_math(self) -> None:
        """4.5: integer DIV truncates (7/2=3, -7/2=-3); a REAL divisor into a DINT rounds (2.8 -> 3); MOD takes
        the dividend's sign (-7 MOD 2 = -1); SQR 16 = 4; a zero divisor stores -1 (all integers)."""
        expected = {"AddOut": 9, "SubOut": -5, "MulOut": 14, "DivOut": 3, "DivNeg": -3, "DivRound": 3,
                    "ModOut": 1, "ModNeg": -1, "NegOut": -7, "AbsOut": 7, "SqrOut": 4, "DivZero": -1}
        self.assertEqual({n: self.value(n) for n in expected}, expected)
        self.assertEqual(self.value("DivReal"), struct.unpack("<f", struct.pack("<f", 2.8))[0])
        self.assertEqual(self.value("SqrReal"), struct.unpack("<f", struct.pack("<f", 2 ** 0.5))[0])

    def test_overflow_wraps_and_sets_sv(self) -> None:
        """4.5 and section 5: SINT 127 + 1 wraps to -128 and sets S:V, a minor fault 4/4; scanning goes on."""
        self.assertEqual(self.value("SintOut"), -128)
        self.assertTrue(self.value("SawOverflow"))
        status = self.service.controller.logic.status
        self.assertTrue(status.minor)
        self.assertEqual((status.minors[-1].kind, status.minors[-1].code), (4, 4))
        self.assertEqual(self.service.controller.logic.mode, Mode.RUN)

    def test_move(self) -> None:
        """4.5: MOV rounds a REAL half to even (3.5 -> 4, 2.5 -> 2) and wraps 123456 into an INT (-7616);
        MVM keeps the destination's bits outside the mask; CLR zeroes; SWPB of 16#0A0B0C0D."""
        self.assertEqual([self.value(n) for n in ("MovRound", "MovEven", "MovInt", "MovReal", "ClrOut")],
                         [4, 2, -7616, 7.0, 0])
        self.assertEqual(self.value("MvmOut"), 0x7F005678)
        self.assertEqual([self.value(n) for n in ("SwpReverse", "SwpWord", "SwpHighLow", "SwpInt")],
                         [0x0D0C0B0A, 0x0C0D0A0B, 0x0B0A0D0C, 0x3412])

    def test_copy_and_fill(self) -> None:
        """4.6: COP's length counts destination elements (4 INTs are the bytes of 2 DINTs); a copy or fill
        past the end of the destination array stops there; CPS of what is left of the source."""
        self.assertEqual(self.value("CopDest"), [1, 2, 3, 0, 0])
        self.assertEqual(self.value("CopInts"), [1, 0, 2, 0])
        self.assertEqual(self.value("CpsDest"), [3, 4, 9, 9])
        self.assertEqual(self.value("FllDest"), [0, 7, 7, 7, 0])
        self.assertEqual(self.value("FllEnd"), [0, 0, 0, 9, 9])

    def test_program_control(self) -> None:
        """4.7: JSR runs Sub every scan, and Sub's RET ends it before its last rung; NOP passes; AFI never."""
        self.assertEqual(self.value("SubCalls"), 3)
        self.assertEqual(self.value("AfterRet"), 0)
        self.assertEqual((self.value("NopOut"), self.value("AfiOut")), (True, False))

    def test_branches_and_rung_condition(self) -> None:
        """Section 3: a branch is the OR of its legs (nested too); an empty leg is a wire; a leg's write is
        seen by the next leg in the same scan; an OTE on a false rung clears (ClearedOut started at 1)."""
        self.assertEqual([self.value(n) for n in ("BranchOut", "WireOut", "LegA", "LegB", "ClearedOut")],
                         [True, True, True, True, False])

    def test_operands(self) -> None:
        """Indirect subscripts, a bit of a BOOL array and of a DINT, a UDT's members, a program's own tag."""
        self.assertEqual(self.value("Arr"), [0, 0, 0, 99, 0])
        self.assertEqual(self.value("Flags"), [1 << 3, 0])
        self.assertEqual(self.value("Word"), 8)
        raw = self.tags["Motor1"].raw
        self.assertEqual((struct.unpack_from("<f", raw)[0], raw[4] & 1), (12.5, 1))
        self.assertEqual(self.value("Program:Main.Local"), 5)

    def test_first_scan_once(self) -> None:
        """S:FS is true in the first scan only (section 3)."""
        self.assertEqual((self.value("FirstScans"), self.value("Scans")), (1, 3))


class TestTimersAndCounters(unittest.TestCase):
    def setUp(self) -> None:
        self.service, self.clock = serve("instructions.L5X")
        self.clock.advance(0)
        self.tags = self.service.tags

    def test_ton(self) -> None:
        """4.2: TON times while its rung is true (EN, TT), DN at PRE (500 ms); a false rung resets it."""
        self.tags["TonIn"].value = True
        scans(self.clock, 1)  # the first true scan: EN, TT, ACC 0
        self.assertEqual(words(self.tags["TonT"]), (EN | TT, 500, 0))
        scans(self.clock, 30)
        self.assertEqual(words(self.tags["TonT"]), (EN | TT, 500, 300))
        scans(self.clock, 25)
        self.assertEqual(words(self.tags["TonT"]), (EN | DN, 500, 500))
        self.tags["TonIn"].value = False
        scans(self.clock, 1)
        self.assertEqual(words(self.tags["TonT"]), (0, 500, 0))

    def test_tof(self) -> None:
        """4.2: TOF: a true rung sets EN and DN; false, it times (TT) and clears DN at PRE (300 ms)."""
        self.tags["TofIn"].value = True
        scans(self.clock, 1)
        self.assertEqual(words(self.tags["TofT"]), (EN | DN, 300, 0))
        self.tags["TofIn"].value = False
        scans(self.clock, 1)
        self.assertEqual(words(self.tags["TofT"]), (TT | DN, 300, 0))
        scans(self.clock, 20)
        self.assertEqual(words(self.tags["TofT"]), (TT | DN, 300, 200))
        scans(self.clock, 10)
        self.assertEqual(words(self.tags["TofT"]), (0, 300, 300))

    def test_rto_retains_until_res(self) -> None:
        """4.2/4.3: RTO keeps ACC while its rung is false, goes on from there, and only RES clears it."""
        self.tags["RtoIn"].value = True
        scans(self.clock, 21)  # first true scan, then 20 x 10 ms
        self.tags["RtoIn"].value = False
        scans(self.clock, 5)
        self.assertEqual(words(self.tags["RtoT"]), (0, 400, 200))
        self.tags["RtoIn"].value = True
        scans(self.clock, 21)
        self.assertEqual(words(self.tags["RtoT"]), (EN | DN, 400, 400))
        self.tags["RtoReset"].value = True
        self.tags["RtoIn"].value = False
        scans(self.clock, 1)
        self.assertEqual(words(self.tags["RtoT"]), (0, 400, 0))

    def test_ctu_ctd(self) -> None:
        """4.3: CTU counts each false-to-true edge, DN at ACC >= PRE (2); CTD counts down; RES clears."""
        cnt = self.tags["Cnt"]
        for _ in range(3):
            self.tags["CountUp"].value = True
            scans(self.clock, 2)  # two true scans: one count
            self.tags["CountUp"].value = False
            scans(self.clock, 1)
        self.assertEqual(words(cnt), (DN, 2, 3))
        self.tags["CountDown"].value = True
        scans(self.clock, 2)
        self.assertEqual(words(cnt), (CD | DN, 2, 2))
        self.tags["CountDown"].value = False
        self.tags["CntReset"].value = True
        scans(self.clock, 1)
        self.assertEqual(words(cnt), (0, 2, 0))

    def test_ctu_wraps_with_ov(self) -> None:
        """4.3: a count past 2147483647 wraps to -2147483648 and sets OV (no fault)."""
        self.tags["CountUp"].value = True
        scans(self.clock, 1)
        status, _, acc = words(self.tags["Wrap"])
        self.assertEqual((acc, bool(status & OV), bool(status & DN)), (-2147483648, True, False))
        self.assertEqual(self.service.controller.logic.mode, Mode.RUN)


class TestTasksAndModes(unittest.TestCase):
    def setUp(self) -> None:
        self.service, self.clock = serve("machine.L5X")
        self.logic = self.service.controller.logic
        self.tags = self.service.tags

    def test_tasks(self) -> None:
        """The continuous task every 10 ms, the 50 ms periodic one at its rate; an inhibited task and a
        disabled program never run."""
        self.clock.advance(0)
        scans(self.clock, 100)
        self.clock.advance(0.001)  # (past 1 s, whatever 100 float steps of 10 ms add up to)
        self.assertEqual(self.tags["Scans"].value, 101)
        self.assertEqual(self.tags["FastScans"].value, 21)
        self.assertEqual((self.tags["NeverScans"].value, self.tags["DisabledScans"].value), (0, 0))
        states = {(r["program"], r["routine"]): r["state"] for r in self.logic.report()["routines"]}
        self.assertEqual(states[("NeverProgram", "Main")], "not scheduled")
        self.assertEqual(states[("MainProgram", "MainRoutine")], "running")

    def test_ton_drives_ctu_drives_mov_and_otl(self) -> None:
        """T1 (100 ms) restarts itself (RES on DN); C1 counts its DNs; at 3 counts MOV 42 and OTL run."""
        self.clock.advance(0)
        self.tags["Start"].value = True
        scans(self.clock, 25)
        self.assertEqual(words(self.tags["C1"])[2], 2)
        self.assertEqual((self.tags["Result"].value, self.tags["Latched"].value), (0, False))
        scans(self.clock, 10)
        self.assertEqual(words(self.tags["C1"])[2], 3)
        self.assertEqual((self.tags["Result"].value, self.tags["Latched"].value), (42, True))

    def test_program_mode_stops_and_run_prescans(self) -> None:
        """Program mode stops scanning; entering Run again prescans (OTE cleared) and S:FS comes again."""
        self.clock.advance(0)
        self.tags["A"].value = self.tags["B"].value = True
        scans(self.clock, 2)
        self.assertTrue(self.tags["Out1"].value)
        self.logic.set_mode("program")
        before = self.tags["Scans"].value
        scans(self.clock, 10)
        self.assertEqual(self.tags["Scans"].value, before)
        self.assertEqual(self.service.controller.identity.attributes[5].value & 0xF0, 0x70)
        self.tags["A"].value = False
        self.tags["FirstScanValue"].value = 0
        self.logic.set_mode("run")
        self.assertFalse(self.tags["Out1"].value)  # prescanned: cleared before any scan
        self.clock.advance(0)
        self.assertEqual(self.tags["FirstScanValue"].value, 7)
        self.assertEqual(self.service.controller.identity.attributes[5].value & 0xF0, 0x60)
        self.assertEqual(self.clock.getDelayedCalls() != [], True)

    def test_start_in_program_mode(self) -> None:
        service, clock = serve("machine.L5X", "--logic", "program")
        scans(clock, 5)
        self.assertEqual((service.controller.logic.mode, service.tags["Scans"].value), (Mode.PROGRAM, 0))
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_major_fault_stops_and_clears(self) -> None:
        """An indirect subscript out of range: major fault type 4 code 20 in the fault record (class 0x73);
        the scan stops; clearing it returns to Run."""
        self.clock.advance(0)
        self.tags["Idx"].value = 12  # Arr has 10 elements
        scans(self.clock, 1)
        self.assertEqual(self.logic.mode, Mode.FAULTED)
        fault = self.service.controller.fault
        self.assertEqual((fault.major, fault.minor), (4, 20))
        self.assertIn("MainProgram/MainRoutine rung 9", self.logic.fault.where)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.tags["Idx"].value = 1
        self.logic.clear_fault()
        scans(self.clock, 1)
        self.assertEqual((self.logic.mode, fault.major, self.tags["Arr"].value[1]), (Mode.RUN, 0, 1))

    def test_the_fault_records_clear_clears_the_program_too(self) -> None:
        """``server/fault/clear`` (the controller's clear_fault) also returns a faulted program to Run."""
        self.clock.advance(0)
        self.tags["Idx"].value = 12
        scans(self.clock, 1)
        self.tags["Idx"].value = 0
        self.service.controller.clear_fault()
        self.assertEqual((self.logic.mode, self.service.controller.fault.major), (Mode.RUN, 0))
        scans(self.clock, 1)
        self.assertEqual(self.logic.mode, Mode.RUN)

    def test_stop_leaves_no_call(self) -> None:
        self.logic.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class TestUnsupported(unittest.TestCase):
    def test_reported_and_idle(self) -> None:
        """A PID rung idles its routine and a Structured Text routine idles; one line each; the rest runs."""
        with self.assertLogs("cpppo.logic.scan", "WARNING") as logged:
            service, clock = serve("unsupported.L5X")
        self.assertEqual(sorted(line.split(":", 2)[2] for line in logged.output), [
            "program Plant routine Calc: routine type ST is not supported: routine idle",
            "program Plant routine Control rung 1: instruction PID is not supported: routine idle"])
        scans(clock, 3)
        self.assertGreaterEqual(service.tags["Ok"].value, 3)
        self.assertEqual((service.tags["BadCount"].value, service.tags["Other"].value), (0, 0))
        states = {r["routine"]: r["state"] for r in service.controller.logic.report()["routines"]}
        self.assertEqual(states, {"Main": "running", "Control": "idle", "Calc": "idle"})
        service.controller.logic.stop()


    def test_add_on_instructions_and_event_tasks(self) -> None:
        """``addons.L5X``: a call of an Add-On Instruction with empty logic (as a program export's Context
        copy has) passes its rung condition; one with logic idles its routine, one line naming it; an
        EVENT task is reported and its program not scheduled."""
        with self.assertLogs("cpppo.logic.scan", "WARNING") as logged:
            service, clock = serve("addons.L5X")
        self.assertEqual(sorted(line.split(":", 2)[2] for line in logged.output), [
            "program Logic routine Main rung 0: Add-On Instruction DOUBLER with logic is not supported: routine idle",
            "task Triggered: EVENT tasks are not supported (not run)"])
        clock.advance(0)
        service.tags["In"].value = True
        scans(clock, 3)
        self.assertEqual([service.tags[n].value for n in ("Passed", "Doubled", "EventScans")], [True, 0, 0])
        states = {r["program"]: r["state"] for r in service.controller.logic.report()["routines"]}
        self.assertEqual(states, {"Calls": "running", "Logic": "idle", "OnEvent": "not scheduled"})
        service.controller.logic.stop()


class TestOptions(unittest.TestCase):
    def test_logic_and_scan_period_options(self) -> None:
        """``--logic`` and ``--scan-period`` on both command lines; a bad value is a usage error."""
        from cpppo.tap.enip import Options

        parsed = options.settings_from(options.parser().parse_args(["--logic", "program", "--scan-period", "25",
                                                                      "--no-config", "SCADA"]))
        self.assertEqual((parsed.logic, parsed.scan_period), ("program", 0.025))
        tapped = Options()
        tapped.parseOptions(["--logic", "run", "--scan-period", "5", "--no-config", "SCADA"])
        self.assertEqual((tapped["settings"].logic, tapped["settings"].scan_period), ("run", 0.005))
        with self.assertRaises(ValueError):
            options.settings_from(options.parser().parse_args(["--scan-period", "fast", "--no-config", "SCADA"]))
        with self.assertRaises(SystemExit):
            Options().parseOptions(["--logic", "walk", "--no-config", "SCADA"])

    def test_scan_period_sets_the_continuous_rate(self) -> None:
        service, clock = serve("machine.L5X", "--scan-period", "20")
        clock.advance(0)
        scans(clock, 10, 0.020)
        self.assertEqual(service.tags["Scans"].value, 11)
        service.controller.logic.stop()


class TestPrint(unittest.TestCase):
    def test_p_prints_each_tag_a_rung_changes(self) -> None:
        """``-p``: a line for each tag a rung changes (not for a write of the value it already holds)."""
        import io

        out = io.StringIO()
        clock = Clock()
        ap = options.parser()
        settings = options.configure(ap.parse_args(["--no-config", "-p", "--l5x", data_file("logic/conveyor.L5X")]),
                                     ap)
        service = run.build_service(settings, clock=clock, out=out)
        clock.advance(0)
        service.tags["Start"].value = True
        scans(clock, 350)
        service.controller.logic.stop()
        lines = out.getvalue().splitlines()
        self.assertEqual([line.split() for line in lines], [["Batch", "<-", "3", "(Line/Main", "rung", "2)"],
                                                            ["Full", "<-", "True", "(Line/Main", "rung", "2)"]])


class TestNoProgram(unittest.TestCase):
    def test_an_export_without_routines_runs_nothing(self) -> None:
        """Tags only: no program attached, nothing on the clock, no ``server/logic`` in the web API."""
        from cpppo.enip.web.api import Api
        from cpppo.enip.web.ladder import install

        path = self.mktemp() + ".L5X"
        with open(path, "w") as file:
            file.write('<?xml version="1.0" encoding="UTF-8"?>\n<RSLogix5000Content TargetType="Controller">\n'
                       '<Controller Use="Target" Name="C"><Tags>\n<Tag Name="X" TagType="Base" DataType="DINT"/>\n'
                       '</Tags>\n</Controller>\n</RSLogix5000Content>\n')
        clock = Clock()
        ap = options.parser()
        service = run.build_service(options.configure(ap.parse_args(["--no-config", "--l5x", path]), ap), clock=clock)
        self.assertIsNone(service.controller.logic)
        self.assertEqual(clock.getDelayedCalls(), [])
        api = Api(service, clock)
        install(api)
        self.assertNotIn("logic", api.group("server"))
