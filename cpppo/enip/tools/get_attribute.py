"""``enip_get_attribute`` / ``python -m cpppo.server.enip.get_attribute``: CIP attributes from a shell.

Devices that are not Logix controllers (drives, I/O adapters, sensors) have
no tags; their data are numbered CIP attributes, read with Get Attribute
Single (``@1/1/7``: class 1, instance 1, attribute 7), Get Attributes All
(``@1/1``: a whole instance) and written with Set Attribute Single
(``'@1/1/7=(SSTRING)name'``; values are SINT unless cast).  The lines printed
are the original's (``<time>:   0: Single G_A_S      @0x0001/1/7 == [20, 49, ...]``):
the raw bytes as integers; ``--decode TYPE`` adds the value decoded as that
CIP type.  A failed request also gets a line on standard error naming it and
what its status means (``enip_get_attribute: @0x0001/1/99: 0x14 attribute not
supported (no such attribute)``).  Runs on the blocking :class:`.connector.connector`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from cpppo.enip.client.connector import connector
from cpppo.enip.client.operations import attribute_operations
from cpppo.enip.codec import types
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.enip.tools.cli import (
    add_path_options,
    failure,
    parse_address,
    paths,
    print_profile,
    profiler,
    report_failure,
    setup_logging,
    stdin_tags,
)

__all__ = ["attribute_operations", "main", "proxy", "proxy_simple"]

log = logging.getLogger("enip.get")  # (the original's names: its log lines print them)
_client_log = logging.getLogger("enip.cli")


def decoded(value: Any, type_name: str) -> Any:
    """Raw attribute bytes (a list of ints) decoded as a CIP type; the error text if they do not decode."""
    try:
        kind = types.type_of(type_name)
        data = bytes(v & 0xFF for v in value)
        return kind.decode(data) if kind.size else types.decode_string(data, kind)[0]
    except (LocalProtocolError, RemoteProtocolError, TypeError, ValueError) as exc:
        return f"<not {type_name}: {exc}>"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="enip_get_attribute",
                                 description="EtherNet/IP Get Attribute Single/All and Set Attribute Single")
    ap.add_argument("-a", "--address", default="localhost:44818", help="host[:port] (default localhost:44818)")
    ap.add_argument("--print", action="store_true", default=True, help="print each result (the default)")
    ap.add_argument("--no-print", action="store_false", dest="print", help="do not print the results")
    ap.add_argument("-m", "--multiple", action="store_true", help="Multiple Service Packets of up to 500 bytes")
    ap.add_argument("-d", "--depth", type=int, default=0, help="pipeline depth")
    ap.add_argument("-t", "--timeout", type=float, default=5.0, help="I/O timeout in seconds (default 5)")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    ap.add_argument("-l", "--log", help="log to FILE")
    add_path_options(ap)
    ap.add_argument("-D", "--decode", metavar="TYPE", help="also show each value decoded as TYPE (eg. SSTRING)")
    ap.add_argument("-P", "--profile", action="store_true",
                    help="profile the tool (cProfile) and print the statistics after (cumulative and time)")
    ap.add_argument("tags", nargs="+", help="@class/instance[/attribute][=value,...] ('-' reads standard input)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; returns the exit status (0 only if every operation succeeded)."""
    ap = parser()
    args = ap.parse_args(argv)
    setup_logging(args)
    host, port = parse_address(args.address, ap)
    route_path, send_path = paths(args, ap)
    if args.decode:
        try:
            types.type_of(args.decode)
        except LocalProtocolError as exc:
            ap.error(str(exc))
    try:
        operations = list(attribute_operations(stdin_tags(args.tags), route_path=route_path, send_path=send_path))
    except ValueError as exc:
        ap.error(str(exc))
    profiling = profiler(args.profile)
    try:
        return _run(args, host, port, route_path, send_path, operations)
    finally:
        if profiling is not None:
            print_profile(profiling)


def _run(args: argparse.Namespace, host: str, port: int, route_path: Any, send_path: Any, operations: list) -> int:
    """Connect and do the operations, printing each; the exit status."""
    failures, idx = 0, -1
    try:
        begun = time.perf_counter()
        with connector(host=host, port=port, timeout=args.timeout, route_path=route_path,
                       send_path=send_path) as conn:
            _client_log.normal("Connect:  Success in %7.3f/%7.3fs",  # type: ignore[attr-defined]
                               time.perf_counter() - begun, args.timeout)
            begun = time.perf_counter()
            for idx, dsc, _req, _rpy, sts, val in conn.pipeline(operations, depth=args.depth,
                                                                multiple=500 if args.multiple else 0,
                                                                timeout=args.timeout):
                if args.print:
                    line = f"{time.ctime()}: {idx:3d}: {dsc} == {val}"
                    if args.decode and isinstance(val, list):
                        line += f": {decoded(val, args.decode)!r}"
                    print(line, flush=True)
                if sts:  # the original's ``== None`` line says nothing of why: this line does
                    failures += 1
                    report_failure("enip_get_attribute", dsc, sts)
            elapsed = time.perf_counter() - begun
            log.normal("%3d requests in %7.3fs at pipeline depth %2s; %7.3f TPS",  # type: ignore[attr-defined]
                       idx + 1, elapsed, args.depth, (idx + 1) / elapsed if elapsed else 0.0)
    except Exception as exc:
        return failure("enip_get_attribute", host, port, args.timeout, exc)
    return 1 if failures else 0


# The device proxies live in their own module (which needs attribute_operations, above).
from cpppo.enip.tools.proxy import proxy, proxy_simple  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
