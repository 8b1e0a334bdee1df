"""``cpppo.server.enip.ab``, the original cpppo's module path: the Allen-Bradley PowerFlex drive
proxies ``powerflex`` and ``powerflex_750_series`` (with its parameter table).

The code lives in :mod:`cpppo.enip.proxies`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.proxies import powerflex, powerflex_750_series
from cpppo.enip.tools.proxy import proxy_simple

#: ``proxy_simple`` is here too, as the original's ``ab`` imported it (the drives' base class).
__all__ = ["powerflex", "powerflex_750_series", "proxy_simple"]
