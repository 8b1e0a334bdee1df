"""Serving a plant in this reactor: all or nothing, the open-file limit, and ``twistd cpppo-plant``'s options.

The clients' side (pylogix, pycomm3, pymodbus against 300 controllers) is tests/test_plant.py;
here the plant is served on 127.0.0.1 and 127.x addresses at OS-chosen ports, in trial's reactor.
"""

from __future__ import annotations

import io
import os
import random
import resource
import socket
import tempfile
from contextlib import redirect_stderr
from dataclasses import replace

from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial import unittest

from cpppo.enip.web.guard import Guard
from cpppo.plant.cli import configure, parser, serve
from cpppo.plant.fdlimit import HEADROOM, needed, raise_limit
from cpppo.plant.model import ControllerSpec, EntryRef, Plant, PlantError
from cpppo.plant.reader import parse
from cpppo.plant.serve import PlantServer
from cpppo.plant.web import PlantIndex
from cpppo.tap.plant import Options, makeService
from cpppo.tests.resources import data_file


def _net() -> str:
    return f"127.{random.randrange(100, 250)}.{random.randrange(0, 250)}"


def _refused(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2.0)
        return sock.connect_ex((host, port)) != 0


class AllOrNothing(unittest.TestCase):
    @defer.inlineCallbacks
    def test_an_address_this_host_cannot_bind_closes_what_was_bound(self):
        net = _net()
        with socket.socket() as probe:  # a port free at that address, to see it bound and closed again
            probe.bind((f"{net}.1", 0))
            port = probe.getsockname()[1]
        plant = parse({"controllers": [{"name": "here", "address": f"{net}.1:{port}", "tags": ["X"]},
                                       {"name": "there", "address": "192.0.2.1:0", "tags": ["X"]}]}, "plant.toml")
        server = PlantServer(plant, reactor)
        server.build()
        with self.assertLogs("cpppo.enip.simulator.listeners", "INFO") as logs, \
                self.assertRaises(PlantError) as caught:
            server.listen()
        self.assertRegex(str(caught.exception), r"^plant\.toml: \[\[controllers\]\] #2 'there': cannot listen on "
                                                r"192\.0\.2\.1:0: .*$")
        self.assertIn(f"listening on {net}.1:{port}", logs.output[0])  # it was bound...
        yield server.closing
        self.assertTrue(_refused(f"{net}.1", port))  # ...and is closed again

    def test_a_bad_tag_file_is_found_before_anything_listens(self):
        plant = parse({"controllers": [{"name": "ok", "address": f"{_net()}.1:0", "tags": ["X"]},
                                       {"name": "bad", "address": f"{_net()}.2:0", "l5x": ["missing.L5X"]}]},
                      "plant.toml", "/nowhere")
        server = PlantServer(plant, reactor)
        with self.assertRaises(PlantError) as caught:
            server.build()
        self.assertTrue(str(caught.exception).startswith("plant.toml: [[controllers]] #2 'bad': "), caught.exception)
        self.assertIn("missing.L5X", str(caught.exception))
        self.assertEqual(server.served, {})

    def test_tag_files_and_their_types_are_each_controllers_own(self):
        folder = os.path.dirname(data_file("tagfile.toml"))
        plant = parse({"controllers": [{"name": "c{i}", "count": 2, "address": "127.0.2.1:0", "tags": ["M{i}=Motor"],
                                        "tags_file": ["tagfile.toml"], "csv": [], "identity": {"revision": "32.11"}}]},
                      "plant.toml", folder)
        server = PlantServer(plant, reactor)
        server.build()
        first, second = (server.served[name].service for name in ("c0", "c1"))
        self.assertIn("Motor1", first.tags)  # from the tag file
        self.assertIn("M0", first.tags)  # of the tag file's type
        self.assertNotIn("M0", second.tags)
        self.assertIsNot(first.tags["Motor1"], second.tags["Motor1"])  # each its own
        self.assertEqual(first.identity.attributes[4].value, [32, 11])

    @defer.inlineCallbacks
    def test_every_device_is_served_and_stopped(self):
        net = _net()
        plant = parse({"controllers": [{"name": "c{i}", "count": 3, "address": f"{net}.1:0", "tags": ["X"]},
                                       {"name": "r{i}", "count": 2, "slot": 0, "address": f"{net}.9:0",
                                        "tags": ["X"]}],
                       "modbus": [{"name": "m", "address": f"{net}.20:0", "registers": ["40001"]}]}, "plant.toml")
        server = PlantServer(plant, reactor).start()
        try:
            bound = {name: served.bound for name, served in server.served.items()}
            self.assertEqual([host for host, _ in bound.values()],
                             [f"{net}.1", f"{net}.2", f"{net}.3", f"{net}.9", f"{net}.9", f"{net}.20"])
            self.assertEqual(bound["r0"], bound["r1"])  # one chassis, one listener
            self.assertTrue(all(port for _, port in bound.values()))
            self.assertIs(server.served["r0"].transport, server.served["r1"].transport)
        finally:
            yield server.stop()
        self.assertTrue(all(_refused(host, port) for host, port in bound.values()))


class WebIndex(unittest.TestCase):
    def test_each_device_with_its_requests_per_second_and_clients(self):
        plant = parse({"controllers": [{"name": "c{i}", "count": 2, "address": "127.0.2.1:0", "tags": ["X"]}],
                       "modbus": [{"name": "m", "address": "127.0.9.1:0", "registers": ["40001"]}]}, "plant.toml")
        server = PlantServer(plant, reactor)
        server.build()  # (not listening: the index reads the counters, not the sockets)
        clock = [100.0]
        index = PlantIndex(server, reactor, Guard(), now=lambda: clock[0])
        first = index.listing()["devices"]
        self.assertEqual([(d["name"], d["kind"], d["address"], d["requests"], d["requests_per_s"], d["clients"],
                           d["page"]) for d in first],
                         [("c0", "enip", "127.0.2.1:0", 0, 0.0, 0, "/c0/"), ("c1", "enip", "127.0.2.2:0", 0, 0.0, 0,
                                                                           "/c1/"),
                          ("m", "modbus", "127.0.9.1:0", 0, 0.0, 0, None)])
        server.served["c1"].service.controller.requests += 30  # as the dispatcher counts them
        server.served["m"].service.device.requests += 5
        clock[0] += 0.5  # under a second: the last rates stand
        self.assertEqual([d["requests_per_s"] for d in index.listing()["devices"]], [0.0, 0.0, 0.0])
        clock[0] += 1.5
        devices = index.listing()["devices"]
        self.assertEqual([(d["requests"], d["requests_per_s"]) for d in devices], [(0, 0.0), (30, 15.0), (5, 2.5)])


class Programs(unittest.TestCase):
    """Controllers built from one L5X with a program: each runs its own, on its own tags, at the plant's
    ``--scan-period``; ``--logic program`` starts them all stopped; a stopped plant scans no more."""

    def plant(self, *options: str) -> tuple[PlantServer, Clock]:
        folder = os.path.dirname(data_file("logic/conveyor.L5X"))
        with open(os.path.join(tempfile.mkdtemp(), "plant.toml"), "w") as file:
            file.write(f'[[controllers]]\nname = "line{{i}}"\ncount = 2\naddress = "{_net()}.1:0"\n'
                       f'l5x = ["{folder}/conveyor.L5X"]\n')
        self.addCleanup(os.remove, file.name)
        clock = Clock()
        config = configure(parser().parse_args([*options, file.name]))
        server = PlantServer(config.plant, clock, logic=config.logic, scan_period=config.scan_period)
        server.build()
        clock.advance(0)
        return server, clock

    def test_each_controller_scans_its_own_program_at_the_plants_period(self):
        server, clock = self.plant("--scan-period", "50")
        one, two = (server.served[name].service for name in ("line0", "line1"))
        one.tags["Start"].value = True  # line0's conveyor only: 3 parts of 1 s each fill its batch
        for _ in range(70):  # 3.5 s at 50 ms a scan
            clock.advance(0.05)
        self.assertEqual((one.tags["Batch"].value, one.tags["Full"].value), (3, True))
        self.assertEqual((two.tags["Batch"].value, two.tags["Full"].value), (0, False))
        server.stop()
        self.assertEqual(clock.getDelayedCalls(), [])  # its programs stopped with it

    def test_logic_program_starts_every_program_stopped(self):
        server, clock = self.plant("--logic", "program")
        one = server.served["line0"].service
        one.tags["Start"].value = True
        clock.advance(5.0)
        self.assertEqual(one.tags["Batch"].value, 0)
        server.stop()

    def test_a_bad_logic_or_scan_period_is_one_line(self):
        for options, message in [(["--scan-period", "fast"], "--scan-period 'fast' is not milliseconds"),
                                 (["--logic", "walk"], "--logic 'walk' is not run or program")]:
            with self.assertRaises(ValueError) as caught:
                configure(parser().parse_args([*options, data_file("tagfile.toml")]))
            self.assertEqual(str(caught.exception), message)


class OpenFiles(unittest.TestCase):
    def test_the_soft_limit_is_raised_to_what_the_listeners_need(self):
        plant = parse({"controllers": [{"name": "c{i}", "count": 1000, "address": "127.0.2.1", "tags": ["X"]}]},
                      "plant.toml")
        self.assertEqual(needed(plant), 2000 + HEADROOM)
        self.assertEqual(needed(plant, udp=False), 1000 + HEADROOM)
        soft = raise_limit(plant)
        self.assertGreaterEqual(soft, needed(plant))
        self.assertEqual(resource.getrlimit(resource.RLIMIT_NOFILE)[0], soft)

    def test_a_plant_beyond_the_hard_limit_says_so_in_one_line(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard == resource.RLIM_INFINITY:
            raise unittest.SkipTest("no hard limit on open files here")
        one = ControllerSpec("c", "127.0.2.1", 44818, ("X",), entry=EntryRef("controllers", 1, "c"))
        plant = Plant("big.toml", tuple(replace(one, name=f"c{j}", host=f"10.{j >> 16 & 255}.{j >> 8 & 255}.{j & 255}")
                                        for j in range(hard // 2 + 1)))
        with self.assertRaises(OSError) as caught:
            raise_limit(plant)
        self.assertRegex(str(caught.exception), r"^big\.toml: \d+ devices need at least \d+ open files; the limit "
                                                r"is \d+ \(hard \d+\): raise it \(ulimit -n\), or serve the plant in "
                                                r"shards \(--shard K/N\)$")


class Twistd(unittest.TestCase):
    def setUp(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(lambda: [os.remove(os.path.join(folder, f)) for f in os.listdir(folder)] and None)
        self.path = os.path.join(folder, "plant.toml")
        net = _net()
        with open(self.path, "w") as file:
            file.write(f'[[controllers]]\nname = "c{{i}}"\ncount = 4\naddress = "{net}.1:0"\ntags = ["X"]\n'
                       f'[[modbus]]\nname = "m"\naddress = "{net}.9:0"\nregisters = ["40001"]\n')

    def test_the_plugins_options_are_the_command_lines(self):
        options = Options()
        options.parseOptions(["--shard", "1/2", "--web", "127.0.0.1:0", "--max-connections", "8", "-U", self.path])
        config = configure(options.namespace())
        self.assertEqual([d.name for d in config.plant.devices], ["c1", "c3"])
        self.assertEqual((config.web, config.udp, config.limits.connections), (("127.0.0.1", 0), False, 8))

    def test_a_bad_plant_file_is_a_usage_error(self):
        with open(self.path, "a") as file:
            file.write('[[modbus]]\nname = "api"\naddress = "127.0.0.1:0"\nregisters = ["40001"]\n')
        options = Options()
        options.parseOptions([self.path])
        stderr = io.StringIO()
        with redirect_stderr(stderr), self.assertRaises(SystemExit) as caught:
            makeService(options)
        self.assertEqual(caught.exception.code, 2)
        self.assertEqual(stderr.getvalue().splitlines()[-1],
                         "twistd cpppo-plant: error: plant.toml: [[modbus]] #2 'api': name 'api' is one the web "
                         "server uses itself (api, favicon.ico, index.html, plant.json)")

    @defer.inlineCallbacks
    def test_serve_starts_the_plant_and_its_web_index(self):
        options = Options()
        options.parseOptions(["--web", "127.0.0.1:0", "-A", self.path])
        out = io.StringIO()
        server = serve(configure(options.namespace()), reactor, out)
        try:
            lines = out.getvalue().splitlines()
            self.assertEqual(len(lines), 7)
            self.assertRegex(lines[0], r"^c0 enip 127\.\d+\.\d+\.1:\d+$")
            self.assertRegex(lines[4], r"^m modbus 127\.\d+\.\d+\.9:\d+$")
            self.assertRegex(lines[6], r"^plant plant\.toml: 4 controllers, 1 Modbus devices, started in [\d.]+ s$")
            self.assertIsNotNone(server.web)
        finally:
            yield server.stop()


class ProgramsOnTheReactor(unittest.TestCase):
    """Where the plant meets the controller's program (cpppo.logic): a plant controller whose L5X has
    routines runs them, each controller its own copy, and stopping the plant ends every scan."""

    @defer.inlineCallbacks
    def test_each_controller_runs_its_own_program_and_stop_ends_every_scan(self):
        plant = parse({"controllers": [{"name": "line{i}", "count": 2, "address": f"{_net()}.1:0",
                                        "l5x": [data_file("logic/machine.L5X")]}]}, "plant.toml")
        server = PlantServer(plant, reactor)
        server.build()
        first, second = (server.served[name].service.controller for name in ("line0", "line1"))
        self.assertIsNot(first.logic, second.logic)
        self.assertEqual((first.logic.mode.value, second.logic.mode.value), ("Run", "Run"))
        before = second.tags["Scans"].value
        first.logic.scan(first.logic.tasks[0])
        self.assertEqual((first.tags["Scans"].value, second.tags["Scans"].value), (before + 1, before))

        def scanning() -> list[object]:
            return [call for call in reactor.getDelayedCalls()
                    if getattr(call.func, "__self__", None) in (first.logic, second.logic)]
        self.assertTrue(scanning())
        yield server.stop()
        self.assertEqual(scanning(), [])
