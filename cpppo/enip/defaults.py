"""The original cpppo's system-wide EtherNet/IP defaults, and where its configuration files are looked for.

Why: scripts written for cpppo 5.2.5 read ``cpppo.server.enip.defaults`` (``route_path_default``,
``send_path_default``, ``timeout``...) to build their own requests, and extend ``config_files``
(``enip.config_files += ["my.cfg"]``) so that the simulator reads their settings.  The values are
the original's.  ``config_files`` is a module-level list on purpose: it is one of the original's
names that scripts change in place (see :mod:`cpppo.enip.simulator.main_controller`, which the
simulator's ``main()`` reads it through).
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Callable, Iterator
from typing import IO, Any

from cpppo.dotdict import dotdict

__all__ = ["latency", "timeout", "address", "route_path_default", "send_path_default", "priority_time_tick",
           "timeout_ticks", "config_name", "config_paths", "config_files", "config_open", "config_open_deduced",
           "deduce_name", "ConfigNotFoundError", "forward_open_default"]

#: Seconds between checks of a network poll (several round trips fit in it).
latency = 0.1
#: Seconds to wait for all I/O and thread activity to complete.
timeout = 20.0
#: The simulator's bind address and the clients' default: all interfaces, port 44818.
address = ("", 44818)
#: A controller's default route: the backplane (port 1), slot 0.
route_path_default = "1/0"
#: The Connection Manager, which an Unconnected Send goes to.
send_path_default = "@6/1"
#: 2**5 = 32 ms per tick (CIP Vol 1, 3-5.5.1.4, connection timing).
priority_time_tick = 5
#: 157 ticks of 32 ms: 5.024 s.
timeout_ticks = 157
#: The name of cpppo's configuration file.
config_name = "cpppo.cfg"

#: Python 3's FileNotFoundError, under the original's name.
ConfigNotFoundError = FileNotFoundError


def config_paths(filename: str, extra: list[str] | None = None) -> Iterator[str]:
    """Where *filename* is looked for, most general first (the order configparser wants: later
    files override earlier ones): the installation, the system (``$APPDATA`` or /etc), the user's
    ``~/.cpppo/`` and ``~/.<name>``, any *extra* folders, and the current folder."""
    yield os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), filename)
    yield os.path.join(os.getenv("APPDATA", os.sep + "etc"), filename)
    yield os.path.join(os.path.expanduser("~"), ".cpppo", filename)
    yield os.path.join(os.path.expanduser("~"), "." + filename)
    for folder in extra or []:
        yield os.path.join(folder, filename)
    yield filename


#: The configuration files the simulator reads, most general first; scripts append their own.
config_files: list[str] = list(config_paths(config_name))


def config_open(name: str, mode: str | None = None, extra: list[str] | None = None,
                skip: str | Callable[[str], bool] | None = None, reverse: bool = True,
                **kwds: Any) -> Iterator[IO[Any]]:
    """Open every file matching the glob *name* on the configuration paths (nearest first unless
    not *reverse*; matches in sorted order), skipping those matching *skip* (a glob or predicate)
    and those that cannot be opened."""
    if isinstance(skip, str):
        pattern = skip

        def wanted(n: str) -> bool:
            return not fnmatch.fnmatch(n, pattern)
    elif callable(skip):
        predicate = skip

        def wanted(n: str) -> bool:
            return not predicate(n)
    elif skip is None:
        def wanted(n: str) -> bool:
            return True
    else:
        raise AssertionError(f"Invalid skip={skip!r} provided")
    search = list(config_paths(name, extra=extra))
    for path in reversed(search) if reverse else search:
        for found in sorted(n for n in glob.glob(path) if wanted(n)):
            try:
                yield open(found, mode=mode or "r", **kwds)  # noqa: SIM115 -- the caller owns each file
            except OSError:
                continue


def deduce_name(basename: str | None = None, extension: str | None = None, filename: str | None = None,
                package: str | None = None) -> str:
    """A configuration file's name: *basename*, else *filename*'s name without its extension, else
    *package*'s first part; *extension* added if the name has none."""
    assert basename or filename or package, \
        "Cannot deduce basename without either filename (__file__) or package (__package__)"
    if basename is None:
        if filename:
            basename = os.path.basename(filename)
            if "." in basename:
                basename = basename[:basename.rfind(".")]
        else:
            assert package is not None
            basename = package.split(".", 1)[0]
    name = basename
    if extension and "." not in name:
        name += extension if extension.startswith(".") else "." + extension
    return name


def config_open_deduced(basename: str | None = None, mode: str | None = None, extension: str | None = None,
                        filename: str | None = None, package: str | None = None, **kwds: Any) -> Iterator[IO[Any]]:
    """:func:`config_open` of the name :func:`deduce_name` gives."""
    name = deduce_name(basename=basename, extension=extension, filename=filename, package=package)
    yield from config_open(name=name, mode=mode or "r", **kwds)


#: The Forward Open a connected client sends unless told otherwise (the original's defaults).
forward_open_default = dotdict({
    "path": "@6/1",
    "connection_path": "1/0/@2/1",
    "transport_class_triggers": 0xA3,
    "priority_time_tick": priority_time_tick,
    "timeout_ticks": timeout_ticks,
    "connection_timeout_multiplier": 0,
    "O_serial": 0x00000001,
    "O_vendor": 0x1234,
    "T_O": {"RPI": 0x001E8480, "size": 510, "type": 2, "priority": 0, "variable": 1, "redundant": 0},
    "O_T": {"RPI": 0x001E8480, "size": 510, "type": 2, "priority": 0, "variable": 1, "redundant": 0},
})
