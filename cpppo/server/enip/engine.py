"""The pipelining engine behind :meth:`~.pipeline.EnipClient.pipeline`: one run of operations.

A run takes operations one by one, works out what each means on the wire
(once per client: :mod:`.plan` builds the records, and the client keeps them
for operations it has seen), groups them into Multiple Service Packets when
asked, keeps up to ``depth`` requests in flight, fetches the rest of reads
that came back partial, and hands each result on in operation order, as
soon as it and all before it have arrived.  It only ever talks to the
client's ``transact``: the protocol itself lives elsewhere.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from twisted.internet import defer

from ...proto.enip import cip, logix
from ...proto.enip.epath import Logical
from . import plan

__all__ = ["Run", "Description", "operation", "ROUTER", "CACHE_SIZE"]

CACHE_SIZE = 1024   # operations (and encoded requests) a client remembers
ROUTER = (Logical("class", 2), Logical("instance", 1))
_END = object()


def _paths(op: dict, default_route: tuple, default_send: tuple) -> tuple[tuple, tuple]:
    route = plan.route_path(op["route_path"]) if op.get("route_path") is not None else default_route
    send = plan.send_path(op["send_path"]) if op.get("send_path") is not None else default_send
    return route, send


def operation(tag: str | dict) -> dict:
    if isinstance(tag, dict):
        return dict(tag)
    from .operations import parse_operations
    (op,) = list(parse_operations([tag]))
    return op


class Description(str):
    """The description string, carrying its operation for the summary line."""

    op: dict


class Run:
    """One pipeline: issues groups of operations while fewer than ``depth`` are in flight."""

    def __init__(self, client: Any, operations: Iterable[Any], deliver: Callable[[tuple], None],
                 depth: int = 1, multiple: int = 0, fragment: bool = False, timeout: float | None = None,
                 index: int = 0, no_fragment: bool = False) -> None:
        self.client = client
        self.operations = iter(operations)
        self.deliver = deliver
        self.depth = max(int(depth or 1), 1)
        self.multiple = int(multiple or 0)
        self.fragment = fragment
        self.no_fragment = no_fragment
        self.timeout = client._timeout(timeout)
        self.index = index
        self.position = 0          # the next operation's position
        self.emitted = 0           # positions delivered so far
        self.ready: dict[int, tuple] = {}
        self.inflight = 0
        self.exhausted = False
        self.peeked: tuple | None = None
        self.done = defer.Deferred()
        self.finished = False

    def start(self) -> defer.Deferred:
        self._fill()
        return self.done

    def _fail(self, failure: Any) -> None:
        if not self.finished:
            self.finished = True
            self.done.errback(failure)

    def _fill(self) -> None:
        while not self.finished and not self.exhausted and self.inflight < self.depth:
            try:
                group = self._group()
            except Exception:
                self._fail(defer.Failure())
                return
            if not group:
                self.exhausted = True
                break
            self.inflight += 1
            index, self.index = self.index, self.index + 1
            d = self._issue_group(group, index) if len(group) > 1 else self._issue(group[0], index, False)
            d.addCallbacks(self._landed, self._fail)
        if self.exhausted and not self.inflight and not self.finished:
            self.finished = True
            self.done.callback(None)

    def _prepare(self, op: Any) -> tuple:
        """(position, op, method, first request, all requests (writes), route, send) of the next
        operation; what the operation means is computed once per client and reused."""
        key = (op if isinstance(op, str) else repr(op), self.fragment, self.no_fragment, self.client.budget)
        cache = self.client.prepared
        found = cache.get(key)
        if found is None:
            found = self._meaning(op)
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            cache[key] = found
        position, self.position = self.position, self.position + 1
        return (position,) + found

    def _meaning(self, op: Any) -> tuple:
        if not isinstance(op, dict):
            op = operation(op)
        else:
            op = dict(op)   # kept: the caller's dict may change later
        method = plan.method_of(op)
        path = plan.segments(op)
        route, send = _paths(op, self.client.route_path, self.client.send_path)
        requests = None
        if method == "read":
            offset = op.get("offset")
            if offset is None and self.fragment:
                offset = 0
            request = plan.read_request(path, op.get("elements") or 1, offset)
        elif method == "write":
            requests = plan.write_requests(op, path, self.fragment, self.no_fragment, self.client.budget)
            request = requests[0]
        else:
            request = plan.attribute_request(op, method, path)
        descriptions = []
        for multiple in (False, True):
            description = Description(plan.describe(method, request, op, multiple))
            description.op = op
            descriptions.append(description)
        return op, method, request, requests, route, send, tuple(descriptions)

    def _group(self) -> list[tuple]:
        first = self.peeked
        self.peeked = None
        if first is None:
            op = next(self.operations, _END)
            if op is _END:
                return []
            first = self._prepare(op)
        if not self.multiple or not _packable(first):
            return [first]
        limit = min(self.multiple, self.client.budget)
        req_size, rpy_size = plan.estimate(first[1], first[2], first[3])
        req_total, rpy_total = 8 + req_size, 6 + rpy_size
        group = [first]
        while req_total <= limit and rpy_total <= limit:
            op = next(self.operations, _END)
            if op is _END:
                break
            nxt = self._prepare(op)
            req_size, rpy_size = plan.estimate(nxt[1], nxt[2], nxt[3])
            if (not _packable(nxt) or nxt[5:7] != first[5:7]
                    or req_total + req_size > limit or rpy_total + rpy_size > limit):
                self.peeked = nxt
                break
            group.append(nxt)
            req_total += req_size
            rpy_total += rpy_size
        return group

    def _issue(self, prepared: tuple, index: int, multiple: bool,
               reply: cip.Reply | None = None) -> defer.Deferred:
        """One operation alone (or its reply already in hand, from a Multiple Service Packet)."""
        position, op, method, request, requests, route, send, descriptions = prepared
        client = self.client
        description = descriptions[multiple]

        def finish(reply: cip.Reply) -> list:
            status, value = plan.outcome(method, reply)
            return [(position, (index, description, request, reply, status, value))]

        def read_done(reply: cip.Reply) -> Any:
            if reply.status == 0x06:   # partial: fetch the rest first
                return defer.maybeDeferred(self._read_rest, reply, prepared).addCallback(finish)
            return finish(reply)

        if reply is not None:
            d = defer.succeed(reply)
        else:
            d = client.transact(request, route, send, self.timeout)
        if method == "read":
            return d.addCallback(read_done)
        if requests is not None and len(requests) > 1:
            for more in requests[1:]:
                d.addCallback(self._next_fragment, more, route, send)
        return d.addCallback(finish)

    def _next_fragment(self, reply: cip.Reply, request: cip.Request, route: tuple, send: tuple) -> Any:
        if reply.status:
            return reply
        return self.client.transact(request, route, send, self.timeout)

    def _read_rest(self, reply: cip.Reply, prepared: tuple) -> Any:
        """A read answered 0x06 (partial): fetch the rest with Read Tag Fragmented."""
        body = reply.body
        if reply.status != 0x06 or not isinstance(body, logix.ReadTagReply):
            return reply
        position, op, method, request, requests, route, send, _ = prepared
        if self.no_fragment:
            raise plan.FragmentRequired(
                f"{plan.format_path(op['path'], op.get('elements'))}: the reply does not fit one plain "
                f"reply ({len(body.data)} bytes came), and fragmenting is off")
        chunks = [body.data]
        start = getattr(request.body, "offset", 0)
        elements = request.body.elements

        def more(next_reply: cip.Reply) -> Any:
            nbody = next_reply.body
            if next_reply.status not in (0x00, 0x06) or not isinstance(nbody, logix.ReadTagReply):
                return next_reply
            chunks.append(nbody.data)
            if next_reply.status == 0x06 and nbody.data:
                return ask()
            data = b"".join(chunks)
            return cip.Reply(reply.service, 0, (), body=logix.ReadTagReply(nbody.type, data, nbody.handle))

        def ask() -> defer.Deferred:
            offset = start + sum(len(c) for c in chunks)
            follow = cip.Request(plan.READ_FRAG, request.path, body=logix.ReadTagFragmented(elements, offset))
            return self.client.transact(follow, route, send, self.timeout).addCallback(more)
        return ask()

    def _issue_group(self, group: list[tuple], index: int) -> defer.Deferred:
        """Several operations in one Multiple Service Packet."""
        route, send = group[0][5], group[0][6]
        packet = cip.Request(plan.MULTIPLE, ROUTER, body=cip.MultipleService(tuple(p[3] for p in group)))

        def split(reply: cip.Reply) -> Any:
            body = reply.body
            if not isinstance(body, cip.MultipleServiceReply) or len(body.replies) != len(group):
                replies = [reply] * len(group)   # the packet as a whole failed: each op shares its status
            else:
                replies = list(body.replies)
            ds = [self._issue(p, index, True, r) for p, r in zip(group, replies)]
            return defer.gatherResults(ds, consumeErrors=True).addCallback(
                lambda lists: [item for one in lists for item in one])
        d = self.client.transact(packet, route, send, self.timeout).addCallback(split)
        return d.addErrback(_first_error)

    def _landed(self, results: list) -> None:
        self.inflight -= 1
        if self.finished:
            return
        ready = self.ready
        for position, result in results:
            ready[position] = result
        while self.emitted in ready:
            result = ready.pop(self.emitted)
            self.emitted += 1
            try:
                self.deliver(result)
            except Exception:
                self._fail(defer.Failure())
                return
        self._fill()


def _packable(prepared: tuple) -> bool:
    """Whether an operation may share a Multiple Service Packet: one request, and not a fragmented
    service (0x52 is also Unconnected Send, and some servers, ours included, refuse it inside a
    Multiple Service Packet)."""
    requests = prepared[4]
    return (requests is None or len(requests) == 1) and prepared[3].service not in (plan.READ_FRAG, plan.WRITE_FRAG)


def _first_error(failure: Any) -> Any:
    if failure.check(defer.FirstError):
        return failure.value.subFailure
    return failure
