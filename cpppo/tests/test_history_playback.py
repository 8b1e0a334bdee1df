"""Tests for replaying history: the polled reader/loader, and Playback on a Twisted Clock.

Time is a ``twisted.internet.task.Clock`` throughout: nothing sleeps.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from cpppo.history import (
    DataError,
    HistoryExhausted,
    IframeError,
    Playback,
    loader,
    logger,
    opener,
    playback,
    reader,
    record,
    timestamp,
)

T0 = 1400000000.0  # 2014-05-13 16:53:20 UTC
REAL = 2000000000.0  # the wall-clock time playback starts at, on the test Clock


class History(unittest.TestCase):
    """A temporary directory, and a Clock standing at REAL."""

    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="cpppo-history-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.clock = Clock()
        self.clock.advance(REAL)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def write(self, name: str, events: list[tuple[float, object]], compress: str | None = None) -> str:
        path = self.path(name)
        with logger(path) as hst:
            for offset, data in events:
                hst.write(data, now=T0 + offset)
        if compress:
            with open(path, "rb") as src, opener(path + compress, "wb") as dst:
                dst.write(src.read())
            os.unlink(path)
        return path


class TestReader(History):
    def test_advance_and_realtime(self) -> None:
        rdr = reader(self.path("h.hst"), historical=T0, basis=REAL, factor=10, clock=self.clock.seconds)
        self.assertEqual(rdr.advance(), timestamp(T0))
        self.clock.advance(1.5)
        self.assertEqual(rdr.advance(), timestamp(T0 + 15))
        self.assertEqual(rdr.advance(REAL + 2), timestamp(T0 + 20))
        self.assertAlmostEqual(rdr.realtime(T0 + 20), REAL + 2)
        self.assertIn("x 10.00 h.hst", str(rdr))

    def test_open_paces_records(self) -> None:
        path = self.write("h.hst", [(0, {"1": 0}), (1, {"1": 1}), (5, {"1": 5})])
        rdr = reader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        it = rdr.open(after=False)
        (f, n, cur), (ts, js) = next(it)
        self.assertEqual((f, n, ts, js), ("", 0, timestamp(T0), '{"1": 0}\n'))
        (f, n, cur), (ts, js) = next(it)
        self.assertEqual((ts, js), (timestamp(T0 + 1), None))  # not yet due
        self.clock.advance(1)
        self.assertEqual(next(it)[1], (timestamp(T0 + 1), '{"1": 1}\n'))
        self.assertIsNone(next(it)[1][1])
        self.clock.advance(4)
        self.assertEqual(next(it)[1][0], timestamp(T0 + 5))
        with self.assertRaises(StopIteration):
            next(it)
        with self.assertRaises(HistoryExhausted):
            next(rdr.open(target=T0 + 5, after=True, strict=True))
        with self.assertRaises(HistoryExhausted):
            next(reader(self.path("none.hst"), historical=T0).open())

    def test_open_chooses_files(self) -> None:
        self.write("h.hst", [(20, {"1": 20}), (21, {"1": 21})])
        self.write("h.hst.1", [(10, {"1": 10})], ".gz")
        self.write("h.hst.2", [(0, {"1": 0})], ".bz2")
        rdr = reader(self.path("h.hst"), historical=T0 + 15, basis=REAL, clock=self.clock.seconds)
        self.assertEqual(next(rdr.open(after=False))[0][0], ".1.gz")  # starts at/before now
        self.assertEqual(next(rdr.open(target=T0 + 10, after=True, strict=True))[0][0], "")
        self.assertEqual(next(rdr.open(target=T0 + 10, after=True))[0][0], ".1.gz")
        self.assertEqual(next(rdr.open(target=T0 - 5, after=False))[0][0], ".2.bz2")  # the oldest


class TestLoader(History):
    def test_plays_register_history_across_files(self) -> None:
        self.write("regs.hst.1", [(0, {"40001": 1, "40002": 2}), (1, {"40001": 11})], ".gz")
        self.write("regs.hst", [(2, {"40002": 22}), (3, {"40001": 111}), (30, {"40003": 3})])
        ld = loader(self.path("regs.hst"), historical=T0 + 0.5, basis=REAL, factor=2, clock=self.clock.seconds)
        cur, events = ld.load()
        self.assertEqual(cur, timestamp(T0 + 0.5))
        self.assertEqual([(e["timestamp"], e["values"]) for e in events], [(timestamp(T0), {"40001": 1, "40002": 2})])
        self.assertEqual(ld.values, {40001: (REAL - 0.25, 1), 40002: (REAL - 0.25, 2)})  # realtime of each
        self.assertEqual(ld.state, ld.AWAITING)
        self.clock.advance(1.5)  # historical T0 + 3.5: crosses into the next file
        cur, events = ld.load()
        self.assertEqual([e["timestamp"] for e in events], [timestamp(T0 + t) for t in (1, 2, 3)])
        self.assertEqual({r: v for r, (_, v) in ld.values.items()}, {40001: 111, 40002: 22})
        self.assertTrue(ld)
        self.clock.advance(100)
        cur, events = ld.load()
        self.assertEqual([e["values"] for e in events], [{"40003": 3}])
        cur, events = ld.load()
        self.assertEqual(events, [])
        self.assertEqual(ld.state, ld.COMPLETE)
        self.assertFalse(ld)

    def test_duration_limit_and_upcoming(self) -> None:
        self.write("d.hst", [(i, {"1": i}) for i in range(10)])
        ld = loader(self.path("d.hst"), historical=T0, basis=REAL, duration=4.5, clock=self.clock.seconds)
        self.clock.advance(100)
        cur, events = ld.load(limit=2)
        self.assertEqual(len(events), 2)
        cur, events = ld.load(upcoming=T0 + 3)
        self.assertEqual(cur, timestamp(T0 + 3))
        self.assertEqual([e["values"]["1"] for e in events], [2, 3])  # read, but 3 is not yet absorbed:
        self.assertEqual(ld.values[1][1], 2)
        self.assertEqual([ts for ts, _ in ld.future], [timestamp(T0 + 3)])
        got = []
        while ld:
            cur, events = ld.load()
            got += [e["values"]["1"] for e in events]
        self.assertEqual(ld.values[1][1], 4)
        self.assertEqual(got, [4])  # stops at the 4.5s duration
        self.assertEqual(ld.state, ld.COMPLETE)

    def test_damaged_records(self) -> None:
        path = self.path("bad.hst")
        with open(path, "w") as fd:
            fd.write('2014-05-13 16:53:20.000\tnull\t{"1": 0}\n'
                     '2014-05-13 16:53:21.000\tnull\t{"1": \n'
                     '2014-05-13 16:53:22.000\tnull\t"just a note"\n'
                     '2014-05-13 16:53:23.000\tnull\t{"1": 3}\n')
        ld = loader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        self.clock.advance(10)
        cur, events = ld.load()  # SUPPRESS: skipped and logged
        self.assertEqual([e["values"] for e in events], [{"1": 0}, {"1": 3}])
        ld = loader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        with self.assertRaises(DataError):
            ld.load(on_bad_data=loader.RAISE)
        self.assertEqual(ld.state, ld.FAILED)
        ld = loader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        ld.load(on_bad_data=loader.FAIL)
        self.assertEqual(ld.state, ld.FAILED)
        self.assertFalse(ld)

    def test_damaged_initial_frame(self) -> None:
        path = self.path("iframe.hst")
        with open(path, "w") as fd:
            fd.write('2014-05-13 16:53:20.000\tnull\t{"1": \n2014-05-13 16:53:21.000\tnull\t{"1": 1}\n')
        ld = loader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        with self.assertRaises(IframeError):
            ld.load(on_bad_iframe=loader.RAISE)
        ld = loader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        cur, events = ld.load()  # FAIL by default
        self.assertEqual((events, ld.state), ([], ld.FAILED))
        ld = loader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        self.clock.advance(5)
        cur, events = ld.load(on_bad_iframe=loader.SUPPRESS)
        self.assertEqual([e["values"] for e in events], [{"1": 1}])

    def test_file_without_usable_records_does_not_loop(self) -> None:
        path = self.path("junk.hst")
        with open(path, "w") as fd:
            fd.write('2014-05-13 16:53:20.000\tnull\t{"1": \n')
        ld = loader(path, historical=T0, basis=REAL, clock=self.clock.seconds)
        self.clock.advance(5)
        cur, events = ld.load(on_bad_iframe=loader.SUPPRESS)
        cur, events = ld.load(on_bad_iframe=loader.SUPPRESS)
        self.assertEqual(events, [])
        self.assertEqual(ld.state, ld.COMPLETE)

    def test_default_values(self) -> None:
        self.write("v.hst", [(5, {"1": 5})])
        ld = loader(self.path("v.hst"), historical=T0, basis=REAL, values={"1": 99, 2: 7}, clock=self.clock.seconds)
        self.assertEqual(ld.values, {1: (0.0, 99), 2: (0.0, 7)})


class TestPlayback(History):
    SERIES = [(0, {"n": 0}), (0.5, {"n": 1}), (2, {"n": 2}), (2, {"n": 3}), (10, {"n": 4})]

    def play(self, speed: float | None, **kwds: object) -> tuple[list[tuple[float, int]], defer.Deferred[int]]:
        path = self.write("p.hst", self.SERIES)
        got: list[tuple[float, int]] = []
        d = playback(path, lambda rec: got.append((round(self.clock.seconds() - REAL, 6), rec.data["n"])),
                     speed=speed, clock=self.clock, **kwds)
        return got, d

    def test_real_time(self) -> None:
        got, d = self.play(1.0)
        self.assertEqual(got, [])  # nothing happens until the reactor runs
        self.clock.advance(0)
        self.assertEqual(got, [(0, 0)])
        self.clock.advance(0.4)
        self.assertEqual(len(got), 1)
        self.clock.pump([0.1, 1.5, 7.9])
        self.assertEqual(got, [(0, 0), (0.5, 1), (2, 2), (2, 3)])
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertEqual(got[-1], (10, 4))
        self.assertEqual(self.successResultOf(d), 5)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_ten_times_faster(self) -> None:
        got, d = self.play(10)
        self.clock.pump([0, 0.05, 0.15, 0.8])
        self.assertEqual(got, [(0, 0), (0.05, 1), (0.2, 2), (0.2, 3), (1.0, 4)])
        self.assertEqual(self.successResultOf(d), 5)

    def test_as_fast_as_possible_in_batches(self) -> None:
        class CountingClock(Clock):
            scheduled = 0

            def callLater(self, delay, func, *args, **kwargs):  # type: ignore[no-untyped-def]
                self.scheduled += 1
                return super().callLater(delay, func, *args, **kwargs)

        for batch, turns in [(2, 3), (1000, 1)]:
            if os.path.exists(self.path("p.hst")):
                os.unlink(self.path("p.hst"))
            self.clock = CountingClock()
            self.clock.advance(REAL)
            got, d = self.play(None, batch=batch)
            self.clock.advance(0)
            self.assertEqual(got, [(0, n) for n in range(5)])  # no waiting at all
            self.assertEqual(self.successResultOf(d), 5)
            self.assertEqual(self.clock.scheduled, turns)  # the reactor ran between batches

    def test_start_and_stop(self) -> None:
        got, d = self.play(1.0, start=T0 + 1, stop=T0 + 10)
        self.clock.pump([0, 0.5, 0.5])
        self.assertEqual(got, [(1, 2), (1, 3)])  # first event waits its distance from start
        self.assertEqual(self.successResultOf(d), 2)

    def test_deferred_callback_holds_the_next_event(self) -> None:
        path = self.write("p.hst", self.SERIES)
        waiting: list[defer.Deferred[None]] = []
        got: list[tuple[float, int]] = []

        def slow(rec: record) -> defer.Deferred[None]:
            got.append((round(self.clock.seconds() - REAL, 6), rec.data["n"]))
            waiting.append(defer.Deferred())
            return waiting[-1]

        d = playback(path, slow, speed=1.0, clock=self.clock)
        self.clock.advance(0)
        self.clock.advance(3)
        self.assertEqual(got, [(0, 0)])  # event 1 was due at 0.5 but event 0 is still being handled
        waiting[-1].callback(None)  # late events are delivered at once
        self.assertEqual(got, [(0, 0), (3, 1)])
        waiting[-1].callback(None)
        self.assertEqual(got[-1], (3, 2))
        # Deferreds that have already fired do not hold playback (nor recurse)
        d2 = playback(path, lambda rec: defer.succeed(None), speed=None, clock=self.clock)
        self.clock.advance(0)
        self.assertEqual(self.successResultOf(d2), 5)
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)

    def test_cancel_and_stop(self) -> None:
        got, d = self.play(1.0)
        self.clock.advance(0)
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(100)
        self.assertEqual(len(got), 1)
        path = self.path("p.hst")
        pb = Playback(path, lambda rec: None, clock=self.clock)
        d = pb.start()
        self.clock.advance(0)
        pb.stop()
        self.assertEqual(self.successResultOf(d), 1)
        with self.assertRaises(RuntimeError):
            pb.start()

    def test_errors_fail_the_deferred(self) -> None:
        path = self.write("p.hst", self.SERIES)

        def broken(rec: record) -> None:
            if rec.data["n"] == 1:
                raise ZeroDivisionError("callback broke")

        d = playback(path, broken, speed=None, clock=self.clock)
        self.clock.advance(0)
        self.failureResultOf(d, ZeroDivisionError)
        d = playback(path, lambda rec: defer.fail(KeyError("async broke")), speed=None, clock=self.clock)
        self.clock.advance(0)
        self.failureResultOf(d, KeyError)
        with open(path, "a") as fd:
            fd.write("garbage\n")
        d = playback(path, lambda rec: None, speed=None, clock=self.clock, strict=True)
        self.clock.advance(0)
        self.failureResultOf(d, DataError)
        with self.assertRaises(ValueError):
            Playback(path, lambda rec: None, speed=-1, clock=self.clock)

    def test_empty_history(self) -> None:
        d = playback(self.path("none.hst"), lambda rec: None, clock=self.clock)
        self.clock.advance(0)
        self.assertEqual(self.successResultOf(d), 0)
