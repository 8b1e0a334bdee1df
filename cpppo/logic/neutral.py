"""A rung's neutral text (``XIC(a)[XIO(b) ,GRT(c,5) ]OTE(d);``) as a tree of instructions and branches.

Why a hand-written scanner and not the DFA framework: the text is tiny and
regular (instructions in series, ``[`` legs ``,`` ``]`` nested to any depth,
operands separated by commas outside parentheses and brackets), it is read
once per rung at load time, and a load error must say where the text went
wrong in one line.  Operands are parsed into trees by :mod:`.expression`
(a CPT's expression is one operand too).  Whitespace between elements is
Studio 5000's own formatting (a space before each ``,`` and ``]``) and is
ignored; an empty leg is a wire (true).
"""

from __future__ import annotations

from dataclasses import dataclass

from cpppo.logic.expression import Node, parse_operand

__all__ = ["Instruction", "Branch", "Element", "parse_rung"]


@dataclass(frozen=True)
class Instruction:
    """``MNEMONIC(op,op,...)``: the mnemonic in upper case, the operands' text and trees."""

    mnemonic: str
    texts: tuple[str, ...]
    operands: tuple[Node | None, ...]  # None: an operand that is not an expression (kept as text)

    def __str__(self) -> str:
        return f"{self.mnemonic}({','.join(self.texts)})"


@dataclass(frozen=True)
class Branch:
    """``[leg ,leg ,...]``: each leg a series; the rung condition out is the OR of the legs'."""

    legs: tuple[tuple[Element, ...], ...]


Element = Instruction | Branch


def _split_operands(text: str) -> list[str]:
    """The operands of an instruction: split on commas outside parentheses, brackets and quotes."""
    parts, depth, start, quoted = [], 0, 0, False
    for at, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def error(self, what: str) -> ValueError:
        return ValueError(f"rung {self.text!r}: {what} at {self.at}")

    def skip(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def series(self, closers: str) -> tuple[Element, ...]:
        items: list[Element] = []
        while True:
            self.skip()
            if self.at >= len(self.text):
                raise self.error("the rung ends without ';'")
            char = self.text[self.at]
            if char in closers:
                return tuple(items)
            if char == "[":
                items.append(self.branch())
            else:
                items.append(self.instruction())

    def branch(self) -> Branch:
        self.at += 1  # "["
        legs = [self.series(",]")]
        while self.text[self.at] == ",":
            self.at += 1
            legs.append(self.series(",]"))
        self.at += 1  # "]"
        return Branch(tuple(legs))

    def instruction(self) -> Instruction:
        start = self.at
        while self.at < len(self.text) and (self.text[self.at].isalnum() or self.text[self.at] in "_:"):
            self.at += 1
        mnemonic = self.text[start:self.at]
        if not mnemonic or not (mnemonic[0].isalpha() or mnemonic[0] == "_") or self.at >= len(self.text) \
                or self.text[self.at] != "(":
            raise self.error(f"an instruction expected, not {self.text[start:start + 10]!r}")
        depth, quoted, begin = 0, False, self.at + 1
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "'":
                quoted = not quoted
            elif not quoted and char == "(":
                depth += 1
            elif not quoted and char == ")":
                depth -= 1
                if depth == 0:
                    break
            self.at += 1
        if self.at >= len(self.text):
            raise self.error(f"{mnemonic}: no closing ')'")
        inner = self.text[begin:self.at]
        self.at += 1
        texts = tuple(_split_operands(inner)) if inner.strip() else ()
        operands: list[Node | None] = []
        for text in texts:
            try:
                operands.append(parse_operand(text) if text and not text.startswith("'") else None)
            except ValueError:
                operands.append(None)  # (the instruction decides whether it needs an expression there)
        return Instruction(mnemonic.upper(), texts, tuple(operands))


def parse_rung(text: str) -> tuple[Element, ...]:
    """The series of elements of one rung's neutral text (``;`` ends it; ``;`` alone is an empty rung)."""
    reader = _Reader(text.strip())
    elements = reader.series(";,]")
    if reader.at >= len(reader.text) or reader.text[reader.at] != ";":
        raise reader.error(f"unexpected {reader.text[reader.at:reader.at + 1]!r}")
    if reader.text[reader.at + 1:].strip():
        raise ValueError(f"rung {text!r}: text after ';'")
    return elements
