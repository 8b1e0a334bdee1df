"""The sans-IO EtherNet/IP client: operations and received bytes in, bytes to send and results out.

Strategy (the way h11 serves both sync and async HTTP): :class:`ClientCore`
holds everything a client session is, and nothing of sockets, threads or
reactors.  A driver hands it work (:meth:`ClientCore.start_run` for a pipeline
of operations, :meth:`ClientCore.request` and friends for single requests) and
the bytes it reads (:meth:`ClientCore.receive_data`, ``b""`` at end of stream),
and then drains :meth:`ClientCore.next_event` until :data:`~.records.NEED_DATA`:
:class:`~.records.Send` (bytes to write, with the deadline of their reply as
data), :class:`~.records.Delivered` results in operation order,
:class:`~.records.Finished` runs, :class:`~.records.Answered` single requests
and :class:`~.records.Broken` (close the connection).  Time is the injected
``clock``: a driver calls :meth:`ClientCore.expire` when the earliest deadline
(:meth:`ClientCore.next_deadline`, or the one a Send carried) has passed.

Replies are matched to requests the way AMP matches answers to
``_outstandingRequests``: by the 8-byte sender context, or on a connected
(SendUnitData) message by the CPF sequence count (ControlLogix controllers do
not echo the context there).  A reply whose request is known to need nothing
more lets its pipeline send the next request as soon as it is framed, before
it is decoded: the next :class:`~.records.Send` comes out of ``next_event``
first, so the server works on it while this reply is decoded.

Two drivers run this core: :mod:`.client_protocol` (Twisted, the Deferred API
of :mod:`.deferred`) and :mod:`.connector` (a plain socket in the caller's
thread, the original's blocking API).
"""

from __future__ import annotations

import random
import struct
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from cpppo.enip.client import plan
from cpppo.enip.client.batch import Repeat, Run
from cpppo.enip.client.errors import CIPError, ConnectionClosed, EncapsulationError, RequestTimeout
from cpppo.enip.client.plan import CACHE_SIZE, ROUTER, cip_reply
from cpppo.enip.client.records import NEED_DATA, Broken, Owner, Pending, Send, Staged, Ticket
from cpppo.enip.client.shapes import Shapes
from cpppo.enip.codec import cip, encap
from cpppo.enip.codec.codes import Command, Service
from cpppo.enip.codec.connection import NEED_DATA as _FRAMES_NEED_DATA
from cpppo.enip.codec.connection import Connection, Role
from cpppo.enip.codec.errors import RemoteProtocolError
from cpppo.misc import remember

__all__ = ["ClientCore", "Ticket", "Pending", "Owner", "UNCONNECTED_SIZE", "ROUTER", "cip_reply", "frame_key"]

#: The largest CIP message a Logix controller accepts or sends unconnected.
UNCONNECTED_SIZE = 504
_MANAGER = plan.SEND_PATH_DEFAULT
_CONTEXT = struct.Struct("<Q")
_HEADER = encap.HEADER
_SEND_RR_DATA = int(Command.SEND_RR_DATA)
_SEND_UNIT_DATA = int(Command.SEND_UNIT_DATA)
_ANY = object()
# A connected reply's sequence count: after the interface handle, timeout, item count, the address
# item (type, length, connection id) and the data item's type and length.
_SEQUENCE = struct.Struct("<H")
_CONNECTED = struct.Struct("<IHHHHIHHH")   # interface, timeout, items, address item, data item, sequence
_CONNECTED_ADDRESS, _CONNECTED_DATA = 0xA1, 0xB1
_SEQUENCE_AT = 4 + 2 + 2 + 8 + 4
_SEQUENCE_END = _SEQUENCE_AT + 2


def frame_key(frame: encap.Frame) -> Any:
    """How a reply finds its request: the sequence count of a connected message, else the context."""
    if frame.command == Command.SEND_UNIT_DATA and isinstance(frame.body, encap.SendData):
        for item in frame.body.items:
            if isinstance(item, encap.ConnectedData):
                return item.sequence
    return frame.context


class ClientCore:
    """One EtherNet/IP session's protocol state, client side: no I/O, no clock but the one given.

    Args:
        clock: seconds, monotonic (``time.monotonic``, ``reactor.seconds``, a test's fake).
        route_path, send_path: the original's forms (see :func:`.plan.route_path`); with both
            empty requests go plain, for devices that do not route (drives, MicroLogix).
        timeout: each request's default timeout in seconds (None: wait for ever).
    """

    def __init__(self, clock: Callable[[], float], route_path: Any = None, send_path: Any = None,
                 timeout: float | None = None) -> None:
        self.clock = clock
        self.connection = Connection(Role.CLIENT)
        self.route_path = plan.route_path(route_path)
        self.send_path = plan.send_path(send_path)
        self.timeout = timeout
        self.budget = UNCONNECTED_SIZE          # the largest CIP message: less once connected
        #: Unconnected Send's priority/time tick byte and timeout ticks (the original's
        #: --priority-time-tick and --timeout-ticks; set before the first request).
        self.unconnected_timing: tuple[int, int] = (0x0A, 0x0E)
        self.connection_id: int | None = None   # O->T id once a Forward Open succeeded
        self.outstanding: dict[Any, Pending] = {}
        self.closed: BaseException | None = None
        # Pollers repeat the same operations: what an operation means on the wire (a Planned), and
        # the encoded command data of its unconnected frame, are kept, bounded, and reused.
        self.prepared: dict[Any, Any] = {}
        #: What the client learnt of the target's tags (templates, BOOL arrays, string forms).
        self.shapes = Shapes()
        self._bodies: dict[int, tuple[Any, ...]] = {}
        self._messages: dict[int, tuple[cip.Request, bytes]] = {}   # connected requests' bytes, by record
        self._events: deque[Any] = deque()
        #: An event for the driver (the core's parts queue them; drivers only read events).
        self.queue: Callable[[Any], None] = self._events.append
        self._undecoded: tuple[dict[str, Any], Pending | None] | None = None
        self._fresh = False   # bytes received since the connection last needed more
        self._counter = 0
        self._sequence = 0
        self._triad = (random.randrange(1, 0xFFFF), 0x1234, random.randrange(1, 0xFFFFFFFF))

    @property
    def session(self) -> int:
        return self.connection.session

    def timeout_of(self, timeout: float | None) -> float | None:
        """A request's timeout: *timeout*, or the session's default."""
        return self.timeout if timeout is None else timeout

    # --- frames ----------------------------------------------------------------------
    def frame(self, command: int, body: Any = None) -> encap.Frame:
        """A frame of this session with the next sender context."""
        self._counter += 1
        return encap.Frame(command, body if body is not None else encap.Raw(), self.session,
                           context=_CONTEXT.pack(self._counter))

    def message(self, request: cip.Request, route: tuple[Any, ...] | None = None,
                send: tuple[Any, ...] | None = None) -> tuple[encap.Frame, Any]:
        """The frame carrying *request* (connected, Unconnected Send, or plain) and its reply's key."""
        if self.connection_id is not None:
            self._sequence = (self._sequence + 1) & 0xFFFF
            items = (encap.ConnectedAddress(self.connection_id), encap.ConnectedData(self._sequence, request))
            return self.frame(Command.SEND_UNIT_DATA, encap.SendData(items)), self._sequence
        frame = self.frame(Command.SEND_RR_DATA, encap.Raw(self._unconnected(request, route, send)))
        return frame, frame.context

    def _unconnected(self, request: cip.Request, route: tuple[Any, ...] | None,
                     send: tuple[Any, ...] | None) -> bytes:
        """The SendRRData command data carrying *request* (in an Unconnected Send if routed), kept
        for the next time the same request record goes (a poller's are the same records)."""
        route = self.route_path if route is None else route
        send = self.send_path if send is None else send
        cached = self._bodies.get(id(request))
        if cached is not None and cached[0] is request and cached[1] is route and cached[2] is send:
            return cached[3]   # type: ignore[no-any-return]
        message = request
        if route or send:
            message = cip.Request(Service.UNCONNECTED_SEND, send,
                                  body=cip.UnconnectedSend(request, route, *self.unconnected_timing))
        body = encap.encode_body(encap.SendData((encap.NullAddress(), encap.UnconnectedData(message)), timeout=5))
        if len(body) > encap.MAX_LENGTH:
            raise ValueError(f"{len(body)} bytes of command data (at most {encap.MAX_LENGTH})")
        remember(self._bodies, id(request), (request, route, send, body), CACHE_SIZE)
        return body

    def stage(self, request: cip.Request, route: tuple[Any, ...] | None = None,
              send: tuple[Any, ...] | None = None) -> Staged:
        """*request* encoded in its frame, ready for :meth:`send_staged`."""
        if self.connection_id is None:   # (the usual case, built straight from its bytes)
            cached = self._bodies.get(id(request))
            if (cached is not None and cached[0] is request
                    and cached[1] is (self.route_path if route is None else route)
                    and cached[2] is (self.send_path if send is None else send)):
                body = cached[3]
            else:
                body = self._unconnected(request, route, send)
            self._counter += 1
            context = _CONTEXT.pack(self._counter)
            return Staged(_HEADER.pack(_SEND_RR_DATA, len(body), self.connection.session, 0, context, 0) + body,
                          context)
        # On a connection: the request's bytes (kept, as a poller's requests are the same records)
        # after a CPF of its connection id and the next sequence count, as message() lays it out.
        known = self._messages.get(id(request))
        if known is None or known[0] is not request:
            known = remember(self._messages, id(request), (request, request.encode()), CACHE_SIZE)
        encoded = known[1]
        self._sequence = sequence = (self._sequence + 1) & 0xFFFF
        self._counter += 1
        data = _CONNECTED.pack(0, 0, 2, _CONNECTED_ADDRESS, 4, self.connection_id, _CONNECTED_DATA,
                               len(encoded) + 2, sequence) + encoded
        return Staged(_HEADER.pack(_SEND_UNIT_DATA, len(data), self.connection.session, 0,
                                   _CONTEXT.pack(self._counter), 0) + data, sequence)

    # --- sending -------------------------------------------------------------------------
    def send_staged(self, staged: Staged, owner: Owner, timeout: float | None, early: bool = False) -> None:
        """Put a staged request on the wire for *owner*; its timeout runs from now."""
        if self.closed is not None:
            owner.failed(ConnectionClosed("the EtherNet/IP connection is closed"))
            return
        key = staged.key
        if key in self.outstanding:
            owner.failed(ValueError(f"a request with key {key!r} is already outstanding"))
            return
        deadline = None if timeout is None else self.clock() + timeout
        self.outstanding[key] = Pending(owner, deadline, timeout, early)
        self._events.append(Send(staged.data, deadline))

    def request(self, frame: encap.Frame, timeout: float | None = None, key: Any = _ANY) -> Ticket:
        """Send *frame*; its reply (matched by *key*, default its context) comes as an Answered."""
        ticket = Ticket(self, frame.command)
        self.send_staged(Staged(self.connection.send(frame), frame.context if key is _ANY else key), ticket,
                         self.timeout_of(timeout))
        return ticket

    def transact(self, request: cip.Request, route: tuple[Any, ...] | None = None,
                 send: tuple[Any, ...] | None = None, timeout: float | None = None) -> Ticket:
        """Send one CIP request; :func:`cip_reply` of the Answered frame is its reply."""
        frame, key = self.message(request, route, send)
        return self.request(frame, timeout, key)

    def register(self, timeout: float | None = None) -> Ticket:
        """RegisterSession (the session handle is ``session`` once answered)."""
        return self.request(self.frame(Command.REGISTER_SESSION, encap.RegisterSession()), timeout)

    def list_request(self, command: int, timeout: float | None = None) -> Ticket:
        """ListIdentity, ListServices or ListInterfaces over this connection."""
        return self.request(self.frame(command), timeout)

    def unregister(self) -> None:
        """UnRegisterSession, which has no reply (a Send with no deadline)."""
        if self.closed is None:
            frame = self.frame(Command.UNREGISTER_SESSION, encap.RegisterSession())
            self._events.append(Send(self.connection.send(frame), None))

    # --- connected messaging -------------------------------------------------------------
    def forward_open(self, size: int = UNCONNECTED_SIZE, rpi: int = 2_000_000,
                     timeout: float | None = None) -> Ticket:
        """Forward Open a class 3 connection to the Message Router; pass its reply to :meth:`opened`."""
        serial, vendor, originator = self._triad
        large = size > 511
        params = (0x4200 if not large else 0x42000000) | size
        body = cip.ForwardOpen(path=self.route_path + ROUTER, o_t_connection=0,
                               t_o_connection=random.randrange(1, 0xFFFFFFFF), serial=serial, vendor=vendor,
                               originator_serial=originator, multiplier=1, o_t_rpi=rpi, o_t_parameters=params,
                               t_o_rpi=rpi, t_o_parameters=params, large=large)
        service = Service.LARGE_FORWARD_OPEN if large else Service.FORWARD_OPEN
        ticket = self.transact(cip.Request(service, _MANAGER, body=body), (), (), timeout)
        ticket.tag = size
        return ticket

    def opened(self, reply: cip.Reply, size: int) -> int:
        """Forward Open's reply: later requests travel on the connection; its O->T id.

        Raises:
            CIPError: the Forward Open was refused.
        """
        if reply.status or not isinstance(reply.body, cip.ForwardOpenReply):
            raise CIPError(f"Forward Open refused: status 0x{reply.status:02X} {list(reply.extended)}")
        self.connection_id = int(reply.body.o_t_connection)
        self.budget = size - 2
        return self.connection_id

    def forward_close(self, timeout: float | None = None) -> Ticket:
        """Forward Close the connection; requests go unconnected again from now."""
        serial, vendor, originator = self._triad
        body = cip.ForwardClose(self.route_path + ROUTER, serial, vendor, originator)
        self.connection_id = None
        self.budget = UNCONNECTED_SIZE
        return self.transact(cip.Request(Service.FORWARD_CLOSE, _MANAGER, body=body), (), (), timeout)

    # --- pipelines -----------------------------------------------------------------------
    def start_run(self, operations: Iterable[Any], depth: int = 1, multiple: int = 0, fragment: bool = False,
                  timeout: float | None = None, index: int = 0, no_fragment: bool = False,
                  structures: bool = False) -> Run:
        """Start a pipeline of operations (see :class:`~.batch.Run`); its results come as Delivered
        events in operation order, then a Finished.  *structures*: a structure read's value is a dict
        of its members (its template learnt once per connection), not its bytes."""
        run = Run(self, operations, depth=depth, multiple=multiple, fragment=fragment,
                  timeout=self.timeout_of(timeout), index=index, no_fragment=no_fragment, structures=structures)
        if self.closed is not None:
            run.fail(ConnectionClosed("the EtherNet/IP connection is closed"))
        else:
            run.pump()
        return run

    # --- input -----------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` means it closed its side."""
        self.connection.receive_data(data)
        self._fresh = True

    def next_event(self) -> Any:
        """The next event for the driver, or :data:`~.records.NEED_DATA` (send what came, read more).

        Replies are worked out here, one at a time, so that what one of them makes ready to send
        comes out before the next reply is decoded.
        """
        events = self._events
        connection = self.connection
        outstanding = self.outstanding
        while True:
            if events:
                return events.popleft()
            undecoded = self._undecoded
            if undecoded is not None:
                self._undecoded = None
                self._decode(*undecoded)
                continue
            if self.closed is not None or not self._fresh:
                return NEED_DATA
            try:
                framed = connection.next_framed()
            except RemoteProtocolError as exc:
                self._break(exc)
                continue
            if framed is _FRAMES_NEED_DATA:
                self._fresh = False   # (nothing more to frame until more bytes come)
                return NEED_DATA
            if not isinstance(framed, dict):   # CLOSED: the stream ended
                self.connection_lost(ConnectionClosed("the EtherNet/IP connection closed by the peer"))
                continue
            header = framed["header"]
            pending = None
            if header["command"] == _SEND_UNIT_DATA:
                if self._connected_echo(framed):
                    continue
            else:   # matched by the header's context
                pending = outstanding.pop(header["context"], None)
                if pending is not None and pending.early and not header["status"]:
                    owner = pending.owner
                    owner.framed()   # (a failure status fails the request: nothing more goes)
                    if owner.__class__ is Repeat:   # the steady path: a reply in the last good one's bytes
                        echo = owner.planned.echo
                        if echo is not None and echo.payload == framed["payload"] \
                                and header["command"] == _SEND_RR_DATA:
                            connection.frames_received += 1
                            owner.run.repeated(owner, echo)
                            continue
            self._undecoded = (framed, pending)

    def _connected_echo(self, framed: dict[str, Any]) -> bool:
        """The steady path on a connection (see :class:`.batch.Repeat`): a SendUnitData reply in
        its last good reply's bytes but for the sequence count, delivered; False: decode it."""
        payload = framed["payload"]
        if framed["header"]["status"] or len(payload) < _SEQUENCE_END:
            return False
        pending = self.outstanding.get(_SEQUENCE.unpack_from(payload, _SEQUENCE_AT)[0])
        if pending is None or pending.owner.__class__ is not Repeat:
            return False
        owner: Repeat = pending.owner
        echo = owner.planned.echo
        if (echo is None or len(echo.payload) != len(payload) or payload[:_SEQUENCE_AT] != echo.payload[:_SEQUENCE_AT]
                or payload[_SEQUENCE_END:] != echo.payload[_SEQUENCE_END:]):
            return False
        del self.outstanding[_SEQUENCE.unpack_from(payload, _SEQUENCE_AT)[0]]
        self.connection.frames_received += 1
        owner.framed()
        owner.run.repeated(owner, echo)
        return True

    def decoding_next(self) -> bool:
        """Whether the next event is worked out by decoding the last reply received (nothing else is
        queued or buffered): a driver that holds sends back to write several at once sends them now."""
        return not self._events and self._undecoded is not None and not self.connection.buffered

    def _decode(self, framed: dict[str, Any], pending: Pending | None) -> None:
        try:
            frame = self.connection.decode(framed)
        except RemoteProtocolError as exc:
            if pending is not None:
                pending.owner.failed(exc)
            self._break(exc)
            return
        if pending is None:
            pending = self.outstanding.pop(frame_key(frame), None)
            if pending is None:
                return   # a reply to no outstanding request (late, after its timeout): dropped
            if pending.early and not frame.status:
                pending.owner.framed()
        owner = pending.owner
        if frame.status:
            owner.failed(EncapsulationError(frame.status, frame.command, frame))
        elif owner.__class__ is Repeat:   # (its reply is learnt by its bytes: see .batch.Repeat)
            owner.decoded(frame, framed["payload"])
        else:
            owner.answered(frame)

    def _break(self, exc: RemoteProtocolError) -> None:
        """The reply stream cannot be framed: everything outstanding fails, the driver closes."""
        self.connection_lost(exc)
        self._events.append(Broken(exc))

    # --- time and loss ---------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        """The earliest deadline of a request on the wire (None: nothing is due)."""
        outstanding = self.outstanding
        if len(outstanding) == 1:   # (one request at a time)
            for pending in outstanding.values():
                return pending.deadline
        deadlines = [p.deadline for p in outstanding.values() if p.deadline is not None]
        return min(deadlines) if deadlines else None

    def expire(self) -> None:
        """Fail every request past its deadline (by the clock); their late replies are dropped."""
        now = self.clock()
        late = [(key, p) for key, p in self.outstanding.items() if p.deadline is not None and p.deadline <= now]
        for key, pending in late:
            del self.outstanding[key]
            pending.owner.failed(RequestTimeout(f"no reply within {pending.timeout:g} s"))

    def connection_lost(self, reason: BaseException | None = None) -> None:
        """The connection is gone: every outstanding request fails with ConnectionClosed (or *reason*
        if it is one); nothing more can be sent."""
        if self.closed is not None:
            return
        if reason is None or not isinstance(reason, (ConnectionClosed, RemoteProtocolError)):
            reason = ConnectionClosed(f"the EtherNet/IP connection closed{f': {reason}' if reason else ''}")
        self.closed = reason
        outstanding = list(self.outstanding.values())
        self.outstanding.clear()
        self._undecoded = None
        for pending in outstanding:
            pending.owner.failed(reason)

