"""One run of operations through the sans-IO core: the pipeline, with no I/O and no Deferreds.

A run takes operations one by one, works out what each means on the wire
(once per client: :func:`.plan.prepare` makes a :class:`~.records.Planned`,
and the core keeps it for operations it has seen), packs them into Multiple
Service Packets when asked, keeps up to ``depth`` requests in flight, fetches
the rest of reads that came back partial, sends a large write in pieces, and
queues each result as a :class:`~.records.Delivered` event in operation order,
as soon as it and all before it have arrived.  It only talks to the core:
:meth:`~.core.ClientCore.stage`, :meth:`~.core.ClientCore.send_staged` and
:meth:`~.core.ClientCore.queue`; the bytes are the driver's business.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cpppo.enip.client import forms, plan
from cpppo.enip.client.errors import EncapsulationError, FragmentRequired
from cpppo.enip.client.records import Core, Delivered, Description, Finished, Planned, Result, Staged
from cpppo.enip.client.shapes import TemplateFetch
from cpppo.enip.codec import cip, encap
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import Service
from cpppo.misc import remember

__all__ = ["Run", "Job"]

_END = object()
_NONE: Any = ()   # an empty container not made yet


@dataclass(slots=True, eq=False)
class _Landed:
    """An operation's final reply, waiting for its turn to be delivered."""

    position: int
    index: int
    description: Description
    request: cip.Request
    reply: cip.Reply
    method: str
    planned: Planned


def _final(group: list[tuple[int, Planned]]) -> bool:
    """Whether every reply of a group is known to be its operation's last."""
    return all(planned.final for _, planned in group)


class Job:
    """One operation (or Multiple Service Packet of them) holding a place on the wire: every request
    it needs (the rest of a partial read, the pieces of a write) goes on that place, in order, so
    the requests of one operation are never overtaken by a later one's.

    The place is given back once: when the reply to its request is framed, before it is decoded,
    if that reply is known to be the operation's last (``early``); otherwise when the operation
    has its result.  It is the core's :class:`~.core.Owner` of each of its requests.
    """

    __slots__ = ("run", "index", "group", "taken", "used", "early", "handler", "position", "planned",
                 "packed", "chunks", "first", "fragments", "partials", "landed", "fetch", "held", "tried", "saved")

    def __init__(self, run: Run, index: int, group: list[tuple[int, Planned]], early: bool) -> None:
        self.run = run
        self.index = index
        self.group = group
        self.taken = False
        self.used = False        # its first request has gone out
        self.early = early
        self.handler: Callable[[cip.Reply], None] = self._on_single
        self.position, self.planned = group[0]
        self.packed = len(group) > 1
        # (made when needed: most operations are one request and one reply)
        self.chunks: list[bytes] = _NONE
        self.first: cip.Reply | None = None
        self.fragments: deque[cip.Request] = _NONE
        self.partials: deque[tuple[int, Planned, cip.Reply]] = _NONE
        self.landed: list[_Landed] = _NONE
        self.fetch: TemplateFetch | None = None   # learning a structure's template before landing its read
        self.held: cip.Reply | None = None        # the reply that waits for it (or for a BOOL[] probe)
        self.tried = False                        # the BOOL[] form was tried
        self.saved: Planned | None = None         # the operation as planned before that was tried

    def start(self) -> None:
        planned = self.planned
        if self.packed:
            group = self.group
            packet = cip.Request(Service.MULTIPLE_SERVICE_PACKET, plan.ROUTER, body=cip.MultipleService(
                tuple(p.request for _, p in group), tuple(p.encoded for _, p in group)))
            self.handler = self._on_packet
            self.run.transact(packet, planned.route, planned.send, self)
            return
        if planned.method == "read":
            self.handler = self._on_read
        elif planned.method == "write":
            if len(planned.requests) > 1:
                self.fragments = deque(planned.requests[1:])
            self.handler = self._on_write
        self.run.transact(planned.request, planned.route, planned.send, self)

    # --- the core's Owner -------------------------------------------------------------
    def framed(self) -> None:
        self.run.free(self)

    def answered(self, frame: encap.Frame) -> None:
        if self.run.finished:
            return
        try:
            self.handler(plan.cip_reply(frame))
        except Exception as exc:   # a reply that makes no sense, a read that needs fragments...
            self.run.fail(exc)

    def failed(self, error: BaseException) -> None:
        if isinstance(error, EncapsulationError) and self.planned.fallback and not self.run.finished:
            # The original cpppo's simulator answers a Logix STRING it cannot parse so: a refusal
            # of the Logix form, so the string goes again in the CIP form.
            self.answered_reply(cip.Reply(self.planned.request.service | 0x80, 0x08))
            return
        self.run.fail(error)

    def answered_reply(self, reply: cip.Reply) -> None:
        try:
            self.handler(reply)
        except Exception as exc:
            self.run.fail(exc)

    # --- replies ---------------------------------------------------------------------------
    def _on_single(self, reply: cip.Reply) -> None:
        self._land(reply)

    def _on_write(self, reply: cip.Reply) -> None:
        planned = self.planned
        if planned.fallback:   # a string in the Logix form: if refused, in the CIP form
            again = forms.string_fallback(planned, self.run.core.shapes, reply.status == 0)
            if again is not None:
                self.planned = again
                self.run.transact(again.request, planned.route, planned.send, self)
                return
        if planned.doubtful and not reply.status:
            planned.doubtful = False   # (a plain element: its writes may give their place back early)
        if reply.status and not self.tried and forms.maybe_bool_element(planned, self.run.core.shapes):
            self.tried, self.held, self.handler = True, reply, self._on_probe   # a BOOL[] element?
            self.run.transact(forms.word_probe(planned), planned.route, planned.send, self)
            return
        if reply.status or not self.fragments:
            self._land(reply)
        else:
            self.run.transact(self.fragments.popleft(), planned.route, planned.send, self)

    def _on_probe(self, reply: cip.Reply) -> None:
        """The word a failed BOOL[] element write would be in: a DWORD means a BOOL[], so the bit is
        written with Read Modify Write; anything else lands the write's own failure."""
        held, self.held = self.held, None
        assert held is not None
        planned = self.planned
        if not forms.is_dword(reply):
            self._land(held)
            return
        self.run.core.shapes.bool_arrays.add(forms.tag_key(planned.request.path))
        self.planned = planned = planned.successor = forms.as_bool_array(planned)
        self.handler = self._on_write
        self.run.transact(planned.request, planned.route, planned.send, self)

    def _on_read(self, reply: cip.Reply) -> None:
        status = reply.status
        self.planned.fits = status == 0
        if status == 0x06:
            self._read(reply)
        else:
            self._complete(reply)

    def _complete(self, reply: cip.Reply) -> None:
        """A read's whole reply: first learn what decoding it needs (a BOOL[] it came from, a
        structure's template), then land it."""
        planned, run = self.planned, self.run
        shapes = run.core.shapes
        if self.held is not None:   # the reply to the BOOL[] form that was tried
            held, self.held = self.held, None
            saved = self.saved
            assert saved is not None
            if forms.is_dword(reply):
                shapes.bool_arrays.add(forms.tag_key(planned.request.path))
                saved.successor = planned
            else:   # not a BOOL[] after all: the operation is what it was, and so is its reply
                self.planned, reply = saved, held
        elif not self.tried and forms.maybe_bool_read(planned, reply, shapes):
            self.tried, self.held, self.saved = True, reply, planned
            self.planned = tried = forms.as_bool_array(planned)
            self.handler = self._on_read
            run.transact(tried.request, tried.route, tried.send, self)
            return
        handle = forms.unknown_structure(reply, shapes) if run.structures else None
        if handle is not None and self.fetch is None:
            self.fetch, self.first = shapes.fetch(handle), reply
            self._learn()
            return
        self._land(reply)

    def _learn(self, reply: cip.Reply | None = None) -> None:
        """The next step of learning a structure's template; its read lands when there is none."""
        fetch = self.fetch
        assert fetch is not None
        if reply is not None:
            fetch.feed(reply)
        request = fetch.next_request()
        if request is None:
            held, self.first = self.first, None
            assert held is not None
            self._land(held)
            return
        self.handler = self._learn
        planned = self.planned
        self.run.transact(request, planned.route, planned.send, self)

    def _read(self, reply: cip.Reply) -> None:
        """A read's first reply: partial (0x06) means fetching the rest with Read Tag Fragmented."""
        body = reply.body
        if reply.status != 0x06 or not isinstance(body, logix.ReadTagReply):
            self._complete(reply)
            return
        if self.run.no_fragment:
            op = self.planned.op
            raise FragmentRequired(
                f"{plan.format_path(op['path'], op.get('elements'))}: the reply does not fit one plain "
                f"reply ({len(body.data)} bytes came), and fragmenting is off")
        self.first = reply
        self.chunks = [body.data]
        self._ask()

    def _ask(self) -> None:
        planned = self.planned
        request = planned.request
        offset = getattr(request.body, "offset", 0) + sum(len(c) for c in self.chunks)
        follow = cip.Request(Service.READ_TAG_FRAGMENTED, request.path,
                             body=logix.ReadTagFragmented(request.body.elements, offset))
        self.handler = self._on_more
        self.run.transact(follow, planned.route, planned.send, self)

    def _on_more(self, reply: cip.Reply) -> None:
        body = reply.body
        if reply.status not in (0x00, 0x06) or not isinstance(body, logix.ReadTagReply):
            self._land(reply)
            return
        self.chunks.append(body.data)
        if reply.status == 0x06 and body.data:
            self._ask()
            return
        first, self.first = self.first, None
        assert first is not None
        self._complete(cip.Reply(first.service, 0, (), body=logix.ReadTagReply(body.type, b"".join(self.chunks),
                                                                               body.handle)))

    def _on_packet(self, reply: cip.Reply) -> None:
        body = reply.body
        group = self.group
        if not isinstance(body, cip.MultipleServiceReply) or len(body.replies) != len(group):
            replies: Any = [reply] * len(group)   # the packet as a whole failed: each op shares its status
        else:
            replies = body.replies
        self.partials = deque()
        self.landed = []
        for (position, planned), one in zip(group, replies):
            if planned.method == "read":
                planned.fits = one.status == 0
                if one.status == 0x06 or forms.wanting(planned, one, self.run.core.shapes, self.run.structures):
                    self.partials.append((position, planned, one))
                    continue
            self.landed.append(_Landed(position, self.index, planned.packed, planned.request, one, planned.method,
                                       planned))
        self._next_partial()

    def _next_partial(self) -> None:
        """The rest of each partial read of a packet, one after another on the packet's place."""
        if not self.partials:   # (also _NONE: an empty tuple)
            self.run.landed(self)
            return
        self.position, self.planned, reply = self.partials.popleft()
        self.tried, self.fetch = False, None
        self._on_read(reply)

    def _land(self, reply: cip.Reply) -> None:
        planned = self.planned
        one = _Landed(self.position, self.index, planned.packed if self.packed else planned.alone,
                      planned.request, reply, planned.method, planned)
        if self.partials:
            self.landed.append(one)
            self._next_partial()
        elif self.landed:
            self.landed.append(one)
            self.run.landed(self)
        else:
            self.run.landed(self, one)   # (its only result: no list to make)


class Run:
    """One pipeline: keeps up to ``depth`` operations' requests on the wire, issuing them in order.

    While the places are full, the next operation's first request is already encoded (staged);
    when a reply is framed that is known to complete its operation the staged request is sent at
    once, before that reply is decoded.  So operations are taken from the iterable just ahead of
    the results (at depth 1, one on the wire and one staged).  A failure of the run (a timeout, an
    encapsulation error, a lost connection, or :meth:`fail` from the driver) stops it before
    anything more is sent.  ``tag`` is the driver's (a Deferred and a callback, a generator's flag).
    """

    def __init__(self, core: Core, operations: Iterable[Any], depth: int = 1, multiple: int = 0,
                 fragment: bool = False, timeout: float | None = None, index: int = 0,
                 no_fragment: bool = False, structures: bool = False) -> None:
        self.core = core
        self.structures = structures   # decode structures from their templates (else their raw bytes)
        self.operations = iter(operations)
        self.depth = max(int(depth or 1), 1)
        self.multiple = int(multiple or 0)
        self.fragment = fragment
        self.no_fragment = no_fragment
        self.timeout = timeout
        self.index = index
        self.tag: Any = None
        self.position = 0          # the next operation's position
        self.emitted = 0           # positions delivered so far
        self.ready: dict[int, _Landed] = {}
        self.wire = 0              # places on the wire taken
        self.pending = 0           # jobs issued and not yet landed
        self.staged: tuple[Staged, Job] | None = None   # the next request to go out
        self.urgent: deque[tuple[Staged, Job]] = deque()   # follow-ups whose job gave its place back early
        self.exhausted = False
        self.peeked: tuple[int, Planned] | None = None
        self.finished = False
        self.error: BaseException | None = None   # what stopped the run (its later results are not delivered)
        self._pumping = False

    def fail(self, error: BaseException) -> None:
        """Stop the run: nothing more is sent for it, and a Finished event carries *error*."""
        if not self.finished:
            self.finished = True
            self.error = error
            self.staged = None
            self.urgent.clear()
            self.core.queue(Finished(self, error))

    # --- places on the wire ------------------------------------------------------------
    def transact(self, request: cip.Request, route: tuple[Any, ...], send: tuple[Any, ...], job: Job) -> None:
        """Send *request* for *job* (encoded now): at once on the place the job holds, or when a
        place is free (a job's first request, or a follow-up whose job gave its place back early)."""
        staged = self.core.stage(request, route, send)
        if job.taken:
            self.core.send_staged(staged, job, self.timeout)
        elif job.used:
            # A reply expected to be its operation's last was not (a read that fit before came back
            # partial): its place went back early, so the follow-up waits for one, first in line.
            job.early = False
            if self.wire < self.depth and not self.urgent:
                self._send(staged, job)
            else:
                self.urgent.append((staged, job))
        elif self.wire < self.depth and self.staged is None and not self.urgent:
            self._send(staged, job)
        else:
            self.staged = (staged, job)

    def _send(self, staged: Staged, job: Job) -> None:
        self.wire += 1
        job.taken = job.used = True
        self.core.send_staged(staged, job, self.timeout, job.early)

    def free(self, job: Job) -> None:
        """*job* gives its place back: the next request waiting goes out."""
        if job.taken:
            job.taken = False
            self.wire -= 1
            self.pump()

    def pump(self) -> None:
        """Fill the places on the wire (waiting requests first, then new operations), then stage one
        more operation's first request, so that a place given back needs only a send."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while not self.finished:
                if self.urgent or self.staged is not None:
                    if self.wire >= self.depth:
                        break
                    if self.urgent:
                        staged, job = self.urgent.popleft()
                    else:
                        (staged, job), self.staged = self.staged, None   # type: ignore[misc]
                    self._send(staged, job)
                    continue
                if self.exhausted:
                    break
                if self.multiple or self.peeked is not None:
                    group = self._group()
                else:
                    op = next(self.operations, _END)
                    group = [] if op is _END else [self._prepare(op)]
                if not group:
                    self.exhausted = True
                    break
                self.pending += 1
                index, self.index = self.index, self.index + 1
                Job(self, index, group, group[0][1].final if len(group) == 1 else _final(group)).start()
        except Exception as exc:   # an operation that cannot be planned (a bad path, data of the wrong type)
            self.fail(exc)
        finally:
            self._pumping = False
        self._settle()

    def _settle(self) -> None:
        if self.exhausted and not self.pending and not self.finished:
            self.finished = True
            self.core.queue(Finished(self, None))

    # --- operations -----------------------------------------------------------------------
    def _prepare(self, op: Any) -> tuple[int, Planned]:
        """The next operation's position and meaning (worked out once per client and reused: a dict
        operation is known by its identity and checked against a copy of what it held, so one
        changed in place is worked out again)."""
        core = self.core
        by_value = isinstance(op, str)
        key = (op if by_value else id(op), self.fragment, self.no_fragment, core.budget)
        cache = core.prepared
        entry = cache.get(key)
        if entry is not None and (by_value or (entry[0] is op and entry[1] == op)):
            planned = entry[2]
            while planned.successor is not None:   # (a form learnt since: a BOOL[]'s, a string's)
                planned = planned.successor
        else:
            planned = forms.adapt(plan.prepare(op, self.fragment, self.no_fragment, core.budget, core.route_path,
                                               core.send_path), core.shapes)
            remember(cache, key, (None, None, planned) if by_value else (op, plan.snapshot(op), planned),
                     plan.CACHE_SIZE)
        position, self.position = self.position, self.position + 1
        return position, planned

    def _group(self) -> list[tuple[int, Planned]]:
        first = self.peeked
        self.peeked = None
        if first is None:
            op = next(self.operations, _END)
            if op is _END:
                return []
            first = self._prepare(op)
        lead = first[1]
        if not self.multiple or not lead.packable:
            return [first]
        limit = min(self.multiple, self.core.budget)
        req_total, rpy_total = 8 + lead.sizes[0], 6 + lead.sizes[1]
        group = [first]
        while req_total <= limit and rpy_total <= limit:
            op = next(self.operations, _END)
            if op is _END:
                break
            nxt = self._prepare(op)
            planned = nxt[1]
            req_size, rpy_size = planned.sizes
            if (not planned.packable or planned.route != lead.route or planned.send != lead.send
                    or req_total + req_size > limit or rpy_total + rpy_size > limit):
                self.peeked = nxt
                break
            group.append(nxt)
            req_total += req_size
            rpy_total += rpy_size
        return group

    def landed(self, job: Job, only: _Landed | None = None) -> None:
        """A job's replies are in (``job.landed``, or its *only* result): give its place back, and
        deliver every result now due, in order."""
        if job.taken:
            self.free(job)   # (first: the next request goes before this one's results are worked out)
        self.pending -= 1
        if self.finished:
            return
        ready = self.ready
        emitted = self.emitted
        if only is not None and only.position == emitted and not ready:
            self._deliver(only)   # (the result due next, and nothing waiting: no reordering)
        else:
            for one in (only,) if only is not None else job.landed:
                ready[one.position] = one
            while emitted in ready and not self.finished:
                self._deliver(ready.pop(emitted))
                emitted += 1
        if self.exhausted and not self.pending:
            self._settle()

    def _deliver(self, one: _Landed) -> None:
        """The next result, in operation order."""
        self.emitted += 1
        try:
            status, value = plan.outcome(one.method, one.reply)
            if value is not None and one.method == "read":
                value = forms.values(one.planned, one.reply, value, self.core.shapes, self.structures)
        except Exception as exc:
            self.fail(exc)
            return
        self.core.queue(Delivered(self, Result(one.index, one.description, one.request, one.reply, status, value)))
