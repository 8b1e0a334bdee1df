"""The simulator's command line, shared by ``python -m cpppo.server.enip``, ``enip_server`` and twistd.

One :func:`parser` defines every option.  Two steps turn parsed options into
:class:`Settings`: :func:`settings_from` reads only the command line (and the
INI files below), and :func:`load` reads the tag files it names (``--tags``
TOML/JSON, ``--l5x``, ``--csv``) and checks the tags against their types; the
run step does the second, so parsing never reads the user's exports.  Either
step raises ValueError; :func:`configure` does both and exits with a usage
message (status 2) instead: the server never starts half-configured.  The
original cpppo's INI files (``-c FILE``; ``cpppo.cfg`` in the usual places
unless ``--no-config``; :func:`config_files` says where) supply the Identity, TCP/IP and
UCMM settings, and the command line overrides them.
"""

from __future__ import annotations

import argparse
import configparser
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cpppo.enip.codec.epath import Port
from cpppo.enip.simulator.controller import addressed
from cpppo.enip.simulator.controller import type_classes as atomic
from cpppo.enip.simulator.controller.structures import PREDEFINED as STRUCTURES
from cpppo.enip.simulator.transport import Limits

__all__ = ["parser", "configure", "settings_from", "load", "Settings", "TagSpec", "parse_tag", "parse_address",
           "parse_route_path", "parse_delay", "parse_limits", "CONFIG_FILES", "config_files"]

log = logging.getLogger(__name__)

#: Where this simulator looked for ``cpppo.cfg`` before it read the original's places
#: (:func:`config_files`); kept for scripts that named it.
CONFIG_FILES = ("/etc/cpppo.cfg", os.path.expanduser("~/.cpppo.cfg"), "cpppo.cfg")


def config_files(basename: str | None = None) -> list[str]:
    """The configuration files to read, lowest priority first: the original's places for
    ``cpppo.cfg`` (``cpppo.server.enip.config_files``, a list scripts extend with their own), or
    the same places for ``BASENAME.cfg`` (the original's ``-b``) and the files scripts added."""
    from cpppo.enip import defaults

    if not basename:
        return list(defaults.config_files)
    name = basename if basename.endswith(".cfg") else f"{basename}.cfg"
    usual = list(defaults.config_paths(defaults.config_name))
    added = [path for path in defaults.config_files if path not in usual]
    return [*defaults.config_paths(name), *added]

_TAG = re.compile(r"^(?P<name>[A-Za-z_][\w:.]*)(?:@(?P<address>[^=\s]*))?"
                  r"(?:=(?P<type>[A-Za-z]+)(?:\[(?P<dims>\d+(?:,\d+){0,2})\])?)?$")


@dataclass(frozen=True)
class TagSpec:
    """A tag from the command line: ``[...]`` are its array dimensions (up to 3).

    ``length`` is its element count (the product of the dimensions).  A BOOL array is
    stored as Logix stores it, 32 bits to a DWORD: ``Bits=BOOL[64]`` is type DWORD,
    length 2, ``bits`` 64.
    """

    name: str
    type: str = "INT"
    length: int = 1
    dims: tuple[int, ...] = ()
    bits: int = 0
    #: ``NAME@CLASS/INSTANCE/ATTRIBUTE``: also that attribute of a CIP object (None: a tag only).
    address: tuple[int, int, int] | None = None


@dataclass
class Settings:
    """What the simulator was asked to be."""

    tags: list[TagSpec] = field(default_factory=list)
    address: tuple[str, int] = ("", 44818)
    address_output: bool = False
    udp: bool = True
    delay: float | tuple[float, float] = 0.0
    route_path: Any = None
    identity: dict[str, Any] = field(default_factory=dict)
    host_name: str = "controller"
    web: tuple[str, int] | None = None
    log_file: str | None = None
    print_io: bool = False
    verbose: int = 0
    tag_file: Any = None  # a tagfile.TagFile from --tags FILE... (once loaded)
    exported: Any = None  # an l5x.L5XFile from --l5x FILE... and --csv FILE... (once loaded)
    #: Endpoint descriptions to serve on (``--listen``); none: ``address``.
    listen: list[str] = field(default_factory=list)
    #: The files named, and the TAG arguments as given, until :func:`load` reads and checks them.
    tag_files: list[str] = field(default_factory=list)
    l5x_files: list[str] = field(default_factory=list)
    csv_files: list[str] = field(default_factory=list)
    tag_args: list[str] = field(default_factory=list)
    loaded: bool = False
    #: What peers may make each controller hold (README, "Limits"), and the process's cache bytes.
    limits: Limits = field(default_factory=Limits)
    cache_bytes: int = 16 << 20
    #: The original's -t/-T (serve TCP; without it, only UDP List Identity), -s (the largest
    #: encapsulated request accepted, bytes; None: any) and -P (write a cProfile of the run to FILE).
    tcp: bool = True
    size: int | None = None
    profile: str | None = None
    #: The original ``main()``'s object classes (``identity_class``, ``message_router_class``,
    #: ``connection_manager_class``): the Controller's keywords of those names.
    object_classes: dict[str, Any] = field(default_factory=dict)
    #: ``--logic run|program``: the mode the L5X's program starts in (None: Run, when it has routines),
    #: and ``--scan-period``: the continuous task's minimum period, seconds (cpppo.logic).
    logic: str | None = None
    scan_period: float = 0.010


def parse_tag(text: str, types: Any = ()) -> TagSpec:
    """``NAME``, ``NAME=TYPE`` or ``NAME=TYPE[LENGTH]`` (type names in any case).

    A bare ``NAME`` is one INT, the original's documented default (``--help`` says so).

    ``NAME@CLASS/INSTANCE/ATTRIBUTE=TYPE...`` (eg. ``speed@0x93/1/10=REAL``) also serves the tag
    as that attribute of a CIP object (:mod:`.addressed`); its type must be elementary.
    """
    match = _TAG.match(text.strip())
    if not match:
        raise ValueError(f"tag {text!r} is not NAME[@CLASS/INSTANCE/ATTRIBUTE]=TYPE[LENGTH]")
    address = None
    if match.group("address") is not None:
        try:
            address = addressed.parse_cip_address(match.group("address"))
        except ValueError as error:
            raise ValueError(f"tag {text!r}: {error}") from None
    kind = (match.group("type") or "INT").upper()
    user = {name.upper(): name for name in types}  # types defined in --tags files
    if kind in user:
        kind = user[kind]
    elif kind not in atomic.TYPE_CLASSES and kind not in STRUCTURES:
        raise ValueError(f"tag {text!r}: unknown type {kind!r} (one of BOOL, SINT, INT, DINT, LINT, USINT, UINT, "
                         f"UDINT, ULINT, REAL, LREAL, DWORD, SSTRING, STRING, TIMER, COUNTER, CONTROL)")
    if address is not None and (kind in STRUCTURES or kind in user.values()):
        raise ValueError(f"tag {text!r}: a tag at a CIP address is of an elementary type, not {kind}")
    dims = tuple(int(d) for d in match.group("dims").split(",")) if match.group("dims") else ()
    length = 1
    for dim in dims:
        length *= dim
    if not 1 <= length <= 1 << 20 or 0 in dims:
        raise ValueError(f"tag {text!r}: {length} elements (1 to {1 << 20})")
    if kind == "BOOL" and dims:
        if len(dims) != 1:
            raise ValueError(f"tag {text!r}: a BOOL array has one dimension")
        words = (length + 31) // 32
        return TagSpec(match.group("name"), "DWORD", words, (words,), bits=length, address=address)
    return TagSpec(match.group("name"), kind, length, dims, address=address)


def parse_address(text: str, default_port: int = 44818, default_host: str = "") -> tuple[str, int]:
    """``[<interface>][:<port>]``: a missing interface means all; a missing port the default."""
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", "")
    host = host.strip("[]")
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"address {text!r}: port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"address {text!r}: port {number} out of range")
    return (host if host else default_host), number


def parse_route_path(text: str | None) -> Any:
    """``1/0`` (port/link), JSON (``[{"port": 1, "link": 0}]``), or ``false``/``0`` for none."""
    if text is None:
        return None
    value = text.strip()
    if value.lower() in ("false", "0", "[]", "none", "null"):
        return False
    if re.fullmatch(r"\d+/(\d+|[\d.]+)", value):
        port, link = value.split("/")
        return (Port(int(port), int(link) if link.isdigit() else link),)
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError(f"route path {text!r} is neither PORT/LINK nor JSON") from None
    if data in (False, 0, None, []):
        return False
    if isinstance(data, dict):
        data = [data]
    try:
        return tuple(Port(int(seg["port"]), seg["link"]) for seg in data)
    except (TypeError, KeyError, ValueError):
        raise ValueError(f"route path {text!r}: a list of {{\"port\": N, \"link\": M}}") from None


def parse_delay(text: str) -> float | tuple[float, float]:
    """Seconds, or ``low-high`` for a random delay in that range."""
    try:
        if "-" in text.strip()[1:]:
            low, high = text.split("-", 1)
            lo, hi = float(low), float(high)
            if not 0 <= lo <= hi:
                raise ValueError
            return lo, hi
        value = float(text)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise ValueError(f"delay {text!r} is not seconds or LOW-HIGH") from None


def parse_scan_period(text: str) -> float:
    """``--scan-period MS``: milliseconds (0 to 10000) as seconds."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--scan-period {text!r} is not milliseconds") from None
    if not 0 <= value <= 10000:
        raise ValueError(f"--scan-period {text!r}: 0 to 10000 milliseconds")
    return value / 1000.0


def parser(prog: str = "enip_server") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="A simulated EtherNet/IP CIP (ControlLogix) controller.")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more logging (repeatable)")
    ap.add_argument("-a", "--address", default=":44818",
                    help="[<interface>][:<port>] to bind (default: all interfaces, port 44818)")
    ap.add_argument("--listen", action="append", default=[], metavar="ENDPOINT",
                    help="serve on a Twisted endpoint description, eg. tcp:44818:interface=127.0.0.1 (repeatable; "
                         "each also answers UDP List Identity on its interface and port); instead of --address")
    ap.add_argument("-A", "--address-output", action="store_true",
                    help="print the address actually bound (use with --address 127.0.0.1:0)")
    ap.add_argument("-u", "--udp", dest="udp", action="store_true", default=True,
                    help="answer UDP List Identity (the default)")
    ap.add_argument("-U", "--no-udp", dest="udp", action="store_false", help="do not answer UDP ListIdentity")
    ap.add_argument("-t", "--tcp", dest="tcp", action="store_true", default=True,
                    help="serve EtherNet/IP on TCP (the default)")
    ap.add_argument("-T", "--no-tcp", dest="tcp", action="store_false",
                    help="serve no TCP: answer only UDP List Identity, on the same address")
    ap.add_argument("-s", "--size", default=None, metavar="BYTES",
                    help="refuse an encapsulated request longer than BYTES with encapsulation status 0x65 (invalid "
                         "length) and close the connection, as the original does (default: no limit but 65511)")
    ap.add_argument("-P", "--profile", default=None, metavar="FILE",
                    help="profile the server (cProfile) and write the statistics to FILE when it stops "
                         "(read them with python -m pstats FILE)")
    ap.add_argument("-D", "--defined-tags", default=None, metavar="FILE",
                    help="accepted and not read, as by the original (whose UDT file it never read): "
                         "give types and tags with --tags FILE, --l5x FILE or --csv FILE")
    ap.add_argument("-d", "--delay", default="0", help="delay every reply by SECONDS or a random LOW-HIGH")
    ap.add_argument("-w", "--web", default=None, metavar="ADDRESS",
                    help="serve the web API on [<interface>][:<port>]; with no port, on port 80 as the original "
                         "did (which needs root): eg. --web 127.0.0.1:8080.  The address bound is printed at start")
    ap.add_argument("-l", "--log", default=None, help="log to FILE (rotating, 10 MB, 5 copies)")
    ap.add_argument("-p", "--print", dest="print_io", action="store_true",
                    help="print a line for every tag write and, with -v, every read")
    ap.add_argument("--no-print", dest="print_io", action="store_false",
                    help="print nothing for tag reads and writes (the default)")
    ap.add_argument("--route-path", default=None,
                    help='accept only this Unconnected Send route: 1/0, JSON, or false for none')
    ap.add_argument("-S", "--simple", action="store_true",
                    help="a simple (non-routing) device: refuse routed requests (as --route-path false)")
    ap.add_argument("-c", "--config", action="append", default=[], help="an INI config FILE (repeatable)")
    ap.add_argument("-b", "--config-basename", default=None, metavar="NAME",
                    help="read NAME.cfg instead of cpppo.cfg from the usual places (/etc, ~, the current folder)")
    ap.add_argument("--tags", dest="tag_files", action="append", default=[], metavar="FILE",
                    help="user-defined types, tags with values and program tags, in TOML or JSON (repeatable)")
    ap.add_argument("--l5x", dest="l5x_files", action="append", default=[], metavar="FILE",
                    help="a Studio 5000 / RSLogix 5000 L5X export: its types, tags and values (repeatable)")
    ap.add_argument("--csv", dest="csv_files", action="append", default=[], metavar="FILE",
                    help="a Studio 5000 tag export CSV; its types predefined or from --l5x (repeatable)")
    ap.add_argument("--logic", choices=("run", "program"), default=None,
                    help="the mode the --l5x program (its ladder routines) starts in (default: run, when it has any)")
    ap.add_argument("--scan-period", default="10", metavar="MS",
                    help="the continuous task's minimum period in milliseconds: it yields to the network "
                         "between scans (default 10)")
    ap.add_argument("--no-config", action="store_true", help="do not load cpppo.cfg from the usual places")
    ap.add_argument("--vendor", type=int, help="Identity vendor id")
    ap.add_argument("--device-type", type=int, help="Identity device type")
    ap.add_argument("--product-code", type=int, help="Identity product code")
    ap.add_argument("--revision", help="Identity revision MAJOR.MINOR")
    ap.add_argument("--serial", type=lambda s: int(s, 0), help="Identity serial number")
    ap.add_argument("--product-name", help="Identity product name")
    limits = ap.add_argument_group("limits", "what peers may make each controller hold (README, Limits)")
    for option, help_text in LIMIT_OPTIONS:
        limits.add_argument(f"--{option}", default=None, metavar="N", help=help_text)
    ap.add_argument("tags", nargs="*", metavar="TAG",
                    help="NAME[@CLASS/INSTANCE/ATTRIBUTE][=TYPE[LENGTH]], eg. SCADA=INT[1000] speed@0x93/1/10=REAL; "
                         "a NAME alone is one INT, as in the original (SCADA is SCADA=INT[1])")
    return ap


_IDENTITY_KEYS = {"vendor number": "vendor", "device type": "device_type", "product code number": "product_code",
                  "status word": "status", "serial number": "serial", "product name": "product_name",
                  "state": "state", "product revision": "revision"}


def _read_config(paths: Sequence[str], settings: Settings) -> list[str]:
    """Apply the original's INI sections ([Identity], [TCPIP], [UCMM]); returns the files read."""
    config = configparser.ConfigParser(inline_comment_prefixes=("#",), interpolation=None)
    read = config.read(paths)
    if config.has_section("Identity"):
        for key, value in config.items("Identity"):
            name = _IDENTITY_KEYS.get(key.lower())
            if name is None:
                log.info("config [Identity] %s: not used", key)
            elif name == "product_name":
                settings.identity[name] = value.strip()
            elif name == "revision":
                number = int(value, 0)
                settings.identity[name] = (number & 0xFF, number >> 8 & 0xFF)
            else:
                settings.identity[name] = int(value, 0)
    if config.has_section("TCPIP") and config.has_option("TCPIP", "Host Name"):
        settings.host_name = config.get("TCPIP", "Host Name").strip()
    if config.has_section("UCMM") and config.has_option("UCMM", "Route Path"):
        settings.route_path = parse_route_path(config.get("UCMM", "Route Path"))
    return read


#: The limit options (each also ``twistd cpppo-enip``'s): name, help.  See :class:`~.transport.Limits`.
LIMIT_OPTIONS = (
    ("max-connections", "TCP connections per controller; more are closed as they connect (default 256)"),
    ("max-sessions", "registered sessions per controller; more: RegisterSession status 0x0002 (default 256)"),
    ("max-forward-opens", "class 3 connections per controller; more: Forward Open status 0x01/0x0113, "
                          "out of connections (default 256)"),
    ("idle-timeout", "close a TCP connection that sends nothing for SECONDS; 0: never (default 120, the "
                     "encapsulation inactivity timeout)"),
    ("reply-buffer", "bytes of replies queued per connection before it stops reading (default 262144)"),
    ("cache-bytes", "bytes all caches peers fill may hold in the process (default 16777216, 16 MiB)"),
)


def parse_limits(args: argparse.Namespace, settings: Settings) -> None:
    """The limit options into *settings* (ValueError for a value that is not a positive number); the plant's
    command line (:mod:`cpppo.plant.cli`) takes the same options."""
    fields = {"max_connections": "connections", "max_sessions": "sessions", "max_forward_opens": "forward_opens",
              "idle_timeout": "idle", "reply_buffer": "reply_bytes", "cache_bytes": None}
    for option, name in fields.items():
        text = getattr(args, option, None)
        if text is None:
            continue
        try:
            value = float(text) if option == "idle_timeout" else int(text, 0)
        except ValueError:
            raise ValueError(f"--{option.replace('_', '-')} {text!r} is not a number") from None
        if value < 0 or (value == 0 and option != "idle_timeout") or value != value:
            raise ValueError(f"--{option.replace('_', '-')} {text!r}: a positive number")
        if name is None:
            settings.cache_bytes = int(value)
        else:
            setattr(settings.limits, name, value)


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from parsed options, without reading any tag file (ValueError for a bad value).

    Where no file is named, the tags are parsed and checked here (their types are all
    built in), so the settings are complete; otherwise :func:`load` completes them.
    """
    settings = Settings(verbose=args.verbose, udp=args.udp, log_file=args.log, print_io=args.print_io,
                        address_output=args.address_output, listen=list(getattr(args, "listen", None) or []),
                        tag_files=list(args.tag_files), l5x_files=list(args.l5x_files),
                        csv_files=list(args.csv_files), tag_args=list(args.tags))
    usual = config_files(getattr(args, "config_basename", None))
    configs = ([] if args.no_config else [p for p in usual if os.path.exists(p)]) + args.config
    missing = [p for p in args.config if not os.path.exists(p)]
    if missing:
        raise ValueError(f"config file(s) not found: {', '.join(missing)}")
    try:
        _read_config(configs, settings)
    except configparser.Error as error:
        raise ValueError(str(error)) from None
    settings.address = parse_address(args.address)
    settings.tcp = getattr(args, "tcp", True)
    if getattr(args, "defined_tags", None):
        log.warning("-D/--defined-tags %s: not read (as by the original); use --tags FILE", args.defined_tags)
    settings.profile = getattr(args, "profile", None)
    if getattr(args, "size", None) is not None:
        try:
            settings.size = int(args.size, 0)
        except ValueError:
            raise ValueError(f"--size {args.size!r} is not a number of bytes") from None
        if settings.size < 0:
            raise ValueError(f"--size {args.size!r}: a number of bytes, 0 or more")
    parse_limits(args, settings)
    settings.delay = parse_delay(args.delay)
    settings.logic = getattr(args, "logic", None)
    settings.scan_period = parse_scan_period(getattr(args, "scan_period", None) or "10")
    if args.route_path is not None:
        settings.route_path = parse_route_path(args.route_path)
    if args.simple:
        settings.route_path = False
    if args.web is not None:
        settings.web = parse_address(args.web, default_port=80, default_host=settings.address[0])
    for option, key in (("vendor", "vendor"), ("device_type", "device_type"),
                        ("product_code", "product_code"), ("serial", "serial"),
                        ("product_name", "product_name")):
        if getattr(args, option) is not None:
            settings.identity[key] = getattr(args, option)
    if args.revision:
        major, _, minor = args.revision.partition(".")
        settings.identity["revision"] = (int(major), int(minor or 0))
    if not (settings.tag_files or settings.l5x_files or settings.csv_files):
        load(settings)  # nothing to read: check the tags now
    return settings


def load(settings: Settings) -> Settings:
    """Read the tag files *settings* name and parse its tags against their types (ValueError if bad)."""
    if settings.loaded:
        return settings
    if settings.tag_files:
        from cpppo.enip.simulator.loaders.tagfile import load as load_tag_files

        settings.tag_file = load_tag_files(settings.tag_files)
    if settings.l5x_files or settings.csv_files:
        from cpppo.enip.simulator.controller.structures import FIRST_USER_TEMPLATE
        from cpppo.enip.simulator.loaders.csvtags import load_csv
        from cpppo.enip.simulator.loaders.l5x import L5XFile, load_l5x, merge

        first = FIRST_USER_TEMPLATE + (len(settings.tag_file.types) if settings.tag_file else 0)
        settings.exported = load_l5x(settings.l5x_files, first) if settings.l5x_files else L5XFile()
        if settings.csv_files:
            merge(settings.exported, load_csv(settings.csv_files, settings.exported.types))
        if settings.exported.processor:  # the command line, then a config file, then the export
            settings.identity.setdefault("product_name", settings.exported.processor)
    if not settings.tag_args and not any(f and f.tags for f in (settings.tag_file, settings.exported)):
        raise ValueError("at least one TAG is needed, eg. SCADA=INT[1000] (or a --tags, --l5x or --csv FILE)")
    known = [*(settings.tag_file.types if settings.tag_file else ()),
             *(settings.exported.types if settings.exported else ())]  # types tags may name
    settings.tags = [parse_tag(t, known) for t in settings.tag_args]
    names = [t.name for t in settings.tags] + [t.name for t in (settings.tag_file.tags if settings.tag_file
                                                                 else [])]
    if settings.exported is not None:
        names += [t.name for t in settings.exported.tags] + list(settings.exported.aliases)
    if len(set(names)) != len(names):
        raise ValueError(f"a tag is named twice: {names}")
    places = [t.address for t in settings.tags if t.address is not None]
    if len(set(places)) != len(places):
        shown = [addressed.format_cip_address(*a) for a in places]
        raise ValueError(f"two tags at one CIP address: {shown}")
    settings.loaded = True
    return settings


def configure(args: argparse.Namespace, ap: argparse.ArgumentParser) -> Settings:
    """Settings from parsed options, their tag files read: a bad value is a usage error (exit 2)."""
    try:
        return load(settings_from(args))
    except ValueError as error:
        ap.error(str(error))
        raise  # (ap.error exits)
