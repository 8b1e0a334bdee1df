"""Run a server and its clients on a loopback of their own: a new network namespace (``unshare -rn``).

Why: the original cpppo's example scripts reach their controller at ``localhost`` (or a host
given) on port 44818, fixed in the script; run unchanged, they need 127.0.0.1:44818, and tests
of several helpers run at once on this machine.  In a network namespace of its own each run has
a loopback where that port is its alone, and nothing it does reaches the host's network.

From a test::

    run = isolated(Spec(server=Command([...]), clients=[Command([...], until=[r"== \\[1\\]"])]), tmp_path)
    run.clients[0].stdout

:func:`isolated` writes the spec to *tmp_path* and runs this file as a script under
``unshare -rn`` (its ``main``): bring ``lo`` up, start the server, wait until it accepts on
127.0.0.1:44818 (or prints a line, ``ready=``), run each client in turn (to its end, or until
its output matches ``until`` ``count`` times: then SIGINT, as a user's Control-C), stop the
server (SIGTERM, then SIGKILL), and write what each printed and its exit status.  Everything it
starts is stopped before it returns; the test side kills the whole session on a timeout.
:func:`available` says if this machine lets a user make a namespace.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PORT = 44818


@dataclass
class Command:
    """A process to run: *argv*, in *cwd* (default: the run's folder)."""

    argv: list[str]
    cwd: str | None = None
    #: Environment variables to set (over this process's).
    env: dict[str, str] = field(default_factory=dict)
    #: Regular expressions: stop the process (SIGINT) once its output matched each *count* times.
    until: list[str] = field(default_factory=list)
    count: int = 1
    timeout: float = 60.0
    #: For a server: a regular expression its output matches once it serves (default: it accepts
    #: on 127.0.0.1:44818).
    ready: str | None = None


@dataclass
class Ran:
    """What a process printed, and its exit status (None: it had to be killed)."""

    argv: list[str]
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    matched: bool = False


@dataclass
class Spec:
    server: Command | None
    clients: list[Command] = field(default_factory=list)


@dataclass
class Run:
    server: Ran | None
    clients: list[Ran]


def available() -> bool:
    """True if ``unshare -rn`` works here (a user namespace with a network namespace)."""
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def isolated(spec: Spec, folder: Path, timeout: float = 180.0) -> Run:
    """Run *spec* in a new network namespace; its files go in *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(dataclasses.asdict(spec)))
    proc = subprocess.Popen(["unshare", "-rn", sys.executable, __file__, str(folder)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    result = folder / "result.json"
    if proc.returncode != 0 or not result.exists():
        raise RuntimeError(f"the isolated run failed (exit {proc.returncode}):\n{out}\n{err}")
    data = json.loads(result.read_text())
    return Run(Ran(**data["server"]) if data["server"] else None, [Ran(**c) for c in data["clients"]])


# --- inside the namespace ------------------------------------------------------------------------

def _loopback_up() -> None:
    """Set ``lo`` up (a new namespace's is down): SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP."""
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, 0x8913, request)[:18])[1]
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH", b"lo", flags | 0x1))


def _start(command: dict[str, Any], folder: Path, name: str) -> tuple[subprocess.Popen, Path, Path]:
    out, err = folder / f"{name}.stdout", folder / f"{name}.stderr"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(command["argv"], cwd=command["cwd"] or str(folder), stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr, env={**os.environ, **command["env"]})
    return proc, out, err


def _output(out: Path, err: Path) -> str:
    return out.read_text(errors="replace") + err.read_text(errors="replace")


def _accepts() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen, first: int, grace: float) -> int | None:
    """Signal *proc* (*first*, then SIGKILL after *grace* seconds); its exit status (None if killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(first)
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def _finished(proc: subprocess.Popen, argv: list[str], out: Path, err: Path, code: int | None,
              matched: bool) -> dict[str, Any]:
    return dataclasses.asdict(Ran(argv, out.read_text(errors="replace"), err.read_text(errors="replace"), code,
                                  matched))


def _client(command: dict[str, Any], folder: Path, name: str) -> dict[str, Any]:
    proc, out, err = _start(command, folder, name)
    deadline = time.monotonic() + command["timeout"]
    patterns = [re.compile(text, re.M) for text in command["until"]]

    def seen() -> bool:
        text = _output(out, err)
        return all(len(pattern.findall(text)) >= command["count"] for pattern in patterns)
    matched = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if patterns and seen():
                break
            time.sleep(0.05)  # (watching another process's output: nothing to drive with a Clock)
        matched = bool(patterns) and seen()
        code = _stop(proc, signal.SIGINT, 10.0) if proc.poll() is None else proc.returncode
        if not patterns and code is not None and time.monotonic() >= deadline:
            code = None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return _finished(proc, command["argv"], out, err, code, matched)


def main(folder: Path) -> int:
    spec = json.loads((folder / "spec.json").read_text())
    _loopback_up()
    server = None
    result: dict[str, Any] = {"server": None, "clients": []}
    try:
        if spec["server"]:
            command = spec["server"]
            server, out, err = _start(command, folder, "server")
            deadline = time.monotonic() + command["timeout"]
            ready = re.compile(command["ready"], re.M) if command["ready"] else None
            while time.monotonic() < deadline and server.poll() is None:
                if (ready.search(_output(out, err)) if ready else _accepts()):
                    break
                time.sleep(0.05)  # (waiting for another process to listen)
        for number, command in enumerate(spec["clients"]):
            result["clients"].append(_client(command, folder, f"client{number}"))
    finally:
        if server is not None:
            code = _stop(server, signal.SIGTERM, 5.0)
            result["server"] = _finished(server, spec["server"]["argv"], out, err, code, True)
        (folder / "result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
