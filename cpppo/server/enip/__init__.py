"""The EtherNet/IP CIP controller simulator and client, under the original cpppo's module names.

``cpppo.server.enip.main`` runs the simulator, ``cpppo.server.enip.device`` holds
the CIP objects and ``Attribute`` (subclass it to customise the simulator),
and the original's type classes (``INT``, ``REAL``, ...) are importable from here.
"""

# The original's type classes, importable from the package as in the original (one list: parser's).
from cpppo.server.enip.parser import *  # noqa: F403
from cpppo.server.enip.parser import __all__ as _TYPE_NAMES

__all__ = [*_TYPE_NAMES, "address"]

#: The default address the simulator binds and clients connect to: all interfaces, port 44818.
address = ("", 44818)
