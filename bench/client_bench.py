#!/usr/bin/env python3
"""EtherNet/IP client cost: single-tag reads per second and client CPU per read, many clients, one server.

Why: a client that spends milliseconds of its own CPU on every read caps a
poller at a few hundred reads per second whatever the PLC does.  Every client
here reads ``SCADA[1]`` from the same server (our simulator under twistd on
127.0.0.1, started once for the whole run) for a bounded number of seconds,
each in its own process, and reports how many reads it completed and the CPU
(user + system, all threads) its process spent on them: ``time.process_time``
around the read loop, so start-up and connecting are not counted.

Rows: the floor (a bare Twisted protocol resending one prebuilt request, parsing
nothing: what any client on this reactor pays per round trip); our Deferred client at depth 1,
5 and 20, each with and without Multiple Service Packets (``multiple=500``); our blocking ``client.connector``
(the same sans-IO core, driven from a plain socket in the caller's thread), also over a Forward Open
connection (``connected=True``, as pylogix reads); pylogix; pycomm3 (if it can open the
server); the original cpppo 5.2.5 client (its own venv, from
``tests/peers/original.py``) at depth 1 and at depth 20 with Multiple Service
Packets.

Rows run in rounds (every row once per round, alternating), and each row's median is printed, so that
a burst of load from elsewhere on the machine lands on every row alike.

    python bench/client_bench.py [--seconds 2] [--runs 3] [--only ours,pylogix,...] [--compare DIR]
                                 [--alternate ROUNDS]

``--compare DIR`` runs each of our rows a second time from another checkout (``git worktree
add DIR <commit>``, or an unpacked ``git archive``), in the same rounds against the same server:
a change's before and after, measured alike.

``--alternate ROUNDS`` adds, once per run, our blocking connector and pylogix in one process taking
turns of 50 reads: the finest alternation there is, for the goal that the connector spends no more
CPU per read than pylogix (whole-process rows see a different share of the machine's load).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ADDRESS = re.compile(r"Network TCP Server address = \('127\.0\.0\.1', (\d+)\)")
BATCH = 200   # operations handed to a pipeline at a time

# Each client is a script printing one JSON line: {"reads": N, "cpu": seconds, "wall": seconds}.
DEFERRED = """
import json, sys, time
from twisted.internet import defer, task
from cpppo.server.enip import client
port, seconds, depth, multiple = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ops = list(client.parse_operations(["SCADA[1]"] * BATCH))

@defer.inlineCallbacks
def run(reactor):
    conn = yield client.connect("127.0.0.1", port, timeout=10)
    yield conn.pipeline(ops[:10], depth=depth, multiple=multiple)      # warm up
    reads, cpu, wall = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < seconds:
        results = yield conn.pipeline(ops, depth=depth, multiple=multiple)
        assert results[-1][5] == [0], results[-1]
        reads += len(results)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    yield conn.close()
    print(json.dumps({"reads": reads, "cpu": cpu, "wall": wall}))
task.react(run)
"""

BLOCKING = """
import json, sys, time
from cpppo.server.enip import client
port, seconds, depth, multiple = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ops = list(client.parse_operations(["SCADA[1]"] * BATCH))
with client.connector(host="127.0.0.1", port=port, timeout=10) as conn:
    list(conn.pipeline(ops[:10], depth=depth, multiple=multiple))
    reads, cpu, wall = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < seconds:
        for idx, dsc, req, rpy, sts, val in conn.pipeline(ops, depth=depth, multiple=multiple):
            assert val == [0], val
            reads += 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"reads": reads, "cpu": cpu, "wall": wall}))
"""

CONNECTED = BLOCKING.replace("timeout=10)", "timeout=10, connected=True)")   # over a Forward Open connection
ORIGINAL = BLOCKING.replace("BATCH", "50")   # the same script runs unchanged on the original's API

# A third-party client reading one tag at a time: IMPORT, OPEN (bound to ``plc``), WARM (a first read's
# check) and READ (one read's value) are filled in per client.
ONE_AT_A_TIME = """
import json, sys, time
IMPORT
port, seconds = int(sys.argv[1]), float(sys.argv[2])
with OPEN as plc:
    assert WARM
    reads, cpu, wall = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < seconds:
        for _ in range(50):
            assert READ == 0
        reads += 50
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"reads": reads, "cpu": cpu, "wall": wall}))
"""


def one_at_a_time(**parts: str) -> str:
    script = ONE_AT_A_TIME
    for marker, text in parts.items():
        script = script.replace(marker, text)
    return script


PYLOGIX = one_at_a_time(IMPORT="from pylogix import PLC", OPEN='PLC("127.0.0.1", port=port, timeout=10)',
                        WARM='plc.Read("SCADA[1]").Status == "Success"', READ='plc.Read("SCADA[1]").Value')
PYCOMM3 = one_at_a_time(IMPORT="from pycomm3 import LogixDriver",
                        OPEN='LogixDriver(f"127.0.0.1:{port}", init_tags=True, init_program_tags=False)',
                        WARM='plc.read("SCADA[1]").value == 0', READ='plc.read("SCADA[1]").value')

# The floor: a bare Twisted protocol that sends one prebuilt Read Tag frame (SendRRData, UCMM) and sends it
# again whenever any bytes arrive, parsing nothing, straight to the socket when nothing is queued (as our
# client sends).  No client on this reactor can spend less per read.
FLOOR = """
import json, struct, sys, time
from twisted.internet import protocol, reactor
port, seconds = int(sys.argv[1]), float(sys.argv[2])
HEADER = "<HHII8sI"                      # command, length, session, status, sender context, options
PATH = bytes([0x91, 5]) + b"SCADA" + bytes([0, 0x28, 1])   # symbolic SCADA, element 1
READ = bytes([0x4C, len(PATH) // 2]) + PATH + struct.pack("<H", 1)
CPF = struct.pack("<IHH", 0, 5, 2) + struct.pack("<HH", 0, 0) + struct.pack("<HH", 0xB2, len(READ)) + READ
result = {}

class Floor(protocol.Protocol):
    def connectionMade(self):
        self.transport.setTcpNoDelay(True)
        self.frame, self.reads = None, -1
        self.transport.write(struct.pack(HEADER, 0x65, 4, 0, 0, bytes(8), 0) + struct.pack("<HH", 1, 0))

    def dataReceived(self, data):
        if self.frame is None:           # the Register Session reply: its session handle
            session = struct.unpack_from("<I", data, 4)[0]
            self.frame = struct.pack(HEADER, 0x6F, len(CPF), session, 0, bytes(8), 0) + CPF
            self.cpu, self.wall = time.process_time(), time.perf_counter()
        self.reads += 1
        if time.perf_counter() - self.wall >= seconds:
            result.update(reads=self.reads, cpu=time.process_time() - self.cpu, wall=time.perf_counter() - self.wall)
            self.transport.loseConnection()
            reactor.stop()
            return
        transport = self.transport      # sent at once when nothing is queued, as our client does
        if transport.dataBuffer or transport._tempDataBuffer or transport.writeSomeData(self.frame) != len(self.frame):
            transport.write(self.frame)

protocol.ClientCreator(reactor, Floor).connectTCP("127.0.0.1", port)
reactor.run()
print(json.dumps(result))
"""

# Our blocking connector and pylogix in ONE process, taking turns: 50 reads each per round, the CPU
# of each turn by time.process_time (the server is another process).  Alternating this finely puts
# both under the same load from elsewhere on the machine, which whole-process rows cannot.
ALTERNATE = """
import json, statistics, sys, time
from pylogix import PLC
from cpppo.server.enip import client
port, rounds = int(sys.argv[1]), int(sys.argv[3])
ops = list(client.parse_operations(["SCADA[1]"] * 50))
cpu, wall = {"ours": [], "pylogix": []}, {"ours": [], "pylogix": []}
with client.connector(host="127.0.0.1", port=port, timeout=10) as conn, PLC("127.0.0.1", port=port, timeout=10) as plc:
    assert plc.Read("SCADA[1]").Status == "Success"
    list(conn.pipeline(ops))
    for _ in range(rounds):
        start, clock = time.process_time(), time.perf_counter()
        for *_, val in conn.pipeline(ops, depth=1):
            assert val == [0], val
        cpu["ours"].append((time.process_time() - start) / 50)
        wall["ours"].append((time.perf_counter() - clock) / 50)
        start, clock = time.process_time(), time.perf_counter()
        for _ in range(50):
            assert plc.Read("SCADA[1]").Value == 0
        cpu["pylogix"].append((time.process_time() - start) / 50)
        wall["pylogix"].append((time.perf_counter() - clock) / 50)
print(json.dumps({**{name: statistics.median(values) for name, values in cpu.items()},
                  **{name + " wall": statistics.median(values) for name, values in wall.items()}}))
"""


def rows() -> list[tuple[str, str, str, list[str]]]:
    """(group, label, script, extra args) for every row, in table order."""
    out = [("floor", "bare Twisted protocol, no parsing (the floor)", FLOOR, [])]
    for depth in (1, 5, 20):
        for multiple in (0, 500):
            label = f"ours, Deferred, depth {depth:2d}" + (", multiple 500" if multiple else "")
            out.append(("ours", label, DEFERRED, [str(depth), str(multiple)]))
    out.append(("ours", "ours, blocking connector, depth  1", BLOCKING, ["1", "0"]))
    out.append(("ours", "ours, blocking connector, depth  1, connected", CONNECTED, ["1", "0"]))
    out.append(("ours", "ours, blocking connector, depth 20, multiple 500", BLOCKING, ["20", "500"]))
    out.append(("pylogix", "pylogix 1.x, Read one tag at a time", PYLOGIX, []))
    out.append(("pycomm3", "pycomm3 1.x, read one tag at a time", PYCOMM3, []))
    out.append(("original", "original cpppo 5.2.5 connector, depth  1", ORIGINAL, ["1", "0"]))
    out.append(("original", "original cpppo 5.2.5 connector, depth 20, multiple 500", ORIGINAL, ["20", "500"]))
    return out


def start_server() -> tuple[subprocess.Popen, int, tempfile.TemporaryDirectory]:
    twistd = Path(sys.executable).parent / "twistd"
    outdir = tempfile.TemporaryDirectory(prefix="cpppo-client-bench-")
    with open(Path(outdir.name) / "out", "wb") as out:
        proc = subprocess.Popen([str(twistd), "-n", "--pidfile=", "cpppo-enip", "--no-config", "--no-udp",
                                 "--address", "127.0.0.1:0", "-A", "SCADA=INT[1000]"], cwd=outdir.name, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        found = ADDRESS.search((Path(outdir.name) / "out").read_text(errors="replace"))
        if found:
            return proc, int(found.group(1)), outdir
        time.sleep(0.05)
    stop(proc)
    raise SystemExit(f"our simulator did not start: {(Path(outdir.name) / 'out').read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_row(group: str, script: str, port: int, seconds: float, extra: list[str],
            tree: Path = ROOT) -> dict | str:
    """Run one client (ours from *tree*, a checkout of this project); its JSON result, or the reason
    it could not run."""
    if group == "original":
        from tests.peers import original
        try:
            python = [str(original.venv_python(original.original_venv())), "-I"]
        except original.OriginalUnavailable as exc:
            return f"unavailable: {exc}"
    else:
        python = [sys.executable]
    code = textwrap.dedent(script).replace("BATCH", str(BATCH))
    env = dict(os.environ, PYTHONPATH=str(tree)) if group != "original" else None
    with tempfile.TemporaryDirectory() as cwd:
        try:
            done = subprocess.run([*python, "-c", code, str(port), str(seconds), *extra], capture_output=True,
                                  text=True, timeout=seconds * 10 + 60, cwd=cwd if group == "original" else tree,
                                  env=env)
        except subprocess.TimeoutExpired:
            return "timed out"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed: {last[:90]}"
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds of reads per run (default 2)")
    ap.add_argument("--only", default="", help="comma-separated groups: floor,ours,pylogix,pycomm3,original")
    ap.add_argument("--runs", type=int, default=3,
                    help="rounds over every row, alternating, the median kept (default 3: this kind of VM is noisy)")
    ap.add_argument("--compare", metavar="DIR", type=Path,
                    help="also run our rows from the checkout in DIR (labelled 'before'), in the same rounds")
    ap.add_argument("--alternate", type=int, default=0, metavar="ROUNDS",
                    help="also read with our blocking connector and pylogix in one process, taking turns of 50 "
                         "reads for ROUNDS rounds, once per run: each one's median CPU per read and their ratio")
    args = ap.parse_args(argv)
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    chosen = [(*row, ROOT) for row in rows() if not groups or row[0] in groups]
    if args.compare:   # each of our rows, then the same row from the other checkout
        chosen = [one for row in chosen for one in
                  ([row, (row[0], "before: " + row[1].removeprefix("ours, "), *row[2:4], args.compare.resolve())]
                   if row[0] == "ours" else [row])]
    proc, port, outdir = start_server()
    # Rounds over all rows, so that a burst of load from elsewhere on the machine lands on every row
    # alike; each row's median run is kept.
    runs: dict[str, list[dict]] = {label: [] for _, label, _, _, _ in chosen}
    failed: dict[str, str] = {}
    alternated: list[dict | str] = []
    try:
        for _ in range(max(args.runs, 1)):
            for group, label, script, extra, tree in chosen:
                if label in failed:
                    continue
                if proc.poll() is not None:
                    tail = (Path(outdir.name) / "out").read_text(errors="replace")[-1500:]
                    raise SystemExit(f"our simulator exited ({proc.returncode}):\n{tail}")
                one = run_row(group, script, port, args.seconds, extra, tree)
                if isinstance(one, str):
                    failed[label] = one
                else:
                    runs[label].append(one)
            if args.alternate:
                alternated.append(run_row("ours", ALTERNATE, port, args.seconds, [str(args.alternate)], ROOT))
    finally:
        stop(proc)
        outdir.cleanup()
    print(f"Single-tag reads (SCADA[1]) from our simulator on 127.0.0.1, median of {args.runs} alternating "
          f"runs x {args.seconds:g} s per row; client CPU = its process's user+system time")
    print(f"| {'client':<56} | {'reads/s':>10} | {'CPU us/read':>12} |")
    print(f"|{'-' * 58}|{'-' * 11}:|{'-' * 13}:|")
    for _, label, _, _, _ in chosen:
        if label in failed:
            print(f"| {label:<56} | {failed[label]} |")
            continue
        rate = statistics.median(r["reads"] / r["wall"] for r in runs[label])
        cpu = statistics.median(r["cpu"] / r["reads"] * 1e6 for r in runs[label])
        print(f"| {label:<56} | {rate:10.0f} | {cpu:12.1f} |", flush=True)
    if alternated:
        print_alternated(alternated, args.alternate)
    return 0


def print_alternated(runs: list[dict | str], rounds: int) -> None:
    """The in-process alternation's table: each run's medians, and the median of their ratios."""
    print(f"\nOur blocking connector and pylogix in one process, taking turns of 50 reads, {rounds} rounds per run "
          "(each turn's median):")
    print(f"| {'run':>3} | {'ours reads/s':>12} | {'pylogix reads/s':>15} | {'ours CPU us/read':>16} "
          f"| {'pylogix CPU us/read':>19} | {'CPU ours / pylogix':>18} |")
    print(f"|{'-' * 4}:|{'-' * 13}:|{'-' * 16}:|{'-' * 17}:|{'-' * 20}:|{'-' * 19}:|")
    ratios = []
    for number, one in enumerate(runs, 1):
        if isinstance(one, str):
            print(f"| {number:3d} | {one} |")
            continue
        ratios.append(one["ours"] / one["pylogix"])
        print(f"| {number:3d} | {1 / one['ours wall']:12.0f} | {1 / one['pylogix wall']:15.0f} "
              f"| {one['ours'] * 1e6:16.1f} | {one['pylogix'] * 1e6:19.1f} | {ratios[-1]:18.3f} |")
    if ratios:
        print(f"median CPU ratio {statistics.median(ratios):.3f} (below 1: ours spends less CPU per read)")

if __name__ == "__main__":
    sys.exit(main())
