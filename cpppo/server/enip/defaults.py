"""``cpppo.server.enip.defaults``, the original cpppo's module path: its system-wide defaults
(``address``, ``route_path_default``, ``send_path_default``, ``timeout``...) and its configuration
file search (``config_files``, ``config_open``).

The code lives in :mod:`cpppo.enip.defaults`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

from cpppo.enip.defaults import (
    ConfigNotFoundError,
    address,
    config_files,
    config_name,
    config_open,
    config_open_deduced,
    config_paths,
    deduce_name,
    forward_open_default,
    latency,
    priority_time_tick,
    route_path_default,
    send_path_default,
    timeout,
    timeout_ticks,
)

__all__ = ["latency", "timeout", "address", "route_path_default", "send_path_default", "priority_time_tick",
           "timeout_ticks", "config_name", "config_paths", "config_files", "config_open", "config_open_deduced",
           "deduce_name", "ConfigNotFoundError", "forward_open_default"]
