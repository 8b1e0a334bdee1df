"""One operation (or Multiple Service Packet of them) on its place on the wire: every request it
needs, in order, and its replies until its result lands.

Split from :mod:`.batch` (the pipeline that schedules these jobs) because a job's own conversation
grew: the rest of a partial read, the pieces of a write, and what the Logix forms of :mod:`.forms`
need learnt first (a BOOL[] tried as words, a string refused in one form, a structure's template).
It talks only to its pipeline, through :class:`Run` (``transact``, ``free``, ``landed``, ``fail``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cpppo.enip.client import forms, plan
from cpppo.enip.client.errors import EncapsulationError, FragmentRequired
from cpppo.enip.client.records import Core, Description, Planned
from cpppo.enip.client.shapes import TemplateFetch
from cpppo.enip.codec import cip, encap, types
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import Service

__all__ = ["Job", "Landed", "Run"]


class Run(Protocol):
    """What a job uses of its pipeline (:class:`.batch.Run`)."""

    core: Core
    finished: bool
    no_fragment: bool
    structures: bool

    def transact(self, request: cip.Request, route: tuple[Any, ...], send: tuple[Any, ...], job: Job) -> None:
        """Send *request* for *job*, on its place on the wire (or when it gets one)."""

    def free(self, job: Job) -> None:
        """*job* gives its place back."""

    def landed(self, job: Job, only: Landed | None = None) -> None:
        """*job*'s results are in."""

    def fail(self, error: BaseException) -> None:
        """Stop the run."""

_NONE: Any = ()   # an empty container not made yet
_READ_REPLY = logix.ReadTagReply
_LEARNING = frozenset((types.DWORD.code, types.STRUCTURE))   # replies that may call for more (see .forms)


@dataclass(slots=True, eq=False)
class Learning:
    """What a job learns before its operation's result lands (made only when it needs to)."""

    fetch: TemplateFetch | None = None   # a structure's template, before its read lands
    held: cip.Reply | None = None        # the reply that waits (for the template, or a BOOL[] probe)
    tried: bool = False                  # the BOOL[] form was tried
    saved: Planned | None = None         # the operation as planned before that was tried


@dataclass(slots=True, eq=False)
class Landed:
    """An operation's final reply, waiting for its turn to be delivered."""

    position: int
    index: int
    description: Description
    request: cip.Request
    reply: cip.Reply
    method: str
    planned: Planned


class Job:
    """One operation (or Multiple Service Packet of them) holding a place on the wire: every request
    it needs (the rest of a partial read, the pieces of a write) goes on that place, in order, so
    the requests of one operation are never overtaken by a later one's.

    The place is given back once: when the reply to its request is framed, before it is decoded,
    if that reply is known to be the operation's last (``early``); otherwise when the operation
    has its result.  It is the core's :class:`~.core.Owner` of each of its requests.
    """

    __slots__ = ("run", "index", "group", "taken", "used", "early", "handler", "position", "planned",
                 "packed", "chunks", "first", "fragments", "partials", "landed", "learning")

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
        self.partials: deque[tuple[int, Planned, cip.Reply | None]] = _NONE
        self.landed: list[Landed] = _NONE
        self.learning: Learning | None = None     # what a Logix form needs learnt first (see .forms)

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

    def adopt(self, taken: bool) -> None:
        """Carry on a read whose request the pipeline's steady path sent (:class:`.batch.Repeat`), its
        reply unusual: *taken*, whether the request still holds its place on the wire."""
        self.taken, self.used, self.handler = taken, True, self._on_read

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
        if isinstance(error, EncapsulationError) and error.operation is None:   # (named for the failure's line)
            error.operation = ", ".join(str(p.alone).split()[-1] for _, p in self.group) if self.packed \
                else str(self.planned.alone).split()[-1]
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
        if reply.status and self.learning is None and forms.maybe_bool_element(planned):   # a BOOL[] element?
            if forms.tag_key(planned.request.path) in self.run.core.shapes.bool_arrays:   # (learnt since planned)
                self.learning = Learning(tried=True)
                self.planned = planned = planned.successor = forms.as_bool_array(planned)
                self.run.transact(planned.request, planned.route, planned.send, self)
                return
            self.learning, self.handler = Learning(held=reply, tried=True), self._on_probe
            self.run.transact(forms.word_probe(planned), planned.route, planned.send, self)
            return
        if reply.status or not self.fragments:
            self._land(reply)
        else:
            self.run.transact(self.fragments.popleft(), planned.route, planned.send, self)

    def _on_probe(self, reply: cip.Reply) -> None:
        """The word a failed BOOL[] element write would be in: a DWORD means a BOOL[], so the bit is
        written with Read Modify Write; a BOOL (a BOOL[] of bytes, the original simulator's) that
        the write was not cast to, so it goes again as one; anything else lands the write's own
        failure."""
        learning = self.learning
        assert learning is not None and learning.held is not None
        held, learning.held = learning.held, None
        planned = self.planned
        if forms.is_bools(reply) and planned.op.get("tag_type") != types.BOOL.code:   # a BOOL[] of bytes
            self.planned = planned = forms.as_bool_write(planned)
        elif not forms.is_dword(reply):
            self._land(held)
            return
        else:
            self.run.core.shapes.bool_arrays.add(forms.tag_key(planned.request.path))
            self.planned = planned = planned.successor = forms.as_bool_array(planned)
        self.handler = self._on_write
        self.run.transact(planned.request, planned.route, planned.send, self)

    def _on_read(self, reply: cip.Reply) -> None:
        status = reply.status
        self.planned.fits = status == 0
        if status == 0x06:
            self._read(reply)
        elif status == 0 and reply.body.__class__ is _READ_REPLY and reply.body.type not in _LEARNING \
                and self.learning is None:
            self._land(reply)   # (a poller's usual reply: an atomic value, nothing to learn)
        else:
            self._complete(reply)

    def _complete(self, reply: cip.Reply) -> None:
        """A read's whole reply: first learn what decoding it needs (a BOOL[] it came from, a
        structure's template), then land it."""
        planned, run = self.planned, self.run
        shapes = run.core.shapes
        learning = self.learning
        if learning is not None and learning.held is not None:   # the reply to the BOOL[] form that was tried
            held, learning.held = learning.held, None
            saved = learning.saved
            assert saved is not None
            if forms.is_dword(reply):
                shapes.bool_arrays.add(forms.tag_key(planned.request.path))
                saved.successor = planned
            else:   # not a BOOL[] after all: the operation is what it was, and so is its reply
                self.planned, reply = saved, held
        elif (learning is None or not learning.tried) and forms.maybe_bool_read(planned, reply):
            self.learning = learning = Learning(held=reply, tried=True, saved=planned)
            self.planned = tried = forms.as_bool_array(planned)
            self.handler = self._on_read
            run.transact(tried.request, tried.route, tried.send, self)
            return
        handle = forms.unknown_structure(reply, shapes) if run.structures else None
        if handle is not None and (learning is None or learning.fetch is None):
            if learning is None:
                self.learning = learning = Learning()
            learning.fetch, self.first = shapes.fetch(handle), reply
            self._learn()
            return
        self._land(reply)

    def _learn(self, reply: cip.Reply | None = None) -> None:
        """The next step of learning a structure's template; its read lands when there is none."""
        fetch = self.learning.fetch if self.learning is not None else None
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
        refused: set[tuple[Any, ...]] = _NONE   # tags of refused writes followed up after the packet
        for (position, planned), one in zip(group, replies):
            if planned.method == "read":
                if refused and forms.tag_key(planned.request.path) in refused:
                    self.partials.append((position, planned, None))   # (read again after the write is done)
                    continue
                planned.fits = one.status == 0
                if one.status == 0x06 or forms.wanting(planned, one, self.run.core.shapes, self.run.structures):
                    self.partials.append((position, planned, one))
                    continue
                if planned.pick is not None:
                    one = forms.misfit(planned, one)
            elif planned.doubtful:
                if one.status:   # (a write refused: maybe to a BOOL[] element)
                    self.partials.append((position, planned, one))
                    if not refused:
                        refused = set()
                    refused.add(forms.tag_key(planned.request.path))
                    continue
                planned.doubtful = False
            self.landed.append(Landed(position, self.index, planned.packed, planned.request, one, planned.method,
                                       planned))
        self._next_partial()

    def _next_partial(self) -> None:
        """The rest of each partial read of a packet, one after another on the packet's place."""
        if not self.partials:   # (also _NONE: an empty tuple)
            self.run.landed(self)
            return
        self.position, self.planned, reply = self.partials.popleft()
        self.learning = None
        planned = self.planned
        if reply is not None and planned.method == "write":
            self.handler = self._on_write
            self._on_write(reply)
        elif reply is None:   # a read of a tag the packet's refused write was then written to
            self.handler = self._on_read
            self.run.transact(planned.request, planned.route, planned.send, self)
        else:
            self._on_read(reply)

    def _land(self, reply: cip.Reply) -> None:
        planned = self.planned
        if planned.pick is not None:   # (a bit of a value that is no integer, or beyond its size: fails)
            reply = forms.misfit(planned, reply)
        one = Landed(self.position, self.index, planned.packed if self.packed else planned.alone,
                      planned.request, reply, planned.method, planned)
        if self.partials:
            self.landed.append(one)
            self._next_partial()
        elif self.landed:
            self.landed.append(one)
            self.run.landed(self)
        else:
            self.run.landed(self, one)   # (its only result: no list to make)
