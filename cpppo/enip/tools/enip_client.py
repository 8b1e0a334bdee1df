"""``enip_client`` / ``python -m cpppo.server.enip.client``: read and write tags from a shell.

The options, their defaults and the printed summary lines are the original
cpppo's (``SCADA[1][  1-1  ]+  0 == [0]: 'OK'``), so scripts that drive or parse
it keep working; the work is done by the blocking :class:`~cpppo.enip.client.connector.connector`
(a plain socket in this thread, driving the client's one sans-IO core).  A bad command line gets a usage message
and exit status 2; an unreachable host or a timeout is one line on standard
error and exit status 1, never a traceback; otherwise the exit status is 0
only if every operation succeeded.  Every failed operation, with ``-p`` or
without, also gets a line on standard error naming it and what its status
means (``enip_client: SCADA[5000]: 0xFF/0x2105 beyond the end of the tag``);
the ``-p`` lines keep the original's format, which scripts parse.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from cpppo.enip.client.connector import connector
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.client.views import list_view
from cpppo.enip.codec.codes import Command
from cpppo.enip.tools.cli import (
    add_path_options,
    failure,
    parse_address,
    paths,
    report_failure,
    setup_logging,
    stdin_tags,
)

__all__ = ["main", "parser", "recycle", "enip_format", "report_failure"]

log = logging.getLogger("cpppo.server.enip.client")

EPILOG = """\
Tags: Tag, Tag[<first>-<last>], Tag[<first>-<last>]+<byte offset>, with =<value>,... to write
(=(SINT|INT|DINT|LINT|REAL|LREAL|BOOL|SSTRING|STRING)<value>,... to cast), Motor.Speed, Grid[2,3],
Flags.5 (a bit), and numeric
@<class>/<instance>/<attribute>/<element> with JSON terms, eg. @4/5/{"connection":100}.
'-' reads tags from standard input.  The default send path is @6/1 and route path 1/0 (a Logix
in slot 0); -S (or --send-path='' --route-path=false) sends plain requests to a simple device.
"""


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="enip_client", description="An EtherNet/IP CIP client",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more logging (repeatable)")
    ap.add_argument("-a", "--address", default="localhost:44818", help="host[:port] (default localhost:44818)")
    ap.add_argument("-u", "--udp", action="store_true", help="send the list requests by UDP")
    ap.add_argument("-b", "--broadcast", action="store_true", help="UDP list requests to a broadcast address; "
                    "collect every answer within the timeout")
    ap.add_argument("-p", "--print", action="store_true", help="print a summary of each operation")
    ap.add_argument("--no-print", action="store_false", dest="print", help=argparse.SUPPRESS)
    ap.add_argument("-l", "--log", help="log to FILE (rotating, 10 MB, 5 copies)")
    ap.add_argument("-t", "--timeout", type=float, default=5.0, help="I/O timeout in seconds (default 5)")
    ap.add_argument("-r", "--repeat", type=int, default=1, help="repeat the operations N times (default 1)")
    add_path_options(ap)
    ap.add_argument("-m", "--multiple", action="store_true",
                    help="pack requests into Multiple Service Packets of up to 500 bytes")
    ap.add_argument("-d", "--depth", type=int, default=1, help="pipeline depth: requests in flight (default 1)")
    frag = ap.add_mutually_exclusive_group()
    frag.add_argument("-f", "--fragment", action="store_true", help="always use Read/Write Tag Fragmented")
    frag.add_argument("-n", "--no-fragment", action="store_true",
                      help="never use Read/Write Tag Fragmented (too large an operation fails)")
    ap.add_argument("-c", "--connected", action="store_true", help="connected messaging (Forward Open first)")
    ap.add_argument("-i", "--list-identity", action="store_true", help="List Identity")
    ap.add_argument("-s", "--list-services", action="store_true", help="List Services")
    ap.add_argument("-I", "--list-interfaces", action="store_true", help="List Interfaces")
    ap.add_argument("tags", nargs="*", help="tags to read/write ('-' reads them from standard input)")
    return ap


def recycle(items: Iterable[Any], times: int = 1) -> Iterator[Any]:
    """The items, *times* times over (remembered from the first pass)."""
    saved = []
    for item in items:
        saved.append(item)
        yield item
    for _ in range(times - 1):
        yield from saved


def enip_format(data: Any) -> str:
    """A dotdict as indented ``"key": value`` lines, as the original prints list replies."""
    if not hasattr(data, "keys"):
        return "{\n" + repr(data) + "\n}"
    lines = [f"    {json.dumps(key)}: {data[key]!r}," for key in sorted(data)]
    return "{\n" + "\n".join(lines) + "\n}"


def _lists(args: argparse.Namespace, host: str, port: int, conn: connector | None) -> int:
    """The -i/-s/-I requests; returns the number that got no answer."""
    failures = 0
    for flag, command, desc in (("list_services", Command.LIST_SERVICES, "List Services"),
                                ("list_identity", Command.LIST_IDENTITY, "List Identity"),
                                ("list_interfaces", Command.LIST_INTERFACES, "List Interfaces")):
        if not getattr(args, flag):
            continue
        name = flag
        if conn is None:
            from cpppo.enip.client.discovery import list_blocking
            replies = list_blocking(command, host, port, args.timeout, args.broadcast)
            views = [list_view(frame, peer) for frame, peer in replies]
        else:
            getattr(conn, flag)()
            reply = next(conn)
            views = [reply] if reply is not None else []
        for counter, view in enumerate(views):
            shown = enip_format(view.get(f"enip.CIP.{name}.CPF", view))
            print(f"{desc} {counter:2d} from {view.get('peer')!r}: {shown}")
        if not views:
            log.warning("No %s response within %.3fs", desc, args.timeout)
            failures += 1
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client; returns the exit status (0 only if every operation succeeded)."""
    ap = parser()
    args = ap.parse_args(argv)
    setup_logging(args)
    host, port = parse_address(args.address, ap)
    if args.repeat < 0 or args.depth < 0 or args.timeout <= 0:
        ap.error("--repeat and --depth must not be negative, --timeout must be positive")
    route_path, send_path = paths(args, ap)
    try:
        operations = list(parse_operations(recycle(stdin_tags(args.tags), args.repeat), route_path=route_path,
                                           send_path=send_path))
    except ValueError as exc:
        ap.error(str(exc))
    failures = 0
    try:
        if args.udp or args.broadcast:
            failures += _lists(args, host, port, None)
            if not operations:
                return 1 if failures else 0
        begun = time.perf_counter()
        with connector(host=host, port=port, timeout=args.timeout, route_path=route_path, send_path=send_path,
                       connected=args.connected, structures=True) as conn:
            log.info("Client Register Rcvd %7.3f/%7.3fs", time.perf_counter() - begun, args.timeout)
            if not (args.udp or args.broadcast):
                failures += _lists(args, host, port, conn)
            if operations:
                begun = time.perf_counter()
                values = []
                for _, dsc, _, _, sts, val in conn.operate(operations, depth=args.depth,
                                                           multiple=500 if args.multiple else 0,
                                                           fragment=args.fragment, no_fragment=args.no_fragment,
                                                           printing=args.print, timeout=args.timeout):
                    values.append(val)
                    if val is None:
                        failures += 1
                        report_failure("enip_client", dsc, sts)
                elapsed = time.perf_counter() - begun
                print(f"Client Tag I/O  Average {len(values) / elapsed:9.3f} TPS ({elapsed / len(values):7.3f}s ea).",
                      file=sys.stderr)
    except Exception as exc:
        return failure("enip_client", host, port, args.timeout, exc)
    return 1 if failures else 0
