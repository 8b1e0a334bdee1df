"""``twistd -n cpppo-enip [options] TAG...``: the EtherNet/IP simulator as a twistd application.

The options are the simulator's own (:mod:`cpppo.server.enip.options`): one
definition serves ``python -m cpppo.server.enip``, ``enip_server`` and twistd.
``Options`` only parses and validates; ``makeService`` returns the service,
which binds its ports when twistd starts it.
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.application import service
from twisted.python import usage

from ..server.enip import options as opts

__all__ = ["Options", "makeService", "EnipServerService"]


class Options(usage.Options):
    """All arguments go to the simulator's own parser (see ``--help``)."""

    synopsis = "[options] NAME=TYPE[LENGTH] ..."

    def parseOptions(self, options: list[str] | None = None) -> None:
        argv = sys.argv[1:] if options is None else list(options)
        ap = opts.parser(prog="twistd cpppo-enip")
        self["settings"] = opts.configure(ap.parse_args(argv), ap)  # exits 2 with a usage message

    def getUsage(self, width: int | None = None) -> str:
        return opts.parser(prog="twistd cpppo-enip").format_help()


class EnipServerService(service.Service):
    """Binds the simulator's ports on start, and closes them (and every client) on stop."""

    def __init__(self, settings: opts.Settings, attribute_class: Any = None) -> None:
        self.settings = settings
        self.attribute_class = attribute_class
        self.server: Any = None

    def startService(self) -> None:
        from twisted.internet import reactor

        from ..server.enip.device import Attribute
        from ..server.enip.main import start

        service.Service.startService(self)
        self.server = start(self.settings, reactor, self.attribute_class or Attribute)

    def stopService(self) -> Any:
        service.Service.stopService(self)
        if self.server is not None:
            return self.server.stop()
        return None


def makeService(options: Options) -> service.IService:
    return EnipServerService(options["settings"])
