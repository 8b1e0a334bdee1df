"""Timestamps for recorded time series: microsecond values, rendered and parsed in UTC or any zone.

Why: history files carry times as text, and people read and type times in their own zone, often
with an abbreviation (``MST``, ``MDT``).  An abbreviation is only meaningful within a chosen set of
regions (``IST`` is Irish, Indian or Israeli), so :meth:`timestamp.support_abbreviations` builds a
table for the regions you name, and refuses abbreviations that would be ambiguous among them.

A :class:`timestamp` is a float of seconds since the epoch.  It renders (``str``) as UTC with
milliseconds, ``2014-05-13 16:53:20.123``, which is the history file format; comparisons treat
values within a millisecond as equal, so numeric and textual order always agree.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import re
import threading
import time
from typing import Any, ClassVar

from .durations import duration, parse_seconds
from .zones import (
    AmbiguousTimeZoneError,
    TZ_wrapper,
    UnknownTimeZoneError,
    ZonePeriod,
    format_offset,
    get_localzone,
    has_pytz_classic,
    parse_offset,
    pytz,
    timedelta_total_seconds,
    zone_names,
    zone_periods,
)

__all__ = [
    "timestamp", "get_localzone", "zone_names", "timedelta_total_seconds",
    "parse_offset", "format_offset", "AmbiguousTimeZoneError", "UnknownTimeZoneError", "TZ_wrapper",
    "duration", "parse_datetime", "parse_seconds", "zulu_datetime",
    "has_pytz_classic", "pytz",
]

log = logging.getLogger(__package__)

_TIME_RE = re.compile(
    r"""^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d{1,6}))?
        \s*(?P<tz>[+-]\d{2}:?\d{2}|[A-Za-z][\w/+-]*)?\s*$""",
    re.VERBOSE,
)
_NUMERIC_TZ_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _fixed_zone(offset: datetime.timedelta) -> datetime.tzinfo:
    """A pytz fixed-offset zone (for numeric offsets such as ``-0600``)."""
    return pytz.FixedOffset(int(offset.total_seconds() // 60))


class timestamp:
    """A moment in time: seconds since the epoch (microsecond resolution), from a number, a string,
    a datetime, another timestamp, or ``None`` for now.

    Strings are ``YYYY-MM-DD HH:MM:SS[.ffffff] [ZONE]``; ZONE defaults to UTC and may be a zone name
    (``Canada/Mountain``), a numeric offset (``-0600``) or a supported abbreviation (see
    :meth:`support_abbreviations`).  Values nearer than ``_epsilon`` (a millisecond) compare equal.
    ``timestamp + seconds`` and ``timestamp - seconds`` are timestamps; ``timestamp - timestamp`` is
    the float difference in seconds.
    """

    UTC: ClassVar[datetime.tzinfo] = pytz.utc
    LOC: ClassVar[datetime.tzinfo] = get_localzone()  # from TZ, else the host's configuration

    _precision: ClassVar[int] = 3  # sub-second digits rendered by default
    _epsilon: ClassVar[float] = 10 ** -_precision  # differences smaller than this compare equal
    _fmt: ClassVar[str] = "%Y-%m-%d %H:%M:%S"

    # Abbreviation -> (zone, is_dst, UTC offset); replaced whole (never mutated) under _cls_lock.
    _tzabbrev: ClassVar[dict[str, tuple[datetime.tzinfo, bool | None, datetime.timedelta]]] = {}
    _cls_lock: ClassVar[threading.Lock] = threading.Lock()

    __slots__ = ("value", "_str")

    # ------------------------------------------------------------------ abbreviations
    @classmethod
    def support_abbreviations(
        cls,
        region: str | list[str] | None,
        exclude: str | list[str] | None = None,
        at: datetime.datetime | float | None = None,
        reach: datetime.timedelta | float | None = None,
        reset: bool = False,
        first: bool = False,
    ) -> list[str]:
        """Make the abbreviations used by the zones of *region* parseable and return the new ones (sorted).

        *region* is as for :func:`zone_names`: country codes (``'CA'``), zone name prefixes
        (``'Europe'``) or zone names.  *exclude* names zones or abbreviations to leave out.  Each
        zone's abbreviations are those it uses within *reach* (default half a year) either side of
        *at* (default now; a naive datetime is UTC).  Calls accumulate unless *reset*.

        An abbreviation stands for a UTC offset, so it must have the same offset in every zone
        using it.  If not, ``AmbiguousTimeZoneError`` names the abbreviation and the zones in
        conflict, and nothing is added; with *first*, a warning is logged instead and the first
        meaning kept.  The first zone seen using an abbreviation is the one ``render(tzinfo=abbrev)``
        renders in.  An abbreviation a zone itself used for two offsets within the period (``MSK``
        in 2014) is resolved by that zone, by date.  A zone name pytz does not know raises
        ``UnknownTimeZoneError``.
        """
        with cls._cls_lock:
            table = {} if reset else dict(cls._tzabbrev)
            before = set(table)
            if at is None:
                at_s = time.time()
            elif isinstance(at, datetime.datetime):
                at_s = cls.number_from_datetime(at)
            else:
                at_s = float(timestamp(at))
            reach_s = (365 / 2 * 86400.0 if reach is None
                       else reach.total_seconds() if isinstance(reach, datetime.timedelta) else float(reach))
            start, end = at_s - reach_s, at_s + reach_s
            exclusions = set(zone_names(exclude))
            conflicts: list[str] = []
            for name in zone_names(region):
                if name in exclusions:
                    log.info("%-30s: excluded", name)
                    continue
                try:
                    tz = pytz.timezone(name)
                except pytz.UnknownTimeZoneError:
                    raise UnknownTimeZoneError(f"Unknown time zone or region {name!r}") from None
                # Each abbreviation the zone uses, with its latest offset; one used for several
                # offsets within the zone (eg. MSK in 2014) can only be resolved by the zone: dst None
                latest: dict[str, ZonePeriod] = {}
                offsets: dict[str, set[datetime.timedelta]] = {}
                for p in zone_periods(tz, start, end):
                    if p.abbrev.isalpha() and p.abbrev not in exclusions:  # skip eg. '-03'
                        latest[p.abbrev] = p
                        offsets.setdefault(p.abbrev, set()).add(p.offset)
                for abb, p in latest.items():
                    dst: bool | None = None if len(offsets[abb]) > 1 else p.dst
                    offset = p.offset
                    known = table.get(abb)
                    if known is None:
                        table[abb] = (tz, dst, offset)
                        continue
                    k_tz, k_dst, k_off = known
                    problem = None
                    if k_off != offset and str(k_tz) != str(tz):
                        problem = (f"{abb} is {format_offset(offset.total_seconds(), ms=False)} in {tz}"
                                   f" but {format_offset(k_off.total_seconds(), ms=False)} in {k_tz}")
                    if problem:
                        if problem not in conflicts:
                            conflicts.append(problem)
                    elif dst is None and k_dst is not None:
                        table[abb] = (tz, dst, offset)  # the zone that used it for both offsets decides
            if conflicts:
                message = f"Ambiguous time zone abbreviations in region(s) {region!r}: " + "; ".join(conflicts)
                if not first:
                    raise AmbiguousTimeZoneError(message)
                log.warning("%s (keeping the first meaning of each)", message)
            cls._tzabbrev = table
            return sorted(set(table) - before)

    @classmethod
    def timezone_info(cls, tzinfo: datetime.tzinfo | str) -> tuple[datetime.tzinfo, bool | None]:
        """The (zone, is_dst) for a tzinfo, a supported abbreviation (is_dst True/False) or a zone name (is_dst None).

        Raises ``UnknownTimeZoneError`` naming *tzinfo* if it is none of these.
        """
        if isinstance(tzinfo, datetime.tzinfo):
            return tzinfo, None
        known = cls._tzabbrev.get(tzinfo)
        if known is not None:
            return known[0], known[1]
        numeric = _NUMERIC_TZ_RE.match(tzinfo)
        if numeric:
            sign, hh, mm = numeric.groups()
            minutes = (int(hh) * 60 + int(mm)) * (-1 if sign == "-" else 1)
            return _fixed_zone(datetime.timedelta(minutes=minutes)), None
        if tzinfo in ("Z", "z"):
            return cls.UTC, None
        try:
            return pytz.timezone(tzinfo), None
        except pytz.UnknownTimeZoneError:
            supported = ", ".join(sorted(cls._tzabbrev)) or "none"
            raise UnknownTimeZoneError(
                f"Unknown time zone or abbreviation {tzinfo!r} (supported abbreviations: {supported};"
                " add more with timestamp.support_abbreviations(region))") from None

    # ------------------------------------------------------------------ conversions
    @classmethod
    def datetime_from_string(cls, s: str, tzinfo: datetime.tzinfo | str | None = None) -> datetime.datetime:
        """Parse ``YYYY-MM-DD HH:MM:SS[.ffffff] [ZONE]`` into an aware datetime.

        A ZONE in the string wins over *tzinfo*; with neither the time is UTC.  An abbreviation
        stands for its UTC offset (``01:30 MDT`` is 07:30 UTC whatever the date), so it can name
        times a zone name cannot: the skipped spring hour, or either pass through the repeated
        autumn hour.  With a zone name those raise ``ValueError`` (pytz's NonExistentTimeError or
        AmbiguousTimeError).  Bad formats raise ``ValueError``; unknown zones ``UnknownTimeZoneError``.
        """
        match = _TIME_RE.match(str(s))
        if not match:
            raise ValueError(f"Invalid time format {s!r}; expected YYYY-MM-DD HH:MM:SS[.###] [TZ]")
        y, mo, d, h, mi, sec, frac = match.groups()[:7]
        try:
            naive = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec),
                                      int((frac or "0").ljust(6, "0")))
        except ValueError as exc:
            raise ValueError(f"Invalid time {s!r}: {exc}") from None
        zone = match.group("tz") or tzinfo
        if zone is None:
            return naive.replace(tzinfo=cls.UTC)
        if isinstance(zone, str) and zone in cls._tzabbrev:
            tz, dst, offset = cls._tzabbrev[zone]
            if dst is not None:  # a definite offset: convert exactly, then show it in its zone
                return (naive - offset).replace(tzinfo=cls.UTC).astimezone(tz)
        tz, is_dst = cls.timezone_info(zone)
        localize = getattr(tz, "localize", None)
        if localize is None:  # a non-pytz tzinfo (eg. zoneinfo): the first of any repeated hour
            return naive.replace(tzinfo=tz)
        try:
            return localize(naive, is_dst=is_dst)
        except (pytz.NonExistentTimeError, pytz.AmbiguousTimeError) as exc:
            raise ValueError(f"Invalid time {s!r} in {tz}: {type(exc).__name__}: {exc};"
                             " use a DST-specific abbreviation (eg. MST/MDT)") from None

    @classmethod
    def datetime_from_number(cls, n: float, tzinfo: datetime.tzinfo | str | None = None) -> datetime.datetime:
        """The aware datetime in zone *tzinfo* (default UTC) for epoch seconds *n*."""
        tz = cls.UTC if tzinfo is None else cls.timezone_info(tzinfo)[0]
        try:
            return datetime.datetime.fromtimestamp(n, tz=tz)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"Invalid UNIX timestamp {n!r}: {exc}") from None

    @classmethod
    def number_from_datetime(cls, dt: datetime.datetime) -> float:
        """Epoch seconds for *dt*; a naive datetime is taken to be UTC."""
        return calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1000000

    # ------------------------------------------------------------------ construction
    def __init__(self, value: Any = None) -> None:
        self._str: str | None = None
        if value is None:
            self.value: float = time.time()
        elif isinstance(value, timestamp):
            self.value, self._str = value.value, value._str
        elif isinstance(value, str):
            self.value = self._number_from_string(value)
        elif isinstance(value, datetime.datetime):
            self.value = self.number_from_datetime(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self.value = float(value)
        else:
            raise ValueError(f"Invalid timestamp of {type(value).__name__}: {value!r}")

    @classmethod
    def _number_from_string(cls, s: str) -> float:
        match = _TIME_RE.match(s)
        if match and not match.group("tz"):  # the common case (history files): UTC, no datetime needed
            y, mo, d, h, mi, sec, frac = match.groups()[:7]
            if 1 <= int(mo) <= 12 and 1 <= int(d) <= calendar.monthrange(int(y), int(mo))[1] \
                    and int(h) < 24 and int(mi) < 60 and int(sec) < 60:
                whole = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(sec)))
                return whole + (int(frac) / 10 ** len(frac) if frac else 0.0)
        return cls.number_from_datetime(cls.datetime_from_string(s))

    # ------------------------------------------------------------------ rendering
    def render(self, tzinfo: datetime.tzinfo | str | None = None, ms: bool | int = True,
               tzdetail: bool | None = None) -> str:
        """The time as ``YYYY-MM-DD HH:MM:SS.sss`` in zone *tzinfo* (default UTC).

        *ms*: True for the default ``_precision`` (3) sub-second digits, 0-6 for that many, False
        for none (truncated, not rounded).  Outside UTC an abbreviation follows (``MDT``); with
        *tzdetail* True the zone name instead, with *tzdetail* False the numeric offset (``-0600``).
        """
        digits = self._precision if ms is True else int(ms) if ms else 0
        if not 0 <= digits <= 6:
            raise ValueError(f"Invalid sub-second precision {ms!r}; must be 0-6 digits")
        tz = self.UTC if tzinfo is None else self.timezone_info(tzinfo)[0]
        if digits:
            text = f"{self.value:.{digits}f}"  # correctly rounded, possibly up into the next second
            whole_s, frac = text.split(".")
            whole = int(whole_s)
            if text.startswith("-") and int(frac):
                whole -= 1
                frac = f"{10 ** digits - int(frac):0{digits}d}"
        else:
            whole, frac = int(self.value // 1), ""
        dt = datetime.datetime.fromtimestamp(whole, tz=tz)
        result = dt.strftime(self._fmt) + ("." + frac if digits else "")
        if tz is not self.UTC or tzdetail is not None:
            if tzdetail is None:
                result += " " + (dt.tzname() or "")
            elif tzdetail:
                result += " " + (getattr(tz, "zone", None) or getattr(tz, "key", None) or str(tz))
            else:
                result += dt.strftime("%z")
        return result

    def __str__(self) -> str:
        """UTC with milliseconds (cached): the history file format."""
        if self._str is None:
            self._str = self.render()
        return self._str

    def __repr__(self) -> str:
        return f"<{self} =~= {self.value:.6f}>"

    def __float__(self) -> float:
        return self.value

    def __int__(self) -> int:
        return int(self.value)

    @property
    def utc(self) -> str:
        """The time as a UTC string; assigning a string (default zone UTC) changes the time."""
        return str(self)

    @utc.setter
    def utc(self, utctime: str) -> None:
        self.value = self.number_from_datetime(self.datetime_from_string(utctime))
        self._str = None

    @property
    def local(self) -> str:
        """The time in the local zone (``LOC``), whole seconds with abbreviation; assignable (default zone ``LOC``)."""
        return self.render(tzinfo=self.LOC, ms=False)

    @local.setter
    def local(self, loctime: str) -> None:
        self.value = self.number_from_datetime(self.datetime_from_string(loctime, self.LOC))
        self._str = None

    # ------------------------------------------------------------------ comparison and arithmetic
    @staticmethod
    def _seconds(other: Any) -> float:
        if isinstance(other, (timestamp, duration)):
            return float(other)
        if isinstance(other, datetime.timedelta):
            return other.total_seconds()
        if isinstance(other, (int, float)):
            return float(other)
        raise TypeError(f"Expected seconds, a duration or a timedelta, not {type(other).__name__}")

    def _other(self, rhs: Any) -> float:
        if isinstance(rhs, timestamp):
            return rhs.value
        if isinstance(rhs, (int, float)) and not isinstance(rhs, bool):
            return float(rhs)
        return NotImplemented

    def __lt__(self, rhs: Any) -> bool:
        other = self._other(rhs)
        if other is NotImplemented:
            return NotImplemented
        return self.value + self._epsilon < other

    def __gt__(self, rhs: Any) -> bool:
        other = self._other(rhs)
        if other is NotImplemented:
            return NotImplemented
        return self.value - self._epsilon > other

    def __le__(self, rhs: Any) -> bool:
        greater = self.__gt__(rhs)
        return greater if greater is NotImplemented else not greater

    def __ge__(self, rhs: Any) -> bool:
        less = self.__lt__(rhs)
        return less if less is NotImplemented else not less

    def __eq__(self, rhs: object) -> bool:
        other = self._other(rhs)
        if other is NotImplemented:
            return NotImplemented
        return not (self.value + self._epsilon < other or self.value - self._epsilon > other)

    def __ne__(self, rhs: object) -> bool:
        equal = self.__eq__(rhs)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # equality within epsilon cannot be hashed consistently

    def __add__(self, rhs: Any) -> timestamp:
        return timestamp(self.value + self._seconds(rhs)) if not isinstance(rhs, timestamp) else NotImplemented

    __radd__ = __add__

    def __iadd__(self, rhs: Any) -> timestamp:
        self.value += self._seconds(rhs)
        self._str = None
        return self

    def __sub__(self, rhs: Any) -> Any:
        if isinstance(rhs, timestamp):
            return self.value - rhs.value
        return timestamp(self.value - self._seconds(rhs))

    def __isub__(self, rhs: Any) -> Any:
        if isinstance(rhs, timestamp):
            return self.value - rhs.value
        self.value -= self._seconds(rhs)
        self._str = None
        return self


def parse_datetime(time: str, zone: str | None = None) -> datetime.datetime:
    """An aware datetime from ``'2019-01-20 10:00[:00[.fff]][+HH:MM] [Zone/Name]'`` (``T`` may separate).

    A zone name after the time, or a numeric offset in it, wins; otherwise the time is in *zone*
    (default UTC).  Abbreviations are not accepted here; use :class:`timestamp` for those.
    Raises ``ValueError`` if the string cannot be read.
    """
    text = time.strip()
    tz = pytz.timezone(zone or "UTC")
    head, _, tail = text.rpartition(" ")
    if head and tail and tail[0].isalpha():
        try:
            tz = pytz.timezone(tail)
        except pytz.UnknownTimeZoneError:
            raise UnknownTimeZoneError(f"Unknown time zone {tail!r} in {time!r}") from None
        text = head.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z"):
        try:
            return datetime.datetime.strptime(text, fmt).astimezone(tz)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            naive = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return tz.localize(naive) if hasattr(tz, "localize") else naive.replace(tzinfo=tz)
    raise ValueError(f"Couldn't parse a date-time from {time!r} in time zone {tz}")


def zulu_datetime(dt: datetime.datetime) -> str:
    """*dt* as a standard UTC (Zulu) string, ``2014-05-13T16:53:20Z``."""
    return dt.astimezone(pytz.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
