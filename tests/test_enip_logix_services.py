"""The Logix services real clients use inside structures, each driven by the client that found it.

``twistd -n cpppo-enip --l5x services.L5X --web 127.0.0.1:0`` serves a UDT
``Drive`` (BIT members on a hidden SINT, SINT/INT/DINT/LINT members, a BOOL[64]
member, a REAL, a DINT[3]) in controller and program scope, ``Names``
(STRING[100]) and ``TEXT`` (STRING).  pycomm3 and pylogix write single bits
with Read Modify Write (0x4E) inside the structures and read STRING[100]
whole (Read Tag Fragmented resuming at byte offsets that are not multiples of
88); pylogix's documented ``Message()`` reads the controller fault record
(class 0x73) before and after the web API sets a fault; the original cpppo
5.2.5 client writes ``TEXT=(STRING)hello`` (a CIP STRING).  The status cases
are checked at unit level, against the same export loaded in-process.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pycomm3
import pylogix
import pytest
import requests
from twisted.internet import defer, task

from cpppo.enip.codec import cip
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import GeneralStatus, LogixExtendedStatus
from cpppo.enip.codec.epath import Symbolic, parse_tag
from cpppo.enip.simulator.controller.device import Attribute, CIPError
from cpppo.enip.simulator.controller.tags import UNCONNECTED_REPLY_SIZE
from cpppo.enip.simulator.loaders import l5x
from cpppo.enip.simulator.service import EnipService
from tests.enip_server_fixture import TwistdEnipServer
from tests.peers.original import run_original_client
from tests.test_enip_web_e2e import web_port

EXPORT = Path(__file__).resolve().parents[1] / "cpppo" / "tests" / "data" / "services.L5X"
SCOPES = ("Drive1", "Program:Line.Drive2")
GENERAL, TYPE_MISMATCH = GeneralStatus.GENERAL_ERROR, LogixExtendedStatus.DATA_TYPE_MISMATCH
INDEX_OUT_OF_RANGE, BEYOND = LogixExtendedStatus.INDEX_OUT_OF_RANGE, LogixExtendedStatus.OFFSET_BEYOND_TEMPLATE


@pytest.fixture(scope="module")
def simulator():
    with TwistdEnipServer.start(["--l5x", EXPORT], extra_args=["--web", "127.0.0.1:0"]) as server:
        server.web = f"http://127.0.0.1:{web_port(server.output)}/api"
        yield server
        assert server.alive(), server.output()[-3000:]


# --- real clients --------------------------------------------------------------------------------

@pytest.mark.parametrize("scope", SCOPES)
def test_pycomm3_writes_bits_inside_structures(simulator, scope) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        for bit in ("Flags.5", "Small.7", "Word.15", "Wide.63", "Bools[40]", "Jogging", "Alarm"):
            assert not plc.write(f"{scope}.{bit}", True).error, bit
            assert plc.read(f"{scope}.{bit}").value is True, bit
        assert not plc.write(f"{scope}.Bools[0]", False).error
        drive = plc.read(scope).value
        assert (drive["Flags"], drive["Small"], drive["Word"], drive["Wide"]) == (33, -128, -32768, -(2**63))
        assert drive["Bools"][40] and not drive["Bools"][0] and sum(drive["Bools"]) == 1
        assert (drive["Ready"], drive["Jogging"], drive["Alarm"]) == (True, True, True)  # the hidden SINT's bits
        assert plc.write(f"{scope}.Speed.1", True).error  # a REAL: 0xFF/0x2107
        assert not plc.write(f"{scope}.Alarm", False).error
        assert plc.read(f"{scope}.Alarm").value is False and plc.read(f"{scope}.Ready").value is True


@pytest.mark.parametrize("scope", SCOPES)
def test_pylogix_writes_bits_inside_structures(simulator, scope) -> None:
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        for bit in ("Counts[2].9", "Word.3", "Bools[63]"):
            assert comm.Write(f"{scope}.{bit}", True).Status == "Success", bit
            assert comm.Read(f"{scope}.{bit}").Value is True, bit
        assert comm.Read(f"{scope}.Counts[2]").Value == 512
        assert comm.Write(f"{scope}.Counts[2].9", False).Status == "Success"
        assert comm.Read(f"{scope}.Counts[2]").Value == 0
        assert comm.Write(f"{scope}.Jogging", False).Status == "Success"  # a BIT member: Write Tag of a BOOL
        assert comm.Read(f"{scope}.Jogging").Value is False


def test_both_clients_read_string_array_whole(simulator) -> None:
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert not plc.write(("Names[0]", "first"), ("Names[45]", "middle"), ("Names[99]", "last"))[0].error
        names = plc.read("Names{100}")
        assert names.error is None, names.error
        assert (names.value[0], names.value[45], names.value[99], names.value[1]) == ("first", "middle", "last", "")
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        names = comm.Read("Names", 100)
        assert names.Status == "Success"
        assert (names.Value[0], names.Value[45], names.Value[99], len(names.Value)) == ("first", "middle", "last", 100)


def _fault_record(comm: pylogix.PLC) -> tuple[int, int]:
    """The major and minor fault codes, read as pylogix's documentation reads them."""
    reply = comm.Message(cip_service=0x01, cip_class=0x73, cip_instance=0x01)
    assert reply.Status == "Success", reply.Status
    data = reply.Value[44:]
    return struct.unpack_from("<H", data, 20)[0], struct.unpack_from("<H", data, 22)[0]


def test_pylogix_message_reads_the_fault_record(simulator) -> None:
    def api(path: str) -> dict:
        response = requests.get(simulator.web + path, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["data"]["server"]["fault"]
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        assert _fault_record(comm) == (0, 0)
        api("/server/fault/major=4")
        assert api("/server/fault/minor=16") == {"major": 4, "minor": 16, "clear": False}
        assert _fault_record(comm) == (4, 16)
        assert api("/server/fault/clear=true") == {"major": 0, "minor": 0, "clear": True}
        assert _fault_record(comm) == (0, 0)


def test_original_client_writes_a_cip_string(simulator, original_venv) -> None:
    done = run_original_client(["-p", "TEXT=(STRING)hello", "TEXT"], simulator.port)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "TEXT              <= ['hello']: 'OK'" in done.stdout, done.stdout
    # It reads the Logix STRING as it is (LEN, then DATA[82]), and prints the raw bytes.
    assert "[5, 0, 0, 0, 104, 101, 108, 108, 111, 0, 0" in done.stdout, done.stdout
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert plc.read("TEXT").value == "hello"
    done = run_original_client(["-p", "TEXT=(SSTRING)hi", "Names[7-8]=(STRING)abc,de"], simulator.port)
    assert done.returncode == 0 and done.stdout.count("'OK'") == 2, done.stdout + done.stderr
    too_long = run_original_client(["-p", "TEXT=(STRING)" + "x" * 83], simulator.port)
    assert "Status 255 [8453]" in too_long.stdout + too_long.stderr, too_long.stdout + too_long.stderr  # 0x2105
    with pycomm3.LogixDriver(f"127.0.0.1:{simulator.port}/0") as plc:
        assert [t.value for t in plc.read("TEXT", "Names[7]", "Names[8]")] == ["hi", "abc", "de"]


# --- the status cases, in-process ------------------------------------------------------------------

@pytest.fixture
def service():
    """The export loaded as the server loads it, into a service nothing listens for."""
    service = EnipService(clock=task.Clock())
    exported = l5x.load_l5x([str(EXPORT)])
    service.load_tags(exported)
    l5x.apply(service, exported)
    return service


def _serve(service: EnipService, request: cip.Request, budget: int = UNCONNECTED_REPLY_SIZE) -> cip.Reply:
    """The reply, or the CIPError's status as an error reply (as the service answers a client)."""
    try:
        return service.serve(request, budget)
    except CIPError as error:
        return cip.Reply(request.service | 0x80, error.status, error.extended)


def _rmw(path: str, or_mask: bytes, and_mask: bytes) -> cip.Request:
    return cip.Request(0x4E, parse_tag(path), body=logix.ReadModifyWrite(or_mask, and_mask[:len(or_mask)],
                                                                          and_mask[len(or_mask):]))


def _member(service: EnipService, path: str) -> list:
    reply = service.serve(cip.Request(0x4C, parse_tag(path), body=logix.ReadTag(1)), 4000)
    return reply.body.values()


@pytest.mark.parametrize("scope", SCOPES)
def test_read_modify_write_statuses(service, scope) -> None:
    ok = _serve(service, _rmw(f"{scope}.Small", b"\x80", b"\xff" * 8))  # pycomm3: an 8-byte AND mask, n = 1
    assert (ok.service, ok.status) == (0xCE, 0) and _member(service, f"{scope}.Small") == [-128]
    assert _serve(service, _rmw(f"{scope}.Small", b"\x03", b"\x7e" + b"\xff" * 7)).status == 0  # reset 7 and 0
    assert _member(service, f"{scope}.Small") == [2]
    for n in (2, 3):  # larger than the SINT, and not an allowed size
        assert _serve(service, _rmw(f"{scope}.Small", bytes(n), b"\xff" * n)).status == 0x03
    for path in (f"{scope}.Speed", scope):  # a REAL member, the whole structure
        reply = _serve(service, _rmw(path, b"\x01\x00\x00\x00", b"\xff" * 4))
        assert (reply.status, reply.extended) == (GENERAL, (TYPE_MISMATCH,)), path
    # The masks never reach past the one element the path names (PM020: no larger than its data type).
    before = bytes(service.tags[scope].raw)
    for path, n in ((f"{scope}.Counts[0]", 8), (f"{scope}.Counts[0]", 12), (f"{scope}.Counts[1]", 8),
                    (f"{scope}.Word", 4), (f"{scope}.Flags", 8), (f"{scope}.Bools[0]", 8)):
        assert _serve(service, _rmw(path, b"\x01" * n, b"\xff" * n)).status == 0x03, (path, n)
    assert bytes(service.tags[scope].raw) == before
    assert _serve(service, _rmw(f"{scope}.Counts[2]", b"\x01\0\0\0", b"\xff" * 8)).status == 0
    assert [_member(service, f"{scope}.Counts[{i}]") for i in range(3)] == [[0], [0], [1]]
    assert _serve(service, _rmw(f"{scope}.Flags", b"\x00\x01", b"\xff\xff")).status == 0  # the first 2 of 4 bytes
    assert _member(service, f"{scope}.Flags") == [0x101]
    assert _serve(service, _rmw(f"{scope}.Ready", b"\x00", b"\xfe")).status == 0  # a BIT member: its bit is bit 0
    assert _member(service, f"{scope}.Ready") == [False] and _member(service, f"{scope}.Jogging") == [False]
    assert _serve(service, _rmw(f"{scope}.Ready", b"\x01", b"\xff")).status == 0
    assert _member(service, f"{scope}.Ready") == [True]
    assert _serve(service, _rmw(f"{scope}.Ready", b"\x00", b"\x01")).status == 0  # neither set nor reset: kept
    assert _member(service, f"{scope}.Ready") == [True] and _member(service, f"{scope}.Alarm") == [False]


def test_read_modify_write_on_atomic_tags(service) -> None:
    assert _serve(service, _rmw("Status", b"\x08", b"\xff")).status == 0  # one byte of a DINT
    assert _member(service, "Status") == [8]
    reply = _serve(service, _rmw("Speeds[0]", bytes(4), b"\xff" * 4))
    assert (reply.status, reply.extended) == (GENERAL, (TYPE_MISMATCH,))
    assert _serve(service, _rmw("Status", bytes(8), b"\xff" * 8)).status == 0x03
    pair = service.add_tag("Pair", "SINT", 2)  # n of two SINTs is not one SINT's: nothing changes
    assert _serve(service, _rmw("Pair[0]", b"\x01\x01", b"\xff\xff")).status == 0x03 and pair[0:2] == [0, 0]
    assert _serve(service, _rmw("Pair[1]", b"\x81", b"\xff")).status == 0 and pair[0:2] == [0, -127]


def test_read_modify_write_waits_for_a_slow_attribute(service) -> None:
    """An Attribute whose reads answer later (a Deferred): the write waits for the old value."""
    clock = task.Clock()

    class Slow(Attribute):
        def __getitem__(self, key):
            return task.deferLater(clock, 1.0, Attribute.__getitem__, self, key)

    slow = service.tags.add(Slow("Slow", "DINT", [0x10, 0x20]))
    pending = service.serve(_rmw("Slow[1]", b"\x01\0\0\0", b"\xdf\xff\xff\xff"), UNCONNECTED_REPLY_SIZE)
    assert isinstance(pending, defer.Deferred) and not pending.called
    clock.advance(1.0)
    assert pending.result.status == 0 and Attribute.__getitem__(slow, slice(0, 2)) == [0x10, 0x01]


@pytest.mark.parametrize("budget", [UNCONNECTED_REPLY_SIZE, 4000 - 2])  # unconnected, and a large connection
def test_fragmented_reads_resume_at_any_byte_offset(service, budget) -> None:
    service.tags["Names"].set_string(99, "last")
    data, offset = b"", 0
    while True:
        reply = _serve(service, cip.Request(0x52, (Symbolic("Names"),), body=logix.ReadTagFragmented(100, offset)),
                       budget)
        assert reply.status in (0, 0x06), (offset, reply.status, reply.extended)
        data += reply.body.data
        offset = len(data)
        if reply.status == 0:
            break
    assert len(data) == 8800 and data[99 * 88:99 * 88 + 8] == b"\x04\0\0\0last"
    for past in (8800, 9000):
        reply = _serve(service, cip.Request(0x52, (Symbolic("Names"),), body=logix.ReadTagFragmented(100, past)))
        assert (reply.status, reply.extended) == (GENERAL, (BEYOND,))


def test_string_writes_too_long_get_one_status(service) -> None:
    path = (Symbolic("TEXT"),)
    cip_string = logix.WriteTag(0xD0, 1, struct.pack("<H", 83) + b"x" * 83 + b"\0")
    logix_string = logix.WriteTag(0x02A0, 1, struct.pack("<i", 83) + b"x" * 82 + b"\0\0", handle=0x0FCE)
    for body in (cip_string, logix_string):
        reply = _serve(service, cip.Request(0x4D, path, body=body))
        assert (reply.status, reply.extended) == (GENERAL, (INDEX_OUT_OF_RANGE,)), body
    short = logix.WriteTag(0xDA, 1, b"\x02ok")
    assert _serve(service, cip.Request(0x4D, path, body=short)).status == 0
    assert service.tags["TEXT"].get_string(0) == "ok"
    assert _serve(service, cip.Request(0x4D, path, body=logix.WriteTag(0xD0, 1, b"\x05\0ab"))).status == 0x13


def test_string_len_split_between_fragments_is_checked(service) -> None:
    """Write Tag Fragmented may end inside a LEN: its value as completed by the next fragment must fit."""
    def fragment(name: str, elements: int, offset: int, data: bytes) -> cip.Reply:
        body = logix.WriteTagFragmented(0x02A0, elements, offset, data, handle=0x0FCE)
        return _serve(service, cip.Request(0x53, (Symbolic(name),), body=body))
    for name, elements, base in (("TEXT", 1, 0), ("Names", 2, 88)):
        assert fragment(name, elements, 0, bytes(base + 2)).status == 0
        reply = fragment(name, elements, base + 2, b"\x01\x00" + b"y" * 84)  # LEN 0x00010000
        assert (reply.status, reply.extended) == (GENERAL, (INDEX_OUT_OF_RANGE,)), name
        assert fragment(name, elements, base + 2, b"\x00\x00" + b"y" * 84).status == 0, name
        assert service.tags[name].get_string(elements - 1) == ""
    assert fragment("TEXT", 1, 0, b"\x02\x00").status == 0 and fragment("TEXT", 1, 2, bytes(2) + b"ok").status == 0
    assert service.tags["TEXT"].get_string(0) == "ok"
