"""What a Logix controller does with names and tags our exports once left out, at the service level.

``data/fidelity.L5X`` and ``data/fidelity.CSV`` (as Studio 5000 writes them)
declare produced and consumed tags, mixed-case names in both scopes (``BaseBOOL``,
``Program:PackingLine.RecipeDATA.StatusWord``, the alias ``LineSpeedALIAS``) and
constants.  A controller loads produced and consumed tags as base tags, matches
every name ignoring ASCII case while browsing keeps the declared spelling, and
refuses client writes to constants as to Read Only tags.  tests/test_enip_logix_names.py
drives the same through pylogix and pycomm3.
"""

from __future__ import annotations

import struct

from twisted.internet import defer
from twisted.trial import unittest

from cpppo.enip.codec import browse, cip
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec import types as cip_types
from cpppo.enip.codec.codes import GeneralStatus
from cpppo.enip.codec.epath import Logical, Symbolic, parse_tag
from cpppo.enip.simulator.controller.device import CIPError
from cpppo.enip.simulator.controller.names import declared, fold
from cpppo.enip.simulator.controller.structures import Member, Structure
from cpppo.enip.simulator.loaders import csvtags, l5x
from cpppo.enip.web import api
from cpppo.tests.resources import data_file
from cpppo.tests.test_enip_server import ServiceTestCase, read, write

FIDELITY_L5X = data_file("fidelity.L5X")
FIDELITY_CSV = data_file("fidelity.CSV")
PRIVILEGE, PATH_ERROR = GeneralStatus.PRIVILEGE_VIOLATION, GeneralStatus.PATH_SEGMENT_ERROR


def exported() -> l5x.L5XFile:
    """The fidelity export as the simulator loads it: the L5X, then the CSV with the L5X's types."""
    loaded = l5x.load_l5x([FIDELITY_L5X])
    return l5x.merge(loaded, csvtags.load_csv([FIDELITY_CSV], loaded.types))


class TestFold(unittest.TestCase):
    def test_ascii_case_only(self) -> None:
        self.assertEqual(fold("Program:PackingLine.BatchCount"), "PROGRAM:PACKINGLINE.BATCHCOUNT")
        self.assertEqual(fold("straße"), "STRAßE")  # not Unicode's SS: a Logix name is ASCII
        self.assertEqual(declared("packingline", ["Main", "PackingLine"]), "PackingLine")
        self.assertIsNone(declared("Packing", ["PackingLine"]))

    def test_members_fold_as_tag_names_do(self) -> None:
        """A member name matches ignoring ASCII case only: ``paß`` is not ``PASS`` (str.upper's SS)."""
        kind = Structure("Gate", (Member("PASS", cip_types.DINT, 0),), 4)
        self.assertIs(kind.member("pass"), kind.by_name["PASS"])
        with self.assertRaises(CIPError) as refused:
            kind.member("paß")
        self.assertEqual(refused.exception.status, PATH_ERROR)


class TestLoaded(unittest.TestCase):
    def setUp(self) -> None:
        self.tags = {t.name: t for t in exported().tags}

    def test_produced_and_consumed_are_base_tags(self) -> None:
        produced, consumed = self.tags["ProdCounts"], self.tags["ConsSpeed"]
        self.assertEqual((produced.type, produced.dims, produced.value), ("DINT", (4,), [100, 200, 300, 400]))
        self.assertEqual((consumed.type, consumed.value), ("REAL", 0.0))
        self.assertEqual(self.tags["ProdMotor"].access, 2)  # its ExternalAccess, as a base tag's
        self.assertEqual(self.tags["ConsMotor"].type.name, "MotorData")
        self.assertEqual(self.tags["CsvProduced"].dims, (4,))  # the CSV's: TAG rows with ProduceCount :=
        self.assertEqual(self.tags["CsvConsumed"].type.name, "MotorData")  # ... and Producer :=

    def test_constants(self) -> None:
        constants = {name for name, tag in self.tags.items() if tag.constant}
        self.assertEqual(constants, {"MaxSpeed", "SpeedTable", "Program:PackingLine.MaxBatch", "CsvLIMIT",
                                     "Program:PackingLine.CsvShift"})
        self.assertEqual(self.tags["MaxSpeed"].access, 0)  # a constant's external access is as declared


class TestServedNames(ServiceTestCase):
    """The fidelity export served: names in any case, declared spellings browsed, constants refused."""

    def setUp(self) -> None:
        super().setUp()
        loaded = exported()
        self.service.load_tags(loaded)
        l5x.apply(self.service, loaded)

    def read_path(self, text: str) -> cip.Reply:
        return self.peer.ask(cip.Request(0x4C, parse_tag(text), body=logix.ReadTag(1)))

    def test_any_case_reaches_the_declared_tag(self) -> None:
        for text, value in (("BaseDINT", 12345), ("basedint", 12345), ("BASEDINT", 12345), ("basedintarray[3]", 13),
                            ("program:packingline.batchcount", 12), ("PROGRAM:PackingLine.BatchCount", 12),
                            ("Program:PackingLine.recipedata.STATUSWORD", 9), ("motor_a.flags", 5),
                            ("Program:packingline.batchalias", 12), ("csvsetpointalias", 0.0),
                            ("prodcounts[2]", 300), ("linespeedalias", 0.0)):
            with self.subTest(text):
                reply = self.read_path(text)
                self.assertEqual((reply.status, reply.body.values()), (0, [value]))
        self.assertEqual(self.read_path("motor_a.runcmd").body.data, b"\xff")
        self.assertEqual(self.read_path("MOTORA_RUN").body.data, b"\xff")  # an alias of a BIT member

    def test_a_name_that_does_not_exist_is_still_refused(self) -> None:
        for text in ("BaseDIN", "Motor_A.Nope", "Program:Other.BatchCount", "Program:PackingLine.Nope"):
            with self.subTest(text):
                self.assertEqual(self.read_path(text).status, PATH_ERROR)

    def test_remembered_paths_follow_each_spelling(self) -> None:
        """Each spelling is remembered as its own path, all landing on the one tag."""
        self.assertEqual(self.peer.ask(write("basedint", None, 0xC4, struct.pack("<i", 7))).status, 0)
        for spelling in ("BaseDINT", "basedint", "BaseDint", "basedint"):
            self.assertEqual(self.peer.ask(read(spelling)).body.values(), [7])
        self.service.add_tag("LateTag", "INT")  # the tags changed: what each path lands on is worked out again
        self.assertEqual(self.peer.ask(read("latetag")).status, 0)
        self.assertEqual(self.peer.ask(read("BASEDINT")).body.values(), [7])

    def browse(self, path: tuple) -> dict[str, int]:
        attrs = (1, 2)
        reply = self.peer.ask(cip.Request(0x55, path, body=cip.GetAttributeList(attrs)), route=False)
        self.assertEqual(reply.status, 0)
        return {s.name: s.type for s in browse.decode_symbol_instances(reply.data, attrs)}

    def test_browsing_keeps_the_declared_spelling(self) -> None:
        top = self.browse((Logical("class", 0x6B), Logical("instance", 0)))
        self.assertLessEqual({"BaseBOOL", "ProdCounts", "ProdMotor", "ConsSpeed", "ConsMotor", "MaxSpeed",
                              "CsvProduced", "CsvConsumed", "LineSpeedALIAS", "Program:PackingLine"}, set(top))
        for spelling in ("Program:PackingLine", "PROGRAM:packingline"):
            with self.subTest(spelling):
                listed = self.browse((Symbolic(spelling), Logical("class", 0x6B), Logical("instance", 0)))
                self.assertLessEqual({"BatchCount", "RecipeDATA", "MaxBatch", "BatchALIAS", "CsvShift"}, set(listed))
        missing = self.peer.ask(cip.Request(0x55, (Symbolic("Program:Packing"), Logical("class", 0x6B),
                                                   Logical("instance", 0)), body=cip.GetAttributeList((1,))),
                                route=False)
        self.assertEqual(missing.status, PATH_ERROR)

    def test_constants_refuse_writes_as_read_only_tags_do(self) -> None:
        for name, kind, data in (("MaxSpeed", 0xCA, struct.pack("<f", 1.0)), ("maxspeed", 0xCA, struct.pack("<f", 1.0)),
                                 ("SpeedTable", 0xC4, struct.pack("<i", 5)), ("CsvLimit", 0xC4, struct.pack("<i", 5)),
                                 ("Program:PackingLine.MaxBatch", 0xC4, struct.pack("<i", 5))):
            with self.subTest(name):
                self.assertEqual(self.peer.ask(write(name, None, kind, data)).status, PRIVILEGE)
        self.assertEqual(self.peer.ask(read("MaxSpeed")).body.values(), [1800.0])
        self.assertEqual(self.peer.ask(read("SpeedTable", 1)).body.values(), [1200])
        rmw = cip.Request(0x4E, parse_tag("SpeedTable[0]"), body=logix.ReadModifyWrite(b"\1\0\0\0", b"\xff" * 4))
        self.assertEqual(self.peer.ask(rmw).status, PRIVILEGE)
        for offset in (0, 4):  # Write Tag Fragmented, as a client sends a large array: each fragment refused
            fragment = cip.Request(0x53, parse_tag("speedtable"),
                                   body=logix.WriteTagFragmented(0xC4, 2, offset, struct.pack("<i", 5)))
            self.assertEqual(self.peer.ask(fragment).status, PRIVILEGE)
        self.assertEqual(self.peer.ask(read("SpeedTable", 0, 2)).body.values()[1], 1200)

    def test_the_web_api_still_sets_a_constant(self) -> None:
        """The web API is the simulator's own door (as Studio 5000 is a controller's): it writes."""
        done = defer.ensureDeferred(api.Api(self.service).request("tags", "MaxSpeed", "attribute[0]", "5"))
        self.assertTrue(self.successResultOf(done).content["command"]["success"])
        self.assertEqual(self.peer.ask(read("MaxSpeed")).body.values(), [5.0])
        self.assertEqual(self.peer.ask(write("MaxSpeed", None, 0xCA, struct.pack("<f", 1.0))).status, PRIVILEGE)

    def test_produced_and_consumed_are_read_and_written(self) -> None:
        self.assertEqual(self.peer.ask(write("ProdCounts", 1, 0xC4, struct.pack("<i", -2))).status, 0)
        self.assertEqual(self.peer.ask(read("ProdCounts", 0, 4)).body.values(), [100, -2, 300, 400])
        self.assertEqual(self.peer.ask(write("ConsSpeed", None, 0xCA, struct.pack("<f", 4.5))).status, 0)
        self.assertEqual(self.read_path("LineSpeedAlias").body.values(), [4.5])
        self.assertEqual(self.peer.ask(write("ProdMotor", None, 0xCA, struct.pack("<f", 1.0))).status, PRIVILEGE)
