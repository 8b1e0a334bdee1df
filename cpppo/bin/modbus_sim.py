"""modbus_sim: a simulated Modbus PLC, over Modbus/TCP or Modbus/RTU, on the Twisted reactor.

Why: the command the original cpppo's users type, with its options and its
"Success; Started ..." line, now serving from our own framing and sparse
data store.  Everything here is argument handling; the simulator itself is
:func:`cpppo.modbus.service.make_service`, which ``twistd -n cpppo-modbus``
also uses.

Examples::

    modbus_sim -a :7502 40001-40100=99 1-16=1
    modbus_sim -a 127.0.0.1:0 -A 40001-40010          # port chosen by the OS, printed
    modbus_sim --serial /dev/ttyUSB0 --baudrate 19200 --unit 1 --unit 2 40001-40010
    modbus_sim -a /dev/ttyS1 40001-40010              # the original's serial form
    modbus_sim -a :7502 --evil delay:2.5 40001-40100  # every answer 2.5 s late
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser", "configure", "is_serial_address", "serial_device", "add_serial_options",
           "apply_config", "CONFIG_KEYS"]

EPILOG = """\
Register ranges: <begin>[-<end>][=<value>[,<value>...]]; values repeat to fill the
range and default to 0.  Families: 1-9999 coils, 10001-19999 (100001-165536) discrete
inputs, 30001-39999 (300001-365536) input registers, 40001-99999 (400001-465536)
holding registers.

An --address that names a device (starting with '/', or an existing file) serves
Modbus/RTU on that serial port, as the original modbus_sim did.

Example:
  modbus_sim -a localhost:7502 40001-40100=99 1-16=1
"""


def build_parser(prog: str = "modbus_sim") -> argparse.ArgumentParser:
    """The command line of modbus_sim."""
    p = argparse.ArgumentParser(prog=prog, description="Simulate a Modbus/TCP or Modbus/RTU PLC.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (repeatable)")
    p.add_argument("-l", "--log", help="log to this file instead of stderr")
    p.add_argument("-a", "--address", default="0.0.0.0:502",
                   help="[<interface>][:<port>] to serve Modbus/TCP on (default 0.0.0.0:502; port 0: any), "
                        "or a serial device")
    p.add_argument("-A", "--address-output", action="store_true",
                   help="also print the address actually bound, alone on a line")
    p.add_argument("-r", "--range", type=int, default=1, metavar="N",
                   help="try N consecutive ports if the first is busy (default 1)")
    p.add_argument("-e", "--evil", metavar="MODE",
                   help="misbehave: delay[:S[-S2]], truncate, "
                        "or corrupt[:transaction|protocol|unit|function|registers]")
    p.add_argument("-u", "--unit", type=int, action="append", metavar="ID",
                   help="serve this unit id, with its own data store (repeatable; default: every unit id, one store)")
    p.add_argument("--max-connections", type=_positive_int, default=256, metavar="N",
                   help="Modbus/TCP connections served at once; more are closed as they connect (default 256)")
    p.add_argument("--idle-timeout", type=_seconds, default=120.0, metavar="SECONDS",
                   help="close a Modbus/TCP connection that sends nothing for SECONDS; 0: never (default 120)")
    add_serial_options(p, "serve Modbus/RTU on this serial device", bytesize=True)
    p.add_argument("-c", "--config", default=None, metavar="JSON",
                   help='the original\'s serial settings as JSON, eg. \'{"baudrate": 19200, "slaves": [1, 2]}\': '
                        'baudrate, parity, stopbits, bytesize (as the options of those names), slaves (as --unit); '
                        'timeout and ignore_missing_slaves are accepted and have no effect (the reactor frames '
                        'RTU by its silences, and a unit not served is never answered)')
    p.add_argument("registers", nargs="+", help="register ranges, e.g. 40001-40100=99")
    return p


#: ``-c/--config`` keys: the option each sets (None: accepted, no effect here).
CONFIG_KEYS = {"baudrate": "baudrate", "parity": "parity", "stopbits": "stopbits", "bytesize": "bytesize",
               "slaves": "unit", "timeout": None, "ignore_missing_slaves": None}


def apply_config(args: argparse.Namespace) -> None:
    """The original's ``--config`` JSON into *args*' serial options (ValueError if it is not such JSON)."""
    import json

    try:
        config = json.loads(args.config)
    except ValueError as exc:
        raise ValueError(f"--config {args.config!r} is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(f"--config {args.config!r}: a JSON object, eg. {{\"baudrate\": 19200}}")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"--config: unknown key(s) {', '.join(unknown)} (one of {', '.join(CONFIG_KEYS)})")
    for key, value in config.items():
        option = CONFIG_KEYS[key]
        if option == "unit":
            if value is not None:  # (the original's None: every unit id)
                if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
                    raise ValueError(f"--config slaves {value!r}: a list of unit ids")
                args.unit = (args.unit or []) + value
        elif option == "parity":
            args.parity = str(value).upper()
        elif option is not None:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"--config {key} {value!r}: a number")
            setattr(args, option, value)


def _positive_int(text: str) -> int:
    value = int(text, 0)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of 1 or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def add_serial_options(p: argparse.ArgumentParser, serial_help: str, bytesize: bool = False) -> None:
    """The Modbus/RTU options that modbus_sim and modbus_poll share (--serial, --baudrate, ...)."""
    p.add_argument("--serial", metavar="DEVICE", help=serial_help)
    p.add_argument("--baudrate", type=int, default=19200, help="serial baud rate (default 19200)")
    p.add_argument("--parity", default="N", choices=list("NEOMS"), type=str.upper, help="serial parity (default N)")
    p.add_argument("--stopbits", type=float, default=1, choices=(1, 1.5, 2), help="serial stop bits (default 1)")
    if bytesize:
        p.add_argument("--bytesize", type=int, default=8, choices=(5, 6, 7, 8), help="serial data bits (default 8)")


def is_serial_address(address: str) -> bool:
    """True if *address* names a serial device rather than an [interface]:port."""
    return address.startswith("/") or (not address.startswith(":") and os.path.exists(address))


def serial_device(args: argparse.Namespace) -> str | None:
    """The serial device the command line names (``--serial``, or an address that is one), or None."""
    return args.serial or (args.address if is_serial_address(args.address) else None)


def _configure_logging(verbose: int, logfile: str | None) -> None:
    """The level of ``-v``, to stderr or ``-l FILE``; Twisted's own log events go there too."""
    from cpppo.bin.startup import setup_logging

    setup_logging(verbose, logfile)
    from twisted.logger import STDLibLogObserver, globalLogBeginner

    globalLogBeginner.beginLoggingTo([STDLibLogObserver()], redirectStandardIO=False)


def configure(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check a command line; a mistake exits 2 with the usage and one line naming the tool.

    Why one function: ``modbus_sim`` and ``twistd cpppo-modbus`` take the same options and
    must refuse the same mistakes the same way.  The result also has ``ranges`` (parsed),
    ``serial`` (the device, or None) and ``units`` (a list, empty for every unit id).
    """
    from cpppo.modbus.evil import parse_evil
    from cpppo.modbus.ranges import parse_range
    from cpppo.modbus.service import parse_address
    from cpppo.modbus.transports import serial_options

    args = parser.parse_args(argv)
    args.serial = serial_device(args)
    if getattr(args, "config", None):
        try:
            apply_config(args)
        except ValueError as exc:
            parser.error(str(exc))
    args.units = args.unit or []
    try:
        args.ranges = [parse_range(text, default=0) for text in args.registers]
        if args.range < 1:
            raise ValueError("--range must be at least 1")
        if args.serial and args.range != 1:
            raise ValueError("--range does not apply to a serial port")
        for unit in args.units:
            if not 0 <= unit <= 255:
                raise ValueError(f"--unit {unit} is not 0-255")
        if args.serial:
            serial_options(args.baudrate, args.parity, args.stopbits, args.bytesize)
        else:
            parse_address(args.address)
        if args.evil:
            parse_evil(args.evil)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until interrupted; 0 on a clean stop, 1 if it cannot start, 2 on bad usage."""
    parser = build_parser()
    try:
        args = configure(parser, argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from cpppo.bin.startup import reason
    from cpppo.modbus.service import make_service, success_line

    def report(kind: str, bound: str) -> None:
        print(success_line(kind, bound), flush=True)
        if args.address_output:
            print(bound, flush=True)

    top = make_service(args.ranges, address=None if args.serial else args.address, serial=args.serial,
                       unit_ids=args.units or None, baudrate=args.baudrate, parity=args.parity,
                       stopbits=args.stopbits, bytesize=args.bytesize, tries=args.range, report=report,
                       evil=args.evil, max_connections=args.max_connections, idle=args.idle_timeout)
    _configure_logging(args.verbose, args.log)
    from twisted.internet import reactor

    status = [0]

    def start() -> None:
        try:
            top.privilegedStartService()
            top.startService()
        except Exception as exc:
            print(f"{parser.prog}: {reason(exc)}", file=sys.stderr, flush=True)
            status[0] = 1
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", lambda: top.stopService() if top.running else None)
    reactor.run()
    return status[0]


if __name__ == "__main__":
    sys.exit(main())
