"""``cpppo.server.enip.client``: the original cpppo client's module, names and command line.

Scripts import ``from cpppo.server.enip import client`` and use
``client.parse_operations``, ``client.connector`` (blocking) and, new here,
``client.connect`` (a Deferred of a registered :class:`~.pipeline.EnipClient`
for Twisted applications).  This module only gathers them: each lives in its
own module (:mod:`.operations`, :mod:`.connector`, :mod:`.pipeline`,
:mod:`.client_cli`).

    python -m cpppo.server.enip.client -a localhost -p 'SCADA[1]=99' 'SCADA[0-10]'
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.enip_client import main, recycle
from cpppo.enip.client.connector import connector
from cpppo.enip.client.operations import parse_operations
from cpppo.enip.client.deferred import CIPError, EnipClient, connect, validate
from cpppo.enip.client.plan import FragmentRequired, format_path
from cpppo.enip.client.client_protocol import ConnectionClosed, EncapsulationError, RequestTimeout

__all__ = ["parse_operations", "connector", "connect", "EnipClient", "main", "recycle", "format_path",
           "validate", "CIPError", "FragmentRequired", "ConnectionClosed", "EncapsulationError", "RequestTimeout"]

if __name__ == "__main__":
    sys.exit(main())
