"""The EtherNet/IP CIP controller simulator and client, under the original cpppo's module names.

``cpppo.server.enip.main`` runs the simulator, ``cpppo.server.enip.device`` holds
the CIP objects and ``Attribute`` (subclass it to customise the simulator),
and, as in the original, the package gathers the names of its ``defaults`` (``address``,
``config_files``, ``route_path_default``...), its type classes (``INT``, ``REAL``, ...), its
``device`` (``Object``, ``lookup``, ``parse_path``...) and its ``udt``.
"""

from cpppo.server.enip import defaults as _defaults
from cpppo.server.enip import device as _device
from cpppo.server.enip import udt as _udt
from cpppo.server.enip.defaults import *  # noqa: F403
from cpppo.server.enip.device import *  # noqa: F403

# The original's type classes, importable from the package as in the original (one list: parser's).
from cpppo.server.enip.parser import *  # noqa: F403
from cpppo.server.enip.parser import __all__ as _TYPE_NAMES
from cpppo.server.enip.udt import *  # noqa: F403

__all__ = [*_TYPE_NAMES, *_defaults.__all__, *_device.__all__, *_udt.__all__]
