"""A plant of 300 controllers and 10 Modbus devices in one process, from one plant file, driven by real clients.

Why: the plant's promise is that every device of it is a whole simulator at its own address:
pylogix, pycomm3 and pymodbus each reach a device by its address (and a chassis' controllers by
slot), each device answers with its own identity and data, and a write on one never shows on
another.  One plant process (``python -m cpppo.plant``, as a user starts it) serves every test
here.  Its addresses are 127.R.x.y with R drawn per run, so that two runs on one machine (or
another test's servers) do not collide; the controllers are at EtherNet/IP's own port, 44818,
as on a plant network, and the Modbus devices at an OS-chosen-free high port.
"""

from __future__ import annotations

import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pylogix
import pytest
from pycomm3 import LogixDriver
from pymodbus.client import ModbusTcpClient

from cpppo.enip.codec import encap
from tests.peers.process import ServerProcess
from tests.test_enip_web_browser import browser  # noqa: F401  (the fixture: headless Chromium)

FILLERS = 297  # with the tank and a chassis of two: 300 controllers
METERS = 10
MODBUS_PORT = 15020
L5X = Path(__file__).resolve().parents[1] / "cpppo" / "tests" / "data" / "plant.L5X"


def _plant_file(folder: Path, net: int) -> Path:
    path = folder / "plant.toml"
    path.write_text(f"""\
[[controllers]]
name = "tank"
address = "127.{net}.1.1"
tags = ["SCADA=INT[100]", "Level=REAL"]
l5x = ["{L5X}"]
identity = {{ product_name = "1756-L85E/B Tank", serial = 1234 }}

[[controllers]]
name = "filler{{i}}"
count = {FILLERS}
address = "127.{net}.2.250"
tags = ["Count=DINT[10]", "Level=REAL"]
identity = {{ product_name = "1756-L83E/B Filler {{i}}" }}

[[controllers]]
name = "rack{{i}}"
count = 2
slot = 1
address = "127.{net}.8.1"
tags = ["Count=DINT[10]", "Rack{{i}}=INT[4]"]
identity = {{ product_name = "1756-L81E/B Rack {{i}}", serial = 9000 }}

[[modbus]]
name = "meter{{i}}"
count = {METERS}
address = "127.{net}.9.1:{MODBUS_PORT}"
registers = ["40001-40010=0", "1-16=0"]
""")
    return path


class RunningPlant:
    """The running plant process, its file, its addresses and its web port."""

    def __init__(self, process: ServerProcess, net: int, web: int, listing: dict[str, str]) -> None:
        self.process, self.net, self.web, self.listing = process, net, web, listing

    def filler(self, i: int) -> str:
        """filler{i}'s address: 127.net.2.250 + i (the next IPv4 address each)."""
        return self.listing[f"filler{i}"]


@pytest.fixture(scope="module")
def plant() -> Iterator[RunningPlant]:
    outdir = tempfile.TemporaryDirectory(prefix="plant-")
    net = random.randrange(100, 250)
    path = _plant_file(Path(outdir.name), net)
    with open(Path(outdir.name) / "output", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cpppo.plant", "-A", "--web", "127.0.0.1:0", str(path)],
                                cwd=outdir.name, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    process = ServerProcess(proc, proc.args, outdir)
    with process:
        deadline = time.monotonic() + 60
        while "started in" not in process.output() and time.monotonic() < deadline and process.alive():
            time.sleep(0.1)
        text = process.output()
        if "Address already in use" in text:
            pytest.skip(f"127.{net}.x.y:44818 is taken on this machine: {text.strip()[-200:]}")
        assert "started in" in text, text
        listing = {m[0]: m[1] for m in re.findall(r"^(\S+) (?:enip|modbus) (\S+:\d+)", text, re.M)}
        web = int(re.search(r"Web API address = \('127.0.0.1', (\d+)\)", text).group(1))
        yield RunningPlant(process, net, web, {name: where.rsplit(":", 1)[0] for name, where in listing.items()})


def test_the_plant_serves_every_device_of_the_file_at_its_own_address(plant: RunningPlant) -> None:
    assert "plant plant.toml: 300 controllers, 10 Modbus devices" in plant.process.output()
    assert len(plant.listing) == 310
    assert plant.filler(0) == f"127.{plant.net}.2.250" and plant.filler(6) == f"127.{plant.net}.3.0"
    assert plant.listing["rack0"] == plant.listing["rack1"] == f"127.{plant.net}.8.1"
    assert plant.listing["meter9"] == f"127.{plant.net}.9.10"


def test_pylogix_reads_each_controllers_own_identity_and_tags(plant: RunningPlant) -> None:
    seen = set()
    for i in (0, 5, 6, 150, FILLERS - 1):
        with pylogix.PLC(plant.filler(i), timeout=5.0) as comm:
            device = comm.GetDeviceProperties().Value
            assert device.ProductName == f"1756-L83E/B Filler {i}"
            seen.add(device.SerialNumber)
            assert comm.Read("Count[0]", 3).Value == [0, 0, 0]
            assert comm.Read("SCADA").Status != "Success"  # the tank's tag, not a filler's
    assert len(seen) == 5  # every controller's serial is its own


def test_a_controller_serves_its_l5x_export(plant: RunningPlant) -> None:
    with pylogix.PLC(plant.listing["tank"], timeout=5.0) as comm:
        assert comm.Read("Counter").Value == 42  # from the L5X
        assert comm.Read("SCADA[0]", 2).Value == [0, 0]  # from the plant file's tags
        assert comm.GetDeviceProperties().Value.ProductName == "1756-L85E/B Tank"  # the file's, not the L5X's
    with pylogix.PLC(plant.filler(0), timeout=5.0) as comm:
        assert comm.Read("Counter").Status != "Success"


def test_a_write_on_one_controller_never_shows_on_another(plant: RunningPlant) -> None:
    with pylogix.PLC(plant.filler(10), timeout=5.0) as comm:
        assert comm.Write("Count[2]", 1010).Status == "Success"
        assert comm.Write("Level", 10.5).Status == "Success"
    with LogixDriver(plant.filler(11)) as driver:  # pycomm3, on the next address
        assert driver.read("Count{3}").value == [0, 0, 0]
        assert driver.write(("Count[2]", 1111)).error is None
        assert driver.read("Level").value == 0.0
    with pylogix.PLC(plant.filler(10), timeout=5.0) as comm:
        assert comm.Read("Count[0]", 3).Value == [0, 0, 1010]
        assert comm.Read("Level").Value == 10.5
    with LogixDriver(plant.filler(11)) as driver:
        assert driver.read("Count{3}").value == [0, 0, 1111]


def test_two_controllers_behind_one_address_are_reached_by_slot(plant: RunningPlant) -> None:
    host = plant.listing["rack0"]
    with LogixDriver(f"{host}/1") as one, LogixDriver(f"{host}/2") as two:  # pycomm3: backplane port 1, slot
        assert one.info["product_name"] == "1756-L81E/B Rack 0" and one.info["serial"] == f"{9000:08x}"
        assert two.info["product_name"] == "1756-L81E/B Rack 1" and two.info["serial"] == f"{9001:08x}"
        assert one.write(("Count[0]", 11)).error is None
        assert two.write(("Count[0]", 22)).error is None
        assert one.read("Rack0{4}").error is None and one.read("Rack1{4}").error is not None
    with pylogix.PLC(host, slot=2, timeout=5.0) as comm:  # pylogix: the slot it is told
        assert comm.Read("Count[0]").Value == 22
        assert comm.Read("Rack1[0]").Status == "Success"
    with pylogix.PLC(host, slot=1, timeout=5.0) as comm:
        assert comm.Read("Count[0]").Value == 11
    with pylogix.PLC(host, slot=3, timeout=5.0) as comm:  # an empty slot: refused, not served by another
        assert comm.Read("Count[0]").Status != "Success"


def _list_identity_tcp(host: str) -> encap.IdentityItem:
    with socket.create_connection((host, 44818), timeout=5.0) as sock:
        sock.sendall(encap.encode_frame(encap.Frame(encap.LIST_IDENTITY)))
        data = b""
        while len(data) < 24 or len(data) < 24 + int.from_bytes(data[2:4], "little"):
            chunk = sock.recv(4096)
            assert chunk, "closed before the List Identity reply"
            data += chunk
    return encap.decode_frame(data, reply=True).body.items[0]


def _list_identity_udp(host: str) -> encap.IdentityItem:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5.0)
        sock.sendto(encap.encode_frame(encap.Frame(encap.LIST_IDENTITY)), (host, 44818))
        data, peer = sock.recvfrom(4096)
    assert peer == (host, 44818)
    return encap.decode_frame(data, reply=True).body.items[0]


def test_list_identity_answers_each_address_as_itself_over_tcp_and_udp(plant: RunningPlant) -> None:
    expected = {plant.listing["tank"]: ("1756-L85E/B Tank", 1234),
                plant.filler(7): ("1756-L83E/B Filler 7", None),
                plant.filler(200): ("1756-L83E/B Filler 200", None),
                plant.listing["rack0"]: ("1756-L81E/B Rack 0", 9000)}  # the chassis: its lowest slot
    serials = set()
    for host, (name, serial) in expected.items():
        for item in (_list_identity_tcp(host), _list_identity_udp(host)):
            assert item.product_name == name and item.address == host and item.port == 44818
            assert serial is None or item.serial_number == serial
            serials.add(item.serial_number)
    assert len(serials) == len(expected)


def test_each_modbus_device_has_its_own_data_store(plant: RunningPlant) -> None:
    clients = [ModbusTcpClient(plant.listing[f"meter{i}"], port=MODBUS_PORT, timeout=5) for i in range(3)]
    try:
        assert all(client.connect() for client in clients)
        assert not clients[0].write_register(0, 1234, device_id=1).isError()
        assert not clients[1].write_registers(0, [5, 6], device_id=1).isError()
        assert clients[0].read_holding_registers(0, count=2, device_id=1).registers == [1234, 0]
        assert clients[1].read_holding_registers(0, count=2, device_id=1).registers == [5, 6]
        assert clients[2].read_holding_registers(0, count=2, device_id=1).registers == [0, 0]
    finally:
        for client in clients:
            client.close()


def _get(plant: RunningPlant, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{plant.web}{path}", timeout=10) as reply:
        return json.loads(reply.read())


def test_the_web_index_lists_every_device_and_serves_each_controllers_api(plant: RunningPlant) -> None:
    with pylogix.PLC(plant.filler(20), timeout=5.0) as comm:
        comm.Write("Count[1]", 2020)
        listing = _get(plant, "/api")
        assert len(listing["devices"]) == 310
        by_name = {d["name"]: d for d in listing["devices"]}
        assert by_name["filler20"]["clients"] == 1 and by_name["filler20"]["requests"] >= 2
        assert by_name["filler20"]["page"] == "/filler20/" and by_name["meter0"]["kind"] == "modbus"
        assert by_name["filler21"]["clients"] == 0
    assert _get(plant, "/filler20/api/tags/Count/attribute%5B0:2%5D.json")["command"]["value"] == [0, 2020]
    assert _get(plant, "/filler21/api/tags/Count/attribute%5B0:2%5D.json")["command"]["value"] == [0, 0]
    with urllib.request.urlopen(f"http://127.0.0.1:{plant.web}/filler20/", timeout=10) as reply:
        assert b"<html" in reply.read()


def test_a_controllers_program_is_in_its_own_web_api(plant: RunningPlant) -> None:
    logic = _get(plant, "/tank/api/server/logic")["data"]["server"]["logic"]  # its L5X's program, scanning
    assert logic["mode"] == "Run" and logic["routines"][0]["routine"] == "MainRoutine"
    assert _get(plant, "/filler3/api/server/logic")["data"] == {}  # no program there


def test_the_index_and_a_controllers_live_page_in_a_browser(plant: RunningPlant, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15)
    browser.get(f"http://127.0.0.1:{plant.web}/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "summary"), "310 devices"))
    browser.find_element(By.LINK_TEXT, "filler3").click()  # to /filler3/: that controller's own page
    wait.until(ec.text_to_be_present_in_element((By.ID, "product"), "1756-L83E/B Filler 3"))
    assert browser.current_url.endswith("/filler3/")
    with pylogix.PLC(plant.filler(3), timeout=5.0) as comm:
        assert comm.Write("Level", 3.25).Status == "Success"
    browser.find_element(By.ID, "tag-select").send_keys("Level")
    wait.until(ec.text_to_be_present_in_element((By.ID, "value-0"), "3.25"))
