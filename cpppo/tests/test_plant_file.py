"""The plant file: its keys, template expansion, serials, sharding, the one-line errors, the compose file.

No server runs here: :func:`cpppo.plant.reader.parse` takes the parsed TOML, so each case is a
small dictionary; :func:`~cpppo.plant.reader.read` is tested on a real file for the errors only a
file has.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from typing import Any

from twisted.trial import unittest

from cpppo.plant.compose import compose
from cpppo.plant.expand import DEFAULT_SERIAL, parse_shard, rehost, shard
from cpppo.plant.model import PlantError
from cpppo.plant.reader import check, parse, read


def _plant(**tables: Any) -> dict[str, Any]:
    return {"controllers": [{"name": "mixer", "address": "127.0.1.1", "tags": ["SCADA=INT[100]"]}],
            **tables}


EXAMPLE = {
    "controllers": [
        {"name": "mixer", "address": "127.0.1.1", "tags": ["SCADA=INT[100]", "Level=REAL"],
         "identity": {"product_name": "1756-L85E/B", "serial": 1234}},
        {"name": "filler{i}", "count": 200, "address": "127.0.2.1", "tags": ["Count=DINT[10]", "Level{i}=REAL"],
         "identity": {"product_name": "Filler {i}"}},
        {"name": "rack{i}", "count": 2, "slot": 1, "address": "127.0.8.1:44820", "tags": ["X=INT"]},
    ],
    "modbus": [{"name": "meter{i}", "count": 10, "address": "127.0.9.1:502",
                "registers": ["40001-40010=0", "1-16=0"]}],
}


class Expansion(unittest.TestCase):
    def test_templates_expand_in_file_order_with_the_next_address_each(self) -> None:
        plant = parse(EXAMPLE, "plant.toml", "/plants")
        self.assertEqual(len(plant.controllers), 203)
        self.assertEqual([d.name for d in plant.devices[:3]], ["mixer", "filler0", "filler1"])
        self.assertEqual(plant.devices[203].name, "meter0")  # controllers first, then the Modbus devices
        self.assertEqual(plant.controllers[200].host, "127.0.2.200")
        self.assertEqual((plant.controllers[1].port, plant.modbus[9].address), (44818, ("127.0.9.10", 502)))
        self.assertEqual(plant.controllers[5].tags, ("Count=DINT[10]", "Level4=REAL"))
        self.assertEqual(dict(plant.controllers[5].identity)["product_name"], "Filler 4")

    def test_addresses_carry_into_the_next_octet(self) -> None:
        plant = parse({"controllers": [{"name": "c{i}", "count": 3, "address": "127.0.2.254", "tags": ["X"]}]},
                      "p.toml")
        self.assertEqual([c.host for c in plant.controllers], ["127.0.2.254", "127.0.2.255", "127.0.3.0"])

    def test_a_chassis_entry_keeps_its_address_and_takes_the_next_slot(self) -> None:
        racks = parse(EXAMPLE, "plant.toml").controllers[201:]
        self.assertEqual([(r.name, r.address, r.slot) for r in racks],
                         [("rack0", ("127.0.8.1", 44820), 1), ("rack1", ("127.0.8.1", 44820), 2)])

    def test_every_identity_is_distinct(self) -> None:
        controllers = parse(EXAMPLE, "plant.toml").controllers
        serials = [dict(c.identity)["serial"] for c in controllers]
        self.assertEqual(serials[0], 1234)
        self.assertEqual(serials[1:3], [DEFAULT_SERIAL + 1, DEFAULT_SERIAL + 2])
        self.assertEqual(len(set(serials)), len(serials))

    def test_file_names_are_relative_to_the_plant_file(self) -> None:
        plant = parse({"controllers": [{"name": "c{i}", "count": 2, "address": "127.0.2.1",
                                        "l5x": ["line{i}.L5X"], "csv": ["tags.csv"]}]}, "p.toml", "/plants")
        self.assertEqual(plant.controllers[1].l5x, (os.path.join("/plants", "line1.L5X"),))
        self.assertEqual(plant.controllers[1].csv, (os.path.join("/plants", "tags.csv"),))


class Sharding(unittest.TestCase):
    def test_three_shards_serve_exactly_the_whole_plant(self) -> None:
        plant = parse(EXAMPLE, "plant.toml")
        parts = [shard(plant, *parse_shard(f"{k}/3")) for k in range(3)]
        names = [d.name for part in parts for d in part.devices]
        self.assertEqual(sorted(names), sorted(d.name for d in plant.devices))
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual([d.name for d in parts[1].devices[:2]], ["filler0", "filler3"])  # j mod 3 = 1

    def test_a_chassis_stays_whole_in_its_first_slots_shard(self) -> None:
        plant = parse(EXAMPLE, "plant.toml")  # rack0 is device 201 (201 mod 3 = 0), rack1 device 202
        parts = [[d.name for d in shard(plant, k, 3).devices] for k in range(3)]
        self.assertEqual([[n for n in part if n.startswith("rack")] for part in parts], [["rack0", "rack1"], [], []])
        self.assertIn("meter0", parts[2])  # device 203: the others keep j mod N = K
        self.assertEqual(sum(map(len, parts)), len(plant.devices))

    def test_several_shards_in_one_process(self) -> None:
        plant = parse(EXAMPLE, "plant.toml")
        self.assertEqual([d.name for d in shard(plant, *parse_shard("201,202/213")).devices], ["rack0", "rack1"])

    def test_a_bad_shard_is_one_line(self) -> None:
        for text in ("3/3", "1", "a/3", "-1/3", "1/0"):
            with self.assertRaises(ValueError) as caught:
                parse_shard(text)
            self.assertIn(f"shard {text!r} is not K/N", str(caught.exception))

    def test_a_shard_served_at_a_pods_address(self) -> None:
        plant = rehost(shard(parse(EXAMPLE, "plant.toml"), frozenset({7}), 213), "10.1.2.3")
        self.assertEqual([(c.name, c.address) for c in plant.devices], [("filler6", ("10.1.2.3", 44818))])
        both = rehost(shard(parse(EXAMPLE, "plant.toml"), frozenset({0, 1}), 213), "10.1.2.3")
        with self.assertRaises(PlantError) as caught:  # two lone controllers at one address
            check(both)
        self.assertIn("slot 0 is also 'mixer'", str(caught.exception))


class BadFiles(unittest.TestCase):
    """Every bad plant file is one line naming the file, the entry and the problem."""

    def refused(self, data: dict[str, Any], expected: str) -> None:
        with self.assertRaises(PlantError) as caught:
            parse(data, "plant.toml")
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertEqual(message, expected)

    def test_a_wrong_key(self) -> None:
        self.refused({"controllers": [{"name": "mixer", "adress": "127.0.1.1"}]},
                     "plant.toml: [[controllers]] #1 'mixer': unknown key 'adress' (one of address, count, csv, "
                     "identity, l5x, name, slot, tags, tags_file)")
        self.refused(_plant(plc=[]), "plant.toml: unknown table 'plc' (a plant file has [[controllers]] and "
                                     "[[modbus]])")
        self.refused({"controllers": [{"name": "m", "address": "127.0.1.1", "identity": {"serial_number": 1}}]},
                     "plant.toml: [[controllers]] #1 'm': unknown identity key 'serial_number' (one of device_type, "
                     "product_code, product_name, revision, serial, vendor)")

    def test_a_duplicate_name(self) -> None:
        self.refused(_plant(modbus=[{"name": "mixer", "address": "127.0.9.1", "registers": ["40001"]}]),
                     "plant.toml: [[modbus]] #1 'mixer': name 'mixer' is also [[controllers]] #1 'mixer''s")
        self.refused({"controllers": [{"name": "filler", "count": 2, "address": "127.0.2.1", "tags": ["X"]}]},
                     "plant.toml: [[controllers]] #1 'filler' (i = 1): name 'filler' is also [[controllers]] #1 "
                     "'filler' (i = 0)'s")

    def test_a_duplicate_address(self) -> None:
        self.refused(_plant(modbus=[{"name": "m", "address": "127.0.1.1:44818", "registers": ["40001"]}]),
                     "plant.toml: [[modbus]] #1 'm': address 127.0.1.1:44818 is also 'mixer''s")
        twice = {"controllers": [{"name": "a", "address": "127.0.1.1", "tags": ["X"]},
                                 {"name": "b", "address": "127.0.1.1", "tags": ["X"]}]}
        self.refused(twice, "plant.toml: [[controllers]] #2 'b': address 127.0.1.1:44818 slot 0 is also 'a''s (a "
                            "shared address needs distinct slots)")

    def test_a_bad_address(self) -> None:
        self.refused({"controllers": [{"name": "a", "address": "plc.example.com", "tags": ["X"]}]},
                     "plant.toml: [[controllers]] #1 'a': address 'plc.example.com': 'plc.example.com' is not an "
                     "IPv4 address")
        self.refused({"controllers": [{"name": "a", "address": "127.0.0.1:99999", "tags": ["X"]}]},
                     "plant.toml: [[controllers]] #1 'a': address '127.0.0.1:99999': port '99999' is not a number "
                     "from 0 to 65535")
        self.refused({"controllers": [{"name": "a", "tags": ["X"]}]},
                     "plant.toml: [[controllers]] #1 'a': needs an address (\"HOST\" or \"HOST:PORT\")")

    def test_a_bad_tag_or_register_range(self) -> None:
        self.refused({"controllers": [{"name": "a{i}", "count": 2, "address": "127.0.1.1", "tags": ["X=INTEGER"]}]},
                     "plant.toml: [[controllers]] #1 'a{i}' (i = 0): tag 'X=INTEGER': unknown type 'INTEGER' (one "
                     "of BOOL, SINT, INT, DINT, LINT, USINT, UINT, UDINT, ULINT, REAL, LREAL, DWORD, SSTRING, "
                     "STRING, TIMER, COUNTER, CONTROL)")
        self.refused({"modbus": [{"name": "m", "address": "127.0.9.1", "registers": ["40001-3"]}]},
                     "plant.toml: [[modbus]] #1 'm': bad register range '40001-3': end 3 is before begin 40001")

    def test_a_name_the_web_needs(self) -> None:
        self.refused({"controllers": [{"name": "api", "address": "127.0.1.1", "tags": ["X"]}]},
                     "plant.toml: [[controllers]] #1 'api': name 'api' is one the web server uses itself (api, "
                     "favicon.ico, index.html, plant.json)")
        self.refused({"controllers": [{"name": "a b", "address": "127.0.1.1", "tags": ["X"]}]},
                     "plant.toml: [[controllers]] #1 'a b': name 'a b' is not letters, digits, '_', '.', '-' (it "
                     "names a web path and a compose service)")

    def test_a_bad_count_or_slot(self) -> None:
        self.refused({"controllers": [{"name": "a", "count": 0, "address": "127.0.1.1", "tags": ["X"]}]},
                     "plant.toml: [[controllers]] #1 'a': count 0 is not a number from 1 to 65536")
        self.refused({"controllers": [{"name": "a{i}", "count": 2, "slot": 255, "address": "127.0.1.1"}]},
                     "plant.toml: [[controllers]] #1 'a{i}': slot 255 is not a number from 0 to 255 (for each of "
                     "the 2)")

    def test_nothing_to_serve(self) -> None:
        self.refused({}, "plant.toml: no [[controllers]] or [[modbus]] entry: nothing to serve")

    def test_a_file_that_is_not_toml_or_not_there(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "bad.toml")
            with open(path, "w") as file:
                file.write("[[controllers]]\nname = mixer\n")
            with self.assertRaises(PlantError) as caught:
                read(path)
            self.assertTrue(str(caught.exception).startswith("bad.toml: is not TOML: "), caught.exception)
            with self.assertRaises(PlantError) as caught:
                read(os.path.join(folder, "none.toml"))
            self.assertEqual(str(caught.exception), "none.toml: cannot be read: No such file or directory")


class Compose(unittest.TestCase):
    def test_one_service_per_address_at_its_static_ip_serving_its_shard(self) -> None:
        plant = parse(EXAMPLE, "plant.toml")
        text = compose(plant, "/plants/plant.toml", ipaddress.IPv4Network("10.0.0.0/8"))
        self.assertIn('        - subnet: "10.0.0.0/8"\n          gateway: "10.255.255.254"\n', text)
        self.assertIn('  mixer:\n    image: "cpppo"\n    command: ["python", "-m", "cpppo.plant", "--shard", '
                      '"0/213", "--host", "10.0.1.1", "/plant/plant.toml"]\n    volumes: ["/plants:/plant:ro"]\n'
                      '    networks:\n      plant:\n        ipv4_address: "10.0.1.1"\n', text)
        self.assertIn('"--shard", "201,202/213", "--host", "10.0.8.1"', text)  # the chassis: one container
        self.assertNotIn("  rack1:", text)
        self.assertIn('  meter9:\n    image: "cpppo"\n    command: ["python", "-m", "cpppo.plant", "--shard", '
                      '"212/213", "--host", "10.0.9.10"', text)
        self.assertEqual(text.count("ipv4_address"), 212)

    def test_loopback_addresses_need_a_subnet(self) -> None:
        with self.assertRaises(PlantError) as caught:
            compose(parse(EXAMPLE, "plant.toml"), "plant.toml")
        self.assertIn("address 127.0.1.1 cannot be a container's", str(caught.exception))

    def test_the_network_holds_the_plants_own_addresses(self) -> None:
        plant = parse({"controllers": [{"name": "c{i}", "count": 300, "address": "192.168.10.1", "tags": ["X"]}]},
                      "p.toml")
        text = compose(plant, "p.toml")
        self.assertIn('subnet: "192.168.10.0/23"', text)
        self.assertIn('ipv4_address: "192.168.11.44"', text)
