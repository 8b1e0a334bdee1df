"""The controller's clock and tags at a CIP address, through real clients and our ``twistd -n cpppo-enip``.

One server for the module (``twistd -n --pidfile= cpppo-enip --no-config --address 127.0.0.1:0 -A``,
its port read from its output; see tests/enip_server_fixture.py), serving ``SCADA=INT[10]`` and a
simulated drive: ``speed@0x93/1/10=REAL`` and ``limits@0x93/1/3=UINT[2]``.  Against it:

* pycomm3 ``LogixDriver.get_plc_time`` / ``set_plc_time`` (Get/Set Attribute List on class 0x8B,
  attribute 6: UTC microseconds);
* pylogix ``GetPLCTime`` (attribute 11: local time) / ``SetPLCTime`` (attributes 6 and 10: DST);
* the ORIGINAL cpppo 5.2.5 ``get_attribute`` tool reading and writing ``@0x93/1/10`` and reading
  ``@0x93/1`` (Get Attributes All), and pylogix / pycomm3 seeing the same value by tag name and
  by address (Set Attributes All through pycomm3's generic_message).

Nothing runs a reactor in this process: the server is a subprocess, the clients block.
"""

from __future__ import annotations

import ast
import datetime
import struct
import time

import pylogix
import pytest
from pycomm3 import CIPDriver, LogixDriver, Services
from pycomm3.cip.data_types import REAL

from tests import enip_server_fixture as fx
from tests.peers import original

TAGS = ("SCADA=INT[10]", "speed@0x93/1/10=REAL", "limits@0x93/1/3=UINT[2]")
US = 1_000_000
#: How far a clock read may trail what was set (slow CI, subprocess start-up).
SLACK = 60 * US
CLIENT_TIMEOUT = 60.0
PLC_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def server():
    with fx.serving(TAGS) as srv:
        yield srv


def now_us() -> int:
    return int(time.time() * US)


def logix(port: int) -> LogixDriver:
    """pycomm3's LogixDriver without the tag-list upload (the clock needs no tags)."""
    driver = LogixDriver(f"127.0.0.1:{port}", init_tags=False, init_program_tasks=False)
    driver.socket_timeout = PLC_TIMEOUT
    return driver


def pylogix_plc(port: int):
    return pylogix.PLC("127.0.0.1", port=port, timeout=PLC_TIMEOUT)


# ---------------------------------------------------------------------------------------------
# The Wall Clock Time object
# ---------------------------------------------------------------------------------------------

def test_clock_set_and_read_by_both_clients(server):
    """A time set by one client is what both read, and it keeps running; DST moves local time only."""
    then = int(datetime.datetime(2001, 2, 3, 4, 5, 6, tzinfo=datetime.UTC).timestamp() * US)
    with logix(server.port) as driver:
        done = driver.set_plc_time(then)
        assert done.error is None, done.error
        got = driver.get_plc_time()
        assert got.error is None, got.error
        assert then <= got.value["microseconds"] < then + SLACK, got.value
        assert got.value["datetime"].astimezone(datetime.UTC).year == 2001
    comm = pylogix_plc(server.port)
    try:
        local = comm.GetPLCTime(raw=True)                      # attribute 11: local = UTC here (no zone, no DST)
        assert local.Status == "Success", local.Status
        assert then <= local.Value < then + SLACK, (local.Value, then)
        when = comm.GetPLCTime()
        assert (when.Status, when.Value.year, when.Value.month, when.Value.day) == ("Success", 2001, 2, 3)

        done = comm.SetPLCTime(dst=1)                          # UTC from this host's clock, DST on
        assert done.Status == "Success", done.Status
        local = comm.GetPLCTime(raw=True)
        assert done.Value + 3600 * US <= local.Value < done.Value + 3600 * US + SLACK, (local.Value, done.Value)
        with logix(server.port) as driver:                     # UTC is still UTC
            utc = driver.get_plc_time()
        assert done.Value <= utc.value["microseconds"] < done.Value + SLACK

        done = comm.SetPLCTime(dst=0)
        assert done.Status == "Success", done.Status
        local = comm.GetPLCTime(raw=True)
        assert done.Value <= local.Value < done.Value + SLACK
        assert abs(local.Value - now_us()) < SLACK
    finally:
        comm.Close()


def test_clock_unconnected(server):
    """pycomm3 generic messages without a Forward Open reach the clock the same way."""
    with CIPDriver(f"127.0.0.1:{server.port}") as driver:
        driver.socket_timeout = PLC_TIMEOUT
        # route_path=False: unconnected and not in an Unconnected Send, pycomm3 would otherwise append
        # its route path after the attribute list, which the codec refuses as too much data (0x15)
        got = driver.generic_message(service=Services.get_attribute_list, class_code=0x8B, instance=1,
                                     request_data=b"\x01\x00\x06\x00", connected=False, route_path=False,
                                     name="utc")
    assert got.error is None, got.error
    assert got.value[:6] == b"\x01\x00\x06\x00\x00\x00", got.value
    assert abs(struct.unpack_from("<Q", got.value, 6)[0] - now_us()) < 10 * 365 * 86400 * US  # a sane time


# ---------------------------------------------------------------------------------------------
# Tags at a CIP address
# ---------------------------------------------------------------------------------------------

def _get_attribute(args, port):
    done = original.run_original_client(["--print", *args], port, module="cpppo.server.enip.get_attribute",
                                        timeout=CLIENT_TIMEOUT)
    assert done.returncode == 0, f"exit {done.returncode}: {args}\n{done.stdout}\n{done.stderr}"
    return [line for line in done.stdout.splitlines() if line.strip()]


def _value(line: str) -> bytes:
    return bytes(ast.literal_eval(line.split(" == ", 1)[1]))


def test_original_get_attribute_reads_an_addressed_tag(server, original_venv):
    comm = pylogix_plc(server.port)
    try:
        assert comm.Write("speed", 12.5).Status == "Success"
        assert comm.Write("limits[0]", 100).Status == "Success"
        assert comm.Write("limits[1]", 200).Status == "Success"
    finally:
        comm.Close()
    single, every = _get_attribute(["@0x93/1/10", "@0x93/1"], server.port)
    assert "G_A_S      @0x0093/1/10 ==" in single, single
    assert _value(single) == struct.pack("<f", 12.5), single
    assert "G_A_A      @0x0093/1 ==" in every, every
    assert _value(every) == struct.pack("<HHf", 100, 200, 12.5), every   # attributes 3 then 10


def test_original_get_attribute_writes_an_addressed_tag(server, original_venv):
    lines = _get_attribute(["@0x93/1/10=(REAL)-3.25"], server.port)
    assert len(lines) == 1 and "S_A_S" in lines[0] and "@0x0093/1/10" in lines[0], lines
    comm = pylogix_plc(server.port)
    try:
        got = comm.Read("speed")
    finally:
        comm.Close()
    assert (got.Status, got.Value) == ("Success", -3.25)


def test_pycomm3_set_attributes_all_is_seen_by_name(server):
    with CIPDriver(f"127.0.0.1:{server.port}") as driver:
        driver.socket_timeout = PLC_TIMEOUT
        done = driver.generic_message(service=Services.set_attributes_all, class_code=0x93, instance=1,
                                      request_data=struct.pack("<HHf", 7, 8, 99.5), name="drive")
        assert done.error is None, done.error
        short = driver.generic_message(service=Services.set_attributes_all, class_code=0x93, instance=1,
                                       request_data=struct.pack("<HH", 1, 2), name="short")
        assert short.error, "a Set Attributes All of too little data must be refused"
        speed = driver.generic_message(service=Services.get_attribute_single, class_code=0x93, instance=1,
                                       attribute=10, data_type=REAL, name="speed")
    assert (speed.error, speed.value) == (None, 99.5)
    comm = pylogix_plc(server.port)
    try:
        got = comm.Read(["speed", "limits[0]", "limits[1]"])
    finally:
        comm.Close()
    assert [(g.Status, g.Value) for g in got] == [("Success", 99.5), ("Success", 7), ("Success", 8)]
