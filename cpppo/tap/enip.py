"""``twistd -n cpppo-enip [options] TAG...``: the EtherNet/IP simulator as a twistd application.

The options are the simulator's own (:mod:`cpppo.enip.simulator.options`): one
definition serves ``python -m cpppo.server.enip``, ``enip_server`` and twistd.
``Options`` sets up logging (``-v``, ``-l``: into twistd's log unless ``-l FILE``)
before it loads any ``--l5x``/``--csv``/``--tags`` file, so what those loaders skip
is seen; ``makeService`` returns the service, which binds its ports when twistd
starts it, and makes a port it cannot bind one line and exit status 1
(:class:`~cpppo.tap.guard.ExitOnFailure`).
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.application import service
from twisted.python import usage

from ..bin.startup import TwistedLogHandler, setup_logging
from cpppo.enip.simulator import options as opts
from .guard import ExitOnFailure

__all__ = ["Options", "makeService", "EnipServerService", "PROG"]

#: How the plugin names itself in its messages.
PROG = "twistd cpppo-enip"


class Options(usage.Options):
    """All arguments go to the simulator's own parser (see ``--help``)."""

    synopsis = "[options] NAME=TYPE[LENGTH] ..."

    def parseOptions(self, options: list[str] | None = None) -> None:
        argv = sys.argv[1:] if options is None else list(options)
        ap = opts.parser(prog=PROG)
        args = ap.parse_args(argv)  # exits 2 with a usage message
        setup_logging(args.verbose, args.log, rotating=True, handler=TwistedLogHandler())
        self["settings"] = opts.configure(args, ap)  # loads the tag files: after logging is set up

    def getUsage(self, width: int | None = None) -> str:
        return opts.parser(prog=PROG).format_help()


class EnipServerService(service.Service):
    """Binds the simulator's ports on start, and closes them (and every client) on stop."""

    def __init__(self, settings: opts.Settings, attribute_class: Any = None) -> None:
        self.settings = settings
        self.attribute_class = attribute_class
        self.server: Any = None

    def startService(self) -> None:
        from twisted.internet import reactor

        from cpppo.enip.simulator.controller.device import Attribute
        from cpppo.enip.simulator.run import start

        service.Service.startService(self)
        self.server = start(self.settings, reactor, self.attribute_class or Attribute)

    def stopService(self) -> Any:
        service.Service.stopService(self)
        if self.server is not None:
            return self.server.stop()
        return None


def makeService(options: Options) -> service.IService:
    """The simulator's service, under a guard that makes a failure to start one line and exit status 1."""
    return ExitOnFailure(PROG, EnipServerService(options["settings"]))
