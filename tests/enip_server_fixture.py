"""Helpers for the EtherNet/IP simulator interop tests: our server under twistd, and raw frames.

    with TwistdEnipServer.start(TAGS) as server:      # twistd -n cpppo-enip --address 127.0.0.1:0 -A ...
        server.port, server.udp_port, server.alive(), server.output()

The server is run exactly as a user would: ``twistd -n --pidfile= cpppo-enip ...`` from the venv
holding this interpreter (or another, *twistd*), in a temporary folder of its own (twistd finds the
plugin in the venv's ``twisted/plugins``, where the package installs it).
It prints ``Network TCP Server address = ('127.0.0.1', PORT)`` (twistd logs it as
``[stdout#info] ...``); we read the port from its output, written to a file (a pipe could fill).

The raw-frame helpers build EtherNet/IP encapsulation frames and CIP requests by hand, so the
garbage tests can send exactly the bytes they mean, and read replies with a bounded wait.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.peers.process import LOOPBACK, ServerProcess, wait_for_port  # noqa: F401 (wait_for_port: for tests)

ROOT = Path(__file__).resolve().parent.parent
TWISTD = Path(sys.executable).parent / "twistd"
START_TIMEOUT = 30.0

_ADDRESS_RE = re.compile(r"Network (TCP|UDP) Server address = \('127\.0\.0\.1', (\d+)\)")

# Encapsulation commands
NOP, LIST_SERVICES, LIST_IDENTITY, LIST_INTERFACES = 0x0000, 0x0004, 0x0063, 0x0064
REGISTER_SESSION, UNREGISTER_SESSION, SEND_RR_DATA, SEND_UNIT_DATA = 0x0065, 0x0066, 0x006F, 0x0070
ENCAP_HEADER = struct.Struct("<HHII8sI")           # command, length, session, status, context, options
INVALID_SESSION = 0x0064


class ServerFailed(RuntimeError):
    """Our twistd server did not come up listening on loopback."""


class TwistdEnipServer(ServerProcess):
    """A running ``twistd -n cpppo-enip`` on 127.0.0.1; .stop() terminates and always reaps it."""

    @classmethod
    def start(cls, tags, extra_args=(), timeout: float = START_TIMEOUT, twistd: Path = TWISTD) -> TwistdEnipServer:
        cmd = [str(twistd), "-n", "--pidfile=", "cpppo-enip", "--no-config", "--address", f"{LOOPBACK}:0", "-A",
               *map(str, extra_args), *map(str, tags)]
        outdir = tempfile.TemporaryDirectory(prefix="cpppo-enip-twistd-")
        with open(Path(outdir.name) / "output", "wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(cmd, cwd=outdir.name, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        server = cls(proc, cmd, outdir)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                found = dict(_ADDRESS_RE.findall(server.output()))
                if "TCP" in found and "UDP" in found:
                    server.port, server.udp_port = int(found["TCP"]), int(found["UDP"])
                    break
                time.sleep(0.05)
            if server.port is None or not wait_for_port(server.port, max(1.0, deadline - time.monotonic()), proc):
                raise ServerFailed(f"twistd cpppo-enip did not come up (exit {proc.poll()}): {' '.join(cmd)}\n"
                                   f"{server.output()[-3000:]}")
        except BaseException:
            server.stop()
            server.close()
            raise
        return server


@contextlib.contextmanager
def serving(tags, extra_args=(), shut_down_line: bool = False):
    """Our twistd server for a module's tests: it must still be alive after them and stop cleanly
    on SIGTERM (twistd re-raises the signal after its shutdown: exit -15); *shut_down_line*: and
    say so ("Server Shut Down.")."""
    srv = TwistdEnipServer.start(tags, extra_args)
    with srv:
        yield srv
        assert srv.alive(), f"the server died during the tests:\n{srv.output()[-3000:]}"
        assert srv.stop() in (0, -signal.SIGTERM), srv.output()[-3000:]
        if shut_down_line:
            assert "Server Shut Down." in srv.output(), srv.output()[-3000:]


# ---------------------------------------------------------------------------------------------
# Raw frames
# ---------------------------------------------------------------------------------------------

def encap(command: int, payload: bytes = b"", session: int = 0, status: int = 0,
          context: bytes = b"\0" * 8, options: int = 0, length: int | None = None) -> bytes:
    """An encapsulation frame; *length* overrides the header's length field (for lying headers)."""
    return ENCAP_HEADER.pack(command, len(payload) if length is None else length, session, status,
                             context, options) + payload


def register_session_frame(context: bytes = b"regsess\0") -> bytes:
    return encap(REGISTER_SESSION, struct.pack("<HH", 1, 0), context=context)


def symbolic_path(name: str, element: int | None = None) -> bytes:
    raw = name.encode("ascii")
    path = bytes([0x91, len(raw)]) + raw + (b"\0" if len(raw) % 2 else b"")
    if element is not None:
        if element < 0x100:
            path += bytes([0x28, element])
        elif element < 0x10000:
            path += struct.pack("<BBH", 0x29, 0, element)
        else:
            path += struct.pack("<BBI", 0x2A, 0, element)
    return path


def cip_request(service: int, path: bytes, data: bytes = b"") -> bytes:
    assert len(path) % 2 == 0
    return bytes([service, len(path) // 2]) + path + data


def read_tag_request(name: str, element: int | None = None, elements: int = 1) -> bytes:
    return cip_request(0x4C, symbolic_path(name, element), struct.pack("<H", elements))


def write_tag_request(name: str, element: int | None, type_code: int, data: bytes, elements: int = 1) -> bytes:
    return cip_request(0x4D, symbolic_path(name, element), struct.pack("<HH", type_code, elements) + data)


def send_rr_data_frame(cip: bytes, session: int, context: bytes = b"sendrr\0\0", timeout: int = 5) -> bytes:
    """SendRRData carrying *cip* directly (no Unconnected Send wrapper): NULL address + unconnected data."""
    cpf = struct.pack("<IHH", 0, timeout, 2) + struct.pack("<HH", 0x0000, 0) + struct.pack("<HH", 0x00B2, len(cip))
    return encap(SEND_RR_DATA, cpf + cip, session=session, context=context)


def recv_exact(sock: socket.socket, size: int, timeout: float = 5.0) -> bytes:
    """Exactly *size* bytes, or raise (EOFError on a close, socket.timeout past *timeout*)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def recv_frame(sock: socket.socket, timeout: float = 5.0) -> tuple[tuple, bytes]:
    """One encapsulation frame: (header fields, payload)."""
    header = ENCAP_HEADER.unpack(recv_exact(sock, ENCAP_HEADER.size, timeout))
    return header, recv_exact(sock, header[1], timeout) if header[1] else b""


def register_session(sock: socket.socket, timeout: float = 5.0) -> int:
    sock.sendall(register_session_frame())
    (command, length, session, status, context, _), payload = recv_frame(sock, timeout)
    assert (command, status, context) == (REGISTER_SESSION, 0, b"regsess\0"), (command, status, context)
    assert session != 0
    return session


def cip_reply_of(payload: bytes) -> bytes:
    """The CIP reply in a SendRRData reply payload (interface, timeout, items: NULL address + data)."""
    _, _, count = struct.unpack_from("<IHH", payload, 0)
    offset = 8
    for _ in range(count):
        type_id, length = struct.unpack_from("<HH", payload, offset)
        offset += 4
        if type_id in (0x00B2, 0x00B1):
            return payload[offset:offset + length]
        offset += length
    raise AssertionError(f"no data item in {payload.hex()}")


def read_until_closed(sock: socket.socket, timeout: float = 3.0) -> tuple[bytes, bool]:
    """Everything the peer sends until it closes (True) or *timeout* passes quietly (False)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False
