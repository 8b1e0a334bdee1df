"""A rung's neutral text as a tree: series, nested branches, operands (cpppo.logic.neutral, .expression).

The texts are Studio 5000's own formatting (logix-logic-notes section 2 and section 6: rungs
copied from pycomm3's test export), plus the forms the notes list as tolerated (nested
branches, empty legs, radix literals, bits and indirect subscripts).
"""

from __future__ import annotations

from twisted.trial import unittest

from cpppo.logic.expression import BinaryOp, Index, Literal, MemberName, Placeholder, TagRef, parse_operand
from cpppo.logic.neutral import Branch, Instruction, parse_rung


class TestRungText(unittest.TestCase):
    def test_series_and_branch(self) -> None:
        rung = parse_rung("XIC(a)[XIO(b) ,GRT(c,5) ]OTE(d);")
        self.assertEqual([type(e) for e in rung], [Instruction, Branch, Instruction])
        branch = rung[1]
        assert isinstance(branch, Branch)
        self.assertEqual([[str(i) for i in leg] for leg in branch.legs], [["XIO(b)"], ["GRT(c,5)"]])
        self.assertEqual(rung[0].operands, (TagRef("a"),))  # type: ignore[union-attr]

    def test_pycomm3_loop_rung(self) -> None:
        """Notes section 6 row 8: a three-leg branch with spaces inside legs and a backward JMP."""
        text = ("LBL(lbl_bool_ary1)[LIM(0,_bool_ary1_idx,63) OTU(read_bool_ary1[_bool_ary1_idx]) ,"
                "LIM(64,_bool_ary1_idx,95) OTL(read_bool_ary1[_bool_ary1_idx]) ,LES(_bool_ary1_idx,95) "
                "ADD(_bool_ary1_idx,1,_bool_ary1_idx) JMP(lbl_bool_ary1) ];")
        rung = parse_rung(text)
        branch = rung[1]
        assert isinstance(branch, Branch)
        self.assertEqual([len(leg) for leg in branch.legs], [2, 2, 3])
        otu = branch.legs[0][1]
        assert isinstance(otu, Instruction)
        self.assertEqual(otu.operands[0], TagRef("read_bool_ary1", (Index((TagRef("_bool_ary1_idx"),)),)))

    def test_nested_and_empty_legs(self) -> None:
        rung = parse_rung("[XIC(a) [XIC(b) ,] ,]OTE(c);")
        outer = rung[0]
        assert isinstance(outer, Branch)
        self.assertEqual(len(outer.legs), 2)
        self.assertEqual(outer.legs[1], ())
        inner = outer.legs[0][1]
        assert isinstance(inner, Branch)
        self.assertEqual(inner.legs[1], ())

    def test_empty_rung_and_zero_operand_instructions(self) -> None:
        self.assertEqual(parse_rung(";"), ())
        self.assertEqual([str(e) for e in parse_rung("AFI()NOP()RET();")], ["AFI()", "NOP()", "RET()"])

    def test_branches_nested_too_deep_idle_the_routine(self) -> None:
        """A rung nested past Python's recursion is one problem for its routine, not a crash at load."""
        from twisted.internet.task import Clock

        from cpppo.enip.simulator.controller.plc import Controller
        from cpppo.logic.compiler import compile_program
        from cpppo.logic.instructions.base import Now
        from cpppo.logic.program import ProgramSource, RoutineSource, RungSource
        from cpppo.logic.program_status import Status

        controller = Controller(Clock())
        controller.add_tag("a", "BOOL")
        deep = "[" * 5000 + "XIC(a)" + " ]" * 5000 + ";"
        source = ProgramSource("P", "Main", (RoutineSource("Main", "RLL", (RungSource(0, deep),
                                                                          RungSource(1, "XIC(a)OTE(a);"))),))
        program = compile_program(source, controller.tags, Status(), Now())
        self.assertEqual([str(p) for p in program.problems],
                         ["program P routine Main rung 0: branches nested too deep"])

    def test_bad_text_is_one_error(self) -> None:
        for text in ("XIC(a)", "XIC(a", "[XIC(a) ;", "XIC(a);junk", "42(a);"):
            with self.assertRaises(ValueError, msg=text):
                parse_rung(text)


class TestOperands(unittest.TestCase):
    def test_literals(self) -> None:
        """Notes 2.1: decimal, 3-digit exponents, radix forms with underscores, the DINT minimum."""
        for text, value in (("0", 0), ("-2147483648", -2147483648), ("1000.009", 1000.009),
                            ("3.40282306e+038", 3.40282306e38), ("16#FF_00", 0xFF00), ("2#1010", 10), ("8#17", 15)):
            self.assertEqual(parse_operand(text), Literal(value), text)

    def test_tag_paths(self) -> None:
        self.assertEqual(parse_operand("T1.DN"), TagRef("T1", (MemberName("DN"),)))
        self.assertEqual(parse_operand("dint.5"), TagRef("dint", (MemberName("5"),)))
        self.assertEqual(parse_operand("SimpleArray[4].0"),
                         TagRef("SimpleArray", (Index((Literal(4),)), MemberName("0"))))
        self.assertEqual(parse_operand("a[0,1,2].x"),
                         TagRef("a", (Index((Literal(0), Literal(1), Literal(2))), MemberName("x"))))
        self.assertEqual(parse_operand("S:FS"), TagRef("S:FS"))
        self.assertEqual(parse_operand("Local:1:I.Data"), TagRef("Local:1:I", (MemberName("Data"),)))
        self.assertEqual(parse_operand("?"), Placeholder())

    def test_expressions_and_precedence(self) -> None:
        self.assertEqual(parse_operand("_ctl.POS*10"),
                         BinaryOp("*", TagRef("_ctl", (MemberName("POS"),)), Literal(10)))
        self.assertEqual(parse_operand("1+2*3"), BinaryOp("+", Literal(1), BinaryOp("*", Literal(2), Literal(3))))
        self.assertEqual(parse_operand("a[i+1]"),
                         TagRef("a", (Index((BinaryOp("+", TagRef("i"), Literal(1)),)),)))
        with self.assertRaises(ValueError):
            parse_operand("a[0,1,2,3]")
