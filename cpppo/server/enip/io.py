"""``cpppo.server.enip.io``, the original cpppo's module path: the documentation's example of
``connector.process``.

The code lives in :mod:`cpppo.enip.tools.io`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.io import TAGS, main

__all__ = ["main", "TAGS"]

if __name__ == "__main__":
    sys.exit(main())
