#!/usr/bin/env python3
"""The program's cost: scan time of a generated 1,000-rung ladder program, and what it adds to a client's read.

Why: a simulator that runs the user's program must still answer clients as
fast as one that does not; a scan is on the reactor thread, so it either fits
between requests or it delays them.  Two measurements:

1. **Scan time alone**, in this process: the generated program (1,000 rungs
   mixing issue 24's instructions: bits, timers, counters, compares, math,
   moves, copies, branches) compiled against a controller on a fake clock,
   scanned ``--scans`` times, 10 ms of clock apart; median and 99th percentile
   of the CPU time of one scan (this thread's).  Goal: under 2 ms.
2. **Server CPU per read**: our simulator (``python -m cpppo.server.enip
   --l5x program.L5X``) as a subprocess, three ways, alternated in rounds:
   ``program`` (``--logic program``: the same tags, nothing scanning) with a
   client reading 1,000 tags/s; ``scans alone`` (``--logic run``, no client);
   ``run`` (``--logic run``) with the same client.  CPU is utime + stime from
   ``/proc/PID/stat``.  The figure of merit is (CPU of ``run`` less the CPU of
   ``scans alone`` over as long) per read, against ``program``'s CPU per read:
   goal within 1.1x.  No other simulator runs a Logix program to set beside it.

The client is one raw-socket connection (Register Session, then single Read
Tag requests in Unconnected Send), paced to ``--rate`` reads per second over
a rotation of 1,000 different tags and elements.

    python bench/logic_bench.py [--rungs 1000] [--seconds 5] [--runs 3] [--rate 1000]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds, recv_exact  # noqa: E402
from bench.server_bench import Subprocess, read_tag, send_rr_data  # noqa: E402
from cpppo.enip.codec import encap  # noqa: E402

#: Tag arrays of the generated program (and their sizes).
BITS, INTS, REALS, TIMERS, COUNTERS = 1024, 1000, 200, 100, 100


# --- the program ---------------------------------------------------------------------------

def rung(i: int) -> str:
    """Rung *i* of the generated program: ten kinds in turn, on elements spread over the arrays."""
    b, n, r, k = i % (BITS - 4), i % (INTS - 3), i % (REALS - 1), i % TIMERS
    return (
        f"XIC(Bits[{b}])TON(Timers[{k}],?,?);",
        f"XIC(Timers[{k}].DN)CTU(Counters[{k}],?,?);",
        f"XIC(Bits[{b}])XIO(Bits[{b + 1}])OTE(Bits[{b + 2}]);",
        f"GRT(Ints[{n}],Ints[{n + 1}])MOV(Ints[{n}],Ints[{n + 2}]);",
        f"ADD(Ints[{n}],1,Ints[{n}]);",
        f"[XIC(Bits[{b}]) ,LIM(0,Ints[{n}],100) ]OTE(Bits[{b + 3}]);",
        f"MUL(Reals[{r}],1.5,Reals[{r + 1}]);",
        f"EQU(Ints[{n}],5)OTL(Bits[{b}]);",
        f"DIV(Ints[{n}],3,Ints[{n + 1}])COP(Ints[{n}],Ints[{n + 2}],1);",
        f"XIC(Counters[{k}].DN)RES(Counters[{k}]);",
    )[i % 10]


def generate(path: Path, rungs: int) -> None:
    """A controller export: the tag arrays, one program of *rungs* rungs in a continuous task."""
    def tag(name: str, kind: str, dims: int) -> str:
        return f'<Tag Name="{name}" TagType="Base" DataType="{kind}" Dimensions="{dims}" ExternalAccess="Read/Write"/>'
    body = "\n".join(f'<Rung Number="{i}" Type="N">\n<Text>\n<![CDATA[{rung(i)}]]>\n</Text>\n</Rung>'
                     for i in range(rungs))
    path.write_text(f'''<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<RSLogix5000Content SchemaRevision="1.0" SoftwareRevision="32.00" TargetName="Bench" TargetType="Controller">
<Controller Use="Target" Name="Bench" ProcessorType="1756-L83E">
<DataTypes/>
<Tags>
{tag("Bits", "BOOL", BITS)}
{tag("Ints", "DINT", INTS)}
{tag("Reals", "REAL", REALS)}
{tag("Timers", "TIMER", TIMERS)}
{tag("Counters", "COUNTER", COUNTERS)}
</Tags>
<Programs>
<Program Name="Bench" MainRoutineName="Main" Disabled="false">
<Routines>
<Routine Name="Main" Type="RLL">
<RLLContent>
{body}
</RLLContent>
</Routine>
</Routines>
</Program>
</Programs>
<Tasks>
<Task Name="Main" Type="CONTINUOUS" Priority="10" Watchdog="500" InhibitTask="false">
<ScheduledPrograms><ScheduledProgram Name="Bench"/></ScheduledPrograms>
</Task>
</Tasks>
</Controller>
</RSLogix5000Content>
''')


def scan_times(path: Path, scans: int) -> list[float]:
    """CPU seconds of each of *scans* scans of the program, in this process, on a fake clock.

    CPU time of this thread (``time.thread_time``), not wall time: on a machine shared with other
    work, the time a scan waits for a core is not the scan's."""
    from twisted.internet.task import Clock

    from cpppo.enip.simulator import options, run

    clock = Clock()
    ap = options.parser()
    settings = options.configure(ap.parse_args(["--no-config", "--l5x", str(path), "--logic", "program"]), ap)
    logic = run.build_service(settings, clock=clock).controller.logic
    problems = logic.statistics.problems
    if problems:
        raise RuntimeError(f"the generated program does not compile: {problems[0]}")
    logic.set_mode("run")
    logic.stop()  # (scanned here, not by the clock)
    task = logic.tasks[0]
    times = []
    for _ in range(scans):
        clock.advance(0.010)
        began = time.thread_time()
        logic.scan(task)
        times.append(time.thread_time() - began)
    return times


# --- the client and the server runs ---------------------------------------------------------

def requests(session: int) -> list[bytes]:
    """1,000 Read Tag requests over the program's tags (elements of each array in turn)."""
    names = [("Ints", INTS), ("Reals", REALS)]
    frames = []
    for i in range(1000):
        name, size = names[i % 2]
        frames.append(send_rr_data(read_tag(name, i % size), session))
    return frames


def paced_reads(port: int, rate: float, seconds: float) -> int:
    """One connection reading at *rate* per second for *seconds*; the number of replies received."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.sendall(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession(1, 0))))
        head = recv_exact(sock, 24)
        recv_exact(sock, int.from_bytes(head[2:4], "little"))
        session = int.from_bytes(head[4:8], "little")
        frames = requests(session)
        began, done = time.monotonic(), 0
        while True:
            due = began + done / rate
            now = time.monotonic()
            if now - began >= seconds:
                return done
            if due > now:
                time.sleep(due - now)
            sock.sendall(frames[done % len(frames)])
            head = recv_exact(sock, 24)
            body = recv_exact(sock, int.from_bytes(head[2:4], "little"))
            if head[8:12] != b"\0\0\0\0" or not body:
                raise RuntimeError("a read failed")
            done += 1
    finally:
        sock.close()


def server(path: Path, mode: str) -> Subprocess:
    return Subprocess([sys.executable, "-m", "cpppo.server.enip", "--no-config", "-a", "127.0.0.1:0", "-A",
                       "--l5x", str(path), "--logic", mode])


def measure(path: Path, mode: str, rate: float, seconds: float) -> tuple[float, int, float]:
    """CPU seconds of a server in *mode* over *seconds* (with a client at *rate*, or none if 0): cpu, reads, s."""
    proc = server(path, mode)
    try:
        time.sleep(0.5)  # (past start-up and the first scans)
        before, began = cpu_seconds(proc.pid), time.monotonic()
        if rate:
            result: list[int] = []
            reader = threading.Thread(target=lambda: result.append(paced_reads(proc.port, rate, seconds)))
            reader.start()
            reader.join()
            reads = result[0] if result else 0
        else:
            time.sleep(seconds)
            reads = 0
        return cpu_seconds(proc.pid) - before, reads, time.monotonic() - began
    finally:
        proc.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rungs", type=int, default=1000)
    ap.add_argument("--scans", type=int, default=500, help="scans timed in process (default 500)")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of each server run (default 5)")
    ap.add_argument("--runs", type=int, default=3, help="rounds of the three server runs (default 3)")
    ap.add_argument("--rate", type=float, default=1000.0, help="client reads per second (default 1000)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="logic-bench-") as folder:
        path = Path(folder) / "program.L5X"
        generate(path, args.rungs)
        medians: list[float] = []
        p99s: list[float] = []
        rows: dict[str, list[tuple[float, int, float]]] = {"program": [], "scans alone": [], "run": []}
        for _ in range(args.runs):  # (each round: the scans timed, then the three server runs)
            times = sorted(scan_times(path, args.scans))
            medians.append(statistics.median(times))
            p99s.append(times[int(len(times) * 0.99) - 1])
            rows["program"].append(measure(path, "program", args.rate, args.seconds))
            rows["scans alone"].append(measure(path, "run", 0, args.seconds))
            rows["run"].append(measure(path, "run", args.rate, args.seconds))
    print(f"scan of {args.rungs} rungs (in process, {args.scans} scans a round, CPU time): median "
          f"{statistics.median(medians) * 1e3:.3f} ms (rounds {min(medians) * 1e3:.3f} to {max(medians) * 1e3:.3f}), "
          f"99th percentile {statistics.median(p99s) * 1e3:.3f} ms; goal < 2 ms")
    scans_per_s = statistics.median(cpu / elapsed for cpu, _, elapsed in rows["scans alone"])
    idle = statistics.median(cpu * 1e6 / reads for cpu, reads, _ in rows["program"])
    added = statistics.median((cpu - scans_per_s * elapsed) * 1e6 / reads for cpu, reads, elapsed in rows["run"])
    print()
    print(f"{'server':<34}{'reads/s':>10}{'CPU %':>8}{'CPU us/read':>14}")
    for label, runs in rows.items():
        rate = statistics.median(reads / elapsed for _, reads, elapsed in runs)
        share = statistics.median(cpu / elapsed for cpu, _, elapsed in runs) * 100
        per = statistics.median(cpu * 1e6 / reads for cpu, reads, _ in runs) if rate else float("nan")
        print(f"{label:<34}{rate:>10.0f}{share:>8.1f}{per:>14.1f}")
    print(f"{'run, less the scans alone':<34}{'':>10}{'':>8}{added:>14.1f}")
    print(f"\nCPU per read with the program running (less its scans) / without: {added / idle:.2f}x "
          f"(goal <= 1.1x); medians of {args.runs} rounds of {args.seconds:g} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
