"""``client.connector``: the original's blocking client API, on a plain socket in the caller's thread.

Scripts written for the original cpppo use ``with client.connector(host=...)
as conn:`` and its generators (``pipeline``, ``synchronous``, ``operate``,
``results``, ``process``) or the low-level calls (``read``, ``write``,
``get_attribute_single``... which issue a request and return it, the reply
harvested with ``readable()`` and ``next(conn)``).  The protocol is the
sans-IO :class:`~.core.ClientCore`, the same one the Deferred API drives; this
module is its second driver: it writes what the core says to send, reads what
the socket has (waiting no longer than the core's earliest deadline, with
``poll``) and hands the core's results to the caller.  No reactor, no thread.

Errors are the ones scripts catch: ``OSError`` (``socket.error``) when the
host cannot be reached, :class:`~.errors.RequestTimeout` (a ``TimeoutError``,
that is ``socket.timeout``) when a reply is late, and
:class:`~.errors.ConnectionClosed` (a ``ConnectionError``) when the connection
goes.  The 6-tuples the generators yield carry the original's dotdict layouts
for ``req`` and ``rpy`` (``rpy.status``, ``'read_frag' in rpy``...).
"""

from __future__ import annotations

import functools
import select
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from cpppo.dotdict import dotdict
from cpppo.enip.client import deferred, plan
from cpppo.enip.client.core import ClientCore, Ticket
from cpppo.enip.client.errors import ConnectionClosed
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.client.records import NEED_DATA, Answered, Broken, Delivered, Result, Send
from cpppo.enip.client.views import identity_view, list_view, result_view
from cpppo.enip.codec import cip, encap, types
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import Command
from cpppo.enip.codec.view import reply_view
from cpppo.misc import remember

__all__ = ["connector", "identity_view", "list_view"]

_HARVEST = object()   # the tag of a low-level request, whose reply waits for next(conn)
_SLICE = 1.0          # seconds: the kernel's receive timeout, where it can be set
_TIMEVAL = struct.Struct("@ll")


def _receive_timeout(sock: socket.socket) -> float | None:
    """Give *sock* a receive timeout of :data:`_SLICE` (Linux), so that a wait longer than that
    needs no poll before each recv (a system call per read): a recv returns by then, and the
    caller waits again.  The slice, or None where it cannot be set (every wait then polls)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TIMEVAL.pack(int(_SLICE), 0))
    except (OSError, AttributeError):
        return None
    return _SLICE


class connector:
    """A registered EtherNet/IP session for blocking code (a context manager).

    ``connector(host, port=44818, timeout=None, route_path=None, send_path=None,
    connected=False, structures=False)``; raises (``TimeoutError``, ``ConnectionRefusedError``...)
    if it cannot connect and register within *timeout*.

    A structure (UDT) read gives its raw bytes, as the original's does, unless ``structures=True``
    (here, or to one ``pipeline``/``operate``/``results`` call): then a dict of its members by name,
    nested as they are, decoded from the Template object (read once per connection).  Logix
    STRINGs always read as text.
    """

    route_path_default = [{"port": 1, "link": 0}]
    send_path_default = "@6/1"

    def __init__(self, host: str = "localhost", port: int | None = None, timeout: float | None = None,
                 route_path: Any = None, send_path: Any = None, connected: bool = False, structures: bool = False,
                 **kwds: Any) -> None:
        if port is None and isinstance(host, str) and host.count(":") == 1:
            host, _, text = host.partition(":")   # "host:port", as the CLI's --address takes it
            port = int(text) if text else None
        self.host = host = host or "localhost"
        self.port = port or 44818
        self.timeout = timeout
        self.structures = structures
        self.addr = (host, self.port)
        self.core = ClientCore(time.monotonic, route_path, send_path, timeout)
        self._replies: deque[Answered] = deque()
        self._views: dict[int, Any] = {}   # each request's and reply's dotdict view, made once
        self._unsent: dict[int, tuple[dotdict, cip.Request]] = {}   # requests made with send=False
        self._view = functools.partial(result_view, requests=self._views)
        self.socket: socket.socket | None = socket.create_connection(self.addr, timeout=timeout)
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socket.settimeout(None)   # blocking; waits are bounded by the core's deadlines
            self._poll = select.poll()
            self._poll.register(self.socket, select.POLLIN)
            self._slice = _receive_timeout(self.socket)
            self._wait(self.core.register())
            if connected:
                size = deferred.UNCONNECTED_SIZE
                self.core.opened(plan.cip_reply(self._wait(self.core.forward_open(size))), size)
        except BaseException:
            self.socket.close()
            self.socket = None
            raise
        self.session = self.core.session

    def __enter__(self) -> connector:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<connector {self.host}:{self.port} session 0x{self.session:08X}>"

    def close(self) -> None:
        """Forward Close (if connected), UnRegister and close the connection (idempotent)."""
        sock, core = self.socket, self.core
        if sock is None:
            return
        try:
            if core.closed is None:
                if core.connection_id is not None:
                    self._wait(core.forward_close(1.0))
                core.unregister()
                self._drain()
        except OSError:
            pass
        finally:
            self.socket = None
            core.connection_lost(ConnectionClosed("closed by the client"))
            sock.close()

    shutdown = close

    # --- the driver: events out of the core, bytes into it ------------------------------
    def _drain(self) -> None:
        """Act on every event the core has: collect results and answers, and write what it says to
        send, in one ``sendall`` (several requests of a pipeline in one segment), or at once when
        the core is about to decode the last reply it has: the server then works on the next
        request while this reply is decoded (at depth 1, the next operation's request goes as soon
        as this one's reply is framed)."""
        core = self.core
        out: list[bytes] = []
        while True:
            event = core.next_event()
            if event is NEED_DATA:
                break
            kind = type(event)
            if kind is Send:
                out.append(event.data)
                if core.decoding_next():
                    self._send(out[0] if len(out) == 1 else b"".join(out))
                    out = []
            elif kind is Delivered:
                run = event.run
                if run.error is None:
                    run.tag.append(event.result)
            elif kind is Answered:
                ticket = event.ticket
                if ticket.tag is _HARVEST:
                    self._replies.append(event)
                ticket.tag = event
            elif kind is Broken:
                self._lost(event.error)
            # (Finished: the run's own ``finished`` and ``error`` say it)
        if out:
            self._send(out[0] if len(out) == 1 else b"".join(out))

    def _send(self, data: bytes) -> None:
        sock = self.socket
        if sock is None:
            return
        try:
            sock.sendall(data)
        except OSError as exc:
            self._lost(exc)
            self._drain()   # (the failures it queued)

    def _lost(self, exc: BaseException) -> None:
        self.core.connection_lost(ConnectionClosed(f"the EtherNet/IP connection failed: {exc}"))

    def _read(self, until: float | None = None) -> bool:
        """Read once from the socket, waiting no later than the earliest deadline (or *until*);
        False if *until* passed with nothing read."""
        core = self.core
        sock = self.socket
        if sock is None or core.closed is not None:
            raise core.closed or ConnectionClosed("the connection is closed")
        deadline = core.next_deadline()
        if until is not None and (deadline is None or until < deadline):
            deadline = until
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or ((self._slice is None or wait < self._slice) and not self._poll.poll(wait * 1000.0)):
                core.expire()
                return False
        try:
            data = sock.recv(65536)
        except BlockingIOError:   # the kernel's receive timeout: a slice of a longer wait, over
            return False
        except OSError as exc:
            self._lost(exc)
            return True
        core.receive_data(data)   # (b"": the peer closed; the core fails what was outstanding)
        return True

    def _wait(self, ticket: Ticket) -> encap.Frame:
        """Send what the core has and read until *ticket* is answered: its frame, or raise its error."""
        while True:
            self._drain()
            event = ticket.tag
            if isinstance(event, Answered):
                if event.error is not None:
                    raise event.error
                assert event.frame is not None
                return event.frame
            self._read()

    def _run(self, operations: Iterable[Any], timeout: float | None = None, view: Callable[[Result], Any] | None = None,
             **kwds: Any) -> Iterator[Any]:
        """Run operations, yielding each result as it arrives, in operation order: the record, or
        what *view* makes of it."""
        results: deque[Result] = deque()
        kwds.setdefault("structures", self.structures)
        run = self.core.start_run(operations, timeout=timeout, **kwds)
        run.tag = results
        drain, read, popleft = self._drain, self._read, results.popleft
        try:
            while True:
                drain()
                while results:
                    yield popleft() if view is None else view(popleft())
                if run.finished:
                    if run.error is not None:
                        raise run.error
                    return
                read()
        finally:
            if not run.finished:   # abandoned part way: its late replies are dropped
                run.fail(GeneratorExit("the caller stopped iterating"))

    # --- the documented high-level API ----------------------------------------------
    def synchronous(self, operations: Iterable[Any], index: int = 0, fragment: bool = False, multiple: int = 0,
                    timeout: float | None = None, **kwds: Any) -> Iterator[tuple]:
        """Issue the operations one at a time; yield ``(idx, dsc, req, rpy, sts, val)`` for each."""
        yield from self._run(operations, timeout, self._view, index=index, fragment=fragment, multiple=multiple,
                             depth=1, **kwds)

    def pipeline(self, operations: Iterable[Any], index: int = 0, fragment: bool = False, multiple: int = 0,
                 timeout: float | None = None, depth: int = 1, **kwds: Any) -> Iterator[tuple]:
        """Issue the operations with up to ``depth`` requests in flight; yield each 6-tuple in order."""
        yield from self._run(operations, timeout, self._view, index=index, fragment=fragment, multiple=multiple,
                             depth=depth, **kwds)

    def validate(self, harvested: Iterable[tuple], printing: bool = False) -> Iterator[tuple]:
        """Log (and print) each result's summary line; a write's value becomes the data written."""
        for result in harvested:
            yield deferred.validate(result, printing)

    def operate(self, operations: Iterable[Any], depth: int = 0, printing: bool = False, validating: bool = False,
                timeout: float | None = None, **kwds: Any) -> Iterator[tuple]:
        """pipeline (or synchronous, at depth 0), validated if ``printing`` or ``validating``."""
        for result in self._run(operations, timeout, depth=depth or 1, **kwds):
            view = result_view(result, self._views)
            if printing or validating:
                view = view[:5] + (deferred.validate(result, printing)[5],)
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
    def _issue(self, ticket: Ticket) -> None:
        ticket.tag = _HARVEST
        self._drain()

    def _send_request(self, request: cip.Request, route_path: Any = None, send_path: Any = None,
                      timeout: float | None = None, send: bool = True) -> dotdict:
        """Issue *request* (its reply harvested by ``next(conn)``); the original's view of it.  With
        *send* False it is only made, for a later :meth:`multiple`, as the original's ``issue`` does."""
        view = plan.request_view(request)
        if not send:
            remember(self._unsent, id(view), (view, request), plan.CACHE_SIZE)
            return view
        route = plan.route_path(route_path) if route_path is not None else None
        sent = plan.send_path(send_path) if send_path is not None else None
        self._issue(self.core.transact(request, route, sent, timeout))
        return view

    def read(self, path: Any, elements: int = 1, offset: int | None = 0, route_path: Any = None,
             send_path: Any = None, timeout: float | None = None, send: bool = True, **kwds: Any) -> dotdict:
        """Issue Read Tag Fragmented (Read Tag if *offset* is None); returns the request.  A range in
        the path (``"Tag[0-1]"``) is the element count, as the original reads it."""
        segments, count = _segments_and_count(path)
        return self._send_request(plan.read_request(segments, count or elements, offset), route_path, send_path,
                                  timeout, send)

    def write(self, path: Any, data: list, elements: int = 1, offset: int | None = 0, tag_type: int | None = None,
              route_path: Any = None, send_path: Any = None, timeout: float | None = None, send: bool = True,
              **kwds: Any) -> dotdict:
        """Issue Write Tag Fragmented (Write Tag if *offset* is None); returns the request."""
        segments, count = _segments_and_count(path)
        kind = types.type_of(tag_type or types.INT.code)
        encoded = kind.encode(data)
        elements = count or (max(elements or 1, len(data)) if offset is None else elements)
        body = (logix.WriteTag(kind.code, elements, encoded) if offset is None
                else logix.WriteTagFragmented(kind.code, elements, offset, encoded))
        request = cip.Request(plan.WRITE_TAG if offset is None else plan.WRITE_FRAG, segments, body=body)
        return self._send_request(request, route_path, send_path, timeout, send)

    def get_attribute_single(self, path: Any, route_path: Any = None, send_path: Any = None,
                             timeout: float | None = None, send: bool = True, **kwds: Any) -> dotdict:
        return self._send_request(cip.Request(plan.GET_ATTRIBUTE_SINGLE, _segments(path)), route_path, send_path,
                                  timeout, send)

    def get_attributes_all(self, path: Any, route_path: Any = None, send_path: Any = None,
                           timeout: float | None = None, send: bool = True, **kwds: Any) -> dotdict:
        return self._send_request(cip.Request(plan.GET_ATTRIBUTES_ALL, _segments(path)), route_path, send_path,
                                  timeout, send)

    def set_attribute_single(self, path: Any, data: list, elements: int = 1, tag_type: int | None = None,
                             route_path: Any = None, send_path: Any = None, timeout: float | None = None,
                             send: bool = True, **kwds: Any) -> dotdict:
        kind = types.type_of(tag_type or types.USINT.code)
        request = cip.Request(plan.SET_ATTRIBUTE_SINGLE, _segments(path), data=kind.encode(data))
        return self._send_request(request, route_path, send_path, timeout, send)

    def multiple(self, request: list, path: Any = None, route_path: Any = None, send_path: Any = None,
                 timeout: float | None = None, send: bool = True, **kwds: Any) -> dotdict:
        """Issue a Multiple Service Packet of requests made with ``send=False``; returns it.  Its reply
        (``next(conn)``) holds each request's reply in ``multiple.request``, in order.

        Raises:
            ValueError: a request this connector did not make with ``send=False``.
        """
        records = []
        for view in request:
            known = self._unsent.get(id(view))
            if known is None or known[0] is not view:
                raise ValueError(f"{view!r}: not a request made by this connector with send=False")
            records.append(known[1])
        packet = cip.Request(plan.MULTIPLE, _segments(path) if path else plan.ROUTER,
                             body=cip.MultipleService(tuple(records), tuple(r.encode() for r in records)))
        view = self._send_request(packet, route_path, send_path, timeout, send)
        view["multiple"] = dotdict(request=list(request))
        return view

    def list_identity(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        self._issue(self.core.list_request(Command.LIST_IDENTITY, timeout))
        return dotdict({"list_identity": True})

    def list_services(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        self._issue(self.core.list_request(Command.LIST_SERVICES, timeout))
        return dotdict({"list_services": True})

    def list_interfaces(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        self._issue(self.core.list_request(Command.LIST_INTERFACES, timeout))
        return dotdict({"list_interfaces": True})

    def readable(self, timeout: float | None = None) -> bool:
        """True once a reply (or a failure) is waiting for ``next(conn)``."""
        until = None if timeout is None else time.monotonic() + timeout
        while not self._replies:
            self._drain()
            if self._replies:
                break
            if until is not None and time.monotonic() >= until:
                return False
            try:
                self._read(until)
            except ConnectionClosed:
                return bool(self._replies)
        return True

    def __iter__(self) -> connector:
        return self

    def __next__(self) -> dotdict | None:
        """The next reply, as the original's dotdict; None if none arrives within the timeout.

        A reply that failed (timeout, closed connection) raises its error here.
        """
        if not self.readable(self.timeout):
            return None
        event = self._replies.popleft()
        if event.error is not None:
            raise event.error
        frame = event.frame
        assert frame is not None
        if isinstance(frame.body, encap.SendData):
            return reply_view(frame, self.addr)
        return list_view(frame, self.addr)

    next = __next__


def _segments(path: Any) -> tuple:
    return _segments_and_count(path)[0]


def _segments_and_count(path: Any) -> tuple[tuple, int | None]:
    """A path's segments, and the element count of a range in it (``Tag[0-1]``: 2), if any."""
    count = None
    if isinstance(path, str):
        (op,) = list(parse_operations([path]))
        path, count = op["path"], op.get("elements")
    return plan.from_original(path), count
