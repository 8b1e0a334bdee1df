"""--tags FILE: user-defined types laid out as Logix lays them out, tags with values, programs."""

from __future__ import annotations

import json
import struct

from twisted.trial import unittest

from cpppo.enip.codec import browse, cip
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.epath import Logical, Symbolic
from cpppo.enip.simulator import options
from cpppo.enip.simulator.loaders import tagfile
from cpppo.tests.resources import data_file
from cpppo.tests.test_enip_server import ServiceTestCase, read

PLANT = data_file("tagfile.toml")


class TestLayout(unittest.TestCase):
    def test_members_are_aligned_and_bools_packed(self) -> None:
        loaded = tagfile.load([PLANT])
        motor = loaded.types["Motor"]
        placed = {m.name: (m.offset, m.bit, m.hidden) for m in motor.members}
        self.assertEqual(placed["Speed"], (0, None, False))
        self.assertEqual(placed["ZZZZZZZZZZMotor0"], (4, None, True))  # the hidden host of the BOOLs
        self.assertEqual((placed["Running"], placed["Faulted"]), ((4, 0, False), (4, 1, False)))
        self.assertEqual(placed["Faults"], (8, None, False))  # DINT[4], aligned to 4
        self.assertEqual(placed["Label"], (24, None, False))  # STRING (88 bytes)
        self.assertEqual(motor.size, 112)
        line = loaded.types["Line"]
        self.assertEqual([(m.name, m.offset) for m in line.members], [("Motor", 0), ("Count", 112)])
        self.assertEqual(line.size, 120)  # a LINT member: rounded to 8
        self.assertEqual(loaded.programs, ["Main"])
        self.assertEqual([t.name for t in loaded.tags], ["Motor1", "Lines", "Setpoints", "Program:Main.Count"])

    def test_json_and_errors(self) -> None:
        path = self.mktemp() + ".json"
        with open(path, "w") as file:
            json.dump({"types": {"Pair": {"members": [{"name": "A", "type": "SINT"}, {"name": "B", "type": "INT"}]}},
                       "tags": [{"name": "P", "type": "Pair", "value": {"A": 1, "B": -2}}]}, file)
        pair = tagfile.load([path]).types["Pair"]
        self.assertEqual(([m.offset for m in pair.members], pair.size), ([0, 2], 4))
        bad = {"unknown type": {"tags": [{"name": "X", "type": "Nope"}]},
               "no name": {"types": {"T": {"members": [{"type": "INT"}]}}},
               "bad dims": {"tags": [{"name": "X", "type": "INT", "dims": [0]}]},
               "SSTRING member": {"types": {"T": {"members": [{"name": "S", "type": "SSTRING"}]}}},
               "BOOL[2,2]": {"tags": [{"name": "B", "type": "BOOL", "dims": [2, 2]}]},
               "BOOL[] value": {"tags": [{"name": "B", "type": "BOOL", "dims": [2], "value": [1, 0, 1]}]},
               "redefined": {"types": {"STRING": {"members": []}}}}
        for what, content in bad.items():
            path = self.mktemp() + ".json"
            with open(path, "w") as file:
                json.dump(content, file)
            with self.subTest(what), self.assertRaises(ValueError):
                tagfile.load([path])

    def test_every_logix_type_the_client_speaks(self) -> None:
        """logix_types.toml: STRINGs, a STRING array, an SSTRING tag (a CIP SSTRING: a tag, never
        a member, having no fixed size), a BOOL[], a DINT, a 2-D array."""
        loaded = tagfile.load([PLANT, data_file("logix_types.toml")])
        kinds = {t.name: (t.type if isinstance(t.type, str) else t.type.name, t.dims) for t in loaded.tags}
        self.assertEqual({name: kinds[name] for name in ("Text", "Names", "Short", "Bits", "Grid")}, {
            "Text": ("STRING", ()), "Names": ("STRING", (4,)), "Short": ("SSTRING", ()), "Bits": ("DWORD", (2,)),
            "Grid": ("DINT", (5, 5))})   # (a BOOL[64] held in 2 DWORDs, as Logix, --l5x, --csv and NAME=BOOL[64])
        path = self.mktemp() + ".json"
        with open(path, "w") as file:
            json.dump({"tags": [{"name": "B", "type": "BOOL", "dims": [40], "value": [True, False, True] + [False] * 29
                                 + [True]}]}, file)
        (bits,) = tagfile.load([path]).tags
        self.assertEqual((bits.type, bits.dims, bits.value), ("DWORD", (2,), [5, 1]))

    def test_usage_error_for_a_bad_file(self) -> None:
        ap = options.parser()
        with self.assertRaises(SystemExit) as caught:
            options.configure(ap.parse_args(["--no-config", "--tags", "/nonexistent.toml"]), ap)
        self.assertEqual(caught.exception.code, 2)


class TestServed(ServiceTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.service.load_tags(tagfile.load([PLANT]))

    def test_initial_values_and_members(self) -> None:
        speed = cip.Request(0x4C, (Symbolic("Motor1"), Symbolic("Speed")), body=logix.ReadTag(1))
        self.assertEqual(self.peer.ask(speed).body.values(), [1.5])
        faults = cip.Request(0x4C, (Symbolic("Motor1"), Symbolic("Faults"), Logical("element", 1)),
                             body=logix.ReadTag(3))
        self.assertEqual(self.peer.ask(faults).body.values(), [2, 0, 0])
        running = cip.Request(0x4C, (Symbolic("Motor1"), Symbolic("Running")), body=logix.ReadTag(1))
        self.assertEqual(self.peer.ask(running).body.data, b"\xff")
        self.assertEqual(self.peer.ask(read("Setpoints", 0, 4)).body.values(), [1.0, 2.0, 3.5, 0.0])
        count = cip.Request(0x4C, (Symbolic("Program:Main"), Symbolic("Count")), body=logix.ReadTag(1))
        self.assertEqual(self.peer.ask(count).body.values(), [3])
        nested = cip.Request(0x4D, (Symbolic("Lines"), Logical("element", 2), Symbolic("Motor"), Symbolic("Speed")),
                             body=logix.WriteTag(0xCA, 1, struct.pack("<f", 7.5)))
        self.assertEqual(self.peer.ask(nested).status, 0)
        whole = self.peer.ask(read("Lines", 2)).body
        self.assertEqual(struct.unpack_from("<f", whole.data, 0)[0], 7.5)
        self.assertEqual(whole.handle, self.service.tags["Lines"].structure.handle)

    def test_program_browsing(self) -> None:
        attrs = (1, 2)
        top = self.peer.ask(cip.Request(0x55, (Logical("class", 0x6B), Logical("instance", 0)),
                                        body=cip.GetAttributeList(attrs)), route=False)
        names = [s.name for s in browse.decode_symbol_instances(top.data, attrs)]
        self.assertIn("Program:Main", names)
        self.assertNotIn("Program:Main.Count", names)
        inside = self.peer.ask(cip.Request(0x55, (Symbolic("Program:Main"), Logical("class", 0x6B),
                                                  Logical("instance", 0)), body=cip.GetAttributeList(attrs)),
                               route=False)
        self.assertEqual([(s.name, s.type) for s in browse.decode_symbol_instances(inside.data, attrs)],
                         [("Count", 0xC4)])
        missing = self.peer.ask(cip.Request(0x55, (Symbolic("Program:Nope"), Logical("class", 0x6B),
                                                   Logical("instance", 0)), body=cip.GetAttributeList(attrs)),
                                route=False)
        self.assertEqual(missing.status, 0x04)


class TestCommandLine(unittest.TestCase):
    def test_a_type_from_a_tags_file_on_the_command_line(self) -> None:
        from cpppo.enip.simulator import run as main

        ap = options.parser()
        settings = options.configure(ap.parse_args(["--no-config", "--tags", PLANT, "Motors=motor[4]"]), ap)
        self.assertEqual(settings.tags[0], options.TagSpec("Motors", "Motor", 4, (4,)))
        service = main.build_service(settings)
        self.assertEqual((service.tags["Motors"].structure.name, len(service.tags["Motors"])), ("Motor", 4))
        with self.assertRaises(SystemExit):
            options.configure(ap.parse_args(["--no-config", "Motors=Motor[4]"]), ap)  # no tags file: unknown
