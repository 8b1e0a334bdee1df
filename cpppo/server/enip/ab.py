"""``cpppo.server.enip.ab``, the original cpppo's module path: the Allen-Bradley PowerFlex drive
proxies ``powerflex`` and ``powerflex_750_series`` (with its parameter table).

The code lives in :mod:`cpppo.enip.proxies`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.proxies import powerflex, powerflex_750_series

__all__ = ["powerflex", "powerflex_750_series"]
