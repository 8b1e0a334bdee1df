"""``cpppo.server.enip.main``, the original cpppo's module path: the simulator's entry points:
``main(argv)`` serves until stopped, ``start(argv, reactor)`` inside a running reactor,
``start_thread(argv)`` from a blocking script.

The code lives in :mod:`cpppo.enip.simulator.run`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.simulator.run import Server, build_service, log, main, start, start_thread

__all__ = ["main", "start", "start_thread", "Server", "build_service", "log"]
