"""Operands of a rung's instructions: tag references, literals and infix expressions, as trees.

Why a tree of our own: a rung's operand text (``Timer1.DN``, ``arr[idx+1].3``,
``16#FF_00``, ``-2147483648``, ``_ctl.POS*10``) is parsed once, at load time,
and the compiler turns the tree into callables bound to the tags' storage; so
nothing here knows of tags, and a scan never sees text.  The grammar is the
neutral text's (logix-logic-notes section 2.2): tag references with members,
elements (up to three subscripts, each itself an expression), bits of
integers; decimal, REAL and radix literals; binary operators with Logix's
precedence and the functions CPT allows.  Every problem is a ValueError
naming the text and where in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MemberName", "Index", "TagRef", "Literal", "Keyword", "Placeholder", "BinaryOp", "UnaryOp", "Call",
           "Node", "parse_operand", "parse_number", "FUNCTIONS", "BINARY_PRECEDENCE"]


@dataclass(frozen=True)
class MemberName:
    """``.Name`` of a structure, or ``.5`` (a bit of an integer) when *name* is digits."""

    name: str

    @property
    def bit(self) -> int | None:
        return int(self.name) if self.name.isdigit() else None


@dataclass(frozen=True)
class Index:
    """``[e]`` or ``[e1,e2,e3]``: element subscripts, each an expression (a literal or a tag's value)."""

    subscripts: tuple[Node, ...]


@dataclass(frozen=True)
class TagRef:
    """A tag, then its members, elements and bits in order (``Line[3].Motor.Speed``, ``S:FS``)."""

    name: str
    path: tuple[MemberName | Index, ...] = ()

    def __str__(self) -> str:
        text = self.name
        for part in self.path:
            text += f".{part.name}" if isinstance(part, MemberName) else "[" + ",".join(map(str, part.subscripts)) + "]"
        return text


@dataclass(frozen=True)
class Literal:
    value: int | float

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Keyword:
    """A bare word an instruction takes as a choice, not a tag (SWPB's ``REVERSE``, FAL's ``ALL``)."""

    word: str


@dataclass(frozen=True)
class Placeholder:
    """``?``: the value lives in the structure (a TIMER's PRE and ACC), not in the rung."""


@dataclass(frozen=True)
class BinaryOp:
    op: str
    left: Node
    right: Node

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


@dataclass(frozen=True)
class UnaryOp:
    op: str
    operand: Node

    def __str__(self) -> str:
        return f"({self.op} {self.operand})"


@dataclass(frozen=True)
class Call:
    function: str
    argument: Node

    def __str__(self) -> str:
        return f"{self.function}({self.argument})"


Node = TagRef | Literal | Keyword | Placeholder | BinaryOp | UnaryOp | Call

#: Binary operators, loosest first binding: OR, XOR, AND, comparisons, + -, * / MOD, ** (notes 2.2).
BINARY_PRECEDENCE: dict[str, int] = {"OR": 1, "XOR": 2, "AND": 3, "=": 4, "<>": 4, "<": 4, "<=": 4, ">": 4,
                                     ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6, "MOD": 6, "**": 8}
#: The functions an expression may call (CPT's; the compiler implements them).
FUNCTIONS = frozenset({"ABS", "SQR", "SQRT", "SIN", "COS", "TAN", "ASN", "ASIN", "ACS", "ACOS", "ATN", "ATAN",
                       "LN", "LOG", "DEG", "RAD", "TRN", "TRUNC", "FRD", "TOD", "NOT"})
_WORD_OPS = frozenset({"OR", "XOR", "AND", "MOD", "NOT"})

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>(?:2|8|16)\#[0-9A-Fa-f_]+ | (?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_\\][\w:\\]*)
    | (?P<op>\*\*|<=|>=|<>|[-+*/=<>()\[\],.?])
    )""", re.VERBOSE)


def parse_number(text: str) -> int | float:
    """``42``, ``-2147483648``, ``1.5``, ``3.40282306e+038``, ``16#FF_00``, ``2#1010``, ``8#17``."""
    raw = text.replace("_", "")
    sign = -1 if raw.startswith("-") else 1
    raw = raw.lstrip("+-")
    if "#" in raw:
        radix, _, digits = raw.partition("#")
        return sign * int(digits, int(radix))
    if any(c in raw for c in ".eE"):
        return sign * float(raw)
    return sign * int(raw)


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[tuple[str, str, int]] = []
        at = 0
        while at < len(text):
            if text[at:].strip() == "":
                break
            match = _TOKEN.match(text, at)
            if not match or match.end() == at:
                raise ValueError(f"operand {text!r}: cannot read {text[at:].strip()!r} (at {at})")
            kind = match.lastgroup or ""
            self.items.append((kind, match.group(kind), match.start(kind)))
            at = match.end()
        self.at = 0

    def peek(self) -> tuple[str, str, int]:
        return self.items[self.at] if self.at < len(self.items) else ("end", "", len(self.text))

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.at += 1
        return token

    def expect(self, value: str) -> None:
        kind, got, where = self.take()
        if got != value:
            raise ValueError(f"operand {self.text!r}: {value!r} expected at {where}, not {got or 'the end'!r}")


def _binary_op(token: tuple[str, str, int]) -> str | None:
    kind, value, _ = token
    upper = value.upper()
    if kind == "op" and value in BINARY_PRECEDENCE:
        return value
    if kind == "name" and upper in BINARY_PRECEDENCE:
        return upper
    return None


def _expression(tokens: _Tokens, lowest: int = 0) -> Node:
    left = _unary(tokens)
    while True:
        op = _binary_op(tokens.peek())
        if op is None or BINARY_PRECEDENCE[op] <= lowest:
            return left
        tokens.take()
        # ** binds right to left; the rest left to right
        right = _expression(tokens, BINARY_PRECEDENCE[op] - (1 if op == "**" else 0))
        left = BinaryOp(op, left, right)


def _unary(tokens: _Tokens) -> Node:
    kind, value, where = tokens.peek()
    if kind == "op" and value == "-":
        tokens.take()
        operand = _unary(tokens)
        if isinstance(operand, Literal):
            return Literal(-operand.value)
        return UnaryOp("-", operand)
    if kind == "name" and value.upper() == "NOT":
        tokens.take()
        return UnaryOp("NOT", _unary(tokens))
    return _primary(tokens)


def _primary(tokens: _Tokens) -> Node:
    kind, value, where = tokens.take()
    if kind == "number":
        return Literal(parse_number(value))
    if kind == "op" and value == "(":
        inner = _expression(tokens)
        tokens.expect(")")
        return inner
    if kind == "op" and value == "?":
        return Placeholder()
    if kind == "name":
        if tokens.peek()[1] == "(" and value.upper() in FUNCTIONS:
            tokens.take()
            argument = _expression(tokens)
            tokens.expect(")")
            return Call(value.upper(), argument)
        return _tag(tokens, value)
    raise ValueError(f"operand {tokens.text!r}: unexpected {value or 'end'!r} at {where}")


def _tag(tokens: _Tokens, name: str) -> TagRef:
    path: list[MemberName | Index] = []
    while True:
        kind, value, where = tokens.peek()
        if kind == "number" and value.startswith(".") and value[1:].isdigit():  # ``.5``: a bit
            tokens.take()
            path.append(MemberName(value[1:]))
            continue
        if value == ".":
            tokens.take()
            kind, value, where = tokens.take()
            if kind == "name" or (kind == "number" and value.isdigit()):
                path.append(MemberName(value))
                continue
            raise ValueError(f"operand {tokens.text!r}: a member or bit expected at {where}")
        if value == "[":
            tokens.take()
            subscripts = [_expression(tokens)]
            while tokens.peek()[1] == ",":
                tokens.take()
                subscripts.append(_expression(tokens))
            tokens.expect("]")
            if len(subscripts) > 3:
                raise ValueError(f"operand {tokens.text!r}: {len(subscripts)} subscripts (at most 3)")
            path.append(Index(tuple(subscripts)))
            continue
        return TagRef(name, tuple(path))


def parse_operand(text: str) -> Node:
    """One operand's text as a tree: ``?``, a literal, a tag reference or an expression.

    A bare word that is neither followed by a member nor used in an expression is still a
    :class:`TagRef`; instructions that take keywords (SWPB's order) read its name.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("an empty operand")
    tokens = _Tokens(stripped)
    node = _expression(tokens)
    if tokens.peek()[0] != "end":
        kind, value, where = tokens.peek()
        raise ValueError(f"operand {text!r}: unexpected {value!r} at {where}")
    return node
