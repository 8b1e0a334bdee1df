"""``cpppo.server.enip.list_services``, the original cpppo's module path:
``python -m cpppo.server.enip.list_services`` asks a device for its List Services (and List Identity,
List Interfaces).

The code lives in :mod:`cpppo.enip.tools.list_services`; this module keeps the original's import
path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.list_services import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
