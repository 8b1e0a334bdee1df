"""Compare instructions: EQU NEQ LES LEQ GRT GEQ LIM MEQ (RM003 chapter 4; notes 4.4).

Input instructions: the rung condition out is the rung condition in AND the comparison, and the
math flags are not touched.  Mixed integer and REAL operands compare as numbers (Python's
comparison of an int with a float is exact, as Logix's promotion to REAL is for DINT values that
fit a float's mantissa).  LIM with Low > High is the circular test (outside the band).  Two
STRINGs compare by their characters (:mod:`.strings`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from cpppo.logic.instructions import strings
from cpppo.logic.instructions.base import Builder, Context, Step, operands, source
from cpppo.logic.neutral import Instruction

__all__ = ["BUILDERS"]


def _compare(test: Callable[[Any, Any], bool]) -> Builder:
    def build(ctx: Context, ins: Instruction) -> Step:
        nodes = operands(ins, 2)
        if strings.is_text(ctx, nodes[0]) and strings.is_text(ctx, nodes[1]):
            return strings.compare(ctx, ins, test)
        a, b = (source(ctx, n) for n in nodes)
        return Step(lambda rc: rc and test(a(), b()))
    return build


def lim(ctx: Context, ins: Instruction) -> Step:
    low, test, high = (source(ctx, n) for n in operands(ins, 3))

    def run(rc: bool) -> bool:
        if not rc:
            return False
        lo, value, hi = low(), test(), high()
        if lo <= hi:
            return lo <= value <= hi
        return value >= lo or value <= hi
    return Step(run)


def meq(ctx: Context, ins: Instruction) -> Step:
    src, mask, compare = (source(ctx, n) for n in operands(ins, 3))

    def run(rc: bool) -> bool:
        if not rc:
            return False
        m = int(mask())
        return int(src()) & m == int(compare()) & m
    return Step(run)


BUILDERS: Mapping[str, Builder] = MappingProxyType({
    "EQU": _compare(operator.eq), "NEQ": _compare(operator.ne), "LES": _compare(operator.lt),
    "LEQ": _compare(operator.le), "GRT": _compare(operator.gt), "GEQ": _compare(operator.ge),
    "LIM": lim, "MEQ": meq})
