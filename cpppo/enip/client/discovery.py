"""List Identity / List Services / List Interfaces over UDP, unicast or broadcast.

Devices answer these encapsulation commands on UDP port 44818 without a
session, which is how tools find controllers on a network: one datagram out
(to a host, or to a broadcast address), every answer collected until the
timeout (broadcast) or the first answer (unicast).  The frames are built and
parsed by the codec (:mod:`cpppo.enip.codec.encap`); this module is only the
datagram plumbing: :func:`list_udp` on a Twisted reactor, :func:`list_blocking`
on a plain socket for the command-line tools (no reactor to start for one
datagram).
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from twisted.internet import defer, protocol

from cpppo.enip.codec import encap
from cpppo.enip.codec.errors import RemoteProtocolError

__all__ = ["list_udp", "list_blocking"]

log = logging.getLogger(__name__)


class _Collector(protocol.DatagramProtocol):
    def __init__(self, data: bytes, target: tuple[str, int], broadcast: bool) -> None:
        self.data = data
        self.target = target
        self.broadcast = broadcast
        self.replies: list[tuple[encap.Frame, tuple[str, int]]] = []
        self.first: defer.Deferred = defer.Deferred()

    def startProtocol(self) -> None:
        transport = self.transport
        assert transport is not None, "the port sets its transport before it starts the protocol"
        if self.broadcast:
            transport.setBroadcastAllowed(True)
        transport.write(self.data, self.target)

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        try:
            frame = encap.decode_frame(data, reply=True)
        except RemoteProtocolError as exc:
            log.warning("bad reply from %r: %s", addr, exc)
            return
        self.replies.append((frame, tuple(addr[:2])))
        if not self.first.called:
            self.first.callback(None)


def list_udp(command: int, host: str, port: int = 44818, timeout: float = 1.0, broadcast: bool = False,
             reactor: Any = None) -> defer.Deferred:
    """Send *command* (``encap.LIST_IDENTITY``...) by UDP; fires with ``[(frame, (host, port)), ...]``:
    every reply within *timeout* if *broadcast*, else the first (an empty list if none came)."""
    if reactor is None:
        from twisted.internet import reactor as default
        reactor = default
    collector = _Collector(encap.encode_frame(encap.Frame(command)), (host, port), broadcast)
    listening = reactor.listenUDP(0, collector)
    done: defer.Deferred = defer.Deferred()

    def fire(_: object = None) -> None:
        if not done.called:
            done.callback(None)
    timer = reactor.callLater(timeout, fire)
    if not broadcast:
        collector.first.addCallback(fire)

    def finish(_: Any) -> defer.Deferred:
        if timer.active():
            timer.cancel()
        return defer.maybeDeferred(listening.stopListening).addCallback(lambda _: list(collector.replies))
    return done.addCallback(finish)


def list_blocking(command: int, host: str, port: int = 44818, timeout: float = 1.0,
                  broadcast: bool = False) -> list[tuple[encap.Frame, tuple[str, int]]]:
    """:func:`list_udp` in the caller's thread: ``[(frame, (host, port)), ...]``, every reply within
    *timeout* if *broadcast*, else the first (an empty list if none came).

    Raises:
        OSError: the datagram could not be sent (no route, a bad address).
    """
    replies: list[tuple[encap.Frame, tuple[str, int]]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.sendto(encap.encode_frame(encap.Frame(command)), (host, port))
        until = time.monotonic() + timeout
        while (left := until - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, addr = sock.recvfrom(65536)
            except TimeoutError:
                break
            except ConnectionRefusedError:   # (an ICMP port unreachable from a unicast target)
                break
            try:
                frame = encap.decode_frame(data, reply=True)
            except RemoteProtocolError as exc:
                log.warning("bad reply from %r: %s", addr, exc)
                continue
            replies.append((frame, (addr[0], addr[1])))
            if not broadcast:
                break
    return replies
