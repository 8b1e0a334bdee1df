"""Small shared pieces the original cpppo's users reach for.

``timer`` is the clock the original's scripts read (``time.time``, as 5.2.5 has it: its examples
subtract two readings, and some print one as a time of day); ``log_cfg`` is the dictionary scripts
hand to ``logging.basicConfig``; the extra levels ``logging.NORMAL``, ``logging.DETAIL`` and
``logging.TRACE`` sit where the original put them, so that ``log.normal(...)`` and
``log.detail(...)`` keep working.  The numeric, text and address helpers the original exported at
the top of the package live in :mod:`cpppo.misc_values` and are re-exported here.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from . import misc_values
from .misc_values import *  # noqa: F403 -- the original's helpers, one flat namespace as in 5.2.5

__all__ = ["timer", "log_cfg", "log_level", "lazystr", "mutexmethod", "change_function", "function_name",
           "reprargs", "logresult", "assert_tps"]
__all__ += misc_values.__all__

#: The original's timer: wall-clock seconds (``time.time``); use differences for durations.
timer = time.time

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


def mutexmethod(mutex: str = "lock", blocking: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Hold the lock named *mutex* on the instance (or class) while the decorated method runs.

    Why: the original's threaded scripts serialize access to a shared object this way.  Not
    *blocking*, a lock another thread holds raises AssertionError("Lock is held") at once.
    """
    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwds: Any) -> Any:
            lock = getattr(getattr(method, "__self__", args[0] if args else None), mutex)
            assert lock.acquire(blocking), "Lock is held"
            try:
                return method(*args, **kwds)
            finally:
                lock.release()
        return wrapper
    return decorator


def change_function(function: Callable[..., Any], **kwds: Any) -> None:
    """Replace *function*'s code attributes in place: ``change_function(f, co_filename="x.py")``."""
    function.__code__ = function.__code__.replace(**kwds)


def function_name(f: Any) -> str:
    """``module.name`` of a function, for logs."""
    if hasattr(f, "__module__"):
        return f"{f.__module__}.{f.__name__}"
    return str(f.__name__)


def reprargs(*args: Any, **kwds: Any) -> str:
    """The arguments of a call as a short text (``reprlib`` abbreviates long values)."""
    short = misc_values.reprlib.repr
    return ", ".join([short(x) for x in args] + [f"{k}={short(v)}" for k, v in kwds.items()])


def logresult(prefix: str | None = None, log: logging.Logger | None = None, log_level: int = logging.DEBUG,
              exc_level: int = logging.WARNING, exc_swallow: bool = False
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Log each call's result at *log_level* (its exception at *exc_level*, swallowed if
    *exc_swallow*: the call then returns None), as ``name(args)-->result``."""
    def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
        logger = log or logging.getLogger()

        def emit(level: int, args: Any, kwds: Any, what: Any) -> None:
            if logger.isEnabledFor(level):
                logger.log(level, "%s-->%r", prefix or f"{function.__name__}({reprargs(*args, **kwds)})", what)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwds: Any) -> Any:
            try:
                result = function(*args, **kwds)
            except (GeneratorExit, StopIteration) as exc:
                emit(exc_level, args, kwds, exc)
                raise
            except Exception as exc:
                emit(exc_level, args, kwds, exc)
                if not exc_swallow:
                    raise
                return None
            emit(log_level, args, kwds, result)
            return result
        return wrapper
    return decorator


def assert_tps(minimum: float | None = None, scale: Any = None, repeat: int = 1
               ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the decorated function *repeat* times, log its rate as a warning ("Performance: ...
    TPS") and, given *minimum*, assert it; *scale* is the work per call (a number, or the name of
    the keyword argument that holds it)."""
    def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwds: Any) -> Any:
            begin = timer()
            result = None
            for _ in range(repeat):
                result = function(*args, **kwds)
            per_call = max(timer() - begin, 1e-9) / repeat
            work = scale if isinstance(scale, (int, float)) else 1 if scale is None else kwds[scale]
            tps = float(work) / per_call
            logging.warning("Performance: %7.3f TPS (%d x %s)", tps, repeat * work, function_name(function))
            if minimum is not None:
                assert tps >= minimum, (f"Performance below minimum {minimum:7.3f} TPS: {tps:7.3f}"
                                        f" ({repeat} x {function_name(function)})")
            return result
        return wrapper
    return decorator


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
