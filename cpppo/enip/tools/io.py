"""``python -m cpppo.server.enip.io``: the documentation's example of ``connector.process``.

The smallest useful client script: parse a few operations (a fragmented DINT
write at a byte offset, a numeric attribute read, a tag range read), run them
through ``client.connector(...).process`` with a one second timeout and a
printed summary, and exit non-zero if any failed.  Start a simulator with
``python -m cpppo.server.enip Tag=DINT[10]`` first.

    python -m cpppo.server.enip.io [-a host[:port]] [tags ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cpppo.enip.client.connector import connector
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.tools.cli import parse_address

__all__ = ["main", "TAGS"]

#: The documentation's operations.
TAGS = ("Tag[0-9]+16=(DINT)4,5,6,7,8,9", "@0x2/1/1", "Tag[3-5]")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="io", description="EtherNet/IP connector.process example")
    ap.add_argument("-a", "--address", default="localhost", help="host[:port] (default localhost:44818)")
    ap.add_argument("-t", "--timeout", type=float, default=1.0, help="I/O timeout in seconds (default 1)")
    ap.add_argument("tags", nargs="*", default=list(TAGS), help="operations (default: the documentation's)")
    args = ap.parse_args(argv)
    host, port = parse_address(args.address, ap)
    try:
        operations = list(parse_operations(args.tags))
    except ValueError as exc:
        ap.error(str(exc))
    try:
        with connector(host=host, port=port, timeout=args.timeout) as connection:
            failures, _ = connection.process(operations=operations, depth=1, multiple=0, fragment=False,
                                             printing=True, timeout=args.timeout)
    except Exception as exc:  # an unreachable host or a timeout: one line, not a traceback
        print(f"io: {host}:{port}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
