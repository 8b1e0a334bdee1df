"""Bit and one-shot instructions: XIC XIO OTE OTL OTU ONS OSR OSF (RM003 chapter 2; notes 4.1).

OTE writes on a false rung too (it clears), OTL/OTU only on a true one; ONS passes one true scan
per false-to-true edge of its rung, OSR/OSF pulse an output bit on the rising/falling edge.
Prescan: OTE clears, ONS and OSR set their storage bit (no pulse on the first scan), OSF clears it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported, operands
from cpppo.logic.neutral import Instruction

__all__ = ["BUILDERS"]


def _bit(ctx: Context, ins: Instruction) -> tuple:
    (node,) = operands(ins, 1)
    value = ctx.binder.value(node)
    return value.get, value.set


def _place(ctx: Context, ins: Instruction) -> tuple[Any, int, int] | None:
    """Where a bit at a fixed place is (word list or bytes, index, mask): tested and set inline."""
    (node,) = operands(ins, 1)
    return ctx.binder.value(node).bit


def xic(ctx: Context, ins: Instruction) -> Step:
    place = _place(ctx, ins)
    if place is not None:
        words, at, mask = place
        return Step(lambda rc: rc and words[at] & mask != 0)
    get, _ = _bit(ctx, ins)
    return Step(lambda rc: rc and bool(get()))


def xio(ctx: Context, ins: Instruction) -> Step:
    place = _place(ctx, ins)
    if place is not None:
        words, at, mask = place
        return Step(lambda rc: rc and words[at] & mask == 0)
    get, _ = _bit(ctx, ins)
    return Step(lambda rc: rc and not get())


def _writable(ctx: Context, ins: Instruction) -> tuple:
    get, put = _bit(ctx, ins)
    if put is None:
        raise Unsupported(f"{ins}: its operand cannot be written")
    return get, put


def ote(ctx: Context, ins: Instruction) -> Step:
    _, put = _writable(ctx, ins)
    place = _place(ctx, ins)
    if place is not None:
        words, at, mask = place

        def inline(rc: bool) -> bool:
            if rc:
                words[at] |= mask
            else:
                words[at] &= ~mask
            return rc
        return Step(inline, lambda: put(False))

    def run(rc: bool) -> bool:
        put(rc)
        return rc
    return Step(run, lambda: put(False))


def _latch(value: bool) -> Builder:
    """OTL (*value* true) or OTU: the bit is written on a true rung only."""
    def build(ctx: Context, ins: Instruction) -> Step:
        _, put = _writable(ctx, ins)

        def run(rc: bool) -> bool:
            if rc:
                put(value)
            return rc
        return Step(run)
    return build


def ons(ctx: Context, ins: Instruction) -> Step:
    get, put = _writable(ctx, ins)

    def run(rc: bool) -> bool:
        if not rc:
            put(False)
            return False
        if get():
            return False
        put(True)
        return True
    return Step(run, lambda: put(True))


def _two(ctx: Context, ins: Instruction) -> tuple:
    storage, output = operands(ins, 2)
    a, b = ctx.binder.value(storage), ctx.binder.value(output)
    if a.set is None or b.set is None:
        raise Unsupported(f"{ins}: its operands must be bits to write")
    return a.get, a.set, b.set


def osr(ctx: Context, ins: Instruction) -> Step:
    stored, store, output = _two(ctx, ins)

    def run(rc: bool) -> bool:
        if rc:
            if stored():
                output(False)
            else:
                output(True)
                store(True)
        else:
            store(False)
            output(False)
        return rc

    def prescan() -> None:
        store(True)
        output(False)
    return Step(run, prescan)


def osf(ctx: Context, ins: Instruction) -> Step:
    stored, store, output = _two(ctx, ins)

    def run(rc: bool) -> bool:
        if rc:
            store(True)
            output(False)
        elif stored():
            output(True)
            store(False)
        else:
            output(False)
        return rc

    def prescan() -> None:
        store(False)
        output(False)
    return Step(run, prescan)


BUILDERS: Mapping[str, Builder] = MappingProxyType({
    "XIC": xic, "XIO": xio, "OTE": ote, "OTL": _latch(True), "OTU": _latch(False), "ONS": ons, "OSR": osr, "OSF": osf})
