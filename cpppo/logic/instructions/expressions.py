"""Expression instructions: CPT and CMP (RM003 chapter 6 and 4; notes 2.2 and 4.5).

The expression is parsed once (:mod:`cpppo.logic.expression`, Logix precedence: functions,
``**``, unary minus and NOT, ``* / MOD``, ``+ -``, comparisons, AND, XOR, OR) and compiled into
one callable (:mod:`cpppo.logic.evaluate`).  CPT stores the result as any math instruction does
(wrap and S:V, S:Z, S:N); a zero divisor, or a function outside its domain (LN of 0), is the
minor fault 4/4 with S:V, and the destination keeps its value [assumption: RM003's CPT text on
the destination after a divide by zero was not read].  CMP is an input instruction: its rung
condition out is the expression's truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from cpppo.logic.instructions.arithmetic import result
from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported
from cpppo.logic.neutral import Instruction

__all__ = ["BUILDERS"]

_DOMAIN = (ZeroDivisionError, ValueError, OverflowError)


def _expression(ctx: Context, ins: Instruction, at: int) -> Callable[[], Any]:
    node = ins.operands[at] if len(ins.operands) == at + 1 else None
    if node is None:
        raise Unsupported(f"{ins}: expression {ins.texts[at] if len(ins.texts) > at else ''!r} not understood")
    return ctx.binder.number(node)


def cpt(ctx: Context, ins: Instruction) -> Step:
    if len(ins.operands) != 2 or ins.operands[0] is None:
        raise Unsupported(f"{ins}: CPT(destination,expression)")
    compute, store, status = _expression(ctx, ins, 1), result(ctx, ins.operands[0]), ctx.status

    def run(rc: bool) -> bool:
        if rc:
            try:
                value = compute()
            except _DOMAIN:
                status.overflow()
                return rc
            store(value)
        return rc
    return Step(run)


def cmp(ctx: Context, ins: Instruction) -> Step:
    compute, status = _expression(ctx, ins, 0), ctx.status

    def run(rc: bool) -> bool:
        if not rc:
            return False
        try:
            return bool(compute())
        except _DOMAIN:
            status.overflow()
            return False
    return Step(run)


BUILDERS: Mapping[str, Builder] = MappingProxyType({"CPT": cpt, "CMP": cmp})
