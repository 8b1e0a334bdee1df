"""How a running program faults: the Logix fault types and codes, the major fault that stops a scan,
and the arithmetic status flags (S:FS, S:V, S:Z, S:N, S:C, S:MINOR) a rung reads.

Why here and not in the controller: these are the program's faults (1756-PM014's type 4, program
faults, and type 6, task watchdog), raised by compiled instructions deep inside a scan; the
scan catches a :class:`MajorFault` and hands its type and code to the controller's fault record
(class 0x73, :mod:`cpppo.enip.simulator.controller.faults`), which is what clients read.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FaultType", "ProgramFault", "MajorFault", "MinorFault", "Status", "FAULT_RECORD", "fault_record"]


class FaultType(enum.IntEnum):
    """Major fault types (UM001M table 56): what the fault record's major field holds."""

    PROGRAM = 4
    WATCHDOG = 6


class ProgramFault(enum.IntEnum):
    """Program fault codes (type 4) and the watchdog's (type 6, code 1)."""

    OVERFLOW = 4            # minor: arithmetic overflow, divide by zero
    SUBSCRIPT_RANGE = 20    # major: array subscript too large or negative
    CONTROL_RANGE = 21      # major: a CONTROL's LEN or POS < 0
    JSR_PARAMETERS = 31     # major: JSR parameters do not match the SBR/RET (and a JSR to no routine)
    JMP_TARGET = 42         # major: JMP to a label that does not exist
    STRING_RANGE = 56       # major: a string instruction's Start or Quantity out of range
    VALUE_RANGE = 83        # major: a value out of range (here also: any value an instruction cannot take)
    STACK_OVERFLOW = 84     # major: JSRs nested too deep
    TASK_WATCHDOG = 1       # (type 6) a task ran past its watchdog


class MajorFault(Exception):
    """Raised inside a scan: the scan stops and the controller goes Faulted with this type and code."""

    def __init__(self, kind: int, code: int, message: str = "") -> None:
        super().__init__(message or f"major fault type {kind} code {code}")
        self.kind = int(kind)
        self.code = int(code)
        self.where = ""  # program/routine/rung, added by the scan that caught it


@dataclass(frozen=True)
class MinorFault:
    """A minor fault: logged, scanning goes on (*at*: the controller's clock, UTC microseconds)."""

    kind: int
    code: int
    where: str
    at: int = 0


#: A Program object's MajorFaultRecord / MinorFaultRecord as GSV gives it (a DINT[11]): the time
#: (LINT, UTC microseconds), the type and code (INTs), then eight DINTs of fault-specific data.
FAULT_RECORD = struct.Struct("<qhh32x")


def fault_record(kind: int, code: int, at: int) -> bytes:
    return FAULT_RECORD.pack(at, kind, code) if kind or code else bytes(FAULT_RECORD.size)


@dataclass
class Status:
    """The controller's status keywords a rung reads (``XIC(S:FS)``); not CIP tags.

    ``fs`` is true during a program's first scan after entering Run.  ``v``, ``z``, ``n``
    and ``c`` are the arithmetic flags of the last instruction that set them; ``minor`` is
    S:MINOR, set by any minor fault.  ``minors`` keeps the most recent minor faults (bounded).
    """

    fs: bool = False
    v: bool = False
    z: bool = False
    n: bool = False
    c: bool = False
    minor: bool = False
    minors: list[MinorFault] = field(default_factory=list)
    where: str = ""  # the rung running now (program/routine/rung), for fault records
    #: The FaultLog object's attributes (GSV/SSV FaultLog): events counted, and a bit per fault type
    #: (bit 4: program, bit 6: watchdog) kept until the program clears them.
    major_events: int = 0
    minor_events: int = 0
    major_bits: int = 0
    minor_bits: int = 0
    #: The last major fault's record (GSV Program MajorFaultRecord), kept until a program clears it.
    major_record: bytes = bytes(FAULT_RECORD.size)
    minor_record: bytes = bytes(FAULT_RECORD.size)
    clock: Callable[[], int] = lambda: 0  # UTC microseconds on the controller's clock (for the records)
    mcr: bool = False  # an MCR zone is open and off: rungs start false (reset for each program)
    deadline: float = float("inf")  # thread CPU time (time.thread_time) past which the task is past its watchdog

    #: How many minor faults are kept (a program overflowing every scan must not grow memory).
    KEPT = 32

    def overflow(self) -> None:
        """S:V set by an instruction: a minor fault type 4 code 4 on its clear-to-set edge."""
        if not self.v:
            self.minor_fault(FaultType.PROGRAM, ProgramFault.OVERFLOW)
        self.v = True

    def minor_fault(self, kind: int, code: int) -> None:
        self.minor = True
        self.minor_events = min(self.minor_events + 1, 0x7FFF)
        self.minor_bits |= 1 << int(kind)
        at = self.clock()
        self.minors.append(MinorFault(int(kind), int(code), self.where, at))
        del self.minors[:-self.KEPT]
        self.minor_record = fault_record(int(kind), int(code), at)

    def major_fault(self, kind: int, code: int) -> None:
        self.major_events = min(self.major_events + 1, 0x7FFF)
        self.major_bits |= 1 << int(kind)
        self.major_record = fault_record(int(kind), int(code), self.clock())

    def flags(self, value: float) -> None:
        """S:Z and S:N from a stored result."""
        self.z = value == 0
        self.n = value < 0
