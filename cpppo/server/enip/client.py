"""``cpppo.server.enip.client``: the original cpppo client's module, names and command line.

Scripts import ``from cpppo.server.enip import client`` and use
``client.parse_operations``, ``client.connector`` (blocking, on a plain socket)
and, new here, ``client.connect`` (a Deferred of a registered
:class:`~cpppo.enip.client.deferred.EnipClient` for Twisted applications).
This module only gathers the client's public names; each lives in its own
module under :mod:`cpppo.enip.client` (both APIs drive the one sans-IO core,
:mod:`cpppo.enip.client.core`) and the command line in
:mod:`cpppo.enip.tools.enip_client`.

    python -m cpppo.server.enip.client -a localhost -p 'SCADA[1]=99' 'SCADA[0-10]'
"""

from __future__ import annotations

import sys

from cpppo.enip.client.classic import (
    CIP_TYPES,
    await_response,
    bool_validate,
    client,
    format_context,
    implicit,
    int_validate,
    parse_context,
)
from cpppo.enip.client.connector import connector
from cpppo.enip.client.deferred import EnipClient, connect, validate
from cpppo.enip.client.errors import (
    CIPError,
    ConnectionClosed,
    EncapsulationError,
    ENIPStatusError,
    FragmentRequired,
    MSVCStatusError,
    RequestTimeout,
    SENDStatusError,
)
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.client.plan import format_path
from cpppo.enip.codec.original_paths import parse_int, parse_path, parse_path_component, parse_path_elements
from cpppo.enip.tools.enip_client import main, recycle

__all__ = ["parse_operations", "connector", "client", "implicit", "await_response", "CIP_TYPES",
           "connect", "EnipClient", "main", "recycle", "format_path",
           "validate", "CIPError", "FragmentRequired", "ConnectionClosed", "EncapsulationError", "RequestTimeout",
           "ENIPStatusError", "SENDStatusError", "MSVCStatusError",
           # the original's helpers, as its client module had them
           "int_validate", "bool_validate", "format_context", "parse_context",
           "parse_int", "parse_path", "parse_path_elements", "parse_path_component"]

if __name__ == "__main__":
    sys.exit(main())
