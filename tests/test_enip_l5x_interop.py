"""pycomm3 and pylogix against ``twistd -n cpppo-enip --l5x plant.L5X --csv plant.CSV``.

The simulator loads a Studio 5000 export written as Logix writes one and must
then look like that controller to the clients people test with: its name and
processor type, its tags as browsed (types, dimensions, external access, the
hidden ones absent), every initial value (atomic, arrays, BOOL arrays, nested
structures, STRING-family strings, TIMER members, program tags, raw data),
aliases sharing their base tag's storage, Read Only tags refusing writes.
(Skipped until the simulator takes --l5x.)
"""

from __future__ import annotations

from pathlib import Path

import pycomm3
import pytest

from tests.enip_server_fixture import TwistdEnipServer

DATA = Path(__file__).resolve().parents[1] / "cpppo" / "tests" / "data"

@pytest.fixture(scope="module")
def simulator():
    with TwistdEnipServer.start(["--l5x", DATA / "plant.L5X", "--csv", DATA / "plant.CSV"]) as server:
        yield server


def test_pycomm3_sees_the_exported_controller(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert plc.info["name"] == "Plant_PLC"
        assert plc.info["product_name"] == "1756-L83E"
        tags = plc.tags
        assert {"Counter", "Motor1", "Lines", "Title", "T1", "Valve1", "Limit", "Speed", "Pump"} <= set(tags)
        assert "Secret" not in tags and "Hidden" not in tags  # ExternalAccess None: not browsed
        assert tags["Grid"]["dimensions"][:2] == [2, 3] and tags["Grid"]["dim"] == 2
        assert tags["Flags"]["data_type"] == "DWORD"
        assert tags["Motor1"]["data_type"]["name"] == "Motor"
        assert tags["Lines"]["data_type"]["name"] == "Line" and tags["Lines"]["dimensions"][0] == 2
        assert tags["Limit"]["external_access"] == "Read Only"
        assert tags["Counter"]["external_access"] == "Read/Write"
        motor = tags["Motor1"]["data_type"]["internal_tags"]
        assert motor["Running"]["data_type"] == "BOOL" and motor["Label"]["data_type"]["name"] == "STRING20"


def test_pycomm3_reads_every_initial_value(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        values = {tag.tag: tag.value for tag in plc.read(
            "Counter", "Mask", "Setpoints{5}", "Grid[1,2]", "Flags[5]", "Flags[40]", "Flags[6]", "Counter.3",
            "Motor1.Speed", "Motor1.Running", "Motor1.Faulted", "Motor1.Faults[0]", "Motor1.Label",
            "Lines[0].Main.Faulted", "Lines[0].Count", "Lines[1].Spares[1].Speed", "Lines[1].Spares[1].Label",
            "Title", "Message", "T1.PRE", "T1.ACC", "T1.EN", "RawPair{2}", "RawMotor.Speed", "RawMotor.Label",
            "Valve1.Position", "Valve1.Open", "Program:MainProgram.Local", "Program:MainProgram.Recipe.Speed")}
        assert values == {
            "Counter": 42, "Mask": -1, "Setpoints": [1.5, 2.5, 0.0, 0.0, -4.25], "Grid[1,2]": 12,
            "Flags[5]": True, "Flags[40]": True, "Flags[6]": False, "Counter.3": True,
            "Motor1.Speed": 1.5, "Motor1.Running": True, "Motor1.Faulted": False, "Motor1.Faults[0]": 7,
            "Motor1.Label": "conveyor", "Lines[0].Main.Faulted": True, "Lines[0].Count": 5,
            "Lines[1].Spares[1].Speed": 9.5, "Lines[1].Spares[1].Label": "spare",
            "Title": "Packaging 'A'", "Message": "hello", "T1.PRE": 5000, "T1.ACC": 250, "T1.EN": True,
            "RawPair": [-5, 70000], "RawMotor.Speed": 2.5, "RawMotor.Label": "ok",
            "Valve1.Position": 0.75, "Valve1.Open": True, "Program:MainProgram.Local": 7,
            "Program:MainProgram.Recipe.Speed": 12.5}
        whole = plc.read("Motor1").value  # a whole structure, decoded by pycomm3 from our template
        assert whole["Speed"] == 1.5 and whole["Running"] is True and whole["Label"] == "conveyor"
        assert plc.read("Pump.Speed").value == 0.0 and plc.read("Counts{10}").value == [0] * 10  # CSV: zeros


def test_pycomm3_writes_aliases_and_access(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert plc.read("Count_Alias").value == plc.read("Counter").value
        assert not plc.write("Count_Alias", 1234).error
        assert plc.read("Counter").value == 1234  # one storage
        assert not plc.write("Program:MainProgram.LocalAlias", 8).error
        assert plc.tags["Motor_Speed"]["data_type_name"] == "REAL"  # an alias of a member: its type
        speed, spare = plc.read("Motor1.Speed").value, plc.read("Lines[1].Spares[1].Speed").value
        assert plc.read("Motor_Speed").value == speed
        assert not plc.write("Motor_Speed", 3.25).error
        assert plc.read("Motor1.Speed").value == 3.25
        assert not plc.write("Line1_Spare.Speed", 6.5).error
        assert plc.read("Lines[1].Spares[1].Speed").value == 6.5
        assert not plc.write("Motor_Speed", speed).error and not plc.write("Line1_Spare.Speed", spare).error
        counter = plc.read("Counter").value
        assert plc.tags["Counter_Bit3"]["data_type_name"] == "BOOL"  # an alias of a bit of a DINT
        assert not plc.write("Counter_Bit3", not counter >> 3 & 1).error
        assert plc.read("Counter").value == counter ^ 8
        assert plc.read("Counter_Bit3").value is bool(~counter >> 3 & 1)
        assert not plc.write("Counter", counter).error
        assert plc.read("Program:MainProgram.Local").value == 8
        assert plc.write("Limit", 5).error  # Read Only
        assert plc.read("Limit").value == 100
        assert plc.read("Secret").error  # ExternalAccess None
        assert not plc.write("Banner", "from CSV").error
        assert plc.read("Banner").value == "from CSV"
        assert not plc.write("Program:Packing.Station[2].Speed", 3.5).error
        assert plc.read("Program:Packing.Station[2].Speed").value == 3.5


def test_pylogix_reads_and_is_refused(simulator) -> None:
    import pylogix
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        listed = comm.GetTagList()
        assert listed.Status == "Success"
        names = {t.TagName: t for t in listed.Value}
        assert {"Counter", "Motor1", "Limit", "Program:MainProgram.Local"} <= set(names)
        assert "Secret" not in names
        assert names["Motor1"].DataType == "Motor"
        assert comm.Read("Setpoints[4]").Value == -4.25
        assert comm.Read("Lines[1].Spares[1].Speed").Value == 9.5
        assert comm.Read("Motor1.Running").Value is True
        assert comm.Read("T1.PRE").Value == 5000
        assert comm.Read("Program:MainProgram.Recipe.Speed").Value == 12.5
        refused = comm.Write("Limit", 1)
        assert refused.Status == "Privilege violation"
        assert comm.Read("Limit").Value == 100
