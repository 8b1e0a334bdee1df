"""``python -m cpppo.server.enip.list_services``: what a device says it offers, by List Services.

Why: the original's ``list_services`` is the first thing its users run against a new device (does
it speak EtherNet/IP CIP over TCP?  which encapsulation versions?), optionally with its List
Identity (``-i``) and List Interfaces (``-I``); over TCP to one host, or (``-u``) by UDP, to a
broadcast address too (``-b``).  Each reply is printed as the original prints one (its ``enip_format``),
and the exit status is 0 only if every request was answered.

    python -m cpppo.server.enip.list_services [-a host[:port]] [-u [-b]] [-i] [-I] [-t 5]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from cpppo.enip.client.connector import connector
from cpppo.enip.client.discovery import list_blocking
from cpppo.enip.client.views import list_view
from cpppo.enip.codec.codes import Command
from cpppo.enip.codec.formatting import enip_format
from cpppo.enip.tools.cli import parse_address
from cpppo.misc import log_cfg, log_level

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="list_services", description="List Services (by default) on EtherNet/IP "
                                 "CIP device(s).")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="Display logging information.")
    ap.add_argument("-a", "--address", default="localhost:44818", help="EtherNet/IP interface[:port] to connect to "
                    "(default: 'localhost:44818')")
    ap.add_argument("-S", "--source-address", default=None, help="accepted, not used: the operating system picks "
                    "the local address")
    ap.add_argument("-u", "--udp", action="store_true", help="Use UDP/IP queries (default: False)")
    ap.add_argument("-b", "--broadcast", action="store_true", help="Allow multiple peers, and use of broadcast "
                    "address (default: False)")
    ap.add_argument("-i", "--list-identity", action="store_true", help="List Identity (default: False)")
    ap.add_argument("-I", "--list-interfaces", action="store_true", help="List Interfaces (default: False)")
    ap.add_argument("-t", "--timeout", type=float, default=5.0, help="EtherNet/IP timeout (default: 5s)")
    args = ap.parse_args(argv)
    logging.basicConfig(**dict(log_cfg, level=log_level(args.verbose)))
    host, port = parse_address(args.address, ap)
    commands = [Command.LIST_SERVICES]
    if args.list_identity:
        commands.append(Command.LIST_IDENTITY)
    if args.list_interfaces:
        commands.append(Command.LIST_INTERFACES)
    answered = 0
    try:
        if args.udp:
            for command in commands:
                replies = list_blocking(command, host, port, args.timeout, args.broadcast)
                answered += bool(replies)
                for frame, peer in replies:
                    print(enip_format(list_view(frame, peer)))
        else:
            with connector(host=host, port=port, timeout=args.timeout) as conn:
                requests = {Command.LIST_SERVICES: conn.list_services, Command.LIST_IDENTITY: conn.list_identity,
                            Command.LIST_INTERFACES: conn.list_interfaces}
                for command in commands:
                    requests[command](timeout=args.timeout)
                for _ in commands:
                    reply = next(conn)
                    if reply is None:
                        break
                    answered += 1
                    print(enip_format(reply))
    except Exception as exc:  # refused, reset, timed out: one line
        print(f"list_services: {host}:{port}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if answered < len(commands):
        print(f"list_services: {host}:{port}: {len(commands) - answered} of {len(commands)} requests "
              f"unanswered within {args.timeout:g}s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
