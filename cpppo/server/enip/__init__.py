"""The EtherNet/IP CIP controller simulator and client, under the original cpppo's module names.

``cpppo.server.enip.main`` runs the simulator, ``cpppo.server.enip.device`` holds
the CIP objects and ``Attribute`` (subclass it to customise the simulator),
and the original's type classes (``INT``, ``REAL``, ...) are importable from here.
"""

from cpppo.enip.simulator.controller.type_classes import (
           BOOL,
           BYTE,
           DINT,
           DWORD,
           INT,
           LINT,
           LREAL,
           REAL,
           SINT,
           SSTRING,
           STRING,
           TYPE,
           UDINT,
           UINT,
           ULINT,
           USINT,
           WORD,
)

__all__ = ["TYPE", "BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL", "LREAL",
           "BYTE", "WORD", "DWORD", "SSTRING", "STRING", "address"]

#: The default address the simulator binds and clients connect to: all interfaces, port 44818.
address = ("", 44818)
