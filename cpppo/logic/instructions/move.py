"""Move and copy instructions: MOV MVM CLR SWPB COP CPS FLL (RM003 chapters 5 and 8; notes 4.5, 4.6).

MOV converts (a REAL into an integer rounds half to even; a value too wide for the destination
wraps and sets S:V) and sets S:Z and S:N.  COP and CPS copy bytes, no conversion: Length counts
*destination* elements, and the copy stops at the end of the destination's tag (a structure
tag) or array (an atomic one), with no fault; CPS differs only in not being interruptible, which
a scan on the reactor thread never is.  FLL writes the source, converted, into Length
destination elements, with the same end rule.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cpppo.enip.simulator.controller.structures import Structure
from cpppo.logic.access import converter
from cpppo.logic.instructions import strings
from cpppo.logic.instructions.arithmetic import result
from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported, operands, source, target, word
from cpppo.logic.neutral import Instruction

__all__ = ["BUILDERS"]


def mov(ctx: Context, ins: Instruction) -> Step:
    src_node, dest = operands(ins, 2)
    if strings.is_text(ctx, dest) and strings.is_text(ctx, src_node):
        return strings.move(ctx, ins)
    src, store = source(ctx, src_node), result(ctx, dest)

    def run(rc: bool) -> bool:
        if rc:
            store(src())
        return rc
    return Step(run)


def mvm(ctx: Context, ins: Instruction) -> Step:
    src_node, mask_node, dest_node = operands(ins, 3)
    src, mask, dest = source(ctx, src_node), source(ctx, mask_node), target(ctx, dest_node)
    store, old = result(ctx, dest_node), dest.get

    def run(rc: bool) -> bool:
        if rc:
            m = int(mask())
            store((int(old()) & ~m) | (int(src()) & m))
        return rc
    return Step(run)


def clr(ctx: Context, ins: Instruction) -> Step:
    (dest,) = operands(ins, 1)
    store = result(ctx, dest)

    def run(rc: bool) -> bool:
        if rc:
            store(0)
        return rc
    return Step(run)


_SWAPS = {  # the byte order each SWPB order code makes of a DINT's bytes A B C D (A most significant)
    "REVERSE": (3, 2, 1, 0), "WORD": (2, 3, 0, 1), "HIGH/LOW": (1, 0, 3, 2), "HIGHLOW": (1, 0, 3, 2)}


def swpb(ctx: Context, ins: Instruction) -> Step:
    if len(ins.texts) != 3:
        raise Unsupported(f"{ins}: 3 operands expected")
    src_node, dest_node = ins.operands[0], ins.operands[2]
    if src_node is None or dest_node is None:
        raise Unsupported(f"{ins}: operands not understood")
    order = ins.texts[1].strip().upper()
    if order not in _SWAPS:
        word(ins.operands[1] or src_node)  # (an Unsupported naming it, unless a keyword)
        raise Unsupported(f"{ins}: order {order!r} (REVERSE, WORD or HIGH/LOW)")
    src, store = source(ctx, src_node), result(ctx, dest_node)
    size = target(ctx, dest_node).kind.size or 4
    picks = _SWAPS[order]

    def run(rc: bool) -> bool:
        if rc:
            value = int(src())
            if size == 2:  # an INT: its two bytes swapped, whatever the order
                raw = (value & 0xFFFF).to_bytes(2, "big")
                store(int.from_bytes(raw[::-1], "big", signed=True))
            else:
                raw = (value & 0xFFFFFFFF).to_bytes(4, "big")
                store(int.from_bytes(bytes(raw[i] for i in picks), "big", signed=True))
        return rc
    return Step(run)


def _copy(ctx: Context, ins: Instruction) -> Step:
    src_node, dest_node, length_node = operands(ins, 3)
    src, dest = ctx.binder.value(src_node), ctx.binder.value(dest_node)
    if src.region is None or dest.region is None:
        raise Unsupported(f"{ins}: COP/CPS copy between tags")
    length = source(ctx, length_node)
    size = dest.kind.size or 1
    reader, writer = src.region, dest.region
    if writer.listed_like(reader):  # (the same bytes either way: whole elements of one type)
        def elements(rc: bool) -> bool:
            if rc:
                writer.copy_from(reader, int(length()))
            return rc
        return Step(elements)

    def run(rc: bool) -> bool:
        if rc:
            count = int(length())
            if count > 0:
                writer.write(reader.read(count * size))
        return rc
    return Step(run)


def fll(ctx: Context, ins: Instruction) -> Step:
    src_node, dest_node, length_node = operands(ins, 3)
    src, dest, length = source(ctx, src_node), ctx.binder.value(dest_node), source(ctx, length_node)
    if dest.region is None or isinstance(dest.kind, Structure):
        raise Unsupported(f"{ins}: FLL fills an array of numbers")
    convert, region = converter(dest.kind), dest.region
    one = struct.Struct("<" + (dest.kind.fmt if dest.kind.fmt != "?" else "B"))

    def run(rc: bool) -> bool:
        if rc:
            count = min(int(length()), region.elements())
            if count > 0:
                value: Any = convert(src())
                region.write(one.pack(value) * count)
        return rc
    return Step(run)


BUILDERS: Mapping[str, Builder] = MappingProxyType({
    "MOV": mov, "MVM": mvm, "CLR": clr, "SWPB": swpb, "COP": _copy, "CPS": _copy, "FLL": fll})
