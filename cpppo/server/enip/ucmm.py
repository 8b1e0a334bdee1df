"""``cpppo.server.enip.ucmm``, the original cpppo's module path: ``UCMM``, whose subclass's
``route_path`` a script passes to ``main(UCMM_class=...)``.

The code lives in :mod:`cpppo.enip.simulator.ucmm`; this module keeps the original's import path
and names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.simulator.ucmm import UCMM

__all__ = ["UCMM"]
