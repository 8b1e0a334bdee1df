"""``cpppo.server.enip.list_identity``, the original cpppo's module path: who is there, by List
Identity.

The code lives in :mod:`cpppo.enip.tools.list_identity`; this module keeps the original's import
path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.list_identity import describe, main

__all__ = ["main", "describe"]

if __name__ == "__main__":
    sys.exit(main())
