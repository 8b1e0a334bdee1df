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
from typing import Sequence

from cpppo import blocking
from cpppo.enip.codec import encap
from cpppo.enip.tools.enip_client import _address
from cpppo.enip.client.discovery import list_udp

__all__ = ["main", "describe"]


def describe(item: encap.IdentityItem, peer: tuple[str, int]) -> str:
    """One device's line."""
    major, minor = item.revision
    return (f"{peer[0]}:{peer[1]}: vendor {item.vendor_id}, device type {item.device_type}, product code "
            f"{item.product_code}, revision {major}.{minor}, serial 0x{item.serial_number:08X}, "
            f"state {item.state}, status 0x{item.status:04X}: {item.product_name!r}")


def _tcp(host: str, port: int, timeout: float) -> list:
    from cpppo.enip.client.deferred import connect

    def ask(client: object) -> object:
        d = client.list_identity()  # type: ignore[attr-defined]

        def done(item: object) -> object:
            return client.close().addCallback(lambda _: [(item, (host, port))])  # type: ignore[attr-defined]
        return d.addCallback(done)
    return blocking.call(lambda: connect(host, port, timeout=timeout, reactor=blocking.get_reactor()).addCallback(ask),
                         timeout=timeout * 3 + 1)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="list_identity", description="EtherNet/IP List Identity")
    ap.add_argument("-a", "--address", default="255.255.255.255", help="host or broadcast address[:port]")
    ap.add_argument("-b", "--broadcast", action="store_true", help="collect every answer within the timeout "
                    "(implied by a .255 address)")
    ap.add_argument("-t", "--timeout", type=float, default=1.0, help="seconds to wait (default 1)")
    ap.add_argument("--tcp", action="store_true", help="ask one host over TCP instead of UDP")
    args = ap.parse_args(argv)
    host, port = _address(args.address, ap)
    broadcast = args.broadcast or host.endswith(".255")
    try:
        if args.tcp:
            found = _tcp(host, port, args.timeout)
        else:
            replies = blocking.call(list_udp, encap.LIST_IDENTITY, host, port, args.timeout, broadcast,
                                    blocking.get_reactor(), timeout=args.timeout + 5)
            found = [(item, peer) for frame, peer in replies for item in getattr(frame.body, "items", ())
                     if isinstance(item, encap.IdentityItem)]
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
