"""``cpppo.server.enip.poll``, the original cpppo's module path: read a device's parameters every
cycle, through a proxy.

The code lives in :mod:`cpppo.enip.tools.poll`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.tools.poll import PARAMS, execute, log, loop, poll, run

__all__ = ["PARAMS", "execute", "loop", "run", "poll", "log"]
