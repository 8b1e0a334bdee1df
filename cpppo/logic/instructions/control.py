"""Program control: JSR SBR RET (with parameters and values), JMP LBL, MCR, TND, NOP, AFI
(RM003 chapter 7; notes 4.7).

JSR calls a routine of the same program when its rung is true: its input values are handed to
the subroutine's SBR, and the values the subroutine's RET gives back are stored into the JSR's
return tags (a count that does not match is major fault type 4 code 31; a JSR to a routine the
program does not have is the same fault [assumption: Studio 5000 refuses such a project]).  A
JSR's prescan follows the routine.  RET and TND on a true rung end the running routine at once.
JMP on a true rung goes on at the rung holding its LBL (backward too: a loop, bounded by the
task's watchdog); a label the routine does not have is major fault 4/42.  MCR run with a false
rung toggles the program's zone: while it is on, every rung starts false (outputs off, OTL
holds), up to the next MCR.  AFI is always false; NOP passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported, passes, source, storer, target, word
from cpppo.logic.neutral import Instruction
from cpppo.logic.program_status import FaultType, MajorFault, ProgramFault

__all__ = ["BUILDERS", "Return", "Jump", "CallFrame"]


class Return(Exception):
    """RET or TND on a true rung: the routine running ends now."""


class Jump(Exception):
    """JMP on a true rung: the routine goes on at rung *index* (its LBL's)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


@dataclass
class CallFrame:
    """One JSR in progress: the input values it passes, the values its subroutine's RET gives back."""

    inputs: list[Any]
    returns: list[Any] = field(default_factory=list)


def _parameters(ctx: Context, ins: Instruction) -> tuple[str, list[Any], list[Any]]:
    """JSR's routine name, input getters and return stores (``JSR(Sub,0)`` has neither)."""
    if not ins.operands or ins.operands[0] is None:
        raise Unsupported(f"{ins}: a routine name expected")
    name = word(ins.operands[0])
    if len(ins.texts) < 2:
        return name, [], []
    try:
        count = int(ins.texts[1])
    except ValueError:
        raise Unsupported(f"{ins}: the input count {ins.texts[1]!r} is not a number") from None
    rest = ins.operands[2:]
    if count < 0 or count > len(rest) or any(n is None for n in rest):
        raise Unsupported(f"{ins}: {count} inputs of {len(rest)} parameters")
    inputs = [source(ctx, n) for n in rest[:count] if n is not None]
    returns = [storer(target(ctx, n)) for n in rest[count:] if n is not None]
    return name, inputs, returns


def jsr(ctx: Context, ins: Instruction) -> Step:
    name, inputs, returns = _parameters(ctx, ins)
    frames = ctx.frames
    try:
        call, prescan = ctx.routine(name), ctx.routine_prescan(name)
    except Unsupported as missing:
        why = str(missing)

        def fault(rc: bool) -> bool:
            if rc:
                raise MajorFault(FaultType.PROGRAM, ProgramFault.JSR_PARAMETERS, why)
            return rc
        return Step(fault)

    def run(rc: bool) -> bool:
        if rc:
            frame = CallFrame([get() for get in inputs])
            frames.append(frame)
            try:
                call()
            finally:
                frames.pop()
            if returns:
                if len(frame.returns) < len(returns):
                    raise MajorFault(FaultType.PROGRAM, ProgramFault.JSR_PARAMETERS,
                                     f"{ins}: {len(frame.returns)} values returned for {len(returns)}")
                for store, value in zip(returns, frame.returns):
                    store(value)
        return rc
    return Step(run, prescan)


def sbr(ctx: Context, ins: Instruction) -> Step:
    stores = [storer(target(ctx, n)) for n in ins.operands if n is not None]
    if len(stores) != len(ins.texts):
        raise Unsupported(f"{ins}: SBR parameters are tags")
    frames = ctx.frames

    def run(rc: bool) -> bool:
        if frames and rc:
            inputs = frames[-1].inputs
            if len(inputs) != len(stores):
                raise MajorFault(FaultType.PROGRAM, ProgramFault.JSR_PARAMETERS,
                                 f"{ins}: {len(inputs)} inputs for {len(stores)} parameters")
            for store, value in zip(stores, inputs):
                store(value)
        return rc
    return Step(run)


def ret(ctx: Context, ins: Instruction) -> Step:
    getters = [source(ctx, n) for n in ins.operands if n is not None]
    if len(getters) != len(ins.texts):
        raise Unsupported(f"{ins}: RET values not understood")
    frames, done = ctx.frames, Return()  # (one instance per RET, raised each time: no allocation a scan)

    def run(rc: bool) -> bool:
        if rc:
            if getters and frames:
                frames[-1].returns = [get() for get in getters]
            raise done.with_traceback(None)  # (reused: the traceback of its last raise is not kept)
        return rc
    return Step(run)


def tnd(ctx: Context, ins: Instruction) -> Step:
    done = Return()

    def run(rc: bool) -> bool:
        if rc:
            raise done.with_traceback(None)  # (reused: the traceback of its last raise is not kept)
        return rc
    return Step(run)


def _label_name(ins: Instruction) -> str:
    if len(ins.operands) != 1 or ins.operands[0] is None:
        raise Unsupported(f"{ins}: one label expected")
    return word(ins.operands[0])


def jmp(ctx: Context, ins: Instruction) -> Step:
    name = _label_name(ins)
    cell = ctx.label(name)

    def run(rc: bool) -> bool:
        if rc:
            jump = cell[0]
            if jump is None:
                raise MajorFault(FaultType.PROGRAM, ProgramFault.JMP_TARGET, f"JMP({name}): no such label")
            raise jump.with_traceback(None)  # (reused: its old traceback would grow each jump)
        return rc
    return Step(run)


def lbl(ctx: Context, ins: Instruction) -> Step:
    ctx.define_label(_label_name(ins))
    return Step(passes)


def mcr(ctx: Context, ins: Instruction) -> Step:
    if ins.texts:
        raise Unsupported(f"{ins}: MCR takes no operands")
    ctx.flow = True
    status = ctx.status

    def run(rc: bool) -> bool:
        if not rc:
            status.mcr = not status.mcr
        return rc
    return Step(run)


def nop(ctx: Context, ins: Instruction) -> Step:
    return Step(passes)


def afi(ctx: Context, ins: Instruction) -> Step:
    return Step(lambda rc: False)


BUILDERS: Mapping[str, Builder] = MappingProxyType({
    "JSR": jsr, "SBR": sbr, "RET": ret, "TND": tnd, "JMP": jmp, "LBL": lbl, "MCR": mcr, "NOP": nop, "AFI": afi})
