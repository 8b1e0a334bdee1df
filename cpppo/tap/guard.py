"""The top service of a cpppo twistd plugin: a simulator that cannot start says why in one line, and exits 1.

Why: twistd prints a full traceback for an exception out of ``startService`` (an
endpoint service only logs one and keeps running with nothing served), and
exits 0 once its reactor stops.  A port already in use, or port 80 without
privilege, is a user's everyday mistake: :class:`ExitOnFailure` reports it as
``twistd cpppo-enip: cannot listen on 127.0.0.1:44818: Address already in use``
on stderr (and in twistd's log), stops the reactor, and makes twistd's exit
status 1.  It holds the simulator's service as its only child, so the same
handling covers services that raise in ``privilegedStartService`` or
``startService``, today's and endpoint services alike.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.python import usage

from ..bin.startup import reason

__all__ = ["ExitOnFailure", "exit_when_done", "OneLineUsage", "usage_error"]


def exit_when_done(status: int) -> None:
    """Make the process exit with *status* once twistd has finished (pid file removed, log stopped).

    Why: twistd's ``run`` returns normally after its reactor stops, so the interpreter
    would exit 0.  The last exit handler registered runs first: it flushes the logs and
    output and ends the process with *status*.
    """
    def finish() -> None:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is None:  # a missing stream (sys.__stdout__ may be None): nothing to flush
                continue
            try:
                stream.flush()
            except Exception:  # a closed stream: nothing to flush
                pass
        os._exit(status)

    atexit.register(finish)


def _raise_synchronously(top: service.IServiceCollection) -> None:
    """Make every endpoint service below *top* raise its listen error, as ``strports.service`` does.

    Otherwise a ``StreamServerEndpointService`` only logs the failure (a traceback) and starts.
    """
    for child in top:
        if hasattr(child, "_raiseSynchronously"):
            child._raiseSynchronously = True
        if isinstance(child, service.MultiService):
            _raise_synchronously(child)


class ExitOnFailure(service.MultiService):
    """Starts its child; if it cannot start: one line on stderr and in the log, reactor stopped, exit 1."""

    def __init__(self, prog: str, child: service.IService, reactor: Any = None,
                 on_failure: Callable[[int], None] = exit_when_done, stderr: Any = None) -> None:
        super().__init__()
        self.prog, self.reactor, self.on_failure, self.stderr = prog, reactor, on_failure, stderr
        self.failed: str | None = None
        child.setServiceParent(self)
        _raise_synchronously(self)

    @property
    def simulator(self) -> Any:
        """The service this one guards."""
        return next(iter(self))

    def privilegedStartService(self) -> None:
        try:
            super().privilegedStartService()
        except Exception as error:
            self._fail(error)

    def startService(self) -> None:
        if self.failed:  # privilegedStartService failed: start nothing
            service.Service.startService(self)
            return
        try:
            super().startService()
        except Exception as error:
            self._fail(error)

    def stopService(self) -> defer.Deferred:
        """Stop what started (a child that failed to start may have nothing to stop)."""
        service.Service.stopService(self)
        return defer.DeferredList([defer.maybeDeferred(child.stopService)
                                   for child in reversed(list(self)) if child.running])

    def _fail(self, error: BaseException) -> None:
        from twisted.logger import Logger

        self.failed = f"{self.prog}: {reason(error)}"
        Logger(namespace=self.prog).critical("{line}", line=self.failed)
        print(self.failed, file=self.stderr or sys.__stderr__, flush=True)
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        reactor.callWhenRunning(reactor.stop)
        self.on_failure(1)


def usage_error(prog: str, synopsis: str, message: str) -> None:
    """``usage: PROG SYNOPSIS`` and ``PROG: error: MESSAGE`` on stderr, as argparse says it; exit status 2."""
    print(f"usage: {prog} {synopsis}\n{prog}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


class OneLineUsage(usage.Options):
    """twistd Options whose usage error is the synopsis and one line naming *prog* (exit 2), not Twisted's
    whole help text."""

    prog = "twistd"
    synopsis = "[options]"

    def parseOptions(self, options: list[str] | None = None) -> None:
        """Parse; a usage error is the synopsis and one line on stderr, exit status 2 (as argparse says it)."""
        try:
            super().parseOptions(options)
        except usage.UsageError as error:
            usage_error(self.prog, self.synopsis, str(error))
