#!/usr/bin/env python3
"""EtherNet/IP server cost: our simulator, the original cpppo 5.2.5 and a bare Twisted floor, in one run.

Why: the simulator must stay cheap enough to stand in for many controllers on
one machine.  The figure that holds on a noisy machine is the server's CPU
time per request, so every server runs as a subprocess on 127.0.0.1 (port
chosen by the OS) and its utime + stime is read from /proc/PID/stat before
and after the load; RSS comes from /proc/PID/status.  The goal: our CPU per
request at 4 connections within 3x of the floor (``bench/floor_twisted.py``,
which frames by length and answers with a canned reply).

The load is our own raw-socket client: N connections (one process each), each
registering a session and sending Read Tag ``SCADA[1]`` inside SendRRData and
Unconnected Send (as pylogix and the original client send it), one request at
a time, each with a sender context of its own, for a bounded number of seconds.  The request is built once per
connection with the :mod:`cpppo.enip.codec` codec records; the first reply is
decoded and checked, and every later one is matched by its length (and its
encapsulation and CIP status bytes), so the client stays cheap.

Rows run in rounds (every row once per round, in turn, the order reversed every other round),
and each row's median is printed with its spread, so that a burst of load from elsewhere on the
machine lands on every row alike; the ratio to the floor is the median of each round's ratio.

    python bench/server_bench.py [--seconds 5] [--conns 1 4] [--servers ours,original,floor] [--runs 3]
                                 [--single] [--compare DIR]

``--single`` runs only the single-tag rows (the ones the 3x goal is about); ``--compare DIR`` also
serves the same rows from another checkout (``git archive`` unpacked there), labelled ``before``,
in the same rounds: a change's before and after, measured alike.

Run from the repository root (the original simulator comes from
``tests/peers/original.py``, which builds cpppo 5.2.5 in its own venv).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: our cpppo (and tests.peers) from this checkout
    sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds, recv_exact, rss_mib  # noqa: E402
from cpppo.enip.codec import cip, encap  # noqa: E402
from cpppo.enip.codec import tag_services as logix  # noqa: E402
from cpppo.enip.codec.epath import Logical, Port, Symbolic  # noqa: E402

ADDRESS = re.compile(r"Network TCP Server address = \('127\.0\.0\.1', (\d+)\)")
CIP_STATUS_AT = 16 + 2  # in SendRRData data: handle, timeout, count, null item, data item header; then svc, 0, status


# --- the requests ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    """One kind of request: a label, and the CIP request to send inside Unconnected Send."""

    label: str
    request: cip.Request
    reads: int = 1  # tag reads per request (a Multiple Service Packet carries several)


def read_tag(tag: str, start: int, elements: int = 1) -> cip.Request:
    """Read Tag ``tag[start]`` for *elements* elements."""
    return cip.Request(0x4C, (Symbolic(tag), Logical("element", start)), body=logix.ReadTag(elements))


def multiple(requests: list[cip.Request]) -> cip.Request:
    """A Multiple Service Packet to the Message Router."""
    return cip.Request(0x0A, (Logical("class", 0x02), Logical("instance", 1)),
                       body=cip.MultipleService(tuple(requests)))


def send_rr_data(request: cip.Request, session: int) -> bytes:
    """*request* in Unconnected Send (route: backplane slot 0) in SendRRData, as bytes."""
    ucs = cip.Request(0x52, (Logical("class", 0x06), Logical("instance", 1)),
                      body=cip.UnconnectedSend(request, route=(Port(1, 0),)))
    data = encap.SendData((encap.NullAddress(), encap.UnconnectedData(ucs)))
    return encap.encode_frame(encap.Frame(encap.SEND_RR_DATA, data, session))


def check_reply(frame_bytes: bytes, load: Load) -> str | None:
    """Why the first reply is wrong (None if it is a good answer to *load*)."""
    frame = encap.decode_frame(frame_bytes, reply=True)
    if frame.status:
        return f"encapsulation status 0x{frame.status:02X}"
    items = frame.body.items if isinstance(frame.body, encap.SendData) else ()
    if len(items) != 2 or not isinstance(items[1], encap.UnconnectedData):
        return f"unexpected reply items {items!r}"
    reply = cip.decode_reply(items[1].message, request=load.request)
    if reply.status:
        return f"CIP status 0x{reply.status:02X} {reply.extended}"
    if isinstance(reply.body, cip.MultipleServiceReply):
        bad = [r for r in reply.body.replies if r.status]
        if len(reply.body.replies) != load.reads or bad:
            return f"Multiple Service reply {reply.body.replies!r}"
    elif isinstance(reply.body, logix.ReadTagReply):
        if len(reply.body.values()) != load.request.body.elements:
            return f"{len(reply.body.values())} values for {load.request.body.elements}"
    else:
        return f"not a Read Tag reply: {reply!r}"
    return None


# --- the client -----------------------------------------------------------------------------


def _recv_frame(sock: socket.socket) -> bytes:
    head = recv_exact(sock, 24)
    return head + recv_exact(sock, int.from_bytes(head[2:4], "little"))


def _worker(port: int, load: Load, seconds: float, ready: Any, start: Any, results: Any) -> None:
    """One connection: register, check one reply, then one request at a time until the time is up."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession(1, 0))))
        session = int.from_bytes(_recv_frame(sock)[4:8], "little")
        request = send_rr_data(load.request, session)
        sock.sendall(request)
        first = _recv_frame(sock)
        problem = check_reply(first, load)
    except Exception as error:  # report, do not hang the parent
        ready.put(f"{type(error).__name__}: {error}")
        return
    ready.put(problem)
    if problem:
        return
    size, done, bad = len(first), 0, 0
    before, after = request[:12], request[20:]
    start.wait()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        context = done.to_bytes(8, "little")  # a new sender context each time, as pycomm3 and pylogix send
        sock.sendall(before + context + after)
        head = recv_exact(sock, 24)
        body = recv_exact(sock, int.from_bytes(head[2:4], "little"))
        if 24 + len(body) != size or head[8:20] != b"\0\0\0\0" + context or body[CIP_STATUS_AT]:
            bad += 1
        done += 1
    sock.close()
    results.put((done, bad))




@dataclass
class Result:
    rate: float       # requests/s
    cpu_us: float     # server CPU microseconds per request
    errors: int
    requests: int


def run_load(port: int, pid: int, load: Load, conns: int, seconds: float) -> Result:
    """*conns* clients sending *load* for *seconds*; the server's CPU per request over that time."""
    ctx = mp.get_context("fork")
    ready, start, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(port, load, seconds, ready, start, results), daemon=True)
             for _ in range(conns)]
    for p in procs:
        p.start()
    try:
        problems = [ready.get(timeout=60) for _ in procs]
        if any(problems):
            raise RuntimeError(f"{load.label}: {next(p for p in problems if p)}")
        time.sleep(0.2)
        before = cpu_seconds(pid)
        began = time.monotonic()
        start.set()
        got = [results.get(timeout=seconds + 60) for _ in procs]
        elapsed = time.monotonic() - began
        used = cpu_seconds(pid) - before
    finally:
        start.set()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()
    requests = sum(n for n, _ in got)
    return Result(requests / elapsed, used * 1e6 / max(requests, 1), sum(b for _, b in got), requests)


# --- the servers ----------------------------------------------------------------------------

class Subprocess:
    """A server subprocess whose output names its port; stopped (SIGTERM, then kill) and reaped.

    *tree* (another checkout) is put first on its ``PYTHONPATH``: its cpppo is the one served."""

    def __init__(self, argv: list[str], cwd: Path = ROOT, timeout: float = 30.0, tree: Path | None = None) -> None:
        env = None
        if tree is not None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(tree),
                                                                            os.environ.get("PYTHONPATH")))))
            cwd = tree  # (twistd puts its working folder first on sys.path)
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._drain, args=(lines,), daemon=True).start()
        deadline = time.monotonic() + timeout
        self.port = 0
        while time.monotonic() < deadline and not self.port:
            try:
                match = ADDRESS.search(lines.get(timeout=0.5))
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if match:
                self.port = int(match.group(1))
        if not self.port:
            self.stop()
            raise RuntimeError(f"{' '.join(argv)} did not print its address")

    def _drain(self, lines: queue.Queue[str]) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            lines.put(line)            # keep reading, so a chatty server never blocks on its pipe

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()


class Original:
    """The original cpppo 5.2.5 simulator, from tests/peers/original.py's venv."""

    def __init__(self) -> None:
        from tests.peers.original import start_original_simulator

        self.sim = start_original_simulator(("SCADA=INT[1000]",), udp=False)
        self.port, self.pid = self.sim.port, self.sim.pid

    def stop(self) -> None:
        self.sim.stop()
        self.sim.close_output()


def _bin(name: str) -> str:
    """A console script of the running interpreter's environment (its venv's twistd)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def server_factories(compare: Path | None = None) -> dict[str, Callable[[], Any]]:
    """How to start each server: a callable returning something with .port, .pid and .stop()."""
    ours = [_bin("twistd"), "-n", "--pidfile=", "cpppo-enip", "--address", "127.0.0.1:0", "-A", "SCADA=INT[1000]"]
    factories: dict[str, Callable[[], Any]] = {
        "ours": lambda: Subprocess(ours),
        "original": Original,
        "floor": lambda: Subprocess([sys.executable, str(ROOT / "bench" / "floor_twisted.py"), "0"]),
    }
    if compare is not None:
        factories["before"] = lambda: Subprocess(ours, tree=compare)
    return factories


SINGLE = Load("SCADA[1]", read_tag("SCADA", 1))
EXTRA = (Load("SCADA[0-199]", read_tag("SCADA", 0, 200)),
         Load("MSP 20 reads", multiple([read_tag("SCADA", i) for i in range(20)]), reads=20))


@dataclass(frozen=True)
class Row:
    """One row of the table: a server, a load and a connection count."""

    server: str
    load: Load
    conns: int


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}" if len(values) > 1 else ""


def main(argv: list[str] | None = None) -> int:
    """Print the table: server, load, conns, requests/s, server CPU us/request (median, spread), RSS."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of load per row (default 5)")
    ap.add_argument("--conns", type=int, nargs="+", default=[1, 4], help="connection counts (default 1 4)")
    ap.add_argument("--servers", default="ours,original,floor", help="comma-separated: ours,original,floor")
    ap.add_argument("--runs", type=int, default=3,
                    help="rounds over every row, alternating, the median kept (default 3: this kind of VM is noisy)")
    ap.add_argument("--single", action="store_true", help="only the single-tag rows")
    ap.add_argument("--compare", metavar="DIR", type=Path,
                    help="also serve our rows from the checkout in DIR (labelled 'before'), in the same rounds")
    args = ap.parse_args(argv)
    factories = server_factories(args.compare.resolve() if args.compare else None)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in factories or n == "before"]
    if unknown:
        ap.error(f"unknown server(s) {unknown}: choose from ours, original, floor")
    if args.compare and "ours" in names:
        names.insert(names.index("ours") + 1, "before")
    print(f"EtherNet/IP Read Tag in SendRRData/Unconnected Send, one request at a time per connection, "
          f"{args.seconds:g} s per row, median of {args.runs} alternating runs, {os.cpu_count()} CPUs", flush=True)
    servers: dict[str, Any] = {}
    status = 0
    try:
        for name in names:
            try:
                servers[name] = factories[name]()
            except Exception as error:  # eg. the original's venv cannot be built here
                print(f"{name:<9} not measured: {type(error).__name__}: {str(error).splitlines()[0]}", flush=True)
        rows = [Row(name, load, conns) for name in servers
                for load in ((SINGLE,) if args.single or name not in ("ours", "before") else (SINGLE, *EXTRA))
                for conns in args.conns]
        results: dict[Row, list[Result]] = {row: [] for row in rows}
        failed: dict[Row, str] = {}
        for round_ in range(max(args.runs, 1)):
            for row in rows if round_ % 2 == 0 else rows[::-1]:
                if row in failed:
                    continue
                server = servers[row.server]
                try:
                    results[row].append(run_load(server.port, server.pid, row.load, row.conns, args.seconds))
                except Exception as error:
                    failed[row] = str(error)
        print(f"{'server':<9} {'request':<13} {'conns':>5} {'requests/s':>11} {'CPU us/req':>11} {'(spread)':>17} "
              f"{'RSS MiB':>8} {'errors':>6}")
        for row in rows:
            if row in failed:
                print(f"{row.server:<9} {row.load.label:<13} {row.conns:>5} failed: {failed[row]}", flush=True)
                status = 1
                continue
            got = results[row]
            errors = sum(r.errors for r in got)
            status |= bool(errors)
            rate, cpu = statistics.median(r.rate for r in got), statistics.median(r.cpu_us for r in got)
            print(f"{row.server:<9} {row.load.label:<13} {row.conns:>5} {rate:>11.0f} "
                  f"{cpu:>11.1f} {_spread([r.cpu_us for r in got]):>17} "
                  f"{rss_mib(servers[row.server].pid):>8.1f} {errors:>6}", flush=True)
        for conns in args.conns:
            single = {name: results.get(Row(name, SINGLE, conns), []) for name in servers}
            floor = single.get("floor")
            parts = []
            for name in ("ours", "before"):
                if single.get(name) and floor and len(single[name]) == len(floor):
                    ratios = [o.cpu_us / f.cpu_us for o, f in zip(single[name], floor, strict=True)]
                    ratio = statistics.median(ratios)
                    verdict = "meets" if ratio <= 3 else "misses"
                    parts.append(f"{name} uses {ratio:.2f}x the floor's CPU per request (rounds {_spread(ratios)}; "
                                 f"{verdict} the 3x goal)")
            if single.get("ours") and single.get("original"):
                ours = statistics.median(r.cpu_us for r in single["ours"])
                original = statistics.median(r.cpu_us for r in single["original"])
                parts.append(f"the original uses {original / ours:.0f}x ours")
            if parts:
                print(f"conns={conns}: " + "; ".join(parts))
    finally:
        for server in servers.values():
            server.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
