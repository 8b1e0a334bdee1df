"""``cpppo.server.enip.weather``, the original cpppo's module path: the simulator whose tags read a
city's temperature.

The code lives in :mod:`cpppo.enip.tools.weather`; this module keeps the original's import path and
names, so scripts written for the original keep working.
"""

from __future__ import annotations

import sys

from cpppo.enip.tools.weather import (
    DEFAULT_URL,
    KEY_VARIABLE,
    attribute_weather,
    enip_main,
    fetch_temperature,
    main,
    weather_url,
)

__all__ = [
    "DEFAULT_URL",
    "KEY_VARIABLE",
    "weather_url",
    "fetch_temperature",
    "attribute_weather",
    "main",
    "enip_main",
]

if __name__ == "__main__":
    sys.exit(main())
