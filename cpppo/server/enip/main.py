"""``cpppo.server.enip.main``, the original cpppo's module path: the simulator's entry points:
``main(argv)`` serves until stopped, ``start(argv, reactor)`` inside a running reactor,
``start_thread(argv)`` from a blocking script.

The code lives in :mod:`cpppo.enip.simulator.run`; this module keeps the original's import path and
names, so scripts written for the original keep working.  ``tags`` (tag name -> its Attribute) and
``config_files`` are the original's module-level names, views of the controller ``main()`` serves
(see :mod:`cpppo.enip.simulator.main_controller`).
"""

from __future__ import annotations

from cpppo.enip.defaults import config_files
from cpppo.enip.simulator.main_controller import tags
from cpppo.enip.simulator.run import Server, build_service, log, main, start, start_thread

__all__ = ["main", "start", "start_thread", "Server", "build_service", "log", "tags", "config_files"]
