"""The client's Twisted protocol: bytes in and out, replies matched to requests.

Thin on purpose: ``dataReceived`` feeds the sans-IO
:class:`~cpppo.enip.codec.connection.Connection` (``Role.CLIENT``), and every
reply frame it yields resolves the Deferred of the request with the same key,
as Twisted's AMP matches answers to ``_outstandingRequests``.  The key is the
8-byte sender context, except on a connected (SendUnitData) message, where it
is the CPF sequence count (ControlLogix controllers do not echo the sender
context there).  Each request may carry its own timeout; a request that times
out fails with :class:`RequestTimeout` and a late reply to it is dropped, so
the connection stays usable.  When the connection is lost every outstanding
request fails with :class:`ConnectionClosed`.
"""

from __future__ import annotations

import logging
import struct
from typing import Any, Callable

from twisted.internet import defer, protocol
from twisted.python.failure import Failure

from cpppo.enip.codec import encap
from cpppo.enip.codec.connection import CLOSED, NEED_DATA, Connection, Role
from cpppo.enip.codec.errors import RemoteProtocolError

__all__ = ["ClientProtocol", "RequestTimeout", "ConnectionClosed", "EncapsulationError"]

log = logging.getLogger(__name__)

_CONTEXT = struct.Struct("<Q")


class RequestTimeout(TimeoutError):
    """No reply to a request within its timeout (the connection itself stays usable)."""


class ConnectionClosed(ConnectionError):
    """The connection closed (or was never open) before a request's reply arrived."""


class EncapsulationError(RuntimeError):
    """The peer answered with a non-zero encapsulation status."""

    def __init__(self, status: int, command: int) -> None:
        super().__init__(f"EtherNet/IP status 0x{status:02X} to command 0x{command:04X}")
        self.status = status
        self.command = command


def frame_key(frame: encap.Frame) -> Any:
    """How a reply finds its request: the sequence count of a connected message, else the context."""
    if frame.command == encap.SEND_UNIT_DATA and isinstance(frame.body, encap.SendData):
        for item in frame.body.items:
            if isinstance(item, encap.ConnectedData):
                return item.sequence
    return frame.context


class ClientProtocol(protocol.Protocol):
    """One EtherNet/IP TCP connection, client side."""

    def __init__(self, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor as default
            reactor = default
        self.reactor = reactor
        self.connection = Connection(Role.CLIENT)
        self._outstanding: dict[Any, tuple[defer.Deferred, float | None, float | None, Any]] = {}
        self._watchdog: Any = None  # one timer for every outstanding request's deadline
        self._counter = 0
        self.closed: Failure | None = None
        self._direct: Any = None
        self.on_lost: defer.Deferred = defer.Deferred()

    @property
    def session(self) -> int:
        return self.connection.session

    def next_context(self) -> bytes:
        self._counter += 1
        return _CONTEXT.pack(self._counter)

    def request(self, frame: encap.Frame, timeout: float | None = None, key: Any = None,
                framed: Callable[[], Any] | None = None) -> defer.Deferred:
        """Send *frame*; a Deferred fires with the reply frame (matched by *key*, default its context).

        *framed*, if given, is called as soon as the reply is framed and matched to this request,
        before it is decoded: a pipeline that waits for a free place on the wire can send its next
        request then, and the server works on it while this reply is decoded.  (Connected replies
        are matched by their sequence count, inside the data: for them it is called after decoding.)
        """
        if self.closed is not None or self.transport is None:
            return defer.fail(ConnectionClosed("the EtherNet/IP connection is closed"))
        return self.send_request(self.connection.send(frame), frame.context if key is None else key,
                                 timeout, framed)

    def expect(self, key: Any) -> defer.Deferred:
        """The Deferred a reply matched by *key* will fire (cancelling it forgets the request)."""
        return defer.Deferred(lambda _: self._forget(key))

    def send_request(self, data: bytes, key: Any, timeout: float | None = None,
                     framed: Callable[[], Any] | None = None,
                     deferred: defer.Deferred | None = None) -> defer.Deferred:
        """:meth:`request` for a frame already encoded (*data*), its reply to be matched by *key*;
        fires *deferred* (made by :meth:`expect`) if given, else a new one, which it returns.

        A pipeline encodes its next request while it waits for a place on the wire, and only
        sends it here when one is free; the timeout runs from the sending."""
        d = self.expect(key) if deferred is None else deferred
        if self.closed is not None or self.transport is None:
            d.errback(ConnectionClosed("the EtherNet/IP connection is closed"))
            return d
        if key in self._outstanding:
            d.errback(ValueError(f"a request with key {key!r} is already outstanding"))
            return d
        self._write(data)  # first: the rest is bookkeeping, and no reply can come before it is done
        deadline = None
        if timeout is not None:
            deadline = self.reactor.seconds() + timeout
            watchdog = self._watchdog
            if watchdog is None or not watchdog.active():
                self._watchdog = self.reactor.callLater(timeout, self._expire)
            elif watchdog.getTime() > deadline:  # this request is due before the watchdog wakes
                watchdog.reset(timeout)
        self._outstanding[key] = (d, deadline, timeout, framed)
        return d

    def _write(self, data: bytes) -> None:
        """Send now when nothing is queued: a request waits for its reply, so the usual wait for
        the next reactor turn (and two epoll_ctl calls) would be on every round trip.

        ``writeSomeData`` is the TCP transport's non-blocking send (it never blocks the reactor);
        what it cannot send, and every write while data is queued, goes through ``write`` so
        the order of bytes is kept.
        """
        transport = self.transport
        direct = self._direct
        if (direct is not None and not transport.dataBuffer and not transport._tempDataBuffer
                and transport.connected and not transport.disconnecting):
            sent = direct(data)
            if isinstance(sent, int):
                if sent == len(data):
                    return
                data = data[sent:]
        transport.write(data)

    def send_only(self, frame: encap.Frame) -> None:
        """Send a frame that has no reply (UnRegisterSession)."""
        if self.closed is None and self.transport is not None:
            self._write(self.connection.send(frame))

    def connectionMade(self) -> None:
        transport = self.transport
        # a TCP transport's own non-blocking send, if it has one (and the buffers _write checks)
        self._direct = getattr(transport, "writeSomeData", None) if all(
            hasattr(transport, name) for name in ("dataBuffer", "_tempDataBuffer", "connected", "disconnecting")
        ) else None

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    def _forget(self, key: Any) -> None:
        self._outstanding.pop(key, None)

    def _expire(self) -> None:
        """The watchdog: fail the requests past their deadline, then wait for the next deadline.

        One timer serves every outstanding request (a timer per request would be set and
        cancelled on every round trip); a reply just removes its request."""
        self._watchdog = None
        now = self.reactor.seconds()
        late = [(key, entry) for key, entry in self._outstanding.items()
                if entry[1] is not None and entry[1] <= now]
        for key, (d, _, timeout, _) in late:
            del self._outstanding[key]
            d.errback(RequestTimeout(f"no reply within {timeout:g} s"))
        deadlines = [entry[1] for entry in self._outstanding.values() if entry[1] is not None]
        if deadlines and self._watchdog is None:
            self._watchdog = self.reactor.callLater(max(0.0, min(deadlines) - now), self._expire)

    def dataReceived(self, data: bytes) -> None:
        connection = self.connection
        connection.receive_data(data)
        outstanding = self._outstanding
        while True:
            entry = None
            try:
                framed = connection.next_framed()
                if framed is NEED_DATA or framed is CLOSED:
                    return
                header = framed["header"]
                if header["command"] != encap.SEND_UNIT_DATA:  # matched by the header's context
                    entry = outstanding.pop(header["context"], None)
                    if entry is not None and entry[3] is not None and not header["status"]:
                        entry[3]()   # (a failure status fails the request: nothing more is sent for it)
                frame = connection.decode(framed)
            except RemoteProtocolError as exc:
                log.warning("EtherNet/IP reply stream unusable: %s", exc)
                if entry is not None:
                    entry[0].errback(Failure(exc))
                self._fail_all(Failure(exc))
                self.transport.loseConnection()
                return
            if entry is None:
                entry = outstanding.pop(frame_key(frame), None)
                if entry is None:
                    log.debug("reply to no outstanding request (late, after a timeout?): %r", frame.context)
                    continue
                if entry[3] is not None and not frame.status:
                    entry[3]()
            d = entry[0]
            if frame.status:
                d.errback(EncapsulationError(frame.status, frame.command))
            else:
                d.callback(frame)
            if not connection.buffered:
                return

    def _fail_all(self, failure: Failure) -> None:
        outstanding, self._outstanding = self._outstanding, {}
        if self._watchdog is not None and self._watchdog.active():
            self._watchdog.cancel()
        self._watchdog = None
        for d, _, _, _ in outstanding.values():
            d.errback(failure)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.closed = reason
        self._fail_all(Failure(ConnectionClosed(f"the EtherNet/IP connection closed: {reason.getErrorMessage()}")))
        on_lost, self.on_lost = self.on_lost, None
        if on_lost is not None:
            on_lost.callback(None)
