"""``python -m cpppo.server.enip.getattr``: the attribute tool under its 2015 name (see :mod:`.get_attribute`)."""

from __future__ import annotations

import sys

from cpppo.enip.tools.get_attribute import attribute_operations, main

__all__ = ["attribute_operations", "main"]

if __name__ == "__main__":
    sys.exit(main())
