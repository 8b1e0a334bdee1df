"""``cpppo.server.enip.device``, the original cpppo's module path: the CIP objects and ``Attribute``
(subclass it to customise the simulator), the original's path parsers, and its module-level
directory of the simulated device.

The code lives in :mod:`cpppo.enip.simulator.controller.device` (the objects),
:mod:`cpppo.enip.codec.original_paths` (``parse_path``, ``parse_route_path``...) and
:mod:`cpppo.enip.simulator.main_controller` (``directory``, ``lookup``, ``resolve``,
``redirect_tag``: views of the controller ``main()`` serves); this module keeps the original's
import path and names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.codec.formatting import enip_format
from cpppo.enip.codec.original_paths import (
    parse_connection_path,
    parse_int,
    parse_path,
    parse_path_component,
    parse_path_elements,
    parse_route_path,
    port_link,
)
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
from cpppo.enip.simulator.controller.type_classes import DINT, DWORD, INT, SSTRING, STRING, UDINT, UINT, USINT, WORD
from cpppo.enip.simulator.main_controller import (
    directory,
    lookup,
    lookup_reset,
    redirect_tag,
    resolve,
    resolve_element,
    resolve_tag,
    symbol_keys,
)


def canonicalize_tag(tag: str) -> str:
    """The form a tag name is looked up by: lower case (Logix names match ignoring case), and only of
    ISO-8859-1 characters (the original's rule; a ``UnicodeEncodeError`` otherwise)."""
    canonical = tag.lower()
    canonical.encode("iso-8859-1")
    return canonical


#: The original's names of the Message Router (class 2) and Connection Manager (class 6).
Message_Router = MessageRouter
Connection_Manager = ConnectionManager

__all__ = [
    "Attribute",
    "Object",
    "Directory",
    "Identity",
    "MessageRouter",
    "Message_Router",
    "ConnectionManager",
    "Connection_Manager",
    "TCPIP",
    "EthernetLink",
    "CIPError",
    "resolve_type",
    "directory",
    "lookup",
    "lookup_reset",
    "resolve",
    "resolve_element",
    "resolve_tag",
    "redirect_tag",
    "symbol_keys",
    "parse_int",
    "parse_path",
    "parse_path_elements",
    "parse_path_component",
    "port_link",
    "parse_route_path",
    "parse_connection_path",
    "canonicalize_tag",
    "enip_format",
    # The type classes the original's device imported from its parser (scripts write device.DINT).
    "UDINT", "DINT", "DWORD", "INT", "UINT", "WORD", "USINT", "SSTRING", "STRING",
]
