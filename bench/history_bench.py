"""Benchmark cpppo.history: events per second written and read, and peak memory while reading.

Why: recordings of a plant run for days; reading a million events must stream (constant memory)
and be quick enough to replay faster than real time.  Each phase runs in a fresh Python process,
so the peak resident memory it reports (``ru_maxrss``) belongs to that phase alone; "growth" is
the peak minus the process's size after its imports, i.e. what reading the file cost.

    python bench/history_bench.py                 # 1,000,000 events
    python bench/history_bench.py --events 200000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

T0 = 1400000000.0


def maxrss_kib() -> int:
    """This process's peak resident set size, in KiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def phase_write(path: str, events: int, flush: bool) -> dict[str, float]:
    """Write *events* register-style events to *path* with a logger."""
    from cpppo.history import logger

    before = maxrss_kib()
    start = time.perf_counter()
    with logger(path, flush=flush) as hst:
        hst.comment("history_bench: started recording")
        for i in range(events):
            hst.write({"write": [i & 0xFFFF, 1, 2, 3]}, now=T0 + i / 100, serial=["Tag_Name", [0, 3]])
    return {"seconds": time.perf_counter() - start, "count": events, "before": before, "peak": maxrss_kib(),
            "bytes": os.path.getsize(path)}


def phase_read(path: str) -> dict[str, float]:
    """Read every event of the series *path* with ``records``."""
    from cpppo.history import records

    before = maxrss_kib()
    start = time.perf_counter()
    count = 0
    for _ in records(path):
        count += 1
    return {"seconds": time.perf_counter() - start, "count": count, "before": before, "peak": maxrss_kib(),
            "bytes": os.path.getsize(path)}


def run_phase(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--phase", *args],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per file (default 1,000,000)")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        kind, path, *rest = args.phase
        result = phase_write(path, int(rest[0]), rest[1] == "flush") if kind == "write" else phase_read(path)
        print(json.dumps(result))
        return 0

    workdir = tempfile.mkdtemp(prefix="history-bench-")
    rows = []
    try:
        n = str(args.events)
        cases = [
            ("write plain, flush each", "write", "events.hst", [n, "flush"]),
            ("write gzip, flush each", "write", "events_f.hst.gz", [n, "flush"]),
            ("write gzip, buffered", "write", "events.hst.gz", [n, "buffered"]),
            ("read plain", "read", "events.hst", []),
            ("read gzip", "read", "events.hst.gz", []),
        ]
        for label, kind, name, rest in cases:
            result = run_phase(kind, os.path.join(workdir, name), *rest)
            rows.append((label, result))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"cpppo.history benchmark: {args.events:,} events; Python {sys.version.split()[0]}")
    print(f"| {'phase':<24} | {'events':>10} | {'seconds':>8} | {'events/s':>10} | {'file MiB':>8} "
          f"| {'peak RSS MiB':>12} | {'growth MiB':>10} |")
    print("|" + "-" * 26 + "|" + "|".join("-" * (w + 1) + ":" for w in (10, 8, 10, 8, 12, 10)) + "|")
    for label, r in rows:
        print(f"| {label:<24} | {int(r['count']):>10,} | {r['seconds']:>8.2f} | {r['count'] / r['seconds']:>10,.0f} "
              f"| {r['bytes'] / 2**20:>8.1f} | {r['peak'] / 1024:>12.1f} | {(r['peak'] - r['before']) / 1024:>10.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
