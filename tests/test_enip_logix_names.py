"""pylogix and pycomm3 against ``twistd -n cpppo-enip --l5x fidelity.L5X --csv fidelity.CSV``.

The export has what a real project has and our simulator once left out or got
wrong: produced and consumed tags (loaded, browsed and served as base tags),
names a client spells in another case than the export (``BaseBool`` for
``BaseBOOL``, as pylogix's own tests ask; a controller ignores ASCII case in tag,
program, alias and member names while browsing keeps the declared spelling),
and constants (client writes refused as for a Read Only tag).  pycomm3 matches
names against its own tag list, case-sensitively, so it is driven with the
declared spellings; pylogix sends each name as given, so it drives the case.
"""

from __future__ import annotations

from pathlib import Path

import pycomm3
import pylogix
import pytest

from tests import enip_server_fixture as fx

DATA = Path(__file__).resolve().parents[1] / "cpppo" / "tests" / "data"
PRODUCED_CONSUMED = {"ProdCounts", "ProdMotor", "ConsSpeed", "ConsMotor", "CsvProduced", "CsvConsumed"}


@pytest.fixture(scope="module")
def simulator():
    with fx.serving(["--l5x", DATA / "fidelity.L5X", "--csv", DATA / "fidelity.CSV"]) as server:
        yield server


def test_pylogix_reads_names_in_any_case(simulator) -> None:
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        values = {name: comm.Read(name) for name in (
            "BaseBool", "basebool", "BASEDINT", "basedintarray[3]", "BaseBoolArray[33]", "basestring",
            "motor_a.runcmd", "Motor_A.faultbit", "MOTOR_A.flags", "program:packingline.batchcount",
            "PROGRAM:PackingLine.RecipeData.speed", "Program:packingline.batchalias", "linespeedalias",
            "motora_run")}
        assert {name: (r.Status, r.Value) for name, r in values.items()} == {
            "BaseBool": ("Success", True), "basebool": ("Success", True), "BASEDINT": ("Success", 12345),
            "basedintarray[3]": ("Success", 13), "BaseBoolArray[33]": ("Success", True),
            "basestring": ("Success", "Hello"), "motor_a.runcmd": ("Success", True),
            "Motor_A.faultbit": ("Success", False), "MOTOR_A.flags": ("Success", 5),
            "program:packingline.batchcount": ("Success", 12), "PROGRAM:PackingLine.RecipeData.speed": ("Success", 2.5),
            "Program:packingline.batchalias": ("Success", 12), "linespeedalias": ("Success", 0.0),
            "motora_run": ("Success", True)}
        assert comm.Write("basedint", 54321).Status == "Success"
        assert comm.Read("BaseDINT").Value == 54321
        for missing in ("BaseDIN", "Motor_A.NoSuch", "program:packingline.nosuch"):
            assert comm.Read(missing).Status == "Path segment error"  # 0x04, whatever the case


def test_pylogix_lists_produced_and_consumed_as_declared(simulator) -> None:
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        listed = comm.GetTagList()
        assert listed.Status == "Success"
        types = {t.TagName: t.DataType for t in listed.Value}
        assert set(types) >= PRODUCED_CONSUMED
        assert {"BaseBOOL", "Motor_A", "LineSpeedALIAS", "Program:PackingLine.RecipeDATA",
                "Program:PackingLine.BatchALIAS"} <= set(types)  # the declared spellings
        assert not {"BaseBool", "basebool"} & set(types)
        assert (types["ProdCounts"], types["ConsMotor"], types["CsvConsumed"]) == ("DINT", "MotorData", "MotorData")
        assert comm.Read("ProdCounts[3]").Value == 400
        assert comm.Write("ConsSpeed", 4.5).Status == "Success"  # consumed: written locally
        assert comm.Read("LineSpeedAlias").Value == 4.5


def test_pylogix_is_refused_writing_a_constant(simulator) -> None:
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        for name, value in (("MaxSpeed", 1.0), ("maxspeed", 1.0), ("SpeedTable[1]", 5), ("CsvLIMIT", 1),
                            ("Program:PackingLine.MaxBatch", 3)):
            assert comm.Write(name, value).Status == "Privilege violation", name
        assert comm.Read("MaxSpeed").Value == 1800.0
        assert comm.Read("SpeedTable[1]").Value == 1200


def test_pycomm3_browses_and_serves_produced_and_consumed_tags(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert plc.info["name"] == "Fidelity_PLC"
        tags = plc.tags
        assert set(tags) >= PRODUCED_CONSUMED
        assert tags["ProdCounts"]["dimensions"][0] == 4 and tags["ProdCounts"]["data_type"] == "DINT"
        assert tags["ProdMotor"]["external_access"] == "Read Only"
        assert tags["ConsMotor"]["data_type"]["name"] == "MotorData"
        members = tags["Motor_A"]["data_type"]["internal_tags"]
        assert {"RunCmd", "FaultBIT", "StatusWord", "TotalRUNTime", "Alarms"} <= set(members)  # as declared
        assert plc.read("ProdCounts{4}").value[:3] == [100, 200, 300]
        assert not plc.write("ProdCounts{4}", [1, 2, 3, 4]).error
        assert plc.read("ProdCounts{4}").value == [1, 2, 3, 4]
        assert plc.read("ProdMotor.Speed").value == 7.5
        assert plc.write("ProdMotor.Speed", 1.0).error  # its ExternalAccess: Read Only
        assert not plc.write("CsvConsumed.Speed", 2.25).error
        assert plc.read("CsvConsumed").value["Speed"] == 2.25


def test_pycomm3_mixed_case_members_and_constants(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        values = {t.tag: t.value for t in plc.read("Motor_A.RunCmd", "Motor_A.Alarms[2]", "Motor_A.StatusWord",
                                                     "Program:PackingLine.RecipeDATA.StatusWord")}
        assert values == {"Motor_A.RunCmd": True, "Motor_A.Alarms[2]": True, "Motor_A.StatusWord": -3,
                          "Program:PackingLine.RecipeDATA.StatusWord": 9}
        written = plc.write(("Motor_A.FaultBIT", True), ("Motor_A.TotalRUNTime", 2**40),
                            ("Program:PackingLine.RecipeDATA.Speed", 6.5))
        assert [w.error for w in written] == [None, None, None]
        assert [t.value for t in plc.read("Motor_A.FaultBIT", "Motor_A.TotalRUNTime",
                                          "Program:PackingLine.RecipeDATA.Speed")] == [True, 2**40, 6.5]
        refused = plc.write(("MaxSpeed", 5.0), ("Program:PackingLine.MaxBatch", 1), ("CsvLIMIT", 1))
        assert all(w.error for w in refused)
        assert plc.read("MaxSpeed").value == 1800.0 and plc.read("Program:PackingLine.MaxBatch").value == 50
