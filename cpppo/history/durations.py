"""Human-readable durations for :mod:`cpppo.history`: ``1h30m``, ``2d``, ``1.5s``, ``250ms``.

Why: command lines and configuration name spans of time (how long to record, how far to look
ahead, where to start playback) and people write them this way.  :class:`duration` parses and
formats them exactly (integer microseconds underneath); :func:`parse_seconds` accepts any of the
forms people use, including ``HHH:MM[:SS]``.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["duration", "parse_seconds"]

_UNITS_RE = re.compile(
    r"""\s*(?P<num>\d+(?:[.,]\d*)?|[.,]\d+)\s*
        (?P<unit>y(?:ea)?rs?|y|w(?:ee)?ks?|w|d(?:ays?)?|h(?:(?:ou)?rs?)?|
                 ms|millis(?:ec(?:ond)?s?)?|us|µs|μs|micros(?:ec(?:ond)?s?)?|ns|nanos(?:ec(?:ond)?s?)?|
                 m(?:in(?:ute)?s?)?|s(?:ec(?:ond)?s?)?)""",
    re.IGNORECASE | re.VERBOSE,
)


class duration:
    """A span of time, from a spec like ``'1w2d3h4m5.678s'``, a number of seconds, a timedelta or a duration.

    Units: ``y`` (365.25 days, so that years never leave odd remainders), ``w``, ``d``, ``h``,
    ``m``, ``s``, ``ms``, ``us``, ``ns``; each may carry a fraction (``1.5h``).  ``str()`` gives
    the canonical spec (``duration(5400)`` is ``'1h30m'``), ``.seconds`` and ``float()`` the seconds,
    ``.timedelta`` a :class:`datetime.timedelta`.  A spec that is not a duration raises ``ValueError``.
    """

    YR = 31557600
    WK = 604800
    DY = 86400
    HR = 3600
    MN = 60

    _SCALE = {"y": YR, "w": WK, "d": DY, "h": HR, "m": MN, "s": 1}

    def __init__(self, value: Any = None) -> None:
        if isinstance(value, duration):
            self.timedelta: datetime.timedelta = value.timedelta
        elif isinstance(value, str):
            self.timedelta = self._parse(value)
        elif isinstance(value, datetime.timedelta):
            self.timedelta = value
        else:
            self.timedelta = datetime.timedelta(seconds=float(value or 0))

    @classmethod
    def _parse(cls, spec: str) -> datetime.timedelta:
        """The timedelta for a duration *spec*; units must appear at most once each, largest first."""
        micro = Decimal(0)
        pos, seen = 0, []
        text = spec.strip()
        if not text:
            raise ValueError(f"Invalid duration specification: {spec!r}")
        for match in _UNITS_RE.finditer(text):
            if match.start() != pos:
                break
            pos = match.end()
            unit = match.group("unit").lower()
            key = ("ms" if unit.startswith(("ms", "milli")) else
                   "us" if unit.startswith(("us", "µs", "μs", "micro")) else
                   "ns" if unit.startswith(("ns", "nano")) else unit[0])
            seen.append(key)
            try:
                num = Decimal(match.group("num").replace(",", "."))
            except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
                raise ValueError(f"Invalid duration specification: {spec!r}") from None
            scale = {"ms": Decimal(1000), "us": Decimal(1), "ns": Decimal("0.001")}.get(key)
            micro += num * (scale if scale is not None else Decimal(cls._SCALE[key]) * 1000000)
        order = ["y", "w", "d", "h", "m", "s", "ms", "us", "ns"]
        if pos != len(text) or len(set(seen)) != len(seen) or seen != sorted(seen, key=order.index):
            raise ValueError(
                f"Invalid duration specification: {spec!r}; expected eg. '1w2d3h4m5.678s', '250ms'")
        return datetime.timedelta(microseconds=int(micro.to_integral_value()))

    @classmethod
    def _format(cls, delta: datetime.timedelta) -> str:
        """The canonical spec for *delta*: largest units first, sub-seconds at the finest precision needed."""
        if delta < datetime.timedelta(0):
            return "-" + cls._format(-delta)
        seconds = delta.days * cls.DY + delta.seconds
        micro = delta.microseconds
        out = []
        for unit in ("y", "w", "d", "h", "m"):
            count, seconds = divmod(seconds, cls._SCALE[unit])
            if count:
                out.append(f"{count}{unit}")
        is_us, is_ms = micro % 1000 > 0, micro >= 1000
        if is_ms and (seconds or is_us):
            out.append(f"{seconds}.{micro:06d}".rstrip("0") + "s")
        else:
            if seconds:
                out.append(f"{seconds}s")
            if is_us:
                out.append(f"{micro}us")
            elif is_ms:
                out.append(f"{micro // 1000}ms")
        if not out:
            out.append("0s")
        return "".join(out)

    @property
    def seconds(self) -> float:
        """The duration in seconds."""
        return self.timedelta.total_seconds()

    def __float__(self) -> float:
        return self.seconds

    def __str__(self) -> str:
        return self._format(self.timedelta)

    def __repr__(self) -> str:
        return f"duration({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, duration):
            return self.timedelta == other.timedelta
        if isinstance(other, (int, float)):
            return self.seconds == other
        return NotImplemented

    def __lt__(self, other: duration) -> bool:
        return self.timedelta < duration(other).timedelta

    def __hash__(self) -> int:
        return hash(self.timedelta)


_HHMMSS_RE = re.compile(r"^\s*(\d+):(\d{2})(?::(\d{2}(?:\.\d+)?))?\s*$")


def parse_seconds(seconds: Any) -> float:
    """Seconds from a number, ``'1.23'``, ``'HHH:MM[:SS[.s]]'``, a duration spec (``'1m30s'``) or a :class:`duration`.

    Raises ``ValueError`` if *seconds* is none of these.
    """
    if isinstance(seconds, duration):
        return seconds.seconds
    if isinstance(seconds, datetime.timedelta):
        return seconds.total_seconds()
    try:
        return float(seconds)
    except (TypeError, ValueError):
        pass
    if not isinstance(seconds, str):
        raise ValueError(f"Invalid number of seconds: {seconds!r}")
    hms = _HHMMSS_RE.match(seconds)
    if hms:
        h, m, s = hms.groups()
        return int(h) * 3600 + int(m) * 60 + float(s or 0)
    return duration(seconds).seconds
