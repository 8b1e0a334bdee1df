"""``python -m cpppo.server.enip.thruput``: how many tag operations per second a link and device give.

The documentation's throughput experiment: the same tags read (or written)
``--repeat`` times, first one request at a time (``--depth 0``, the native
round-trip rate of the route and device), then pipelined (``--depth 20``:
many requests in flight hide the latency) and packed (``--multiple 250``:
several operations per Multiple Service Packet).  Prints each result as it
arrives (``<time>: <request index>: <value>``) and then operations, requests,
seconds and TPS.

    python -m cpppo.server.enip.thruput -a controller --repeat 25 --depth 20 --multiple 250 Volume Temperature
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from cpppo.enip.client.connector import connector
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.tools.cli import parse_address
from cpppo.history import timestamp

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="thruput", description="EtherNet/IP tag I/O throughput")
    ap.add_argument("-d", "--depth", type=int, default=0, help="pipeline depth (default 0: one at a time)")
    ap.add_argument("-m", "--multiple", type=int, default=0, help="Multiple Service Packet size limit in bytes")
    ap.add_argument("-r", "--repeat", type=int, default=1, help="repeat the tags this many times")
    ap.add_argument("-a", "--address", default="localhost", help="host[:port] of the controller")
    ap.add_argument("-t", "--timeout", type=float, default=None, help="I/O timeout in seconds (default none)")
    ap.add_argument("tags", nargs="+", help="tags to read/write")
    args = ap.parse_args(argv)
    host, port = parse_address(args.address, ap)
    try:
        operations = list(parse_operations(args.tags * max(args.repeat, 0)))
    except ValueError as exc:
        ap.error(str(exc))
    try:
        with connector(host=host, port=port, timeout=args.timeout) as conn:
            begun = time.perf_counter()
            count, requests = 0, 0
            for idx, _dsc, _req, _rpy, _sts, val in conn.pipeline(operations, depth=args.depth,
                                                                   multiple=args.multiple, timeout=args.timeout):
                count += 1
                requests = idx + 1
                print(f"{timestamp()}: {idx:3d}: {val}")
            elapsed = time.perf_counter() - begun
    except Exception as exc:  # an unreachable host or a timeout: one line, not a traceback
        print(f"thruput: {host}:{port}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{count:3d} operations using {requests:3d} requests in {elapsed:7.2f}s at pipeline depth {args.depth:2d}; "
          f"{count / elapsed if elapsed else 0.0:5.1f} TPS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
