#!/usr/bin/env python3
"""The floor for a Twisted EtherNet/IP server: what a reply costs when nothing is parsed.

Why: an EtherNet/IP server on Twisted pays for the reactor, the socket calls
and framing on every request whatever it does with the request; this server
pays only that.  It frames by the encapsulation header's length, answers
RegisterSession with a session handle, and answers every other frame with
one canned Read Tag reply (INT, value 0), echoing the command, session and
sender context.  What a real server costs above this is its own parsing and
service work (``bench/server_bench.py`` compares them in one run).

    python bench/floor_twisted.py [PORT]     # PORT 0 (the default): the OS chooses

It prints ``Network TCP Server address = ('127.0.0.1', PORT)`` once listening,
the same line the simulators print with ``-A``.
"""

from __future__ import annotations

import struct
import sys

from twisted.internet import protocol

HEADER = struct.Struct("<HHII8sI")
REGISTER_SESSION = 0x65
SESSION = 0x1234
#: A Read Tag reply: service 0xCC, status 0, type INT (0x00C3), value 0.
REPLY_CIP = bytes((0xCC, 0, 0, 0, 0xC3, 0x00, 0x00, 0x00))
#: SendRRData data: interface handle, timeout, 2 items (null address, unconnected data).
REPLY_CPF = struct.pack("<IHH", 0, 0, 2) + struct.pack("<HH", 0, 0) + struct.pack("<HH", 0xB2, len(REPLY_CIP)) \
    + REPLY_CIP


class Floor(protocol.Protocol):
    """Frames by length; one canned answer per frame."""

    def connectionMade(self) -> None:
        self.buffer = b""
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data: bytes) -> None:
        buffer = self.buffer + data
        out = []
        while len(buffer) >= 24:
            length = struct.unpack_from("<H", buffer, 2)[0]
            if len(buffer) < 24 + length:
                break
            command, _, session, _, context, _ = HEADER.unpack_from(buffer)
            buffer = buffer[24 + length:]
            if command == REGISTER_SESSION:
                out.append(HEADER.pack(command, 4, SESSION, 0, context, 0) + struct.pack("<HH", 1, 0))
            else:
                out.append(HEADER.pack(command, len(REPLY_CPF), session, 0, context, 0) + REPLY_CPF)
        self.buffer = buffer
        if out:
            self.transport.write(b"".join(out))


def main(argv: list[str] | None = None) -> int:
    """Listen on 127.0.0.1:PORT (default 0) and serve until interrupted."""
    from twisted.internet import reactor

    args = sys.argv[1:] if argv is None else argv
    port = reactor.listenTCP(int(args[0]) if args else 0, protocol.Factory.forProtocol(Floor),
                             interface="127.0.0.1")
    print(f"Network TCP Server address = {('127.0.0.1', port.getHost().port)!r}", flush=True)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
