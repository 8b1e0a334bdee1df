"""``python -m cpppo.server.enip.list_identity``: who is there, by List Identity.

Finding devices is the first thing done on a new network: a List Identity
request by UDP to one host or a broadcast address (every device answers),
or over TCP to one host.  Prints one line per answering device (address,
vendor, product code, revision, serial number, product name) and exits 0 if
any answered.

    python -m cpppo.server.enip.list_identity [-a host[:port]] [-b] [-t 1.0] [--tcp]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from cpppo.enip.client.connector import connector
from cpppo.enip.client.discovery import list_blocking
from cpppo.enip.client.views import identity_view
from cpppo.enip.codec import encap
from cpppo.enip.codec.codes import Command
from cpppo.enip.tools.cli import parse_address

__all__ = ["main", "describe"]


def describe(item: Any, peer: tuple[str, int]) -> str:
    """One device's line, from an identity (the original's dotdict, or the codec's IdentityItem)."""
    if isinstance(item, encap.IdentityItem):
        item = identity_view(item)
    major, minor = item.product_revision & 0xFF, item.product_revision >> 8
    return (f"{peer[0]}:{peer[1]}: vendor {item.vendor_id}, device type {item.device_type}, product code "
            f"{item.product_code}, revision {major}.{minor}, serial 0x{item.serial_number:08X}, "
            f"state {item.state}, status 0x{item.status_word:04X}: {item.product_name!r}")


def _tcp(host: str, port: int, timeout: float) -> list:
    """List Identity over one TCP session (the blocking connector: no reactor for one request)."""
    with connector(host=host, port=port, timeout=timeout) as conn:
        conn.list_identity()
        reply = next(conn)
    if reply is None:
        return []
    return [(item.identity_object, (host, port)) for item in reply.enip.CIP.list_identity.CPF.get("item", [])
            if "identity_object" in item]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="list_identity", description="EtherNet/IP List Identity")
    ap.add_argument("-a", "--address", default="255.255.255.255", help="host or broadcast address[:port]")
    ap.add_argument("-b", "--broadcast", action="store_true", help="collect every answer within the timeout "
                    "(implied by a .255 address)")
    ap.add_argument("-t", "--timeout", type=float, default=1.0, help="seconds to wait (default 1)")
    ap.add_argument("--tcp", action="store_true", help="ask one host over TCP instead of UDP")
    args = ap.parse_args(argv)
    host, port = parse_address(args.address, ap)
    broadcast = args.broadcast or host.endswith(".255")
    try:
        if args.tcp:
            found = _tcp(host, port, args.timeout)
        else:
            replies = list_blocking(Command.LIST_IDENTITY, host, port, args.timeout, broadcast)
            found = [(identity_view(item), peer) for frame, peer in replies
                     for item in getattr(frame.body, "items", ()) if isinstance(item, encap.IdentityItem)]
    except Exception as exc:  # unreachable, refused, timed out: one line
        print(f"list_identity: {host}:{port}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for item, peer in found:
        print(describe(item, peer))
    if not found:
        print(f"list_identity: no answer from {host}:{port} within {args.timeout:g}s", file=sys.stderr)
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
