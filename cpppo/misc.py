"""Small shared pieces the original cpppo's users reach for.

``timer`` is a monotonic clock for measuring durations (the documented
thruput examples subtract two readings); ``log_cfg`` is the dictionary scripts
hand to ``logging.basicConfig``; the extra levels ``logging.NORMAL``,
``logging.DETAIL`` and ``logging.TRACE`` sit where the original put them, so
that ``log.normal(...)`` and ``log.detail(...)`` keep working.
"""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["timer", "log_cfg", "log_level", "near", "clamp", "hexdump", "lazystr"]

#: A monotonic timer in seconds; only differences between two readings mean anything.
timer = time.monotonic

#: The keyword arguments for ``logging.basicConfig(**cpppo.log_cfg)``, as the original offers them.
log_cfg: dict[str, Any] = {
    "level": logging.WARNING,
    "datefmt": "%m-%d %H:%M:%S",
    "format": "%(asctime)s.%(msecs).03d %(threadName)10.10s %(name)-8.8s %(levelname)-8.8s"
              " %(funcName)-10.10s %(message)s",
}

# Levels between INFO (20) and WARNING (30), and one below DEBUG, as the original defines them.
NORMAL = logging.INFO + 5
DETAIL = logging.INFO + 3
TRACE = logging.NOTSET + 5
_LEVELS = {"NORMAL": NORMAL, "DETAIL": DETAIL, "TRACE": TRACE}


def _install_levels() -> None:
    """Add NORMAL, DETAIL and TRACE to :mod:`logging` (idempotent)."""
    for name, level in _LEVELS.items():
        setattr(logging, name, level)
        logging.addLevelName(level, name)
        method = name.lower()

        def log_at(self: logging.Logger, msg: object, *args: Any, _level: int = level, **kwargs: Any) -> None:
            if self.isEnabledFor(_level):
                kwargs.setdefault("stacklevel", 2)
                self._log(_level, msg, args, **kwargs)

        def log_root(msg: object, *args: Any, _level: int = level, **kwargs: Any) -> None:
            if not logging.root.handlers:
                logging.basicConfig()
            if logging.root.isEnabledFor(_level):
                kwargs.setdefault("stacklevel", 2)
                logging.root._log(_level, msg, args, **kwargs)

        setattr(logging.Logger, method, log_at)
        setattr(logging, method, log_root)


_install_levels()


def log_level(verbose: int, base: int = logging.WARNING) -> int:
    """The logging level for ``-v`` given *verbose* times: WARNING, NORMAL, DETAIL, INFO, DEBUG."""
    steps = [base, NORMAL, DETAIL, logging.INFO, logging.DEBUG]
    return steps[max(0, min(verbose, len(steps) - 1))]


def near(a: float, b: float, significance: float = 1.0e-4) -> bool:
    """True if *a* and *b* agree to within *significance* of their magnitude."""
    scale = max(abs(a), abs(b))
    return abs(a - b) <= significance * scale if scale else True


def clamp(val: float, lim: tuple[float, float]) -> float:
    """*val* limited to the closed range *lim* (low, high)."""
    low, high = lim
    return max(low, min(high, val))


def hexdump(src: bytes, offset: int = 0, length: int = 16) -> str:
    """A classic offset / hex / printable dump of *src*, one line per *length* bytes."""
    lines = []
    for i in range(0, len(src), length):
        chunk = bytes(src[i:i + length])
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset + i:08x}:  {hexes:<{length * 3}} |{text}|")
    return "\n".join(lines)


class lazystr:
    """Defers building a log message until a handler formats it: ``log.debug(lazystr(lambda: ...))``."""

    __slots__ = ("_produce", "_value")

    def __init__(self, produce: Any) -> None:
        self._produce = produce
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = str(self._produce())
        return self._value

    __repr__ = __str__


def remember(cache: dict, key: Any, value: Any, limit: int) -> Any:
    """Keep *value* under *key* in *cache*, which holds at most *limit* entries; returns *value*.

    A full cache is emptied rather than trimmed: what it serves (a poller's repeated requests)
    refills it at once, and a client that never repeats itself costs one dict, bounded.
    """
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value
