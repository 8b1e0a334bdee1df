"""``python -m cpppo.plant [options] PLANT.toml`` (and ``... compose PLANT.toml``): the plant's command line.

One table of options (:data:`OPTIONS`, :data:`FLAGS`) makes both this argparse
parser and ``twistd cpppo-plant``'s :class:`twisted.python.usage.Options`
(:mod:`cpppo.tap.plant`), so the two mean the same.  :func:`configure` turns the
parsed options into a :class:`Config`: the plant file read, sharded and re-hosted
(ValueError, one line, for anything wrong); :func:`serve` starts it in a reactor.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.simulator import options as opts
from cpppo.enip.simulator.transport import Limits
from cpppo.plant.expand import parse_shard, rehost, shard
from cpppo.plant.model import ControllerSpec, Plant
from cpppo.plant.reader import read

__all__ = ["OPTIONS", "FLAGS", "Config", "parser", "configure", "serve", "main"]

PROG = "python -m cpppo.plant"

#: (long name, short name, metavar, help): options taking a value (None: no default).
OPTIONS: tuple[tuple[str, str | None, str, str], ...] = (
    ("web", "w", "ADDRESS", "serve the plant's web page and API on [<interface>][:<port>] (default port 80), eg. "
                 "127.0.0.1:8080: / lists the devices, /<name>/ is a controller's own page and API"),
    ("shard", None, "K/N", "serve only shard K of N (K/N, eg. 0/3): device j of the expanded plant when j mod N = K "
                    "(K1,K2/N: several shards)"),
    ("host", None, "ADDRESS", "serve the shard's devices at this address (each keeps its port and slot) instead of the "
                   "file's: a pod's or container's own IP address"),
    ("log", "l", "FILE", "log to FILE (rotating, 10 MB, 5 copies)"),
    ("logic", None, "run|program", "the mode each controller's L5X program starts in (default: run, when it has "
                    "routines)"),
    ("scan-period", None, "MS", "each controller's continuous task's minimum period in milliseconds (default 10): "
                         "a plant of many programs scans each less often"),
    *((option, None, "SECONDS" if option == "idle-timeout" else "N", text) for option, text in opts.LIMIT_OPTIONS),
)
#: (long name, short name, help): flags.
FLAGS: tuple[tuple[str, str | None, str], ...] = (
    ("no-udp", "U", "do not answer UDP List Identity"),
    ("address-output", "A", "print each device's name and the address it is served at, once started"),
)


@dataclass
class Config:
    """What the plant command line asks for: the plant (its shard), where the web is, the limits."""

    plant: Plant
    web: tuple[str, int] | None = None
    udp: bool = True
    address_output: bool = False
    verbose: int = 0
    log_file: str | None = None
    limits: Limits = field(default_factory=Limits)
    cache_bytes: int = 16 << 20
    logic: str | None = None  # each controller's program's mode at start (None: run, when it has routines)
    scan_period: float = 0.010  # seconds: each program's continuous task's minimum period


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="A plant: many simulated EtherNet/IP controllers and "
                                 "Modbus devices, each at its own address, in one process, from a plant file. "
                                 f"({prog} compose PLANT.toml writes a Docker Compose file instead.)")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more logging (repeatable)")
    for name, short, metavar, text in OPTIONS:
        ap.add_argument(*([f"-{short}"] if short else []), f"--{name}", default=None, metavar=metavar, help=text)
    for name, short, text in FLAGS:
        ap.add_argument(*([f"-{short}"] if short else []), f"--{name}", action="store_true", help=text)
    ap.add_argument("plant", metavar="PLANT.toml", help="the plant file (README: \"A plant in one process\")")
    return ap


def configure(args: argparse.Namespace) -> Config:
    """The :class:`Config` parsed options describe: the plant file read (ValueError: one line)."""
    settings = opts.Settings()
    opts.parse_limits(args, settings)  # (per controller; and the process's cache bytes)
    if args.logic not in (None, "run", "program"):
        raise ValueError(f"--logic {args.logic!r} is not run or program")
    scan_period = opts.parse_scan_period(args.scan_period or "10")
    plant = read(args.plant)
    if args.shard:
        plant = shard(plant, *parse_shard(args.shard))
    if args.host:
        plant = rehost(plant, args.host)
        from cpppo.plant.reader import check

        check(plant)  # (now at one address: a shared address needs distinct slots)
    web = opts.parse_address(args.web, default_port=80, default_host="127.0.0.1") if args.web else None
    return Config(plant, web=web, udp=not args.no_udp, address_output=args.address_output, verbose=args.verbose,
                  log_file=args.log, limits=settings.limits, cache_bytes=settings.cache_bytes, logic=args.logic,
                  scan_period=scan_period)


def serve(config: Config, reactor: Any = None, out: Any = None) -> Any:
    """Start *config*'s plant (and web server) in *reactor*; returns the PlantServer.  Raises (one line in
    ``str()``) if it cannot start: then nothing is left listening."""
    from cpppo.plant.fdlimit import raise_limit
    from cpppo.plant.serve import PlantServer

    if reactor is None:
        from twisted.internet import reactor
    began = time.monotonic()
    raise_limit(config.plant, config.udp)
    server = PlantServer(config.plant, reactor, limits=config.limits, udp=config.udp,
                         cache_bytes=config.cache_bytes, logic=config.logic, scan_period=config.scan_period).start()
    if config.web is not None:
        from cpppo.plant.web import start_plant_web

        try:
            server.web = start_plant_web(server, config.web, reactor)
        except Exception:
            server.stop()
            raise
    stream = out or sys.stdout
    if config.address_output:
        for served in server.served.values():
            device = served.device
            slot = f" slot {device.slot}" if isinstance(device, ControllerSpec) and device.slot is not None else ""
            host, port = served.bound
            print(f"{device.name} {device.kind} {host}:{port}{slot}", file=stream)
    if server.web is not None:
        host = server.web.getHost()
        print(f"Web API address = {(host.host, host.port)!r}", file=stream)
    print(f"plant {config.plant.file}: {len(config.plant.controllers)} controllers, {len(config.plant.modbus)} "
          f"Modbus devices, started in {time.monotonic() - began:.2f} s", file=stream, flush=True)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the plant until interrupted (or, with ``compose``, write a compose file); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compose"]:
        from cpppo.plant.compose import main as compose_main

        return compose_main(argv[1:])
    from cpppo.bin.startup import reason, setup_logging

    ap = parser()
    args = ap.parse_args(argv)
    setup_logging(args.verbose, args.log, rotating=True)
    try:
        config = configure(args)
    except ValueError as error:
        print(f"{ap.prog}: error: {error}", file=sys.stderr)
        return 2
    from twisted.internet import reactor

    try:
        serve(config, reactor)
    except Exception as error:  # an address that cannot be bound, too few file descriptors
        print(f"{ap.prog}: {reason(error)}", file=sys.stderr)
        return 1
    reactor.run()
    return 0
