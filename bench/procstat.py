"""What the load-generating benchmarks share: a server process's CPU and memory, and exact socket reads.

Why: ``server_bench`` and ``modbus_bench`` measure a server the same way (its
utime + stime from ``/proc`` around a run, its resident set after it), and
their raw-socket clients read replies the same way.
"""

from __future__ import annotations

import os
import socket

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process *pid* (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    """Resident set size of process *pid*, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def recv_exact(sock: socket.socket, count: int) -> bytes:
    """Exactly *count* bytes from *sock*; EOFError if the server closes first."""
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("server closed the connection")
        data += chunk
    return data
