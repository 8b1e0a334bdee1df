"""pycomm3's LogixDriver opens our simulator as it opens a ControlLogix, then reads and writes.

Its open() reads the identity, the controller name (class 0x64) and the whole
tag list (Symbol object, Get Instance Attribute List, in pages) before it
will touch a tag; the original cpppo 5.2.5 simulator fails that step.
"""

from __future__ import annotations

from pathlib import Path

import pycomm3
import pytest

from tests.enip_server_fixture import TwistdEnipServer

ATOMIC = {"SINT": -100, "INT": -30000, "DINT": -2_000_000_000, "LINT": -(2**62), "USINT": 200, "UINT": 60000,
          "UDINT": 4_000_000_000, "ULINT": 2**63, "REAL": 1.5, "LREAL": -2.25e100}


@pytest.fixture(scope="module")
def simulator():
    plant = str(Path(__file__).resolve().parents[1] / "cpppo" / "tests" / "data" / "tagfile.toml")
    with TwistdEnipServer.start(["--tags", plant, "SCADA=INT[1000]", "F=REAL[4]", "ONE=DINT", "FLAGS=DINT",
                                 "Grid=DINT[5,5]", "Bits=BOOL[64]", "Name=STRING", "Names=STRING[3]", "T1=TIMER",
                                 "Short=SSTRING", *[f"A_{t}={t}[3]" for t in ATOMIC],
                                 *[f"T{n:03d}=SINT[3]" for n in range(60)]]) as server:
        yield server


def test_logix_driver_opens_reads_and_writes(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert plc.info["product_name"] == "1756-L61/B LOGIX5561"
        assert plc.info["name"] == "Simulator"
        assert {"SCADA", "F", "ONE", "T000", "T059"} <= set(plc.tags)
        assert plc.tags["SCADA"]["dimensions"][0] == 1000
        assert not plc.write("SCADA[3]", 77).error
        assert plc.read("SCADA[3]").value == 77
        assert not plc.write("F{2}", [1.5, 2.5]).error
        assert plc.read("F{4}").value == [1.5, 2.5, 0.0, 0.0]
        assert not plc.write(("SCADA[10]{3}", [1, 2, 3])).error
        assert plc.read("SCADA[9]{5}").value == [0, 1, 2, 3, 0]
        assert plc.read("SCADA[0]{1000}").value[10:13] == [1, 2, 3]  # fragmented
        assert plc.read("NOPE").error
        assert not plc.write("FLAGS.5", True).error  # a bit of a DINT: Read Modify Write
        assert plc.read("FLAGS").value == 32 and plc.read("FLAGS.5").value is True
        assert not plc.write("FLAGS.5", False).error
        assert plc.read("FLAGS").value == 0
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:  # a second client sees the writes
        assert plc.read("SCADA[3]").value == 77


def test_arrays_and_bool_arrays(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert (plc.tags["Grid"]["dimensions"], plc.tags["Grid"]["dim"]) == ([5, 5, 0], 2)
        assert plc.tags["Bits"]["data_type"] == "DWORD"
        assert not plc.write("Grid[2,3]", 23).error
        assert plc.read("Grid[2,3]").value == 23
        assert plc.read("Grid[0,0]{25}").value[13] == 23
        assert not plc.write("Bits[35]", True).error
        assert plc.read("Bits[35]").value is True
        assert plc.read("Bits[0]{64}").value[35] is True


def test_pylogix_tag_list_and_bool_arrays(simulator) -> None:
    import pylogix
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        tags = comm.GetTagList()
        assert tags.Status == "Success"
        listed = {t.TagName: (t.DataType, t.Array) for t in tags.Value}
        assert listed["SCADA"] == ("INT", 1) and listed["Grid"] == ("DINT", 2) and listed["ONE"] == ("DINT", 0)
        assert comm.Write("Bits[4]", True).Status == "Success"
        assert comm.Read("Bits[4]").Value is True
        assert comm.Write("Grid[4,4]", -7).Status == "Success"
        assert comm.Read("Grid[4,4]").Value == -7


def test_strings_and_timers(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert plc.tags["Name"]["data_type_name"] == "STRING"
        assert plc.tags["T1"]["data_type_name"] == "TIMER"
        assert not plc.write("Name", "hello, world").error
        assert plc.read("Name").value == "hello, world"
        assert not plc.write("Names[1]", "two").error
        assert plc.read("Names{3}").value == ["", "two", ""]
        assert not plc.write("T1.PRE", 5000).error
        assert not plc.write("T1.DN", True).error
        timer = plc.read("T1").value
        assert (timer["PRE"], timer["DN"], timer["EN"]) == (5000, True, False)
        assert not plc.write("T1", {"PRE": 7, "ACC": 3, "EN": True, "TT": False, "DN": False}).error
        assert plc.read("T1.ACC").value == 3 and plc.read("T1.EN").value is True
        assert not plc.write("Short", "short one").error
        assert plc.read("Short").value == "short one"
    import pylogix
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        assert comm.Read("Name").Value == "hello, world"
        assert comm.Write("Name", "pylogix").Status == "Success"
        assert comm.Read("Name").Value == "pylogix"
        assert comm.Read("T1.PRE").Value == 7
        mixed = comm.Read(["Name", "T1.EN", "SCADA[3]"])
        assert [r.Value for r in mixed][:2] == ["pylogix", True]


def test_user_defined_types_and_program_tags(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert plc.tags["Motor1"]["data_type_name"] == "Motor"
        assert plc.tags["Lines"]["dimensions"][0] == 3
        motor = plc.read("Motor1").value
        assert (motor["Speed"], motor["Running"], motor["Label"], motor["Faults"]) == (1.5, True, "conveyor",
                                                                                       [1, 2, 0, 0])
        assert not plc.write("Lines[1].Motor.Speed", 9.5).error
        assert plc.read("Lines[1]").value["Motor"]["Speed"] == 9.5
        assert not plc.write("Motor1.Faulted", True).error
        assert plc.read("Motor1.Faulted").value is True and plc.read("Motor1.Running").value is True
        assert plc.read("Program:Main.Count").value == 3
        assert not plc.write("Program:Main.Count", 4).error
    import pylogix
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        listed = {t.TagName: t.DataType for t in comm.GetTagList(allTags=True).Value}
        assert listed["Motor1"] == "Motor" and listed["Program:Main.Count"] == "DINT"
        assert comm.Read("Program:Main.Count").Value == 4
        assert comm.Read("Motor1.Label").Value == "conveyor"
        assert comm.Read("Lines[1].Motor.Speed").Value == 9.5


def test_every_atomic_type(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        for kind, value in ATOMIC.items():
            assert plc.tags[f"A_{kind}"]["data_type_name"] == kind
            assert not plc.write(f"A_{kind}[1]", value).error, kind
            assert plc.read(f"A_{kind}[0]{{3}}").value[1] == value, kind


def test_pylogix_device_properties(simulator) -> None:
    import pylogix
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        device = comm.GetDeviceProperties().Value
        assert device.ProductName == "1756-L61/B LOGIX5561"
        assert device.Vendor.startswith("Rockwell")


def test_wireshark_reads_these_sessions(simulator, tmp_path) -> None:
    """A capture of pycomm3 opening and using the simulator: no malformed packet, the tags we meant."""
    import os
    import subprocess

    from tests.peers.pcap import tshark_available, write_pcap
    from tests.peers.proxy import RecordingProxy

    if not tshark_available():
        if os.environ.get("CI"):
            pytest.fail("tshark is not installed: `make test` installs it (apt-get install tshark)")
        pytest.skip("tshark is not installed")
    with RecordingProxy(simulator.port) as proxy:
        with pycomm3.LogixDriver(f"127.0.0.1:{proxy.port}/0") as plc:
            plc.read("Motor1.Speed", "Name", "Program:Main.Count", "SCADA[0]{10}")
            plc.write("Name", "wireshark")
        proxy.drain(quiet=0.3, timeout=5.0)
    frames = [f for f in proxy.frames() if f.conn == proxy.frames()[-1].conn]
    path = str(tmp_path / "pycomm3.pcap")
    write_pcap(path, frames)
    done = subprocess.run(["tshark", "-r", path, "-V"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "Malformed" not in done.stdout and "Expert Info (Error" not in done.stdout
    fields = subprocess.run(["tshark", "-r", path, "-Y", "cip", "-T", "fields", "-e", "cip.symbol"],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL).stdout
    for name in ("Motor1", "Speed", "Name", "Program:Main", "Count", "SCADA"):
        assert name in fields, name
