"""File (array) instructions: FAL and FSC in ALL mode, and BTD (RM003 chapters 9 and 11; notes 4.5, 4.6).

FAL and FSC run on a CONTROL (status bits EN DN ER IN FD, LEN, POS): on the scan their rung goes
true (EN rising) they step POS over every element in that one scan (mode ALL), evaluating
their expression with POS set, so ``Dest[ctl.POS]`` and ``Src[ctl.POS]*2`` address each element
in turn through the same compiled subscripts as any rung.  FAL stores each result into Dest and
ends with DN set and POS on the last element (as pycomm3's export shows a finished FAL: LEN 25,
POS 24, EN and DN); FSC stops at the first element whose expression is true with FD and IN set
and POS there (clearing IN resumes the search after it), else ends with DN.  A false rung
clears EN, DN, ER, IN, FD and POS.  A negative LEN or POS is major fault 4/21; a subscript
beyond an array, 4/20.  INC and numeric modes are not supported (the routine stays idle).

BTD copies Length bits of Source from SourceBit into Dest at DestBit; Dest's other bits stay.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from cpppo.enip.simulator.controller.structures import CONTROL
from cpppo.logic.access import converter
from cpppo.logic.expression import Literal, Placeholder
from cpppo.logic.instructions.arithmetic import result
from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported, source, target
from cpppo.logic.neutral import Instruction
from cpppo.logic.program_status import FaultType, MajorFault, ProgramFault

__all__ = ["BUILDERS"]

_WORDS = struct.Struct("<Iii")  # status bits, LEN, POS
EN, DN, ER, IN, FD = 1 << 31, 1 << 29, 1 << 27, 1 << 25, 1 << 24
_RESET = EN | DN | ER | IN | FD


def _control(ctx: Context, ins: Instruction, count: int) -> tuple[bytearray, Callable[[], int], int | None]:
    """The CONTROL's bytes and offset, and a LEN given in the rung (None: ``?``, the tag's)."""
    if len(ins.operands) != count or ins.operands[0] is None:
        raise Unsupported(f"{ins}: {count} operands expected")
    ref = ctx.binder.structure(ins.operands[0], CONTROL)
    mode = ins.texts[3].strip().upper()  # ALL, INC, or a number of elements a scan
    if mode != "ALL":
        raise Unsupported(f"{ins}: mode {mode} (only ALL is supported)")
    length = ins.operands[1]
    if isinstance(length, Literal):
        return ref.raw, ref.offset, int(length.value)
    if not isinstance(length, Placeholder):
        raise Unsupported(f"{ins}: length {ins.texts[1]!r}")
    return ref.raw, ref.offset, None


def _start(raw: bytearray, at: int, fixed: int | None) -> tuple[int, int, int]:
    ctl, length, pos = _WORDS.unpack_from(raw, at)
    if fixed is not None:
        length = fixed
    if length < 0 or pos < 0:
        raise MajorFault(FaultType.PROGRAM, ProgramFault.CONTROL_RANGE, f"CONTROL LEN {length} POS {pos}")
    return ctl, length, pos


def _reset(raw: bytearray, at: int, fixed: int | None) -> None:
    ctl, length, pos = _WORDS.unpack_from(raw, at)
    if ctl & _RESET or pos:
        _WORDS.pack_into(raw, at, ctl & ~_RESET, length if fixed is None else fixed, 0)


def _file(raw: bytearray, offset: Callable[[], int], fixed: int | None,
          body: Callable[[int, int, int, int], bool]) -> Step:
    """FAL's or FSC's step: a false rung resets the CONTROL; a true one runs *body(at, ctl, LEN, POS)*."""
    def run(rc: bool) -> bool:
        at = offset()
        if not rc:
            _reset(raw, at, fixed)
            return False
        ctl, length, pos = _start(raw, at, fixed)
        return body(at, ctl, length, pos)
    return Step(run, lambda: _reset(raw, offset(), fixed))


def fal(ctx: Context, ins: Instruction) -> Step:
    raw, offset, fixed = _control(ctx, ins, 6)
    if ins.operands[4] is None or ins.operands[5] is None:
        raise Unsupported(f"{ins}: destination and expression")
    store, compute = result(ctx, ins.operands[4]), ctx.binder.number(ins.operands[5])
    pack = _WORDS.pack_into

    def every(at: int, ctl: int, length: int, _: int) -> bool:
        if ctl & EN:
            return True
        ctl |= EN
        for pos in range(length):
            pack(raw, at, ctl, length, pos)
            store(compute())
        pack(raw, at, ctl | DN, length, max(length - 1, 0))
        return True
    return _file(raw, offset, fixed, every)


def fsc(ctx: Context, ins: Instruction) -> Step:
    raw, offset, fixed = _control(ctx, ins, 5)
    if ins.operands[4] is None:
        raise Unsupported(f"{ins}: expression {ins.texts[4]!r} not understood")
    compute = ctx.binder.number(ins.operands[4])
    pack = _WORDS.pack_into

    def search(at: int, ctl: int, length: int, pos: int) -> bool:
        if ctl & EN and ctl & (DN | IN):
            return True  # done, or found and waiting for the program to clear IN
        first = pos + 1 if ctl & EN else 0
        ctl = (ctl | EN) & ~FD
        for pos in range(first, length):
            pack(raw, at, ctl, length, pos)
            if compute():
                pack(raw, at, ctl | FD | IN, length, pos)
                return True
        pack(raw, at, ctl | DN, length, max(length - 1, 0))
        return True
    return _file(raw, offset, fixed, search)


def btd(ctx: Context, ins: Instruction) -> Step:
    nodes = ins.operands
    if len(nodes) != 5 or any(n is None for n in nodes):
        raise Unsupported(f"{ins}: BTD(Source,SourceBit,Dest,DestBit,Length)")
    src = source(ctx, nodes[0])  # type: ignore[arg-type]
    numbers: list[int] = []
    for node in (nodes[1], nodes[3], nodes[4]):
        if not isinstance(node, Literal):
            raise Unsupported(f"{ins}: bit numbers and length are constants")
        numbers.append(int(node.value))
    source_bit, dest_bit, length = numbers
    dest = target(ctx, nodes[2])  # type: ignore[arg-type]
    convert, get, put = converter(dest.kind), dest.get, dest.set
    assert put is not None
    mask = (1 << length) - 1

    def run(rc: bool) -> bool:
        if rc:
            bits = (int(src()) >> source_bit) & mask
            value: Any = (int(get()) & ~(mask << dest_bit)) | (bits << dest_bit)
            put(convert(value))
        return rc
    return Step(run)


BUILDERS: Mapping[str, Builder] = MappingProxyType({"FAL": fal, "FSC": fsc, "BTD": btd})
