"""The transport layer of one served controller: its client connections and its listeners.

Strategy: the controller, the router and the dispatcher never see a socket.
What they need to know of a client connection is a :class:`Link`, a small
record the protocol keeps up to date (peer address, session handle, counters)
with a ``close`` callable that closes the connection.  A :class:`Transport`
keeps the links of one controller and its listeners (see :mod:`.listeners`),
and does what fault injection asks of the network side: close every
connection (``eof``), stop listening and refuse new clients (``disable``),
listen again where it listened before.  The web API reads the links.

What a peer can make one controller hold is bounded by its :class:`Limits` (README, "Limits"):
the protocols, the dispatcher's sessions and the controller's Forward Open table read them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer

__all__ = ["Link", "Transport", "Limits"]

log = logging.getLogger(__name__)


@dataclass
class Limits:
    """One controller's bounds on what its peers make it hold (each a command-line option).

    The defaults fit a plant of 1,000 controllers each polled on one session: the bounds are per
    controller, and what one connection holds is small (its decoded requests are charged to the
    process's byte budget, :mod:`cpppo.enip.codec.budget`, not to the connection).
    """

    connections: int = 256  # TCP connections open at once; more are closed as they are accepted
    sessions: int = 256  # registered sessions; RegisterSession beyond: encapsulation status 0x0002
    forward_opens: int = 256  # class 3 connections; Forward Open beyond: 0x01 / extended 0x0113
    idle: float = 120.0  # seconds a TCP connection may send nothing (the TCP/IP object's attribute 13)
    reply_bytes: int = 256 << 10  # replies queued per connection before it stops reading (backpressure)
    backlog: int = 256  # the listen backlog: a burst of connects waits in the kernel, not for a SYN retry


@dataclass(eq=False, slots=True)
class Link:
    """One client's TCP connection, as the controller's side sees it.

    ``session`` is written only by the dispatcher's session table; ``received``
    (bytes) and ``requests`` (frames) by the protocol; ``eof`` is true once the
    connection is closing; ``close()`` closes it.
    """

    host: str
    port: int
    close: Callable[[], None] = field(repr=False)
    session: int = 0
    received: int = 0
    requests: int = 0
    eof: bool = False

    @property
    def key(self) -> str:
        """The web API's name for it: ``127_0_0_1_5555``."""
        return f"{self.host.replace('.', '_').replace(':', '_')}_{self.port}"


class Transport:
    """The client connections and listeners of one controller, served by *dispatcher*."""

    def __init__(self, dispatcher: Any, limits: Limits | None = None) -> None:
        self.dispatcher = dispatcher
        self.limits = limits or Limits()
        self.refused = 0  # TCP connections closed at accept: over the connection limit
        self.links: list[Link] = []
        self.listeners: list[Any] = []  # each with stop() and start() (see listeners.Listener)
        self.disabled = False

    # --- connections ----------------------------------------------------------------
    def opened(self, link: Link) -> None:
        self.links.append(link)

    def closed(self, link: Link) -> None:
        """*link*'s connection is gone: its session and Forward Open connections end with it."""
        link.eof = True
        if link in self.links:
            self.links.remove(link)
        self.dispatcher.forget(link)

    def eof(self) -> int:
        """Close every client connection; returns how many."""
        links = list(self.links)
        for link in links:
            link.close()
        return len(links)

    # --- listeners ------------------------------------------------------------------
    def disable(self, disabled: bool = True) -> defer.Deferred:
        """Stop listening and drop every client (True), or listen again where it listened (False)."""
        was, self.disabled = self.disabled, disabled
        if disabled:
            self.eof()
            return defer.gatherResults([defer.maybeDeferred(listener.stop) for listener in self.listeners])
        if was:
            return defer.gatherResults([defer.maybeDeferred(listener.start) for listener in self.listeners])
        return defer.succeed(None)

    def stop(self) -> defer.Deferred:
        """Close every connection and every listener, for good."""
        self.eof()
        listeners, self.listeners = self.listeners, []
        return defer.gatherResults([defer.maybeDeferred(listener.stop) for listener in listeners])
