"""Tests for cpppo.history files: the line format, compression, series, torn lines and crashes."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
import unittest

from cpppo.history import (
    DataError,
    history_files,
    logger,
    opener,
    parse_record,
    record,
    records,
    timestamp,
)
from cpppo.history.members import MAGIC
from cpppo.tests.resources import child_env

T0 = 1400000000.0  # 2014-05-13 16:53:20 UTC


class TempDir(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="cpppo-history-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)


class TestOpener(TempDir):
    def test_round_trip_every_kind(self) -> None:
        for name in ["plain.hst", "z.hst.gz", "z.hst.bz2", "z.hst.xz"]:
            with opener(self.path(name), "wb") as fd:
                fd.write(b"hi\nthere\n")
            with opener(self.path(name)) as fd:
                self.assertEqual(list(fd), [b"hi\n", b"there\n"], name)
            with opener(self.path(name), "r") as fd:  # text, like open()
                self.assertEqual(fd.read(), "hi\nthere\n", name)
            with opener(self.path(name), "ab") as fd:
                fd.write(b"again\n")
            with opener(self.path(name)) as fd:
                self.assertEqual(fd.read(), b"hi\nthere\nagain\n", name)
        with open(self.path("plain.hst"), "rb") as raw:
            self.assertEqual(raw.read(), b"hi\nthere\nagain\n")  # really plain
        with open(self.path("z.hst.gz"), "rb") as raw:
            self.assertEqual(raw.read(2), b"\x1f\x8b")  # really gzip
        with self.assertRaises(ValueError):
            opener(self.path("x"), "q")

    @unittest.skipUnless(shutil.which("xz") and shutil.which("gzip"), "needs the xz and gzip tools")
    def test_reads_files_compressed_by_the_usual_tools(self) -> None:
        for tool, suffix in [("xz", ".xz"), ("gzip", ".gz")]:
            name = self.path(f"tool.hst{suffix}")
            with open(name[: -len(suffix)], "wb") as fd:
                fd.write(b"hi\n")
            subprocess.run([tool, name[: -len(suffix)]], check=True, timeout=30)
            with opener(name) as fd:
                self.assertEqual(next(iter(fd)), b"hi\n")


class TestLogger(TempDir):
    def test_format_matches_the_original(self) -> None:
        path = self.path("some_file.hst")
        with logger(path) as hst:
            hst.comment("2014-07-15 22:03:35.945: Started recording Tag: Tag_Name")
            hst.write({"write": [0, 1, 2, 3]}, now="2014-07-15 22:03:44.186", serial=["Tag_Name", [0, 3]])
            hst.write({"40001": 1}, now=T0 + 0.1234)
        with open(path) as fd:
            self.assertEqual(fd.read(), (
                "# 2014-07-15 22:03:35.945: Started recording Tag: Tag_Name\n"
                '2014-07-15 22:03:44.186\t["Tag_Name", [0, 3]]\t{"write": [0, 1, 2, 3]}\n'
                '2014-05-13 16:53:20.123\tnull\t{"40001": 1}\n'))

    def test_each_event_is_flushed(self) -> None:
        path = self.path("live.hst")
        hst = logger(path)
        self.addCleanup(hst.close)
        self.assertFalse(hst)  # not yet open
        hst.write({"a": 1}, now=T0)
        self.assertTrue(hst)
        with open(path) as fd:  # another reader sees it while the logger stays open
            self.assertEqual(fd.read().count("\n"), 1)
        self.assertEqual([r.data for r in records(path)], [{"a": 1}])

    def test_unserialisable_data_raises(self) -> None:
        with logger(self.path("x.hst")) as hst, self.assertRaises(TypeError):
            hst.write({"a": object()})

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_write_failures_are_logged_once_and_absorbed(self) -> None:
        hst = logger("/dev/full")
        self.addCleanup(hst.close)
        with self.assertLogs("cpppo.history", "ERROR") as logs:
            hst.write({"a": 1}, now=T0)
            hst.write({"a": 2}, now=T0 + 1)
        self.assertEqual(len(logs.records), 1)
        self.assertIn("History writing failure", logs.output[0])
        self.assertFalse(hst)
        self.assertFalse(hst.opened())  # dropped; the next write tries again

    def test_no_path_records_nothing(self) -> None:
        hst = logger(None)
        hst.write({"a": 1})
        hst.comment("x")
        self.assertFalse(hst.opened())

    def test_compressed_logger(self) -> None:
        path = self.path("c.hst.gz")
        with logger(path) as hst:
            for i in range(3):
                hst.write({"i": i}, now=T0 + i)
        with logger(path) as hst:  # appending adds a gzip member; still one stream of lines
            hst.write({"i": 3}, now=T0 + 3)
        self.assertEqual([r.data["i"] for r in records(path)], [0, 1, 2, 3])


class TestParsing(TempDir):
    def test_parse_record(self) -> None:
        lines = [b"# header\n", b"\n", b"   \n", b'2014-05-13 16:53:20.123\t["T", [0, 3]]\t{"write": [1]}\n',
                 b"2014-05-13 16:53:21.000\tnull\t{}\n"]
        it = iter(lines)
        n, (ts, serial, js) = parse_record(it)
        self.assertEqual((n, ts, serial, js), (3, timestamp(T0 + 0.123), ["T", [0, 3]], '{"write": [1]}\n'))
        n, (ts, serial, js) = parse_record(it, n=n)
        self.assertEqual((n, serial, json.loads(js)), (4, None, {}))
        with self.assertRaises(StopIteration):
            parse_record(it, n=n)
        with self.assertRaisesRegex(DataError, "line 1: invalid record"):
            parse_record(iter([b"not a record\n"]))
        with self.assertRaisesRegex(DataError, "line 2"):
            parse_record(iter([b"# c\n", b"2014-05-13 16:53:20.123\t[unclosed\t{}\n"]))

    def test_torn_last_line_skipped_with_warning(self) -> None:
        path = self.path("torn.hst")
        with logger(path) as hst:
            hst.write({"a": 1}, now=T0)
            hst.write({"a": 2}, now=T0 + 1)
        with open(path, "a") as fd:
            fd.write('2014-05-13 16:53:22.000\tnull\t{"a": 3')  # a crash mid-write
        with self.assertLogs("cpppo.history", "WARNING") as logs:
            got = list(records(path))
        self.assertEqual([r.data for r in got], [{"a": 1}, {"a": 2}])
        self.assertTrue(any("torn last line" in line for line in logs.output), logs.output)
        # the next writer terminates the torn line, so the next event is intact
        with self.assertLogs("cpppo.history", "WARNING"):
            with logger(path) as hst:
                hst.write({"a": 4}, now=T0 + 3)
            got = list(records(path))
        self.assertEqual([r.data for r in got], [{"a": 1}, {"a": 2}, {"a": 4}])

    def test_damaged_lines_skipped_or_strict(self) -> None:
        path = self.path("bad.hst")
        with open(path, "w") as fd:
            fd.write('2014-05-13 16:53:20.000\tnull\t{"a": 1}\n'
                     "garbage line\n"
                     '2014-05-13 16:53:21.000\tnull\t{"a": \n'
                     '2014-05-13 16:53:22.000\tnull\t{"a": 3}\n')
        with self.assertLogs("cpppo.history", "WARNING") as logs:
            self.assertEqual([r.data for r in records(path)], [{"a": 1}, {"a": 3}])
        self.assertEqual(len(logs.records), 2)
        with self.assertRaisesRegex(DataError, "line 2"):
            list(records(path, strict=True))


class TestSeries(TempDir):
    def write(self, name: str, start: float, count: int, compress: str | None = None, keep: bool = False) -> None:
        path = self.path(name)
        with logger(path) as hst:
            for i in range(count):
                hst.write({"n": int(start - T0) + i}, now=start + i)
        if compress:
            with open(path, "rb") as src, opener(path + compress, "wb") as dst:
                dst.write(src.read())
            if not keep:
                os.unlink(path)

    def test_rotated_series_in_time_order(self) -> None:
        # blah.hst newest; .1, .2 ... older, some compressed, .1 both plain and compressed
        self.write("blah.hst", T0 + 30, 10)
        self.write("blah.hst.1", T0 + 20, 10, ".gz", keep=True)
        self.write("blah.hst.2", T0 + 10, 10, ".bz2")
        self.write("blah.hst.3", T0 + 0, 10, ".xz")
        self.write("blahblah.hst", T0 + 100, 5)  # not part of the series
        files = history_files(self.path("blah.hst"))
        self.assertEqual([os.path.basename(f) for _, f in files],
                         ["blah.hst.3.xz", "blah.hst.2.bz2", "blah.hst.1", "blah.hst"])
        got = list(records(self.path("blah.hst")))
        self.assertEqual([r.data["n"] for r in got], list(range(40)))
        self.assertTrue(all(isinstance(r, record) for r in got))
        self.assertEqual([r.data["n"] for r in records(self.path("blah.hst"), start=T0 + 15, stop=T0 + 32)],
                         list(range(15, 32)))
        self.assertEqual([r.data["n"] for r in records(self.path("blah.hst"), start="2014-05-13 16:53:55")],
                         list(range(35, 40)))
        self.assertEqual(list(records(self.path("blah.hst"), start=T0 + 1000)), [])
        self.assertEqual(list(records(self.path("nothing.hst"))), [])

    def test_dated_series(self) -> None:
        self.write("plant.hst-2014-05-14", T0 + 86400, 3)
        self.write("plant.hst-2014-05-13", T0, 3, ".gz")
        got = [r.timestamp for r in records(self.path("plant.hst"))]
        self.assertEqual(got, [timestamp(T0 + d + i) for d in (0, 86400) for i in range(3)])


class TestStreaming(TempDir):
    def test_reading_does_not_materialise_the_file(self) -> None:
        path = self.path("big.hst.gz")
        count = 40000
        with logger(path, flush=False) as hst:
            for i in range(count):
                hst.write({"40001": i, "40002": [i, i + 1, i + 2], "note": "x" * 40}, now=T0 + i / 10)
        with opener(path) as fd:
            size = sum(len(line) for line in fd)
        self.assertGreater(size, 3_000_000)
        gc.collect()
        tracemalloc.start()
        try:
            seen, last = 0, None
            for rec in records(path):
                seen, last = seen + 1, rec.data["40001"]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertEqual((seen, last), (count, count - 1))
        self.assertLess(peak, 1_000_000, f"peak {peak} bytes while streaming {size} bytes")


WRITER = textwrap.dedent("""
    import os, sys, time
    from cpppo.history import logger
    from cpppo.history.members import COMPRESS
    path, count, tear = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "tear"
    hst = logger(path)
    for i in range(count):
        hst.write({"i": i, "pad": "x" * 100}, now=1400000000 + i, serial=["Tag", [0, i]])
        print(i, flush=True)
    if tear:  # stop mid-line (mid-member, compressed), as a kill during a write would
        line = b'2014-05-13 17:00:00.000\\t["Tag", [0, 99]]\\t{"i": 99, "pad": "' + b"x" * 100 + b'"}\\n'
        suffix = os.path.splitext(path)[1]
        if suffix in COMPRESS:
            member = COMPRESS[suffix](line)
            os.write(hst.f.fileno(), member[:len(member) // 2])
        else:
            os.write(hst.f.fileno(), line[:60])
        print("torn", flush=True)
    time.sleep(120)  # the parent kills us long before this ends
""")


class TestCrash(TempDir):
    def run_writer(self, name: str, count: int, tear: bool) -> str:
        path = self.path(name)
        env = child_env()
        child = subprocess.Popen([sys.executable, "-c", WRITER, path, str(count), "tear" if tear else "whole"],
                                 stdout=subprocess.PIPE, text=True, env=env)
        self.addCleanup(lambda: None if child.poll() is not None else child.kill())
        self.addCleanup(child.stdout.close)  # type: ignore[union-attr]
        assert child.stdout is not None
        for expect in [str(i) for i in range(count)] + (["torn"] if tear else []):
            self.assertEqual(child.stdout.readline().strip(), expect)
        os.kill(child.pid, signal.SIGKILL)
        self.assertEqual(child.wait(timeout=30), -signal.SIGKILL)
        return path

    def test_killed_mid_line(self) -> None:
        path = self.run_writer("crash.hst", 25, tear=True)
        with self.assertLogs("cpppo.history", "WARNING") as logs:
            got = list(records(path))
        self.assertEqual([r.data["i"] for r in got], list(range(25)))
        self.assertEqual(got[-1].serial, ["Tag", [0, 24]])
        self.assertTrue(any("torn last line" in line for line in logs.output))

    def test_killed_between_events(self) -> None:
        path = self.run_writer("crash.hst", 25, tear=False)
        self.assertEqual([r.data["i"] for r in records(path)], list(range(25)))

    def test_killed_while_writing_compressed_then_appended(self) -> None:
        """Issue 21: a kill -9 mid-write leaves a torn member; the next writer's records follow it, all readable."""
        for suffix in (".gz", ".bz2", ".xz"):
            for tear in (False, True):
                name = f"crash-{tear}.hst{suffix}"
                path = self.run_writer(name, 25, tear=tear)
                with logger(path) as hst:  # the next writer appends
                    for i in range(25, 30):
                        hst.write({"i": i}, now=T0 + 1000 + i)
                if tear:
                    with self.assertLogs("cpppo.history", "WARNING") as logs:
                        got = list(records(path))
                    self.assertTrue(any("torn or damaged" in line for line in logs.output), (name, logs.output))
                else:
                    with self.assertNoLogs("cpppo.history", "WARNING"):
                        got = list(records(path))
                self.assertEqual([r.data["i"] for r in got], list(range(30)), name)
                tool = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}[suffix]
                if not tear and shutil.which(tool):  # the usual tools read the members as one file
                    out = subprocess.run([tool, "-dc", path], capture_output=True, check=True).stdout
                    self.assertEqual(out.count(b"\n"), 30, name)

    def test_damaged_member_in_the_middle_skipped(self) -> None:
        for suffix in (".gz", ".bz2", ".xz"):
            path = self.path("mid.hst" + suffix)
            with logger(path) as hst:
                for i in range(3):
                    hst.write({"i": i}, now=T0 + i)
            with open(path, "r+b") as raw:  # damage the second member's body
                data = raw.read()
                second = data.index(MAGIC[suffix], 1)
                third = data.index(MAGIC[suffix], second + 1)
                raw.seek((second + third) // 2 + 2)
                raw.write(b"\xff\x00\xff\x00")
            with self.assertLogs("cpppo.history", "WARNING"):
                self.assertEqual([r.data["i"] for r in records(path)], [0, 2], suffix)
