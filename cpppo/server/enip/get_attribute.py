"""``cpppo.server.enip.get_attribute``, the original cpppo's module path: CIP attributes from a
shell (``enip_get_attribute``), and the ``proxy`` / ``proxy_simple`` / ``proxy_connected`` classes.

The code lives in :mod:`cpppo.enip.tools.get_attribute`; this module keeps the original's import
path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.proxies import proxy_connected
from cpppo.enip.tools.get_attribute import attribute_operations, log, main, parser, proxy, proxy_simple

__all__ = ["attribute_operations", "main", "proxy", "proxy_simple", "proxy_connected", "log", "parser"]

if __name__ == "__main__":
    sys.exit(main())
