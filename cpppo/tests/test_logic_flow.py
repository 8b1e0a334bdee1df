"""Issue 25 on a fake clock: expressions, strings, subroutines with parameters, jumps, MCR, TND,
FAL/FSC/BTD, GSV/SSV WallClockTime, the status flags, and major faults.

``data/logic/flow.L5X`` holds one or a few rungs per instruction, ``faults.L5X`` a JSR to a routine
the program does not have and a jump loop that runs past its task's 20 ms watchdog.  Expected
values and fault codes come from 1756-RM003 and 1756-UM001M as the logix-logic notes table them
(sections 2.2, 4.5 to 4.7 and 5).
"""

from __future__ import annotations

import struct
from typing import Any

from twisted.trial import unittest

from cpppo.logic import Mode
from cpppo.tests.test_logic_scan import scans, serve


class TestFlow(unittest.TestCase):
    def setUp(self) -> None:
        self.service, self.clock = serve("flow.L5X")
        self.clock.advance(0)
        scans(self.clock, 2)
        self.tags = self.service.tags
        self.logic = self.service.controller.logic

    def value(self, name: str) -> Any:
        tag = self.tags[name]
        if hasattr(tag, "get_string"):
            return tag.get_string()
        return tag.value

    def test_nothing_unsupported(self) -> None:
        self.assertEqual(self.logic.statistics.problems, [])
        self.assertEqual(self.logic.mode, Mode.RUN)

    def test_cpt_and_cmp(self) -> None:
        """2.2: ``**`` before ``*`` before ``+`` (2+3*4**2 = 50); AND/XOR/MOD/NOT on integers; a REAL
        expression stored as float32; a zero divisor leaves the destination (5) and sets S:V."""
        self.assertEqual([self.value(n) for n in ("CptOut", "CptPrec", "CptAnd", "CptXor", "CptMod", "CptNot")],
                         [17, 50, 3, 2, 1, -1])
        import math
        self.assertEqual(self.value("CptReal"), struct.unpack("<f", struct.pack("<f", math.sin(0.5) + 4))[0])
        self.assertEqual(self.value("CptZero"), 5)
        self.assertTrue(self.value("CmpOut"))  # 7*2 > 2+10

    def test_strings(self) -> None:
        """4.6: 1-based starts; FIND gives 7 for "World" in "Hello World"; a CONCAT too long for a
        STRING8 is cut to 8 characters and sets S:V; STRING compares are by character codes."""
        self.assertEqual([self.value(n) for n in ("S3", "Mid", "Del", "Ins", "MovStr", "Short")],
                         ["Hello World", "World", "Hello", "Hello World", "Hello", "Hello Wo"])
        self.assertEqual(self.value("FindPos"), 7)
        self.assertEqual([self.value(n) for n in ("StrEq", "StrLes", "StrGrt", "StrOverflow")],
                         [True, False, True, True])

    def test_jsr_with_parameters(self) -> None:
        """JSR(Square,1,A,SqOut): SBR(SqIn) takes A=7, RET(SqRes) gives 49 back into SqOut."""
        self.assertEqual((self.value("SqIn"), self.value("SqOut")), (7, 49))

    def test_jumps(self) -> None:
        """Notes section 6 row 8: the backward JMP loop unlatches bits 0-31 and latches 32-63 in one scan
        (63 jumps a scan); a forward JMP skips the rung between it and its LBL."""
        self.assertEqual(self.value("Bits"), [0, 0xFFFFFFFF])
        self.assertEqual((self.value("Loops"), self.value("Skipped")), (3 * 63, 0))

    def test_mcr_zone_and_tnd(self) -> None:
        """MCR with a false rung opens the zone: its rungs run false (the OTE clears, the ADD does not
        run) up to the unconditional MCR; TND ends the subroutine before its last rung."""
        self.assertEqual([self.value(n) for n in ("ZoneOut", "ZoneCount", "AfterZone")], [False, 0, True])
        self.tags["ZoneOn"].value = True
        scans(self.clock, 1)
        self.assertEqual([self.value(n) for n in ("ZoneOut", "ZoneCount")], [True, 1])
        self.assertEqual((self.value("EndA"), self.value("EndB")), (4, 0))

    def test_fal_fsc_btd(self) -> None:
        """FAL ALL fills FalDest[i] = i*10 in one scan (DN stops it the next, then it runs again); FSC finds
        7 at POS 2 (FD, IN); BTD puts bits 4-7 of 16#F0 at bits 8-11: 16#0F00."""
        self.assertEqual(self.value("FalDest"), [0, 10, 20, 30, 40])
        self.assertEqual(self.value("FscFound"), 2)
        ctl, length, pos = struct.unpack_from("<Iii", self.tags["FscCtl"].raw)
        self.assertEqual((bool(ctl & 1 << 24), bool(ctl & 1 << 25), length, pos), (True, True, 6, 2))
        self.assertEqual(self.value("BtdOut"), 0x0F00)

    def test_gsv_ssv_wall_clock(self) -> None:
        """GSV CurrentValue is the controller's clock (the fake clock: 20 ms after 1970 at the third scan);
        SSV sets it, as clients then read it from the Wall Clock Time object."""
        self.assertEqual(self.value("Now"), 20_000)
        self.assertEqual(self.value("When"), [1970, 1, 1, 0, 0, 0, 20_000])
        self.tags["SetTime"].value = 981_173_106_000_000  # 2001-02-03 04:05:06 UTC
        self.tags["DoSet"].value = True
        scans(self.clock, 2)
        clock = self.service.controller.directory.lookup(0x8B, 1)
        self.assertEqual(clock.utc(), 981_173_106_000_000 + 10_000)
        self.assertEqual(self.value("When")[:6], [2001, 2, 3, 4, 5, 6])
        self.assertGreaterEqual(self.value("LastScan"), 0)

    def test_ret_keeps_no_traceback_from_scan_to_scan(self) -> None:
        """RET, TND and JMP raise one exception instance each time: the traceback of the last raise must not
        be kept and extended (it grew each scan and held every frame, until a scan took longer than the
        watchdog: found running pycomm3's own export)."""
        import gc

        from cpppo.logic.instructions.control import Jump, Return

        scans(self.clock, 50)
        raised = [o for o in gc.get_objects() if type(o) in (Return, Jump) and o.__traceback__ is not None]
        self.assertTrue(raised)  # (Sub's RET, Ender's TND, the loop's JMP)
        for exception in raised:
            depth, tb = 0, exception.__traceback__
            while tb is not None:
                depth, tb = depth + 1, tb.tb_next
            self.assertLess(depth, 10)

    def test_fault_log(self) -> None:
        """GSV FaultLog: the minor faults' type bit (4, program) and their count (one a scan here: the
        string cut to fit after OTU(S:V)); SSV of MinorFaultBits clears them (and S:MINOR)."""
        self.assertEqual(self.value("MinorBits"), 1 << 4)
        self.assertGreaterEqual(self.value("MinorCount"), 3)
        # the Program's MinorFaultRecord: the time (a LINT of UTC microseconds on the controller's clock:
        # the third scan's, 20 ms after 1970 on the fake clock), then type 4 and code 4 as INTs
        record = struct.pack("<11i", *self.value("MinorRecord"))
        self.assertEqual(struct.unpack_from("<qhh", record), (20_000, 4, 4))
        self.tags["ClearMinor"].value = True
        scans(self.clock, 1)
        self.assertEqual(self.value("MinorBits"), 0)
        self.assertFalse(self.logic.status.minor)

    def test_status_flags(self) -> None:
        """S:N after 2 - 7, S:Z after 7 - 7."""
        self.assertEqual([self.value(n) for n in ("Neg", "SawN", "Zero", "SawZ")], [-5, True, 0, True])


class TestMajorFaults(unittest.TestCase):
    def setUp(self) -> None:
        self.service, self.clock = serve("faults.L5X")
        self.clock.advance(0)
        self.logic = self.service.controller.logic

    def test_jsr_to_no_routine(self) -> None:
        self.service.tags["CallMissing"].value = True
        scans(self.clock, 1)
        self.assertEqual(self.logic.mode, Mode.FAULTED)
        self.assertEqual((self.service.controller.fault.major, self.service.controller.fault.minor), (4, 31))

    def test_jsr_recursion_is_a_stack_overflow(self) -> None:
        """A routine that calls itself for ever: major fault 4/84 (stack overflow), not a dead server."""
        self.service.tags["Recurse"].value = True
        scans(self.clock, 1)
        self.assertEqual((self.service.controller.fault.major, self.service.controller.fault.minor), (4, 84))

    def test_a_value_no_instruction_takes_faults(self) -> None:
        """CPT of a STRING plus 1 compiles (a STRING is a tag) but cannot run: major fault 4/83, one log line."""
        self.service.tags["BadMath"].value = True
        scans(self.clock, 1)
        self.assertEqual((self.logic.mode, self.service.controller.fault.minor), (Mode.FAULTED, 83))
        self.assertIn("TypeError", str(self.logic.fault))

    def test_watchdog(self) -> None:
        """A jump loop that never ends: major fault type 6 code 1 once the task's 20 ms watchdog passes."""
        self.service.tags["SpinOn"].value = True
        scans(self.clock, 1)
        self.assertEqual(self.logic.mode, Mode.FAULTED)
        self.assertEqual((self.service.controller.fault.major, self.service.controller.fault.minor), (6, 1))
        self.assertGreater(self.service.tags["Spins"].value, 0)
        self.service.tags["SpinOn"].value = False
        self.logic.clear_fault()
        scans(self.clock, 1)
        self.assertEqual((self.logic.mode, self.service.controller.fault.major), (Mode.RUN, 0))
        # the Program's MajorFaultRecord keeps the fault after it is cleared (at 10 ms on the fake clock)
        record = struct.pack("<11i", *self.service.tags["MajorRecord"].value)
        self.assertEqual(struct.unpack_from("<qhh", record), (10_000, 6, 1))


class TestFaultRoutine(unittest.TestCase):
    """``handled.L5X``: program Line has ``FaultRoutineName="Recover"``; program Other follows it."""

    def setUp(self) -> None:
        self.service, self.clock = serve("handled.L5X")
        self.clock.advance(0)
        self.tags = self.service.tags
        self.logic = self.service.controller.logic

    def test_a_fault_routine_that_clears_the_fault(self) -> None:
        """The fault routine runs with the fault in the MajorFaultRecord (type 4, code 20); it clears the
        record, so the controller keeps running: the rest of Line's scan is skipped, Other still runs."""
        self.tags["Clear"].value = self.tags["Bad"].value = True
        scans(self.clock, 3)
        self.assertEqual(self.logic.mode, Mode.RUN)
        self.assertEqual([self.tags[n].value for n in ("Count", "After", "Handled", "OtherScans")], [4, 1, 3, 4])
        record = struct.pack("<11i", *self.tags["Rec"].value)
        self.assertEqual(struct.unpack_from("<qhh", record)[1:], (4, 20))
        self.assertEqual(self.service.controller.fault.major, 0)

    def test_a_fault_routine_that_does_not_clear_it(self) -> None:
        """Left in the record, the fault faults the controller after the fault routine ran once."""
        self.tags["Bad"].value = True
        scans(self.clock, 2)
        self.assertEqual(self.logic.mode, Mode.FAULTED)
        self.assertEqual((self.tags["Handled"].value, self.tags["OtherScans"].value), (1, 1))
        self.assertEqual((self.service.controller.fault.major, self.service.controller.fault.minor), (4, 20))
