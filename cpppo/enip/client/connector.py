"""``client.connector``: the original's blocking client API, on the Deferred client.

Scripts written for the original cpppo use ``with client.connector(host=...)
as conn:`` and its generators (``pipeline``, ``synchronous``, ``operate``,
``results``, ``process``) or the low-level calls (``read``, ``write``,
``get_attribute_single``... which issue a request and return it, the reply
harvested with ``readable()`` and ``next(conn)``).  All of it runs the one
Deferred client (:mod:`.pipeline`) on the shared reactor thread of
:mod:`cpppo.blocking`: there is no second implementation of the protocol and
no select loop here, only hand-offs between the caller's thread and the
reactor's.

The 6-tuples the generators yield carry the original's dotdict layouts for
``req`` and ``rpy`` (``rpy.status``, ``'read_frag' in rpy``...), so scripts that
inspect them keep working.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterable, Iterator

from twisted.python.failure import Failure

from cpppo import blocking
from cpppo.dotdict import dotdict
from cpppo.enip.codec import cip, encap, tag_services as logix, types
from cpppo.enip.codec.view import cip_reply_view, reply_view
from cpppo.enip.client import deferred as pipeline, plan
from cpppo.enip.client.operations import parse_operations

__all__ = ["connector", "identity_view"]

_END = object()


def _view(result: tuple) -> tuple:
    idx, dsc, req, rpy, sts, val = result
    return idx, dsc, plan.request_view(req), cip_reply_view(rpy), sts, val


def identity_view(item: encap.IdentityItem) -> dotdict:
    """A ListIdentity reply's identity as the original lays it out (``product_name``, ``sin_addr``...)."""
    view = dotdict()
    view["version"] = item.version
    view["sin_family"] = item.family
    view["sin_port"] = item.port
    view["sin_addr"] = item.address
    view["vendor_id"] = item.vendor_id
    view["device_type"] = item.device_type
    view["product_code"] = item.product_code
    view["product_revision"] = item.revision[0] | item.revision[1] << 8
    view["status_word"] = item.status
    view["serial_number"] = item.serial_number
    view["product_name"] = item.product_name
    view["state"] = item.state
    return view


def _list_view(frame: encap.Frame, peer: Any = None) -> dotdict:
    name = {encap.LIST_IDENTITY: "list_identity", encap.LIST_SERVICES: "list_services",
            encap.LIST_INTERFACES: "list_interfaces"}.get(frame.command, "legacy")
    view = dotdict()
    view["enip.command"] = frame.command
    view["enip.session_handle"] = frame.session
    view["enip.status"] = frame.status
    view["enip.options"] = frame.options
    if peer is not None:
        view["peer"] = peer
    items = []
    for item in getattr(frame.body, "items", ()):
        one = dotdict()
        if isinstance(item, encap.IdentityItem):
            one["type_id"] = 0x0C
            one["identity_object"] = identity_view(item)
        elif isinstance(item, encap.ServicesItem):
            one["type_id"] = 0x100
            one["communications_service.version"] = item.version
            one["communications_service.capability"] = item.capability
            one["communications_service.service_name"] = item.name
        else:
            one["type_id"] = getattr(item, "type_id", 0)
        items.append(one)
    view[f"enip.CIP.{name}.CPF.count"] = len(items)
    view[f"enip.CIP.{name}.CPF.item"] = items
    return view


class connector:
    """A registered EtherNet/IP session for blocking code (a context manager).

    ``connector(host, port=44818, timeout=None, route_path=None, send_path=None,
    connected=False)``; raises (``TimeoutError``, ``ConnectionError``...) if it cannot
    connect and register within *timeout*.
    """

    route_path_default = [{"port": 1, "link": 0}]
    send_path_default = "@6/1"

    def __init__(self, host: str = "localhost", port: int | None = None, timeout: float | None = None,
                 route_path: Any = None, send_path: Any = None, connected: bool = False, **kwds: Any) -> None:
        if port is None and isinstance(host, str) and host.count(":") == 1:
            host, _, text = host.partition(":")   # "host:port", as the CLI's --address takes it
            port = int(text) if text else None
        self.host = host = host or "localhost"
        self.port = port or 44818
        self.timeout = timeout
        self.addr = (host, self.port)
        self._replies: queue.Queue = queue.Queue()
        self._peeked: list = []
        self._lock = threading.Lock()
        wait = None if timeout is None else timeout * 2 + 1
        self.client: pipeline.EnipClient = blocking.call(
            self._connect, host, self.port, timeout, route_path, send_path, connected, timeout=wait)
        self.session = self.client.session

    @staticmethod
    def _connect(host: str, port: int, timeout: float | None, route_path: Any, send_path: Any,
                 connected: bool) -> Any:
        return pipeline.connect(host, port, timeout=timeout, reactor=blocking.get_reactor(),
                                route_path=route_path, send_path=send_path, connected=connected)

    def __enter__(self) -> "connector":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<connector {self.host}:{self.port} session 0x{self.session:08X}>"

    def close(self) -> None:
        """UnRegister and close the connection (idempotent)."""
        client = self.client
        if client is not None and not client.closed:
            try:
                blocking.call(client.close, timeout=5.0)
            except (TimeoutError, ConnectionError):
                pass

    shutdown = close

    # --- the documented high-level API ----------------------------------------------
    def _stream(self, operations: Iterable[Any], timeout: float | None = None, **kwds: Any) -> Iterator[tuple]:
        """Run operations on the reactor; yield ``(result, view)`` here as they arrive: the record
        6-tuple and the same with the original's dotdict views of its request and reply.

        The views are made on the reactor thread, once the next request has gone: there they
        overlap the round trip, where on this thread they would hold the GIL while the reactor
        thread waits for it with a reply in hand."""
        ops = list(operations)   # iterated here, never on the reactor thread (it may read a file)
        results: queue.Queue = queue.Queue()
        timeout = self.timeout if timeout is None else timeout
        put = results.put
        future = blocking.submit(self.client.stream, ops, lambda result: put((result, _view(result))),
                                 timeout=timeout, **kwds)
        future.add_done_callback(lambda _: results.put(_END))
        while True:
            item = results.get()
            if item is _END:
                break
            yield item
        future.result()

    def synchronous(self, operations: Iterable[Any], index: int = 0, fragment: bool = False, multiple: int = 0,
                    timeout: float | None = None, **kwds: Any) -> Iterator[tuple]:
        """Issue the operations one at a time; yield ``(idx, dsc, req, rpy, sts, val)`` for each."""
        for _, view in self._stream(operations, timeout, index=index, fragment=fragment, multiple=multiple,
                                    depth=1, **kwds):
            yield view

    def pipeline(self, operations: Iterable[Any], index: int = 0, fragment: bool = False, multiple: int = 0,
                 timeout: float | None = None, depth: int = 1, **kwds: Any) -> Iterator[tuple]:
        """Issue the operations with up to ``depth`` requests in flight; yield each 6-tuple in order."""
        for _, view in self._stream(operations, timeout, index=index, fragment=fragment, multiple=multiple,
                                    depth=depth, **kwds):
            yield view

    def validate(self, harvested: Iterable[tuple], printing: bool = False) -> Iterator[tuple]:
        """Log (and print) each result's summary line; a write's value becomes the data written."""
        for result in harvested:
            yield pipeline.validate(result, printing)

    def operate(self, operations: Iterable[Any], depth: int = 0, printing: bool = False, validating: bool = False,
                timeout: float | None = None, **kwds: Any) -> Iterator[tuple]:
        """pipeline (or synchronous, at depth 0), validated if ``printing`` or ``validating``."""
        for result, view in self._stream(operations, timeout, depth=depth or 1, **kwds):
            if printing or validating:
                view = view[:5] + (pipeline.validate(result, printing)[5],)
            yield view

    def results(self, operations: Iterable[Any], **kwds: Any) -> Iterator[Any]:
        """Just the values (None for a failure)."""
        for result in self.operate(operations, **kwds):
            yield result[5]

    def process(self, operations: Iterable[Any], **kwds: Any) -> tuple[int, list]:
        """``(failures, [value, ...])``."""
        values = list(self.results(operations, **kwds))
        return sum(1 for v in values if v is None), values

    # --- the low-level API: issue a request, harvest the reply with next(conn) -------
    def _issue(self, request: cip.Request, route_path: Any, send_path: Any, timeout: float | None) -> None:
        client = self.client
        route = plan.route_path(route_path) if route_path is not None else None
        send = plan.send_path(send_path) if send_path is not None else None
        frame, key = client.message(request, route, send)
        d = client.protocol.request(frame, client._timeout(timeout), key)
        d.addBoth(self._replies.put)

    def _issue_frame(self, command: int) -> None:
        frame = self.client.frame(command)
        d = self.client.protocol.request(frame, self.client._timeout(None))
        d.addBoth(self._replies.put)

    def _send(self, request: cip.Request, route_path: Any = None, send_path: Any = None,
              timeout: float | None = None) -> dotdict:
        blocking.call(self._issue, request, route_path, send_path, timeout, timeout=10.0)
        return plan.request_view(request)

    def read(self, path: Any, elements: int = 1, offset: int | None = 0, route_path: Any = None,
             send_path: Any = None, timeout: float | None = None, **kwds: Any) -> dotdict:
        """Issue Read Tag Fragmented (Read Tag if *offset* is None); returns the request."""
        return self._send(plan.read_request(_segments(path), elements, offset), route_path, send_path, timeout)

    def write(self, path: Any, data: list, elements: int = 1, offset: int | None = 0, tag_type: int | None = None,
              route_path: Any = None, send_path: Any = None, timeout: float | None = None, **kwds: Any) -> dotdict:
        """Issue Write Tag Fragmented (Write Tag if *offset* is None); returns the request."""
        kind = types.type_of(tag_type or types.INT.code)
        encoded = kind.encode(data)
        elements = max(elements or 1, len(data)) if offset is None else elements
        body = (logix.WriteTag(kind.code, elements, encoded) if offset is None
                else logix.WriteTagFragmented(kind.code, elements, offset, encoded))
        request = cip.Request(plan.WRITE_TAG if offset is None else plan.WRITE_FRAG, _segments(path), body=body)
        return self._send(request, route_path, send_path, timeout)

    def get_attribute_single(self, path: Any, route_path: Any = None, send_path: Any = None,
                             timeout: float | None = None, **kwds: Any) -> dotdict:
        return self._send(cip.Request(plan.GET_ATTRIBUTE_SINGLE, _segments(path)), route_path, send_path, timeout)

    def get_attributes_all(self, path: Any, route_path: Any = None, send_path: Any = None,
                           timeout: float | None = None, **kwds: Any) -> dotdict:
        return self._send(cip.Request(plan.GET_ATTRIBUTES_ALL, _segments(path)), route_path, send_path, timeout)

    def set_attribute_single(self, path: Any, data: list, elements: int = 1, tag_type: int | None = None,
                             route_path: Any = None, send_path: Any = None, timeout: float | None = None,
                             **kwds: Any) -> dotdict:
        kind = types.type_of(tag_type or types.USINT.code)
        request = cip.Request(plan.SET_ATTRIBUTE_SINGLE, _segments(path), data=kind.encode(data))
        return self._send(request, route_path, send_path, timeout)

    def list_identity(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        blocking.call(self._issue_frame, encap.LIST_IDENTITY, timeout=10.0)
        return dotdict({"list_identity": True})

    def list_services(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        blocking.call(self._issue_frame, encap.LIST_SERVICES, timeout=10.0)
        return dotdict({"list_services": True})

    def list_interfaces(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        blocking.call(self._issue_frame, encap.LIST_INTERFACES, timeout=10.0)
        return dotdict({"list_interfaces": True})

    def readable(self, timeout: float | None = None) -> bool:
        """True once a reply (or a failure) is waiting for ``next(conn)``."""
        with self._lock:
            if self._peeked:
                return True
            try:
                self._peeked.append(self._replies.get(timeout=timeout))
            except queue.Empty:
                return False
            return True

    def __iter__(self) -> "connector":
        return self

    def __next__(self) -> dotdict | None:
        """The next reply, as the original's dotdict; None if none arrives within the timeout.

        A reply that failed (timeout, closed connection) raises its error here.
        """
        if not self.readable(self.timeout):
            return None
        with self._lock:
            result = self._peeked.pop(0)
        if isinstance(result, Failure):
            result.raiseException()
        if isinstance(result.body, encap.SendData):
            return reply_view(result, self.addr)
        return _list_view(result, self.addr)

    next = __next__


def _segments(path: Any) -> tuple:
    if isinstance(path, str):
        (op,) = list(parse_operations([path]))
        path = op["path"]
    return plan.from_original(path)
