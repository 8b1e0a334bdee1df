"""``UCMM``: the original cpppo's Unconnected Message Manager class, as its hooks configure it.

Why: the original's scripts pass ``main(UCMM_class=...)`` a subclass of ``UCMM`` whose
``route_path`` is the one route the simulator accepts on Unconnected Send (``False``: none, only
unrouted requests; ``None``: any).  Here the routing itself is the router's
(:mod:`cpppo.enip.simulator.router`); this class only carries that setting, which ``main()``
reads, and ``route`` (port/link -> address), the original's table of where other routes lead,
which this simulator does not forward to (a route it does not accept is refused).
"""

from __future__ import annotations

from typing import Any, ClassVar

from cpppo.enip.simulator.controller.device import Object

__all__ = ["UCMM"]


class UCMM(Object):
    """Subclass and set ``route_path`` (eg. ``[{"port": 1, "link": 0}]`` or ``False``)."""

    class_id = 0x9999  # the original's: not an addressable object
    route_path: ClassVar[Any] = None
    route: ClassVar[dict[str, Any]] = {}
