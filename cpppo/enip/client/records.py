"""The client's records: what an operation means on the wire, its result, and the core's events.

Why records with names: the pipeline used to pass an 11-field tuple read by
index (``p[8][0]``) and keep outstanding requests as 4-tuples.  Here an
operation is worked out once into a :class:`Planned` (its requests, its
descriptions, its size in a Multiple Service Packet), every result is a
:class:`Result` (a named tuple, because the original's API hands out
``(idx, dsc, req, rpy, sts, val)`` tuples that scripts unpack), and the sans-IO
core (:mod:`.core`) talks to its drivers only in the events below.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from cpppo.enip.codec import cip, encap

if TYPE_CHECKING:
    from cpppo.enip.client.shapes import Shapes

__all__ = ["Description", "Echo", "Planned", "Result", "Send", "Delivered", "Finished", "Answered", "Broken",
           "Need", "NEED_DATA", "Owner", "Pending", "Staged", "Ticket", "Core", "Pipeline"]


class Description(str):
    """The original's description string (``Single Read  Tag  SCADA[1]``), carrying its operation dict
    (``.op``) for the summary line and for tools that name a failed operation."""

    op: dict[str, Any]


@dataclass(slots=True, eq=False)
class Echo:
    """The last good reply to a read, by its bytes: a poller's next reply in the same bytes is this one.

    Why: a poller's reads come back in the same command data while the value does not change
    (only the header's sender context differs), so the core's steady path (:class:`.batch.Repeat`)
    compares a reply's command data with ``payload`` and, if equal, delivers ``reply`` and a new list of
    ``values`` with no decoding at all; any other reply goes the general way and is learnt anew.
    """

    payload: bytes                            # the reply's command data (CPF and CIP reply)
    reply: cip.Reply                          # ... decoded
    values: tuple[Any, ...]                   # ... and its values


@dataclass(slots=True, eq=False)
class Planned:
    """What one operation means on the wire, worked out once per client and reused by pollers.

    ``fits`` is what the client learnt: a reply to this read was complete before, so it will be
    again (a read's size does not change), and its place on the wire can go back as soon as the
    reply is framed.
    """

    op: dict[str, Any]                        # the operation, as the original's dict (a private copy)
    method: str                               # "read", "write", "get_attribute_single", ...
    request: cip.Request                      # its first (or only) request
    requests: tuple[cip.Request, ...]         # every request of a write (its fragments), else (request,)
    route: tuple[Any, ...]                    # route path (empty: no Unconnected Send)
    send: tuple[Any, ...]                     # send path (empty: plain requests)
    alone: Description                        # its description sent alone
    packed: Description                       # ... and inside a Multiple Service Packet
    encoded: bytes                            # the first request's bytes (a Multiple Service Packet's part)
    sizes: tuple[int, int]                    # (request, reply) bytes inside a Multiple Service Packet
    fits: bool = False
    pick: tuple[Any, ...] | None = None       # a bit, or BOOL[] elements, of the values read (see .forms)
    fallback: tuple[cip.Request, ...] = ()    # a string write's CIP form, if the Logix form is refused
    successor: Planned | None = None          # the form later operations take, once one taught it (.forms)
    doubtful: bool = False                    # a write whose refusal may call for another form (a BOOL[] bit)
    echo: Echo | None = None                  # a plain read's last good reply, by its bytes (see .batch.Repeat)

    @property
    def packable(self) -> bool:
        """May share a Multiple Service Packet: one request, not a fragmented service (0x52 is also
        Unconnected Send, and some servers, ours included, refuse it inside a packet)."""
        return len(self.requests) == 1 and self.request.service not in (0x52, 0x53) and not self.fallback

    @property
    def final(self) -> bool:
        """The reply to its first request is known to be its last: one request, and for a read one
        whose reply was complete before."""
        return self.fits if self.method == "read" else len(self.requests) == 1 and not (self.fallback or self.doubtful)


class Result(NamedTuple):
    """One operation's result, the original's 6-tuple: request index, description, request, reply,
    status (an int, or ``(status, [extended...])``) and value (None on failure)."""

    idx: int
    dsc: Description
    req: Any
    rpy: Any
    sts: Any
    val: Any


class Need(enum.Enum):
    """What :meth:`.core.ClientCore.next_event` returns when it has nothing more to say."""

    DATA = "NEED_DATA"


NEED_DATA = Need.DATA


@dataclass(slots=True)
class Send:
    """Bytes for the driver to write; ``deadline`` (the core's clock) is when its reply is due, or None."""

    data: bytes
    deadline: float | None


@dataclass(slots=True)
class Delivered:
    """The next result of a run, in operation order."""

    run: Pipeline
    result: Result


@dataclass(slots=True)
class Finished:
    """A run is over: every result delivered (``error`` None), or stopped by ``error``."""

    run: Pipeline
    error: BaseException | None


@dataclass(slots=True)
class Answered:
    """A single request's reply frame (or the error that ended it)."""

    ticket: Ticket
    frame: encap.Frame | None
    error: BaseException | None


@dataclass(slots=True)
class Broken:
    """The reply stream cannot be framed any more: the driver closes the connection."""

    error: BaseException


# --- requests on the wire, and who waits for them ---------------------------------------

class Owner(Protocol):
    """Whoever waits for a reply: a pipeline's place on the wire (:class:`~.batch.Job`) or a :class:`Ticket`."""

    def framed(self) -> None:
        """The reply is framed with a good status and not yet decoded (only for ``early`` requests)."""

    def answered(self, frame: encap.Frame) -> None:
        """The reply, decoded (encapsulation status 0)."""

    def failed(self, error: BaseException) -> None:
        """No usable reply: a timeout, an encapsulation status, a lost or broken connection."""


@dataclass(slots=True, eq=False)
class Pending:
    """A request on the wire, waiting for its reply."""

    owner: Owner
    deadline: float | None
    timeout: float | None
    early: bool   # call owner.framed() as soon as the reply is framed


@dataclass(slots=True, eq=False)
class Staged:
    """A request encoded and ready to go: only the sending is left when a place on the wire frees."""

    data: bytes
    key: Any


@dataclass(slots=True, eq=False)
class Ticket:
    """A single request (RegisterSession, List Identity, Forward Open, a low-level read...); the
    driver keeps what it needs in ``tag`` (a Deferred, a place in a reply queue)."""

    core: Core
    command: int
    tag: Any = None

    def framed(self) -> None:   # pragma: no cover - tickets are never sent early
        pass

    def answered(self, frame: encap.Frame) -> None:
        self.core.queue(Answered(self, frame, None))

    def failed(self, error: BaseException) -> None:
        self.core.queue(Answered(self, None, error))


# --- what the modules see of one another ------------------------------------------------

class Core(Protocol):
    """What a pipeline (:class:`.batch.Run`) and a :class:`Ticket` use of :class:`.core.ClientCore`."""

    budget: int
    route_path: tuple[Any, ...]
    send_path: tuple[Any, ...]
    prepared: dict[Any, Any]
    queue: Callable[[Any], None]
    shapes: Shapes

    def stage(self, request: cip.Request, route: tuple[Any, ...] | None = None,
              send: tuple[Any, ...] | None = None) -> Staged:
        """*request* encoded in its frame, ready to go."""

    def send_staged(self, staged: Staged, owner: Owner, timeout: float | None, early: bool = False) -> None:
        """Put a staged request on the wire for *owner*."""


class Pipeline(Protocol):
    """What a driver reads of a run (:class:`.batch.Run`) it got a Delivered or Finished for."""

    tag: Any
    error: BaseException | None
    finished: bool

    def fail(self, error: BaseException) -> None:
        """Stop the run."""
