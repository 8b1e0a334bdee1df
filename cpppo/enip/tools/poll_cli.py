"""``python -m cpppo.server.enip.poll``: the original's command line for polling a device's parameters.

Why here: the original's ``poll`` module was also a tool (its ``--help`` shows how to poll a
PowerFlex or, with ``--pass-thru``, a controller's tags); the polling loop itself stays in
:mod:`.poll`, and this module only turns the original's flags into one ``poll(...)`` call, printing
``<parameter>: <value>`` lines until Control-C.
"""

from __future__ import annotations

import argparse
import importlib
import json
from typing import Any

from cpppo.enip.tools.cli import parse_address, setup_logging
from cpppo.enip.tools.poll import log, poll

__all__ = ["main"]

EPILOG = """\
Poll one or more EtherNet/IP CIP Tags or named parameters (CIP Object/Instance/Attributes of the
gateway's PARAMETERS, see cpppo.server.enip.ab) every cycle; with --pass-thru, a name that is not a
parameter is read as a Tag or a CIP address:

    python -m cpppo.server.enip.poll -v --pass-thru 'This.SCADA[0-9]' 'That.Something'
"""


def parser() -> argparse.ArgumentParser:
    """The original's flags, with its defaults."""
    ap = argparse.ArgumentParser(prog="python -m cpppo.server.enip.poll", epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 description="Poll Parameters from CIP Device via proxy gateway "
                                             "(AB PowerFlex 750, by default)")
    ap.add_argument("-v", "--verbose", default=0, action="count", help="Display logging information.")
    ap.add_argument("-a", "--address", default="localhost:44818",
                    help="Address of EtherNet/IP CIP device to connect to (default: localhost:44818)")
    ap.add_argument("-c", "--cycle", type=float, default=None, help="Poll cycle (default: 1)")
    ap.add_argument("-t", "--timeout", type=float, default=None, help="I/O timeout (default: 1)")
    ap.add_argument("--route-path", default=None,
                    help="Route Path, in JSON (default: '\"1/0\"'); 0/false to specify no/empty route_path")
    ap.add_argument("--send-path", default=None,
                    help="Send Path to UCMM (default: @6/1); Specify an empty string '' for no Send Path")
    ap.add_argument("-S", "--simple", action="store_true", default=False,
                    help="Access a simple (non-routing) EtherNet/IP CIP device (eg. MicroLogix)")
    ap.add_argument("-m", "--multiple", action="store_true",
                    help="Use Multiple Service Packet request targeting ~500 bytes (default: False)")
    ap.add_argument("-d", "--depth", type=int, default=None, help="Pipeline requests to this depth (default: 2)")
    ap.add_argument("-g", "--gateway", default="ab.powerflex_750_series",
                    help="Proxy gateway module.class, a module of cpppo.server.enip "
                         "(default: ab.powerflex_750_series)")
    ap.add_argument("-p", "--pass-thru", action="store_true",
                    help="Allow unrecognized parameters as Tags, CIP addresses (default: False)")
    ap.add_argument("-l", "--log", default=None, help="log to this file (rotated), not to standard error")
    ap.add_argument("parameter", nargs="*", help="Parameters to read")
    return ap


def gateway(name: str, ap: argparse.ArgumentParser) -> Any:
    """The proxy class named ``module.class`` under ``cpppo.server.enip``; a bad name is a usage error."""
    module, _, cls = name.rpartition(".")
    try:
        return getattr(importlib.import_module("." + module, package="cpppo.server.enip"), cls)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        ap.error(f"--gateway {name!r}: no such proxy class ({exc})")


def main(argv: list[str] | None = None) -> int:
    """Poll until Control-C (exit 0); a failure to poll is logged and retried, as the original did."""
    ap = parser()
    args = ap.parse_args(argv)
    setup_logging(args)
    proxy_class = gateway(args.gateway, ap)
    try:
        route_path = json.loads(args.route_path) if args.route_path else ([] if args.simple else None)
    except ValueError:
        route_path = args.route_path  # the <port>/<link> form, as the other tools take it
    send_path = args.send_path if args.send_path else ("" if args.simple else None)
    try:
        poll(proxy_class, address=parse_address(args.address, ap), depth=args.depth,
             multiple=500 if args.multiple else 0, timeout=args.timeout, params=args.parameter,
             pass_thru=args.pass_thru, cycle=args.cycle, route_path=route_path, send_path=send_path)
    except KeyboardInterrupt as exc:
        log.info("Terminated normally due to %r", exc)
    return 0
