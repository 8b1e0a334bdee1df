"""GSV and SSV: the controller's WallClockTime and the task's scan times (RM003 chapter 3 "Input/
Output": Get/Set System Value).

WallClockTime is the same clock clients read and set (the Wall Clock Time object, class 0x8B,
what pylogix's ``GetPLCTime`` and pycomm3's ``get_plc_time`` read): ``CurrentValue`` is UTC
microseconds since 1970, a LINT (or a DINT[2], low word first), ``DateTime`` and
``LocalDateTime`` seven DINTs (year, month, day, hour, minute, second, microsecond).  The Task
object's ``LastScanTime`` and ``MaxScanTime`` are microseconds of the task running the rung.
The FaultLog object's ``MajorEvents``, ``MinorEvents`` (counts), ``MajorFaultBits`` and
``MinorFaultBits`` (a bit per fault type: 4 program, 6 watchdog) are read and set (a program
clears the minor bits after handling them).  The Program object's ``MajorFaultRecord`` and
``MinorFaultRecord`` (DINT[11]: the time as a LINT of UTC microseconds, the type and code as
INTs, then eight DINTs of data, zero here) hold the last fault of each kind; SSV of zeros clears
one.  Any
other class or attribute is refused at load (its routine idle), as the core issue reports
unsupported instructions.
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from cpppo.logic.instructions.base import Builder, Context, Step, Unsupported, storer, target
from cpppo.logic.neutral import Instruction
from cpppo.logic.program_status import FAULT_RECORD

__all__ = ["BUILDERS"]

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_SEVEN = struct.Struct("<7i")


def _fields(microseconds: int) -> bytes:
    when = _EPOCH + datetime.timedelta(microseconds=microseconds)
    return _SEVEN.pack(when.year, when.month, when.day, when.hour, when.minute, when.second, when.microsecond)


def _microseconds(data: bytes) -> int:
    year, month, day, hour, minute, second, micro = _SEVEN.unpack(data)
    when = datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=datetime.UTC)
    return (when - _EPOCH) // datetime.timedelta(microseconds=1)


def _what(ins: Instruction) -> tuple[str, str]:
    if len(ins.texts) != 4:
        raise Unsupported(f"{ins}: 4 operands expected")
    return ins.texts[0].strip().upper(), ins.texts[2].strip().upper()


def gsv(ctx: Context, ins: Instruction) -> Step:
    kind, attribute = _what(ins)
    system, node = ctx.system, ins.operands[3]
    if node is None:
        raise Unsupported(f"{ins}: destination {ins.texts[3]!r}")
    value = ctx.binder.value(node)
    produce: Callable[[], Any]
    if kind == "WALLCLOCKTIME" and attribute in ("CURRENTVALUE", "DATETIME", "LOCALDATETIME"):
        region = value.region
        if region is None:
            raise Unsupported(f"{ins}: the destination is a LINT, DINT[2] or DINT[7]")
        if attribute == "CURRENTVALUE":
            def produce() -> bytes:
                return system.wall_clock_us().to_bytes(8, "little", signed=True)
        elif attribute == "DATETIME":
            def produce() -> bytes:
                return _fields(system.wall_clock_us())
        else:
            def produce() -> bytes:
                return _fields(system.wall_clock_us() + system.local_offset_us())

        def run(rc: bool) -> bool:
            if rc:
                region.write(produce())
            return rc
        return Step(run)
    if kind == "TASK" and attribute in ("LASTSCANTIME", "MAXSCANTIME"):
        store, which = storer(target(ctx, node)), 0 if attribute == "LASTSCANTIME" else 1

        def scan_time(rc: bool) -> bool:
            if rc:
                store(system.scan_times_us()[which])
            return rc
        return Step(scan_time)
    if kind == "PROGRAM" and attribute in _RECORDS:
        region, status, field = value.region, ctx.status, _RECORDS[attribute]
        if region is None:
            raise Unsupported(f"{ins}: the destination is a DINT[11]")

        def record(rc: bool) -> bool:
            if rc:
                region.write(getattr(status, field))
            return rc
        return Step(record)
    if kind == "FAULTLOG" and attribute in _FAULT_LOG:
        store, status, field = storer(target(ctx, node)), ctx.status, _FAULT_LOG[attribute]

        def fault_log(rc: bool) -> bool:
            if rc:
                store(getattr(status, field))
            return rc
        return Step(fault_log)
    raise Unsupported(f"{ins}: GSV of {kind}.{attribute} is not supported")


def ssv(ctx: Context, ins: Instruction) -> Step:
    kind, attribute = _what(ins)
    node = ins.operands[3]
    if kind == "FAULTLOG" and attribute in _FAULT_LOG and node is not None:
        return _set_fault_log(ctx, ctx.binder.value(node).get, _FAULT_LOG[attribute])
    if kind == "PROGRAM" and attribute in _RECORDS and node is not None:
        source_region, status, field = ctx.binder.value(node).region, ctx.status, _RECORDS[attribute]
        if source_region is None:
            raise Unsupported(f"{ins}: the source is a DINT[11]")

        def set_record(rc: bool) -> bool:
            if rc:
                setattr(status, field, bytes(source_region.read(FAULT_RECORD.size)).ljust(FAULT_RECORD.size, b"\0"))
            return rc
        return Step(set_record)
    if kind != "WALLCLOCKTIME" or attribute not in ("CURRENTVALUE", "DATETIME") or node is None:
        raise Unsupported(f"{ins}: SSV of {kind}.{attribute} is not supported")
    region, system = ctx.binder.value(node).region, ctx.system
    if region is None:
        raise Unsupported(f"{ins}: the source is a LINT, DINT[2] or DINT[7]")

    def run(rc: bool) -> bool:
        if rc:
            if attribute == "CURRENTVALUE":
                system.set_wall_clock_us(int.from_bytes(region.read(8), "little", signed=True))
            else:
                system.set_wall_clock_us(_microseconds(region.read(_SEVEN.size)))
        return rc
    return Step(run)


#: The Program object's fault records (DINT[11]): the Status field each is.
_RECORDS = {"MAJORFAULTRECORD": "major_record", "MINORFAULTRECORD": "minor_record"}
#: The FaultLog object's attributes: the Status field each is.
_FAULT_LOG = {"MAJOREVENTS": "major_events", "MINOREVENTS": "minor_events", "MAJORFAULTBITS": "major_bits",
              "MINORFAULTBITS": "minor_bits"}


def _set_fault_log(ctx: Context, get: Callable[[], Any], field: str) -> Step:
    """SSV of a FaultLog attribute (a program clears MinorFaultBits so: S:MINOR goes with them)."""
    status = ctx.status

    def run(rc: bool) -> bool:
        if rc:
            setattr(status, field, int(get()))
            if field == "minor_bits" and not status.minor_bits:
                status.minor = False
        return rc
    return Step(run)


BUILDERS: Mapping[str, Builder] = MappingProxyType({"GSV": gsv, "SSV": ssv})
