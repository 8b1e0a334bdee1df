"""``cpppo.server.enip.logix``, the original cpppo's module path: the Logix tag store and its
services.

The code lives in :mod:`cpppo.enip.simulator.controller.tags`; this module keeps the original's
import path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.simulator.controller.tags import UNCONNECTED_REPLY_SIZE, Attribute, Tags

__all__ = ["Tags", "UNCONNECTED_REPLY_SIZE", "Attribute"]
