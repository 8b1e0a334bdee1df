"""``cpppo.server.enip.device``, the original cpppo's module path: the CIP objects and ``Attribute``
(subclass it to customise the simulator).

The code lives in :mod:`cpppo.enip.simulator.controller.device`; this module keeps the original's
import path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.simulator.controller.device import (
    TCPIP,
    Attribute,
    CIPError,
    ConnectionManager,
    Directory,
    EthernetLink,
    Identity,
    MessageRouter,
    Object,
    resolve_type,
)

__all__ = [
    "Attribute",
    "Object",
    "Directory",
    "Identity",
    "MessageRouter",
    "ConnectionManager",
    "TCPIP",
    "EthernetLink",
    "CIPError",
    "resolve_type",
]
