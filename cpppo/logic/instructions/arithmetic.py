"""Math instructions: ADD SUB MUL DIV MOD NEG ABS SQR (RM003 chapter 6; notes 4.5).

Output instructions: on a false rung they write nothing.  The result is computed exactly (Python
integers, or floats when an operand is REAL) and stored as the destination's type stores it: an
integer that does not fit wraps (SINT 127 + 1 is -128) and sets S:V, whose clear-to-set edge is a
minor fault type 4 code 4; S:Z and S:N follow the stored value; S:C is the carry (ADD) or borrow
(SUB) out of an integer destination.  A zero divisor in DIV or MOD is an overflow too, and the
destination gets -1 when every operand is an integer, else infinity (NaN for 0/0) [the result
values are an assumption: notes 4.5 mark them unverified].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from cpppo.enip.codec.types import CIPType
from cpppo.logic.access import converter
from cpppo.logic.evaluate import divide, modulo
from cpppo.logic.instructions.base import Builder, Context, Step, is_integer, operands, source, target
from cpppo.logic.neutral import Instruction

__all__ = ["BUILDERS", "result"]


def result(ctx: Context, node: Any) -> Callable[[Any], Any]:
    """A store into *node* that sets S:V (on a value that does not fit), S:Z and S:N; returns what it stored."""
    dest = target(ctx, node)
    convert, put, status = converter(dest.kind), dest.set, ctx.status
    assert put is not None
    integer = is_integer(dest.kind) and getattr(dest.kind, "fmt", "") != "?"
    low, high = (dest.kind.lo, dest.kind.hi) if integer and isinstance(dest.kind, CIPType) else (1, 0)
    assert low is not None and high is not None

    def fits(value: Any) -> Any:
        """The usual case, an integer that fits: stored as it is."""
        if type(value) is int and low <= value <= high:
            put(value)
            status.z = value == 0
            status.n = value < 0
            return value
        return store(value)

    def store(value: Any) -> Any:
        stored = convert(value)
        wrapped = integer and stored != value and not (isinstance(value, float) and stored == round(value))
        if wrapped or (not integer and isinstance(stored, float) and math.isinf(stored) and not math.isinf(value)):
            status.overflow()
        put(stored)
        status.z = stored == 0
        status.n = stored < 0
        return stored
    return fits if integer else store


def _binary(op: Callable[[Any, Any], Any], carry: str = "") -> Builder:
    def build(ctx: Context, ins: Instruction) -> Step:
        a_node, b_node, dest = operands(ins, 3)
        a, b, store = source(ctx, a_node), source(ctx, b_node), result(ctx, dest)
        status = ctx.status
        bits = (ctx.binder.value(dest).kind.size or 4) * 8
        mask = (1 << bits) - 1

        def run(rc: bool) -> bool:
            if rc:
                x, y = a(), b()
                store(op(x, y))
                if carry and type(x) is int and type(y) is int:
                    ux, uy = x & mask, y & mask
                    status.c = (ux + uy > mask) if carry == "add" else ux < uy
            return rc
        return Step(run)
    return build


def _divide(op: Callable[[Any, Any], Any]) -> Builder:
    def build(ctx: Context, ins: Instruction) -> Step:
        a_node, b_node, dest = operands(ins, 3)
        a, b, store = source(ctx, a_node), source(ctx, b_node), result(ctx, dest)
        status = ctx.status
        dest_integer = is_integer(ctx.binder.value(dest).kind)

        def run(rc: bool) -> bool:
            if rc:
                x, y = a(), b()
                integers = type(x) is int and type(y) is int and dest_integer
                if y == 0:
                    status.overflow()
                    store(-1 if integers else (math.nan if x == 0 else math.copysign(math.inf, x)))
                else:
                    store(op(x, y) if integers or not dest_integer else op(float(x), float(y)))
            return rc
        return Step(run)
    return build


def _unary(op: Callable[[Any], Any]) -> Builder:
    def build(ctx: Context, ins: Instruction) -> Step:
        src_node, dest = operands(ins, 2)
        src, store = source(ctx, src_node), result(ctx, dest)

        def run(rc: bool) -> bool:
            if rc:
                store(op(src()))
            return rc
        return Step(run)
    return build


def _sqr(value: Any) -> Any:
    root = math.sqrt(abs(value))
    # An integer source into an integer destination truncates; a REAL rounds (on store).
    return math.trunc(root) if type(value) is int else root


BUILDERS: Mapping[str, Builder] = MappingProxyType({
    "ADD": _binary(lambda x, y: x + y, "add"), "SUB": _binary(lambda x, y: x - y, "sub"),
    "MUL": _binary(lambda x, y: x * y), "DIV": _divide(divide), "MOD": _divide(modulo),
    "NEG": _unary(lambda x: -x), "ABS": _unary(abs), "SQR": _unary(_sqr)})
