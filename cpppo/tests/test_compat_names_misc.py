"""The original cpppo 5.2.5's top-level helpers (``cpppo.scale``, ``cpppo.natural``, ``cpppo.apidict``...),
used as its scripts use them.

Why: scripts written for the original call these from the top of the package; each must give the
original's answer for the same arguments.  The expected values are those cpppo 5.2.5 gives (its
own tests' examples, and answers read off 5.2.5 for the cases its tests do not cover).
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
import unittest
from typing import Any

import cpppo
from cpppo import misc


class TestNumbers(unittest.TestCase):
    def test_scale_maps_domains_to_ranges(self) -> None:
        self.assertTrue(cpppo.near(cpppo.scale(20.0, (0.0, 100.0), (32.0, 212.0)), 68.0))   # Celsius to Fahrenheit
        self.assertTrue(cpppo.near(cpppo.scale(-40.0, (100.0, 0.0), (32.0, 212.0)), 284.0))  # a decreasing domain
        self.assertTrue(cpppo.near(cpppo.scale(39, (25, 40), (0, 1), exponent=2), 0.8711))
        self.assertEqual(cpppo.scale(24, (25, 40), (0, 1), exponent=2, clamped=True), 0)
        self.assertEqual(cpppo.scale(120, (0, 100), (1, -1), clamped=True), -1)
        with self.assertRaises(AssertionError):
            cpppo.scale(24, (25, 40), (0, 1), exponent=2)      # outside the domain, non-linear
        with self.assertRaises(AssertionError):
            cpppo.scale(1, (5, 5), (0, 1))                      # an empty domain

    def test_magnitude_clamp_near_nan(self) -> None:
        self.assertEqual([cpppo.magnitude(v) for v in (23, 1, 2.6, 1000)], [1, 0.1, 0.1, 100])
        self.assertTrue(cpppo.near(cpppo.magnitude(0.23), 0.01))
        self.assertTrue(cpppo.isnan(cpppo.magnitude(0)))
        self.assertEqual(cpppo.clamp(5, (0, 3)), 3)
        self.assertEqual(cpppo.clamp(5, (cpppo.nan, cpppo.nan)), 5)       # a NaN limit limits nothing
        self.assertFalse(cpppo.near(1.0, 1.001))
        self.assertTrue(cpppo.near(1.0, 1.00001))
        self.assertEqual(sorted([3, None, 1], key=cpppo.nan_last), [1, 3, None])
        self.assertEqual(sorted([3, None, 1], key=cpppo.nan_first), [None, 1, 3])
        self.assertTrue(cpppo.isinf(cpppo.inf))
        self.assertEqual(cpppo.exponential_moving_average(1, 5, 0.25), 2.0)
        self.assertEqual(cpppo.exponential_moving_average(None, 5, 0.25), 5)

    def test_timer_is_wall_clock(self) -> None:
        # The original's examples print cpppo.timer() readings as times of day, and subtract them.
        self.assertLess(abs(cpppo.timer() - time.time()), 5.0)


class TestText(unittest.TestCase):
    def test_natural_sorts_numbers_in_text(self) -> None:
        items = ("Z", "a", "10th", "1st", "9", 9.5, "a10b2", "a9b20")
        self.assertEqual(sorted(items, key=cpppo.natural), ["1st", "9", 9.5, "10th", "a", "a9b20", "a10b2", "Z"])
        sorted([None, object(), "x", 1], key=cpppo.natural)   # mixed types sort without a TypeError

    def test_centeraxis_lines_up_decimal_points(self) -> None:
        column = [cpppo.centeraxis(v, 20) for v in ("123.456", "1.5", "abc")]
        self.assertEqual(column, ["       123.456      ", "         1.5        ", "           abc      "])
        self.assertEqual({c.index(".") for c in column[:2]}, {10})
        self.assertEqual(cpppo.centeraxis("abc", 20, reverse=True), "       abc          ")
        self.assertEqual(cpppo.centeraxis("x" * 30 + ".5", 20, clip=True), "xxxxxxxxxx.5        ")

    def test_hexdump_is_the_originals_layout_and_loads_back(self) -> None:
        data = bytes(range(40)) + b"hello world"
        dump = cpppo.hexdump(data, offset=0x3FF0)
        self.assertEqual(dump.splitlines()[0],
                         "00003FF0:  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f   |................|")
        self.assertEqual(dump.splitlines()[-1],
                         "00004020:  72 6c 64                                           |rld|")
        self.assertEqual(cpppo.hexload(dump, offset=0x3FF0), data)
        self.assertEqual(cpppo.hexload(dump, offset=0x4000), data[16:])
        self.assertEqual(cpppo.hexdecode("ab:cd:ef:01", 1), b"\xcd\xef\x01")
        differs = cpppo.hexdump_differs(cpppo.hexdump(b"abc"), cpppo.hexdump(b"abX"))
        self.assertIn(" != ", differs)
        self.assertEqual(cpppo.hexdump_differs(cpppo.hexdump(b"abc"), cpppo.hexdump(b"abc")), "")

    def test_python2_names_and_reprlib(self) -> None:
        self.assertIs(cpppo.unicode, str)
        self.assertEqual(cpppo.reprlib.repr(list(range(100))), "[0, 1, 2, 3, 4, 5, ...]")
        self.assertEqual(misc.reprargs(1, "a", k=[1]), "1, 'a', k=[1]")


class TestAddresses(unittest.TestCase):
    def test_parse_ip_port_forms(self) -> None:
        default = ("dflt", 44818)
        cases = {
            "1.2.3.4": (cpppo.ip_address("1.2.3.4"), 44818),
            "[::1]:80": (cpppo.ip_address("::1"), 80),
            "LocalHost": ("LocalHost", 44818),           # keeps its case without a port
            "localhost:44818": ("localhost", 44818),
            "('abc', 5)": ("abc", 5),
            ":80": ("dflt", 80),
            "::1:12345": (cpppo.ip_address("::1"), 12345),
        }
        for text, expected in cases.items():
            self.assertEqual(cpppo.parse_ip_port(text, default=default), expected, text)
        self.assertEqual(cpppo.parse_ip_port(("abc", None), default=default), ("abc", 44818))
        self.assertEqual(cpppo.parse_ip_port("host"), ("host", None))
        self.assertEqual(str(cpppo.network("10.0.0.0/8")), "10.0.0.0/8")
        self.assertEqual(cpppo.ip("127.0.0.1"), cpppo.IPv4Address("127.0.0.1"))
        with self.assertRaises(AssertionError):
            cpppo.parse_ip_port(":80")                   # no host and no default
        with self.assertRaises(ValueError):
            cpppo.parse_ip_port("host:port")


class TestFunctions(unittest.TestCase):
    def test_mutexmethod_serializes_and_refuses_when_not_blocking(self) -> None:
        class Counter:
            def __init__(self) -> None:
                self.lock = threading.Lock()
                self.count = 0

            @misc.mutexmethod()
            def bump(self) -> int:
                self.count += 1
                return self.count

            @misc.mutexmethod(blocking=False)
            def try_bump(self) -> int:
                return self.bump()

        c = Counter()
        self.assertEqual(c.bump(), 1)
        with c.lock, self.assertRaises(AssertionError):
            c.try_bump()
        self.assertFalse(c.lock.locked())

    def test_function_name_change_function_logresult_lazystr(self) -> None:
        def original() -> int:
            return 1

        self.assertEqual(cpppo.function_name(original), f"{__name__}.original")
        cpppo.change_function(original, co_filename="elsewhere.py")
        self.assertEqual(original.__code__.co_filename, "elsewhere.py")

        log = logging.getLogger("cpppo.tests.compat.logresult")
        with self.assertLogs(log, logging.DEBUG) as seen:
            @cpppo.logresult(log=log, exc_swallow=True)
            def divide(a: int, b: int) -> float:
                return a / b
            self.assertEqual(divide(4, 2), 2.0)
            self.assertIsNone(divide(1, 0))
        self.assertEqual(seen.output[0], f"DEBUG:{log.name}:divide(4, 2)-->2.0")
        self.assertIn("ZeroDivisionError", seen.output[1])
        calls = []
        def made() -> str:
            calls.append(1)
            return "made"
        text = cpppo.lazystr(made)
        self.assertEqual(calls, [])
        self.assertEqual(str(text), "made")

    def test_assert_tps_logs_the_rate_and_checks_a_minimum(self) -> None:
        calls: list[int] = []

        @cpppo.assert_tps(repeat=3, scale="count")
        def work(count: int = 10) -> int:
            calls.append(count)
            return count

        with self.assertLogs(level=logging.WARNING) as seen:
            self.assertEqual(work(count=10), 10)
        self.assertEqual(calls, [10, 10, 10])
        self.assertRegex(seen.output[0], r"Performance: +[0-9.]+ TPS \(30 x .*work\)")
        with self.assertLogs(level=logging.WARNING), self.assertRaises(AssertionError):
            cpppo.assert_tps(minimum=cpppo.inf)(lambda: None)()   # no finite rate reaches infinity

    def test_redirect_stdout_socket(self) -> None:
        left, right = socket.socketpair()
        try:
            cpppo.redirect_stdout_socket(lambda: print("over the socket"))(left)
            left.close()
            self.assertEqual(io.BytesIO(right.recv(100)).read(), b"over the socket\n")
        finally:
            right.close()


class TestApidict(unittest.TestCase):
    def test_setting_an_attribute_waits_until_another_thread_reads(self) -> None:
        api = cpppo.apidict(5.0)
        api["x.y"] = 1                      # indexing never waits
        seen = []
        def read_later() -> None:
            # Once the value is there, the setter holds the lock until it waits: so this read
            # (which takes the lock) comes after the setter began waiting, and releases it.
            while not dict.__contains__(api, "request"):
                time.sleep(0.001)
            seen.append(api.x.y)
        reader = threading.Thread(target=read_later)
        reader.start()
        begin = time.monotonic()
        api.request = "go"                  # waits for the reader's attribute access
        waited = time.monotonic() - begin
        reader.join()
        self.assertEqual(seen, [1])
        self.assertLess(waited, 4.0)        # released by the read, not by the timeout
        self.assertEqual(api.listitems(depth=0), [("x", cpppo.dotdict({"y": 1})), ("request", "go")])
        self.assertEqual(api.listitems(depth=1), [("x.y", 1), ("request", "go")])
        copy = cpppo.apidict(api)
        self.assertEqual(copy["x.y"], 1)

    def test_unread_attribute_waits_out_the_timeout(self) -> None:
        api = cpppo.apidict_threading(0.05)
        api.value = 1
        self.assertEqual(api["value"], 1)
        layered = cpppo.dotdict({"a": {"b": 1, "c": {"d": 2}}, "e": 3})
        self.assertEqual(layered.a.c.d, 2)           # a plain dict stored becomes a dotdict layer
        other = cpppo.dotdict()
        other.f = {"g": {"h": 4}}
        self.assertEqual(other.f.g.h, 4)             # ... also set as an attribute
        self.assertEqual(layered.listkeys(depth=0), ["a", "e"])
        self.assertEqual(layered.listkeys(depth=1), ["a.b", "a.c", "e"])
        self.assertEqual(layered.listkeys(), ["a.b", "a.c.d", "e"])

    def test_shared_with_another_process_through_a_manager(self) -> None:
        import multiprocessing.managers

        class Manager(multiprocessing.managers.SyncManager):
            pass

        name, cls, proxy = cpppo.make_apidict_proxy(cpppo.apidict)
        self.assertEqual((name, cls), ("apidict", cpppo.apidict))
        Manager.register(name, cls, proxy)
        with Manager() as manager:
            shared = manager.apidict(0.5)  # type: ignore[attr-defined]  # registered above
            shared.set("x.y", 1)           # waits (up to 0.5 s) for a reader's get
            self.assertEqual((shared.get("x.y"), shared["x.y"], list(shared)), (1, 1, ["x.y"]))


class TestValueMachines(unittest.TestCase):
    """``cpppo.integer`` / ``cpppo.string`` (and ``_bytes``): the value at ``<path>.<context>``."""

    @staticmethod
    def run_machine(machine: Any, text: Any, path: str = "") -> tuple[Any, Any]:
        data = cpppo.dotdict()
        source = cpppo.peekable(text)
        with machine:
            for _ in machine.run(source=source, data=data, path=path):
                pass   # (at the end of the input the machine finishes: no progress twice, no new input)
        return data, source

    def test_single_values_as_the_original_stores_them(self) -> None:
        cases = [(cpppo.string("x", initial="[a-z]+", terminal=True), "abc def", "string", "abc", " "),
                 (cpppo.integer("x", terminal=True), "123x", "integer", 123, "x"),
                 (cpppo.integer_bytes("x", terminal=True), b"4567 ", "integer", 4567, 32),
                 (cpppo.string_bytes("x", initial="[a-z]+", terminal=True), b"hi there", "string", b"hi", 32),
                 (cpppo.string_bytes("x", initial="[a-z]+", decode="ascii", terminal=True), b"hi", "string", "hi",
                  None)]
        for machine, text, key, value, rest in cases:
            data, source = self.run_machine(machine, text)
            self.assertEqual(data.items(), [(key, value)], machine)
            self.assertEqual(source.peek(), rest)
            self.assertTrue(machine.terminal)

    def test_values_in_a_composite_machine(self) -> None:
        first = cpppo.integer("first", context="a")
        comma = cpppo.state_drop("comma")
        second = cpppo.integer("second", context="b")
        space = cpppo.state_drop("space")
        name = cpppo.string("name", initial="[a-z]+", context="c", terminal=True)
        first[","] = comma
        comma[None] = second
        second[" "] = space
        space[None] = name
        data, source = self.run_machine(cpppo.dfa("pair", initial=first, terminal=True), "12,345 abc!", "top")
        self.assertEqual(sorted(data.items()), [("top.a", 12), ("top.b", 345), ("top.c", "abc")])
        self.assertEqual(source.peek(), "!")

    def test_dfa_post_runs_queued_closures_on_leaving(self) -> None:
        machine = cpppo.dfa_post("post", initial=cpppo.state("s", terminal=True))
        ran: list[int] = []
        with machine:
            machine.post_process_closure(lambda: ran.append(1))
            machine.post_process_closure(lambda: ran.append(2))
            self.assertEqual(ran, [])
        self.assertEqual(ran, [1, 2])
