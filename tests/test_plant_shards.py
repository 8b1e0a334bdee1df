"""Three shards of one plant file, served by three processes on one host, together serve the whole plant.

Why: ``--shard K/N`` exists so that N processes (or containers) share one file.  The unit tests
check the arithmetic (:mod:`cpppo.tests.test_plant_file`); this runs ``python -m cpppo.plant
--shard K/3`` for K = 0, 1, 2 at once, as a user splits a plant over processes: every one must
start (a chassis, split, would be bound twice), the devices they list must be the plant's, each
once, and real clients must reach every device at its file's address (pylogix a controller by
its identity, a chassis' second slot by its route path; pymodbus a device's own registers).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pylogix
import pytest
from pymodbus.client import ModbusTcpClient

from tests.peers.process import ServerProcess

LINE = re.compile(r"^(\S+) (enip|modbus) (\S+):(\d+)(?: slot (\d+))?$", re.M)


def _toml(value: object) -> str:
    """*value* (a string, a number, a list of strings or a table of them) as TOML: JSON's form, but a table's."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + " }"
    return json.dumps(value)


def _plant_file(folder: Path, net: int) -> Path:
    """Seven lone controllers, a chassis of three, four Modbus devices (each with its number in its registers)."""
    entries = [("controllers", {"name": "line{i}", "count": 7, "address": f"127.{net}.1.1", "tags": ["Count=DINT[4]"],
                                "identity": {"product_name": "Line {i}"}}),
               ("controllers", {"name": "rack{i}", "count": 3, "slot": 1, "address": f"127.{net}.8.1",
                                "tags": ["Count=DINT[4]"], "identity": {"product_name": "Rack {i}"}}),
               ("modbus", {"name": "meter{i}", "count": 4, "address": f"127.{net}.9.1:0",
                           "registers": ["40001-40004={i}"]})]
    path = folder / "plant.toml"
    path.write_text("".join(f"[[{table}]]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in keys.items())
                            for table, keys in entries))
    return path


@pytest.fixture(scope="module")
def shards() -> Iterator[list[str]]:
    """The three shard processes' outputs, once each has started (each process in a folder of its own)."""
    net = random.randrange(100, 250)
    processes: list[ServerProcess] = []
    try:
        for k in range(3):
            outdir = tempfile.TemporaryDirectory(prefix=f"plant-shard{k}-")
            path = _plant_file(Path(outdir.name), net)
            with open(Path(outdir.name) / "output", "wb") as out:
                proc = subprocess.Popen([sys.executable, "-m", "cpppo.plant", "-A", "--shard", f"{k}/3", str(path)],
                                        cwd=outdir.name, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            processes.append(ServerProcess(proc, proc.args, outdir))
        outputs = []
        for process in processes:
            deadline = time.monotonic() + 60
            while "started in" not in process.output() and time.monotonic() < deadline and process.alive():
                time.sleep(0.1)
            text = process.output()
            assert "started in" in text, text
            outputs.append(text)
        yield outputs
    finally:
        for process in processes:
            process.stop()
            process.close_output()


def test_three_shards_start_together_and_serve_each_device_once(shards: list[str]) -> None:
    names = [m[0] for text in shards for m in LINE.findall(text)]
    expected = [f"line{i}" for i in range(7)] + [f"rack{i}" for i in range(3)] + [f"meter{i}" for i in range(4)]
    assert sorted(names) == sorted(expected)  # each device once, none missing
    racks = [k for k, text in enumerate(shards) if "rack" in text]
    assert racks == [1]  # the chassis whole, in its first slot's shard (rack0 is device 7: 7 mod 3 = 1)


def test_clients_reach_every_device_at_its_files_address(shards: list[str]) -> None:
    seen = 0
    for text in shards:
        for name, kind, host, port, slot in LINE.findall(text):
            if kind == "modbus":
                with ModbusTcpClient(host, port=int(port), timeout=5) as client:
                    reply = client.read_holding_registers(0, count=4)
                    assert not reply.isError() and reply.registers == [int(name[5:])] * 4
            else:
                number = int(re.sub(r"\D", "", name))
                with pylogix.PLC(host, slot=int(slot or 0), timeout=5.0) as comm:
                    assert comm.Write("Count[1]", 100 + number).Status == "Success"
                    if not slot or slot == "1":  # the address' own identity (a chassis': its lowest slot's)
                        product = comm.GetDeviceProperties().Value.ProductName
                        assert product == ("Line " if name.startswith("line") else "Rack ") + str(number)
                    assert comm.Read("Count[1]").Value == 100 + number  # its own data, in its own process
            seen += 1
    assert seen == 14
