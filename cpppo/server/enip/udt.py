"""``cpppo.server.enip.udt``, the original cpppo's module path: ``tag_struct``, a User-Defined Type's
bytes <-> a record of its members, by a pycomm3-style type description.

The code lives in :mod:`cpppo.enip.codec.udt_records`; this module keeps the original's import
path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.codec.udt_records import tag_struct

__all__ = ["tag_struct"]
