"""Issue 25's status flags per instruction, FAL/FSC in ALL mode over several scans (and the other modes
refused at load), and the major faults of a CONTROL, a jump and a string, on a fake clock.

``data/logic/flags.L5X``: each flag rung clears S:V (``OTU(S:V)``), runs one instruction, then copies
S:Z, S:C, S:V and S:N into BOOLs in the legs of a branch.  Expected values are worked out by hand
from Rockwell's "Math Status Flags" (Logix Designer v37 help, notes section 3): S:C is a carry or
borrow out of the most significant bit, from integer ADD and SUB only (never CPT's ``+``/``-``);
S:V is set by a value that does not fit its destination (LD-v37's own example: 123456 into an INT);
compare instructions and COP change no flag; each clear-to-set edge of S:V is one minor fault 4/4.
Fault codes from 1756-UM001M table 56 (notes section 5).
"""

from __future__ import annotations

import struct
from typing import Any

from twisted.trial import unittest

from cpppo.logic import Mode
from cpppo.tests.test_logic_scan import scans, serve

EN, DN, IN, FD = 1 << 31, 1 << 29, 1 << 25, 1 << 24
CONTROL = struct.Struct("<Iii")  # status bits, LEN, POS


class FlagsCase(unittest.TestCase):
    """``flags.L5X`` served on a fake clock, after its first scan."""

    def setUp(self) -> None:
        self.service, self.clock = serve("flags.L5X")
        self.clock.advance(0)  # the first scan
        self.tags = self.service.tags
        self.logic = self.service.controller.logic
        self.addCleanup(self.logic.stop)


class TestStatusFlags(FlagsCase):
    def flags(self, prefix: str, which: str = "ZCVN") -> dict[str, bool]:
        return {flag: self.tags[prefix + flag].value for flag in which}

    def test_add_sub_carry_borrow_overflow(self) -> None:
        """-1 + 1: 16#FFFFFFFF + 1 carries out of bit 31 (C), 0 (Z), no signed overflow.  2147483647 + 1:
        wraps to -2147483648 (V, N) with no carry out of bit 31.  1 - 2: a borrow (C), -1 (N)."""
        self.assertEqual((self.tags["AddZero"].value, self.flags("Add")),
                         (0, {"Z": True, "C": True, "V": False, "N": False}))
        self.assertEqual((self.tags["AddWrap"].value, self.flags("Wrap")),
                         (-2147483648, {"Z": False, "C": False, "V": True, "N": True}))
        self.assertEqual((self.tags["SubOut"].value, self.flags("Sub")),
                         (-1, {"Z": False, "C": True, "V": False, "N": True}))

    def test_cpt_operators_leave_carry(self) -> None:
        """CPT's ``0-1`` after ADD set C leaves C set; its ``-1+1`` after SUB(2,1) cleared C leaves it clear;
        CPT still sets N and Z from what it stores."""
        self.assertEqual((self.tags["CptOut"].value, self.flags("CptSet", "CN")), (-1, {"C": True, "N": True}))
        self.assertEqual((self.tags["CptZero"].value, self.flags("CptClear", "CZ")), (0, {"C": False, "Z": True}))

    def test_move_clear_negate_multiply(self) -> None:
        """MOV 123456 into an INT: -7616 (16#E240), V and N.  CLR: Z, not N.  NEG of -2147483648 and
        65536 * 65536 do not fit a DINT: V (and 2**32 stores 0: Z)."""
        self.assertEqual((self.tags["IntOut"].value, self.flags("Mov", "ZVN")),
                         (-7616, {"Z": False, "V": True, "N": True}))
        self.assertEqual((self.tags["ClrOut"].value, self.flags("Clr", "ZN")), (0, {"Z": True, "N": False}))
        self.assertEqual((self.tags["NegOut"].value, self.flags("Neg", "VN")),
                         (-2147483648, {"V": True, "N": True}))
        self.assertEqual((self.tags["MulOut"].value, self.flags("Mul", "ZV")), (0, {"Z": True, "V": True}))

    def test_compare_and_copy_change_no_flag(self) -> None:
        """After SUB(1,2) (N set, Z clear): EQU GRT LIM MEQ, and COP of -3, leave N set and Z clear."""
        self.assertEqual(self.flags("Cmp", "NZ"), {"N": True, "Z": False})
        self.assertEqual((self.tags["CopOut"].value, self.flags("Cop", "NZ")), (-3, {"N": True, "Z": False}))

    def test_each_overflow_edge_is_a_minor_fault(self) -> None:
        """Four rungs a scan clear S:V and overflow (ADD, MOV, NEG, MUL): four minor faults 4/4 a scan, and
        the controller keeps running."""
        self.assertEqual(self.tags["MinorCount"].value, 4)
        scans(self.clock, 1)
        self.assertEqual(self.tags["MinorCount"].value, 8)
        self.assertEqual({(m.kind, m.code) for m in self.logic.status.minors}, {(4, 4)})
        self.assertEqual(self.logic.mode, Mode.RUN)


class TestTaskScanTimes(FlagsCase):
    def test_gsv_task_last_and_max_scan_time(self) -> None:
        """GSV(Task,THIS,LastScanTime/MaxScanTime): microseconds of the task's scans before this one: more
        than none, the longest no shorter than the last, and no longer than the longest the task measured."""
        scans(self.clock, 3)
        last, longest = self.tags["LastScan"].value, self.tags["MaxScan"].value
        self.assertGreater(last, 0)
        self.assertGreaterEqual(longest, last)
        self.assertLessEqual(longest, int(self.logic.tasks[0].longest * 1e6))


class TestFiles(FlagsCase):
    def control(self, name: str) -> tuple[int, int, int]:
        return CONTROL.unpack_from(self.tags[name].raw)

    def test_other_modes_are_refused_at_load(self) -> None:
        """FAL in INC mode, FAL 2 elements a scan, FSC in INC: one problem each, their routines idle."""
        problems = sorted(str(p) for p in self.logic.statistics.problems)
        self.assertEqual([p.split(":")[0] for p in problems], ["program FscInc routine Main rung 0",
                                                               "program IncMode routine Main rung 0",
                                                               "program NumericMode routine Main rung 0"])
        self.assertEqual([p.rsplit(": ", 1)[1] for p in problems],
                         ["mode INC (only ALL is supported)", "mode INC (only ALL is supported)",
                          "mode 2 (only ALL is supported)"])
        states = {r["program"]: r["state"] for r in self.logic.report()["routines"]}
        self.assertEqual(states, {"Flags": "running", "IncMode": "idle", "NumericMode": "idle", "FscInc": "idle"})

    def test_fal_all_runs_once_per_rising_edge(self) -> None:
        """FalDest[i] := FalSrc[i] + 1 for all 3 in the scan the rung goes true (EN, DN, POS on the last);
        while it stays true nothing more; a false rung resets the CONTROL; the next edge runs it again."""
        self.tags["FalOn"].value = True
        scans(self.clock, 1)
        self.assertEqual((self.tags["FalDest"].value, self.control("FalCtl")), ([11, 21, 31], (EN | DN, 3, 2)))
        self.tags["FalSrc"].value = [100, 200, 300]
        scans(self.clock, 2)
        self.assertEqual(self.tags["FalDest"].value, [11, 21, 31])
        self.tags["FalOn"].value = False
        scans(self.clock, 1)
        self.assertEqual(self.control("FalCtl"), (0, 3, 0))
        self.tags["FalOn"].value = True
        scans(self.clock, 1)
        self.assertEqual(self.tags["FalDest"].value, [101, 201, 301])

    def test_fsc_stops_at_each_match_and_resumes_when_in_clears(self) -> None:
        """FscSrc = [0, 5, 0, 5], searching for 5: found at POS 1 (FD, IN); the program clears IN and the
        next scan finds POS 3; cleared again, the search ends with DN (FD clear)."""
        self.tags["FscOn"].value = True
        scans(self.clock, 2)  # (IN stays set: found, waiting)
        self.assertEqual(self.control("FscCtl"), (EN | IN | FD, 4, 1))
        self.tags["FscNext"].value = True
        scans(self.clock, 2)
        self.assertEqual(self.control("FscCtl"), (EN | IN | FD, 4, 3))
        self.tags["FscNext"].value = True
        scans(self.clock, 2)
        status, length, _ = self.control("FscCtl")
        self.assertEqual((status & (EN | DN | FD | IN), length), (EN | DN, 4))


class TestMajorFaults(FlagsCase):
    """The fault record (class 0x73) after each: a CONTROL's LEN below 0 is 4/21; a JMP to no label 4/42;
    MID of 5 characters from the 3rd of a 3-character string 4/56; JSR parameters that do not match the
    subroutine's SBR or RET 4/31."""

    def fault(self, trigger: str) -> Any:
        self.tags[trigger].value = True
        scans(self.clock, 1)
        self.assertEqual(self.logic.mode, Mode.FAULTED)
        record = self.service.controller.fault
        return record.major, record.minor

    def test_control_length_below_zero(self) -> None:
        self.assertEqual(self.fault("BadLen"), (4, 21))

    def test_identity_status_shows_the_major_fault_until_cleared(self) -> None:
        """The Identity object's status word (attribute 5): bit 10 (major recoverable fault) while faulted,
        clear again once the fault is cleared and the controller runs (mode bits 16#60)."""
        status = self.service.controller.identity.attributes[5]
        self.assertEqual(status.value & 0x04F0, 0x0060)
        self.fault("BadJump")
        self.assertEqual(status.value & 0x0400, 0x0400)
        self.tags["BadJump"].value = False
        self.logic.clear_fault()
        self.assertEqual(status.value & 0x04F0, 0x0060)

    def test_jump_to_no_label(self) -> None:
        self.assertEqual(self.fault("BadJump"), (4, 42))

    def test_string_start_past_the_end(self) -> None:
        self.assertEqual(self.fault("BadMid"), (4, 56))

    def test_jsr_inputs_the_sbr_does_not_take(self) -> None:
        self.assertEqual(self.fault("BadCall"), (4, 31))

    def test_jsr_returns_the_ret_does_not_give(self) -> None:
        self.assertEqual(self.fault("BadReturn"), (4, 31))

    def test_a_matching_call_runs(self) -> None:
        """JSR(Pair,1,41,PairOut): SBR(PairIn) takes 41, ADD makes it 42, RET(PairIn) gives it back."""
        self.tags["GoodCall"].value = True
        scans(self.clock, 1)
        self.assertEqual((self.logic.mode, self.tags["PairOut"].value), (Mode.RUN, 42))
