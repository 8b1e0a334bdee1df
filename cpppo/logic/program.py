"""The program an L5X holds: tasks, their scheduled programs, each program's routines and rungs.

Why from the tree the tag loader already read: ``--l5x`` parses each file once
(:func:`cpppo.enip.simulator.loaders.l5x.parse`, expat with DTDs and entities
refused); :func:`read_programs` takes those trees.  What it keeps (logix-logic
notes section 1): each ``<Program>``'s ``MainRoutineName``, ``FaultRoutineName`` and ``Disabled``, its
``<Routine>``s (``Type="RLL"`` with each ``<Rung>``'s ``<Text>``; other types
are kept by name so the load can report them), and each ``<Task>``'s type,
``Rate`` (ms), ``Priority``, ``Watchdog`` (ms), ``InhibitTask`` and
``<ScheduledProgram>``s in order.  A file with no ``<Tasks>`` (a program
export) runs each of its programs in a continuous task of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from cpppo.enip.simulator.loaders.l5x_data import where

__all__ = ["RungSource", "RoutineSource", "ProgramSource", "TaskSource", "ProjectSource", "read_programs",
           "CONTINUOUS", "PERIODIC"]

CONTINUOUS, PERIODIC, EVENT = "CONTINUOUS", "PERIODIC", "EVENT"


@dataclass(frozen=True)
class RungSource:
    number: int
    text: str
    where: str = ""


@dataclass(frozen=True)
class RoutineSource:
    name: str
    type: str
    rungs: tuple[RungSource, ...] = ()


@dataclass(frozen=True)
class ProgramSource:
    name: str
    main: str | None
    routines: tuple[RoutineSource, ...]
    disabled: bool = False
    fault: str | None = None  # FaultRoutineName: what runs on a major fault, and may clear it


@dataclass(frozen=True)
class TaskSource:
    """A task: CONTINUOUS, PERIODIC (every *rate* ms) or EVENT (not run); its programs in order."""

    name: str
    type: str
    programs: tuple[str, ...]
    rate: float = 10.0
    priority: int = 10
    watchdog: float = 500.0
    inhibited: bool = False


@dataclass
class ProjectSource:
    """Every program and task of the exports read."""

    programs: dict[str, ProgramSource] = field(default_factory=dict)
    tasks: list[TaskSource] = field(default_factory=list)
    #: Add-On Instructions by upper-case name: whether their logic has rungs (a Context copy in a
    #: program export keeps an empty ``Logic`` routine: a call of it does nothing).
    instructions: dict[str, bool] = field(default_factory=dict)

    @property
    def has_routines(self) -> bool:
        return any(p.routines for p in self.programs.values())


def _true(value: str | None) -> bool:
    return (value or "false").strip().lower() == "true"


def _number(element: ET.Element, name: str, default: float, path: str) -> float:
    text = element.get(name)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where(path, element)}: {name}={text!r} is not a number") from None


def _routine(element: ET.Element, path: str) -> RoutineSource:
    name, kind = element.get("Name") or "", (element.get("Type") or "RLL").upper()
    if not name:
        raise ValueError(f"{where(path, element)}: a routine without a Name")
    rungs: list[RungSource] = []
    if kind == "RLL":
        for content in element.findall("RLLContent"):
            for index, rung in enumerate(content.findall("Rung")):
                try:
                    number = int(rung.get("Number") or index)
                except ValueError:
                    number = index
                text = (rung.findtext("Text") or "").strip()
                rungs.append(RungSource(number, text or ";", where(path, rung)))
    return RoutineSource(name, kind, tuple(rungs))


def _program(element: ET.Element, path: str) -> ProgramSource:
    name = element.get("Name") or ""
    if not name:
        raise ValueError(f"{where(path, element)}: a program without a Name")
    routines = tuple(_routine(r, path) for block in element.findall("Routines") for r in block.findall("Routine"))
    return ProgramSource(name, element.get("MainRoutineName"), routines, _true(element.get("Disabled")),
                         element.get("FaultRoutineName") or None)


def _task(element: ET.Element, path: str) -> TaskSource:
    name = element.get("Name") or ""
    kind = (element.get("Type") or CONTINUOUS).upper()
    programs = tuple(s.get("Name") or "" for block in element.findall("ScheduledPrograms")
                     for s in block.findall("ScheduledProgram"))
    return TaskSource(name, kind, programs, _number(element, "Rate", 10.0, path),
                      int(_number(element, "Priority", 10, path)), _number(element, "Watchdog", 500.0, path),
                      _true(element.get("InhibitTask")))


def read_programs(trees: list[tuple[str, Any]]) -> ProjectSource:
    """Programs and tasks of each ``(path, <Controller> element)`` the L5X loader read."""
    project = ProjectSource()
    for path, controller in trees:
        for aoi in (a for block in controller.findall("AddOnInstructionDefinitions")
                    for a in block.findall("AddOnInstructionDefinition")):
            rungs = [r for block in aoi.findall("Routines") for routine in block.findall("Routine")
                     for content in routine.findall("RLLContent") for r in content.findall("Rung")]
            name = (aoi.get("Name") or "").upper()
            project.instructions[name] = project.instructions.get(name, False) or bool(rungs)
        programs = [_program(p, path) for block in controller.findall("Programs") for p in block.findall("Program")]
        for program in programs:
            if program.name not in project.programs or program.routines:
                project.programs[program.name] = program
        tasks = [_task(t, path) for block in controller.findall("Tasks") for t in block.findall("Task")]
        project.tasks.extend(tasks)
        if not controller.findall("Tasks"):  # a program export: each program continuous, on its own
            project.tasks.extend(TaskSource(f"{p.name} (continuous)", CONTINUOUS, (p.name,))
                                 for p in programs if p.routines)
    return project
