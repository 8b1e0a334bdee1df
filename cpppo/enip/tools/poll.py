"""``cpppo.server.enip.poll``: read a device's parameters every cycle, through a proxy, forever.

A plant historian or a dashboard polls a few parameters of each drive or
controller at a fixed rate and must survive the device going away: a failed
poll drops the proxy's session, waits (backing off from one cycle up to ten),
and tries again.  ``poll(proxy_class, address, params=..., cycle=..., process=...)``
runs that loop in the calling thread (run it in a thread of its own), calling
``process(parameter, value)`` for every value; it stops when ``process.done``
becomes true.  Built on :class:`.proxy.proxy` and so on the blocking connector.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["PARAMS", "execute", "loop", "run", "poll"]

log = logging.getLogger(__name__)

#: The parameters polled when none are named (a PowerFlex drive's, as in the original).
PARAMS = ("Output Current", "Motor Velocity")


def execute(via: Any, params: list | None = None, pass_thru: bool | None = None,
            details: bool = False) -> Iterator[tuple]:
    """One poll: ``(parameter, value)`` (or ``(parameter, (value, (status, ...)))`` with *details*)."""
    params = list(params or PARAMS)
    read = via.read_details if details else via.read
    yield from zip(params, read(via.parameter_substitution(params, pass_thru=pass_thru)))


def loop(via: Any, cycle: float | None = None, last_poll: float = 0.0, **kwds: Any) -> tuple[float, float, list]:
    """One poll, kept on the cycle: ``(start of this cycle, seconds until the next, results)``.

    Missed cycles are skipped, not caught up.  Raises (and drops the proxy's session) on failure.
    """
    cycle = cycle or 1.0
    now = time.monotonic()
    if last_poll and now - last_poll >= cycle:
        missed = (now - last_poll) // cycle
        if missed > 1:
            log.info("missed %d polls of %.3fs", missed - 1, cycle)
        last_poll += cycle * missed
    elif not last_poll:
        last_poll = now
    with via:
        results = list(execute(via, **kwds))
    done = time.monotonic()
    return last_poll, max(0.0, last_poll + cycle - done), results


def run(via: Any, process: Callable[[Any, Any], Any], failure: Callable[[BaseException], Any] | None = None,
        backoff_min: float | None = None, backoff_multiplier: float | None = None,
        backoff_max: float | None = None, latency: float | None = None, **kwds: Any) -> None:
    """Poll until ``process.done``; on failure call *failure(exc)* and back off exponentially."""
    backoff_min = backoff_min or kwds.get("cycle") or 1.0
    backoff_max = backoff_max or backoff_min * 10
    backoff_multiplier = backoff_multiplier or 1.5
    latency = 0.5 if latency is None else latency
    backoff: float | None = None
    last, delay, begun = 0.0, 0.0, time.monotonic()
    while not getattr(process, "done", False):
        elapsed = time.monotonic() - begun
        if elapsed < delay:
            time.sleep(min(latency, delay - elapsed))
            continue
        begun = time.monotonic()
        try:
            last, delay, results = loop(via, last_poll=last, **kwds)
            for param, value in results:
                process(param, value)
            backoff = None
        except Exception as exc:
            backoff = backoff_min if backoff is None else min(backoff * backoff_multiplier, backoff_max)
            log.warning("polling failed, waiting %.3fs: %s", backoff, exc)
            delay = backoff
            if failure is not None:
                failure(exc)


def poll(proxy_class: Any = None, address: tuple[str, int] | None = None, depth: int | None = None,
         multiple: int | None = None, timeout: float | None = None, route_path: Any = None, send_path: Any = None,
         via: Any = None, params: list | None = None, pass_thru: bool | None = None, cycle: float | None = None,
         process: Callable[[Any, Any], Any] | None = None, failure: Callable[[BaseException], Any] | None = None,
         backoff_min: float | None = None, backoff_multiplier: float | None = None, backoff_max: float | None = None,
         latency: float | None = None) -> None:
    """Poll through *via*, or a new ``proxy_class`` at *address*, printing each value by default."""
    if proxy_class is not None and via is not None:
        raise ValueError("give a proxy_class or a via proxy, not both")
    if process is None:
        def process(param: Any, value: Any) -> None:
            print(f"{param:>15}: {value!r}")
    if via is None:
        host, port = address or ("localhost", 44818)
        via = proxy_class(host=host, port=port, depth=depth, multiple=multiple, timeout=timeout,
                          route_path=route_path, send_path=send_path)
    run(via, process, failure=failure, backoff_min=backoff_min, backoff_multiplier=backoff_multiplier,
        backoff_max=backoff_max, latency=latency, cycle=cycle, params=params, pass_thru=pass_thru)
