"""The original cpppo 5.2.5's ``cpppo.server.enip`` names, used as its scripts and hooks use them.

Why: scripts written for the original read ``main.tags``, ``device.lookup``, ``device.resolve``,
``device.redirect_tag`` and ``enip.config_files`` of the simulator ``main()`` runs, parse paths with
``device.parse_path``, and drive PowerFlex drives with ``ab.powerflex_750_series`` (over
``poll.poll``); each must behave as there, on our simulator (started here in process, on trial's
reactor; scripts of blocking code run in processes of their own against it).  The module-level
names are views of the one controller ``main()`` serves: a second controller in the process is
never touched by them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from twisted.internet import defer, reactor, utils
from twisted.trial import unittest

from cpppo.enip.client import deferred as pipeline
from cpppo.enip.client.errors import CIPError
from cpppo.enip.simulator import main_controller
from cpppo.enip.simulator import run as simulator
from cpppo.enip.simulator.controller import addressed
from cpppo.server import enip
from cpppo.server.enip import ab, defaults, device, main, ucmm, udt
from cpppo.tests.resources import child_env


class TestPaths(unittest.TestCase):
    def test_parse_path_forms(self) -> None:
        self.assertEqual(device.parse_path("Tag.Sub[3]"), [{"symbolic": "Tag"}, {"symbolic": "Sub"}, {"element": 3}])
        self.assertEqual(device.parse_path("@0x6b/8/1"), [{"class": 0x6B}, {"instance": 8}, {"attribute": 1}])
        self.assertEqual(device.parse_path('@2/1/{"connection":100}'),
                         [{"class": 2}, {"instance": 1}, {"connection": 100}])
        self.assertEqual(device.parse_path_elements("T[2-5]"), ([{"symbolic": "T"}, {"element": 2}], 2, 4))
        self.assertEqual(device.parse_path_elements("T*4"), ([{"symbolic": "T"}], None, 4))
        self.assertEqual(device.parse_path([{"symbolic": "Y"}]), [{"symbolic": "Y"}])
        self.assertEqual(device.parse_int("012"), 12)        # a leading zero is not octal
        self.assertEqual(device.parse_int("0x1A"), 26)
        with self.assertRaises(AssertionError):
            device.parse_path("A[1-3].B")                     # only the last part may count elements

    def test_route_and_connection_paths(self) -> None:
        self.assertEqual(device.parse_route_path("1/0"), [{"port": 1, "link": 0}])
        self.assertEqual(device.parse_route_path("1/0/2/1.2.3.4"),
                         [{"port": 1, "link": 0}, {"port": 2, "link": "1.2.3.4"}])
        self.assertEqual(device.parse_route_path('{"port": 2, "link": "10.0.0.1"}'), [{"port": 2, "link": "10.0.0.1"}])
        self.assertFalse(device.parse_route_path("false"))
        self.assertEqual(device.parse_connection_path("1/0/@2/1"),
                         [{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}])
        with self.assertRaises(AssertionError):
            device.parse_route_path("1/0/@2/1")               # a trailing CIP path only in a connection path
        with self.assertRaises(AssertionError):
            device.port_link("0/1")                          # port 0 is no port


class TestDefaultsAndConfig(unittest.TestCase):
    def test_values_and_config_search(self) -> None:
        self.assertEqual((defaults.route_path_default, defaults.send_path_default), ("1/0", "@6/1"))
        self.assertEqual(enip.address, ("", 44818))
        self.assertIs(enip.config_files, main.config_files)       # one list, which scripts extend
        self.assertEqual(enip.config_files[-1], "cpppo.cfg")       # the current folder's, most specific
        with tempfile.TemporaryDirectory() as folder:
            for name in ("a.cfg", "b.cfg", "skip.cfg"):
                with open(os.path.join(folder, name), "w") as out:
                    out.write(f"[{name}]\n")
            opened = list(defaults.config_open("*.cfg", extra=[folder], skip="*skip*"))
            try:
                self.assertEqual([os.path.basename(f.name) for f in opened][-2:], ["a.cfg", "b.cfg"])
            finally:
                for f in opened:
                    f.close()
        self.assertEqual(defaults.deduce_name(filename="/x/simulator_example.py", extension="cfg"),
                         "simulator_example.cfg")

    def test_object_config_loader_reads_a_scripts_section(self) -> None:
        # simulator_example.py reads its [Simulator] tags this way, before main() runs.
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "simulator_example.cfg")
            with open(path, "w") as f:
                f.write("[Simulator]\nSpecific CIP Address@123/4/5 = DINT = 999\n")
            loader = enip.Object.config_loader
            optionxform = loader.optionxform
            loader.optionxform = str  # type: ignore[assignment,method-assign]  # case-sensitive, as the example
            try:
                loader.read([*enip.config_files, path])
                self.assertEqual(dict(loader["Simulator"]), {"Specific CIP Address@123/4/5": "DINT = 999"})
            finally:
                loader.optionxform = optionxform  # type: ignore[method-assign]
                loader.clear()


class TestUdtAndUcmm(unittest.TestCase):
    STRING = {"name": "STRING", "attributes": ["LEN", "DATA"], "template": {"structure_size": 88},
              "internal_tags": {"LEN": {"offset": 0, "data_type": "DINT", "tag_type": "atomic"},
                                "DATA": {"offset": 4, "data_type": "SINT", "tag_type": "atomic", "array": 82}}}
    MOTOR = {"name": "Motor", "attributes": ["Speed", "Run", "Fault", "Hist", "Label"],
             "template": {"structure_size": 112},
             "internal_tags": {"Speed": {"offset": 0, "data_type": "REAL", "tag_type": "atomic"},
                               "Run": {"offset": 8, "data_type": "BOOL", "tag_type": "atomic", "bit": 0},
                               "Fault": {"offset": 8, "data_type": "BOOL", "tag_type": "atomic", "bit": 3},
                               "Hist": {"offset": 12, "data_type": "INT", "tag_type": "atomic", "array": 4},
                               "Label": {"offset": 20, "data_type": STRING, "tag_type": "struct"}}}

    def test_tag_struct_round_trip(self) -> None:
        codec = udt.tag_struct()
        raw = codec.produce({"Speed": 1.5, "Run": False, "Fault": True, "Hist": [1, 2, 3, 4], "Label": "pump"},
                            self.MOTOR)
        self.assertEqual(len(raw), 112)
        self.assertEqual(raw[8], 0b1000)                      # two BOOL members share one byte
        record = codec.parse(raw, self.MOTOR)
        self.assertEqual(dict(dict.items(record)), {"Speed": 1.5, "Run": False, "Fault": True, "Hist": [1, 2, 3, 4],
                                                    "Label": "pump"})
        self.assertIsInstance(codec.parse(raw[:10], self.MOTOR)["Hist"], Exception)   # a short record

    def test_ucmm_route_path_for_main(self) -> None:
        class Routed(ucmm.UCMM):
            route_path = [{"port": 1, "link": 0}]

        self.assertIsNone(ucmm.UCMM.route_path)
        self.assertEqual(Routed.route_path, [{"port": 1, "link": 0}])
        self.assertTrue(issubclass(ucmm.UCMM, enip.Object))


TAGS = ["SCADA=INT[10]", "Motor_Velocity@0x93/3/10=REAL", "Output_Current@0x93/7/10=REAL"]


class ServedBase(unittest.TestCase):
    def start(self, *tags: str) -> Any:
        server = simulator.start(["--address", "127.0.0.1:0", "--no-udp", *tags], reactor)
        self.addCleanup(server.stop)
        return server

    def setUp(self) -> None:
        self.server = self.start(*TAGS)
        main_controller.use(self.server.service)      # what main() does for the controller it serves
        self.addCleanup(main_controller.lookup_reset)
        self.host, self.port = self.server.address

    @defer.inlineCallbacks
    def client(self):
        client = yield pipeline.connect(self.host, self.port, timeout=5)
        self.addCleanup(client.close)
        return client


class TestModuleLevelViews(ServedBase):
    @defer.inlineCallbacks
    def test_main_tags_as_simulator_example_sets_initial_values(self):
        entry = dict.__getitem__(main.tags, "SCADA")
        self.assertEqual(entry.attribute.parser.__class__.__name__, "INT")
        entry.attribute[0:3] = [1, 2, 3]
        client = yield self.client()
        values = yield client.read("SCADA[0-3]")
        self.assertEqual(values, [1, 2, 3, 0])
        self.assertEqual(sorted(dict.keys(main.tags)), ["Motor_Velocity", "Output_Current", "SCADA"])
        self.server.service.controller.add_tag("Later", "DINT")      # a tag made after main() started
        self.assertIn("Later", main.tags)
        self.assertIn("Later.attribute", main.tags.keys())
        main.tags["SCADA"].error = 0x05                               # every access now fails with 0x05
        failed = yield client.read("SCADA[0]").addErrback(lambda failure: failure.value)
        self.assertIsInstance(failed, CIPError)
        self.assertIn("status 5", str(failed))
        main.tags["SCADA"].error = 0
        self.assertEqual((yield client.read("SCADA[1]")), [2])

    def test_lookup_directory_resolve(self) -> None:
        identity = self.server.service.controller.identity
        self.assertIs(device.lookup(1, 1), identity)
        self.assertIs(device.directory["1.1.0"], identity)
        self.assertIs(device.directory["1.1"]["7"], identity.attributes[7])   # a layer, as the original's
        self.assertIn("1.1.7", list(device.directory))
        name: Any = device.lookup(1, 1, 7)
        self.assertEqual(name[0], identity.product_name)
        self.assertIsNone(device.lookup(0x99, 1, 1))
        self.assertIs(device.lookup(0x93, 3, 10), dict.__getitem__(main.tags, "Motor_Velocity").attribute)
        self.assertEqual(device.resolve({"segment": [{"symbolic": "motor_velocity"}]}, attribute=True), (0x93, 3, 10))
        self.assertEqual(device.resolve("SCADA", attribute=True), (2, 1, 1))   # the 1st tag of @2/1/N
        self.assertEqual(device.resolve("@1/1/7"), (1, 1, None))
        self.assertEqual(device.resolve("@1/1", attribute=3), (1, 1, 3))
        self.assertEqual(device.resolve_element("SCADA[4]"), (4,))
        with self.assertRaises(AssertionError):
            device.resolve("NoSuchTag", attribute=True)

    @defer.inlineCallbacks
    def test_redirect_tag_serves_an_attribute_by_name(self):
        ids = device.redirect_tag("Speed", {"class": 0x93, "instance": 3, "attribute": 10})
        self.assertEqual(ids, (0x93, 3, 10))
        device.lookup(0x93, 3, 10)[0] = 12.5   # type: ignore[index]
        client = yield self.client()
        self.assertEqual((yield client.read("Speed")), [12.5])
        self.assertEqual(device.resolve_tag("SPEED"), (0x93, 3, 10))
        with self.assertRaises(AssertionError):
            device.redirect_tag("Nothing", {"class": 0x93, "instance": 99, "attribute": 10})

    def test_other_controllers_are_untouched(self) -> None:
        other = self.start("Other=DINT")
        self.assertNotIn("Other", dict.keys(main.tags))
        self.assertIsNot(device.lookup(1, 1), other.service.controller.identity)
        main_controller.lookup_reset()
        self.assertIsNone(device.lookup(1, 1))
        self.assertEqual(dict(main.tags), {})


#: The original's poll_example, shortened: a PowerFlex 750 polled by name through poll.poll.
POWERFLEX_SCRIPT = r"""
import sys, threading
from cpppo.server.enip import poll
from cpppo.server.enip.ab import powerflex_750_series as device
from cpppo.server.enip.get_attribute import proxy_connected
host, port = "127.0.0.1", int(sys.argv[1])
def process(par, val):
    process.values[par] = val
    if len(process.values) == 2:
        process.done = True
process.done, process.values = False, {}
failures = []
poll.poll(proxy_class=device, address=(host, port), cycle=0.1, timeout=5, process=process,
          failure=failures.append, params=["Motor Velocity", "Output Current"])
print(sorted(process.values.items()), failures)
via = device(host, port=port, timeout=5)
print(list(via.read(via.parameter_substitution(["Speed Units", "Motor Velocity = (REAL)3.5"]))))
print(list(proxy_connected(host, port=port, timeout=5).read(["SCADA[1]"])))
"""


class TestScripts(ServedBase):
    @defer.inlineCallbacks
    def run_script(self, script: str, *args: str):
        out, err, code = yield utils.getProcessOutputAndValue(sys.executable, ["-c", script, *args], env=child_env())
        self.assertEqual(code, 0, err.decode())
        return out.decode().splitlines()

    @defer.inlineCallbacks
    def test_powerflex_polled_by_parameter_name(self):
        dict.__getitem__(main.tags, "Motor_Velocity").attribute[0] = 1750.0
        dict.__getitem__(main.tags, "Output_Current").attribute[0] = 4.25
        dict.__getitem__(main.tags, "SCADA").attribute[1] = 42
        self.server.service.controller.add_tag("Speed_Units", "DINT")
        addressed.attach(self.server.service.controller, "Speed_Units", 0x93, 300, 10,
                         self.server.service.controller.tags["Speed_Units"])
        lines = yield self.run_script(POWERFLEX_SCRIPT, str(self.port))
        self.assertEqual(lines[0], "[('Motor Velocity', [1750.0]), ('Output Current', [4.25])] []")
        self.assertEqual(lines[1], "[[0], True]")
        self.assertEqual(lines[2], "[[42]]")
        self.assertEqual(dict.__getitem__(main.tags, "Motor_Velocity").attribute[0], 3.5)
        self.assertEqual(ab.powerflex_750_series.PARAMETERS["output_current"].attribute, "@0x93/  7/10")

    @defer.inlineCallbacks
    def test_list_services_with_identity(self):
        lines = yield self.run_script("from cpppo.server.enip.list_services import main; import sys; "
                                      "sys.exit(main(sys.argv[1:]))", "-a", f"127.0.0.1:{self.port}", "-i")
        text = "\n".join(lines)
        self.assertIn("enip.CIP.list_services.CPF.item[0].communications_service.service_name", text)
        self.assertIn("'Communications'", text)
        self.assertIn("identity_object.product_name", text)
