#!/usr/bin/env python3
"""Where the simulator's CPU per read goes, in the process: each stage of a single-tag read, timed alone.

Why: ``server_bench`` measures the whole server (Twisted, the kernel and our code together) on a
noisy machine; this times our own share without sockets, so that a change to one layer shows in
that layer's line.  The protocol is fed SendRRData / Unconnected Send Read Tag ``SCADA[1]``
frames (each with a sender context of its own) through a ``StringTransport``, the service built
as ``twistd cpppo-enip SCADA=INT[1000]`` builds it; each stage is timed on its own (best of 5),
and ``all`` is the protocol's whole ``dataReceived``, its bookkeeping and the transport's write
included.  ``--profile`` adds cProfile's busiest functions over the whole path.

    python bench/server_profile.py [--number 20000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twisted.internet import task  # noqa: E402
from twisted.internet.address import IPv4Address  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

from bench.server_bench import SINGLE  # noqa: E402
from cpppo.enip.codec import cip, encap  # noqa: E402
from cpppo.enip.codec.epath import Logical, Port  # noqa: E402
from cpppo.enip.simulator import options, run  # noqa: E402
from cpppo.enip.simulator.server_protocol import EnipFactory  # noqa: E402


def best(fn: Callable[[], None], number: int) -> float:
    """Microseconds per iteration of *fn* (which runs *number* of them), the best of 5."""
    runs = []
    for _ in range(5):
        began = time.process_time()
        fn()
        runs.append(time.process_time() - began)
    return min(runs) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--number", type=int, default=20000, help="reads per timing (default 20000)")
    ap.add_argument("--profile", action="store_true", help="also print cProfile's busiest functions")
    args = ap.parse_args(argv)
    n = args.number
    parser = options.parser()
    service = run.build_service(options.configure(parser.parse_args(["SCADA=INT[1000]"]), parser), clock=task.Clock())
    peer = IPv4Address("TCP", "127.0.0.1", 5555)
    protocol = EnipFactory(service).buildProtocol(peer)
    transport = StringTransport(peerAddress=peer)
    protocol.makeConnection(transport)
    protocol.dataReceived(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession(1, 0))))
    session = int.from_bytes(transport.value()[4:8], "little")
    transport.clear()
    ucs = cip.Request(0x52, (Logical("class", 6), Logical("instance", 1)),
                      body=cip.UnconnectedSend(SINGLE.request, route=(Port(1, 0),)))
    data = encap.SendData((encap.NullAddress(), encap.UnconnectedData(ucs)))
    frames = [encap.encode_frame(encap.Frame(encap.SEND_RR_DATA, data, session, 0, struct.pack("<Q", i)))
              for i in range(64)]
    connection, link, handle = protocol.connection, protocol.link, protocol.handle
    connection.receive_data(frames[0])
    framed = connection.next_framed()
    frame = connection.decode(framed)
    reply = handle(frame, link)

    def framing() -> None:
        for i in range(n):
            connection.receive_data(frames[i & 63])
            connection.next_framed()
            connection.next_framed()  # (NEED_DATA: as the protocol asks, until it is told)

    def decoding() -> None:
        for _ in range(n):
            connection.decode(framed)

    def serving() -> None:
        for _ in range(n):
            handle(frame, link)

    def encoding() -> None:
        for _ in range(n):
            connection.send(reply)

    def everything() -> None:
        for i in range(n):
            protocol.dataReceived(frames[i & 63])
            transport.clear()

    print(f"A single-tag read in the process, microseconds (best of 5 x {n:,}; Python {sys.version.split()[0]})")
    for label, fn in (("framing (the DFA)", framing), ("decoding (the request's records)", decoding),
                      ("serving (dispatcher, router, tags)", serving), ("encoding the reply", encoding),
                      ("all (the protocol's dataReceived)", everything)):
        print(f"{label:<36} {best(fn, n):>7.2f}")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(everything)
        stats = pstats.Stats(profile)
        print(f"{stats.total_calls / n:.0f} Python calls per read")  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
