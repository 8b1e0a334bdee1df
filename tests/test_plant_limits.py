"""The simulator's limits in a plant are each controller's: one controller at its bound leaves the others free.

Why: the limits (README, "Limits") bound what a peer can make a controller hold; in a plant a
peer that fills one controller's session or connection table must not refuse clients of another.
``twistd -n cpppo-plant --max-sessions 2 --max-forward-opens 1 --max-connections 4`` serves two
lone controllers and a chassis of two; raw connections and RegisterSession requests, and
pycomm3's Forward Open (its connected messaging), find each controller's bound; the chassis'
sessions are its address's (one table).
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pycomm3 import LogixDriver
from pycomm3.exceptions import CommError, ResponseError

from cpppo.enip.codec import encap
from tests.peers.process import ServerProcess


@pytest.fixture(scope="module")
def plant() -> Iterator[dict[str, str]]:
    """The running plant's devices: name -> host."""
    outdir = tempfile.TemporaryDirectory(prefix="plant-limits-")
    net = random.randrange(100, 250)
    path = Path(outdir.name) / "plant.toml"
    path.write_text(f'[[controllers]]\nname = "c{{i}}"\ncount = 4\naddress = "127.{net}.1.1"\ntags = ["X=DINT[2]"]\n'
                    f'[[controllers]]\nname = "r{{i}}"\ncount = 2\nslot = 1\naddress = "127.{net}.2.1"\n'
                    f'tags = ["X=DINT[2]"]\n')
    twistd = shutil.which("twistd", path=str(Path(sys.executable).parent)) or "twistd"
    with open(Path(outdir.name) / "output", "wb") as out:
        proc = subprocess.Popen([twistd, "-n", "--pidfile=", "cpppo-plant", "-A", "--max-sessions", "2",
                                 "--max-forward-opens", "1", "--max-connections", "4", str(path)],
                                cwd=outdir.name, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    with ServerProcess(proc, proc.args, outdir) as process:
        deadline = time.monotonic() + 60
        while "started in" not in process.output() and time.monotonic() < deadline and process.alive():
            time.sleep(0.1)
        text = process.output()
        assert "started in" in text, text
        yield {m[0]: m[1] for m in re.findall(r" (\w+) enip ([\d.]+):44818", text)}


def _register(host: str) -> tuple[socket.socket, int]:
    """A connection to *host* and the encapsulation status of its RegisterSession."""
    sock = socket.create_connection((host, 44818), timeout=5.0)
    sock.sendall(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession(1, 0))))
    data = b""
    while len(data) < 24:
        chunk = sock.recv(4096)
        assert chunk, "closed before the RegisterSession reply"
        data += chunk
    return sock, int.from_bytes(data[8:12], "little")


def test_sessions_are_bounded_per_controller(plant: dict[str, str]) -> None:
    held = []
    try:
        statuses = []
        for name in ("c0", "c0", "c0", "c1", "c1", "r0", "r1"):
            sock, status = _register(plant[name])
            held.append(sock)
            statuses.append(status)
        # c0 full at 2 (0x0002: insufficient memory), c1 still takes its 2; the chassis' 2 are its address's
        assert statuses == [0, 0, 0x0002, 0, 0, 0, 0]
        assert _register(plant["r1"])[1] == 0x0002
    finally:
        for sock in held:
            sock.close()


def test_forward_opens_are_bounded_per_controller(plant: dict[str, str]) -> None:
    first = LogixDriver(plant["c0"], init_tags=False, init_program_tags=False)
    first.open()
    try:
        assert first._target_is_connected
        second = LogixDriver(plant["c0"], init_tags=False, init_program_tags=False)
        try:
            with pytest.raises((CommError, ResponseError)):  # c0's one Forward Open is taken
                second.open()
        finally:
            second.close()
        for where in (plant["c1"], f"{plant['r0']}/1", f"{plant['r1']}/2"):  # every other controller has its own
            with LogixDriver(where, init_tags=False, init_program_tags=False) as other:
                assert other._target_is_connected
    finally:
        first.close()


def _answers(sock: socket.socket) -> bool:
    """Whether *sock*'s server answers a List Identity on it (False: it closed the connection)."""
    sock.sendall(encap.encode_frame(encap.Frame(encap.LIST_IDENTITY)))
    try:
        return bool(sock.recv(4096))
    except ConnectionResetError:
        return False


def test_connections_are_bounded_per_controller(plant: dict[str, str]) -> None:
    # (c2 and c3: controllers no other test here connects to, so no closing connection of theirs is still counted)
    held = [socket.create_connection((plant[name], 44818), timeout=5.0) for name in ["c2"] * 5 + ["c3"] * 4]
    try:
        assert [_answers(sock) for sock in held] == [True] * 4 + [False] + [True] * 4  # c2's 5th is closed
    finally:
        for sock in held:
            sock.close()
