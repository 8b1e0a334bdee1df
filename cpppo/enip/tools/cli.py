"""What the client tools' command lines share: the address, the path options, standard input's tags,
logging, and the one-line reports of a failed session or operation.

Why one module: ``enip_client``, ``get_attribute``, ``list_identity``, ``thruput`` and ``io`` take
``-a host[:port]`` and report failures alike; each used to import these from ``enip_client``'s
private names.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from typing import Any

from twisted.internet import error

from cpppo.enip.client import plan
from cpppo.enip.client.errors import ConnectionClosed, EncapsulationError, RequestTimeout
from cpppo.enip.codec.codes import explain

__all__ = ["add_path_options", "paths", "parse_address", "stdin_tags", "failure", "report_failure",
           "setup_logging", "profiler", "print_profile"]


def add_path_options(ap: argparse.ArgumentParser) -> None:
    """--route-path, --send-path and -S/--simple, as every client tool takes them."""
    ap.add_argument("--route-path", default=None, help="route path, <port>/<link> or JSON; 0/false for none")
    ap.add_argument("--send-path", default=None, help="send path (default @6/1); '' for none")
    ap.add_argument("-S", "--simple", action="store_true", help="a simple (non-routing) device: plain requests")


def paths(args: argparse.Namespace, ap: argparse.ArgumentParser) -> tuple[Any, Any]:
    """(route_path, send_path) from those options: -S/--simple means none of either; a path that
    does not parse is a usage error (exit 2)."""
    route_path = args.route_path if args.route_path else ([] if args.simple else None)
    send_path = args.send_path if args.send_path is not None else ("" if args.simple else None)
    try:
        plan.route_path(route_path), plan.send_path(send_path)
    except ValueError as exc:
        ap.error(str(exc))
    return route_path, send_path


def parse_address(text: str, ap: argparse.ArgumentParser) -> tuple[str, int]:
    """``host[:port]`` (default port 44818); a bad port is a usage error (exit 2)."""
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    try:
        number = int(port) if port else 44818
    except ValueError:
        ap.error(f"--address {text!r}: bad port {port!r}")
    if not 0 < number < 65536:
        ap.error(f"--address {text!r}: port {number} out of range")
    return host or "localhost", number


def stdin_tags(tags: list[str]) -> Iterable[str]:
    """The command line's tags, with standard input's lines in place of a ``-`` argument."""
    if "-" not in tags:
        return tags
    at = tags.index("-")
    return itertools.chain(tags[:at], sys.stdin, tags[at + 1:])


def failure(prog: str, host: str, port: int, timeout: float, exc: BaseException) -> int:
    """Report a failed session (timeout, refused, closed, bad reply) as one line on stderr; the exit status."""
    if isinstance(exc, (TimeoutError, RequestTimeout, error.TimeoutError)):
        print(f"{prog}: {host}:{port}: timed out after {timeout:g}s ({exc})", file=sys.stderr)
    elif isinstance(exc, EncapsulationError) and exc.operation:
        print(f"{prog}: {exc.operation}: {exc} from {host}:{port}, a refusal of the whole request (the original "
              f"cpppo simulator's answer to a tag or service it does not know)", file=sys.stderr)
    elif isinstance(exc, (ConnectionError, ConnectionClosed, EncapsulationError, OSError)):
        print(f"{prog}: {host}:{port}: {exc}", file=sys.stderr)
    elif isinstance(exc, plan.FragmentRequired):
        print(f"{prog}: {exc}", file=sys.stderr)
    else:  # a connect failure from Twisted (ConnectionRefusedError, DNSLookupError...)
        print(f"{prog}: {host}:{port}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 1


def report_failure(prog: str, description: Any, status: Any) -> None:
    """One line on stderr for a failed operation: which operation, and what its status means.

    *status* is a result's: a general status, ``(general, [extended, ...])``, or None
    when no reply said why.
    """
    op = getattr(description, "op", None)
    count = op.get("elements") if op else None
    name = plan.format_path(op["path"], count if count and count > 1 else None) if op else str(description).split()[-1]
    if isinstance(status, tuple):
        why = explain(status[0], status[1])
    else:
        why = explain(status) if status else "failed, with no status to say why"
    print(f"{prog}: {name}: {why}", file=sys.stderr, flush=True)


class _ReportedHere(logging.Filter):
    """Drops the pipeline's own warning of a failed operation: the tool reports each one itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Client %s returned non-zero status")


def setup_logging(args: argparse.Namespace) -> None:
    """The original's logging: its line format (``cpppo.log_cfg``) and levels, ``-v`` for NORMAL,
    ``-vv`` DETAIL, ``-vvv`` INFO, ``-vvvv`` DEBUG; to ``--log FILE`` (rotating) or stderr."""
    from cpppo.misc import log_cfg, log_level

    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log:
        handlers = [logging.handlers.RotatingFileHandler(args.log, maxBytes=10 * 1024 * 1024, backupCount=5)]
    if not args.verbose:
        handlers[0].addFilter(_ReportedHere())
    logging.basicConfig(level=log_level(args.verbose), handlers=handlers, force=True,
                        format=log_cfg["format"], datefmt=log_cfg["datefmt"])


def profiler(wanted: bool) -> Any:
    """A started ``cProfile.Profile`` if *wanted* (the client tools' ``-P/--profile``), else None."""
    if not wanted:
        return None
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    return profile


def print_profile(profile: Any) -> None:
    """Stop *profile* and print what the original's ``-P`` prints: the 25 costliest calls by
    cumulative time, then by own time."""
    import io
    import pstats

    profile.disable()
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    for order in ("cumulative", "time"):
        stats.sort_stats(order)
        stats.print_stats(25)
    print(text.getvalue())
