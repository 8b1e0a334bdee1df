"""The transport layer of one served controller: its client connections and its listeners.

Strategy: the controller, the router and the dispatcher never see a socket.
What they need to know of a client connection is a :class:`Link`, a small
record the protocol keeps up to date (peer address, session handle, counters)
with a ``close`` callable that closes the connection.  A :class:`Transport`
keeps the links of one controller and its listeners (see :mod:`.listeners`),
and does what fault injection asks of the network side: close every
connection (``eof``), stop listening and refuse new clients (``disable``),
listen again where it listened before.  The web API reads the links.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer

__all__ = ["Link", "Transport"]

log = logging.getLogger(__name__)


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

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
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
