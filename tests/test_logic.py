"""The controller runs its L5X program, seen through real clients: pylogix and pycomm3.

One in-process server per export (on the shared reactor thread, :mod:`cpppo.blocking`, listening
on 127.0.0.1 at a port the OS picks) whose controller's clock is a ``twisted.internet.task.Clock``:
the test steps scans and timers exactly (``blocking.call(clock.advance, 0.01)`` is one continuous
scan), and the clients read and write over TCP as they would against a ControlLogix.  Expected
values come from the instruction reference (1756-RM003, tabled in logix-logic-notes section 4).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pylogix
import pytest
from pycomm3 import LogixDriver
from twisted.internet.task import Clock

from cpppo import blocking
from cpppo.enip.simulator import options, run
from cpppo.enip.simulator.listeners import description, listen
from cpppo.tests.resources import data_file

SCAN = 0.010
TIMEOUT = 10.0


@dataclass
class Served:
    service: Any
    clock: Clock
    port: int
    web: Any = None

    def scan(self, count: int = 1) -> None:
        """*count* continuous scans (10 ms each on the controller's clock), on the reactor thread."""
        def advance() -> None:
            for _ in range(count):
                self.clock.advance(SCAN)
        blocking.call(advance, timeout=TIMEOUT)

    @property
    def logic(self) -> Any:
        return self.service.controller.logic


def _serve(name: str, web: bool, extra: tuple[str, ...]) -> Served:
    """On the reactor thread: the export's service on a fake clock, listening on loopback."""
    from twisted.internet import reactor

    from cpppo.enip.web.app import start_web

    clock = Clock()
    ap = options.parser()
    settings = options.configure(ap.parse_args(["--no-config", "--l5x", data_file(f"logic/{name}"), *extra]), ap)
    service = run.build_service(settings, clock=clock)
    listener = listen(reactor, service, description("127.0.0.1", 0), udp=False)
    served = Served(service, clock, listener.bound[1])
    if web:
        served.web = start_web(service, ("127.0.0.1", 0), reactor)
    return served


def _stop(served: Served) -> None:
    served.logic.stop()
    if served.web is not None:
        served.web.stopListening()
    return served.service.transport.stop()


@pytest.fixture
def machine() -> Iterator[Served]:
    served = blocking.call(_serve, "machine.L5X", True, (), timeout=TIMEOUT)
    yield served
    blocking.call(_stop, served, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def instructions() -> Iterator[Served]:
    served = blocking.call(_serve, "instructions.L5X", False, (), timeout=TIMEOUT)
    blocking.call(served.clock.advance, 0, timeout=TIMEOUT)  # the first scan
    served.scan(2)
    yield served
    blocking.call(_stop, served, timeout=TIMEOUT)


def _plc(served: Served) -> pylogix.PLC:
    return pylogix.PLC("127.0.0.1", port=served.port, timeout=5.0)


def _logix(served: Served) -> LogixDriver:
    driver = LogixDriver(f"127.0.0.1:{served.port}", init_program_tasks=False)
    driver.socket_timeout = 5.0
    return driver


def _read(comm: pylogix.PLC, *names: str) -> list[Any]:
    replies = comm.Read(list(names))
    assert all(r.Status == "Success" for r in replies), [(r.TagName, r.Status) for r in replies]
    return [r.Value for r in replies]


def test_ton_drives_ctu_drives_mov_and_otl(machine: Served) -> None:
    """T1 (PRE 100 ms) restarts on its DN; C1 (PRE 3) counts DNs; at 3, MOV(42,Result) and OTL(Latched)."""
    machine.scan(1)
    with _plc(machine) as comm:
        assert comm.Write("Start", True).Status == "Success"
        machine.scan(25)  # 2 timer cycles of 100 ms + a reset scan each
        assert _read(comm, "C1.ACC", "C1.DN", "Result", "Latched") == [2, False, 0, False]
        machine.scan(10)
        assert _read(comm, "C1.ACC", "C1.DN", "Result", "Latched") == [3, True, 42, True]
        assert comm.Write("Start", False).Status == "Success"
        machine.scan(1)
        assert _read(comm, "T1.EN", "T1.ACC") == [False, 0]  # a false rung resets the TON
    with _logix(machine) as driver:
        timer = driver.read("T1").value
        assert (timer["PRE"], timer["ACC"], timer["DN"]) == (100, 0, False)


def test_branch_and_rung_condition(machine: Served) -> None:
    """XIC(A)[XIC(B) ,XIO(C) ]OTE(Out1): OTE follows A AND (B OR NOT C), clearing on a false rung."""
    machine.scan(1)
    with _plc(machine) as comm:
        seen = []
        for a, b, c in ((1, 0, 0), (1, 0, 1), (1, 1, 1), (0, 1, 1)):
            for name, value in (("A", a), ("B", b), ("C", c)):
                assert comm.Write(name, bool(value)).Status == "Success"
            machine.scan(1)
            seen.append(_read(comm, "Out1")[0])
        assert seen == [True, False, True, False]


def test_modes_prescan_and_first_scan_through_pycomm3(machine: Served) -> None:
    """get_plc_info's key switch follows the mode; Program stops the scan; Run prescans (OTE cleared before
    any scan) and S:FS runs the first-scan rung again."""
    machine.scan(2)
    with _logix(machine) as driver:
        assert driver.get_plc_info()["keyswitch"] == "REMOTE RUN"
        driver.write(("A", True), ("B", True))
        machine.scan(1)
        assert driver.read("Out1").value is True
        blocking.call(machine.logic.set_mode, "program", timeout=TIMEOUT)
        assert driver.get_plc_info()["keyswitch"] == "REMOTE PROG"
        scans = driver.read("Scans").value
        driver.write(("FirstScanValue", 0), ("A", False))
        machine.scan(5)
        assert driver.read("Scans").value == scans  # not scanning
        assert driver.read("Out1").value is True  # (the rung is false now, but nothing scans it)
        blocking.call(machine.logic.set_mode, "run", timeout=TIMEOUT)
        assert driver.read("Out1").value is False  # prescan
        assert driver.read("FirstScanValue").value == 0
        blocking.call(machine.clock.advance, 0, timeout=TIMEOUT)
        assert driver.read("FirstScanValue").value == 7
        assert driver.get_plc_info()["keyswitch"] == "REMOTE RUN"


def _post(served: Served, path: str, value: str, origin: str | None = None) -> tuple[int, dict[str, Any]]:
    host = served.web.getHost()
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    if origin:
        headers["Origin"] = origin
    request = urllib.request.Request(f"http://127.0.0.1:{host.port}/api/{path}", data=f"value={value}".encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_web_api_switches_mode_under_the_origin_rules(machine: Served) -> None:
    """``server/logic/mode`` is a state-changing command: from another origin 403, from a script it switches."""
    machine.scan(1)
    status, _ = _post(machine, "server/logic/mode", "program", origin="http://evil.example")
    assert status == 403
    assert machine.logic.mode.value == "Run"
    status, content = _post(machine, "server/logic/mode", "program")
    assert status == 200, content
    assert content["data"]["server"]["logic"]["mode"] == "Program"
    with _logix(machine) as driver:
        assert driver.get_plc_info()["keyswitch"] == "REMOTE PROG"
    status, content = _post(machine, "server/logic/mode", "run")
    assert content["data"]["server"]["logic"]["mode"] == "Run"
    routines = {(r["program"], r["routine"]): r["state"] for r in content["data"]["server"]["logic"]["routines"]}
    assert routines[("MainProgram", "MainRoutine")] == "running"
    assert routines[("DisabledProgram", "Main")] == "not scheduled"


def test_a_major_fault_shows_in_the_fault_record_and_clears(machine: Served) -> None:
    """An indirect subscript out of range faults the controller (type 4 code 20): pylogix reads the fault
    record (class 0x73, Get Attributes All) as its Message() example does; the web API clears it."""
    machine.scan(1)
    with _plc(machine) as comm:
        assert comm.Write("Idx", 11).Status == "Success"
        machine.scan(1)
        reply = comm.Message(0x01, 0x73, 1)  # Get Attributes All of the fault record
        record = bytes(reply.Value[-24:])
        assert (int.from_bytes(record[20:22], "little"), int.from_bytes(record[22:24], "little")) == (4, 20)
        assert comm.Write("Idx", 2).Status == "Success"
    status, content = _post(machine, "server/logic/clear", "true")
    assert status == 200 and content["data"]["server"]["logic"]["mode"] == "Run"
    machine.scan(1)
    with _plc(machine) as comm:
        assert _read(comm, "Arr[2]") == [2]


INSTRUCTION_VALUES = {  # RM003 (notes section 4) for the rungs of instructions.L5X, MathA=7 MathB=2 RealA=2.5
    "OteOut": True, "XioOut": False, "Latch": True, "Unlatch": False, "OnsCount": 0,
    "EquOut": True, "NeqOut": True, "LesOut": True, "LeqOut": True, "GrtOut": False, "GeqOut": True,
    "LimIn": True, "LimOutside": False, "LimCircular": False, "MeqOut": True, "MeqNot": False,
    "AddOut": 9, "SubOut": -5, "MulOut": 14, "DivOut": 3, "DivNeg": -3, "DivRound": 3, "DivZero": -1,
    "ModOut": 1, "ModNeg": -1, "NegOut": -7, "AbsOut": 7, "SqrOut": 4, "SintOut": -128, "SawOverflow": True,
    "MovRound": 4, "MovEven": 2, "MovInt": -7616, "MvmOut": 0x7F005678, "ClrOut": 0,
    "SwpReverse": 0x0D0C0B0A, "SwpWord": 0x0C0D0A0B, "SwpHighLow": 0x0B0A0D0C, "SwpInt": 0x3412,
    "SubCalls": 3, "AfterRet": 0, "NopOut": True, "AfiOut": False,
    "BranchOut": True, "WireOut": True, "LegA": True, "LegB": True, "ClearedOut": False,
    "Word": 8, "FirstScans": 1, "Motor1.Run": True, "Motor1.Speed": 12.5, "Program:Main.Local": 5,
}


def test_every_instruction_through_pylogix(instructions: Served) -> None:
    with _plc(instructions) as comm:
        names = list(INSTRUCTION_VALUES)
        got = dict(zip(names, _read(comm, *names)))
        assert got == INSTRUCTION_VALUES
        assert _read(comm, "CopDest[0]")[0] == 1
        assert comm.Read("CopDest[0]", 5).Value == [1, 2, 3, 0, 0]
        assert comm.Read("CopInts[0]", 4).Value == [1, 0, 2, 0]
        assert comm.Read("CpsDest[0]", 4).Value == [3, 4, 9, 9]
        assert comm.Read("FllDest[0]", 5).Value == [0, 7, 7, 7, 0]
        assert comm.Read("FllEnd[0]", 5).Value == [0, 0, 0, 9, 9]
        assert comm.Read("Arr[0]", 5).Value == [0, 0, 0, 99, 0]
        assert _read(comm, "Flags[3]", "Flags[4]") == [True, False]


def test_timers_through_pycomm3(instructions: Served) -> None:
    """TON PRE 500: 30 scans of 10 ms after the first true one give ACC 300 and TT; at 500, DN."""
    with _logix(instructions) as driver:
        driver.write("TonIn", True)
        instructions.scan(31)
        timer = driver.read("TonT").value
        assert (timer["EN"], timer["TT"], timer["DN"], timer["ACC"]) == (True, True, False, 300)
        instructions.scan(25)
        timer = driver.read("TonT").value
        assert (timer["TT"], timer["DN"], timer["ACC"]) == (False, True, 500)
        driver.write("TonIn", False)
        instructions.scan(1)
        assert driver.read("TonT.ACC").value == 0


def test_tof_rto_ctd_osr_through_pycomm3(instructions: Served) -> None:
    """Notes 4.1 to 4.3, each step's values worked out from the instruction tables: TOF (PRE 300) is done
    while its rung is true and times once it goes false; RTO (PRE 400) keeps ACC over a false rung and
    only RES clears it; CTD counts each false-to-true edge down; OSR's output is on for one scan."""
    with _logix(instructions) as driver:
        def timer(name: str) -> tuple[Any, ...]:
            value = driver.read(name).value
            return value["EN"], value["TT"], value["DN"], value["ACC"]

        driver.write(("TofIn", True), ("RtoIn", True), ("CountDown", True), ("Pulse", True))
        instructions.scan(1)
        assert (timer("TofT"), driver.read("OsrOut").value) == ((True, False, True, 0), True)
        assert driver.read("Cnt.ACC").value == -1
        driver.write(("TofIn", False), ("CountDown", False))
        instructions.scan(20)  # the first false scan starts the TOF, 19 more: 190 ms; the RTO at 200 ms
        assert (timer("TofT"), timer("RtoT")) == ((False, True, True, 190), (True, True, False, 200))
        assert (driver.read("OsrOut").value, driver.read("OsrCount").value) == (False, 1)
        driver.write(("RtoIn", False), ("CountDown", True))
        instructions.scan(11)
        assert (timer("TofT"), timer("RtoT")) == ((False, False, False, 300), (False, False, False, 200))
        assert driver.read("Cnt.ACC").value == -2
        driver.write(("RtoIn", True))
        instructions.scan(21)  # the first true scan restarts timing from 200, 20 more: 400 and done
        assert timer("RtoT") == (True, False, True, 400)
        driver.write(("RtoIn", False), ("RtoReset", True))
        instructions.scan(1)
        assert timer("RtoT") == (False, False, False, 0)
        driver.write(("RtoReset", False), ("Pulse", False), ("CountDown", False))


def test_unsupported_routine_idle_the_rest_runs() -> None:
    served = blocking.call(_serve, "unsupported.L5X", False, (), timeout=TIMEOUT)
    try:
        served.scan(3)
        with _plc(served) as comm:
            ok, bad, other = _read(comm, "Ok", "BadCount", "Other")
        assert ok >= 3 and (bad, other) == (0, 0)
        problems = [str(p) for p in served.logic.statistics.problems]
        assert problems == ["program Plant routine Control rung 1: instruction PID is not supported",
                            "program Plant routine Calc: routine type ST is not supported"]
    finally:
        blocking.call(_stop, served, timeout=TIMEOUT)


def test_readme_example_is_the_shipped_export() -> None:
    """README's "Your program runs" shows conveyor.L5X whole: it must be the file the tests ship."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### Your program runs"):]
    shown = section[section.index("```xml\n") + 7:section.index("```", section.index("```xml\n") + 7)]
    assert shown == Path(data_file("logic/conveyor.L5X")).read_text()


def test_readme_example_counts_three_ticks() -> None:
    """The example as README runs it: Start, then 3.5 s later three ticks counted, Batch 3 and Full."""
    served = blocking.call(_serve, "conveyor.L5X", False, (), timeout=TIMEOUT)
    try:
        served.scan(1)
        with _plc(served) as comm:
            assert comm.Write("Start", True).Status == "Success"
            served.scan(350)
            assert _read(comm, "Parts.ACC", "Batch", "Full") == [3, 3, True]
    finally:
        blocking.call(_stop, served, timeout=TIMEOUT)


def test_readme_lists_every_instruction_that_runs() -> None:
    """README's "What runs" names each instruction of the registry (and so stays true as it grows)."""
    import re
    from pathlib import Path

    from cpppo.logic.instructions import supported

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("**What runs.**"):readme.index("**Faults, as a Logix raises them.**")]
    named = set(re.findall(r"\b[A-Z]{2,6}\b", section))
    assert [m for m in supported() if m not in named] == []


def test_a_read_never_sees_half_a_scan() -> None:
    """Rung 10 sets Half to 1 and rung 11 back to 0 in every scan: scanning back to back on the real
    clock (``twistd -n cpppo-enip --scan-period 0``), 500 pylogix reads never see the 1."""
    from tests import enip_server_fixture as fx

    extra = ["--l5x", data_file("logic/machine.L5X"), "--scan-period", "0"]
    with fx.TwistdEnipServer.start((), extra_args=extra) as server:
        with pylogix.PLC("127.0.0.1", port=server.port, timeout=5.0) as comm:
            first = _read(comm, "Scans")[0]
            seen = {value for _ in range(500) for value in _read(comm, "Half")}
            assert _read(comm, "Scans")[0] > first  # (it was scanning all along)
        assert seen == {0}
