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
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from cpppo.enip.client.connector import connector
from cpppo.enip.client.errors import EncapsulationError
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.client.views import list_view
from cpppo.enip.codec.codes import Command
from cpppo.enip.codec.formatting import enip_format
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

__all__ = ["main", "parser", "recycle", "enip_format", "report_failure"]

log = logging.getLogger("enip.cli")  # (the original's name: its log lines print it)

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
    ap.add_argument("--no-print", action="store_false", dest="print", help="print no summary (the default)")
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
    ap.add_argument("--priority-time-tick", type=int, default=None, metavar="N",
                    help="Unconnected Send's tick: 2**N ms, N in 0-15 (default 10, as the priority/tick byte 0x0A)")
    ap.add_argument("--timeout-ticks", type=int, default=None, metavar="N",
                    help="Unconnected Send's timeout in ticks, 1-255 (default 14)")
    ap.add_argument("-L", "--legacy", default=None, metavar="COMMAND",
                    help="send a legacy encapsulation COMMAND (eg. 0x0001) with no data; print the reply")
    ap.add_argument("-P", "--profile", action="store_true",
                    help="profile the client (cProfile) and print the statistics after (cumulative and time)")
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


def _legacy_shown(view: Any) -> Any:
    """What the original prints of a legacy command's reply: its CPF items, or with none the reply."""
    items = view.get("enip.CIP.legacy.CPF")
    if items is not None and items.get("count"):
        return items
    shown = type(view)()
    for key, value in view.items():
        if not key.startswith("enip.CIP."):
            shown[key] = value
    return shown


def _lists(args: argparse.Namespace, host: str, port: int, conn: connector | None) -> int:
    """The -L/-s/-i/-I requests, in the original's order; returns the number that got no answer."""
    failures = 0
    legacy = int(args.legacy, 0) if args.legacy else None
    for flag, command, desc in (("legacy", legacy, f"Legacy 0x{legacy or 0:04X}"),
                                ("list_services", Command.LIST_SERVICES, "List Services"),
                                ("list_identity", Command.LIST_IDENTITY, "List Identity"),
                                ("list_interfaces", Command.LIST_INTERFACES, "List Interfaces")):
        if not getattr(args, flag) or command is None:
            continue
        if conn is None:
            from cpppo.enip.client.discovery import list_blocking
            replies = list_blocking(command, host, port, args.timeout, args.broadcast)
            views = [list_view(frame, peer) for frame, peer in replies]
        else:
            conn._issue(conn.core.list_request(command, args.timeout))  # (any command with no data)
            try:
                reply = next(conn)
            except EncapsulationError as error:  # a legacy command refused: the original shows the reply
                if error.frame is None or flag != "legacy":
                    raise
                reply = list_view(error.frame, conn.addr)
            views = [reply] if reply is not None else []
        for counter, view in enumerate(views):
            shown = _legacy_shown(view) if flag == "legacy" else view.get(f"enip.CIP.{flag}.CPF", view)
            print(f"{desc} {counter:2d} from {view.get('peer')!r}: {enip_format(shown)}")
        if not views:
            log.warning("No %s response w/in %7.3fs timeout", desc, args.timeout)
            failures += 1
    return failures


def _timing(args: argparse.Namespace, ap: argparse.ArgumentParser) -> tuple[int, int] | None:
    """Unconnected Send's (priority/tick, timeout ticks) from --priority-time-tick/--timeout-ticks."""
    tick, ticks = args.priority_time_tick, args.timeout_ticks
    if tick is None and ticks is None:
        return None
    if tick is not None and not 0 <= tick <= 15:
        ap.error(f"--priority-time-tick {tick}: 0 to 15")
    if ticks is not None and not 1 <= ticks <= 255:
        ap.error(f"--timeout-ticks {ticks}: 1 to 255")
    return (0x0A if tick is None else tick), (0x0E if ticks is None else ticks)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client; returns the exit status (0 only if every operation succeeded)."""
    ap = parser()
    args = ap.parse_args(argv)
    setup_logging(args)
    host, port = parse_address(args.address, ap)
    if args.repeat < 0 or args.depth < 0 or args.timeout <= 0:
        ap.error("--repeat and --depth must not be negative, --timeout must be positive")
    route_path, send_path = paths(args, ap)
    timing = _timing(args, ap)
    if args.legacy:
        try:
            int(args.legacy, 0)
        except ValueError:
            ap.error(f"--legacy {args.legacy!r} is not a command number (eg. 0x0001)")
    try:
        operations = list(parse_operations(recycle(stdin_tags(args.tags), args.repeat), route_path=route_path,
                                           send_path=send_path))
    except ValueError as exc:
        ap.error(str(exc))
    profiling = profiler(args.profile)
    try:
        failures = 0
        try:
            if args.udp or args.broadcast:
                failures += _lists(args, host, port, None)
                if not operations:
                    return 1 if failures else 0
            begun = time.perf_counter()
            with connector(host=host, port=port, timeout=args.timeout, route_path=route_path, send_path=send_path,
                           connected=args.connected, structures=True) as conn:
                elapsed = time.perf_counter() - begun
                log.normal("Connect:  Success in %7.3f/%7.3fs", elapsed, args.timeout)  # type: ignore[attr-defined]
                log.detail("Client Register Rcvd %7.3f/%7.3fs", elapsed, args.timeout)  # type: ignore[attr-defined]
                if timing is not None:
                    conn.core.unconnected_timing = timing
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
                    log.normal("Client Tag I/O  Average %7.3f TPS (%7.3fs ea).",  # type: ignore[attr-defined]
                               len(values) / elapsed, elapsed / len(values))  # (at -v, as the original logs it)
        except Exception as exc:
            return failure("enip_client", host, port, args.timeout, exc)
        return 1 if failures else 0
    finally:
        if profiling is not None:
            print_profile(profiling)
