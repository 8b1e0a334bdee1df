"""The one reactor for blocking code: facades share it, and scripts exit cleanly.

Each test runs a small script in a subprocess, as a user's script would run:
the test runner has a reactor of its own, and the global reactor can only run
once per process.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from cpppo.tests.resources import child_env


def run_script(body: str, timeout: float = 30.0) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True,
                              timeout=timeout, env=child_env(), cwd=cwd)
    return proc, time.monotonic() - start


TWO_FACADES = """
    import threading
    from twisted.internet import defer, protocol
    from cpppo import blocking

    class Echo(protocol.Protocol):
        def dataReceived(self, data):
            self.transport.write(data.upper())

    class Ask(protocol.Protocol):
        def __init__(self, message):
            self.message, self.done = message, defer.Deferred()
        def connectionMade(self):
            self.transport.write(self.message)
        def dataReceived(self, data):
            self.transport.loseConnection()
            self.done.callback(data)

    def listen():
        from twisted.internet import reactor
        factory = protocol.Factory.forProtocol(Echo)
        return reactor.listenTCP(0, factory, interface="127.0.0.1")

    # Facade one: a "server" started from a script.
    port = blocking.call(listen, timeout=10)
    number = port.getHost().port

    # Facade two, from several threads at once: "clients" on the same reactor.
    def ask(message):
        from twisted.internet import endpoints, reactor
        ask = Ask(message)
        ep = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", number)
        return endpoints.connectProtocol(ep, ask).addCallback(lambda _: ask.done)

    results = {}
    def worker(i):
        results[i] = blocking.call(ask, b"hello %d" % i, timeout=10)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads: t.start()
    for t in threads: t.join(10)
    print(sorted(results.items()))
    print("same reactor thread:", blocking.get_reactor() is blocking.get_reactor())

    # A call made from the reactor thread itself is refused, not deadlocked.
    def nested():
        try:
            blocking.call(lambda: 1)
        except blocking.ReactorThreadError as exc:
            return "refused"
        return "deadlock avoided?"
    print(blocking.call(nested, timeout=5))

    # A Deferred that never fires times out and is cancelled.
    cancelled = []
    def never():
        return defer.Deferred(lambda d: cancelled.append(True))
    try:
        blocking.call(never, timeout=0.2)
    except TimeoutError:
        print("timed out")
    import time; time.sleep(0.1)
    print("cancelled:", cancelled)
    # No stop(): the script just ends, with the port still listening.
"""


class TestBlockingFacade(unittest.TestCase):
    def test_two_facades_share_one_reactor_and_the_script_exits(self) -> None:
        proc, took = run_script(TWO_FACADES)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0], str([(i, b"HELLO %d" % i) for i in range(4)]))
        self.assertEqual(lines[1:], ["same reactor thread: True", "refused", "timed out", "cancelled: [True]"])
        self.assertNotIn("Traceback", proc.stderr)
        self.assertLess(took, 20)

    def test_errors_reach_the_caller(self) -> None:
        proc, _ = run_script("""
            from twisted.internet import defer
            from cpppo import blocking
            try:
                blocking.call(lambda: defer.fail(ValueError("bad tag")))
            except ValueError as exc:
                print("raised", exc)
            print(blocking.call(lambda x, y=0: x + y, 2, y=3))
        """)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split("\n")[:2], ["raised bad tag", "5"])

    def test_stop_then_use_is_a_clear_error(self) -> None:
        proc, _ = run_script("""
            from cpppo import blocking
            blocking.call(lambda: None)
            blocking.stop()
            try:
                blocking.call(lambda: None)
            except blocking.ReactorThreadError as exc:
                print("error:", exc)
        """)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("cannot be restarted", proc.stdout)


class TestMisc(unittest.TestCase):
    def test_timer_and_log_levels(self) -> None:
        import logging

        import cpppo

        a = cpppo.timer()
        b = cpppo.timer()
        self.assertGreaterEqual(b, a)
        self.assertEqual(logging.NORMAL, logging.INFO + 5)  # type: ignore[attr-defined]
        self.assertEqual(logging.DETAIL, logging.INFO + 3)  # type: ignore[attr-defined]
        self.assertEqual(logging.getLevelName(logging.NORMAL), "NORMAL")  # type: ignore[attr-defined]
        self.assertEqual(cpppo.log_cfg["level"], logging.WARNING)
        logger = logging.getLogger("cpppo.test.levels")
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        handler = Keep()
        logger.addHandler(handler)
        logger.setLevel(logging.DETAIL)  # type: ignore[attr-defined]
        try:
            logger.normal("shown %d", 1)  # type: ignore[attr-defined]
            logger.detail("shown %d", 2)  # type: ignore[attr-defined]
            logger.info("hidden")
        finally:
            logger.removeHandler(handler)
        self.assertEqual([r.getMessage() for r in records], ["shown 1", "shown 2"])
        self.assertEqual(records[0].funcName, "test_timer_and_log_levels")

    def test_log_level_for_verbosity(self) -> None:
        import logging

        from cpppo.misc import log_level

        self.assertEqual([log_level(v) for v in range(6)],
                         [logging.WARNING, logging.NORMAL, logging.DETAIL,  # type: ignore[attr-defined]
                          logging.INFO, logging.DEBUG, logging.DEBUG])


if __name__ == "__main__":
    unittest.main()
