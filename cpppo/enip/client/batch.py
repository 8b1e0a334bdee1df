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

import copy
from collections import deque
from typing import Any, Callable, Iterable

from twisted.internet import defer

from cpppo.misc import remember

from cpppo.enip.codec import cip, tag_services as logix
from cpppo.enip.codec.epath import Logical
from cpppo.enip.client import plan

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
    from cpppo.enip.client.operations import parse_operations
    (op,) = list(parse_operations([tag]))
    return op


class Description(str):
    """The description string, carrying its operation for the summary line."""

    op: dict


class _Slot:
    """An operation's place on the wire (one request at a time): every request it needs (the
    rest of a partial read, the pieces of a large write) goes on it, in order.

    The place is given back once: as soon as the reply to its request is framed, before it is
    decoded, when that reply is known to be the operation's last (:attr:`early`); otherwise when
    the operation has its result (or failed).
    """

    __slots__ = ("run", "taken", "used", "early")

    def __init__(self, run: "Run", early: bool) -> None:
        self.run = run
        self.taken = False
        self.used = False   # its operation's first request has gone out
        self.early = early

    def free(self) -> None:
        if self.taken:
            self.taken = False
            run = self.run
            run.wire -= 1
            run._pump()

    def release(self, result: Any) -> Any:
        """The operation is over: give the place back (a failure stops the run first, so that
        nothing more is sent for it)."""
        if isinstance(result, defer.Failure):
            self.run._fail(result)
        self.free()
        return result


class Run:
    """One pipeline: keeps up to ``depth`` operations' requests on the wire, issuing them in order.

    Each operation (or Multiple Service Packet of them) takes a place on the wire
    for all of its requests, so the requests of one operation are never overtaken
    by a later one's and depth 1 is strictly one request after another.  While
    the places are full, the next operation's first request is already encoded
    (staged); when a reply is framed that is known to complete its operation (see
    :class:`_Slot`) the staged request is sent at once, before that reply is
    decoded, and the server works on it while the reply is worked out.

    So operations are taken from the iterable ahead of the results (at depth 1,
    one on the wire and one staged): the next operation is sent before the last
    one's result is delivered (a ``deliver`` that raises stops the run, but not
    that operation).  A failure
    of the run (a timeout, an encapsulation error, a lost connection) stops it
    before anything more is sent.
    """

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
        self.wire = 0              # places on the wire taken
        self.pending = 0           # operations (or packets of them) issued and not yet landed
        self.staged: tuple | None = None   # (staged request, its slot): the next to go out
        self.urgent: deque[tuple] = deque()  # follow-ups whose operation gave its place back early
        self.exhausted = False
        self.peeked: tuple | None = None
        self.done = defer.Deferred()
        self.finished = False
        self._pumping = False

    def start(self) -> defer.Deferred:
        self._pump()
        return self.done

    def _fail(self, failure: Any) -> None:
        if not self.finished:
            self.finished = True
            while (waiting := self._next_waiting()) is not None:
                waiting[0][2].cancel()
            self.done.errback(failure)

    def _transact(self, request: cip.Request, route: tuple, send: tuple, slot: _Slot) -> defer.Deferred:
        """Send *request* on *slot* (it is encoded now); fires with its reply.

        An operation's first request takes the place, or waits staged for one; the requests
        that follow it go at once on the place it holds."""
        staged = self.client.stage(request, route, send)
        if slot.taken:
            return self.client.transact_staged(staged, self.timeout)
        if slot.used:
            # A reply expected to be its operation's last was not (a read that fit before came back
            # partial): its place went back early, so the follow-up waits for one, first in line.
            slot.early = False
            if self.wire < self.depth and not self.urgent:
                return self._send(staged, slot)
            self.urgent.append((staged, slot))
            return staged[2]
        if self.wire < self.depth and self.staged is None and not self.urgent:
            return self._send(staged, slot)
        self.staged = (staged, slot)
        return staged[2]

    def _next_waiting(self) -> tuple | None:
        """Take the next request waiting for a place, ``(staged, slot)``: follow-ups first."""
        if self.urgent:
            return self.urgent.popleft()
        staged, self.staged = self.staged, None
        return staged

    def _send(self, staged: tuple, slot: _Slot) -> defer.Deferred:
        self.wire += 1
        slot.taken = slot.used = True
        return self.client.transact_staged(staged, self.timeout, framed=slot.free if slot.early else None)

    def _pump(self) -> None:
        """Fill the places on the wire (the staged request first, then new operations), then stage
        one more operation's first request, so that a place given back needs only a send."""
        if self._pumping:   # a request sent from here failed at once: the loop below goes on
            return
        self._pumping = True
        try:
            while not self.finished:
                if self.urgent or self.staged is not None:
                    if self.wire >= self.depth:
                        break
                    self._send(*self._next_waiting())  # type: ignore[misc]
                    continue
                if self.exhausted:
                    break
                group = self._group()
                if not group:
                    self.exhausted = True
                    break
                self.pending += 1
                index, self.index = self.index, self.index + 1
                slot = _Slot(self, all(_final(p) for p in group))
                if len(group) > 1:
                    d = self._issue_group(group, index, slot)
                else:
                    d = self._issue(group[0], index, False, slot)
                d.addBoth(slot.release).addCallbacks(self._landed, self._fail)
        except Exception:
            self._fail(defer.Failure())
        finally:
            self._pumping = False
        self._settle()

    def _settle(self) -> None:
        """Fire ``done`` once every operation has been issued and delivered."""
        if self.exhausted and not self.pending and not self.finished:
            self.finished = True
            self.done.callback(None)

    def _prepare(self, op: Any) -> tuple:
        """The next operation as a tuple: (0) its position, (1) op, (2) method, (3) first request,
        (4) all requests (a write's pieces, else None), (5) route, (6) send path, (7) descriptions
        (alone, in a Multiple Service Packet), (8) ``[fits]``: a reply to it was complete, (9) the
        first request's bytes, (10) its (request, reply) size estimate in a Multiple Service Packet.
        What an operation means is computed once per client and reused."""
        # A dict operation is known by its identity and checked against a copy of what it held
        # (cheaper than its repr, and an operation changed in place is worked out again).
        by_value = isinstance(op, str)
        key = (op if by_value else id(op), self.fragment, self.no_fragment, self.client.budget)
        cache = self.client.prepared
        entry = cache.get(key)
        if entry is not None and (by_value or (entry[0] is op and entry[1] == op)):
            found = entry[2]
        else:
            found = self._meaning(op)
            remember(cache, key, (None, None, found) if by_value else (op, copy.deepcopy(op), found), CACHE_SIZE)
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
        fits = [False]   # whether a reply to it was complete (not 0x06, partial): then it will be again
        encoded = request.encode()
        sizes = plan.estimate(op, method, request, len(encoded))
        return op, method, request, requests, route, send, tuple(descriptions), fits, encoded, sizes

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
        req_size, rpy_size = first[10]
        req_total, rpy_total = 8 + req_size, 6 + rpy_size
        group = [first]
        while req_total <= limit and rpy_total <= limit:
            op = next(self.operations, _END)
            if op is _END:
                break
            nxt = self._prepare(op)
            req_size, rpy_size = nxt[10]
            if (not _packable(nxt) or nxt[5:7] != first[5:7]
                    or req_total + req_size > limit or rpy_total + rpy_size > limit):
                self.peeked = nxt
                break
            group.append(nxt)
            req_total += req_size
            rpy_total += rpy_size
        return group

    def _issue(self, prepared: tuple, index: int, multiple: bool, slot: _Slot,
               reply: cip.Reply | None = None) -> defer.Deferred:
        """One operation alone (or its reply already in hand, from a Multiple Service Packet)."""
        position, op, method, request, requests, route, send, descriptions, fits = prepared[:9]
        description = descriptions[multiple]

        def finish(reply: cip.Reply) -> list:
            return [(position, index, description, request, reply, method)]   # its outcome: when delivered

        def read_done(reply: cip.Reply) -> Any:
            fits[0] = reply.status == 0
            if reply.status == 0x06:   # partial: fetch the rest first
                return defer.maybeDeferred(self._read_rest, reply, prepared, slot).addCallback(finish)
            return finish(reply)

        if reply is not None:
            d = defer.succeed(reply)
        else:
            d = self._transact(request, route, send, slot)
        if method == "read":
            return d.addCallback(read_done)
        if requests is not None and len(requests) > 1:
            for more in requests[1:]:
                d.addCallback(self._next_fragment, more, route, send, slot)
        return d.addCallback(finish)

    def _next_fragment(self, reply: cip.Reply, request: cip.Request, route: tuple, send: tuple,
                       slot: _Slot) -> Any:
        if reply.status:
            return reply
        return self._transact(request, route, send, slot)

    def _read_rest(self, reply: cip.Reply, prepared: tuple, slot: _Slot) -> Any:
        """A read answered 0x06 (partial): fetch the rest with Read Tag Fragmented."""
        body = reply.body
        if reply.status != 0x06 or not isinstance(body, logix.ReadTagReply):
            return reply
        op, request, route, send = prepared[1], prepared[3], prepared[5], prepared[6]
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
            return self._transact(follow, route, send, slot).addCallback(more)
        return ask()

    def _issue_group(self, group: list[tuple], index: int, slot: _Slot) -> defer.Deferred:
        """Several operations in one Multiple Service Packet."""
        route, send = group[0][5], group[0][6]
        packet = cip.Request(plan.MULTIPLE, ROUTER, body=cip.MultipleService(tuple(p[3] for p in group),
                                                                            tuple(p[9] for p in group)))

        def split(reply: cip.Reply) -> Any:
            body = reply.body
            if not isinstance(body, cip.MultipleServiceReply) or len(body.replies) != len(group):
                replies = [reply] * len(group)   # the packet as a whole failed: each op shares its status
            else:
                replies = list(body.replies)
            # Each operation's result, at once; only a partial read needs more requests (and Deferreds).
            results, partial = [], []
            for p, r in zip(group, replies):
                if p[2] == "read":
                    p[8][0] = r.status == 0
                    if r.status == 0x06:
                        partial.append((p, r))
                        continue
                results.append((p[0], index, p[7][1], p[3], r, p[2]))
            if not partial:
                return results
            # The rest of each partial read, one read after another on the packet's place.
            d = defer.succeed(None)
            for p, r in partial:
                d.addCallback(lambda _, p=p, r=r: self._issue(p, index, True, slot, r))
                d.addCallback(results.extend)
            return d.addCallback(lambda _: results)
        return self._transact(packet, route, send, slot).addCallback(split)

    def _landed(self, results: list) -> None:
        """An operation's replies are in (the next requests already went out when they were
        framed): work out its results and deliver all that are due, in operation order."""
        self.pending -= 1
        if self.finished:
            return
        ready = self.ready
        for landed in results:
            ready[landed[0]] = landed
        while self.emitted in ready and not self.finished:
            _, index, description, request, reply, method = ready.pop(self.emitted)
            self.emitted += 1
            try:
                status, value = plan.outcome(method, reply)
                self.deliver((index, description, request, reply, status, value))
            except Exception:
                self._fail(defer.Failure())
                return
        self._settle()


def _packable(prepared: tuple) -> bool:
    """Whether an operation may share a Multiple Service Packet: one request, and not a fragmented
    service (0x52 is also Unconnected Send, and some servers, ours included, refuse it inside a
    Multiple Service Packet)."""
    requests = prepared[4]
    return (requests is None or len(requests) == 1) and prepared[3].service not in (plan.READ_FRAG, plan.WRITE_FRAG)


def _final(prepared: tuple) -> bool:
    """Whether the reply to an operation's first request is known to be its last: a single
    request, and for a read, one whose reply was complete before (a read's size does not change)."""
    method = prepared[2]
    if method == "read":
        return prepared[8][0]
    requests = prepared[4]
    return requests is None or len(requests) == 1
