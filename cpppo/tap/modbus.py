"""``twistd -n cpppo-modbus``: the Modbus simulator as a twistd application.

Why: a Twisted deployment (logging, daemonising, several services in one
process) wants the simulator as a service, with the same options as
``modbus_sim``: the same parser (:func:`cpppo.bin.modbus_sim.build_parser`,
so ``-v``, ``-l``, ``--evil``... mean the same), and the same usage errors
(the usage, then one line naming the tool; exit status 2).  ``Options`` parses,
checks and sets up logging (into twistd's log unless ``-l FILE``);
``makeService`` builds the ``MultiService`` (see
:func:`cpppo.modbus.service.make_service`) under a guard that makes a port it
cannot bind one line and exit status 1.

Example::

    twistd -n cpppo-modbus --address 127.0.0.1:7502 40001-40100=99 1-16=1
    twistd -n cpppo-modbus --serial /dev/ttyUSB0 --baudrate 19200 --unit 1 40001-40010
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.application import service
from twisted.python import usage

from ..bin import modbus_sim
from ..bin.startup import TwistedLogHandler, setup_logging
from ..modbus.service import make_service, success_line
from .guard import ExitOnFailure

__all__ = ["Options", "makeService", "PROG"]

#: How the plugin names itself in its messages.
PROG = "twistd cpppo-modbus"


class Options(usage.Options):
    """All arguments go to ``modbus_sim``'s own parser (see ``--help``); positional ones are register ranges."""

    synopsis = "[options] <begin>[-<end>][=<value>[,<value>...]] ..."

    def parseOptions(self, options: list[str] | None = None) -> None:
        argv = sys.argv[1:] if options is None else list(options)
        args = modbus_sim.configure(modbus_sim.build_parser(prog=PROG), argv)  # exits 2 with the usage
        setup_logging(args.verbose, args.log, handler=TwistedLogHandler())
        self.update({"address": args.address, "serial": args.serial, "units": args.units,
                     "ranges": args.ranges, "baudrate": args.baudrate, "parity": args.parity,
                     "stopbits": args.stopbits, "bytesize": args.bytesize, "range": args.range,
                     "evil": args.evil, "address-output": args.address_output, "verbose": args.verbose,
                     "log": args.log, "max-connections": args.max_connections, "idle-timeout": args.idle_timeout})

    def getUsage(self, width: int | None = None) -> str:
        return modbus_sim.build_parser(prog=PROG).format_help()


def makeService(options: Any) -> service.MultiService:
    """The simulator's MultiService (it binds its port, or opens its serial device, when started), guarded."""
    def report(kind: str, bound: str) -> None:
        print(success_line(kind, bound), file=sys.__stdout__, flush=True)
        if options["address-output"]:
            print(bound, file=sys.__stdout__, flush=True)

    simulator = make_service(options["ranges"], address=None if options["serial"] else options["address"],
                             serial=options["serial"], unit_ids=options["units"] or None,
                             baudrate=options["baudrate"], parity=options["parity"],
                             stopbits=options["stopbits"], bytesize=options["bytesize"], tries=options["range"],
                             report=report, evil=options["evil"], max_connections=options["max-connections"],
                             idle=options["idle-timeout"])
    return ExitOnFailure(PROG, simulator)
