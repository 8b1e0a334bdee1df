"""What every instruction builder gets and gives: a :class:`Context` in, a :class:`Step` out.

Why builders: an instruction is compiled once, when its rung is loaded, into a ``run(rc) -> rc``
callable (rung-condition-in to rung-condition-out, the false action included: Logix runs every
instruction on a false rung too) and an optional ``prescan()`` (what it does when the controller
enters Run).  A builder checks its operands and binds them through the context's binder; an
operand it cannot take raises :class:`Unsupported` and the routine holding the rung stays idle.
Adding an instruction is adding a builder to its family's ``BUILDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cpppo.enip.codec import types as cip_types
from cpppo.logic.access import Binder, Value, converter
from cpppo.logic.expression import Keyword, Literal, Node, TagRef
from cpppo.logic.neutral import Instruction
from cpppo.logic.program_status import Status

__all__ = ["Step", "Context", "System", "Builder", "Unsupported", "Now", "operands", "source", "target", "storer",
           "is_integer", "word", "passes"]


class Unsupported(ValueError):
    """An instruction (or an operand of one) this controller cannot run: its routine stays idle."""


@dataclass(frozen=True)
class Step:
    """A compiled instruction: ``run(rc)`` gives the rung condition out; ``prescan()`` on entering Run."""

    run: Callable[[bool], bool]
    prescan: Callable[[], None] | None = None


@dataclass
class Now:
    """The scan's time in milliseconds on the controller's clock (set by the scan, read by timers)."""

    ms: float = 0.0


class System(Protocol):
    """What GSV and SSV reach of the controller: its wall clock and the running task's scan times."""

    def wall_clock_us(self) -> int:
        """UTC microseconds since 1970 on the controller's clock."""

    def set_wall_clock_us(self, microseconds: int) -> None:
        """Set the controller's clock (what clients then read)."""

    def local_offset_us(self) -> int:
        """Local time less UTC, microseconds."""

    def scan_times_us(self) -> tuple[int, int]:
        """The running task's last and longest scan, microseconds."""


class Context(Protocol):
    """What the compiler gives a builder: the binder, the status flags, the time, other routines."""

    binder: Binder
    status: Status
    now: Now
    frames: list[Any]  # the program's JSR call stack (control.CallFrame)
    system: System
    flow: bool  # set by a builder whose routine needs the flow loop (JMP, LBL, MCR)

    def routine(self, name: str) -> Callable[[], None]:
        """The callable that runs routine *name* of this program (JSR)."""

    def routine_prescan(self, name: str) -> Callable[[], None]:
        """The callable that prescans routine *name* (a JSR's prescan follows it)."""

    def label(self, name: str) -> list[Any]:
        """The cell a JMP to label *name* reads (its Jump, once the routine's labels are known)."""

    def define_label(self, name: str) -> None:
        """LBL *name* is on the rung being compiled."""


Builder = Callable[[Context, Instruction], Step]


def operands(ins: Instruction, count: int, at_least: int | None = None) -> tuple[Node, ...]:
    """The instruction's operand trees; Unsupported if there are not *count* or one is not an expression."""
    have = len(ins.operands)
    if (at_least is None and have != count) or (at_least is not None and have < at_least):
        raise Unsupported(f"{ins}: {have} operands, {count} expected")
    for text, node in zip(ins.texts, ins.operands):
        if node is None:
            raise Unsupported(f"{ins}: operand {text!r} not understood")
    return tuple(n for n in ins.operands if n is not None)


def source(ctx: Context, node: Node) -> Callable[[], Any]:
    """A value to read: a literal, a tag, or an expression."""
    if isinstance(node, (TagRef, Literal)):
        return ctx.binder.value(node).get
    return ctx.binder.number(node)


def target(ctx: Context, node: Node) -> Value:
    """A tag to write (a literal or an expression there is refused)."""
    if not isinstance(node, TagRef):
        raise Unsupported(f"{node}: a tag is needed as the destination")
    value = ctx.binder.value(node)
    if value.set is None:
        raise Unsupported(f"{node}: cannot be written")
    return value


def storer(value: Value) -> Callable[[Any], Any]:
    """Store into *value* as a Logix store converts; returns the value stored."""
    convert, put = converter(value.kind), value.set
    assert put is not None

    def store(v: Any) -> Any:
        stored = convert(v)
        put(stored)
        return stored
    return store


def is_integer(kind: Any) -> bool:
    return isinstance(kind, cip_types.CIPType) and kind.fmt in "bhiqBHIQ?"


def word(node: Node) -> str:
    """A keyword operand (SWPB's ``REVERSE``): its text in upper case."""
    if isinstance(node, TagRef) and not node.path:
        return node.name.upper()
    if isinstance(node, Keyword):
        return node.word.upper()
    raise Unsupported(f"{node}: a keyword expected")


def passes(rc: bool) -> bool:
    return rc

