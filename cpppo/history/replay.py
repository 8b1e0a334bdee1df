"""Polled, real-time-paced replay of history files: the original cpppo's ``reader`` and ``loader``.

Why: a simulator replaying recorded register values asks, every so often, "what has happened up
to now?", where "now" is historical time advancing at some *factor* of wall-clock time from a
*basis*.  ``reader.open`` yields the records due by then; ``loader.load`` turns them into register
values and events, tolerating damaged records.  (For event-driven playback on the Twisted
reactor, see :mod:`cpppo.history.playback`.)

Historical time is ``historical + (now - basis) * factor``.  The wall clock is ``time.time`` unless
a *clock* is given (any callable returning seconds, eg. ``twisted.internet.task.Clock().seconds``).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from .recording import DataError, HistoryExhausted, IframeError, history_files, opener, parse_record
from .times import format_offset, timestamp

__all__ = ["reader", "loader"]

log = logging.getLogger(__package__)

_Yield = tuple[tuple[str | None, int, timestamp], tuple[Any, Any]]


def _seconds(when: Any) -> float:
    if isinstance(when, (int, float)):
        return float(when)
    return timestamp(when).value


class reader:
    """Replay the history series *path* from the *historical* time, synchronised to wall-clock time
    *basis* (default now) and advancing at *factor* (default 1.0) times real time.

    :meth:`open` yields each record once historical time reaches it.  If no file holds the history
    asked for, it raises :class:`HistoryExhausted`.
    """

    def __init__(self, path: str | os.PathLike[str], historical: Any, basis: Any = None,
                 factor: float | None = None, *, clock: Callable[[], float] = time.time) -> None:
        log.info("Reading history from path: %s", path)
        self.path = os.fspath(path)
        self.dirs = os.path.dirname(self.path)
        self.name = os.path.basename(self.path)
        self.clock = clock
        self.historical = timestamp(historical)
        self.basis = timestamp(clock() if basis is None else basis)
        self.factor = factor or 1.0

    def __str__(self) -> str:
        """The historical start time, how far playback has advanced from it, the rate and the file."""
        dt = (self.clock() - self.basis.value) * self.factor
        return f"{self.historical} {format_offset(dt)} x {self.factor:4.2f} {self.name}"

    def __repr__(self) -> str:
        return f"<{self}>"

    def advance(self, now: Any = None) -> timestamp:
        """The historical time corresponding to wall-clock *now* (default: the clock's current time)."""
        now_s = self.clock() if now is None else _seconds(now)
        return self.historical + (now_s - self.basis.value) * self.factor

    def realtime(self, when: Any) -> float:
        """The wall-clock time (epoch seconds) at which historical time reaches *when*; inverts :meth:`advance`."""
        when_s = self.clock() if when is None else _seconds(when)
        return (when_s - self.historical.value) / self.factor + self.basis.value

    def _choose(self, target: timestamp, after: bool, strict: bool) -> str:
        """The file to play: the first starting after *target*, or the last starting before it (else the oldest)."""
        files = history_files(self.path)
        if not files:
            raise HistoryExhausted(f"No history files found for {self.path}")
        if after:
            for first, file_path in files:
                if (first > target) if strict else (first >= target):
                    return file_path
            raise HistoryExhausted(f"No history files found after {target}")
        chosen = files[0][1]
        for first, file_path in files:
            if (first < target) if strict else (first <= target):
                chosen = file_path
        return chosen

    def open(self, target: Any = None, after: bool = True, lookahead: float | None = None,
             strict: bool = False, encoding: str | None = None) -> Iterator[_Yield]:
        """Yield ``(f, n, cur), (ts, js)`` for the records of one history file, as historical time reaches them.

        *f* is the file's name past the series name (``''``, ``'.1.gz'``), *n* the line number,
        *cur* the current historical time, *ts* the record's timestamp and *js* its data as JSON
        text.  While the next record is more than *lookahead* seconds ahead of historical time,
        ``(ts, None)`` is yielded instead; ask again later.  A record whose line cannot be parsed
        yields ``(None, None)`` (with a warning).  The generator ends with the file.

        The file is the first of the series starting after *target* (strictly, if *strict*), or
        with *after* False the last starting at or before it (default *target*: the current
        historical time); pass the last timestamp seen to move on to the next file.
        Raises :class:`HistoryExhausted` if there is no such file.
        """
        target_ts = self.advance() if target is None else timestamp(target)
        file_path = self._choose(target_ts, after, strict)
        f = os.path.basename(file_path)[len(self.name):]
        with opener(file_path) as fd:
            ts: timestamp | None  # None after an unparsable line
            js: str | None
            try:
                n, (ts, _, js) = parse_record(fd, encoding=encoding)
            except StopIteration:
                return
            cur = self.advance()
            ahead = lookahead or 0.0
            while True:
                if ts is not None and ts > cur + ahead:
                    cur = self.advance()
                    if ts > cur + ahead:
                        yield (f, n, cur), (ts, None)
                        continue
                yield (f, n, cur), (ts, js)
                try:
                    n, (ts, _, js) = parse_record(fd, n=n, encoding=encoding)
                except StopIteration:
                    return
                except DataError as exc:
                    log.warning("%s %s", self, exc)
                    n += 1
                    ts, js = None, None


class loader(reader):
    """Play register history, evaluating True until it is exhausted.

    Each record's data is a ``{register: value}`` dict.  :meth:`load` absorbs the records due by
    the current historical time into ``values`` (``{register: (realtime, value)}``) and returns
    them as events.  Records up to *lookahead* seconds ahead wait in ``future``; *duration*
    historical seconds after *historical*, playback ends; *values* are defaults reported until the
    first record arrives.  Damaged records are logged and skipped; see :meth:`load`.
    """

    INITIAL = 0  # need to open the initial history file (one "before" target time)
    SWITCHING = 1  # need to open the next history file (one "after" target time)
    STREAMING = 2  # producing events from an open file
    EXHAUSTED = 3  # no more history, but lookahead events may remain
    AWAITING = 4  # the next record is in the future
    COMPLETE = 5  # every event consumed
    FAILED = 6

    statename = {INITIAL: "INITIAL", SWITCHING: "SWITCHING", STREAMING: "STREAMING", EXHAUSTED: "EXHAUSTED",
                 AWAITING: "AWAITING", COMPLETE: "COMPLETE", FAILED: "FAILED"}

    SUPPRESS = 0  # log bad data and carry on
    FAIL = 1  # stop playback (state FAILED)
    RAISE = 2  # stop playback and raise DataError/IframeError

    def __init__(self, path: str | os.PathLike[str], historical: Any, basis: Any = None,
                 factor: float | None = None, lookahead: float | None = None, duration: float | None = None,
                 values: dict[Any, Any] | None = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(path=path, historical=historical, basis=basis, factor=factor, clock=clock)
        self.lookahead = lookahead
        self._duration: float | None = None
        self._deadline: timestamp | None = None
        self.duration = duration
        self.future: collections.deque[tuple[timestamp, dict[int, tuple[float, int]]]] = collections.deque()
        self.until: timestamp | None = None  # timestamp of the last record absorbed into values
        self._state = self.INITIAL
        self._i: Iterator[_Yield] | None = None
        self._f: str | None = ""
        self._n = 0
        self._ts: timestamp | None = None  # last timestamp received
        self._strict = False  # open the next file strictly after _ts, until timestamps increase
        self.values: dict[int, tuple[float, int]] = {}
        if values:
            self.values.update((int(r), (0.0, int(v))) for r, v in values.items())

    @property
    def duration(self) -> float | None:
        """Historical seconds to play before stopping (None: until the history ends)."""
        return self._duration

    @duration.setter
    def duration(self, value: float | None) -> None:
        self._duration = value
        self._deadline = None if value is None else self.historical + value

    @property
    def state(self) -> int:
        """The playback state (INITIAL ... FAILED); assign a state or a (state, reason) pair."""
        return self._state

    @state.setter
    def state(self, value: int | tuple[int, str]) -> None:
        state, why = value if isinstance(value, tuple) else (value, None)
        if state != self._state:
            level = logging.WARNING if state == self.FAILED else logging.INFO
            log.log(level, "%s %-9s -> %-9s%s", self, self.statename[self._state], self.statename[state],
                    f": {why}" if why else "")
            self._state = state

    def __str__(self) -> str:
        return super().__str__() + f"{' none' if self._f is None else self._f:<7}({self._n:5d})"

    def __bool__(self) -> bool:
        return self._state < self.COMPLETE

    def _drain(self) -> Iterator[_Yield]:
        """After the history ends: keep reporting advancing time, with no data."""
        while True:
            cur = self.advance()
            yield (None, 0, cur), (cur, "null")

    def load(self, limit: int | None = None, upcoming: Any = None, on_bad_iframe: int = FAIL,
             on_bad_data: int = SUPPRESS, encoding: str | None = None) -> tuple[timestamp, list[dict[str, Any]]]:
        """Absorb the history due by now; return ``(timestamp, events)``.

        Events are ``{'timestamp': ts, 'command': 'register', 'values': data}``, one per record read.
        The timestamp is the current historical time (or *upcoming*, or the last record absorbed,
        when stopping early).  At most *limit* events are returned per call; records at or after
        *upcoming* are held back.  Keep calling while the loader is true (and, with *limit* or
        *upcoming*, while ``state < AWAITING``).

        A damaged first record (the "iframe" of initial values) stops playback unless
        *on_bad_iframe* is ``SUPPRESS``; other damaged records are skipped unless *on_bad_data* says
        otherwise.  ``FAIL`` ends in state FAILED, ``RAISE`` also raises the error.
        """
        cur = self.advance()
        events: list[dict[str, Any]] = []
        if not self:
            return cur, events
        upcoming_ts = None if upcoming is None else timestamp(upcoming)
        first = True
        while self.state <= self.STREAMING or first:
            first = False
            try:
                if self.state in (self.INITIAL, self.SWITCHING):
                    self._i = self.open(target=self._ts, after=self.state != self.INITIAL,
                                        lookahead=self.lookahead, strict=self._strict, encoding=encoding)
                    self._strict = True  # until this file shows increasing timestamps
                assert self._i is not None
                seen = None
                for (f, n, cur), (ts, js) in self._i:
                    self._f, self._n = f, n
                    seen = ts if ts is not None else seen
                    data, bad = None, False
                    if js is not None:
                        try:
                            data = json.loads(js)
                        except ValueError as exc:
                            bad = True
                            if self.state == self.INITIAL:
                                data = f"Initial frame of historical register data corrupt: {exc}"
                                if on_bad_iframe != self.SUPPRESS:
                                    raise IframeError(data) from None
                            else:
                                data = f"Historical register data corrupt: {exc}"
                    if ts is None:  # an unparsable line (the reader warned)
                        continue
                    if self._deadline is not None and self.state < self.EXHAUSTED and ts >= self._deadline:
                        span = format_offset(self._duration or 0, symbols='-+')
                        raise HistoryExhausted(f"Exhausted history duration {span}")
                    if js is None:  # the next record is in the future
                        wait = ts.value - cur.value - (self.lookahead or 0.0)
                        self.state = self.AWAITING, f"waiting {wait / self.factor:.3f}s for {ts}"
                        break
                    if self._strict and self.state not in (self.INITIAL, self.SWITCHING) and (
                            self._ts is None or ts > self._ts):
                        self._strict = False
                    if self.state in (self.INITIAL, self.SWITCHING, self.AWAITING):
                        self.state = self.STREAMING
                    if data is None and self.state != self.EXHAUSTED:
                        data, bad = "ignoring historical record with 'null' data", True
                    regs: dict[int, tuple[float, int]] = {}
                    if data and not isinstance(data, str):
                        try:
                            if not isinstance(data, dict):
                                raise TypeError(f"unsupported {type(data).__name__}")
                            realtime = self.realtime(ts)
                            regs = {int(r): (realtime, int(v)) for r, v in data.items()}
                        except (TypeError, ValueError) as exc:
                            data, bad = f"invalid register data: {exc}", True
                    if isinstance(data, str):  # a note in the stream, or a problem with this record
                        log.info("%s %s: %s", self, "FAIL" if bad else "NOTE", data)
                        if bad and on_bad_data != self.SUPPRESS:
                            raise DataError(data)
                        continue
                    if data:
                        if self._ts is None or ts >= self._ts:
                            self._ts = ts
                            events.append({"timestamp": ts, "command": "register", "values": data})
                            self.future.append((ts, regs))
                        else:
                            log.info("%s ignoring out-of-order timestamp %s < %s", self, ts, self._ts)
                    while self.future and self.future[0][0] <= cur:
                        if upcoming_ts is not None and self.future[0][0] >= upcoming_ts:
                            return upcoming_ts, events
                        self.until, regs = self.future.popleft()
                        self.values.update(regs)
                    if self.state == self.EXHAUSTED:
                        if not self.future:
                            self.state = self.COMPLETE, "history exhausted, lookahead empty"
                        break
                    if limit is not None and len(events) >= limit:
                        return self.until or cur, events
                if self.state == self.STREAMING:
                    self.state = self.SWITCHING, "end of history file"
                elif self.state in (self.INITIAL, self.SWITCHING):
                    # A file with no usable record: move on past it, rather than re-open it forever
                    if seen is None or (self._ts is not None and seen <= self._ts):
                        raise HistoryExhausted(f"no usable records after {self._ts}")
                    self._ts, self._strict = seen, True
                    self.state = self.SWITCHING, "no usable records in history file"
            except HistoryExhausted as exc:
                self.state = self.EXHAUSTED, str(exc)
                self._i = self._drain()
            except IframeError as exc:
                self.state = self.FAILED, str(exc)
                if on_bad_iframe == self.RAISE:
                    raise
            except DataError as exc:
                self.state = self.FAILED, str(exc)
                if on_bad_data == self.RAISE:
                    raise
            except (OSError, EOFError, ValueError) as exc:
                self.state = self.FAILED, f"playback failed: {exc}"
        return cur, events
