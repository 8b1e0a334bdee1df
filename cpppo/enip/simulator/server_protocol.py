"""The Twisted side of the simulator: TCP and UDP protocols that only move bytes.

``dataReceived`` feeds the sans-IO :class:`~cpppo.enip.codec.connection.Connection`,
hands each frame to the :class:`~.service.EnipService`, and writes the
replies in the order the requests came, even when some are delayed or wait
on a slow Attribute.  A frame that cannot be framed gets its encapsulation
status (where there is a header to answer) and the connection is closed; a
frame whose contents are malformed gets an error reply and the connection
carries on.  UDP answers ListIdentity and ListServices, as controllers do for
discovery.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from twisted.internet import defer, protocol

from cpppo.enip.codec import encap
from cpppo.enip.codec.connection import NEED_DATA, Connection, Role
from cpppo.enip.codec.errors import RemoteProtocolError
from cpppo.enip.simulator.service import CLOSE, EnipService

__all__ = ["EnipProtocol", "EnipFactory", "EnipDatagram"]

log = logging.getLogger(__name__)


class _RateLimited:
    """At most *burst* log lines per *period* seconds about bad input; counts the rest."""

    def __init__(self, period: float = 10.0, burst: int = 5) -> None:
        self.period, self.burst = period, burst
        self.window, self.count, self.dropped = 0.0, 0, 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.window > self.period:
            if self.dropped:
                log.warning("(%d more bad frames not logged)", self.dropped)
            self.window, self.count, self.dropped = now, 0, 0
        if self.count < self.burst:
            self.count += 1
            log.warning(message, *args)
        else:
            self.dropped += 1


class EnipProtocol(protocol.Protocol):
    """One client's TCP connection."""

    def __init__(self, service: EnipService, bad_input: _RateLimited) -> None:
        self.service = service
        self.bad_input = bad_input
        self.connection = Connection(Role.SERVER)
        self.session = 0
        self.received = 0
        self.requests = 0
        self.eof = False
        self._pending: list[list[Any]] = []  # [reply, ready] in request order
        self._wrote = False  # replies written during this dataReceived, not yet flushed

    def __repr__(self) -> str:
        peer = self.transport.getPeer() if self.transport is not None else None
        return f"<EnipProtocol {getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}>"

    @property
    def key(self) -> str:
        peer = self.transport.getPeer()
        return f"{peer.host.replace('.', '_').replace(':', '_')}_{peer.port}"

    def connectionMade(self) -> None:
        transport = self.transport
        if hasattr(transport, "setTcpNoDelay"):
            try:
                transport.setTcpNoDelay(True)
            except OSError:
                pass
        self.service.clients.append(self)
        log.info("%r connected", self)

    def connectionLost(self, reason: Any = None) -> None:
        self.eof = True
        if self in self.service.clients:
            self.service.clients.remove(self)
        self.service.connections.drop_owner(self)
        self.service.sessions.discard(self.session)
        log.info("%r closed after %d requests", self, self.requests)

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        connection = self.connection
        connection.receive_data(data)
        while not self.eof:
            try:
                frame = connection.next_event()
            except RemoteProtocolError as error:
                if self._bad_frame(error):
                    continue
                return
            if frame is NEED_DATA:
                break
            self.requests += 1
            self._queue(self.service.handle(frame, self))
        if self._wrote:
            self._wrote = False
            self._flush_now()

    def _flush_now(self) -> None:
        """Send what the replies wrote now, rather than on the reactor's next turn.

        A request/response protocol has its replies ready at the end of dataReceived;
        writing them here spares a reactor iteration per request.  ``doWrite`` is the
        transport's own IWriteDescriptor method, the one the reactor would call; if it
        reports the connection broken, the connection is aborted.
        """
        do_write = getattr(self.transport, "doWrite", None)
        if callable(do_write) and do_write() is not None:
            self.transport.abortConnection()

    def _bad_frame(self, error: RemoteProtocolError) -> bool:
        """Answer a bad frame; True if the stream is still in step (parsing may go on)."""
        header = self.connection.take_bad_header()
        self.bad_input.warning("%r: bad frame: %s", self, error)
        if header is not None and error.encap_status is not None:
            # The frame itself framed: answer it with its status and keep serving.
            self._queue(encap.Frame(header["command"], encap.Raw(b""), header["session"], error.encap_status,
                                    header["context"]))
            return True
        # The header is unusable (an impossible length): nothing tells where the next frame starts.
        self.eof = True
        self.transport.loseConnection()
        return False

    def _queue(self, reply: Any) -> None:
        """Send replies in request order; a Deferred one holds back those after it."""
        if not isinstance(reply, defer.Deferred) and not self._pending:
            self._send(reply)
            return
        entry = [reply, not isinstance(reply, defer.Deferred)]
        self._pending.append(entry)
        if isinstance(reply, defer.Deferred):
            def ready(result: Any) -> None:
                entry[0], entry[1] = result, True
                self._flush()

            def failed(failure: Any) -> None:
                log.warning("%r: reply failed: %s", self, failure.getErrorMessage())
                entry[0], entry[1] = None, True
                self._flush()
            reply.addCallbacks(ready, failed)

    def _flush(self) -> None:
        while self._pending and self._pending[0][1]:
            reply = self._pending.pop(0)[0]
            self._send(reply)

    def _send(self, reply: Any) -> None:
        if reply is None or self.eof:
            return
        if reply is CLOSE:
            self.eof = True
            self.transport.loseConnection()
            return
        self.transport.write(self.connection.send(reply))
        self._wrote = True


class EnipFactory(protocol.Factory):
    """Makes an :class:`EnipProtocol` per client, all sharing one service."""

    def __init__(self, service: EnipService) -> None:
        self.service = service
        self.bad_input = _RateLimited()

    def buildProtocol(self, addr: Any) -> EnipProtocol | None:
        if self.service.disabled:
            return None
        proto = EnipProtocol(self.service, self.bad_input)
        proto.factory = self
        return proto


class EnipDatagram(protocol.DatagramProtocol):
    """ListIdentity and ListServices over UDP (discovery); everything else is ignored."""

    def __init__(self, service: EnipService) -> None:
        self.service = service

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        try:
            frame = encap.decode_frame(data)
        except RemoteProtocolError as error:
            log.info("UDP %s: bad frame: %s", addr, error)
            return
        if frame.command in (encap.LIST_IDENTITY, encap.LIST_SERVICES, encap.LIST_INTERFACES):
            reply = self.service.list_reply(frame)
            try:
                self.transport.write(encap.encode_frame(reply), addr)
            except OSError as error:
                log.info("UDP %s: reply not sent: %s", addr, error)

