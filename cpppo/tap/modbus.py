"""``twistd -n cpppo-modbus``: the Modbus simulator as a twistd application.

Why: a Twisted deployment (logging, daemonising, several services in one
process) wants the simulator as a service, with the same options as
``modbus_sim``.  ``Options`` only parses and validates; ``makeService`` builds
the ``MultiService`` (see :func:`cpppo.modbus.service.make_service`).

Example::

    twistd -n cpppo-modbus --address 127.0.0.1:7502 40001-40100=99 1-16=1
    twistd -n cpppo-modbus --serial /dev/ttyUSB0 --baudrate 19200 --unit 1 40001-40010
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.application import service
from twisted.python import usage

from ..modbus.evil import parse_evil
from ..modbus.ranges import parse_range
from ..modbus.service import make_service, parse_address, success_line
from ..modbus.transports import serial_options

__all__ = ["Options", "makeService"]


class Options(usage.Options):
    """Options of ``twistd cpppo-modbus``; positional arguments are register ranges."""

    synopsis = "[options] <begin>[-<end>][=<value>[,<value>...]] ..."
    longdesc = ("Simulate a Modbus/TCP (or, with --serial, Modbus/RTU) PLC serving the given register "
                "ranges, e.g. 40001-40100=99 1-16=1.")
    optParameters = [
        ["address", "a", "0.0.0.0:502", "[<interface>][:<port>] for Modbus/TCP (port 0: any), or a serial device"],
        ["serial", None, None, "serve Modbus/RTU on this serial device"],
        ["baudrate", None, 19200, "serial baud rate", int],
        ["parity", None, "N", "serial parity: N, E, O, M or S"],
        ["stopbits", None, 1.0, "serial stop bits: 1, 1.5 or 2", float],
        ["bytesize", None, 8, "serial data bits: 5-8", int],
        ["range", "r", 1, "try this many consecutive ports if the first is busy", int],
        ["evil", "e", None, "misbehave: delay[:S[-S2]], truncate, or corrupt[:WHAT]"],
    ]
    optFlags = [["address-output", "A", "print the address actually bound, alone on a line"]]

    def __init__(self) -> None:
        usage.Options.__init__(self)
        self["units"] = []
        self["ranges"] = []

    def opt_unit(self, value: str) -> None:
        """Serve this unit id, with its own data store (repeatable; default: every unit id)."""
        try:
            unit = int(value)
        except ValueError:
            raise usage.UsageError(f"--unit {value!r} is not a number") from None
        if not 0 <= unit <= 255:
            raise usage.UsageError(f"--unit {unit} is not 0-255")
        self["units"].append(unit)

    opt_u = opt_unit

    def parseArgs(self, *registers: str) -> None:
        if not registers:
            raise usage.UsageError("give at least one register range, e.g. 40001-40100=0")
        try:
            self["ranges"] = [parse_range(text, default=0) for text in registers]
        except ValueError as exc:
            raise usage.UsageError(str(exc)) from None

    def postOptions(self) -> None:
        address = self["address"]
        if not self["serial"] and (address.startswith("/") or
                                   (not address.startswith(":") and os.path.exists(address))):
            self["serial"] = address
        try:
            if self["serial"]:
                serial_options(self["baudrate"], self["parity"], self["stopbits"], self["bytesize"])
            else:
                parse_address(address)
        except ValueError as exc:
            raise usage.UsageError(str(exc)) from None
        if self["range"] < 1:
            raise usage.UsageError("--range must be at least 1")
        if self["evil"]:
            try:
                parse_evil(self["evil"])
            except ValueError as exc:
                raise usage.UsageError(str(exc)) from None


def makeService(options: Any) -> service.MultiService:
    """The simulator's MultiService; it binds its port (or opens its serial device) when started."""
    def report(kind: str, bound: str) -> None:
        print(success_line(kind, bound), file=sys.__stdout__, flush=True)
        if options["address-output"]:
            print(bound, file=sys.__stdout__, flush=True)

    return make_service(options["ranges"], address=None if options["serial"] else options["address"],
                        serial=options["serial"], unit_ids=options["units"] or None,
                        baudrate=options["baudrate"], parity=options["parity"], stopbits=options["stopbits"],
                        bytesize=options["bytesize"], tries=options["range"], report=report,
                        evil=options["evil"])
