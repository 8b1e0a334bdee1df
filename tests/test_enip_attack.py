"""The EtherNet/IP simulator under attack (issue 21): each bound a peer can push against holds.

Every test runs ``twistd -n cpppo-enip`` on loopback, as a user would, and attacks it with raw
sockets (the bytes are the point): the decode cache's bytes, backpressure against a client that
never reads, the idle timeout, the TCP connection, session and Forward Open limits, the refusal
statuses of writes that do not fit, and a header announcing an impossible length.  The figures
asserted are stated beside each attack; the whole module runs in well under a minute.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cpppo.enip.codec import cip
from cpppo.enip.codec.epath import Logical, Port
from tests.enip_server_fixture import (
    ENCAP_HEADER,
    LOOPBACK,
    REGISTER_SESSION,
    SEND_RR_DATA,
    TWISTD,
    TwistdEnipServer,
    cip_reply_of,
    cip_request,
    encap,
    read_tag_request,
    read_until_closed,
    recv_frame,
    register_session,
    register_session_frame,
    send_rr_data_frame,
    symbolic_path,
    write_tag_request,
)

TAGS = ["SCADA=INT[1000]", "TEXT=STRING", "TEXTS=STRING[3]", "SHORT=SSTRING[2]"]
STRING_HANDLE, STRING_SIZE = 0x0FCE, 88
MIB = 1 << 20


def rss(pid: int) -> int:
    """The server's resident set, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def ask(sock: socket.socket, session: int, request: bytes) -> bytes:
    """The CIP reply to one unconnected *request*."""
    sock.sendall(send_rr_data_frame(request, session))
    _, payload = recv_frame(sock)
    return cip_reply_of(payload)


def status(reply: bytes) -> tuple[int, tuple[int, ...]]:
    """A CIP reply's general status and extended status words."""
    words = reply[3]
    return reply[2], struct.unpack_from(f"<{words}H", reply, 4)


@pytest.fixture
def server():
    started: list[TwistdEnipServer] = []

    def start(*extra: str) -> TwistdEnipServer:
        started.append(TwistdEnipServer.start(TAGS, extra))
        return started[-1]
    yield start
    for each in started:
        assert each.alive(), each.output()[-2000:]
        each.stop()
        each.close()


def test_limit_options_in_help() -> None:
    """Each bound is an option of both command lines."""
    for cmd in ([sys.executable, "-m", "cpppo.server.enip", "--help"], [str(TWISTD), "cpppo-enip", "--help"]):
        shown = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
        for option in ("--max-connections", "--max-sessions", "--max-forward-opens", "--idle-timeout",
                       "--reply-buffer", "--cache-bytes"):
            assert option in shown, (cmd, option)


def test_decode_cache_is_bounded_in_bytes(server) -> None:
    """30 connections each sending 256 distinct 32 KB requests (240 MB in all) grew the server by
    2 GB before; with the 16 MiB budget it must grow by less than 64 MiB, and hold no more after
    they close."""
    srv = server()
    before = rss(srv.pid)
    socks = [connect(srv.port) for _ in range(30)]
    sessions = [register_session(s) for s in socks]
    for number, (sock, session) in enumerate(zip(socks, sessions, strict=True)):
        frames = []
        for i in range(256):  # each a Write Tag of one INT with 32 KB of data: distinct, and refused
            data = struct.pack("<II", number, i) + bytes(32 << 10)
            frames.append(send_rr_data_frame(write_tag_request("SCADA", 0, 0xC3, data), session))
        sock.sendall(b"".join(frames))
        for _ in range(256):
            _, payload = recv_frame(sock)
            assert status(cip_reply_of(payload))[0] == 0x15
    grown = rss(srv.pid) - before
    for sock in socks:
        sock.close()
    time.sleep(0.5)
    after = rss(srv.pid) - before
    assert grown < 64 * MIB, f"grew {grown / MIB:.0f} MiB under the attack"
    assert after < 64 * MIB, f"held {after / MIB:.0f} MiB after it"


def test_backpressure_blocks_a_client_that_never_reads(server) -> None:
    """A client pipelining reads of 200 INTs without reading a reply finds its sends blocked (a
    send times out) after a few MB at most, and the server grows by less than 48 MiB."""
    srv = server()
    before = rss(srv.pid)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    sock.connect((LOOPBACK, srv.port))
    session = register_session(sock)
    chunk = send_rr_data_frame(read_tag_request("SCADA", 0, 200), session) * 1000
    sock.settimeout(2.0)
    sent = 0
    with pytest.raises((TimeoutError, BlockingIOError)):
        while sent < 500 * MIB:
            sent += sock.send(chunk)
    assert sent < 200 * MIB, f"{sent / MIB:.0f} MiB sent and not blocked"
    grown = rss(srv.pid) - before
    assert grown < 48 * MIB, f"grew {grown / MIB:.0f} MiB holding replies"
    sock.close()


def test_idle_connections_are_closed(server) -> None:
    """With --idle-timeout 1, a connection that sends nothing is closed within 1.25 s (checked a
    quarter timeout apart); one that keeps asking stays open."""
    srv = server("--idle-timeout", "1")
    quiet, busy = connect(srv.port), connect(srv.port)
    session = register_session(busy)
    register_session(quiet)
    started = time.monotonic()
    for _ in range(8):
        assert status(ask(busy, session, read_tag_request("SCADA", 0)))[0] == 0
        time.sleep(0.25)
    data, closed = read_until_closed(quiet, timeout=2.0)
    assert closed and data == b"", "an idle connection stayed open"
    assert time.monotonic() - started < 4.0
    assert status(ask(busy, session, read_tag_request("SCADA", 0)))[0] == 0


def test_tcp_connection_and_session_limits(server) -> None:
    """--max-connections 4: a fifth is closed as it connects.  --max-sessions 2: a third
    RegisterSession is answered with encapsulation status 0x0002 (out of resources)."""
    srv = server("--max-connections", "4", "--max-sessions", "2")
    time.sleep(0.3)  # (the fixture's probe of the port closes: it held a slot)
    socks = [connect(srv.port) for _ in range(4)]
    assert register_session(socks[0]) and register_session(socks[1])
    socks[2].sendall(register_session_frame())
    header, _ = recv_frame(socks[2])
    assert (header[0], header[3]) == (REGISTER_SESSION, 0x0002)
    extra = connect(srv.port)
    extra.sendall(register_session_frame())
    data, closed = read_until_closed(extra, timeout=2.0)
    assert closed and data == b""
    socks[3].close()  # a slot freed is a slot to take
    time.sleep(0.2)
    again = connect(srv.port)
    socks[0].close()
    time.sleep(0.2)
    assert register_session(again)
    for sock in (*socks, extra, again):
        sock.close()


def forward_open(serial: int) -> bytes:
    path = (Port(1, 0), Logical("class", 2), Logical("instance", 1))
    body = cip.ForwardOpen(path, 0, 0xB000 + serial, serial, 0x1337, 42, 0, 100000, 0x4200 | 500, 100000,
                           0x4200 | 500)
    return cip.Request(0x54, (Logical("class", 6), Logical("instance", 1)), body=body).encode()


def test_forward_open_limit_is_out_of_connections(server) -> None:
    """--max-forward-opens 3: the fourth Forward Open is refused 0x01 / 0x0113; a duplicate triad
    is still 0x0100; a closed TCP connection frees its Forward Opens."""
    srv = server("--max-forward-opens", "3")
    sock = connect(srv.port)
    session = register_session(sock)
    assert [status(ask(sock, session, forward_open(n)))[0] for n in range(3)] == [0, 0, 0]
    assert status(ask(sock, session, forward_open(0))) == (0x01, (0x0100,))
    assert status(ask(sock, session, forward_open(9))) == (0x01, (0x0113,))
    sock.close()
    time.sleep(0.2)
    other = connect(srv.port)
    assert status(ask(other, register_session(other), forward_open(9)))[0] == 0
    other.close()


def write_string(sock: socket.socket, session: int, name: str, length: int, count: int = 1) -> int:
    value = (struct.pack("<i", length) + b"abc".ljust(82, b"\0") + b"\0\0") * count
    request = cip_request(0x4D, symbolic_path(name), struct.pack("<HHH", 0x02A0, STRING_HANDLE, count) + value)
    return status(ask(sock, session, request))[0]


def test_writes_that_do_not_fit_are_refused(server) -> None:
    """A Write Tag with more data than its element count: 0x15, nothing written.  A STRING whose
    LEN is beyond its 82 characters (-1, 1000, 0x7FFFFFFF), whole, in a Write Tag Fragmented, as its LEN
    member alone (written, or by Read Modify Write), or a CIP STRING of 83 characters: 0xFF / 0x2105,
    and the tag keeps its value."""
    srv = server()
    sock = connect(srv.port)
    session = register_session(sock)
    too_much = write_tag_request("SCADA", 5, 0xC3, struct.pack("<hh", 11, 12))
    assert status(ask(sock, session, too_much))[0] == 0x15
    assert ask(sock, session, read_tag_request("SCADA", 5))[-2:] == b"\0\0"
    short = write_tag_request("SHORT", None, 0xDA, b"\x02hi\x03you")  # two SSTRINGs for one
    assert status(ask(sock, session, short))[0] == 0x15
    assert write_string(sock, session, "TEXT", 3) == 0
    for length in (-1, 1000, 0x7FFFFFFF):
        assert status(ask(sock, session, cip_request(0x4D, symbolic_path("TEXT"), struct.pack(
            "<HHH", 0x02A0, STRING_HANDLE, 1) + struct.pack("<i", length) + bytes(84)))) == (0xFF, (0x2105,))
        fragment = struct.pack("<HHHI", 0x02A0, STRING_HANDLE, 1, 0) + struct.pack("<i", length) + b"xy"
        assert status(ask(sock, session, cip_request(0x53, symbolic_path("TEXT"), fragment))) == (0xFF, (0x2105,))
        member = symbolic_path("TEXT") + symbolic_path("LEN")  # the LEN member alone, written or masked
        assert status(ask(sock, session, cip_request(0x4D, member, struct.pack("<HHi", 0xC4, 1, length)))) \
            == (0xFF, (0x2105,))
    masks = struct.pack("<H", 1) + b"\xff" + b"\xff"
    assert status(ask(sock, session, cip_request(0x4E, symbolic_path("TEXT") + symbolic_path("LEN"), masks))) \
        == (0xFF, (0x2105,))
    text = cip_request(0x4D, symbolic_path("TEXT"), struct.pack("<HHH", 0xD0, 1, 83) + b"x" * 83 + b"\0")
    assert status(ask(sock, session, text)) == (0xFF, (0x2105,))
    reply = ask(sock, session, read_tag_request("TEXT"))
    assert reply[4 + 4:4 + 4 + 4 + 3] == struct.pack("<i", 3) + b"abc"  # (type 0x02A0 and its handle first)
    sock.close()


def test_impossible_length_gets_its_status_then_a_close(server) -> None:
    """A header announcing a 0xFFFF-byte body: the encapsulation reply 0x0065 (invalid length),
    then the connection closes."""
    srv = server()
    sock = connect(srv.port)
    sock.sendall(encap(SEND_RR_DATA, b"", context=b"toolong!", length=0xFFFF))
    data, closed = read_until_closed(sock, timeout=3.0)
    assert closed and len(data) == ENCAP_HEADER.size
    command, length, _, encap_status, context, _ = ENCAP_HEADER.unpack(data)
    assert (command, length, encap_status, context) == (SEND_RR_DATA, 0, 0x0065, b"toolong!")
