"""The Twisted driver of the sans-IO client core: bytes in and out, events to Deferreds.

Thin on purpose: ``dataReceived`` feeds :class:`~.core.ClientCore` and drains
its events, writing each :class:`~.records.Send`, calling each run's
``deliver`` with its results and firing the Deferred of each finished run and
answered request (the core's handles carry them in their ``tag``).  One timer
(the watchdog) serves every deadline the core hands out: a timer per request
would be set and cancelled on every round trip.  When the connection is lost
every outstanding request fails with :class:`~.errors.ConnectionClosed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, interfaces, protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from cpppo.enip.client.core import ClientCore, Ticket
from cpppo.enip.client.errors import ConnectionClosed, EncapsulationError, RequestTimeout
from cpppo.enip.client.records import NEED_DATA, Answered, Broken, Delivered, Finished, Send
from cpppo.enip.codec import encap

__all__ = ["ClientProtocol", "RequestTimeout", "ConnectionClosed", "EncapsulationError"]

log = logging.getLogger(__name__)


@implementer(interfaces.IPullProducer)
class ClientProtocol(protocol.Protocol):
    """One EtherNet/IP TCP connection, client side, driving one :class:`~.core.ClientCore`.

    A request is sent straight to the socket when the transport holds nothing queued: it waits for
    its reply, so the reactor's usual wait for its next turn (and two epoll_ctl calls) would be on
    every round trip.  Whether anything is queued is known through Twisted's public producer
    interface: the protocol is the transport's pull producer, told (``resumeProducing``) when the
    transport's buffer has drained.
    """

    def __init__(self, reactor: Any = None, route_path: Any = None, send_path: Any = None,
                 timeout: float | None = None) -> None:
        if reactor is None:
            from twisted.internet import reactor as default
            reactor = default
        self.reactor = reactor
        self.core = ClientCore(reactor.seconds, route_path, send_path, timeout)
        self.connection = self.core.connection   # the codec's stream (tests watch its decode)
        self.closed: Failure | None = None
        self.on_lost: defer.Deferred | None = defer.Deferred()
        self._watchdog: Any = None
        self._draining = False
        self._socket: Any = None
        self._queued = True    # something may wait in the transport's buffer: write through it

    @property
    def session(self) -> int:
        return self.core.session

    @property
    def _outstanding(self) -> dict[Any, Any]:
        """The requests on the wire (the core's table)."""
        return self.core.outstanding

    @property
    def outstanding(self) -> int:
        return len(self.core.outstanding)

    # --- handing work to the core ------------------------------------------------------------
    def run(self, operations: Any, deliver: Callable[[Any], None], **kwds: Any) -> defer.Deferred:
        """Start a pipeline; *deliver* gets each result in order; fires with None when all are in."""
        done: defer.Deferred = defer.Deferred()
        run = self.core.start_run(operations, **kwds)
        run.tag = (deliver, done)
        self.drain()
        return done

    def ask(self, ticket: Ticket) -> defer.Deferred:
        """The Deferred of a single request the core was given; fires with the reply frame."""
        done: defer.Deferred = defer.Deferred()
        ticket.tag = done if ticket.tag is None else (ticket.tag, done)
        self.drain()
        return done

    # --- events ---------------------------------------------------------------------------
    def drain(self) -> None:
        """Act on every event the core has (re-entered from a callback, the outer loop goes on)."""
        if self._draining:
            return
        self._draining = True
        core = self.core
        try:
            while True:
                event = core.next_event()
                if event is NEED_DATA:
                    return
                kind = type(event)
                if kind is Send:
                    self.send_request(event.data, event.deadline)
                elif kind is Delivered:
                    run = event.run
                    if run.error is None and run.tag is not None:
                        try:
                            run.tag[0](event.result)
                        except Exception:
                            run.fail(Failure().value)
                elif kind is Finished:
                    self._finish(event)
                elif kind is Answered:
                    self._answer(event)
                elif kind is Broken:
                    log.warning("EtherNet/IP reply stream unusable: %s", event.error)
                    self.disconnect()
        finally:
            self._draining = False

    @staticmethod
    def _finish(event: Finished) -> None:
        run = event.run
        tag, run.tag = run.tag, None
        if tag is not None:
            if event.error is None:
                tag[1].callback(None)
            else:
                tag[1].errback(Failure(event.error))

    @staticmethod
    def _answer(event: Answered) -> None:
        tag = event.ticket.tag
        done = tag[1] if isinstance(tag, tuple) else tag
        if done is None:
            return
        if event.error is not None:
            done.errback(Failure(event.error))
        else:
            done.callback(event.frame)

    # --- bytes and time ---------------------------------------------------------------------
    def send_request(self, data: bytes, deadline: float | None = None) -> None:
        """Write one request and make sure the watchdog wakes by its deadline."""
        self._write(data)
        if deadline is not None:
            watchdog = self._watchdog
            if watchdog is None or not watchdog.active():
                self._watchdog = self.reactor.callLater(max(0.0, deadline - self.reactor.seconds()), self._expire)
            elif watchdog.getTime() > deadline:   # this request is due before the watchdog wakes
                watchdog.reset(max(0.0, deadline - self.reactor.seconds()))

    def _write(self, data: bytes) -> None:
        """To the socket if nothing is queued (what it cannot take, and all else, through the transport)."""
        transport = self.transport
        if transport is None or self.closed is not None:
            return
        if not self._queued:
            try:
                sent = self._socket.send(data)
            except OSError:   # would block, or a failing connection the transport will notice itself
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
            self._queued = True
        transport.write(data)

    def resumeProducing(self) -> None:
        """The transport's buffer has drained: the next request may go straight to the socket."""
        self._queued = False

    def stopProducing(self) -> None:
        self._queued = True

    def disconnect(self) -> None:
        """Close the connection once what is queued has gone (a registered producer would hold it open)."""
        transport = self.transport
        if transport is not None:
            if self._socket is not None:
                self._socket = None
                self._queued = True
                if interfaces.IConsumer.providedBy(transport):   # (it is: connectionMade registered with it)
                    transport.unregisterProducer()
            transport.loseConnection()

    def _expire(self) -> None:
        """The watchdog: the core fails what is late; then wait for the next deadline."""
        self._watchdog = None
        self.core.expire()
        self.drain()
        deadline = self.core.next_deadline()
        if deadline is not None and self._watchdog is None:
            self._watchdog = self.reactor.callLater(max(0.0, deadline - self.reactor.seconds()), self._expire)

    def connectionMade(self) -> None:
        transport = self.transport
        # (a TCP connection, tcp.Connection: a TCP transport, the socket's owner and a consumer)
        if (interfaces.ITCPTransport.providedBy(transport) and interfaces.ISystemHandle.providedBy(transport)
                and interfaces.IConsumer.providedBy(transport)):
            transport.setTcpNoDelay(True)   # several small requests in flight must not wait for ACKs
            self._socket = transport.getHandle()
            transport.registerProducer(self, False)   # (calls resumeProducing: nothing queued yet)

    def dataReceived(self, data: bytes) -> None:
        self.core.receive_data(data)
        self.drain()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.closed = reason
        if self._watchdog is not None and self._watchdog.active():
            self._watchdog.cancel()
        self._watchdog = None
        self.core.connection_lost(ConnectionClosed(f"the EtherNet/IP connection closed: {reason.getErrorMessage()}"))
        self.drain()
        on_lost, self.on_lost = self.on_lost, None
        if on_lost is not None:
            on_lost.callback(None)

    def send_only(self, frame: encap.Frame) -> None:   # kept for callers of the old protocol
        """Send a frame that has no reply."""
        self._write(self.connection.send(frame))
