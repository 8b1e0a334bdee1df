#!/usr/bin/env python3
"""A plant in one process: N controllers, each polled once a second, against one controller at the same rate.

Why: a plant is worth serving in one process only if a thousand controllers there cost
about what one controller serving the same reads costs, and hold little memory each.
So each row starts ``python -m cpppo.plant`` with N controllers (each ``SCADA=INT[100]``,
each at its own 127.R.x.y address, port 44818) and polls every controller once a second
with single-tag reads (Read Tag ``SCADA[1]`` in Unconnected Send, as pylogix sends it)
over a session of its own; the reference row is one controller polled by 100 sessions at
10 Hz, the same 1,000 reads a second as N = 1,000.  The load comes from generator
processes (a bounded number of seconds; their requests spread evenly over the period),
and the server's CPU time from ``/proc/PID/stat`` over the measured window; RSS from
``/proc/PID/status`` after it.  Goals at N = 1,000: every read answered, CPU per read
within 1.5x of the reference, RSS under 256 KiB per controller beyond the first,
start-up (process start to serving) under 10 s.  RSS per controller is the growth over the
smallest plant (one controller, one session), per controller added.

    python bench/plant_bench.py [--sizes 10 100 1000] [--seconds 10] [--generators 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: our cpppo from this checkout
    sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds, recv_exact, rss_mib  # noqa: E402
from bench.server_bench import Load, check_reply, read_tag, send_rr_data  # noqa: E402
from cpppo.enip.codec import encap  # noqa: E402

LOAD = Load("Read Tag SCADA[1]", read_tag("SCADA", 1))
#: Server CPU seconds below which a row's CPU per read is not shown: /proc counts in ticks of 10 ms.
MEASURABLE = 0.1
LISTED = re.compile(r"^c\d+ enip (\S+):(\d+)$", re.M)


@dataclass
class Row:
    label: str
    controllers: int
    sessions: int
    reads: int  # answered in the window
    sent: int
    seconds: float
    cpu: float  # server CPU seconds in the window
    rss: float  # MiB
    startup: float  # seconds from the process' start to serving

    @property
    def rate(self) -> float:
        return self.reads / self.seconds

    @property
    def cpu_per_read(self) -> float:
        return self.cpu / max(self.reads, 1) * 1e6


def _frame(sock: socket.socket) -> bytes:
    head = recv_exact(sock, 24)
    return head + recv_exact(sock, int.from_bytes(head[2:4], "little"))


def _generator(targets: list[tuple[str, int]], period: float, seconds: float, ready: Any, start: Any,
               results: Any) -> None:
    """One load process: a session per target, a read every *period* seconds on each (staggered), counted."""
    try:
        socks, requests = [], {}
        for host, port in targets:
            sock = socket.create_connection((host, port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession(1, 0))))
            session = int.from_bytes(_frame(sock)[4:8], "little")
            requests[sock] = send_rr_data(LOAD.request, session)
            sock.sendall(requests[sock])
            first = _frame(sock)
            length = len(first)  # every later reply has its length: counted by it, not decoded
            problem = check_reply(first, LOAD)
            if problem:
                raise RuntimeError(f"{host}:{port}: {problem}")
            sock.setblocking(False)
            socks.append(sock)
    except Exception as error:  # report, never hang the parent
        ready.put(f"{type(error).__name__}: {error}")
        return
    ready.put("ok")
    start.wait()
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    began = time.monotonic()
    due = [(began + period * k / len(socks), sock) for k, sock in enumerate(socks)]  # staggered over the period
    buffered = {sock: b"" for sock in socks}
    sent = answered = 0

    def receive(timeout: float) -> int:
        """Replies received within *timeout* seconds (counted by their length)."""
        count = 0
        for key, _ in selector.select(timeout):
            sock = key.fileobj
            data = buffered[sock] + sock.recv(65536)  # type: ignore[union-attr]
            count += len(data) // length
            buffered[sock] = data[len(data) // length * length:]  # type: ignore[index]
        return count
    end = began + seconds
    turn = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        while due[turn][0] <= now:
            when, sock = due[turn]
            sock.send(requests[sock])
            sent += 1
            due[turn] = (when + period, sock)
            turn = (turn + 1) % len(due)
        answered += receive(max(0.0, min(due[turn][0], end) - time.monotonic()))
    drained = time.monotonic() + 2.0  # the replies still in flight at the end: every read must be answered
    while answered < sent and time.monotonic() < drained:
        answered += receive(0.1)
    results.put((sent, answered))
    for sock in socks:
        sock.close()


def run_load(pid: int, targets: list[tuple[str, int]], period: float, seconds: float, generators: int) -> tuple:
    """(sent, answered, server CPU seconds) polling *targets* every *period* s for *seconds* s."""
    ready, results, start = mp.Queue(), mp.Queue(), mp.Event()
    parts = [targets[g::generators] for g in range(generators) if targets[g::generators]]
    procs = [mp.Process(target=_generator, args=(part, period, seconds, ready, start, results)) for part in parts]
    for proc in procs:
        proc.start()
    try:
        problems = [m for m in (ready.get(timeout=120) for _ in procs) if m != "ok"]
        if problems:
            raise RuntimeError(problems[0])
        cpu0 = cpu_seconds(pid)
        start.set()
        totals = [results.get(timeout=seconds + 60) for _ in procs]
        cpu = cpu_seconds(pid) - cpu0
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    return sum(t[0] for t in totals), sum(t[1] for t in totals), cpu


def plant(folder: Path, net: int, controllers: int) -> tuple[subprocess.Popen, list[tuple[str, int]], float]:
    """A running plant of *controllers* (its process, each controller's address, its start-up seconds)."""
    path = folder / f"plant{controllers}.toml"
    path.write_text(f'[[controllers]]\nname = "c{{i}}"\ncount = {controllers}\naddress = "127.{net}.0.1"\n'
                    f'tags = ["SCADA=INT[100]"]\n')
    output = folder / f"plant{controllers}.out"
    began = time.monotonic()
    with output.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cpppo.plant", "-A", str(path)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder)
    while "started in" not in output.read_text():
        if proc.poll() is not None or time.monotonic() - began > 120:
            raise RuntimeError(f"the plant did not start: {output.read_text()[-500:]}")
        time.sleep(0.01)
    startup = time.monotonic() - began
    return proc, [(h, int(p)) for h, p in LISTED.findall(output.read_text())], startup


def measure(folder: Path, label: str, controllers: int, sessions_each: int, period: float, seconds: float,
            generators: int) -> Row:
    proc, addresses, startup = plant(folder, random.randrange(100, 250), controllers)
    try:
        targets = [a for a in addresses for _ in range(sessions_each)]
        sent, answered, cpu = run_load(proc.pid, targets, period, seconds, generators)
        return Row(label, controllers, len(targets), answered, sent, seconds, cpu, rss_mib(proc.pid), startup)
    finally:
        proc.terminate()
        proc.wait(30)


def table(rows: list[Row]) -> str:
    reference = next(r for r in rows if r.label.startswith("reference"))
    base = min((r for r in rows if not r.label.startswith("reference")), key=lambda r: r.controllers)
    lines = ["| run | controllers | sessions | reads/s | answered | server CPU % | CPU us/read | x reference "
             "| RSS MiB | RSS KiB/controller | start-up s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        extra = ((r.rss - base.rss) * 1024 / (r.controllers - base.controllers) if r.controllers > base.controllers
                 and not r.label.startswith("reference") else float("nan"))
        measured = r.cpu >= MEASURABLE
        lines.append(f"| {r.label} | {r.controllers} | {r.sessions} | {r.rate:.0f} | {r.reads}/{r.sent} | "
                     f"{r.cpu / r.seconds * 100:.1f} | {f'{r.cpu_per_read:.0f}' if measured else '-'} | "
                     f"{f'{r.cpu_per_read / reference.cpu_per_read:.2f}' if measured else '-'} | {r.rss:.1f} | "
                     f"{'-' if extra != extra else f'{extra:.0f}'} | {r.startup:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000],
                    help="plant sizes (controllers); the smallest is the base of RSS per controller")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of load per row")
    ap.add_argument("--generators", type=int, default=2, help="load generator processes")
    ap.add_argument("--repeat", type=int, default=1, help="runs of every row, alternating; the median is shown")
    args = ap.parse_args(argv)
    runs: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="plant-bench-") as folder:
        for _ in range(args.repeat):  # alternate the rows, so that the machine's noise falls on all of them
            for label, controllers, each, period in [("reference: 1 controller, 100 sessions at 10 Hz", 1, 100, 0.1),
                                                     *((f"plant: {n} controllers at 1 Hz", n, 1, 1.0)
                                                       for n in args.sizes)]:
                row = measure(Path(folder), label, controllers, each, period, args.seconds, args.generators)
                runs.setdefault(label, []).append(row)
                print(f"  {label}: {row.rate:.0f} reads/s, {row.cpu_per_read:.0f} us/read, {row.rss:.1f} MiB",
                      file=sys.stderr, flush=True)
    rows = [sorted(rs, key=lambda r: r.cpu_per_read)[len(rs) // 2] for rs in runs.values()]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
