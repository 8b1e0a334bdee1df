"""Wait for timeouts, files (and a line in them) and predicates, as the original's ``--wait`` terms.

Why: the original's scripts and tests start a server and then wait for its pid file, a line in its
log, or a predicate, with ``all(waits.existence(terms))``.  This module keeps that API: each term is
a number (a timeout for the terms after it; ``inf`` for none), a ``filename[%regex]`` (wait until the
file exists and, given a regex, has a matching line), or a callable (wait until it returns true);
iterating yields True or False per term.  Checks back off exponentially up to ``delay_max``, and
close in again as a timeout nears, so that a long wait costs few checks yet ends promptly.

The clock and the sleep are arguments (``timer=``, ``sleep=``), so a test drives them without waiting.
"""

from __future__ import annotations

import errno
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["existence", "duration", "waitfor"]

log = logging.getLogger(__name__)


def _shown(timeout: float | None) -> str:
    return "None" if timeout is None else f"{timeout:.3f}s"


class existence:
    """Process wait terms in order, yielding True/False per term (see the module's docstring).

    ``waiter = existence(terms=["5", "server.pid", "server.log%listening"])``; ``all(waiter)`` is true
    when every file turned up within 5 s.  ``str(waiter)`` is the last term processed.  With
    ``presence=False`` it waits for files (or matches, or truths) to go away instead.
    """

    def __init__(self, terms: Iterable[Any] | None = None, delay_min: float = 0.1, delay_max: float = 30.0,
                 regex_sep: str = "%", presence: bool = True, timeout: float | None = None,
                 idle_service: Callable[[], Any] | None = None, timer: Callable[[], float] = time.time,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        self.terms: list[Any] = list(terms) if terms else []
        self.delay_min, self.delay_max = delay_min, delay_max
        self.regex_sep = regex_sep
        self.presence = presence
        self.idle_service = idle_service
        self.timeout = timeout            # None: wait forever
        self.timer, self.sleep = timer, sleep
        self.started = timer()
        self.awaited = False
        self.last: Any = None

    def __str__(self) -> str:
        return "" if self.last is None else str(self.last)

    def __call__(self, *terms: Any) -> existence:
        """Add *terms* after those still pending (also while iterating)."""
        self.terms.extend(terms)
        return self

    def __iter__(self) -> Iterator[bool]:
        return self

    def __next__(self) -> bool:
        if not self.terms:
            return self._finish()
        self.last, self.terms = self.terms[0], self.terms[1:]
        try:
            timeout: float | None = float(self.last)
        except (ValueError, TypeError):
            pass
        else:
            # A number restarts the clock for the terms after it; inf means no timeout.
            assert timeout is not None
            if math.isinf(timeout):
                timeout = None
            else:
                assert timeout >= 0, "waits timeout must be a +'ve value"
            self.timeout, self.started, self.awaited = timeout, self.timer(), False
            self.last = f"(timeout {_shown(timeout)})"
            return True
        self.awaited = True
        if callable(self.last):
            return self.truth(self.last)
        return self.exists(*str(self.last).split(self.regex_sep, 1))

    next = __next__

    def _finish(self) -> bool:
        """After the last term: a bare trailing timeout (no file waited for since) is slept out."""
        self.last = None
        if self.timeout and not self.awaited:
            remains = self.started + self.timeout - self.timer()
            if remains > 0:
                self.sleep(remains)
        raise StopIteration

    def delay(self, target: float = 0, now: float | None = None) -> float:
        """The next pause: *target* (at least delay_min, at most delay_max), and never more than
        half of what remains of a finite timeout (so the last checks come close to its end)."""
        pauses = [self.delay_max, max(target, self.delay_min)]
        if self.timeout is not None:
            now = self.timer() if now is None else now
            remains = self.started + self.timeout - now
            pauses.append(max(remains / 2, min(self.delay_min, remains), 0))
        return min(pauses)

    def _expired(self, now: float) -> bool:
        return self.timeout is not None and now >= self.started + self.timeout

    def _pause(self, delay: float) -> float:
        """Back off (doubling) before the next check; returns the pause taken."""
        now = self.timer()
        if self.idle_service:
            self.idle_service()
        pause = self.delay(target=delay * 2, now=now)
        self.sleep(pause)
        return pause

    def truth(self, predicate: Callable[[], Any]) -> bool:
        """Wait until *predicate()* is true (false, without presence); False at the timeout."""
        delay = 0.0
        while bool(predicate()) != self.presence:
            if self._expired(self.timer()):
                log.info("waits for truth: %r; timeout of %s exceeded", predicate, _shown(self.timeout))
                return False
            delay = self._pause(delay)
        return True

    def _found(self, filename: str, pattern: re.Pattern[str] | None) -> bool | None:
        """Does the file exist (and hold a matching line)?  None when that cannot be told (EACCES...)."""
        try:
            with open(filename) as f:
                return True if pattern is None else any(pattern.search(line) for line in f)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            if exc.errno == errno.EISDIR and pattern is None:
                return True
            log.debug("wait for %r: indeterminate: %s", filename, exc)
            return None

    def exists(self, filename: str, regex: str | None = None) -> bool:
        """Wait until *filename* exists and (given *regex*) has a line matching it; False at the timeout."""
        pattern = re.compile(regex) if regex else None
        delay = 0.0
        while self._found(filename, pattern) != self.presence:
            if self._expired(self.timer()):
                log.info("wait for filename: %r, regex: %r; timeout of %s exceeded", filename, regex,
                         _shown(self.timeout))
                return False
            delay = self._pause(delay)
        log.info("wait for filename: %r, regex: %r, in %.3fs of %s; successful", filename, regex,
                 self.timer() - self.started, _shown(self.timeout))
        return True


def duration(events: Iterable[bool], what: str = "predicate",
             timer: Callable[[], float] | None = None) -> Iterator[tuple[bool, float]]:
    """Yield ``(truth, elapsed seconds)`` for each of *events* (an :class:`existence`, usually)."""
    clock: Callable[[], float] = time.time
    if timer is not None:
        clock = timer
    elif callable(getattr(events, "timer", None)):
        clock = events.timer  # type: ignore[attr-defined]  # an existence: time on its clock
    begun = clock()
    for truth in events:
        elapsed = clock() - begun
        timeout = getattr(events, "timeout", None)
        log.info("After %7.3f/%7.3f %s %s", elapsed, math.inf if timeout is None else timeout,
                 "detected" if truth else "missed  ", what)
        yield truth, elapsed


def waitfor(predicate: Callable[[], Any], what: str = "predicate", timeout: float | None = None,
            intervals: int | None = None, **kwds: Any) -> tuple[bool, float]:
    """Wait for *predicate*: ``(success, elapsed)``; with *intervals*, check at that many even steps
    of the timeout instead of backing off."""
    options: dict[str, Any] = dict(timeout=timeout, **kwds)
    if timeout and intervals:
        options.update(delay_min=timeout / intervals, delay_max=timeout / intervals)
    return next(duration(existence([predicate], **options), what=what))
