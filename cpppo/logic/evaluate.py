"""Expressions as callables: a subscript (``a[i+1]``), a compare's operand, later a CPT's expression.

Why apart from :mod:`.access`: the binder needs numbers for its subscripts and numbers need the
binder for their tags; this module takes the tag resolver as an argument, so the imports go one
way.  Operators follow Logix: ``/`` of two integers truncates toward zero, ``MOD`` takes the sign
of the dividend, ``AND``/``OR``/``XOR``/``NOT`` are bitwise on integers, comparisons give 1 or 0.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from cpppo.logic.expression import BinaryOp, Call, Literal, Node, TagRef, UnaryOp

__all__ = ["number", "divide", "modulo", "Getter"]

Getter = Callable[[], Any]


def divide(a: Any, b: Any) -> Any:
    """Logix division: integers truncate toward zero; ZeroDivisionError for a zero divisor."""
    if type(a) is int and type(b) is int:
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    return a / b


def modulo(a: Any, b: Any) -> Any:
    """``A - TRN(A/B)*B``: the remainder takes the sign of the dividend (RM003 MOD)."""
    if type(a) is int and type(b) is int:
        return a - divide(a, b) * b
    return math.fmod(a, b)


def _integer(op: Callable[[int, int], int]) -> Callable[[Any, Any], int]:
    return lambda a, b: op(int(a), int(b))


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": divide, "MOD": modulo, "**": operator.pow,
    "AND": _integer(operator.and_), "OR": _integer(operator.or_), "XOR": _integer(operator.xor),
    "=": lambda a, b: int(a == b), "<>": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b), ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
}

_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "ABS": abs, "SQR": lambda x: math.sqrt(abs(x)), "SQRT": lambda x: math.sqrt(abs(x)),
    "SIN": math.sin, "COS": math.cos, "TAN": math.tan, "ASN": math.asin, "ASIN": math.asin, "ACS": math.acos,
    "ACOS": math.acos, "ATN": math.atan, "ATAN": math.atan, "LN": math.log, "LOG": math.log10,
    "DEG": math.degrees, "RAD": math.radians, "TRN": math.trunc, "TRUNC": math.trunc, "NOT": lambda x: ~int(x),
}


def number(node: Node, tag: Callable[[TagRef], Getter]) -> Getter:
    """A callable computing *node*'s value; *tag* binds a tag reference to its getter."""
    if isinstance(node, Literal):
        constant = node.value
        return lambda: constant
    if isinstance(node, TagRef):
        return tag(node)
    if isinstance(node, BinaryOp):
        left, right, op = number(node.left, tag), number(node.right, tag), _BINARY[node.op]
        if isinstance(node.right, Literal):
            constant = node.right.value
            return lambda: op(left(), constant)
        return lambda: op(left(), right())
    if isinstance(node, UnaryOp):
        inner = number(node.operand, tag)
        if node.op == "-":
            return lambda: -inner()
        return lambda: ~int(inner())
    if isinstance(node, Call):
        inner, function = number(node.argument, tag), _FUNCTIONS[node.function]
        return lambda: function(inner())
    raise ValueError(f"{node}: not a number")
