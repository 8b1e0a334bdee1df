"""One Twisted reactor for blocking code.

Scripts use cpppo the way the original taught them to: ``client.connector``
reads tags, ``poller_modbus`` polls a PLC, ``server.enip.main`` runs a
simulator in a thread, all without writing a line of Twisted.  Every one of
those blocking facades runs the *same* protocol code as a Twisted application
does, on the reactor; this module is the bridge they share.

Strategy: the first blocking call starts Twisted's global reactor in a daemon
thread (with no signal handlers, since it is not the main thread) and hands
work to it; later calls, from any thread and from any facade, reuse it, so a
poller, a client and a server can live in one process.  In a process whose
reactor is already running (a Twisted application that also calls a blocking
facade from a worker thread), that reactor is used as it is.  Calling a
blocking facade *from* the reactor thread would deadlock, so it raises
:class:`ReactorThreadError` instead.  At interpreter exit the reactor we
started is stopped and joined, so a script that never stops its facades still
exits cleanly and promptly.

The reactor is a process-wide singleton by Twisted's design; the one piece of
module-level state here (``_runner``) only records whether we started it.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.failure import Failure

__all__ = ["ReactorThreadError", "get_reactor", "call", "submit", "in_reactor_thread", "stop"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class ReactorThreadError(RuntimeError):
    """A blocking facade was used where it cannot work (from the reactor thread, or after stop)."""


class _ReactorRunner:
    """Starts the global reactor in a daemon thread once, and stops it at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def reactor(self) -> Any:
        from twisted.internet import reactor

        if reactor.running:
            return reactor
        with self._lock:
            if self._stopped:
                raise ReactorThreadError("the reactor thread was stopped; it cannot be restarted in this process")
            if self._thread is None:
                if getattr(reactor, "_started", False):
                    raise ReactorThreadError("the global reactor already ran and stopped in this process")
                ready = threading.Event()
                reactor.callWhenRunning(ready.set)
                self._thread = threading.Thread(
                    target=reactor.run,
                    kwargs={"installSignalHandlers": False},
                    name="cpppo-reactor",
                    daemon=True,
                )
                self._thread.start()
                atexit.register(self.stop)
                if not ready.wait(10.0):
                    raise ReactorThreadError("the reactor thread did not start within 10 s")
                log.debug("reactor running in thread %s", self._thread.name)
        return reactor

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the reactor we started (if any) and wait for its thread to finish."""
        from twisted.internet import reactor

        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._stopped = True
        if reactor.running:
            IReactorFromThreads(reactor).callFromThread(reactor.stop)
        if thread is not threading.current_thread():
            thread.join(timeout)


_runner = _ReactorRunner()


class _Future(concurrent.futures.Future[Any]):
    """The Future :func:`submit` returns: it keeps the Deferred it waits on, which a timed-out :func:`call` cancels."""

    _cpppo_deferred: defer.Deferred[Any] | None = None


def get_reactor() -> Any:
    """The running global reactor, starting it in a daemon thread if nothing runs it yet."""
    return _runner.reactor()


def in_reactor_thread() -> bool:
    """True when called from the thread that runs the reactor."""
    from twisted.python import threadable

    return threadable.isInIOThread()


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future:
    """Run ``fn(*args, **kwargs)`` in the reactor thread; a Future carries its (Deferred's) result.

    Usable from any thread but the reactor's.  If *fn* returns a Deferred, the Future
    completes when that Deferred fires; cancelling the Future cancels the Deferred.
    """
    reactor = get_reactor()
    if in_reactor_thread():
        raise ReactorThreadError(
            "a blocking cpppo call was made from the reactor thread; use the Deferred API there")
    future = _Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        d = defer.maybeDeferred(fn, *args, **kwargs)

        def done(result: Any) -> None:
            if future.done():
                return
            if isinstance(result, Failure):
                future.set_exception(result.value)
            else:
                future.set_result(result)

        d.addBoth(done)
        future._cpppo_deferred = d

    reactor.callFromThread(run)
    return future


def call(fn: Callable[..., T], *args: Any, timeout: float | None = None, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` in the reactor thread and wait for its (Deferred's) result.

    Raises whatever *fn* raised (or its Deferred failed with), or :class:`TimeoutError`
    after *timeout* seconds, in which case the Deferred is cancelled.
    """
    future = submit(fn, *args, **kwargs)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        d = getattr(future, "_cpppo_deferred", None)
        if d is not None:
            get_reactor().callFromThread(d.cancel)
        raise TimeoutError(f"no result from {getattr(fn, '__name__', fn)!r} within {timeout} s") from None


def stop(timeout: float = 5.0) -> None:
    """Stop the reactor thread started by this module (normally left to interpreter exit)."""
    _runner.stop(timeout)
