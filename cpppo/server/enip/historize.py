"""``cpppo.server.enip.historize``, the original cpppo's module path: the simulator that records
every tag read and write to a history file.

The code lives in :mod:`cpppo.enip.tools.historize`; this module keeps the original's import path
and names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.historize import attribute_historize, enip_main, main

__all__ = ["attribute_historize", "main", "enip_main"]

if __name__ == "__main__":
    sys.exit(main())
