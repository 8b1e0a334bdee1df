"""Timers and counters: TON TOF RTO CTU CTD RES (RM003 chapter 3; notes 4.2, 4.3).

A TIMER, COUNTER or CONTROL is held as the controller holds it, a status DINT then two DINTs
(PRE/ACC or LEN/POS) in the tag's bytes, so each instruction unpacks and packs the three words
at the structure's offset: clients reading ``T.ACC`` or the whole TIMER see what the rung wrote.
Time is the scan's time on the controller's clock (``Context.now``, milliseconds), never the
wall clock: a test drives timers with ``twisted.internet.task.Clock``.  ACC counts whole
milliseconds; the fraction is carried to the next scan.  Once done, a TON's or RTO's ACC
stays at PRE [assumption: the RM003 flowchart stops timing at DN].
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from types import MappingProxyType

from cpppo.enip.simulator.controller.structures import CONTROL, COUNTER, TIMER
from cpppo.logic.instructions.base import Builder, Context, Now, Step, Unsupported, operands
from cpppo.logic.neutral import Instruction

__all__ = ["BUILDERS"]

_WORDS = struct.Struct("<Iii")  # status bits, PRE (LEN), ACC (POS)
EN, TT, DN = 1 << 31, 1 << 30, 1 << 29
CU, CD, OV, UN = 1 << 31, 1 << 30, 1 << 28, 1 << 27
DINT_MAX, DINT_MIN = 2**31 - 1, -2**31


def _timer(ctx: Context, ins: Instruction):
    nodes = operands(ins, 3)
    ref = ctx.binder.structure(nodes[0], TIMER)
    # PRE and ACC in the text (``?`` or numbers) are what the editor shows: the tag holds them.
    return ref.raw, ref.offset, ctx.now, [0.0]


def _timed(acc: int, now: Now, last: list[float]) -> int:
    """*acc* advanced by the whole milliseconds since the time in *last* (which moves on by as
    many, so the fraction is carried to the next scan), at most a DINT's largest value."""
    delta = int(now.ms - last[0])
    last[0] += delta
    return min(acc + delta, DINT_MAX)


def _on_delay(retentive: bool) -> Builder:
    """TON (a false rung resets ACC and DN) or RTO (a false rung keeps them: only RES clears)."""
    def build(ctx: Context, ins: Instruction) -> Step:
        raw, offset, now, last = _timer(ctx, ins)
        unpack, pack = _WORDS.unpack_from, _WORDS.pack_into
        cleared = (EN | TT) if retentive else (EN | TT | DN)

        def run(rc: bool) -> bool:
            at = offset()
            ctl, pre, acc = unpack(raw, at)
            if not rc:
                if ctl & cleared or (acc and not retentive):
                    pack(raw, at, ctl & ~cleared, pre, acc if retentive else 0)
                return False
            if ctl & DN:
                if not ctl & EN:
                    pack(raw, at, ctl | EN, pre, acc)
                return True
            if not ctl & EN:  # the first true scan: timing starts from now
                last[0] = now.ms
                ctl |= EN | TT
            else:
                acc = _timed(acc, now, last)
            if acc >= pre:
                ctl = (ctl | DN) & ~TT
                acc = max(pre, 0)
            pack(raw, at, ctl, pre, acc)
            return True

        def prescan() -> None:
            at = offset()
            ctl, pre, acc = unpack(raw, at)
            pack(raw, at, ctl & ~cleared, pre, acc if retentive else 0)
        return Step(run, prescan)
    return build


def tof(ctx: Context, ins: Instruction) -> Step:
    raw, offset, now, last = _timer(ctx, ins)
    unpack, pack = _WORDS.unpack_from, _WORDS.pack_into

    def run(rc: bool) -> bool:
        at = offset()
        ctl, pre, acc = unpack(raw, at)
        if rc:
            pack(raw, at, (ctl | EN | DN) & ~TT, pre, 0)
            return True
        if not ctl & DN:
            if ctl & (EN | TT):
                pack(raw, at, ctl & ~(EN | TT), pre, acc)
            return False
        if ctl & EN:  # the first false scan: timing starts
            last[0] = now.ms
            ctl = (ctl & ~EN) | TT
        else:
            acc = _timed(acc, now, last)
        if acc >= pre:
            ctl &= ~(DN | TT | EN)
            acc = max(pre, 0)
        pack(raw, at, ctl, pre, acc)
        return False

    def prescan() -> None:
        at = offset()
        ctl, pre, _ = unpack(raw, at)
        pack(raw, at, ctl & ~(EN | TT | DN), pre, pre)
    return Step(run, prescan)


def _counter(ctx: Context, ins: Instruction):
    nodes = operands(ins, 3)
    ref = ctx.binder.structure(nodes[0], COUNTER)
    return ref.raw, ref.offset


def _count(up: bool) -> Builder:
    """CTU (*up*) or CTD: one count per false-to-true edge of the rung (CU or CD remembers the rung);
    a wrap past the DINT range sets OV (up) or UN (down), or clears both if it undoes the other's."""
    edge, wrap_from, wrap_to, step = (CU, DINT_MAX, DINT_MIN, 1) if up else (CD, DINT_MIN, DINT_MAX, -1)
    flag, other = (OV, UN) if up else (UN, OV)

    def build(ctx: Context, ins: Instruction) -> Step:
        raw, offset = _counter(ctx, ins)
        unpack, pack = _WORDS.unpack_from, _WORDS.pack_into

        def run(rc: bool) -> bool:
            at = offset()
            ctl, pre, acc = unpack(raw, at)
            if not rc:
                if ctl & edge:
                    pack(raw, at, ctl & ~edge, pre, acc)
                return False
            if not ctl & edge:
                ctl |= edge
                if acc == wrap_from:
                    acc = wrap_to
                    ctl = ctl & ~(UN | OV) if ctl & other else ctl | flag
                else:
                    acc += step
            ctl = ctl | DN if acc >= pre else ctl & ~DN
            pack(raw, at, ctl, pre, acc)
            return True

        def prescan() -> None:  # the edge bit set: no count on the first scan
            at = offset()
            ctl, pre, acc = unpack(raw, at)
            pack(raw, at, ctl | edge, pre, acc)
        return Step(run, prescan)
    return build


def res(ctx: Context, ins: Instruction) -> Step:
    (node,) = operands(ins, 1)
    ref = ctx.binder.structure(node)
    if ref.structure.name not in (TIMER.name, COUNTER.name, CONTROL.name):
        raise Unsupported(f"{ins}: RES of a {ref.structure.name}")
    raw, offset = ref.raw, ref.offset
    unpack, pack = _WORDS.unpack_from, _WORDS.pack_into

    def run(rc: bool) -> bool:
        if rc:
            at = offset()
            _, pre, _ = unpack(raw, at)
            pack(raw, at, 0, pre, 0)  # status bits and ACC (POS) cleared; PRE (LEN) kept
        return rc
    return Step(run)


BUILDERS: Mapping[str, Builder] = MappingProxyType({
    "TON": _on_delay(False), "TOF": tof, "RTO": _on_delay(True), "CTU": _count(True), "CTD": _count(False), "RES": res})
