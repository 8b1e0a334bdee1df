"""The original's data type classes, for scripts that name them.

The original cpppo gave each CIP type a parser class (``cpppo.server.enip.INT``,
``REAL``, ...) and a ``device.Attribute`` took one as ``type_cls`` and kept an
instance as ``.parser`` (the documented weather example tests
``isinstance(self.parser, REAL)``).  Here each class is a thin handle on the
codec's :class:`~cpppo.enip.codec.types.CIPType`: ``tag_type`` is its wire
code, ``struct_calcsize`` its size, and ``produce``/``decode`` convert values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cpppo.enip.codec import types as cip_types

__all__ = ["TYPE", "BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL", "LREAL",
           "DWORD", "WORD", "BYTE", "SSTRING", "STRING", "type_class", "TYPE_CLASSES"]


class TYPE:
    """A CIP data type: the base of the per-type classes below."""

    cip: cip_types.CIPType = cip_types.INT
    #: Class attributes, as the original's (scripts read ``parser.REAL.tag_type`` without an instance).
    tag_type: int = cip_types.INT.code
    struct_calcsize: int = cip_types.INT.size or 0

    def produce(self, value: Any) -> bytes:
        """One value as bytes."""
        return self.cip.encode([value])

    def encode(self, values: Sequence[Any]) -> bytes:
        return self.cip.encode(values)

    def decode(self, data: bytes, count: int | None = None, offset: int = 0) -> list:
        return self.cip.decode(data, count, offset)

    def __repr__(self) -> str:
        return type(self).__name__


def _make(t: cip_types.CIPType) -> type:
    return type(t.name, (TYPE,), {"cip": t, "tag_type": t.code, "struct_calcsize": t.size or 0,
                                  "__doc__": f"The CIP {t.name} type (code 0x{t.code:02X})."})


BOOL = _make(cip_types.BOOL)
SINT = _make(cip_types.SINT)
INT = _make(cip_types.INT)
DINT = _make(cip_types.DINT)
LINT = _make(cip_types.LINT)
USINT = _make(cip_types.USINT)
UINT = _make(cip_types.UINT)
UDINT = _make(cip_types.UDINT)
ULINT = _make(cip_types.ULINT)
REAL = _make(cip_types.REAL)
LREAL = _make(cip_types.LREAL)
BYTE = _make(cip_types.BYTE)
WORD = _make(cip_types.WORD)
DWORD = _make(cip_types.DWORD)
SSTRING = _make(cip_types.SSTRING)
STRING = _make(cip_types.STRING)

#: The classes by upper-case type name.
TYPE_CLASSES = {cls.__name__: cls for cls in (BOOL, SINT, INT, DINT, LINT, USINT, UINT, UDINT, ULINT, REAL,
                                              LREAL, BYTE, WORD, DWORD, SSTRING, STRING)}


def type_class(name: str) -> type:
    """The type class for a (case-insensitive) type name; KeyError if there is none."""
    return TYPE_CLASSES[name.upper()]
