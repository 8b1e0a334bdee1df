"""Playback of recorded history on the Twisted reactor, at real speed, faster, or as fast as possible.

Why: simulators and test rigs built on Twisted want recorded events delivered as the reactor runs,
with the same spacing in time as when they were recorded (or 10x faster, or with no waiting), and
without blocking the reactor or polling.  Each event is scheduled with ``callLater`` on the clock
given (the global reactor by default; tests pass ``twisted.internet.task.Clock``), relative to when
playback started, so delays never accumulate drift.  A callback may return a Deferred: the next
event waits until it fires.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Generator
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from .recording import record, records
from .times import timestamp

__all__ = ["Playback", "playback"]

log = logging.getLogger(__package__)


class Playback:
    """Deliver the events of the history series *path* to *callback*, spaced as recorded.

    *speed* 1.0 is real time, 10 ten times faster; ``None``, 0 or ``math.inf`` means as fast as
    possible (in batches of *batch* events, letting the reactor run between batches).  *start* and
    *stop* bound the history played (anything :class:`~cpppo.history.timestamp` accepts); with a
    *start*, the first event waits for its distance from *start*.  *callback* receives a
    :class:`~cpppo.history.record` (timestamp, serial, data) and may return a Deferred.

    :meth:`start` returns a Deferred firing with the number of events delivered, or failing with
    the first error (from reading or from the callback).  Cancelling it, or :meth:`stop`, ends
    playback early.
    """

    def __init__(self, path: str | os.PathLike[str], callback: Callable[[record], Any], start: Any = None,
                 stop: Any = None, speed: float | None = 1.0, clock: IReactorTime | None = None,
                 batch: int = 1000, strict: bool = False, encoding: str | None = None) -> None:
        if speed is not None and speed < 0:
            raise ValueError(f"Invalid playback speed {speed!r}; must be positive, or None/0/inf for fastest")
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        self.path = os.fspath(path)
        self.callback = callback
        self.start_at = start
        self.stop_at = stop
        self.speed = None if not speed or math.isinf(speed) else float(speed)
        self.clock: IReactorTime = clock
        self.batch = max(1, batch)
        self.strict = strict
        self.encoding = encoding
        self.delivered = 0
        self._events: Generator[record, None, None] | None = None
        self._call: IDelayedCall | None = None
        self._deferred: defer.Deferred[int] | None = None
        self._origin: tuple[float, float] | None = None  # (clock seconds, historical seconds) at start
        self._pending: record | None = None

    def start(self) -> defer.Deferred[int]:
        """Begin playback; the Deferred fires with the count of events delivered."""
        if self._events is not None or self.delivered or self._origin is not None:
            raise RuntimeError("Playback already started; make a new Playback to play again")
        self._deferred = defer.Deferred(lambda _: self._finish(None))
        self._events = records(self.path, start=self.start_at, stop=self.stop_at, strict=self.strict,
                               encoding=self.encoding)
        self._call = self.clock.callLater(0, self._run)
        return self._deferred

    def stop(self) -> None:
        """End playback early; the Deferred fires with the count delivered so far."""
        self._finish(self.delivered)

    def _finish(self, result: Any) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        events, self._events = self._events, None
        if events is not None:
            events.close()
        deferred, self._deferred = self._deferred, None
        if deferred is None or result is None or deferred.called:
            return
        if isinstance(result, BaseException):
            deferred.errback(result)
        else:
            deferred.callback(result)

    def _due(self, event: record) -> float:
        """Seconds from now until *event* is due (negative if late)."""
        if self._origin is None:
            first = event.timestamp.value if self.start_at is None else timestamp(self.start_at).value
            self._origin = (self.clock.seconds(), first)
        if self.speed is None:
            return 0.0
        began, first = self._origin
        return began + (event.timestamp.value - first) / self.speed - self.clock.seconds()

    def _run(self) -> None:
        """Deliver every event now due (up to a batch), then schedule the next one."""
        self._call = None
        try:
            for _ in range(self.batch):
                if self._events is None:
                    return
                event = self._pending or next(self._events, None)
                self._pending = None
                if event is None:
                    self._finish(self.delivered)
                    return
                wait = self._due(event)
                if wait > 0:
                    self._pending = event
                    self._call = self.clock.callLater(wait, self._run)
                    return
                self.delivered += 1
                result = self.callback(event)
                if isinstance(result, defer.Deferred) and not self._fired_now(result):
                    return  # the next event waits for this Deferred
        except Exception as exc:  # reading (DataError with strict) or the callback failed
            self._finish(exc)
            return
        self._call = self.clock.callLater(0, self._run)  # a full batch: let the reactor breathe

    def _fired_now(self, result: defer.Deferred[Any]) -> bool:
        """Chain the callback's Deferred; True if it has already fired (so we may carry on at once)."""
        now = {"sync": True, "fired": False}

        def fired(_: Any) -> None:
            if now["sync"]:
                now["fired"] = True
            elif self._events is not None:
                self._run()

        result.addCallbacks(fired, self._failed)
        now["sync"] = False
        return now["fired"]

    def _failed(self, failure: Any) -> None:
        self._finish(failure.value)


def playback(path: str | os.PathLike[str], callback: Callable[[record], Any], start: Any = None,
             stop: Any = None, speed: float | None = 1.0, clock: IReactorTime | None = None,
             **kwds: Any) -> defer.Deferred[int]:
    """Play the history series *path* to *callback* on the reactor (or *clock*); see :class:`Playback`.

    Returns a Deferred firing with the number of events delivered; cancel it to stop.
    """
    return Playback(path, callback, start=start, stop=stop, speed=speed, clock=clock, **kwds).start()
