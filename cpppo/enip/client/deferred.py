"""The EtherNet/IP client on Deferreds: ``connect()`` and the pipelining engine.

One registered session on one TCP connection, and every CIP service a script
needs as a method returning a Deferred.  Requests are built from the codec's
records (through :mod:`.plan`) and replies parsed by the client-side
:class:`~cpppo.enip.codec.connection.Connection` inside :class:`.ClientProtocol`;
there is no other copy of the protocol.

Why pipelining: on a link with any latency a client that waits for each reply
spends its time idle.  :meth:`EnipClient.pipeline` keeps up to ``depth``
requests in flight on the connection (matched to replies by sender context)
and, with ``multiple=<bytes>``, packs several operations into one Multiple
Service Packet, so one round trip carries many tag reads.  Results always
come back in operation order, as the original's 6-tuples
``(idx, dsc, req, rpy, sts, val)`` (``req``/``rpy`` being the codec's
``cip.Request`` / ``cip.Reply`` records).

The engine that runs many operations is :class:`.engine.Run`.

Fragmenting: a read that does not fit the reply budget comes back with status
0x06 and the rest is fetched with Read Tag Fragmented; a write too large for
one request goes as Write Tag Fragmented pieces; ``fragment=True`` forces the
fragmented services; ``no_fragment=True`` forbids them, and then an operation
too large to go plain fails with :class:`~.plan.FragmentRequired`.
"""

from __future__ import annotations

import logging
import random
from typing import Any, AsyncIterator, Callable, Iterable

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from cpppo.misc import remember
from cpppo.enip.codec import cip, encap, tag_services as logix
from cpppo.enip.client import plan
from cpppo.enip.client.batch import CACHE_SIZE, ROUTER, Run, operation
from cpppo.enip.client.client_protocol import ClientProtocol, ConnectionClosed, RequestTimeout

__all__ = ["EnipClient", "connect", "RequestTimeout", "ConnectionClosed", "CIPError", "UNCONNECTED_SIZE"]

log = logging.getLogger(__name__)

#: The largest CIP message a Logix controller accepts or sends unconnected.
UNCONNECTED_SIZE = 504
_MANAGER = plan.SEND_PATH_DEFAULT


class CIPError(RuntimeError):
    """A CIP service (Forward Open, a list request...) answered with a failure status."""


class EnipClient:
    """A registered EtherNet/IP session; made by :func:`connect`.

    ``route_path`` / ``send_path`` take the original's forms (see :func:`.plan.route_path`);
    with both empty, requests go plain, for devices that do not route (drives, MicroLogix).
    """

    def __init__(self, proto: ClientProtocol, route_path: Any = None, send_path: Any = None,
                 timeout: float | None = None) -> None:
        self.protocol = proto
        self.reactor = proto.reactor
        self.route_path = plan.route_path(route_path)
        self.send_path = plan.send_path(send_path)
        self.timeout = timeout
        self.budget = UNCONNECTED_SIZE
        self.connection_id: int | None = None   # O->T id once a Forward Open succeeded
        self._sequence = 0
        self._triad = (random.randrange(1, 0xFFFF), 0x1234, random.randrange(1, 0xFFFFFFFF))
        # Pollers repeat the same operations: what an operation means on the wire (its records, and
        # the encoded command data of its unconnected frame) is kept, bounded, and reused.
        self.prepared: dict[Any, tuple] = {}
        self._bodies: dict[int, tuple] = {}

    # --- transport -----------------------------------------------------------------------
    @property
    def session(self) -> int:
        return self.protocol.session

    @property
    def closed(self) -> bool:
        return self.protocol.closed is not None

    def _timeout(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout

    def frame(self, command: int, body: Any = None) -> encap.Frame:
        return encap.Frame(command, body if body is not None else encap.Raw(), self.session,
                           context=self.protocol.next_context())

    def register(self, timeout: float | None = None) -> defer.Deferred:
        """RegisterSession; fires with the session handle."""
        d = self.protocol.request(self.frame(encap.REGISTER_SESSION, encap.RegisterSession()),
                                  self._timeout(timeout))
        return d.addCallback(lambda frame: frame.session)

    def message(self, request: cip.Request, route: tuple | None = None, send: tuple | None = None,
                timeout: float | None = None) -> tuple[encap.Frame, Any]:
        """The frame carrying *request* (connected, Unconnected Send, or plain) and its reply key."""
        if self.connection_id is not None:
            self._sequence = (self._sequence + 1) & 0xFFFF
            items = (encap.ConnectedAddress(self.connection_id), encap.ConnectedData(self._sequence, request))
            frame = encap.Frame(encap.SEND_UNIT_DATA, encap.SendData(items), self.session,
                                context=self.protocol.next_context())
            return frame, self._sequence
        route = self.route_path if route is None else route
        send = self.send_path if send is None else send
        cached = self._bodies.get(id(request))
        if cached is not None and cached[0] is request and cached[1] is route and cached[2] is send:
            body = cached[3]
        else:
            message = request
            if route or send:
                message = cip.Request(0x52, send, body=cip.UnconnectedSend(request, route))
            body = encap.Raw(encap.encode_body(encap.SendData((encap.NullAddress(), encap.UnconnectedData(message)),
                                                              timeout=5)))
            remember(self._bodies, id(request), (request, route, send, body), CACHE_SIZE)
        frame = encap.Frame(encap.SEND_RR_DATA, body, self.session, context=self.protocol.next_context())
        return frame, frame.context

    def transact(self, request: cip.Request, route: tuple | None = None, send: tuple | None = None,
                 timeout: float | None = None, framed: Callable[[], Any] | None = None) -> defer.Deferred:
        """Send one CIP request; fires with its ``cip.Reply``.  *framed*: see
        :meth:`.ClientProtocol.request` (called when the reply is in, before it is decoded)."""
        return self.transact_staged(self.stage(request, route, send), timeout, framed)

    def stage(self, request: cip.Request, route: tuple | None = None, send: tuple | None = None) -> tuple:
        """*request* made ready to send: ``(bytes, key, deferred)``, the Deferred firing with its
        ``cip.Reply`` once :meth:`transact_staged` has sent it and the reply is in."""
        frame, key = self.message(request, route, send)
        protocol = self.protocol
        return protocol.connection.send(frame), key, protocol.expect(key).addCallback(_cip_reply)

    def transact_staged(self, staged: tuple, timeout: float | None = None,
                        framed: Callable[[], Any] | None = None) -> defer.Deferred:
        """Send a request :meth:`stage` made ready; returns its Deferred.  A pipeline stages its
        next request while it waits for a place on the wire, so that only the sending is left to
        do when a reply comes in.  (A connected request carries the sequence count it was staged
        with: send staged requests in the order staged where you can; a pipeline sends the rest of
        a partial read, staged later, before a request staged earlier.)"""
        data, key, d = staged
        return self.protocol.send_request(data, key, self._timeout(timeout), framed, d)

    # --- connected messaging ------------------------------------------------------------
    def forward_open(self, size: int = UNCONNECTED_SIZE, rpi: int = 2_000_000,
                     timeout: float | None = None) -> defer.Deferred:
        """Open a class 3 connection to the Message Router; later requests travel on it."""
        serial, vendor, originator = self._triad
        large = size > 511
        params = (0x4200 if not large else 0x42000000) | size
        body = cip.ForwardOpen(path=self.route_path + ROUTER, o_t_connection=0,
                               t_o_connection=random.randrange(1, 0xFFFFFFFF), serial=serial, vendor=vendor,
                               originator_serial=originator, multiplier=1, o_t_rpi=rpi, o_t_parameters=params,
                               t_o_rpi=rpi, t_o_parameters=params, large=large)
        request = cip.Request(0x5B if large else 0x54, _MANAGER, body=body)

        def opened(reply: cip.Reply) -> int:
            if reply.status or not isinstance(reply.body, cip.ForwardOpenReply):
                raise CIPError(f"Forward Open refused: status 0x{reply.status:02X} {list(reply.extended)}")
            self.connection_id = reply.body.o_t_connection
            self.budget = size - 2
            return self.connection_id
        return self.transact(request, (), (), timeout).addCallback(opened)

    def forward_close(self, timeout: float | None = None) -> defer.Deferred:
        serial, vendor, originator = self._triad
        body = cip.ForwardClose(self.route_path + ROUTER, serial, vendor, originator)
        self.connection_id = None
        self.budget = UNCONNECTED_SIZE
        return self.transact(cip.Request(0x4E, _MANAGER, body=body), (), (), timeout)

    # --- single services --------------------------------------------------------------
    def _single(self, op: dict, timeout: float | None = None, **kwds: Any) -> defer.Deferred:
        d = self.pipeline([op], timeout=timeout, **kwds)
        return d.addCallback(lambda results: _value_or_raise(results[0]))

    def read(self, tag: str | dict, elements: int | None = None, offset: int | None = None,
             timeout: float | None = None, **kwds: Any) -> defer.Deferred:
        """Read a tag (``"SCADA[0-9]"`` or an operation dict); fires with its list of values."""
        op = operation(tag)
        if elements is not None:
            op["elements"] = elements
        if offset is not None:
            op["offset"] = offset
        return self._single(op, timeout, **kwds)

    def write(self, tag: str | dict, data: list | None = None, tag_type: int | str | None = None,
              elements: int | None = None, offset: int | None = None, timeout: float | None = None,
              **kwds: Any) -> defer.Deferred:
        """Write ``"SCADA[1-2]=(DINT)3,4"``, or *data* to a tag; fires with True."""
        op = operation(tag)
        if data is not None:
            op.update(method="write", data=list(data), elements=elements or op.get("elements") or len(data))
            if tag_type is not None:
                op["tag_type"] = plan.types.type_of(tag_type).code
        if offset is not None:
            op["offset"] = offset
        op["method"] = "write"
        return self._single(op, timeout, **kwds)

    def get_attribute_single(self, path: str | dict, timeout: float | None = None) -> defer.Deferred:
        """Get Attribute Single (``"@1/1/7"``); fires with the raw bytes as a list of ints."""
        return self._single(dict(operation(path), method="get_attribute_single"), timeout)

    def get_attributes_all(self, path: str | dict, timeout: float | None = None) -> defer.Deferred:
        return self._single(dict(operation(path), method="get_attributes_all"), timeout)

    def set_attribute_single(self, path: str | dict, data: list | None = None, tag_type: int | str | None = None,
                             timeout: float | None = None) -> defer.Deferred:
        """Set Attribute Single (``"@1/1/7=(SSTRING)name"``, or *data* of *tag_type*, default USINT)."""
        op = dict(operation(path), method="set_attribute_single")
        if data is not None:
            op["data"] = list(data)
        if tag_type is not None:
            op["tag_type"] = plan.types.type_of(tag_type).code
        return self._single(op, timeout)

    def list_identity(self, timeout: float | None = None) -> defer.Deferred:
        """ListIdentity over this connection; fires with the ``encap.IdentityItem``."""
        return self._list(encap.LIST_IDENTITY, timeout)

    def list_services(self, timeout: float | None = None) -> defer.Deferred:
        return self._list(encap.LIST_SERVICES, timeout)

    def list_interfaces(self, timeout: float | None = None) -> defer.Deferred:
        return self._list(encap.LIST_INTERFACES, timeout)

    def _list(self, command: int, timeout: float | None) -> defer.Deferred:
        d = self.protocol.request(self.frame(command), self._timeout(timeout))

        def items(frame: encap.Frame) -> Any:
            found = getattr(frame.body, "items", ())
            if command == encap.LIST_INTERFACES:
                return list(found)
            if not found:
                raise CIPError(f"empty reply to command 0x{command:04X}")
            return found[0]
        return d.addCallback(items)

    # --- many operations ---------------------------------------------------------------
    def pipeline(self, operations: Iterable[Any], depth: int = 1, multiple: int = 0, fragment: bool = False,
                 timeout: float | None = None, index: int = 0, no_fragment: bool = False) -> defer.Deferred:
        """Fires with the list of ``(idx, dsc, req, rpy, sts, val)`` in operation order.

        Up to ``depth`` requests are in flight (0 and 1 both mean one at a time); ``multiple``
        > 0 packs operations into Multiple Service Packets of up to that many bytes.  A timeout
        or a lost connection fails the Deferred (:class:`RequestTimeout`, :class:`ConnectionClosed`).
        """
        results: list = []
        return self.stream(operations, results.append, depth=depth, multiple=multiple, fragment=fragment,
                           timeout=timeout, index=index, no_fragment=no_fragment).addCallback(lambda _: results)

    def synchronous(self, operations: Iterable[Any], **kwds: Any) -> defer.Deferred:
        """As :meth:`pipeline`, one request at a time."""
        kwds["depth"] = 1
        return self.pipeline(operations, **kwds)

    def operate(self, operations: Iterable[Any], depth: int = 0, validating: bool = False, printing: bool = False,
                **kwds: Any) -> defer.Deferred:
        """As :meth:`pipeline`; ``validating`` logs each result's summary (and ``printing`` prints it)
        and makes a successful write's value the data written, as the original's validate does."""
        d = self.pipeline(operations, depth=depth, **kwds)
        if validating or printing:
            d.addCallback(lambda results: [validate(r, printing) for r in results])
        return d

    def results(self, operations: Iterable[Any], **kwds: Any) -> defer.Deferred:
        """Fires with just the values, in operation order (None for a failed operation)."""
        return self.operate(operations, **kwds).addCallback(lambda rs: [r[5] for r in rs])

    def process(self, operations: Iterable[Any], **kwds: Any) -> defer.Deferred:
        """Fires with ``(failures, [value, ...])``."""
        return self.results(operations, **kwds).addCallback(
            lambda values: (sum(1 for v in values if v is None), values))

    def stream(self, operations: Iterable[Any], deliver: Callable[[tuple], None], **kwds: Any) -> defer.Deferred:
        """Run the operations, calling ``deliver(result)`` with each 6-tuple in operation order as
        soon as it (and all before it) arrived; fires with None when all are done."""
        return Run(self, operations, deliver, **kwds).start()

    def __aiter__(self) -> AsyncIterator[tuple]:  # pragma: no cover - documented in iterate()
        raise TypeError("use client.iterate(operations, ...) for an async iterator")

    async def iterate(self, operations: Iterable[Any], **kwds: Any) -> AsyncIterator[tuple]:
        """An async iterator over the 6-tuples as they arrive (with Twisted's asyncio-compatible
        Deferreds: ``async for result in client.iterate(ops)`` inside ``Deferred.fromCoroutine``)."""
        queue: defer.DeferredQueue = defer.DeferredQueue()
        done = self.stream(operations, queue.put, **kwds)
        finished: list = []

        def end(result: Any) -> None:
            finished.append(result)
            queue.put(_END)
        done.addBoth(end)
        while True:
            item = await queue.get()
            if item is _END:
                break
            yield item
        failure = finished[0]
        if isinstance(failure, defer.Failure):
            failure.raiseException()

    def close(self, timeout: float | None = None) -> defer.Deferred:
        """Forward Close (if connected), UnRegisterSession, and close the TCP connection; fires
        when it is closed."""
        if self.closed:
            return defer.succeed(None)
        d = defer.succeed(None)
        if self.connection_id is not None:
            d = self.forward_close(timeout or 1.0)
            d.addErrback(lambda _: None)

        def bye(_: Any) -> defer.Deferred:
            lost = self.protocol.on_lost
            self.protocol.send_only(self.frame(encap.UNREGISTER_SESSION, encap.RegisterSession()))
            if self.protocol.transport is not None:
                self.protocol.transport.loseConnection()
            return lost if lost is not None else None
        return d.addCallback(bye)


_END = object()


def _cip_reply(frame: encap.Frame) -> cip.Reply:
    body = frame.body
    for item in getattr(body, "items", ()):
        message = getattr(item, "message", None)
        if isinstance(message, cip.Reply):
            return message
        if message is not None and hasattr(message, "error"):
            raise message.error
    raise CIPError(f"no CIP reply in the frame to command 0x{frame.command:04X}")


def _value_or_raise(result: tuple) -> Any:
    idx, dsc, req, rpy, sts, val = result
    if val is None:
        raise CIPError(f"{dsc.strip()}: status {sts!r}")
    return val


def validate(result: tuple, printing: bool = False) -> tuple:
    """Log (and maybe print) the original's summary line; a write's value becomes its data."""
    idx, dsc, req, rpy, sts, val = result
    line, shown = plan.summary(result_op(result), req, rpy, val)
    log.info(line)
    if rpy is not None and rpy.status:
        log.warning("Client %s returned non-zero status: %s", dsc, line.rpartition(": ")[2].strip("'"))
    if printing:
        print(line, flush=True)
    if val is True and isinstance(req.body, (logix.WriteTag, logix.WriteTagFragmented)):
        val = shown
    return idx, dsc, req, rpy, sts, val


def result_op(result: tuple) -> dict:
    """The operation a result came from (carried on the result's description)."""
    return getattr(result[1], "op", None) or {"path": plan.to_original(result[2].path)}


def connect(host: str, port: int = 44818, timeout: float | None = None, reactor: Any = None,
            route_path: Any = None, send_path: Any = None, connected: bool = False,
            connection_size: int = UNCONNECTED_SIZE) -> defer.Deferred:
    """Connect, RegisterSession (and Forward Open if *connected*); fires with an :class:`EnipClient`.

    *timeout* bounds the TCP connect and each request's reply (None: wait forever).
    """
    if reactor is None:
        from twisted.internet import reactor as default
        reactor = default
    endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=max(timeout, 0.1) if timeout else 30)
    proto = ClientProtocol(reactor)
    d = connectProtocol(endpoint, proto)
    if timeout:
        d.addTimeout(timeout, reactor)

    def connected_(_: Any) -> defer.Deferred:
        client = EnipClient(proto, route_path, send_path, timeout)

        def registered(_: Any) -> Any:
            if connected:
                return client.forward_open(connection_size).addCallback(lambda _: client)
            return client

        def abandon(failure: Any) -> Any:
            if proto.transport is not None:
                proto.transport.abortConnection()
            return failure
        return client.register().addCallback(registered).addErrback(abandon)
    return d.addCallback(connected_)
