"""modbus_poll: poll a Modbus PLC and log every change of value.

Why: the quickest way to watch a PLC (or ``modbus_sim``) from a shell, and
the original cpppo's example of ``poller_modbus`` used from plain blocking
code: initial values given on the command line are written first, then the
addresses are polled and each change is logged as
``40001 ==     9 (was: None)``.

Examples::

    modbus_poll -a localhost:7502 40001-40010=0 40001-40100
    modbus_poll --serial /dev/ttyUSB0 --unit 1 40001-40004
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when main runs, after the command line is checked
    from cpppo.remote.plc_modbus import poller_modbus

__all__ = ["main", "build_parser"]

log = logging.getLogger("modbus_poll")

EPILOG = """\
Register ranges: <begin>[-<end>] to poll, or <begin>[-<end>]=<value>[,<value>...] to
write those values first (and then poll them).

Example:
  modbus_poll -a localhost:7502 40001-40010=0 40001-40100
"""


def build_parser(prog: str = "modbus_poll") -> argparse.ArgumentParser:
    """The command line of modbus_poll."""
    from cpppo.bin.modbus_sim import add_serial_options

    p = argparse.ArgumentParser(prog=prog, description="Poll a Modbus/TCP or Modbus/RTU PLC, logging changes.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (repeatable)")
    p.add_argument("-l", "--log", help="log to this file instead of stderr")
    p.add_argument("-a", "--address", default="localhost:502",
                   help="<host>[:<port>] of the PLC (default localhost:502), or a serial device")
    p.add_argument("-r", "--reach", type=int, default=1, help="merge polls within this many addresses (default 1)")
    p.add_argument("-u", "--unit", type=int, default=None, help="unit id (default 0 on TCP, 1 on RTU)")
    p.add_argument("-R", "--rate", type=float, default=1.0, help="poll period in seconds (default 1.0)")
    p.add_argument("-t", "--timeout", type=float, default=None, help="I/O timeout in seconds (default 1.0)")
    p.add_argument("-d", "--duration", type=float, default=None, help="stop after this many seconds")
    add_serial_options(p, "poll over Modbus/RTU on this serial device")
    p.add_argument("registers", nargs="+", help="register ranges, e.g. 40001-40010=0 40001-40100")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Poll until interrupted (or --duration); 0 on a clean stop, 2 on bad usage."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    import cpppo
    from cpppo.bin.modbus_sim import serial_device
    from cpppo.modbus.ranges import parse_range
    from cpppo.modbus.service import parse_address

    serial = serial_device(args)
    try:
        ranges = [parse_range(text) for text in args.registers]
        if serial:
            where = {"serial": serial, "baudrate": args.baudrate, "parity": args.parity, "stopbits": args.stopbits}
        else:
            host, port = parse_address(args.address, 502)
            where = {"host": host or "localhost", "port": port}
        if args.rate <= 0:
            raise ValueError("--rate must be positive")
        if args.unit is not None and not 0 <= args.unit <= 255:
            raise ValueError("--unit must be 0-255")
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    cfg = dict(cpppo.log_cfg, level=cpppo.log_level(args.verbose))
    if args.log:
        cfg["filename"] = args.log
    logging.basicConfig(**cfg)

    from cpppo.modbus.errors import ModbusError
    from cpppo.remote.plc_modbus import PlcOffline, poller_modbus

    name = f"Modbus/RTU {serial}" if serial else f"Modbus/TCP {where['host']}:{where['port']}"
    poller = poller_modbus(name, rate=args.rate, unit=args.unit,
                           reach=args.reach, timeout=args.timeout, **where)
    try:
        for rng in ranges:
            for address in rng.addresses():
                poller.poll(address)
            if rng.values:
                try:
                    poller.write(rng.begin, rng.values[0] if len(rng) == 1 else list(rng.values))
                except (PlcOffline, ModbusError, TimeoutError, ValueError) as exc:
                    log.error("write of %d-%d failed: %s", rng.begin, rng.end, exc)
        return _watch(poller, args.duration, min(args.rate / 2, 0.5))
    except KeyboardInterrupt:
        return 0
    finally:
        poller.join(timeout=2.0)


def _watch(poller: poller_modbus, duration: float | None, period: float) -> int:
    """Log load, polling/failing ranges and every change of value until *duration* passes."""
    from cpppo.misc import DETAIL, NORMAL

    load = fail = poll = ""
    seen: dict[int, int | None] = {}
    deadline = None if duration is None else time.monotonic() + duration
    addresses = sorted(poller._data)
    while deadline is None or time.monotonic() < deadline:
        cur = f"{poller.load[0] or 0:.2f}"
        if cur != load:
            load = cur
            logging.log(DETAIL, "load: %s", load)
        failcur = ", ".join(f"{b}-{b + c - 1}" for b, c in sorted(poller.failing))
        pollcur = ", ".join(f"{b}-{b + c - 1}" for b, c in sorted(poller.polling))
        if (failcur, pollcur) != (fail, poll):
            fail, poll = failcur, pollcur
            logging.log(NORMAL, "failing: %s, polling: %s", fail, poll)
        for address in addresses:
            value = poller.read(address)
            old = seen.get(address)
            if value != old:
                log.warning("%5d == %5s (was: %s)", address, value, old)
                seen[address] = value
        time.sleep(period if deadline is None else max(0.0, min(period, deadline - time.monotonic())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
