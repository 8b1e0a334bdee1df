"""String instructions: CONCAT MID FIND DELETE INSERT, and the STRING forms of MOV, EQU, NEQ, LES,
LEQ, GRT, GEQ (RM003 chapter 14; notes 4.6).

A string is a STRING-family structure (LEN, then DATA: SINT[82] for STRING, or a user's
``STRING20``), read and written in its tag's bytes.  Start positions are 1-based; FIND gives
the 1-based position or 0.  A result longer than the destination's DATA is cut to fit and sets
S:V (a minor fault 4/4).  A Start or Quantity outside the source is major fault type 4 code 56
[assumption: the notes mark the code unverified]; compares are of the characters, byte by
byte (Logix compares ASCII codes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from cpppo.enip.simulator.controller.structures import is_string
from cpppo.logic.access import StructRef, UnknownTag
from cpppo.logic.expression import Node, TagRef
from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported, source, storer, target
from cpppo.logic.neutral import Instruction
from cpppo.logic.program_status import FaultType, MajorFault, ProgramFault

__all__ = ["BUILDERS", "text", "is_text"]


def is_text(ctx: Context, node: Node | None) -> bool:
    """Whether *node* names a STRING-family structure (so MOV and the compares take it as text)."""
    if not isinstance(node, TagRef):
        return False
    try:
        return is_string(ctx.binder.structure(node).structure)
    except UnknownTag:
        return False


def _ref(ctx: Context, node: Node | None) -> StructRef:
    ref = ctx.binder.structure(node) if node is not None else None
    if ref is None or not is_string(ref.structure):
        raise Unsupported(f"{node}: a STRING tag expected")
    return ref


def text(ctx: Context, node: Node | None) -> Callable[[], bytes]:
    """The characters of a string operand, read each time."""
    ref = _ref(ctx, node)
    raw, offset = ref.raw, ref.offset
    length_at, data = ref.structure.by_name["LEN"].offset, ref.structure.by_name["DATA"]

    def get() -> bytes:
        at = offset()
        count = int.from_bytes(raw[at + length_at:at + length_at + 4], "little", signed=True)
        count = max(0, min(count, data.count))
        return bytes(raw[at + data.offset:at + data.offset + count])
    return get


def writer(ctx: Context, node: Node | None) -> Callable[[bytes], None]:
    """Store characters into a string operand: LEN and DATA (the rest zeroed); too long: cut, S:V."""
    ref = _ref(ctx, node)
    raw, offset, status = ref.raw, ref.offset, ctx.status
    length_at, data = ref.structure.by_name["LEN"].offset, ref.structure.by_name["DATA"]

    def put(value: bytes) -> None:
        if len(value) > data.count:
            value = value[:data.count]
            status.overflow()
        at = offset()
        raw[at + length_at:at + length_at + 4] = len(value).to_bytes(4, "little", signed=True)
        raw[at + data.offset:at + data.offset + data.count] = value.ljust(data.count, b"\0")
    return put


def _range(ins: Instruction, start: int, quantity: int, size: int) -> None:
    if start < 1 or quantity < 0 or start - 1 + quantity > size:
        raise MajorFault(FaultType.PROGRAM, ProgramFault.STRING_RANGE,
                         f"{ins}: start {start}, quantity {quantity} of {size}")


def concat(ctx: Context, ins: Instruction) -> Step:
    if len(ins.operands) != 3:
        raise Unsupported(f"{ins}: CONCAT(A,B,Dest)")
    a, b, put = text(ctx, ins.operands[0]), text(ctx, ins.operands[1]), writer(ctx, ins.operands[2])

    def run(rc: bool) -> bool:
        if rc:
            put(a() + b())
        return rc
    return Step(run)


def _numbers(ctx: Context, ins: Instruction, *at: int) -> list[Callable[[], object]]:
    nodes = [ins.operands[i] for i in at]
    if any(n is None for n in nodes):
        raise Unsupported(f"{ins}: numbers expected")
    return [source(ctx, n) for n in nodes if n is not None]


def _cut(keep: bool) -> Builder:
    """MID (*keep*: Qty characters from Start) or DELETE (the rest): (Source,Qty,Start,Dest)."""
    def build(ctx: Context, ins: Instruction) -> Step:
        if len(ins.operands) != 4:
            raise Unsupported(f"{ins}: {ins.mnemonic}(Source,Qty,Start,Dest)")
        src, put = text(ctx, ins.operands[0]), writer(ctx, ins.operands[3])
        qty, start = _numbers(ctx, ins, 1, 2)

        def run(rc: bool) -> bool:
            if rc:
                value, q, s = src(), int(qty()), int(start())  # type: ignore[call-overload]
                _range(ins, s, q, len(value))
                put(value[s - 1:s - 1 + q] if keep else value[:s - 1] + value[s - 1 + q:])
            return rc
        return Step(run)
    return build


def find(ctx: Context, ins: Instruction) -> Step:
    if len(ins.operands) != 4 or ins.operands[3] is None:
        raise Unsupported(f"{ins}: FIND(Source,Search,Start,Result)")
    src, search = text(ctx, ins.operands[0]), text(ctx, ins.operands[1])
    (start,) = _numbers(ctx, ins, 2)
    store = storer(target(ctx, ins.operands[3]))

    def run(rc: bool) -> bool:
        if rc:
            value, s = src(), int(start())  # type: ignore[call-overload]
            _range(ins, s, 0, len(value))
            store(value.find(search(), s - 1) + 1)
        return rc
    return Step(run)


def insert(ctx: Context, ins: Instruction) -> Step:
    if len(ins.operands) != 4:
        raise Unsupported(f"{ins}: INSERT(A,B,Start,Dest)")
    a, b, put = text(ctx, ins.operands[0]), text(ctx, ins.operands[1]), writer(ctx, ins.operands[3])
    (start,) = _numbers(ctx, ins, 2)

    def run(rc: bool) -> bool:
        if rc:
            value, s = a(), int(start())  # type: ignore[call-overload]
            _range(ins, s, 0, len(value) + 1)
            put(value[:s - 1] + b() + value[s - 1:])
        return rc
    return Step(run)


def move(ctx: Context, ins: Instruction) -> Step:
    """MOV of a STRING into a STRING: the characters (cut to fit the destination, S:V)."""
    src, put = text(ctx, ins.operands[0]), writer(ctx, ins.operands[1])

    def run(rc: bool) -> bool:
        if rc:
            put(src())
        return rc
    return Step(run)


def compare(ctx: Context, ins: Instruction, test: Callable[[bytes, bytes], bool]) -> Step:
    """EQU, NEQ, LES, LEQ, GRT, GEQ of two STRINGs: their characters, as ASCII codes."""
    a, b = text(ctx, ins.operands[0]), text(ctx, ins.operands[1])
    return Step(lambda rc: rc and test(a(), b()))


BUILDERS: Mapping[str, Builder] = MappingProxyType({
    "CONCAT": concat, "MID": _cut(True), "FIND": find, "DELETE": _cut(False), "INSERT": insert})
