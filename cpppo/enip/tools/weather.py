"""Serve a city's current temperature as a tag: reads fetch it over HTTP, without blocking the reactor.

    python -m cpppo.server.enip.weather --weather-key KEY [server options] London=REAL Paris=INT
    python -m cpppo.server.enip.weather --weather-url URL [server options] London=REAL

Why: the original cpppo's example of an Attribute backed by a slow, live
source.  The original fetched with a blocking ``urlopen`` in the request's
thread; here ``__getitem__`` returns a Deferred (``twisted.web.client.Agent``
and ``readBody``), and the simulator sends the reply when it fires, serving
every other client meanwhile.

The tag's name is the city (``_`` for a space: ``New_York``).  The URL is
``--weather-url``, in which ``{city}`` is replaced by the URL-quoted city;
without ``{city}``, ``q=<city>`` is added to its query.  The answer must be
JSON with ``{"main": {"temp": <number>}}`` (OpenWeatherMap's current weather, the
default URL; its API wants your key, ``--weather-key KEY`` or the environment's
``OPENWEATHERMAP_API_KEY``, which is added to the query as ``appid=KEY``: without
one, the default URL is a usage error rather than a tag that never reads).  A REAL/LREAL tag gets
the temperature as is, an integer tag rounded; every element of a
multi-element tag reads the same.  A city the service does not know, an
unreachable service, a timeout or a bad answer is a failed read (CIP status
0x02, resource unavailable), logged as a warning; writes are refused (0x0E,
attribute not settable): the weather is not so easily changed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from twisted.internet import defer
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from cpppo.enip.simulator.controller.device import Attribute, CIPError
from cpppo.enip.simulator.run import main as enip_main

__all__ = ["DEFAULT_URL", "KEY_VARIABLE", "weather_url", "fetch_temperature", "attribute_weather", "main"]

log = logging.getLogger(__name__)

#: OpenWeatherMap's current weather in metric units (it needs an API key: ``--weather-key``).
DEFAULT_URL = "http://api.openweathermap.org/data/2.5/weather?units=metric&mode=json&q={city}"
#: Where the API key comes from when ``--weather-key`` is not given.
KEY_VARIABLE = "OPENWEATHERMAP_API_KEY"
TIMEOUT = 10.0
RESOURCE_UNAVAILABLE, NOT_SETTABLE = 0x02, 0x0E


def weather_url(template: str, city: str, key: str | None = None) -> str:
    """*template* with ``{city}`` replaced by the quoted *city* (or ``q=<city>`` added to its query),
    and ``appid=<key>`` added when there is a *key*."""
    quoted = quote(city, safe="")
    url = template.replace("{city}", quoted) if "{city}" in template else _with_query(template, "q", quoted)
    return _with_query(url, "appid", quote(key, safe="")) if key else url


def _with_query(url: str, name: str, quoted: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    pair = f"{name}={quoted}"
    return urlunsplit((scheme, netloc, path, f"{query}&{pair}" if query else pair, fragment))


def fetch_temperature(agent: Any, url: str, reactor: Any, timeout: float = TIMEOUT) -> defer.Deferred:
    """A Deferred of the ``main.temp`` of the JSON at *url* (fails on HTTP errors and bad answers)."""
    d = agent.request(b"GET", url.encode("ascii"), Headers({b"Accept": [b"application/json"]}))

    def body(response: Any) -> Any:
        code = response.code
        got = readBody(response)
        if code != 200:
            return got.addCallback(lambda data: _refuse(code, data))
        return got
    d.addCallback(body)
    d.addCallback(lambda data: float(json.loads(data)["main"]["temp"]))
    d.addTimeout(timeout, reactor)
    return d


def _refuse(code: int, data: bytes) -> None:
    try:
        message = json.loads(data).get("message", "")
    except (ValueError, AttributeError):
        message = data[:80].decode("utf-8", "replace")
    raise ValueError(f"HTTP {code} {message}".rstrip())


def attribute_weather(url: str = DEFAULT_URL, reactor: Any = None, timeout: float = TIMEOUT,
                      key: str | None = None) -> type[Attribute]:
    """An Attribute class whose reads answer the temperature of the city named like the tag, from *url*."""
    if reactor is None:
        from twisted.internet import reactor
    agent = Agent(reactor, connectTimeout=timeout)

    class Attribute_weather(Attribute):
        """A tag that reads the current temperature of its city; writes are refused."""

        weather_url = url
        weather_key = key

        @property
        def city(self) -> str:
            return self.name.replace("_", " ")

        def __getitem__(self, key: int | slice) -> Any:
            shape = self._validate_key(key)
            count = len(range(*key.indices(len(self)))) if isinstance(key, slice) else 1   # (shape is slice)
            integer = self.cip.name not in ("REAL", "LREAL")
            where = weather_url(self.weather_url, self.city, self.weather_key)

            def value(temperature: float) -> Any:
                number = round(temperature) if integer else temperature
                return [number] * count if shape is slice else number

            def failed(failure: Any) -> None:
                log.warning("No temperature for %s from %s: %s", self.city, where, failure.getErrorMessage())
                raise CIPError(RESOURCE_UNAVAILABLE, message=f"no temperature for {self.city}")
            return fetch_temperature(agent, where, reactor, timeout).addCallbacks(value, failed)

        def __setitem__(self, key: int | slice, value: Any) -> None:
            raise CIPError(NOT_SETTABLE, message="Changing the weather isn't that easy...")

    return Attribute_weather


PROG = "python -m cpppo.server.enip.weather"


def main(argv: Sequence[str] | None = None) -> int:
    """``weather --weather-key KEY [server options] CITY=REAL ...``: serve city temperatures as tags."""
    args = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog=PROG, add_help=False, allow_abbrev=False, usage=(
        f"{PROG} --weather-key KEY [--weather-url URL] [--weather-timeout SECONDS] [server options] CITY=REAL ..."))
    ap.add_argument("--weather-url", default=DEFAULT_URL)
    ap.add_argument("--weather-key", default=os.environ.get(KEY_VARIABLE) or None)
    ap.add_argument("--weather-timeout", type=float, default=TIMEOUT)
    ours, rest = ap.parse_known_args(args)
    helping = any(a in ("-h", "--help") for a in rest)
    if helping:
        print(f"weather options: --weather-key KEY (OpenWeatherMap's API key; default ${KEY_VARIABLE}), "
              f"--weather-url URL (with {{city}}, or q=<city> is added; default {DEFAULT_URL}), "
              f"--weather-timeout SECONDS (default {TIMEOUT:g})\n")
    elif ours.weather_url == DEFAULT_URL and not ours.weather_key:
        ap.print_usage(sys.stderr)
        print(f"{PROG}: error: OpenWeatherMap needs an API key: --weather-key KEY (or ${KEY_VARIABLE}); "
              "--weather-url URL for another service", file=sys.stderr)
        return 2
    attribute_class = attribute_weather(ours.weather_url, timeout=ours.weather_timeout, key=ours.weather_key)
    return enip_main(rest, attribute_class=attribute_class, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
