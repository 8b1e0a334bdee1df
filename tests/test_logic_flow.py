"""Issue 25 through real clients: strings, subroutine parameters, jumps, files and the wall clock
of ``flow.L5X`` read with pycomm3 and pylogix, and the faults of ``faults.L5X`` in the fault record.

The server runs in this process on the shared reactor thread with its controller on a fake clock
(tests/test_logic.py's fixture), so scans are stepped exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cpppo import blocking
from tests.test_logic import TIMEOUT, Served, _logix, _plc, _post, _read, _serve, _stop


@pytest.fixture(scope="module")
def flow() -> Iterator[Served]:
    served = blocking.call(_serve, "flow.L5X", False, (), timeout=TIMEOUT)
    blocking.call(served.clock.advance, 0, timeout=TIMEOUT)
    served.scan(2)
    yield served
    blocking.call(_stop, served, timeout=TIMEOUT)


def test_strings_through_pycomm3(flow: Served) -> None:
    """CONCAT, MID, FIND (1-based), DELETE, INSERT, MOV of STRINGs; a too-long CONCAT cut to a STRING8."""
    with _logix(flow) as driver:
        got = {tag.tag: tag.value for tag in driver.read("S3", "Mid", "FindPos", "Del", "Ins", "MovStr", "Short")}
    assert got == {"S3": "Hello World", "Mid": "World", "FindPos": 7, "Del": "Hello", "Ins": "Hello World",
                   "MovStr": "Hello", "Short": "Hello Wo"}


def test_expressions_subroutines_jumps_files_through_pylogix(flow: Served) -> None:
    with _plc(flow) as comm:
        assert _read(comm, "CptOut", "CptPrec", "CptMod", "CptNot", "CmpOut") == [17, 50, 1, -1, True]
        assert _read(comm, "SqOut", "Skipped", "ZoneOut", "AfterZone", "EndB") == [49, 0, False, True, 0]
        assert comm.Read("Bits[0]", 64).Value == [False] * 32 + [True] * 32
        assert comm.Read("FalDest[0]", 5).Value == [0, 10, 20, 30, 40]
        assert _read(comm, "FscFound", "FscCtl.FD", "BtdOut", "SawN", "SawZ") == [2, True, 0x0F00, True, True]


def test_ssv_sets_the_clock_pylogix_reads(flow: Served) -> None:
    """SSV(WallClockTime,,CurrentValue,SetTime): pylogix's GetPLCTime then reads that time."""
    with _plc(flow) as comm:
        assert comm.Write("SetTime", 981_173_106_000_000).Status == "Success"
        assert comm.Write("DoSet", True).Status == "Success"
        flow.scan(1)
        when = comm.GetPLCTime(raw=True)
        assert when.Status == "Success"
        assert when.Value == 981_173_106_000_000
        assert _read(comm, "DoSet") == [False]


def test_watchdog_fault_in_the_record_and_cleared() -> None:
    """A jump loop past the 20 ms watchdog: major fault 6/1 in the fault record (pylogix's Message()),
    the web API's ``server/logic`` shows it, and ``clear`` returns to Run."""
    served = blocking.call(_serve, "faults.L5X", True, (), timeout=TIMEOUT)
    try:
        blocking.call(served.clock.advance, 0, timeout=TIMEOUT)
        with _plc(served) as comm:
            assert comm.Write("SpinOn", True).Status == "Success"
            served.scan(1)
            record = bytes(comm.Message(0x01, 0x73, 1).Value[-24:])
            assert (int.from_bytes(record[20:22], "little"), int.from_bytes(record[22:24], "little")) == (6, 1)
            assert comm.Write("SpinOn", False).Status == "Success"
        status, content = _post(served, "server/logic/clear", "true")
        assert status == 200
        logic = content["data"]["server"]["logic"]
        assert (logic["mode"], logic["fault"]) == ("Run", None)
    finally:
        blocking.call(_stop, served, timeout=TIMEOUT)


def test_setplctime_is_what_gsv_reads(flow: Served) -> None:
    """The other way round: pylogix's SetPLCTime sets the controller's clock to this host's time, and
    the next scan's GSV(WallClockTime,,CurrentValue,Now) reads that clock (10 ms of fake clock later)."""
    import time

    with _plc(flow) as comm:
        assert comm.SetPLCTime().Status == "Success"
        set_at = time.time()
        flow.scan(1)
        now = _read(comm, "Now")[0]
        when = comm.GetPLCTime(raw=True).Value
    assert abs(now / 1e6 - set_at) < 5.0  # (the host's clock moved on while the request ran)
    assert now <= when  # GetPLCTime reads the same clock, no earlier than the scan that read it


@pytest.fixture
def flags() -> Iterator[Served]:
    served = blocking.call(_serve, "flags.L5X", True, (), timeout=TIMEOUT)
    blocking.call(served.clock.advance, 0, timeout=TIMEOUT)
    yield served
    blocking.call(_stop, served, timeout=TIMEOUT)


def test_status_flags_in_rungs_not_cip_tags(flags: Served) -> None:
    """Rungs read S:C, S:V, S:Z, S:N (ADD -1+1: Z and C; 2147483647+1: V and N; MOV 123456 into an INT: V);
    a client asking for ``S:V`` itself gets an error status (the flags are keywords, not tags)."""
    with _plc(flags) as comm:
        assert _read(comm, "AddZ", "AddC", "AddV", "WrapV", "WrapN", "WrapC", "MovV", "IntOut") == [
            True, True, False, True, True, False, True, -7616]
        for keyword in ("S:V", "S:FS", "S:MINOR"):
            assert comm.Read(keyword).Status != "Success"
    with _logix(flags) as driver:
        assert driver.read("S:C").error


@pytest.mark.parametrize("trigger, code", [("BadLen", 21), ("BadJump", 42), ("BadMid", 56)])
def test_program_faults_in_the_record_and_cleared_by_the_fault_command(flags: Served, trigger: str,
                                                                        code: int) -> None:
    """A CONTROL's LEN below zero (4/21), a JMP to no label (4/42), a MID past the string's end (4/56):
    pylogix reads type 4 and the code from the fault record; ``server/fault/clear`` returns to Run."""
    with _plc(flags) as comm:
        assert comm.Write(trigger, True).Status == "Success"
        flags.scan(1)
        record = bytes(comm.Message(0x01, 0x73, 1).Value[-24:])
        assert (int.from_bytes(record[20:22], "little"), int.from_bytes(record[22:24], "little")) == (4, code)
        assert comm.Write(trigger, False).Status == "Success"
        status, content = _post(flags, "server/logic/mode", "run")
        assert status == 400  # faulted: clear it first
        status, content = _post(flags, "server/fault/clear", "true")
        assert status == 200 and content["data"]["server"]["fault"] == {"major": 0, "minor": 0, "clear": True}
        assert flags.logic.mode.value == "Run"
        scans = _read(comm, "MinorCount")[0]
        flags.scan(1)
        assert _read(comm, "MinorCount")[0] == scans + 4  # (scanning again)
        record = bytes(comm.Message(0x01, 0x73, 1).Value[-24:])
        assert record[20:24] == bytes(4)


def test_string_cop_equ_neq_through_pycomm3(flags: Served) -> None:
    """COP of a STRING copies LEN and DATA ('abc'); EQU of the copy is true, NEQ false; NEQ of 'abc' and
    an empty STRING true."""
    with _logix(flags) as driver:
        got = {tag.tag: tag.value for tag in driver.read("CopStr", "StrEqu", "StrNeq", "StrDiffer")}
    assert got == {"CopStr": "abc", "StrEqu": True, "StrNeq": False, "StrDiffer": True}
