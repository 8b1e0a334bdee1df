"""The Deferred API of the EtherNet/IP client: ``connect()`` and :class:`EnipClient`.

One registered session on one TCP connection, and every CIP service a script
needs as a method returning a Deferred.  The protocol itself (requests built
from the codec's records, replies matched and parsed, the pipeline) is the
sans-IO :class:`~.core.ClientCore`, driven by :class:`.ClientProtocol`; this
module only turns its answers into Deferreds and values.

Why pipelining: on a link with any latency a client that waits for each reply
spends its time idle.  :meth:`EnipClient.pipeline` keeps up to ``depth``
requests in flight on the connection (matched to replies by sender context)
and, with ``multiple=<bytes>``, packs several operations into one Multiple
Service Packet, so one round trip carries many tag reads.  Results always
come back in operation order, as the original's 6-tuples
``(idx, dsc, req, rpy, sts, val)`` (``req``/``rpy`` being the codec's
``cip.Request`` / ``cip.Reply`` records).

Fragmenting: a read that does not fit the reply budget comes back with status
0x06 and the rest is fetched with Read Tag Fragmented; a write too large for
one request goes as Write Tag Fragmented pieces; ``fragment=True`` forces the
fragmented services; ``no_fragment=True`` forbids them, and then an operation
too large to go plain fails with :class:`~.errors.FragmentRequired`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from twisted.internet import defer, interfaces
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from cpppo.enip.client import plan
from cpppo.enip.client.client_protocol import ClientProtocol
from cpppo.enip.client.core import UNCONNECTED_SIZE
from cpppo.enip.client.errors import CIPError, ConnectionClosed, RequestTimeout
from cpppo.enip.codec import cip, encap, types
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import Command

__all__ = ["EnipClient", "connect", "RequestTimeout", "ConnectionClosed", "CIPError", "UNCONNECTED_SIZE",
           "validate", "operation"]

log = logging.getLogger(__name__)
#: The original client's logger: its summary (NORMAL) and failure (WARNING) lines print its name.
_original_log = logging.getLogger("enip.cli")


def operation(tag: str | dict) -> dict:
    """One operation dict from a tag string (or a copy of a dict)."""
    if isinstance(tag, dict):
        return dict(tag)
    from cpppo.enip.client.operations import parse_operation
    return parse_operation(tag)[0]


class EnipClient:
    """A registered EtherNet/IP session; made by :func:`connect`.

    ``route_path`` / ``send_path`` (given to :func:`connect`) take the original's forms (see
    :func:`.plan.route_path`); with both empty, requests go plain, for devices that do not route.
    """

    def __init__(self, proto: ClientProtocol) -> None:
        self.protocol = proto
        self.core = proto.core
        self.reactor = proto.reactor

    @property
    def session(self) -> int:
        return self.core.session

    @property
    def closed(self) -> bool:
        return self.protocol.closed is not None

    @property
    def connection_id(self) -> int | None:
        return self.core.connection_id

    @property
    def timeout(self) -> float | None:
        return self.core.timeout

    def register(self, timeout: float | None = None) -> defer.Deferred:
        """RegisterSession; fires with the session handle."""
        return self.protocol.ask(self.core.register(timeout)).addCallback(lambda frame: frame.session)

    def transact(self, request: cip.Request, route: tuple | None = None, send: tuple | None = None,
                 timeout: float | None = None) -> defer.Deferred:
        """Send one CIP request; fires with its ``cip.Reply``."""
        return self.protocol.ask(self.core.transact(request, route, send, timeout)).addCallback(plan.cip_reply)

    # --- connected messaging ------------------------------------------------------------
    def forward_open(self, size: int = UNCONNECTED_SIZE, rpi: int = 2_000_000,
                     timeout: float | None = None) -> defer.Deferred:
        """Open a class 3 connection to the Message Router; later requests travel on it."""
        d = self.protocol.ask(self.core.forward_open(size, rpi, timeout)).addCallback(plan.cip_reply)
        return d.addCallback(self.core.opened, size)

    def forward_close(self, timeout: float | None = None) -> defer.Deferred:
        return self.protocol.ask(self.core.forward_close(timeout)).addCallback(plan.cip_reply)

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
                op["tag_type"] = types.type_of(tag_type).code
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
            op["tag_type"] = types.type_of(tag_type).code
        return self._single(op, timeout)

    def list_identity(self, timeout: float | None = None) -> defer.Deferred:
        """ListIdentity over this connection; fires with the ``encap.IdentityItem``."""
        return self._list(Command.LIST_IDENTITY, timeout)

    def list_services(self, timeout: float | None = None) -> defer.Deferred:
        return self._list(Command.LIST_SERVICES, timeout)

    def list_interfaces(self, timeout: float | None = None) -> defer.Deferred:
        return self._list(Command.LIST_INTERFACES, timeout)

    def _list(self, command: int, timeout: float | None) -> defer.Deferred:
        d = self.protocol.ask(self.core.list_request(command, timeout))

        def items(frame: encap.Frame) -> Any:
            found = getattr(frame.body, "items", ())
            if command == Command.LIST_INTERFACES:
                return list(found)
            if not found:
                raise CIPError(f"empty reply to command 0x{command:04X}")
            return found[0]
        return d.addCallback(items)

    # --- many operations ---------------------------------------------------------------
    def pipeline(self, operations: Iterable[Any], depth: int = 1, multiple: int = 0, fragment: bool = False,
                 timeout: float | None = None, index: int = 0, no_fragment: bool = False,
                 structures: bool = True) -> defer.Deferred:
        """Fires with the list of ``(idx, dsc, req, rpy, sts, val)`` in operation order.

        Up to ``depth`` requests are in flight (0 and 1 both mean one at a time); ``multiple``
        > 0 packs operations into Multiple Service Packets of up to that many bytes.  A timeout
        or a lost connection fails the Deferred (:class:`RequestTimeout`, :class:`ConnectionClosed`).
        A structure (UDT) read's value is a list of dicts of its members by name, nested as they are,
        decoded from the Template object (read once per connection); ``structures=False`` gives
        its raw bytes, as the original does.  Logix STRINGs are always text.
        """
        results: list = []
        return self.stream(operations, results.append, depth=depth, multiple=multiple, fragment=fragment,
                           timeout=timeout, index=index, no_fragment=no_fragment,
                           structures=structures).addCallback(lambda _: results)

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
        kwds.setdefault("structures", True)
        return self.protocol.run(operations, deliver, **kwds)

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

        def bye(_: Any) -> Any:
            lost = self.protocol.on_lost
            self.core.unregister()
            self.protocol.drain()
            self.protocol.disconnect()
            return lost
        return d.addCallback(bye)


_END = object()


def _value_or_raise(result: tuple) -> Any:
    idx, dsc, req, rpy, sts, val = result
    if val is None:
        raise CIPError(f"{dsc.strip()}: status {sts!r}")
    return val


def validate(result: tuple, printing: bool = False) -> tuple:
    """Log (and maybe print) the original's summary line; a write's value becomes its data."""
    idx, dsc, req, rpy, sts, val = result
    line, shown = plan.summary(result_op(result), req, rpy, val)
    if rpy is not None and rpy.status:
        _original_log.warning("Client %s returned non-zero status: %s", dsc, line.rpartition(": ")[2].strip("'"))
    _original_log.normal(line)  # type: ignore[attr-defined]
    if printing:
        print(line, flush=True)
    if val is True and isinstance(req.body, (logix.WriteTag, logix.WriteTagFragmented, logix.ReadModifyWrite)):
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
    proto = ClientProtocol(reactor, route_path, send_path, timeout)
    d = connectProtocol(endpoint, proto)
    if timeout:
        d.addTimeout(timeout, reactor)

    def connected_(_: Any) -> defer.Deferred:
        client = EnipClient(proto)

        def registered(_: Any) -> Any:
            if connected:
                return client.forward_open(connection_size).addCallback(lambda _: client)
            return client

        def abandon(failure: Any) -> Any:
            transport = proto.transport
            if interfaces.ITCPTransport.providedBy(transport):   # (the endpoint's: a TCP connection, or None)
                transport.abortConnection()
            return failure
        return client.register().addCallback(registered).addErrback(abandon)
    return d.addCallback(connected_)
