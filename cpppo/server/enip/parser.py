"""``cpppo.server.enip.parser``, the original cpppo's module path: the original's data type classes
(``INT``, ``REAL``, ...).

The code lives in :mod:`cpppo.enip.simulator.controller.type_classes`; this module keeps the
original's import path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.codec.formatting import enip_format
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
    TYPE_CLASSES,
    UDINT,
    UINT,
    ULINT,
    USINT,
    WORD,
    type_class,
)

__all__ = [
    "enip_format",
    "TYPE",
    "BOOL",
    "SINT",
    "INT",
    "DINT",
    "LINT",
    "USINT",
    "UINT",
    "UDINT",
    "ULINT",
    "REAL",
    "LREAL",
    "DWORD",
    "WORD",
    "BYTE",
    "SSTRING",
    "STRING",
    "type_class",
    "TYPE_CLASSES",
]
