"""Program control: JSR (without parameters) RET NOP AFI (RM003 chapter 7; notes 4.7).

JSR calls another routine of the same program when its rung is true (its prescan follows the
routine: a subroutine's outputs are prescanned too); RET on a true rung ends the running
routine at once (the rest of its rungs do not run this scan); AFI is always false (it disables
a rung); NOP passes the rung condition.  The routine runner (:mod:`cpppo.logic.compiler`)
catches :class:`Return`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported, passes, word
from cpppo.logic.neutral import Instruction

__all__ = ["BUILDERS", "Return"]


class Return(Exception):
    """RET on a true rung: the routine running ends now."""


_RETURN = Return()


def jsr(ctx: Context, ins: Instruction) -> Step:
    if not ins.operands or ins.operands[0] is None:
        raise Unsupported(f"{ins}: a routine name expected")
    if len(ins.texts) > 2 or (len(ins.texts) == 2 and ins.texts[1].strip() not in ("0", "")):
        raise Unsupported(f"{ins}: JSR with parameters")
    name = word(ins.operands[0])
    call, prescan = ctx.routine(name), ctx.routine_prescan(name)

    def run(rc: bool) -> bool:
        if rc:
            call()
        return rc
    return Step(run, prescan)


def ret(ctx: Context, ins: Instruction) -> Step:
    if ins.texts:
        raise Unsupported(f"{ins}: RET with return values")

    def run(rc: bool) -> bool:
        if rc:
            raise _RETURN
        return rc
    return Step(run)


def nop(ctx: Context, ins: Instruction) -> Step:
    return Step(passes)


def afi(ctx: Context, ins: Instruction) -> Step:
    return Step(lambda rc: False)


BUILDERS: Mapping[str, Builder] = MappingProxyType({"JSR": jsr, "RET": ret, "NOP": nop, "AFI": afi})
