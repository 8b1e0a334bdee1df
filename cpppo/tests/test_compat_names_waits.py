"""``cpppo.tools.waits``, used as the original's scripts use it: wait for a server's files and lines.

Why: scripts written for cpppo 5.2.5 start a server and then ``all(waits.existence(terms))``; the
terms (a timeout, ``file``, ``file%regex``, a predicate) must mean what they meant.  A manual clock
stands in for time, so the tests never wait: the injected ``sleep`` advances it (and creates the
awaited file when the script's server would have).
"""

from __future__ import annotations

import os
import tempfile
import unittest

from cpppo.tools import waits


class ManualTime:
    """A clock whose sleep advances it, running what is scheduled for the times passed."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.at: list[tuple[float, object]] = []

    def timer(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for when, action in list(self.at):
            if when <= self.now:
                self.at.remove((when, action))
                action()  # type: ignore[operator]


class TestExistence(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.clock = ManualTime()

    def path(self, name: str) -> str:
        return os.path.join(self.dir.name, name)

    def waiter(self, *terms: object, **kwds: object) -> waits.existence:
        return waits.existence(terms=terms, timer=self.clock.timer, sleep=self.clock.sleep, **kwds)  # type: ignore[arg-type]

    def write(self, name: str, text: str) -> None:
        with open(self.path(name), "a") as f:
            f.write(text)

    def test_files_and_lines_appearing_within_the_timeout(self) -> None:
        self.clock.at.append((1002.0, lambda: self.write("server.log", "starting\n")))
        self.clock.at.append((1003.5, lambda: self.write("server.log", "listening on 44818\n")))
        waiter = self.waiter("5", self.path("server.log"), self.path("server.log") + "%listening")
        results = []
        for success in waiter:
            results.append((success, str(waiter)))
        self.assertEqual([r[0] for r in results], [True, True, True])
        self.assertEqual(results[0][1], "(timeout 5.000s)")
        self.assertTrue(results[2][1].endswith("server.log%listening"))
        self.assertLess(self.clock.now, 1005.0)
        # backing off: each pause at most double the one before (after the first)
        self.assertTrue(all(b <= 2 * a + 1e-9 for a, b in zip(self.clock.slept, self.clock.slept[1:])))

    def test_a_missing_file_fails_at_the_timeout(self) -> None:
        waiter = self.waiter("2.5", self.path("never"))
        self.assertFalse(all(waiter))
        self.assertTrue(str(waiter).endswith("never"))
        self.assertGreaterEqual(self.clock.now, 1002.5)
        self.assertLess(self.clock.now, 1003.0)

    def test_absence_predicates_and_a_trailing_timeout(self) -> None:
        self.write("pid", "1234\n")
        self.clock.at.append((1001.0, lambda: os.unlink(self.path("pid"))))
        self.assertTrue(all(self.waiter("3", self.path("pid"), presence=False)))
        flag: list[int] = []
        self.clock.at.append((1010.0, lambda: flag.append(1)))
        waiter = self.waiter(lambda: flag)
        self.assertTrue(all(waiter))                 # no timeout: waits as long as it takes
        begin = self.clock.now
        self.assertTrue(all(self.waiter("1.5")))     # a bare timeout is slept out
        self.assertAlmostEqual(self.clock.now - begin, 1.5)
        with self.assertRaises(AssertionError):
            next(self.waiter("-1"))

    def test_waitfor_and_duration(self) -> None:
        calls = []
        self.clock.at.append((1000.6, lambda: calls.append(1)))
        success, elapsed = waits.waitfor(lambda: calls, "a flag", timeout=2.0, intervals=10,
                                         timer=self.clock.timer, sleep=self.clock.sleep)
        self.assertTrue(success)
        self.assertAlmostEqual(elapsed, 0.6)
        self.assertEqual(set(self.clock.slept), {0.2})   # even steps of timeout / intervals
        timed = list(waits.duration(self.waiter("1", self.path("none")), what="file"))
        self.assertEqual([t for t, _ in timed], [True, False])
