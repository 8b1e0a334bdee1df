"""``twistd -n cpppo-enip [options] TAG...``: the EtherNet/IP simulator as a twistd application.

``Options`` is a :class:`twisted.python.usage.Options` with the simulator's
options (the same names and meanings as ``python -m cpppo.server.enip``), plus
Twisted's ``--listen ENDPOINT`` (repeatable): each is an endpoint description
(``tcp:44818:interface=127.0.0.1``, see ``twisted.internet.endpoints.serverFromString``),
served beside nothing else, where ``-a/--address HOST:PORT`` is the original's
single address.  Each TCP listener also answers UDP List Identity on its
interface and port.  Parsing has no side effects: it turns the command line
into :class:`~cpppo.enip.simulator.options.Settings`, and a bad value is the
usage and one ``twistd cpppo-enip: error: ...`` line, exit status 2, as the
other tools say it.  ``makeService`` sets up logging (``-v``, ``-l``: into
twistd's log unless ``-l FILE``), then reads the tag files (``--tags``,
``--l5x``, ``--csv``: what their loaders skip is seen in the log), and returns
the service, which binds its ports when twistd starts it; a port it cannot
bind is one line and exit status 1 (:class:`~cpppo.tap.guard.ExitOnFailure`).
"""

from __future__ import annotations

import argparse
from typing import Any

from twisted.application import service
from twisted.python import usage

from cpppo.enip.simulator import options as opts

from ..bin.startup import TwistedLogHandler, setup_logging
from . import guard
from .guard import ExitOnFailure

__all__ = ["Options", "makeService", "EnipServerService", "PROG"]

#: How the plugin names itself in its messages.
PROG = "twistd cpppo-enip"

_REPEATED = {"listen": "listen", "config": "config", "tags": "tag_files", "l5x": "l5x_files", "csv": "csv_files"}


class Options(guard.OneLineUsage):
    """The simulator's options; positional arguments are its tags."""

    prog = PROG
    synopsis = "[options] NAME[@CLASS/INSTANCE/ATTRIBUTE][=TYPE[LENGTH]] ..."
    longdesc = (f"{PROG}: a simulated EtherNet/IP CIP (ControlLogix) controller serving tags, eg. SCADA=INT[1000] "
                "speed@0x93/1/10=REAL; a NAME alone is one INT, as in the original (SCADA is SCADA=INT[1]).")

    optFlags = [
        ["address-output", "A", "print the address actually bound (use with --address 127.0.0.1:0)"],
        ["no-udp", "U", "do not answer UDP ListIdentity"],
        ["udp", "u", "answer UDP List Identity (the default)"],
        ["tcp", "t", "serve EtherNet/IP on TCP (the default)"],
        ["no-tcp", "T", "serve no TCP: answer only UDP List Identity, on the same address"],
        ["print", "p", "print a line for every tag write and, with -v, every read"],
        ["no-print", None, "(do not print a line for every tag read and write)"],
        ["simple", "S", "a simple (non-routing) device: refuse routed requests (as --route-path false)"],
        ["no-config", None, "do not load cpppo.cfg from the usual places"],
    ]
    optParameters = [
        ["address", "a", ":44818", "[<interface>][:<port>] to bind (default: all interfaces, port 44818)"],
        ["delay", "d", "0", "delay every reply by SECONDS or a random LOW-HIGH"],
        ["web", "w", None, "serve the web API on [<interface>][:<port>]; with no port, on port 80 as the original "
                           "did (which needs root): eg. --web 127.0.0.1:8080.  The address bound is printed at start"],
        ["log", "l", None, "log to FILE (rotating, 10 MB, 5 copies)"],
        ["route-path", None, None, "accept only this Unconnected Send route: 1/0, JSON, or false for none"],
        ["size", "s", None, "refuse an encapsulated request longer than BYTES (status 0x65, the connection closed)"],
        ["config-basename", "b", None, "read NAME.cfg instead of cpppo.cfg from the usual places"],
        ["defined-tags", "D", None, "accepted and not read, as by the original: use --tags FILE"],
        ["vendor", None, None, "Identity vendor id"],
        ["device-type", None, None, "Identity device type"],
        ["product-code", None, None, "Identity product code"],
        ["revision", None, None, "Identity revision MAJOR.MINOR"],
        ["serial", None, None, "Identity serial number"],
        ["product-name", None, None, "Identity product name"],
        ["logic", None, None, "the mode the --l5x program starts in: run or program (default: run, when it has "
                              "ladder routines)"],
        ["scan-period", None, "10", "the continuous task's minimum period in milliseconds (default 10)"],
        *([option, None, None, text] for option, text in opts.LIMIT_OPTIONS),
    ]

    def __init__(self) -> None:
        super().__init__()
        self["verbose"] = 0
        for key in _REPEATED:
            self[key] = []
        self["tags"] = []

    def opt_verbose(self) -> None:
        """more logging (repeatable)"""
        self["verbose"] += 1

    opt_v = opt_verbose

    def opt_listen(self, endpoint: str) -> None:
        """serve on a Twisted endpoint description, eg. tcp:44818:interface=127.0.0.1 (repeatable; each also
        answers UDP List Identity on its interface and port); instead of --address"""
        self["listen"].append(endpoint)

    def opt_config(self, path: str) -> None:
        """an INI config FILE (repeatable)"""
        self["config"].append(path)

    opt_c = opt_config

    def opt_tags(self, path: str) -> None:
        """user-defined types, tags with values and program tags, in TOML or JSON FILE (repeatable)"""
        self["tags"].append(path)

    def opt_l5x(self, path: str) -> None:
        """a Studio 5000 / RSLogix 5000 L5X export FILE: its types, tags and values (repeatable)"""
        self["l5x"].append(path)

    def opt_csv(self, path: str) -> None:
        """a Studio 5000 tag export CSV FILE; its types predefined or from --l5x (repeatable)"""
        self["csv"].append(path)

    def parseArgs(self, *tags: str) -> None:
        self["tag_args"] = list(tags)

    def postOptions(self) -> None:
        """The settings the command line describes (no tag file read yet)."""
        try:
            self["settings"] = opts.settings_from(self.namespace())
        except ValueError as error:
            raise usage.UsageError(str(error)) from None

    def namespace(self) -> argparse.Namespace:
        """These options as the simulator's own parser would have parsed them."""
        def number(name: str, base: int = 10) -> int | None:
            text = self[name]
            if text is None:
                return None
            try:
                return int(text, base)
            except ValueError:
                raise usage.UsageError(f"--{name} {text!r} is not a number") from None
        return argparse.Namespace(
            verbose=self["verbose"], address=self["address"], listen=self["listen"],
            address_output=bool(self["address-output"]), udp=not self["no-udp"], delay=self["delay"],
            web=self["web"], log=self["log"], print_io=bool(self["print"]) and not self["no-print"],
            route_path=self["route-path"], simple=bool(self["simple"]), config=self["config"],
            tag_files=self["tags"], l5x_files=self["l5x"], csv_files=self["csv"], no_config=bool(self["no-config"]),
            vendor=number("vendor"), device_type=number("device-type"), product_code=number("product-code"),
            revision=self["revision"], serial=number("serial", 0), product_name=self["product-name"],
            tags=self.get("tag_args", []), tcp=not self["no-tcp"], size=self["size"],
            config_basename=self["config-basename"], defined_tags=self["defined-tags"], profile=None,
            logic=self._logic(), scan_period=self["scan-period"],
            **{option.replace("-", "_"): self[option] for option, _ in opts.LIMIT_OPTIONS})

    def _logic(self) -> str | None:
        mode = self["logic"]
        if mode is not None and mode not in ("run", "program"):
            raise usage.UsageError(f"--logic {mode!r}: run or program")
        return mode


def usage_error(message: str) -> None:
    """``usage: twistd cpppo-enip ...`` and ``twistd cpppo-enip: error: MESSAGE`` on stderr; exit 2."""
    guard.usage_error(PROG, Options.synopsis, message)


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
    """Logging, then the tag files, then the simulator's service under a guard (a failure to start: one
    line, exit 1)."""
    settings: opts.Settings = options["settings"]
    setup_logging(settings.verbose, settings.log_file, rotating=True, handler=TwistedLogHandler())
    try:
        opts.load(settings)  # after logging is set up: what the loaders skip is seen
    except ValueError as error:
        usage_error(str(error))
    return ExitOnFailure(PROG, EnipServerService(settings))
