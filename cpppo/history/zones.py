"""Time zone plumbing for :mod:`cpppo.history`: which zone is local, which zones a region names,
and what a zone's abbreviations, offsets and transitions were around some instant.

Why a module of its own: the original cpppo read pytz's private transition tables and tzlocal's
internals, and broke when tzlocal 5 started handing out shim objects.  Everything here uses only
public behaviour (``datetime.fromtimestamp(seconds, tz)``, ``utcoffset``/``dst``/``tzname`` and
pytz's ``country_timezones``/``common_timezones``), so it keeps working as those libraries evolve.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import pytz

__all__ = [
    "pytz", "has_pytz_classic", "get_localzone", "TZ_wrapper", "zone_names",
    "timedelta_total_seconds", "parse_offset", "format_offset",
    "AmbiguousTimeZoneError", "UnknownTimeZoneError", "ZonePeriod", "zone_periods",
]

log = logging.getLogger(__package__)

#: The original exported this to say which pytz flavour it found; we always use pytz itself.
has_pytz_classic = True


class AmbiguousTimeZoneError(pytz.UnknownTimeZoneError):
    """A time zone abbreviation means different things (UTC offsets or DST rules) in the zones asked for."""

    def __str__(self) -> str:  # KeyError would quote the message; show it plainly
        return str(self.args[0]) if self.args else ""


class UnknownTimeZoneError(ValueError, pytz.UnknownTimeZoneError):
    """A time zone name or abbreviation that is neither a known zone nor a supported abbreviation.

    It is a ``ValueError`` (a time string we cannot interpret) and a ``pytz.UnknownTimeZoneError``
    (so code written against pytz catches it too).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def timedelta_total_seconds(td: datetime.timedelta) -> float:
    """The number of seconds in *td* (kept for the original's API; same as ``td.total_seconds()``)."""
    return td.total_seconds()


def _zone_from_name(name: str) -> datetime.tzinfo:
    """The pytz zone for an IANA *name*, or for a TZif file if *name* is an existing path."""
    if os.path.isabs(name) and os.path.exists(name):
        with open(name, "rb") as tzfile:
            return pytz.tzfile.build_tzinfo("local", tzfile)
    return pytz.timezone(name.lstrip(":"))


def _host_localzone() -> datetime.tzinfo:
    """The host's zone as a pytz zone, found by tzlocal's public ``get_localzone_name`` (or UTC)."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception as exc:  # tzlocal missing, or a host without any zone configuration
        log.warning("Cannot determine the local time zone (%s); using UTC", exc)
        return pytz.utc
    if not name:
        return pytz.utc
    try:
        return _zone_from_name(name)
    except pytz.UnknownTimeZoneError:
        log.warning("Local time zone %r unknown to pytz; using UTC", name)
        return pytz.utc


def TZ_wrapper() -> Callable[[Callable[..., datetime.tzinfo]], Callable[..., datetime.tzinfo]]:
    """A decorator for a local-zone finder, making it honour a ``TZ`` environment variable first.

    ``TZ`` may name a zone (``Canada/Mountain``) or a TZif file (``/usr/share/zoneinfo/UTC``); a
    value pytz cannot use (eg. a POSIX rule like ``EST5EDT,M3.2.0,M11.1.0``) is ignored, with a warning.
    """

    def decorate(func: Callable[..., datetime.tzinfo]) -> Callable[..., datetime.tzinfo]:
        def call(*args: Any, **kwds: Any) -> datetime.tzinfo:
            tzenv = os.environ.get("TZ")
            if tzenv:
                try:
                    return _zone_from_name(tzenv)
                except (pytz.UnknownTimeZoneError, OSError, ValueError) as exc:
                    log.warning("Ignoring TZ=%r (%s); finding the local zone otherwise", tzenv, exc)
            return func(*args, **kwds)

        call.__doc__ = func.__doc__
        call.__name__ = func.__name__
        return call

    return decorate


@TZ_wrapper()
def get_localzone() -> datetime.tzinfo:
    """The local time zone as a pytz zone: from ``TZ`` if set, else the host's configuration, else UTC."""
    return _host_localzone()


def zone_names(region: str | Iterable[str] | None) -> Iterator[str]:
    """Yield every zone name a region stands for.

    *region* is one string or several; each may be a country code (``'CA'``, from
    ``pytz.country_timezones``) or the leading part of zone names (``'Europe'``,
    ``'America/Argentina/'``, ``'Europe/Berlin'``, from ``pytz.common_timezones``).  A string that
    matches nothing is yielded unchanged (it may still be a valid zone name such as ``'MST'``).
    """
    if region is None:
        return
    if isinstance(region, str):
        region = [region]
    for r in region:
        zones = pytz.country_timezones.get(r) if len(r) == 2 and r.isupper() else None
        if not zones:
            zones = [z for z in pytz.common_timezones if z.startswith(r)]
        yield from zones or [r]


def parse_offset(term: str, symbols: str = "<>") -> float:
    """Convert a string like ``'< 1:02:03.5'`` into seconds: negative for ``symbols[0]``, positive for ``symbols[1]``.

    The magnitude is ``[[h:]m:]s[.s]`` (``'<:1.001'`` is -1.001).  Raises ``ValueError`` otherwise.
    """
    text = term.strip()
    if not text or text[0] not in symbols[:2]:
        raise ValueError(f"Invalid offset {term!r}; must start with {symbols[0]!r} or {symbols[1]!r}")
    fields = text[1:].strip().split(":")
    if not 1 <= len(fields) <= 3:
        raise ValueError(f"Invalid offset {term!r}; must be {'/'.join(symbols)}[[h:]m:]s[.s]")
    try:
        magnitude = 0.0
        for field in fields:
            magnitude = magnitude * 60 + float(field or 0)
    except ValueError:
        raise ValueError(f"Invalid offset {term!r}; must be {'/'.join(symbols)}[[h:]m:]s[.s]") from None
    return -magnitude if text[0] == symbols[0] else magnitude


def format_offset(dt: float, ms: bool | None = True, symbols: str = "<>") -> str:
    """Format seconds *dt* as ``'</> h:mm:ss.sss'`` (whole seconds if *ms* is falsy).

    The inverse of :func:`parse_offset`.
    """
    sign = symbols[0] if dt < 0 else symbols[1]
    mag = abs(dt)
    hours, rest = int(mag // 3600), mag % 3600
    minutes, seconds = int(rest // 60), rest % 60
    secs = f"{seconds:06.3f}" if ms else f"{int(seconds):02d}"
    return f"{sign}{hours:2d}:{minutes:02d}:{secs}"


class ZonePeriod(NamedTuple):
    """One stretch of a zone's local time: from *start* (UTC epoch seconds) it shows *abbrev*."""

    start: float
    abbrev: str
    offset: datetime.timedelta
    dst: bool


def _state(tz: datetime.tzinfo, when: float) -> tuple[str, datetime.timedelta, bool]:
    local = datetime.datetime.fromtimestamp(when, tz)
    return local.tzname() or "", local.utcoffset() or datetime.timedelta(0), bool(local.dst())


def zone_periods(tz: datetime.tzinfo, start: float, end: float, step: float = 86400.0) -> list[ZonePeriod]:
    """The periods (abbreviation, UTC offset, DST flag) zone *tz* passes through between *start* and *end*.

    Times are UTC epoch seconds.  The zone is sampled every *step* seconds and each change is then
    located to the second by bisection, so only the zone's public behaviour is used.  The first
    period's start is *start* itself; each later one starts at a transition.
    """
    periods = [ZonePeriod(start, *_state(tz, start))]
    before, t = start, start
    while t < end:
        t = min(t + step, end)
        state = _state(tz, t)
        if state != tuple(periods[-1][1:]):
            lo, hi = before, t  # the change happened in (lo, hi]
            while hi - lo > 1.0:
                mid = (lo + hi) // 2
                if _state(tz, mid) == tuple(periods[-1][1:]):
                    lo = mid
                else:
                    hi = mid
            periods.append(ZonePeriod(hi, *_state(tz, hi)))
            if tuple(periods[-1][1:]) != state:  # more than one change within a step; rescan from here
                t = hi
        before = t
    return periods
