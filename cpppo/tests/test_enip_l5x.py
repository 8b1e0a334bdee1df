"""--l5x FILE and --csv FILE: a Studio 5000 / RSLogix 5000 export as the simulator's types and tags.

The sample exports in ``data/`` are shaped as Logix software writes them: a
byte-order mark, CRLF lines, the ``RSLogix5000Content`` root with its
attributes, L5K and Decorated data side by side, raw ``<Data>`` bytes, a module,
an Add-On Instruction, a produced tag, a MESSAGE tag (skipped), aliases; the CSV has
``remark`` lines, the version line and quoted fields.
"""

from __future__ import annotations

import struct

from twisted.trial import unittest

from cpppo.enip.codec import browse, cip
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.epath import Logical, Symbolic
from cpppo.enip.simulator import options
from cpppo.enip.simulator.controller.tags import Tags
from cpppo.enip.simulator.loaders import csvtags, l5x
from cpppo.enip.simulator.loaders.l5x_data import logix_string, number
from cpppo.tests.resources import data_file
from cpppo.tests.test_enip_server import ServiceTestCase, read, write

#: The simulator takes --l5x/--csv and its tags have aliases and external access (the wiring is in).
WIRED = "--l5x" in options.parser().format_help() and hasattr(Tags, "alias")

PLANT_L5X = data_file("plant.L5X")
PLANT_CSV = data_file("plant.CSV")

HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<RSLogix5000Content SchemaRevision="1.0" '
        'TargetName="C" TargetType="Controller">\n<Controller Use="Target" Name="C" ProcessorType="1756-L85E">\n')
TAIL = "</Controller>\n</RSLogix5000Content>\n"


class TestL5XTypes(unittest.TestCase):
    def test_udt_members_on_the_exports_hosts(self) -> None:
        loaded = l5x.load_l5x([PLANT_L5X])
        self.assertEqual(list(loaded.types), ["STRING20", "Motor", "Line", "Valve"])  # dependency order
        motor = loaded.types["Motor"]
        placed = {m.name: (m.offset, m.count, m.bit, m.hidden) for m in motor.members}
        self.assertEqual(placed["Speed"], (0, 0, None, False))
        self.assertEqual(placed["ZZZZZZZZZZMotor1"], (4, 0, None, True))
        self.assertEqual((placed["Running"], placed["Faulted"]), ((4, 0, 0, False), (4, 0, 1, False)))
        self.assertEqual(placed["Faults"], (8, 4, None, False))
        self.assertEqual(placed["Label"], (24, 0, None, False))
        self.assertEqual(motor.size, 48)
        string20 = loaded.types["STRING20"]
        self.assertEqual([(m.name, m.offset, m.count) for m in string20.members], [("LEN", 0, 0), ("DATA", 4, 20)])
        self.assertEqual(string20.size, 24)
        line = loaded.types["Line"]
        self.assertEqual([(m.name, m.offset, m.count) for m in line.members],
                         [("Main", 0, 0), ("Count", 48, 0), ("Spares", 52, 2)])
        self.assertEqual(line.size, 148)
        self.assertEqual(len({s.instance for s in loaded.types.values()}), 4)

    def test_add_on_instruction_is_a_structure_of_its_parameters_and_locals(self) -> None:
        valve = l5x.load_l5x([PLANT_L5X]).types["Valve"]
        names = [m.name for m in valve.members if not m.hidden]
        self.assertEqual(names, ["EnableIn", "EnableOut", "Open", "Position", "Travel"])  # no InOut Command
        self.assertEqual(valve.by_name["TRAVEL"].type.name, "TIMER")
        self.assertEqual((valve.by_name["OPEN"].offset, valve.by_name["OPEN"].bit), (0, 2))

    def test_controller_and_programs(self) -> None:
        loaded = l5x.load_l5x([PLANT_L5X])
        self.assertEqual((loaded.controller, loaded.processor), ("Plant_PLC", "1756-L83E"))
        self.assertEqual(loaded.programs, ["MainProgram"])


class TestL5XTags(unittest.TestCase):
    def setUp(self) -> None:
        self.loaded = l5x.load_l5x([PLANT_L5X])
        self.tags = {t.name: t for t in self.loaded.tags}

    def test_skipped_and_aliased(self) -> None:
        self.assertEqual(self.tags["Shared"].type, "DINT")  # produced: held as a base tag
        self.assertNotIn("Msg1", self.tags)  # MESSAGE: not served
        self.assertEqual(self.loaded.aliases, {"Count_Alias": "Counter", "Counter_Bit3": "Counter.3",
                                               "Motor_Speed": "Motor1.Speed",
                                               "Line1_Spare": "Lines[1].Spares[1]",
                                               "Program:MainProgram.LocalAlias": "Program:MainProgram.Local"})

    def test_values(self) -> None:
        value = {name: tag.value for name, tag in self.tags.items()}
        self.assertEqual((value["Counter"], value["Mask"]), (42, -1))
        self.assertEqual(value["Setpoints"], [1.5, 2.5, 0.0, 0.0, -4.25])
        self.assertEqual((value["Grid"], self.tags["Grid"].dims), ([0, 1, 2, 10, 11, 12], (2, 3)))
        self.assertEqual((self.tags["Flags"].type, self.tags["Flags"].dims, value["Flags"]), ("DWORD", (2,), [32, 256]))
        self.assertEqual(value["Motor1"], {"Speed": 1.5, "Running": True, "Faulted": False, "Faults": [7, 0, 0, 0],
                                           "Label": "conveyor"})
        self.assertEqual(value["Lines"][1]["Spares"][1], {"Speed": 9.5, "Label": "spare"})
        self.assertEqual((value["Title"], value["Message"]), ("Packaging 'A'", "hello"))
        self.assertEqual(value["T1"], {"PRE": 5000, "ACC": 250, "EN": True, "TT": False, "DN": False})
        self.assertEqual(value["RawPair"], [-5, 70000])
        raw = value["RawMotor"]
        self.assertEqual((raw["Speed"], raw["Faulted"], raw["Faults"], raw["Label"]),
                         (2.5, True, [1, 2, 3, 4], "ok"))  # a STRING-family member decodes as its text
        self.assertEqual(value["Valve1"]["Position"], 0.75)
        self.assertEqual(value["Program:MainProgram.Local"], 7)

    def test_external_access(self) -> None:
        self.assertEqual((self.tags["Counter"].access, self.tags["Limit"].access, self.tags["Secret"].access),
                         (0, 2, 3))
        self.assertEqual(self.tags["Counter"].description, "Parts counted")


class TestValues(unittest.TestCase):
    def test_radixes(self) -> None:
        self.assertEqual(number("16#ffff_ffff", "DINT", "x"), -1)
        self.assertEqual(number("2#0000_0101", "SINT", "x"), 5)
        self.assertEqual(number("8#17", "INT", "x"), 15)
        self.assertEqual(number("'AB'", "INT", "x"), 0x4142)
        self.assertEqual(number("3.0e+038", "REAL", "x"), 3.0e38)
        self.assertEqual(number("-1.#INF", "REAL", "x"), float("-inf"))
        self.assertNotEqual(number("1.#QNAN", "REAL", "x"), number("1.#QNAN", "REAL", "x"))
        self.assertEqual(logix_string("'a$'b$$c$0D$N'", "x"), "a'b$c\r\r\n")
        for text, kind in (("300", "SINT"), ("abc", "DINT"), ("16#zz", "INT")):
            with self.subTest(text), self.assertRaises(ValueError):
                number(text, kind, "x")


class TestL5XErrors(unittest.TestCase):
    def _load(self, body: str, raw: bytes | None = None) -> str:
        path = self.mktemp() + ".L5X"
        with open(path, "wb") as file:
            file.write(raw if raw is not None else (HEAD + body + TAIL).encode())
        with self.assertRaises(ValueError) as caught:
            l5x.load_l5x([path])
        message = str(caught.exception)
        self.assertIn(path, message)
        return message

    def test_malformed_exports(self) -> None:
        member = ('<DataTypes><DataType Name="T" Family="NoFamily"><Members>\n'
                  '<Member Name="H" DataType="SINT" Dimension="0" Hidden="true"/>\n{}\n'
                  '</Members></DataType></DataTypes>\n')
        cases = {
            "not XML": ("<Tags>", None),
            "bit beyond its host": (member.format('<Member Name="B" DataType="BIT" Target="H" BitNumber="8"/>'), None),
            "unknown target": (member.format('<Member Name="B" DataType="BIT" Target="Nope" BitNumber="0"/>'), None),
            "bad member dimension": (member.format('<Member Name="A" DataType="DINT" Dimension="x"/>'), None),
            "bad value": ('<Tags><Tag Name="X" DataType="DINT"><Data Format="Decorated">\n'
                          '<DataValue DataType="DINT" Value="lots"/></Data></Tag></Tags>\n', None),
            "bad index": ('<Tags><Tag Name="X" DataType="DINT" Dimensions="2"><Data Format="Decorated">\n'
                          '<Array DataType="DINT" Dimensions="2"><Element Index="[2]" Value="1"/></Array>'
                          '</Data></Tag></Tags>\n', None),
            "bad access": ('<Tags><Tag Name="X" DataType="DINT" ExternalAccess="Sometimes"/></Tags>\n', None),
            "four dimensions": ('<Tags><Tag Name="X" DataType="DINT" Dimensions="2 2 2 2"/></Tags>\n', None),
            "short raw data": ('<Tags><Tag Name="X" DataType="DINT"><Data>01 02</Data></Tag></Tags>\n', None),
            "self-containing": ('<DataTypes><DataType Name="T"><Members><Member Name="A" DataType="T" '
                                'Dimension="0"/></Members></DataType></DataTypes>', None),
            "twice": ('<Tags><Tag Name="X" DataType="DINT"/><Tag Name="x" DataType="INT"/></Tags>', None),
            "wrong root": ("", b"<?xml version='1.0'?><Project/>"),
            "entity": ("", b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                           b"<RSLogix5000Content>&e;</RSLogix5000Content>"),
        }
        for what, (body, raw) in cases.items():
            with self.subTest(what):
                self._load(body, raw)

    def test_line_and_element_are_named(self) -> None:
        message = self._load('<Tags>\n<Tag Name="Fine" DataType="DINT"/>\n<Tag Name="Bad" DataType="DINT" '
                             'Dimensions="0"/>\n</Tags>\n')
        self.assertIn(':6 <Tag Name="Bad">', message)

    def test_missing_file(self) -> None:
        with self.assertRaises(ValueError):
            l5x.load_l5x(["/nonexistent.L5X"])


class TestCSV(unittest.TestCase):
    def test_tags_types_scopes_and_aliases(self) -> None:
        loaded = csvtags.load_csv([PLANT_CSV], l5x.load_l5x([PLANT_L5X]).types)
        tags = {t.name: t for t in loaded.tags}
        self.assertEqual((tags["Counts"].type, tags["Counts"].dims), ("DINT", (10,)))
        self.assertEqual(tags["Matrix"].dims, (2, 3))
        self.assertEqual((tags["Alarms"].type, tags["Alarms"].dims), ("DWORD", (1,)))
        self.assertEqual((tags["Pump"].type.name, tags["Pump"].description), ("Motor", 'The "main" pump'))
        self.assertEqual((tags["Banner"].type.name, tags["Note"].type.name, tags["Delay"].type.name),
                         ("STRING20", "STRING", "TIMER"))
        self.assertEqual((tags["Locked"].access, tags["Hidden"].access), (2, 3))
        self.assertEqual((tags["Program:Packing.Station"].type.name, tags["Program:Packing.Station"].dims),
                         ("Motor", (3,)))
        self.assertNotIn("Msg", tags)
        self.assertTrue(all(t.value is None for t in loaded.tags))
        self.assertEqual((loaded.programs, loaded.aliases), (["Packing"], {"SpeedAlias": "Speed"}))

    def test_types_not_given_are_skipped(self) -> None:
        names = {t.name for t in csvtags.load_csv([PLANT_CSV]).tags}
        self.assertNotIn("Pump", names)
        self.assertIn("Note", names)

    def test_errors(self) -> None:
        for what, text in {"no header": "remark,x\nTAG,,A,,DINT,,\n",
                           "bad datatype": "TYPE,SCOPE,NAME,DESCRIPTION,DATATYPE,SPECIFIER,ATTRIBUTES\n"
                                           "TAG,,A,,DINT[x],,\n",
                           "twice": "TYPE,SCOPE,NAME,DESCRIPTION,DATATYPE,SPECIFIER,ATTRIBUTES\n"
                                    "TAG,,A,,DINT,,\nTAG,,a,,INT,,\n"}.items():
            path = self.mktemp() + ".CSV"
            with open(path, "w") as file:
                file.write(text)
            with self.subTest(what), self.assertRaises(ValueError):
                csvtags.load_csv([path])


class TestServed(ServiceTestCase):
    """The loaded export served: values, members of nested structures, strings, bits."""

    def setUp(self) -> None:
        super().setUp()
        self.service.load_tags(l5x.load_l5x([PLANT_L5X]))

    def ask(self, *path: object, count: int = 1) -> cip.Reply:
        segments = tuple(Logical("element", p) if isinstance(p, int) else Symbolic(p) for p in path)
        return self.peer.ask(cip.Request(0x4C, segments, body=logix.ReadTag(count)))

    def test_served_values(self) -> None:
        self.assertEqual(self.peer.ask(read("Counter")).body.values(), [42])
        self.assertEqual(self.ask("Motor1", "Speed").body.values(), [1.5])
        self.assertEqual(self.ask("Motor1", "Running").body.data, b"\xff")
        self.assertEqual(self.ask("Lines", 1, "Spares", 1, "Speed").body.values(), [9.5])
        self.assertEqual(self.ask("Lines", 0, "Main", "Faulted").body.data, b"\xff")
        self.assertEqual(self.service.tags["Title"].get_string(), "Packaging 'A'")
        self.assertEqual(self.ask("T1", "PRE").body.values(), [5000])
        self.assertEqual(self.ask("RawMotor", "Faults", 2).body.values(), [3])
        self.assertEqual(self.ask("Program:MainProgram", "Local").body.values(), [7])
        whole = self.ask("Motor1").body
        self.assertEqual(struct.unpack_from("<f", whole.data, 0)[0], 1.5)
        self.assertEqual(whole.data[28:36], b"conveyor")


class TestWired(ServiceTestCase):
    """What the wiring into options, logix and symbols adds (skipped until it is in)."""

    skip = None if WIRED else "the simulator does not take --l5x yet"

    def setUp(self) -> None:
        super().setUp()
        exported = l5x.load_l5x([PLANT_L5X])
        self.service.load_tags(exported)
        l5x.apply(self.service, exported)

    def test_usage_errors_and_identity(self) -> None:
        ap = options.parser()
        for bad in (["--l5x", "/nonexistent.L5X"], ["--csv", PLANT_L5X]):
            with self.subTest(bad), self.assertRaises(SystemExit) as caught:
                options.configure(ap.parse_args(["--no-config", *bad]), ap)
            self.assertEqual(caught.exception.code, 2)
        settings = options.configure(ap.parse_args(["--no-config", "--l5x", PLANT_L5X, "--csv", PLANT_CSV]), ap)
        self.assertEqual(settings.identity["product_name"], "1756-L83E")
        self.assertIn("Program:Packing.Station", {t.name for t in settings.exported.tags})
        settings = options.configure(ap.parse_args(["--no-config", "--product-name", "Mine", "--l5x", PLANT_L5X]), ap)
        self.assertEqual(settings.identity["product_name"], "Mine")  # the command line wins

    def test_access_and_aliases(self) -> None:
        self.assertEqual(self.peer.ask(write("Limit", None, 0xC4, struct.pack("<i", 5))).status, 0x0F)
        self.assertEqual(self.peer.ask(read("Limit")).body.values(), [100])
        self.assertEqual(self.peer.ask(read("Secret")).status, 0x0F)
        self.assertEqual(self.peer.ask(write("Count_Alias", None, 0xC4, struct.pack("<i", 9))).status, 0)
        self.assertEqual(self.peer.ask(read("Counter")).body.values(), [9])
        attrs = (1, 2, 10)
        top = self.peer.ask(cip.Request(0x55, (Logical("class", 0x6B), Logical("instance", 0)),
                                        body=cip.GetAttributeList(attrs)), route=False)
        listed = {s.name: s.external_access for s in browse.decode_symbol_instances(top.data, attrs)}
        self.assertNotIn("Secret", listed)
        self.assertEqual((listed["Limit"], listed["Counter"], listed["Count_Alias"]), (2, 0, 0))
