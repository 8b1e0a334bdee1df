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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from cpppo.enip.codec import cip, encap

if TYPE_CHECKING:   # (the core's own classes, named in events; no import cycle at run time)
    from cpppo.enip.client.batch import Run
    from cpppo.enip.client.core import Ticket

__all__ = ["Description", "Planned", "Result", "Send", "Delivered", "Finished", "Answered", "Broken",
           "Need", "NEED_DATA"]


class Description(str):
    """The original's description string (``Single Read  Tag  SCADA[1]``), carrying its operation dict
    (``.op``) for the summary line and for tools that name a failed operation."""

    op: dict[str, Any]


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

    @property
    def packable(self) -> bool:
        """May share a Multiple Service Packet: one request, not a fragmented service (0x52 is also
        Unconnected Send, and some servers, ours included, refuse it inside a packet)."""
        return len(self.requests) == 1 and self.request.service not in (0x52, 0x53)

    @property
    def final(self) -> bool:
        """The reply to its first request is known to be its last: one request, and for a read one
        whose reply was complete before."""
        return self.fits if self.method == "read" else len(self.requests) == 1


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


@dataclass(frozen=True, slots=True)
class Send:
    """Bytes for the driver to write; ``deadline`` (the core's clock) is when its reply is due, or None."""

    data: bytes
    deadline: float | None


@dataclass(frozen=True, slots=True)
class Delivered:
    """The next result of a run, in operation order."""

    run: "Run"
    result: Result


@dataclass(frozen=True, slots=True)
class Finished:
    """A run is over: every result delivered (``error`` None), or stopped by ``error``."""

    run: "Run"
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class Answered:
    """A single request's reply frame (or the error that ended it)."""

    ticket: "Ticket"
    frame: encap.Frame | None
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class Broken:
    """The reply stream cannot be framed any more: the driver closes the connection."""

    error: BaseException
