"""The scan: tasks run their programs' main routines as a Logix controller runs them, on the reactor.

Why on the reactor thread, with no preemption: a client's read is served
between two scans, never inside one, so it never sees half a scan, and tags a
client writes between scans are what the next scan reads.  The continuous task
scans, then yields to the network until its minimum period (default 10 ms)
has passed since it started; each periodic task scans every ``Rate`` ms.  All
timing is on the controller's clock (``callLater``/``seconds``): the reactor
when served, a ``twisted.internet.task.Clock`` in tests, which then step scans
and timers exactly.

Modes: entering Run prescans every scheduled program (each instruction's
prescan action: OTE clears, timers reset, ONS arms) and marks its first scan
(``S:FS``); Program stops scanning; a major fault (:class:`~.program_status.MajorFault`)
that the program's fault routine does not clear stops it too, shows Faulted, and writes the type and code into the
controller's fault record (class 0x73), until :meth:`Logic.clear_fault`.
The Identity object's status word and the key switch pycomm3's
``get_plc_info`` reports follow the mode.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from cpppo.logic.compiler import Problem, Program, Watch, compile_program
from cpppo.logic.instructions.base import Now
from cpppo.logic.program import CONTINUOUS, PERIODIC, ProjectSource
from cpppo.logic.program_status import FaultType, MajorFault, ProgramFault, Status, fault_record

__all__ = ["Mode", "Logic", "Task", "DEFAULT_PERIOD", "attach"]

log = logging.getLogger(__name__)

#: Seconds between the starts of two continuous scans, at least (the network's share).
DEFAULT_PERIOD = 0.010
#: The shortest periodic task rate, ms (Logix's): a Rate of 0 must not keep the reactor from the network.
MIN_RATE = 0.1
#: Identity status word (attribute 5): the low byte's bits 4-7 and the major recoverable fault bit;
#: pycomm3 reads the key switch from the low byte (0x60 run, 0x70 program) and the high byte (0x31 remote).
_RUN_BITS, _PROGRAM_BITS, _STATE_MASK, _MAJOR_FAULT = 0x60, 0x70, 0xF0, 0x0400


class Mode(enum.Enum):
    RUN = "Run"
    PROGRAM = "Program"
    FAULTED = "Faulted"


@dataclass(eq=False)
class Task:
    """A task at run time: its programs, type, rate (seconds), and the call that scans it next."""

    name: str
    type: str
    programs: list[Program]
    rate: float
    watchdog: float
    scans: int = 0
    due: float = 0.0  # when its next scan is due, on the controller's clock
    overlaps: int = 0  # periodic scans skipped: the task was still behind when they were due
    last: float = 0.0  # seconds of its last scan (perf_counter)
    longest: float = 0.0
    call: Any = None


@dataclass
class ScanStatistics:
    scans: int = 0
    last: float = 0.0
    longest: float = 0.0
    problems: list[Problem] = field(default_factory=list)


class Logic:
    """The controller's program, compiled, and its scan: give it the controller and the L5X's project.

    *period* is the continuous task's minimum period (seconds); *watch* is told of every tag a
    rung changes (``-p``).  Nothing runs until :meth:`start`.
    """

    def __init__(self, controller: Any, project: ProjectSource, clock: Any = None, period: float = DEFAULT_PERIOD,
                 watch: Watch | None = None) -> None:
        self.controller = controller
        self.clock = clock if clock is not None else controller.clock
        self.period = period
        self.status = Status()
        self.status.clock = self.wall_clock_us
        self.now = Now()
        self.mode = Mode.PROGRAM
        self.fault: MajorFault | None = None
        self.running: Task | None = None  # the task scanning now (GSV's Task object)
        self.statistics = ScanStatistics()
        self.programs: dict[str, Program] = {}
        for name, source in project.programs.items():
            self.programs[name] = compile_program(source, controller.tags, self.status, self.now, watch, self,
                                                  project.instructions)
        self.tasks: list[Task] = []
        for spec in project.tasks:
            if spec.inhibited or spec.type not in (CONTINUOUS, PERIODIC):
                if spec.type not in (CONTINUOUS, PERIODIC):
                    log.warning("task %s: %s tasks are not supported (not run)", spec.name, spec.type)
                continue
            programs = [self.programs[p] for p in spec.programs if p in self.programs]
            programs = [p for p in programs if not p.disabled and p.main is not None]
            rate = period if spec.type == CONTINUOUS else max(spec.rate, MIN_RATE) / 1000.0
            self.tasks.append(Task(spec.name, spec.type, programs, rate, spec.watchdog / 1000.0))
        self.statistics.problems = [p for program in self.programs.values() for p in program.problems]
        for problem in self.statistics.problems:
            log.warning("%s: routine idle", problem)
        self._show_mode()

    # --- modes ------------------------------------------------------------------------------
    def start(self, mode: Mode | str = Mode.RUN) -> None:
        self.set_mode(mode)

    def set_mode(self, mode: Mode | str) -> None:
        """Run (prescan, then scan) or Program (stop scanning); a Faulted controller stays so until cleared."""
        wanted = mode if isinstance(mode, Mode) else Mode(str(mode).capitalize())
        if wanted is Mode.FAULTED:
            raise ValueError("a controller faults; it is not switched to Faulted")
        if self.mode is Mode.FAULTED or wanted is self.mode:
            return
        if wanted is Mode.RUN:
            self._enter_run()
        else:
            self._stop()
            self.mode = Mode.PROGRAM
        self._show_mode()

    def _enter_run(self) -> None:
        self.now.ms = self.clock.seconds() * 1000.0
        for task in self.tasks:
            for program in task.programs:
                program.first_scan = True
                if program.main is not None:
                    program.main.prescan()
        self.mode = Mode.RUN
        for task in self.tasks:
            task.due = self.clock.seconds()
            task.call = self.clock.callLater(0, self._scan, task)

    def _stop(self) -> None:
        for task in self.tasks:
            if task.call is not None and task.call.active():
                task.call.cancel()
            task.call = None

    def stop(self) -> None:
        """Stop scanning for good (the server is stopping): no call is left on the clock."""
        self._stop()

    def clear_fault(self) -> None:
        """Clear a major fault: the fault record shows zeros, and the controller returns to Run."""
        if self.mode is not Mode.FAULTED:
            return
        self.fault = None
        self.controller.fault.clear()
        self.mode = Mode.PROGRAM
        self.set_mode(Mode.RUN)

    def _show_mode(self) -> None:
        """The Identity status word as a Logix shows its mode (and the key switch pycomm3 reports)."""
        status = self.controller.identity.attributes[5]
        word = (status.value & ~(_STATE_MASK | _MAJOR_FAULT))
        word |= _RUN_BITS if self.mode is Mode.RUN else _PROGRAM_BITS
        if self.mode is Mode.FAULTED:
            word |= _MAJOR_FAULT
        status.value = word

    # --- scanning ---------------------------------------------------------------------------
    def _scan(self, task: Task) -> None:
        """Scan, then schedule the next: the continuous task a period after this one started, a periodic
        one at its next multiple of the rate (those it is already late for are overlaps, skipped)."""
        started = self.clock.seconds()
        self.scan(task)
        if self.mode is not Mode.RUN:
            return
        now = self.clock.seconds()
        if task.type == PERIODIC:
            task.due += task.rate
            while task.due + task.rate <= now:
                task.due += task.rate
                task.overlaps += 1
        else:
            task.due = started + task.rate
        task.call = self.clock.callLater(max(0.0, task.due - now), self._scan, task)

    def scan(self, task: Task) -> None:
        """One scan of *task*: each program's main routine, in order (a major fault stops it)."""
        now, status = self.now, self.status
        now.ms = self.clock.seconds() * 1000.0
        begun, cpu = time.perf_counter(), time.thread_time()
        status.deadline = cpu + task.watchdog  # (CPU time: a machine too busy to run us is not our scan)
        self.running = task
        try:
            for program in task.programs:
                status.fs, status.mcr = program.first_scan, False
                try:
                    program.main.run()  # type: ignore[union-attr]
                except MajorFault as fault:
                    self._handle(program, fault)  # (its fault routine cleared it: on to the next program)
                program.first_scan = False
            status.fs = False
        except MajorFault as fault:
            self._faulted(fault)
        except RecursionError:
            self._faulted(MajorFault(FaultType.PROGRAM, ProgramFault.STACK_OVERFLOW, "stack overflow (JSR recursion)"))
        except Exception as error:  # an operand's value an instruction cannot take: faulted, never a dead server
            self._faulted(MajorFault(FaultType.PROGRAM, ProgramFault.VALUE_RANGE, f"{type(error).__name__}: {error}"))
        took = time.perf_counter() - begun
        task.scans += 1
        task.last, task.longest = took, max(task.longest, took)
        stats = self.statistics
        stats.scans += 1
        stats.last, stats.longest = took, max(stats.longest, took)
        if time.thread_time() - cpu > task.watchdog and self.mode is Mode.RUN:
            self._faulted(MajorFault(FaultType.WATCHDOG, ProgramFault.TASK_WATCHDOG,
                                     f"task {task.name} scan of {took * 1000:.1f} ms past its watchdog"))

    def _handle(self, program: Program, fault: MajorFault) -> None:
        """A major fault in *program*: its fault routine (if it has one) runs with the fault in the
        Program's MajorFaultRecord; if it clears the record (SSV of zeros) the program's scan ends
        there and the others go on, else (and for a watchdog fault, which no routine clears) the
        controller faults."""
        routine = program.fault
        if routine is None or routine.idle or fault.kind == FaultType.WATCHDOG:
            raise fault
        status = self.status
        status.major_record = fault_record(fault.kind, fault.code, self.wall_clock_us())
        routine.run()
        if any(status.major_record):
            raise fault
        status.major_events = min(status.major_events + 1, 0x7FFF)
        log.info("major fault type %d code %d at %s cleared by %s's fault routine", fault.kind, fault.code,
                 fault.where, program.name)

    def _faulted(self, fault: MajorFault) -> None:
        log.warning("major fault type %d code %d at %s: %s", fault.kind, fault.code, fault.where, fault)
        self.fault = fault
        self.status.major_fault(fault.kind, fault.code)
        self._stop()
        self.mode = Mode.FAULTED
        self.controller.set_fault(fault.kind, fault.code)
        self._show_mode()

    # --- what GSV and SSV reach (instructions.base.System) -----------------------------------
    def _wall_clock(self) -> Any:
        return self.controller.directory.lookup(0x8B, 1)

    def wall_clock_us(self) -> int:
        return int(self._wall_clock().utc())

    def set_wall_clock_us(self, microseconds: int) -> None:
        self._wall_clock().set_utc(microseconds)

    def local_offset_us(self) -> int:
        return int(self._wall_clock().local_offset())

    def scan_times_us(self) -> tuple[int, int]:
        task = self.running
        if task is None:
            return 0, 0
        return int(task.last * 1e6), int(task.longest * 1e6)

    # --- what the web page shows ------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """Mode, scan count and times (ms), tasks, and each routine's state (running, idle and why, unused)."""
        stats = self.statistics
        scheduled = {id(r) for t in self.tasks for p in t.programs for r in p.routines.values()}
        routines = []
        for program in self.programs.values():
            for routine in program.routines.values():
                state = "idle" if routine.idle else ("running" if id(routine) in scheduled else "not scheduled")
                routines.append({"program": program.name, "routine": routine.name, "state": state,
                                 "calls": routine.calls, "problems": [str(p) for p in routine.problems]})
        return {"mode": self.mode.value, "scans": stats.scans, "last_scan_ms": round(stats.last * 1000, 3),
                "max_scan_ms": round(stats.longest * 1000, 3),
                "fault": None if self.fault is None else {"type": self.fault.kind, "code": self.fault.code,
                                                          "where": self.fault.where, "message": str(self.fault)},
                "minor_faults": [{"type": m.kind, "code": m.code, "where": m.where} for m in self.status.minors[-5:]],
                "tasks": [{"name": t.name, "type": t.type, "rate_ms": round(t.rate * 1000, 3), "scans": t.scans,
                           "programs": [p.name for p in t.programs]} for t in self.tasks],
                "routines": routines}


def attach(controller: Any, trees: list[tuple[str, Any]], mode: str | None = None, period: float = DEFAULT_PERIOD,
           watch: Watch | None = None, clock: Any = None) -> Logic | None:
    """The program of an L5X's *trees*, compiled against *controller* and started in *mode*
    (default Run when it has routines); None when the exports hold no routines."""
    from cpppo.logic.program import read_programs

    project = read_programs(trees)
    if not project.has_routines:
        return None
    logic = Logic(controller, project, clock, period, watch)
    controller.logic = logic
    logic.start(Mode(mode.capitalize()) if mode else Mode.RUN)
    return logic

