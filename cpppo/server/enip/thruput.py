"""``cpppo.server.enip.thruput``, the original cpppo's module path: how many tag operations per
second a link and device give.

The code lives in :mod:`cpppo.enip.tools.thruput`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.thruput import main, timestamp

__all__ = ["main", "timestamp"]

if __name__ == "__main__":
    sys.exit(main())
