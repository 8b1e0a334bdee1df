"""``twistd -n cpppo-plant [--web ADDR] [--shard K/N] PLANT.toml``: a plant as a twistd application.

The options are ``python -m cpppo.plant``'s, made from the same table
(:data:`cpppo.plant.cli.OPTIONS`, :data:`~cpppo.plant.cli.FLAGS`).  Parsing has no
side effects; ``makeService`` sets up logging, reads the plant file (a bad one is the
usage and one ``twistd cpppo-plant: error: plant.toml: ...`` line, exit 2) and returns
the service, which binds every address when twistd starts it; one that cannot be
bound is one line and exit status 1 (:class:`~cpppo.tap.guard.ExitOnFailure`), with
nothing left listening.
"""

from __future__ import annotations

import argparse
from typing import Any

from twisted.application import service
from twisted.python import usage

from cpppo.plant.cli import FLAGS, OPTIONS, Config, configure

from ..bin.startup import TwistedLogHandler, setup_logging
from . import guard
from .guard import ExitOnFailure

__all__ = ["Options", "makeService", "PlantService", "PROG"]

#: How the plugin names itself in its messages.
PROG = "twistd cpppo-plant"


class Options(guard.OneLineUsage):
    """The plant's options; the one positional argument is the plant file."""

    prog = PROG
    synopsis = "[options] PLANT.toml"
    longdesc = f"{PROG}: many simulated controllers and Modbus devices, each at its own address, from a plant file."
    optFlags = [[name, short, text] for name, short, text in FLAGS]
    optParameters = [[name, short, None, text] for name, short, _, text in OPTIONS]

    def __init__(self) -> None:
        super().__init__()
        self["verbose"] = 0

    def opt_verbose(self) -> None:
        """more logging (repeatable)"""
        self["verbose"] += 1

    opt_v = opt_verbose

    def parseArgs(self, *plant: str) -> None:
        if len(plant) != 1:
            raise usage.UsageError("one plant file is needed (PLANT.toml)")
        self["plant"] = plant[0]

    def namespace(self) -> argparse.Namespace:
        """These options as ``python -m cpppo.plant``'s parser would have parsed them."""
        values = {name.replace("-", "_"): self[name] for name, *_ in OPTIONS}
        values.update({name.replace("-", "_"): bool(self[name]) for name, _, _ in FLAGS})
        return argparse.Namespace(verbose=self["verbose"], plant=self["plant"], **values)



def usage_error(message: str) -> None:
    """``usage: twistd cpppo-plant ...`` and ``twistd cpppo-plant: error: MESSAGE`` on stderr; exit 2."""
    guard.usage_error(PROG, Options.synopsis, message)


class PlantService(service.Service):
    """Serves the plant on start (every address, or none), and closes every port and client on stop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.server: Any = None

    def startService(self) -> None:
        from twisted.internet import reactor

        from cpppo.plant.cli import serve

        service.Service.startService(self)
        self.server = serve(self.config, reactor)

    def stopService(self) -> Any:
        service.Service.stopService(self)
        server, self.server = self.server, None
        return server.stop() if server is not None else None


def makeService(options: Options) -> service.IService:
    """Logging, then the plant file, then the plant's service under a guard (a failure to start: one line,
    exit 1)."""
    args = options.namespace()
    setup_logging(args.verbose, args.log, rotating=True, handler=TwistedLogHandler())
    try:
        config = configure(args)
    except ValueError as error:
        usage_error(str(error))
        raise
    return ExitOnFailure(PROG, PlantService(config))
