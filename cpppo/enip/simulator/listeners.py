"""Where a controller is served: a TCP listener from an endpoint description, and its UDP twin.

A :class:`Listener` listens on one Twisted endpoint description
(``tcp:44818:interface=127.0.0.1``, as ``--listen`` takes it; the original's
``-a HOST:PORT`` becomes one with :func:`description`) with the protocols of
:mod:`.server_protocol`, and on the same interface and port over UDP for List
Identity, as a controller answers discovery.  It binds synchronously where the
endpoint can (TCP can), so a port in use raises from ``start`` as one
``CannotListenError``; once bound it remembers the port, so that listening
again after ``disable`` binds the same one even if port 0 was asked for.
Each controller's :class:`~.transport.Transport` keeps its listeners; several
controllers in one reactor each have their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.python.failure import Failure

from cpppo.enip.simulator.server_protocol import EnipDatagram, EnipFactory
from cpppo.enip.simulator.transport import Transport

__all__ = ["Listener", "description", "listen", "with_backlog"]

log = logging.getLogger(__name__)


def description(host: str, port: int) -> str:
    """The endpoint description of ``-a HOST:PORT`` (an empty host: every interface)."""
    if not host:
        return f"tcp:{port}"
    escaped = host.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")
    return f"tcp:{port}:interface={escaped}"


def with_backlog(endpoint: str, backlog: int) -> str:
    """*endpoint* with a listen backlog of *backlog* (Twisted's default is 50: in a burst of 2,000
    connects, some waited a second for a SYN retry), unless it names one or is not TCP."""
    kind = endpoint.split(":", 1)[0].lower()
    if kind not in ("tcp", "tcp6") or "backlog=" in endpoint:
        return endpoint
    return f"{endpoint}:backlog={backlog}"


def _now(deferred: defer.Deferred) -> Any:
    """The result of an already-fired Deferred (its failure raised); the Deferred itself if not yet fired."""
    outcome: list[Any] = []
    deferred.addBoth(outcome.append)
    if not outcome:
        return deferred
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]


@dataclass(eq=False)
class Listener:
    """One controller's TCP listener on *endpoint* (a description) and, if *udp*, its UDP List Identity one."""

    reactor: Any
    transport: Transport
    endpoint: str
    udp: bool = True
    tcp_port: Any = field(default=None, repr=False)
    udp_port: Any = field(default=None, repr=False)
    bound: tuple[str, int] | None = None  # the TCP address bound, once bound

    def start(self) -> Any:
        """Listen (again); raises if the TCP port cannot be bound (or returns a Deferred, for slow endpoints)."""
        where = self.endpoint if self.bound is None else description(*self.bound)
        where = with_backlog(where, self.transport.limits.backlog)
        listening = serverFromString(self.reactor, where).listen(EnipFactory(self.transport))
        port = _now(listening)
        if isinstance(port, defer.Deferred):
            return port.addCallback(self._listening)
        self._listening(port)
        return None

    def _listening(self, port: Any) -> Any:
        self.tcp_port = port
        host = port.getHost()
        if not hasattr(host, "port"):  # (a UNIX socket: no UDP twin, nothing to report in List Identity)
            return port
        interface = getattr(host, "host", "")
        self.bound = (interface, host.port)
        if self.transport.listeners[:1] in ([], [self]):  # List Identity reports the first address bound
            self.transport.dispatcher.controller.address = self.bound
        if self.udp:
            try:
                self.udp_port = self.reactor.listenUDP(host.port, EnipDatagram(self.transport), interface=interface)
            except Exception as error:  # a UDP port in use must not stop the TCP server
                log.warning("UDP ListIdentity not served on port %d: %s", host.port, error)
        log.log(logging.NORMAL,  # type: ignore[attr-defined]  # a level cpppo.misc adds to logging at run time
                "EtherNet/IP simulator listening on %s:%d",
                getattr(host, "host", "?"), host.port)
        return port

    def stop(self) -> defer.Deferred:
        """Stop listening (TCP and UDP); ``start`` listens again on the port bound."""
        ports = [p for p in (self.tcp_port, self.udp_port) if p is not None]
        self.tcp_port = self.udp_port = None
        return defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])


def listen(reactor: Any, transport: Transport, endpoint: str, udp: bool = True) -> Listener:
    """A started :class:`Listener` of *transport* (an EnipService's, or any controller's) on *endpoint*.

    Raises (``CannotListenError``) if the TCP port cannot be bound; the transport keeps
    only listeners that started.
    """
    transport = getattr(transport, "transport", transport)  # (an EnipService stands for its transport)
    listener = Listener(reactor, transport, endpoint, udp=udp)
    transport.listeners.append(listener)
    try:
        listener.start()
    except BaseException:
        transport.listeners.remove(listener)
        raise
    return listener
