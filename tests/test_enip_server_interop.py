"""EtherNet/IP simulator interoperability: our ``twistd -n cpppo-enip`` driven by real clients.

One server per module (``twistd -n --pidfile= cpppo-enip --address 127.0.0.1:0 -A TAGS...``, started
as a user would, its port read from its own output), and against it:

* the ORIGINAL cpppo 5.2.5 client from its own virtualenv (tests/peers/original.py): reads, writes
  with casts, ``--multiple``, ``--depth 5 --repeat 20``, ``--fragment`` of a large range, and its
  get_attribute tool on ``@1/1/7`` and ``@1/1``;
* pylogix ``PLC`` (connected messaging over a Forward Open): every atomic type, list reads (Multiple
  Service Packet), fragmented reads of 1000 and 2000 elements, an unknown tag;
* pycomm3 ``CIPDriver``: Get Attributes All / Get Attribute Single of the Identity object, connected
  and unconnected, ``list_identity`` (TCP) and pycomm3's ListIdentity packet over UDP;
* 10 clients writing at once (no lost writes, no torn arrays);
* garbage on the port (random bytes, HTTP, a 65,000-byte header, truncated frames, a wrong session
  handle): the server survives and serves the next client.

Every wait is bounded (socket timeouts, subprocess timeouts, thread joins); everything is on
127.0.0.1.  Each test writes the tag elements it later checks, so their order does not matter.
"""

from __future__ import annotations

import ast
import random
import re
import socket
import struct
import threading
import time
from contextlib import contextmanager

import pylogix
import pytest
from pycomm3 import CIPDriver, ClassCode, Services
from pycomm3.cip.data_types import SHORT_STRING, UINT
from pycomm3.packets import ListIdentityRequestPacket

from tests import enip_server_fixture as fx
from tests.peers import original
from tests.peers.proxy import RecordingProxy, enip_frames

TAGS = ("SCADA=INT[1000]", "B=BOOL[4]", "S=SINT[10]", "I=INT[10]", "D=DINT[10]", "L=LINT[10]", "US=USINT[10]",
        "UI=UINT[10]", "UD=UDINT[10]", "UL=ULINT[10]", "R=REAL[10]", "LR=LREAL[10]", "BIG=DINT[2000]",
        "T=DINT[10]")

# The Identity the simulator presents by default (as the original 5.2.5 does)
VENDOR, DEVICE_TYPE, PRODUCT_CODE = 1, 14, 54
PRODUCT_NAME = "1756-L61/B LOGIX5561"

CLIENT_TIMEOUT = 30.0
PLC_TIMEOUT = 5.0


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with fx.serving(TAGS, shut_down_line=True) as srv:
        yield srv


@contextmanager
def plc(port: int):
    """A pylogix PLC pointed at 127.0.0.1:*port*, closed afterwards."""
    comm = pylogix.PLC("127.0.0.1", port=port, timeout=PLC_TIMEOUT)
    try:
        yield comm
    finally:
        comm.Close()


def assert_served(server, tag: str = "SCADA[0]") -> None:
    """The server is alive, and a fresh pylogix client reads *tag* successfully."""
    assert server.alive(), f"server exited ({server.proc.poll()}):\n{server.output()[-3000:]}"
    with plc(server.port) as comm:
        got = comm.Read(tag)
    assert got.Status == "Success", (tag, got.Status, server.output()[-2000:])


# ``            SCADA[1][  1-3  ]+  0 <= [1, 2, 3]: 'OK'``  (the original client's --print summary)
_LINE = re.compile(r"^\s*(?P<tag>\w+)\[(?P<first>\d+)\]\[\s*(?P<beg>\d+)-(?P<end>\d+)\s*\]\+\s*(?P<off>\d+) "
                   r"(?P<op>==|<=) (?P<val>\[.*\]): '(?P<status>[^']*)'$")


def client_lines(done) -> list[dict]:
    """The original client's summary lines, parsed; every stdout line must be one."""
    lines = []
    for text in done.stdout.splitlines():
        if not text.strip():
            continue
        match = _LINE.match(text)
        assert match, f"unexpected client output line: {text!r}\n{done.stdout}\n{done.stderr}"
        line = match.groupdict()
        line["val"] = ast.literal_eval(line["val"])
        line["status"] = line["status"].strip()
        lines.append(line)
    return lines


def run_client(args, port, **kwds):
    done = original.run_original_client(args, port, timeout=CLIENT_TIMEOUT, **kwds)
    assert done.returncode == 0, f"exit {done.returncode}: {args}\n{done.stdout}\n{done.stderr}"
    return done


def f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def cip_of(frame_data: bytes) -> bytes:
    """The CIP message carried by a SendRRData/SendUnitData frame (b"" if there is none)."""
    payload = frame_data[24:]
    if len(payload) < 8:
        return b""
    count = struct.unpack_from("<H", payload, 6)[0]
    offset = 8
    for _ in range(count):
        type_id, length = struct.unpack_from("<HH", payload, offset)
        offset += 4
        if type_id == 0x00B2:
            return payload[offset:offset + length]
        if type_id == 0x00B1:                     # connected data: a 2-byte sequence count first
            return payload[offset + 2:offset + length]
        offset += length
    return b""


def forward_open_t_o_size(cip: bytes) -> int:
    """The T->O connection size a Forward Open (0x54) or Large Forward Open (0x5B) request asks for."""
    service, words = cip[0], cip[1]
    body = cip[2 + 2 * words:]
    # priority/tick, ticks, O->T id, T->O id, serial, vendor, originator serial, multiplier, 3 reserved, O->T RPI
    offset = 1 + 1 + 4 + 4 + 2 + 2 + 4 + 1 + 3 + 4
    if service == 0x5B:
        return struct.unpack_from("<I", body, offset + 4 + 4)[0] & 0xFFFF
    return struct.unpack_from("<H", body, offset + 2 + 4)[0] & 0x01FF


def cip_service_of(frame_data: bytes) -> int | None:
    """The CIP service byte carried by a SendRRData/SendUnitData frame (None if there is none)."""
    cip = cip_of(frame_data)
    return cip[0] if cip else None


# ---------------------------------------------------------------------------------------------
# The server itself
# ---------------------------------------------------------------------------------------------

def test_twistd_server_reports_its_address(server):
    """-A prints the TCP and UDP addresses actually bound (the same port), and it accepts."""
    assert server.alive()
    assert server.port and server.port == server.udp_port
    assert f"[stdout#info] Network TCP Server address = ('127.0.0.1', {server.port:d})" in server.output()
    assert fx.wait_for_port(server.port, 5)


# ---------------------------------------------------------------------------------------------
# The original cpppo 5.2.5 client
# ---------------------------------------------------------------------------------------------

def test_original_client_writes_with_casts_and_reads(server, original_venv):
    done = run_client(["-p", "SCADA[1-3]=(INT)1,2,3", "SCADA[0-4]",
                       "S[0-2]=(SINT)-128,0,127", "S[0-2]",
                       "D[0-1]=(DINT)-2147483648,2147483647", "D[0-1]",
                       "R[0-2]=(REAL)1.5,-2.25,1024", "R[0-2]",
                       "SCADA[4]=(INT)-32768", "SCADA[4]"], server.port)
    lines = client_lines(done)
    assert [(row["tag"], row["op"], row["status"]) for row in lines] == [
        ("SCADA", "<=", "OK"), ("SCADA", "==", "OK"), ("S", "<=", "OK"), ("S", "==", "OK"),
        ("D", "<=", "OK"), ("D", "==", "OK"), ("R", "<=", "OK"), ("R", "==", "OK"),
        ("SCADA", "<=", "OK"), ("SCADA", "==", "OK")], done.stdout
    assert lines[0]["val"] == [1, 2, 3]
    assert lines[1]["val"][1:4] == [1, 2, 3]
    assert lines[3]["val"] == [-128, 0, 127]
    assert lines[5]["val"] == [-2147483648, 2147483647]
    assert lines[7]["val"] == [1.5, -2.25, 1024.0]
    assert lines[9]["val"] == [-32768]
    # And another client sees the same values
    with plc(server.port) as comm:
        assert comm.Read("SCADA[1]", 4).Value == [1, 2, 3, -32768]
        assert comm.Read("D[0]", 2).Value == [-2147483648, 2147483647]
        assert comm.Read("R[0]", 3).Value == [1.5, -2.25, 1024.0]


def embedded_service(cip: bytes) -> int:
    """The service of *cip*, or of the request an Unconnected Send (0x52 to @6/1) carries."""
    if cip[0] == 0x52 and cip[2:6] == bytes.fromhex("20062401"):
        return cip[2 + 2 * cip[1] + 4]
    return cip[0]


def test_original_client_multiple_service_packet(server, original_venv):
    with RecordingProxy(server.port) as proxy:
        done = run_client(["-p", "-m", "SCADA[10-12]=(INT)10,11,12", "D[2]=(DINT)-7", "R[3]=(REAL)0.5",
                           "SCADA[10-12]", "D[2]", "R[3]", "SCADA[11]"], proxy.port)
        proxy.drain()
    services = [embedded_service(cip_of(f.data)) for f in enip_frames(proxy.chunks)
                if f.dir == "c2s" and f.command == fx.SEND_RR_DATA]
    assert services and set(services) == {0x0A}, [hex(s) for s in services]
    lines = client_lines(done)
    assert all(row["status"] == "OK" for row in lines), done.stdout
    assert [(row["tag"], row["op"], row["val"]) for row in lines] == [
        ("SCADA", "<=", [10, 11, 12]), ("D", "<=", [-7]), ("R", "<=", [0.5]),
        ("SCADA", "==", [10, 11, 12]), ("D", "==", [-7]), ("R", "==", [0.5]), ("SCADA", "==", [11])], done.stdout


def test_original_client_pipelined_depth_5_repeat_20(server, original_venv):
    run_client(["SCADA[20-24]=(INT)20,-21,22,-23,24", "D[5]=(DINT)123456789"], server.port)
    done = run_client(["-p", "--depth", "5", "--repeat", "20", "SCADA[20-24]", "D[5]"], server.port)
    lines = client_lines(done)
    assert len(lines) == 40, done.stdout
    assert all(row["status"] == "OK" and row["op"] == "==" for row in lines), done.stdout
    assert [row["val"] for row in lines] == [[20, -21, 22, -23, 24], [123456789]] * 20, done.stdout


def test_original_client_fragmented_read_of_a_large_range(server, original_venv):
    """-f: Read Tag Fragmented of SCADA[0-999]; every fragment (offset by offset) holds the right values."""
    expected = [i * 61 - 30000 for i in range(1000)]
    writes = [f"SCADA[{b}-{b + 99}]=(INT)" + ",".join(map(str, expected[b:b + 100])) for b in range(0, 1000, 100)]
    lines = client_lines(run_client(["-p", *writes], server.port))
    assert len(lines) == 10 and all(row["status"] == "OK" for row in lines)

    got, offset, statuses = [], 0, []
    for _ in range(20):
        done = run_client(["-p", "-f", f"SCADA[0-999]+{offset}"], server.port)
        (line,) = client_lines(done)
        assert line["op"] == "==" and int(line["off"]) == offset, done.stdout
        assert line["val"], done.stdout
        statuses.append(line["status"])
        got += line["val"]
        offset += 2 * len(line["val"])
        if line["status"] == "OK":
            break
        assert line["status"] == "Status 6", done.stdout + done.stderr     # more data follows
    assert statuses[-1] == "OK" and len(statuses) >= 2, statuses
    assert got == expected


def test_original_get_attribute_identity(server, original_venv):
    done = run_client(["--print", "@1/1/7", "@1/1"], server.port, module="cpppo.server.enip.get_attribute")
    lines = [s for s in done.stdout.splitlines() if s.strip()]
    assert len(lines) == 2, done.stdout + done.stderr
    values = []
    for text, what in zip(lines, ("G_A_S      @0x0001/1/7 ==", "G_A_A      @0x0001/1 ==")):
        assert what in text, text
        values.append(bytes(ast.literal_eval(text.split(" == ", 1)[1])))
    name, identity = values
    assert name[0] == len(PRODUCT_NAME) and name[1:].decode() == PRODUCT_NAME, name
    vendor, device_type, product_code, major, minor, status, serial, length = struct.unpack_from(
        "<HHHBBHIB", identity, 0)
    assert (vendor, device_type, product_code) == (VENDOR, DEVICE_TYPE, PRODUCT_CODE), identity
    assert identity[15:15 + length].decode() == PRODUCT_NAME, identity


# ---------------------------------------------------------------------------------------------
# pylogix
# ---------------------------------------------------------------------------------------------

def test_pylogix_reads_over_a_forward_open_connection(server):
    """pylogix opens a class 3 connection (Forward Open) and then reads over SendUnitData."""
    with RecordingProxy(server.port) as proxy:
        with plc(proxy.port) as comm:
            assert comm.Write("SCADA[30]", 3030).Status == "Success"
            got = comm.Read("SCADA[30]")
            assert (got.Status, got.Value) == ("Success", 3030)
        proxy.drain()
    frames = enip_frames(proxy.chunks)
    c2s = [f for f in frames if f.dir == "c2s"]
    s2c = [f for f in frames if f.dir == "s2c"]
    opens = [f for f in c2s if f.command == fx.SEND_RR_DATA and cip_service_of(f.data) in (0x54, 0x5B)]
    assert opens, [(hex(f.command), cip_service_of(f.data)) for f in c2s]
    replies = [f for f in s2c if f.command == fx.SEND_RR_DATA and cip_service_of(f.data) in (0xD4, 0xDB)]
    assert replies
    assert all(struct.unpack_from("<I", f.data, 8)[0] == 0 for f in s2c)         # encapsulation status
    connected = [f for f in c2s if f.command == fx.SEND_UNIT_DATA]
    assert {cip_service_of(f.data) for f in connected} >= {0x4C, 0x4D}, [cip_service_of(f.data) for f in connected]
    assert len([f for f in s2c if f.command == fx.SEND_UNIT_DATA]) == len(connected)


ATOMIC = [
    # tag, pylogix values written to elements 1.. (and read back), expected
    ("S", [-128, -1, 0, 1, 127]),
    ("I", [-32768, -12345, 0, 12345, 32767]),
    ("D", [-2147483648, -123456789, 0, 123456789, 2147483647]),
    ("L", [-(2 ** 63), -(2 ** 40) - 7, 0, 2 ** 40 + 7, 2 ** 63 - 1]),
    ("US", [0, 1, 128, 200, 255]),
    ("UI", [0, 1, 32768, 50000, 65535]),
    ("UD", [0, 1, 2 ** 31, 3000000000, 2 ** 32 - 1]),
    ("UL", [0, 1, 2 ** 63, 2 ** 63 + 12345, 2 ** 64 - 1]),
    ("R", [-3.4e38, -1.25, 0.0, 0.1, 3.0e10]),
    ("LR", [-1.7e308, -1.0e-300, 0.0, 0.1, 2.718281828459045]),
]


@pytest.mark.parametrize("tag,values", ATOMIC, ids=[a[0] for a in ATOMIC])
def test_pylogix_atomic_type_round_trip(server, tag, values):
    expect = [f32(v) for v in values] if tag == "R" else values
    with plc(server.port) as comm:
        # One element at a time (element 1..5), then all five in one list write (elements 5..9)
        for i, value in enumerate(values, 1):
            done = comm.Write(f"{tag}[{i}]", value)
            assert done.Status == "Success", (tag, i, value, done.Status)
        for i, value in enumerate(expect, 1):
            got = comm.Read(f"{tag}[{i}]")
            assert (got.Status, got.Value) == ("Success", value), (tag, i)
        done = comm.Write(f"{tag}[5]", list(reversed(values)))
        assert done.Status == "Success", (tag, done.Status)
        got = comm.Read(f"{tag}[1]", 9)
        assert got.Status == "Success", (tag, got.Status)
        assert got.Value == expect[:4] + list(reversed(expect)), tag


def test_pylogix_bool(server):
    with plc(server.port) as comm:
        for pattern in ([True, False, True, True], [False, True, False, False]):
            for i, value in enumerate(pattern):
                assert comm.Write(f"B[{i}]", value).Status == "Success"
            got = [comm.Read(f"B[{i}]") for i in range(4)]
            assert [(g.Status, g.Value) for g in got] == [("Success", v) for v in pattern]


def test_pylogix_list_read_is_a_multiple_service_packet(server):
    with plc(server.port) as comm:
        assert comm.Write("SCADA[40]", -4040).Status == "Success"
        assert comm.Write("D[8]", 88888888).Status == "Success"
        assert comm.Write("R[8]", 8.5).Status == "Success"
        assert comm.Write("LR[8]", -8.25e100).Status == "Success"
        assert comm.Write("UL[9]", 2 ** 64 - 9).Status == "Success"
    with RecordingProxy(server.port) as proxy:
        with plc(proxy.port) as comm:
            tags = ["SCADA[40]", "D[8]", "R[8]", "LR[8]", "UL[9]", "SCADA[41]"]
            comm.Read(tags[0])                       # pylogix learns the first tag's type apart
            proxy.drain()
            start = len(proxy.chunks)
            got = comm.Read(tags)
        proxy.drain()
    assert [(g.TagName, g.Status) for g in got] == [(t, "Success") for t in tags]
    assert [g.Value for g in got][:5] == [-4040, 88888888, 8.5, -8.25e100, 2 ** 64 - 9]
    frames = enip_frames(proxy.chunks)
    later = [f for f in frames if f.dir == "c2s" and f.command == fx.SEND_UNIT_DATA
             and f.t >= proxy.chunks[start].t]
    assert 0x0A in {cip_service_of(f.data) for f in later}, [cip_service_of(f.data) for f in later]


def test_pylogix_fragmented_reads(server):
    """Read('BIG[0]', 2000) and Read('SCADA[0]', 1000): larger than one reply, so fragmented."""
    big = [i * 1000003 - 10 ** 9 for i in range(2000)]
    scada = [(i * 37) % 65536 - 32768 for i in range(1000)]
    with plc(server.port) as comm:
        assert comm.Write("BIG[0]", big).Status == "Success"
        assert comm.Write("SCADA[0]", scada).Status == "Success"
    with RecordingProxy(server.port) as proxy:
        with plc(proxy.port) as comm:
            got = comm.Read("BIG[0]", 2000)
            assert got.Status == "Success" and len(got.Value) == 2000
            assert got.Value == big
            got = comm.Read("SCADA[0]", 1000)
            assert got.Status == "Success" and got.Value == scada
            got = comm.Read("BIG[1500]", 500)
            assert got.Status == "Success" and got.Value == big[1500:]
        proxy.drain()
    frames = enip_frames(proxy.chunks)
    # The 8000 bytes of BIG come back in pieces: replies with status 0x06 (more follows), the rest
    # asked for with Read Tag Fragmented (0x52); no reply exceeds the size the Forward Open negotiated.
    assert 0x52 in {cip_service_of(f.data) for f in frames if f.dir == "c2s" and f.command == fx.SEND_UNIT_DATA}
    replies = [cip_of(f.data) for f in frames if f.dir == "s2c" and f.command == fx.SEND_UNIT_DATA]
    reads = [r for r in replies if r and r[0] in (0xCC, 0xD2)]
    assert sum(r[2] == 0x06 for r in reads) >= 2, [(hex(r[0]), r[2], len(r)) for r in reads]
    assert all(r[2] in (0x00, 0x06) for r in reads)
    (open_request,) = [cip_of(f.data) for f in frames if f.dir == "c2s" and cip_service_of(f.data) in (0x54, 0x5B)]
    size = forward_open_t_o_size(open_request)
    assert all(2 + len(r) <= size for r in replies), (size, max(len(r) for r in replies))


def test_pylogix_unknown_tag_is_a_path_segment_error(server):
    with plc(server.port) as comm:
        got = comm.Read("NoSuchTag")
        assert got.Status == "Path segment error", got.Status
        got = comm.Read(["SCADA[0]", "NoSuchTag", "D[0]"])
        assert [g.Status for g in got] == ["Success", "Path segment error", "Success"]
        assert comm.Read("SCADA[0]").Status == "Success"       # the same connection still serves


# ---------------------------------------------------------------------------------------------
# pycomm3
# ---------------------------------------------------------------------------------------------

def _identity_fields(data: bytes) -> dict:
    vendor, device_type, product_code, major, minor, status, serial, length = struct.unpack_from(
        "<HHHBBHIB", data, 0)
    return {"vendor": vendor, "device_type": device_type, "product_code": product_code,
            "revision": (major, minor), "serial": serial, "product_name": data[15:15 + length].decode()}


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "unconnected"])
def test_pycomm3_identity_generic_messages(server, connected):
    with RecordingProxy(server.port) as proxy:
        with CIPDriver(f"127.0.0.1:{proxy.port}") as driver:
            driver.socket_timeout = PLC_TIMEOUT
            everything = driver.generic_message(service=Services.get_attributes_all,
                                                class_code=ClassCode.identity_object, instance=1,
                                                connected=connected, name="identity")
            name = driver.generic_message(service=Services.get_attribute_single,
                                          class_code=ClassCode.identity_object, instance=1, attribute=7,
                                          data_type=SHORT_STRING, connected=connected, name="name")
            vendor = driver.generic_message(service=Services.get_attribute_single,
                                            class_code=ClassCode.identity_object, instance=1, attribute=1,
                                            data_type=UINT, connected=connected, name="vendor")
        proxy.drain()
    assert everything.error is None, everything.error
    fields = _identity_fields(everything.value)
    assert (fields["vendor"], fields["device_type"], fields["product_code"], fields["product_name"]) == (
        VENDOR, DEVICE_TYPE, PRODUCT_CODE, PRODUCT_NAME), fields
    assert (name.error, name.value) == (None, PRODUCT_NAME)
    assert (vendor.error, vendor.value) == (None, VENDOR)
    commands = [f.command for f in enip_frames(proxy.chunks) if f.dir == "c2s"]
    assert (fx.SEND_UNIT_DATA in commands) == connected, [hex(c) for c in commands]


def test_pycomm3_list_identity_tcp(server):
    identity = CIPDriver.list_identity(f"127.0.0.1:{server.port}")
    assert identity, identity
    assert identity["product_name"] == PRODUCT_NAME
    assert identity["product_code"] == PRODUCT_CODE
    assert identity["vendor"] == "Rockwell Automation/Allen-Bradley"
    assert identity["product_type"] == "Programmable Logic Controller"
    assert identity["ip_address"] == "127.0.0.1"


def test_pycomm3_list_identity_udp(server):
    """pycomm3's own ListIdentity packet, sent over UDP to 127.0.0.1 (not broadcast), parsed by pycomm3."""
    request = ListIdentityRequestPacket()
    message = request.build_request(None, 0, b"\0" * 8, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(message, ("127.0.0.1", server.udp_port))
        data, peer = sock.recvfrom(4096)
    assert peer == ("127.0.0.1", server.udp_port)
    response = request.response_class(request, data)
    assert response.is_valid(), response
    assert response.identity["product_name"] == PRODUCT_NAME
    assert response.identity["product_code"] == PRODUCT_CODE


# ---------------------------------------------------------------------------------------------
# Concurrent writers
# ---------------------------------------------------------------------------------------------

def test_ten_clients_writing_at_once(server):
    """10 clients, each on its own connection, write at once; a reader checks T is never torn."""
    writers, rounds, base = 10, 40, 600
    start = threading.Barrier(writers + 1, timeout=30)
    stop_reading = threading.Event()
    problems: list[str] = []
    torn: list[list] = []
    reads = [0]
    last = {i: 30000 + i for i in range(writers)}

    def writer(i: int) -> None:
        try:
            with plc(server.port) as comm:
                assert comm.Read(f"SCADA[{base + i}]").Status == "Success"   # connected before the start
                start.wait()
                for k in range(rounds):
                    value = i * 1000 + k
                    for tag, data in ((f"SCADA[{base + i}]", value), ("T[0]", [value] * 10)):
                        done = comm.Write(tag, data)
                        if done.Status != "Success":
                            problems.append(f"writer {i} {tag}={value}: {done.Status}")
                            return
                for tag, data in ((f"SCADA[{base + i}]", last[i]), ("T[0]", [last[i]] * 10)):
                    done = comm.Write(tag, data)
                    if done.Status != "Success":
                        problems.append(f"writer {i} last {tag}: {done.Status}")
        except Exception as exc:  # reported below
            problems.append(f"writer {i}: {exc!r}")

    def reader() -> None:
        try:
            with plc(server.port) as comm:
                assert comm.Read("T[0]").Status == "Success"
                start.wait()
                while not stop_reading.is_set():
                    got = comm.Read("T[0]", 10)
                    if got.Status != "Success":
                        problems.append(f"reader: {got.Status}")
                        return
                    reads[0] += 1
                    if len(set(got.Value)) != 1:
                        torn.append(got.Value)
        except Exception as exc:
            problems.append(f"reader: {exc!r}")

    threads = [threading.Thread(target=writer, args=(i,), name=f"writer-{i}", daemon=True) for i in range(writers)]
    watcher = threading.Thread(target=reader, name="reader", daemon=True)
    for t in threads + [watcher]:
        t.start()
    deadline = time.monotonic() + 60
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    stop_reading.set()
    watcher.join(10)
    assert not [t.name for t in threads + [watcher] if t.is_alive()], "clients still running"
    assert not problems, problems
    assert not torn, torn[:5]
    assert reads[0] > 0
    with plc(server.port) as comm:
        got = comm.Read(f"SCADA[{base}]", writers)
        assert got.Status == "Success"
        assert got.Value == [last[i] for i in range(writers)]
        final = comm.Read("T[0]", 10)
        assert final.Status == "Success"
        assert len(set(final.Value)) == 1 and final.Value[0] in last.values(), final.Value


# ---------------------------------------------------------------------------------------------
# Garbage on the port
# ---------------------------------------------------------------------------------------------

GARBAGE = {
    "random-bytes": random.Random(6).randbytes(700),
    "http-text": b"GET / HTTP/1.0\r\n\r\n",
    "header-claiming-65000-bytes": fx.encap(fx.SEND_RR_DATA, b"\0" * 100, session=1, length=65000),
    "truncated-header": fx.register_session_frame()[:11],
    "truncated-body": fx.send_rr_data_frame(fx.read_tag_request("SCADA", 0), session=1)[:34],
    "unknown-command": fx.encap(0x1234, b"\x01\x02\x03\x04"),
    "65000-bytes-of-zeros": fx.encap(fx.SEND_RR_DATA, b"\0" * 65000, session=1),
    "random-frames": b"".join(
        fx.encap(rng.choice((0x00, 0x04, 0x63, 0x64, 0x65, 0x66, 0x6F, 0x70)), rng.randbytes(rng.randrange(0, 300)),
                 session=rng.randrange(1 << 32), context=rng.randbytes(8))
        for rng in [random.Random(66)] for _ in range(30)),
}


@pytest.mark.parametrize("kind", list(GARBAGE), ids=list(GARBAGE))
def test_garbage_then_the_next_client_is_served(server, kind):
    """Garbage (its connection left open, then closed): the others are served all the while."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as bad:
        bad.sendall(GARBAGE[kind])
        time.sleep(0.1)
        assert_served(server)                                # while the bad connection is still open
    time.sleep(0.1)
    assert_served(server)                                    # and after it closed
    # Garbage after a good RegisterSession, on a half-closed connection
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as bad:
        fx.register_session(bad)
        try:
            bad.sendall(GARBAGE[kind])
            bad.shutdown(socket.SHUT_WR)
        except OSError:  # the server may already have closed it: a header it cannot frame ends the stream
            pass
        else:
            fx.read_until_closed(bad, timeout=2)
    assert_served(server)


def test_many_garbage_connections_at_once(server):
    conns = []
    try:
        for data in list(GARBAGE.values()) * 3:
            c = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            conns.append(c)
            c.sendall(data)
        assert_served(server, "D[0]")
    finally:
        for c in conns:
            c.close()
    assert_served(server, "D[0]")


def test_wrong_session_handle_gets_encapsulation_status_0x64(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        session = fx.register_session(sock)
        # A valid Read Tag works on the registered session...
        sock.sendall(fx.send_rr_data_frame(fx.read_tag_request("SCADA", 0), session=session, context=b"good\0\0\0\0"))
        (command, _, got_session, status, context, _), payload = fx.recv_frame(sock)
        assert (command, got_session, status, context) == (fx.SEND_RR_DATA, session, 0, b"good\0\0\0\0")
        reply = fx.cip_reply_of(payload)
        assert reply[0] == 0xCC and reply[2] == 0, reply.hex()
        # ... and the same request with another session handle is refused with status 0x64
        wrong = (session + 1) & 0xFFFFFFFF or 1
        sock.sendall(fx.send_rr_data_frame(fx.read_tag_request("SCADA", 0), session=wrong, context=b"wrong\0\0\0"))
        (command, _, _, status, context, _), _ = fx.recv_frame(sock)
        assert (command, status, context) == (fx.SEND_RR_DATA, fx.INVALID_SESSION, b"wrong\0\0\0")
    # Without registering at all
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(fx.send_rr_data_frame(fx.read_tag_request("SCADA", 0), session=0x12345678,
                                           context=b"nosess\0\0"))
        try:
            (command, _, _, status, context, _), _ = fx.recv_frame(sock)
        except (EOFError, ConnectionResetError) as exc:
            pytest.fail(f"SendRRData on an unregistered session: connection closed without a reply ({exc})")
        assert (command, status, context) == (fx.SEND_RR_DATA, fx.INVALID_SESSION, b"nosess\0\0")
    assert_served(server)
