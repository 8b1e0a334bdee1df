"""Rungs compiled once into plain Python callables bound to the tags' storage.

Why compile: a scan of a thousand rungs has a couple of milliseconds.  Each
instruction becomes a ``run(rc) -> rc`` closure over its operands' getters
and setters (:mod:`.access`), a series becomes one closure calling them in
turn, a branch one that gives every leg the same rung condition in and ORs
their outs (legs run top to bottom, so an earlier leg's writes are seen by
a later one), and a routine a tuple of rungs.  A scan then runs closures
only: no text, no names, no dictionaries.

A rung the compiler cannot take (an instruction not in the registry, an
operand naming no tag, an instruction of the next issue) makes its whole
routine idle: one :class:`Problem` per rung names the routine, the rung and
why, and every other routine still runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.simulator.controller.names import fold
from cpppo.logic.access import Binder, UnknownTag
from cpppo.logic.evaluate import number
from cpppo.logic.instructions import INSTRUCTIONS
from cpppo.logic.instructions.base import Now, Step, Unsupported
from cpppo.logic.instructions.control import CallFrame, Jump, Return
from cpppo.logic.neutral import Branch, Element, parse_rung
from cpppo.logic.program import ProgramSource, RoutineSource
from cpppo.logic.program_status import FaultType, MajorFault, ProgramFault, Status

__all__ = ["Problem", "Routine", "Program", "compile_program", "Watch"]

Run = Callable[[bool], bool]
#: Told of each tag a rung changes: (where, tag name, new value); the ``-p`` printer.
Watch = Callable[[str, str, Any], None]


@dataclass(frozen=True)
class Problem:
    """Why a routine is idle: its program, routine, rung number and the reason (one line)."""

    program: str
    routine: str
    rung: int | None
    reason: str

    def __str__(self) -> str:
        rung = f" rung {self.rung}" if self.rung is not None else ""
        return f"program {self.program} routine {self.routine}{rung}: {self.reason}"


@dataclass(eq=False)
class Routine:
    """A compiled routine: its rungs, their prescans, and whether it runs (no problems) or idles."""

    program: str
    name: str
    kind: str = "RLL"
    rungs: tuple[tuple[int, Run], ...] = ()
    prescans: tuple[Callable[[], None], ...] = ()
    problems: list[Problem] = field(default_factory=list)
    calls: int = 0
    #: Its rungs jump (JMP/LBL) or open MCR zones: the slower loop that follows both.
    flow: bool = False
    status: Status | None = None
    _prescanning: bool = False

    @property
    def idle(self) -> bool:
        return bool(self.problems)

    def run(self) -> None:
        """One pass over the rungs (RET or TND ends it early); a major fault is told where it happened."""
        if self.problems:
            return
        self.calls += 1
        number = -1
        try:
            if self.flow:
                self._run_flow()
            else:
                for number, rung in self.rungs:  # noqa: B007 (the rung a fault happened on)
                    rung(True)
        except Return:
            pass
        except MajorFault as fault:
            fault.where = fault.where or f"{self.program}/{self.name} rung {number}"
            raise

    def _run_flow(self) -> None:
        """The rungs with jumps and MCR zones: a rung in an MCR zone starts false; a JMP goes on at its
        label's rung (a loop is bounded by the task's watchdog, major fault 6/1)."""
        status = self.status
        assert status is not None
        rungs, at, end = self.rungs, 0, len(self.rungs)
        while at < end:
            number, rung = rungs[at]
            try:
                rung(not status.mcr)
                at += 1
            except MajorFault as fault:
                fault.where = fault.where or f"{self.program}/{self.name} rung {number}"
                raise
            except Jump as jump:
                if time.thread_time() > status.deadline:
                    late = MajorFault(FaultType.WATCHDOG, ProgramFault.TASK_WATCHDOG, "jumps past the task's watchdog")
                    late.where = f"{self.program}/{self.name} rung {number}"
                    raise late from None
                at = jump.index

    def prescan(self) -> None:
        """Each instruction's prescan action; a routine that calls itself is prescanned once."""
        if self.problems or self._prescanning:
            return
        self._prescanning = True
        try:
            for prescan in self.prescans:
                prescan()
        finally:
            self._prescanning = False


@dataclass(eq=False)
class Program:
    """A compiled program: its routines by name and the main one."""

    name: str
    main: Routine | None
    routines: dict[str, Routine]
    disabled: bool = False
    first_scan: bool = True
    fault: Routine | None = None  # its fault routine: run on a major fault, which it may clear

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.routines.values() for p in r.problems]


def _series(runs: list[Run]) -> Run:
    if not runs:
        return lambda rc: rc
    if len(runs) == 1:
        return runs[0]
    if len(runs) == 2:
        first, second = runs
        return lambda rc: second(first(rc))
    if len(runs) == 3:
        a, b, c = runs
        return lambda rc: c(b(a(rc)))
    chain = tuple(runs)

    def series(rc: bool) -> bool:
        for step in chain:
            rc = step(rc)
        return rc
    return series


def _branch(legs: list[Run]) -> Run:
    chain = tuple(legs)

    def branch(rc: bool) -> bool:
        out = False
        for leg in chain:
            if leg(rc):
                out = True
        return out
    return branch


class _Compiler:
    """Compiles one program's routines: the :class:`~.instructions.base.Context` builders get."""

    def __init__(self, source: ProgramSource, tags: Any, status: Status, now: Now, watch: Watch | None,
                 system: Any, instructions: dict[str, bool]) -> None:
        self.status, self.now, self.watch, self.system = status, now, watch, system
        self.instructions = instructions  # Add-On Instructions: whether each has logic
        self.binder = Binder(tags, status, source.name, lambda node: number(node, self._tag), watch)
        self.source = source
        self.routines = {fold(r.name): Routine(source.name, r.name, r.type, status=status)
                         for r in source.routines}
        self.frames: list[CallFrame] = []  # the program's JSR call stack (parameters in, values back)
        self.labels: dict[str, list[Jump | None]] = {}  # this routine's LBLs: the JMPs' cells
        self.rung_index = 0  # where in this routine's rungs the rung being compiled goes
        self.flow = False  # a builder of this routine asked for the flow loop (JMP, LBL, MCR)

    def _tag(self, node: Any) -> Callable[[], Any]:
        return self.binder.value(node).get

    # --- the Context builders see ---------------------------------------------------------
    def routine(self, name: str) -> Callable[[], None]:
        found = self.routines.get(fold(name))
        if found is None:
            raise Unsupported(f"JSR to {name}: no such routine in program {self.source.name}")
        return found.run

    def routine_prescan(self, name: str) -> Callable[[], None]:
        found = self.routines.get(fold(name))
        if found is None:
            raise Unsupported(f"JSR to {name}: no such routine in program {self.source.name}")
        return found.prescan

    def label(self, name: str) -> list[Jump | None]:
        """The cell a JMP to *name* reads: filled with its Jump when the routine's LBLs are known."""
        self.flow = True
        return self.labels.setdefault(fold(name), [None])

    def define_label(self, name: str) -> None:
        cell = self.label(name)
        if cell[0] is not None:
            raise Unsupported(f"LBL({name}) twice in one routine")
        cell[0] = Jump(self.rung_index)

    def _add_on(self, ctx: Any, ins: Any) -> Step:
        """A call of an Add-On Instruction whose logic is empty (the Context copy a program export
        carries): its instance must be a tag, and the call passes the rung condition."""
        if self.instructions[ins.mnemonic]:
            raise Unsupported(f"Add-On Instruction {ins.mnemonic} with logic is not supported")
        if not ins.operands or ins.operands[0] is None:
            raise Unsupported(f"{ins}: an Add-On Instruction's instance tag expected")
        self.binder.structure(ins.operands[0])
        return Step(lambda rc: rc)

    # --- compiling --------------------------------------------------------------------------
    def element(self, element: Element, prescans: list[Callable[[], None]]) -> Run:
        if isinstance(element, Branch):
            return _branch([self.series(leg, prescans) for leg in element.legs])
        builder = INSTRUCTIONS.get(element.mnemonic)
        if builder is None and element.mnemonic in self.instructions:
            builder = self._add_on
        if builder is None:
            raise Unsupported(f"instruction {element.mnemonic} is not supported")
        step: Step = builder(self, element)
        if step.prescan is not None:
            prescans.append(step.prescan)
        return step.run

    def series(self, elements: tuple[Element, ...], prescans: list[Callable[[], None]]) -> Run:
        return _series([self.element(e, prescans) for e in elements])

    def compile(self, source: RoutineSource) -> None:
        routine = self.routines[fold(source.name)]
        if source.type != "RLL":
            routine.problems.append(Problem(self.source.name, source.name, None,
                                            f"routine type {source.type} is not supported"))
            return
        rungs: list[tuple[int, Run]] = []
        prescans: list[Callable[[], None]] = []
        self.labels, self.flow = {}, False
        for rung in source.rungs:
            self.rung_index = len(rungs)
            try:
                elements = parse_rung(rung.text)
                run = self.series(elements, prescans)
            except (Unsupported, UnknownTag, ValueError, RecursionError) as error:
                reason = "branches nested too deep" if isinstance(error, RecursionError) else str(error)
                routine.problems.append(Problem(self.source.name, source.name, rung.number, reason))
                continue
            if self.watch is not None:
                run = self._noted(run, f"{self.source.name}/{source.name} rung {rung.number}")
            rungs.append((rung.number, run))
        routine.rungs, routine.prescans, routine.flow = tuple(rungs), tuple(prescans), self.flow

    def _noted(self, run: Run, where: str) -> Run:
        status = self.status

        def noted(rc: bool) -> bool:
            status.where = where
            return run(rc)
        return noted


def compile_program(source: ProgramSource, tags: Any, status: Status, now: Now,
                    watch: Watch | None = None, system: Any = None,
                    instructions: dict[str, bool] | None = None) -> Program:
    """Compile every routine of *source* against *tags*; problems make their routines idle.
    *system* is what GSV and SSV reach (:class:`~.instructions.base.System`: the scan);
    *instructions* the export's Add-On Instructions (upper-case name: whether it has logic)."""
    compiler = _Compiler(source, tags, status, now, watch, system, instructions or {})
    for routine in source.routines:
        compiler.compile(routine)
    main = compiler.routines.get(fold(source.main)) if source.main else None
    fault = compiler.routines.get(fold(source.fault)) if source.fault else None
    return Program(source.name, main, compiler.routines, source.disabled, fault=fault)

