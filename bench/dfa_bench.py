#!/usr/bin/env python3
"""How fast does a cpppo DFA parse EtherNet/IP encapsulation headers?

Parses N 24-byte encapsulation headers (command UINT, length UINT, session
UDINT, status UDINT, context 8 bytes, options UDINT) three ways and prints
microseconds per header:

- baseline: a plain loop of ``struct.unpack_from`` into a dict of the six fields;
- dfa, one state: a machine whose one ``state_fields`` reads all six fields with
  one precompiled ``struct.Struct``;
- dfa, a state per field: six ``state_fields``, one per field.

Both DFA variants run incrementally, as the server runs them: a ``Feeder``
receives each header as its own chunk (one ``dataReceived`` per frame) and
hands back a completed ``dotdict``; a second column feeds all headers in
one chunk.  Usage: ``python bench/dfa_bench.py [--count N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cpppo  # noqa: E402

FIELDS = ("command", "length", "session_handle", "status", "sender_context", "options")
FORMAT = "<HHII8sI"


def make_headers(count: int) -> list[bytes]:
    pack = struct.Struct(FORMAT).pack
    return [pack(0x6F, 0, 0x12345678 + i, 0, i.to_bytes(8, "little"), 0) for i in range(count)]


def baseline(frames: list[bytes]) -> list[dict]:
    unpack_from = struct.Struct(FORMAT).unpack_from
    out = []
    for frame in frames:
        out.append(dict(zip(FIELDS, unpack_from(frame, 0))))
    return out


def one_state_machine() -> cpppo.dfa:
    header = cpppo.state_fields("header", FORMAT, FIELDS, terminal=True)
    return cpppo.dfa("enip", initial=header, terminal=True)


def per_field_machine() -> cpppo.dfa:
    formats = ("<H", "<H", "<I", "<I", "8s", "<I")
    states = [cpppo.state_fields(name, fmt, context=name) for name, fmt in zip(FIELDS, formats)]
    for before, after in zip(states, states[1:]):
        before[None] = after
    states[-1]._terminal = True
    return cpppo.dfa("enip", initial=states[0], terminal=True)


def run_feeder(machine: cpppo.dfa, frames: list[bytes], whole: bool) -> list:
    feeder = cpppo.Feeder(machine)
    out: list = []
    if whole:
        out.extend(feeder.feed(b"".join(frames)))
    else:
        feed = feeder.feed
        for frame in frames:
            out.extend(feed(frame))
    return out


def timed(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="headers to parse (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept (default 3)")
    args = parser.parse_args(argv)

    frames = make_headers(args.count)
    base_t, base_out = timed(lambda: baseline(frames), args.repeat)
    rows = [("baseline: struct.unpack_from loop", base_t, None)]
    for label, build in (("dfa, one state_fields for the header", one_state_machine),
                         ("dfa, one state_fields per field", per_field_machine)):
        machine = build()
        chunk_t, out = timed(lambda m=machine: run_feeder(m, frames, whole=False), args.repeat)
        whole_t, out_whole = timed(lambda m=machine: run_feeder(m, frames, whole=True), args.repeat)
        # The parsers must agree with the baseline, or their speed means nothing.
        assert len(out) == len(out_whole) == len(base_out)
        for got, want in ((out[0], base_out[0]), (out[-1], base_out[-1]), (out_whole[-1], base_out[-1])):
            assert dict(got) == want, (got, want)
        rows.append((label, chunk_t, whole_t))

    per = 1e6 / args.count
    print(f"{args.count:,} EtherNet/IP encapsulation headers, best of {args.repeat} (Python {sys.version.split()[0]})")
    print(f"{'parser':<40} {'us/header':>10} {'x baseline':>11} {'us/header (one chunk)':>22}")
    for label, t, whole in rows:
        whole_s = f"{whole * per:>22.2f}" if whole is not None else f"{'':>22}"
        print(f"{label:<40} {t * per:>10.2f} {t / base_t:>11.2f} {whole_s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
