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

The steady path: a poller asks the same plain reads again and again, and while a value does not
change its reply comes back in the same bytes.  A read that came back whole before (an atomic
value, no bit to pick) goes as a :class:`Repeat` instead of a :class:`~.job.Job`: the core compares
its reply's command data with the last good one's (:class:`~.records.Echo`; on a connection, all but
the sequence count) and, if equal, the result is delivered at once from what was decoded then.
Anything else (another value, an error status, a partial reply, a structure) is decoded, and an
unusual reply handed to a Job, which carries on as if it had sent the request: one protocol, with
a short cut for its commonest case.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from cpppo.enip.client import forms, plan
from cpppo.enip.client.job import Job, Landed
from cpppo.enip.client.records import Core, Delivered, Echo, Finished, Planned, Result, Staged
from cpppo.enip.codec import cip, encap, types
from cpppo.enip.codec import tag_services as logix
from cpppo.misc import remember

__all__ = ["Run", "Job", "Repeat"]

_END = object()
_READ_REPLY = logix.ReadTagReply
_STRUCTURE = types.STRUCTURE
_DWORD = types.DWORD.code   # (a BOOL[]'s words: the Logix forms may look at it again, see .forms)


def _final(group: list[tuple[int, Planned]]) -> bool:
    """Whether every reply of a group is known to be its operation's last."""
    return all(planned.final for _, planned in group)


class Repeat:
    """A plain read that came back whole before, on its place on the wire: the steady path's
    :class:`~.records.Owner` (see the module's docstring), with what :class:`Run` reads of a Job.

    The core delivers it straight from :class:`~.records.Echo` (:meth:`Run.repeated`) when its reply
    is in the last good reply's bytes; otherwise it gets the decoded frame (:meth:`decoded`), learns
    a plain good reply as the new Echo, and hands any other to a :class:`~.job.Job`.
    """

    __slots__ = ("run", "index", "position", "planned", "taken", "used")
    early = True   # (its reply is known to be its last: its place goes back when the reply is framed)

    def __init__(self, run: Run, index: int, position: int, planned: Planned) -> None:
        self.run = run
        self.index = index
        self.position = position
        self.planned = planned
        self.taken = False
        self.used = False

    def framed(self) -> None:
        self.run.free(self)

    def failed(self, error: BaseException) -> None:
        self.run.fail(error)

    def decoded(self, frame: encap.Frame, payload: bytes) -> None:
        """Its reply, decoded (the Echo did not match): learnt if it is a plain good read, else a Job's."""
        run, planned = self.run, self.planned
        if run.finished:
            return
        try:
            reply = plan.cip_reply(frame)
            body = reply.body
            if reply.status == 0 and body.__class__ is _READ_REPLY and body.type != _STRUCTURE \
                    and body.type != _DWORD:
                planned.echo = echo = Echo(payload, reply, tuple(plan.outcome("read", reply)[1]))
                run.repeated(self, echo)
                return
        except Exception as exc:   # a reply that makes no sense
            run.fail(exc)
            return
        planned.echo = None
        self.answered(frame)

    def answered(self, frame: encap.Frame) -> None:
        """An unusual reply (an error status, a partial read...): a Job takes over, as if it had sent it."""
        job = Job(self.run, self.index, [(self.position, self.planned)], True)
        job.adopt(self.taken)
        job.answered(frame)


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
        self.ready: dict[int, Landed] = {}
        self.wire = 0              # places on the wire taken
        self.pending = 0           # jobs issued and not yet landed
        self.staged: tuple[Staged, Job | Repeat] | None = None   # the next request to go out
        self.urgent: deque[tuple[Staged, Job | Repeat]] = deque()   # follow-ups whose job gave its place back early
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
    def transact(self, request: cip.Request, route: tuple[Any, ...], send: tuple[Any, ...],
                 job: Job | Repeat) -> None:
        """Send *request* for *job* (encoded now): at once on the place the job holds, or when a
        place is free (a job's first request, or a follow-up whose job gave its place back early)."""
        staged = self.core.stage(request, route, send)
        if job.taken:
            self.core.send_staged(staged, job, self.timeout)
        elif not job.used and self.wire < self.depth and self.staged is None and not self.urgent:
            self.wire += 1   # (an operation's first request, a place free: the usual case, as _send)
            job.taken = job.used = True
            self.core.send_staged(staged, job, self.timeout, job.early)
        elif job.used:
            # A reply expected to be its operation's last was not (a read that fit before came back
            # partial): its place went back early, so the follow-up waits for one, first in line.
            job.early = False
            if self.wire < self.depth and not self.urgent:
                self._send(staged, job)
            else:
                self.urgent.append((staged, job))
        else:
            self.staged = (staged, job)

    def _send(self, staged: Staged, job: Job | Repeat) -> None:
        self.wire += 1
        job.taken = job.used = True
        self.core.send_staged(staged, job, self.timeout, job.early)

    def free(self, job: Job | Repeat) -> None:
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
                position, planned = group[0]
                if planned.fits and planned.pick is None and len(group) == 1 and planned.method == "read":
                    # (the steady path: see Repeat)
                    self.transact(planned.request, planned.route, planned.send,
                                  Repeat(self, index, position, planned))
                    continue
                Job(self, index, group, planned.final if len(group) == 1 else _final(group)).start()
        except Exception as exc:   # an operation that cannot be planned (a bad path, data of the wrong type)
            self.fail(exc)
        finally:
            self._pumping = False
        if self.exhausted:
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

    def landed(self, job: Job, only: Landed | None = None) -> None:
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
            self._flush()
        if self.exhausted and not self.pending:
            self._settle()

    def _flush(self) -> None:
        """Deliver every result now due, in order."""
        ready, emitted = self.ready, self.emitted
        while emitted in ready and not self.finished:
            self._deliver(ready.pop(emitted))
            emitted += 1

    def repeated(self, repeat: Repeat, echo: Echo) -> None:
        """A :class:`Repeat`'s reply is *echo*'s (its place already given back): its result."""
        self.pending -= 1
        if self.finished:
            return
        planned = repeat.planned
        if repeat.position == self.emitted and not self.ready:   # (due next: straight out)
            self.emitted += 1
            self.core.queue(Delivered(self, Result(repeat.index, planned.alone, planned.request, echo.reply, 0,
                                                   list(echo.values))))
        else:   # (a reply ahead of one before it: waits its turn)
            self.ready[repeat.position] = Landed(repeat.position, repeat.index, planned.alone, planned.request,
                                                 echo.reply, "read", planned)
            self._flush()
        if self.exhausted and not self.pending:
            self._settle()

    def _deliver(self, one: Landed) -> None:
        """The next result, in operation order."""
        self.emitted += 1
        try:
            status, value = plan.outcome(one.method, one.reply)
            body = one.reply.body
            if body.__class__ is _READ_REPLY and value is not None and (one.planned.pick is not None
                                                                        or body.type == _STRUCTURE):
                value = forms.values(one.planned, one.reply, value, self.core.shapes, self.structures)
        except Exception as exc:
            self.fail(exc)
            return
        self.core.queue(Delivered(self, Result(one.index, one.description, one.request, one.reply, status, value)))
