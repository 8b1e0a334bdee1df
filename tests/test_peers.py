"""The test peers: the original cpppo 5.2.5 as a subprocess peer, the recording proxy, the golden
EtherNet/IP vectors captured from real clients, and the pcap writer used to have tshark check frames.

The first test that needs the original creates its virtualenv (see tests/peers/original.py; needs
the package index once); it fails with pip's output if that cannot be done.
"""

import json
import os
import socket
import struct
import threading
from pathlib import Path

import pytest

from tests.peers import original
from tests.peers.pcap import pcap_bytes, tshark_available, tshark_dissect, write_pcap
from tests.peers.proxy import Chunk, RecordingProxy, SplitError, enip_frames, split_frames

VECTOR_DIR = Path(__file__).resolve().parents[1] / "cpppo" / "tests" / "vectors" / "enip"
VECTORS = sorted(VECTOR_DIR.glob("*.json"))
ENIP_COMMANDS = {0x0000, 0x0001, 0x0004, 0x0063, 0x0064, 0x0065, 0x0066, 0x006F, 0x0070, 0x0072, 0x0073}


def _frame(command, payload=b"", context=b"\0" * 8, session=0, status=0):
    return struct.pack("<HHII8sI", command, len(payload), session, status, context, 0) + payload


def _proxy_threads():
    return [t for t in threading.enumerate() if t.name.startswith("proxy-")]


# ---------------------------------------------------------------------------------------------
# Frame splitting (no peer needed)
# ---------------------------------------------------------------------------------------------

def test_split_frames_and_remainder():
    a, b = _frame(0x65, b"\x01\x00\x00\x00"), _frame(0x6F, bytes(range(40)))
    frames, rest = split_frames(a + b + b[:30])
    assert frames == [a, b] and rest == b[:30]
    assert split_frames(a[:23]) == ([], a[:23])


def test_enip_frames_across_chunk_boundaries():
    a, b = _frame(0x65, b"\x01\x00\x00\x00"), _frame(0x6F, bytes(range(40)))
    data = a + b
    chunks = [Chunk(1.0 + i, 0, "c2s", data[i:i + 5]) for i in range(0, len(data), 5)]
    chunks.append(Chunk(100.0, 0, "s2c", a))
    frames = enip_frames(chunks)
    assert [(f.dir, f.data) for f in frames] == [("c2s", a), ("c2s", b), ("s2c", a)]
    assert [f.length for f in frames] == [4, 40, 4]
    with pytest.raises(SplitError):
        enip_frames(chunks + [Chunk(101.0, 0, "s2c", b[:10])])
    assert len(enip_frames(chunks + [Chunk(101.0, 0, "s2c", b[:10])], strict=False)) == 3


def test_proxy_records_and_stops_cleanly():
    """Against a trivial loopback echo server: both directions recorded, threads all joined."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def echo():
        c, _ = srv.accept()
        with c:
            while data := c.recv(4096):
                c.sendall(data)

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    try:
        with RecordingProxy(srv.getsockname()[1]) as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as c:
                msg = _frame(0x63)
                c.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += c.recv(4096)
                assert got == msg
            assert proxy.drain(quiet=0.1)
        assert proxy.stream("c2s") == msg and proxy.stream("s2c") == msg
        assert [(f.dir, f.command) for f in proxy.frames()] == [("c2s", 0x63), ("s2c", 0x63)]
        assert {c.dir for c in proxy.closes} == {"c2s", "s2c"}
        assert not _proxy_threads()
    finally:
        srv.close()
        t.join(5)


# ---------------------------------------------------------------------------------------------
# The original cpppo 5.2.5 as a peer
# ---------------------------------------------------------------------------------------------

def test_original_reads_through_proxy(original_venv):
    with original.start_original_simulator(("SCADA=INT[1000]",)) as sim:
        assert sim.alive() and sim.port and sim.pid
        # Bound to 127.0.0.1 only: another loopback address is refused.
        with socket.socket() as other:
            other.settimeout(2)
            assert other.connect_ex(("127.0.0.2", sim.port)) != 0
        with RecordingProxy(sim.port) as proxy:
            done = original.run_original_client(["-p", "SCADA[1]"], proxy.port, timeout=30)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "SCADA[1]" in done.stdout and "'OK'" in done.stdout, done.stdout
            proxy.drain()
        frames = enip_frames(proxy.chunks)              # strict: no partial frame anywhere
    assert not sim.alive() and sim.proc.returncode is not None
    assert not _proxy_threads()

    assert b"".join(f.data for f in frames if f.dir == "c2s") == proxy.stream("c2s")
    assert b"".join(f.data for f in frames if f.dir == "s2c") == proxy.stream("s2c")
    c2s = [f for f in frames if f.dir == "c2s"]
    s2c = [f for f in frames if f.dir == "s2c"]
    assert len(c2s) == len(s2c) >= 2
    assert [f.command for f in c2s] == [0x65, 0x6F]     # RegisterSession, SendRRData
    for req, rpy in zip(c2s, s2c):
        assert rpy.command == req.command
        assert rpy.data[12:20] == req.data[12:20]       # sender context echoed
        assert len(req.data) == 24 + req.length and len(rpy.data) == 24 + rpy.length
        assert struct.unpack_from("<I", rpy.data, 8)[0] == 0     # encapsulation status: success
    session = struct.unpack_from("<I", s2c[0].data, 4)[0]
    assert session and struct.unpack_from("<I", c2s[1].data, 4)[0] == session
    # The Read Tag reply: CIP reply 0xCC, general status 0, INT (0xC3) value 0
    assert s2c[1].data[-8:] == bytes.fromhex("cc000000c3000000")


def test_original_simulator_is_reaped_when_the_test_fails(original_venv):
    sim = original.start_original_simulator(("SCADA=INT[10]",), udp=False)
    with pytest.raises(ZeroDivisionError), sim:
        assert sim.udp_port is None
        raise ZeroDivisionError("the test body fails")
    assert sim.proc.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(sim.pid, 0)
    assert sim.stop() == sim.proc.returncode           # idempotent


def test_original_simulator_on_a_picked_port(original_venv):
    """port=None: a free port is picked first (bind 0, close) instead of the simulator's own -A report."""
    with original.start_original_simulator(("SCADA=INT[10]",), port=None, udp=False) as sim:
        assert sim.alive()
        done = original.run_original_client(["-p", "SCADA[0-1]=(INT)7,8", "SCADA[0-2]"], sim.port, timeout=30)
        assert done.returncode == 0 and "[7, 8, 0]" in done.stdout, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# The golden vectors
# ---------------------------------------------------------------------------------------------

def test_vectors_present():
    names = {p.stem for p in VECTORS}
    for client in ("cpppo525", "pylogix", "pycomm3"):
        assert any(n.startswith(client + "-") for n in names), (client, sorted(names))
    for must in ("cpppo525-read-single", "cpppo525-read-range", "cpppo525-write-range",
                 "cpppo525-read-multiple", "cpppo525-read-fragmented", "cpppo525-real",
                 "cpppo525-dint", "cpppo525-get-attribute", "cpppo525-list-identity",
                 "pylogix-read-single", "pylogix-read-count", "pylogix-write",
                 "pycomm3-identity-unconnected", "pycomm3-logix-open"):
        assert must in names


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_well_formed(path):
    vec = json.loads(path.read_text())
    assert vec["format"] == "cpppo-enip-vectors/1"
    header, frames = vec["header"], vec["frames"]
    assert f"{header['client']}-{header['scenario']}" == path.stem
    assert "cpppo 5.2.5" in header["tools"]["server"]
    assert header["tools"]["client"] and all(header["tools"]["client"].values())
    assert frames and frames[0]["dir"] == "c2s"
    assert {f["dir"] for f in frames} <= {"c2s", "s2c"}
    for i, f in enumerate(frames):
        data = bytes.fromhex(f["hex"])
        assert len(data) >= 24, (i, f)
        command, length = struct.unpack_from("<HH", data, 0)
        assert len(data) == 24 + length, (i, f["note"])
        assert command in ENIP_COMMANDS, (i, hex(command))
        assert isinstance(f["note"], str) and f["note"]
    assert header["errors"] == [i for i, f in enumerate(frames) if f["note"].startswith("ERROR")]
    assert all(frames[i]["dir"] == "s2c" for i in header["errors"])
    assert header["frame_count"] == {d: sum(f["dir"] == d for f in frames) for d in ("c2s", "s2c")}
    if header["expected"] == "ok":
        assert not header["errors"] and not header["unanswered"], header


# ---------------------------------------------------------------------------------------------
# pcap for tshark
# ---------------------------------------------------------------------------------------------

def _read_pcap(blob):
    magic, major, minor, _, _, snap, link = struct.unpack_from("<IHHiIII", blob, 0)
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)
    pos, packets = 24, []
    while pos < len(blob):
        _, _, incl, orig = struct.unpack_from("<IIII", blob, pos)
        assert incl == orig
        packets.append(blob[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    assert pos == len(blob)
    return packets


def test_pcap_structure():
    payloads = [("c2s", _frame(0x65, b"\x01\x00\x00\x00")), ("s2c", _frame(0x65, b"\x01\x00\x00\x00", session=7))]
    packets = _read_pcap(pcap_bytes(payloads))
    assert len(packets) == 3 + 2                           # handshake + one segment each
    for pkt, (d, payload) in zip(packets[3:], payloads):
        total, = struct.unpack_from("!H", pkt, 14 + 2)
        assert total == len(pkt) - 14 == 40 + len(payload)
        sport, dport = struct.unpack_from("!HH", pkt, 34)
        assert (dport if d == "c2s" else sport) == 44818
        assert pkt[54:] == payload


@pytest.mark.skipif(not tshark_available(), reason="tshark is not installed")
def test_tshark_dissects_a_vector(tmp_path):
    vec = json.loads((VECTOR_DIR / "cpppo525-read-single.json").read_text())
    out = tshark_dissect(write_pcap(tmp_path / "read.pcap", vec["frames"]), "-Y", "enip")
    assert "Register Session" in out and "Send RR Data" in out
    assert "ANSI Symbol: SCADA" in out and "Unconnected Send" in out
    assert "Malformed" not in out and "Checksum Status: Bad" not in out
