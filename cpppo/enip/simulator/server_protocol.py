"""The Twisted side of the simulator: TCP and UDP protocols that only move bytes.

``dataReceived`` feeds the sans-IO :class:`~cpppo.enip.codec.connection.Connection`,
hands each frame to the :class:`~.dispatch.Dispatcher` with the connection's
:class:`~.transport.Link` record, and writes the replies in the order the
requests came, even when some are delayed or wait on a slow Attribute (a
:class:`PendingReply` holds each place in line).  A frame that cannot be framed gets its encapsulation
status (where there is a header to answer) and the connection is closed; a
frame whose contents are malformed gets an error reply and the connection
carries on.  UDP answers ListIdentity and ListServices, as controllers do for
discovery.

Bounds (the controller's :class:`~.transport.Limits`): a protocol registers itself as its
transport's streaming producer, so that when more than ``reply_bytes`` of replies wait to be sent
(a client that pipelines and never reads) Twisted pauses it and it stops reading; the client's
sends then block in its kernel, and nothing grows here.  Below the mark (the buffer drained) it
reads again, serving first the frames it had already received.  Replies waiting on a slow one
are bounded the same way.  A connection that sends nothing for ``idle`` seconds is closed, one
over the connection limit is closed as it is accepted, and its decoded requests go back to the
process's byte budget when it closes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, interfaces, protocol
from zope.interface import implementer

from cpppo.enip.codec import encap
from cpppo.enip.codec.codes import Command
from cpppo.enip.codec.connection import NEED_DATA, Connection, Role
from cpppo.enip.codec.errors import RemoteProtocolError
from cpppo.enip.simulator.dispatch import CLOSE
from cpppo.enip.simulator.transport import Link, Transport

__all__ = ["EnipProtocol", "EnipFactory", "EnipDatagram", "PendingReply"]

log = logging.getLogger(__name__)

_BATCH = 64  # replies of one dataReceived written together (more: written, so the buffer's mark is seen)
_PENDING = 1024  # replies held behind a slow one before the connection stops reading


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


@dataclass(slots=True)
class PendingReply:
    """A reply's place in line: the reply (or the Deferred of it), and whether it is ready to send."""

    reply: Any
    ready: bool


@implementer(interfaces.IPushProducer, interfaces.IHalfCloseableProtocol)
class EnipProtocol(protocol.Protocol):
    """One client's TCP connection: bytes to frames to the dispatcher, replies back to bytes.

    It is its transport's streaming producer (of replies): paused, it stops reading requests.
    A client may send its requests and then shut its side down (the original's ``list_services``
    does, reading replies until the server closes): the replies still go out, then the connection
    closes, rather than being dropped with the connection at the end of the client's input."""

    def __init__(self, transport_layer: Transport, bad_input: _RateLimited) -> None:
        self.owner = transport_layer
        self.handle = transport_layer.dispatcher.handle
        self.bad_input = bad_input
        self.connection = Connection(Role.SERVER)
        self.link: Link | None = None
        self._pending: list[PendingReply] = []  # in request order, once one waits
        self._out: list[bytes] = []  # replies ready during this dataReceived, written together at its end
        self._paused = False  # the transport's buffer is over its mark: read no more
        self._held = False  # too many replies wait behind a slow one: read no more
        self._idle: Any = None  # the idle check's DelayedCall
        self._seen = -1  # link.received at the last idle check
        self._quiet = 0.0  # since when nothing was received
        self._read_closed = False  # the client shut its sending side: close once all is answered

    def __repr__(self) -> str:
        link = self.link
        return f"<EnipProtocol {link.host if link else '?'}:{link.port if link else '?'}>"

    @property
    def key(self) -> str:
        return self.link.key if self.link is not None else "?"

    def connectionMade(self) -> None:
        transport = self.transport
        assert transport is not None  # makeConnection set it before calling this
        if hasattr(transport, "setTcpNoDelay"):
            try:
                transport.setTcpNoDelay(True)
            except OSError:
                pass
        peer = transport.getPeer()
        self.link = Link(getattr(peer, "host", "?"), getattr(peer, "port", 0), transport.loseConnection)
        self.owner.opened(self.link)
        limits = self.owner.limits
        if hasattr(transport, "registerProducer"):
            setattr(transport, "bufferSize", limits.reply_bytes)  # noqa: B010  (the mark over which Twisted pauses us)
            transport.registerProducer(self, True)
        if limits.idle > 0:
            self._idle = self._clock().callLater(limits.idle / 4, self._check_idle)
        log.info("%r connected", self)

    def _clock(self) -> Any:
        return self.owner.dispatcher.controller.clock

    def _check_idle(self) -> None:
        """Close the connection once it has sent nothing for the idle timeout (checked four times
        a timeout: no timer is reset per request, so serving costs nothing for it)."""
        link, clock, idle = self.link, self._clock(), self.owner.limits.idle
        assert link is not None
        now = clock.seconds()
        if link.received != self._seen:
            self._seen, self._quiet = link.received, now
        elif now - self._quiet >= idle:
            self._idle = None
            log.info("%r idle for %.0fs: closed", self, now - self._quiet)
            self._abort()
            return
        self._idle = clock.callLater(idle / 4, self._check_idle)

    def _abort(self) -> None:
        """Close now, whatever is still queued (a peer that does not read would hold a gentle close)."""
        assert self.link is not None and self.transport is not None
        self.link.eof = True
        abort = getattr(self.transport, "abortConnection", None)
        (abort or self.transport.loseConnection)()

    # --- IPushProducer: the transport pauses us while its buffer is over the mark -------------
    def pauseProducing(self) -> None:
        self._paused = True
        self._reading(False)

    def resumeProducing(self) -> None:
        self._paused = False
        if not self._held:
            self._reading(True)
            self._serve()
            self._finish_if_answered()

    def stopProducing(self) -> None:
        self._paused = True

    def _reading(self, on: bool) -> None:
        transport = self.transport
        if transport is None or self.link is None or self.link.eof:
            return
        if on:
            if hasattr(transport, "resumeProducing"):
                transport.resumeProducing()
        elif hasattr(transport, "pauseProducing"):
            transport.pauseProducing()

    # --- IHalfCloseableProtocol: the client's end of input --------------------------------------
    def readConnectionLost(self) -> None:
        self._read_closed = True
        self._finish_if_answered()

    def writeConnectionLost(self) -> None:
        if self.transport is not None and self.link is not None and not self.link.eof:
            self._abort()  # nothing more can reach the client: stop serving it

    def _finish_if_answered(self) -> None:
        """After the client's end of input: close (gently, after the replies written) once every
        request received is served and answered."""
        if not self._read_closed or self._pending or self._paused or self._held:
            return
        if self.link is not None and not self.link.eof:
            self._close()

    def connectionLost(self, reason: Any = None) -> None:
        link = self.link
        if self._idle is not None and self._idle.active():
            self._idle.cancel()
        self._idle = None
        self.connection.release()
        self._pending.clear()
        if link is not None:
            self.owner.closed(link)
            log.info("%r closed after %d requests", self, link.requests)

    def dataReceived(self, data: bytes) -> None:
        link = self.link
        assert link is not None  # connectionMade set it
        if not data:  # (Twisted never delivers b"", which would tell the sans-IO side the stream ended)
            return
        link.received += len(data)
        self.connection.receive_data(data)
        if not (self._paused or self._held):
            self._serve()

    def _serve(self) -> None:
        """Serve the frames received, until they are all served or the connection must stop reading."""
        link, connection = self.link, self.connection
        assert link is not None
        while not (link.eof or self._paused or self._held):
            try:
                frame = connection.next_event()
            except RemoteProtocolError as error:
                if self._bad_frame(error):
                    continue
                break
            if frame is NEED_DATA:
                break
            link.requests += 1
            reply = self.handle(frame, link)
            if reply.__class__ is encap.Frame and not (self._pending or link.eof):  # (most: sent as they come)
                self._out.append(connection.send(reply))
            else:
                self._queue(reply)
            if len(self._out) >= _BATCH:
                self._write_out()
        if self._out:
            self._write_out()

    def _write_out(self) -> None:
        """Hand the replies of this dataReceived to the transport in one write, in request order."""
        out, self._out = self._out, []
        assert self.transport is not None  # connected: replies are written only then
        self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _bad_frame(self, error: RemoteProtocolError) -> bool:
        """Answer a bad frame; True if the stream is still in step (parsing may go on)."""
        header = self.connection.take_bad_header()
        self.bad_input.warning("%r: bad frame: %s", self, error)
        if header is not None and error.encap_status is not None:
            # The frame itself framed: answer it with its status and keep serving.
            self._queue(encap.Frame(header["command"], encap.Raw(b""), header["session"], error.encap_status,
                                    header["context"]))
            return True
        # The stream cannot go on (an impossible length): nothing tells where the next frame starts.
        # A header that parsed still gets its status, as a frame with a usable header would.
        header = error.header
        if header is not None and error.encap_status is not None:
            self._queue(encap.Frame(header["command"], encap.Raw(b""), header["session"], error.encap_status,
                                    header["context"]))
        self._close()
        return False

    def _close(self) -> None:
        if self._out:
            self._write_out()
        assert self.link is not None and self.transport is not None  # connected: frames come only then
        self.link.eof = True
        self.transport.loseConnection()

    def _queue(self, reply: Any) -> None:
        """Send replies in request order; a Deferred one holds back those after it."""
        waits = reply.__class__ is not encap.Frame and isinstance(reply, defer.Deferred)
        if not waits and not self._pending:
            self._send(reply)
            return
        entry = PendingReply(reply, not waits)
        self._pending.append(entry)
        if waits:
            def ready(result: Any) -> None:
                entry.reply, entry.ready = result, True
                self._flush()

            def failed(failure: Any) -> None:
                log.warning("%r: reply failed: %s", self, failure.getErrorMessage())
                entry.reply, entry.ready = None, True
                self._flush()
            reply.addCallbacks(ready, failed)
            if len(self._pending) >= _PENDING and not self._held:
                self._held = True
                self._reading(False)

    def _flush(self) -> None:
        """Send the replies now ready at the head of the line (called when a held-back one completes)."""
        pending = self._pending
        while pending and pending[0].ready:
            self._send(pending.pop(0).reply)
        if self._out:
            self._write_out()
        if self._held and len(pending) < _PENDING // 2:
            self._held = False
            if not self._paused:
                self._reading(True)
                self._serve()
        self._finish_if_answered()

    def _send(self, reply: Any) -> None:
        assert self.link is not None  # connected: replies come only then
        if reply is None or self.link.eof:
            return
        if reply is CLOSE:
            self._close()
            return
        self._out.append(self.connection.send(reply))


class EnipFactory(protocol.Factory):
    """Makes an :class:`EnipProtocol` per client of one controller's :class:`~.transport.Transport`.

    *transport_layer* may also be an :class:`~.service.EnipService` (its ``transport``).
    """

    def __init__(self, transport_layer: Any) -> None:
        self.owner: Transport = getattr(transport_layer, "transport", transport_layer)
        self.bad_input = _RateLimited()

    def buildProtocol(self, addr: Any) -> EnipProtocol | None:
        if self.owner.disabled:
            return None
        if len(self.owner.links) >= self.owner.limits.connections:  # (a device refuses: no slot)
            self.owner.refused += 1
            self.bad_input.warning("%s: over the limit of %d TCP connections: closed", addr,
                                   self.owner.limits.connections)
            return None
        proto = EnipProtocol(self.owner, self.bad_input)
        proto.factory = self
        return proto


class EnipDatagram(protocol.DatagramProtocol):
    """ListIdentity and ListServices over UDP (discovery); everything else is ignored.

    *dispatcher* (or an :class:`~.service.EnipService`, or a Transport: their dispatcher) answers.
    """

    def __init__(self, dispatcher: Any) -> None:
        dispatcher = getattr(dispatcher, "transport", dispatcher)
        self.dispatcher = getattr(dispatcher, "dispatcher", dispatcher)

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        try:
            frame = encap.decode_frame(data)
        except RemoteProtocolError as error:
            log.info("UDP %s: bad frame: %s", addr, error)
            return
        if frame.command in (Command.LIST_IDENTITY, Command.LIST_SERVICES, Command.LIST_INTERFACES):
            reply = self.dispatcher.list_reply(frame)
            assert self.transport is not None  # datagrams arrive only once listening
            try:
                self.transport.write(encap.encode_frame(reply), addr)
            except OSError as error:
                log.info("UDP %s: reply not sent: %s", addr, error)
