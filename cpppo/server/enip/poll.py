"""``cpppo.server.enip.poll``, the original cpppo's module path: read a device's parameters every
cycle, through a proxy; ``python -m cpppo.server.enip.poll`` is its command line.

The code lives in :mod:`cpppo.enip.tools.poll`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.poll import PARAMS, execute, log, loop, poll, run
from cpppo.enip.tools.poll_cli import main

__all__ = ["PARAMS", "execute", "loop", "run", "poll", "log", "main"]

if __name__ == "__main__":
    sys.exit(main())
