#!/usr/bin/env python3
"""Modbus/TCP server cost: our simulator against pymodbus's own asyncio server, in one run.

Why: the simulator must stay cheap enough to stand in for many PLCs on one
machine; the goal is at most half the server CPU per request of pymodbus's
server.  Both servers run as subprocesses on 127.0.0.1 (port chosen by the
OS) and are loaded by the same raw-socket client: N connections (one process
each), every one reading 10 holding registers with function 3, one request
at a time, for a bounded number of seconds.  Server CPU comes from
/proc/PID/stat (utime + stime) before and after; RSS from /proc/PID/status.

    python bench/modbus_bench.py [--seconds 5] [--conns 1 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: bench.procstat from this checkout
    sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds, recv_exact, rss_mib  # noqa: E402

PYMODBUS_SERVER = r"""
import asyncio, logging
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimData, SimDevice, DataType
logging.disable(logging.WARNING)
async def main():
    regs = [SimData(0, count=100, values=0, datatype=DataType.REGISTERS)]
    bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
    server = ModbusTcpServer(SimDevice(id=0, simdata=(bits, bits, regs, list(regs))), address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    print(server.transport.sockets[0].getsockname()[1], flush=True)
    await server.serving
asyncio.run(main())
"""



def _worker(port: int, seconds: float, start: mp.Event, results: mp.Queue) -> None:
    """One connection: read 10 holding registers (function 3), one request at a time."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = bad = 0
    start.wait()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        tid = done & 0xFFFF
        sock.sendall(struct.pack(">HHHBBHH", tid, 0, 6, 1, 3, 0, 10))
        rtid, _, length, _ = struct.unpack(">HHHB", recv_exact(sock, 7))
        pdu = recv_exact(sock, length - 1)
        if rtid != tid or pdu[:2] != b"\x03\x14":
            bad += 1
        done += 1
    sock.close()
    results.put((done, bad))




def load(port: int, pid: int, conns: int, seconds: float) -> tuple[float, float, int]:
    """Run *conns* clients for *seconds*; (requests/s, server CPU us/request, errors)."""
    start, results = mp.Event(), mp.Queue()
    procs = [mp.Process(target=_worker, args=(port, seconds, start, results)) for _ in range(conns)]
    for p in procs:
        p.start()
    time.sleep(0.3)  # let every connection be accepted before measuring
    before = cpu_seconds(pid)
    began = time.monotonic()
    start.set()
    got = [results.get(timeout=seconds + 30) for _ in procs]
    elapsed = time.monotonic() - began
    used = cpu_seconds(pid) - before
    for p in procs:
        p.join()
    requests = sum(n for n, _ in got)
    return requests / elapsed, used * 1e6 / max(requests, 1), sum(b for _, b in got)


def start_server(argv: list[str], parse) -> tuple[subprocess.Popen, int]:  # type: ignore[no-untyped-def]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            port = parse(lines.get(timeout=1))
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        if port:
            return proc, port
    proc.kill()
    raise SystemExit(f"server {argv} did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    """Print the table: server, conns, requests/s, server CPU us/request, RSS."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of load per row (default 5)")
    ap.add_argument("--conns", type=int, nargs="+", default=[1, 4], help="connection counts (default 1 4)")
    args = ap.parse_args(argv)
    servers = {
        "cpppo modbus_sim": ([sys.executable, "-m", "cpppo.bin.modbus_sim", "-a", "127.0.0.1:0", "-A", "40001-40100=0"],
                             lambda line: int(line.rpartition(":")[2]) if line[:1].isdigit() else None),
        "pymodbus server": ([sys.executable, "-c", PYMODBUS_SERVER],
                            lambda line: int(line) if line.isdigit() else None),
    }
    try:
        import pymodbus
        pmv = pymodbus.__version__
    except ImportError:
        pmv = "?"
    print(f"Modbus/TCP, 10 holding registers per request, {args.seconds:g} s per row, pymodbus {pmv}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'server':<18} {'conns':>5} {'requests/s':>11} {'CPU us/req':>11} {'RSS MiB':>8} {'errors':>6}")
    rows: dict[tuple[str, int], float] = {}
    status = 0
    for name, (cmd, parse) in servers.items():
        proc, port = start_server(cmd, parse)
        try:
            for conns in args.conns:
                rps, us, errors = load(port, proc.pid, conns, args.seconds)
                rows[name, conns] = us
                status |= bool(errors)
                print(f"{name:<18} {conns:>5} {rps:>11.0f} {us:>11.1f} {rss_mib(proc.pid):>8.1f} {errors:>6}",
                      flush=True)
        finally:
            stop_server(proc)
    for conns in args.conns:
        ours, theirs = rows["cpppo modbus_sim", conns], rows["pymodbus server", conns]
        print(f"conns={conns}: cpppo uses {ours / theirs:.2f}x pymodbus's CPU per request "
              f"({'meets' if ours <= theirs / 2 else 'misses'} the 0.5x goal)")
    return status


if __name__ == "__main__":
    sys.exit(main())
