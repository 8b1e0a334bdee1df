"""A server under test in a subprocess of its own: how to see it, stop it and clean up after it.

Both the original cpppo simulator (:mod:`tests.peers.original`) and our own server under twistd
(:mod:`tests.enip_server_fixture`) run this way: started in a new session (so the whole process
group can be signalled), their output written to files in a temporary directory (a pipe could fill
and block them), and stopped with SIGTERM, then SIGKILL after a timeout, and always reaped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"


def wait_for_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> bool:
    """Wait until 127.0.0.1:port accepts a TCP connection (or proc exits, or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex((LOOPBACK, port)) == 0:
                return True
        time.sleep(0.05)
    return False


class ServerProcess:
    """A running server subprocess; ``.stop()`` and ``.close_output()`` (or ``with``) clean it up."""

    #: The files in the output directory holding what it prints, in the order read.
    outputs: tuple[str, ...] = ("output",)
    stop_timeout = 10.0

    def __init__(self, proc: subprocess.Popen, cmd: list[str], outdir: tempfile.TemporaryDirectory) -> None:
        self.proc, self.cmd, self._outdir = proc, cmd, outdir
        self.port: int | None = None
        self.udp_port: int | None = None

    pid = property(lambda self: self.proc.pid)
    address = property(lambda self: (LOOPBACK, self.port))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        """What the server printed so far."""
        parts = []
        for name in self.outputs:
            try:
                parts.append((Path(self._outdir.name) / name).read_text(errors="replace"))
            except (OSError, AttributeError, ValueError):
                pass
        return "".join(parts)

    def stop(self, timeout: float | None = None) -> int:
        """SIGTERM (its process group), SIGKILL after *timeout*; always reaps.  Idempotent; returns
        the exit status."""
        timeout = self.stop_timeout if timeout is None else timeout
        proc = self.proc
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.kill()
                proc.wait(timeout)
        return proc.wait()

    def close_output(self) -> None:
        """Remove the output files (after stop())."""
        if self._outdir is not None:
            with contextlib.suppress(OSError):
                self._outdir.cleanup()
            self._outdir = None

    close = close_output

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.close_output()
        return False

    def __repr__(self):
        return f"<{type(self).__name__} pid={self.pid} {LOOPBACK}:{self.port} {'alive' if self.alive() else 'exited'}>"
