"""Caches a peer fills, bounded in bytes per process rather than in entries per connection.

Why: a server keeps what it decoded by the request's bytes (pollers repeat themselves), and the
tags keep where each path lands.  Bounded per cache in entries only, 30 connections each sending
256 distinct 65 KB requests held 2 GB, and kept it after they closed.  Here every such cache is a
:class:`Cache` (a plain ``dict``, so a hit costs one ``dict.get``) that charges what it keeps to
one :class:`Budget` (the process's :data:`PEERS`, 16 MiB unless ``--cache-bytes`` says otherwise).

At the bound the budget empties every cache charged to it, as :func:`cpppo.misc.remember` empties
one full cache: what a poller repeats refills at once, and an attacker costs at most the budget.
A cache is released (its bytes given back) when its connection closes; one dropped without that
is found by the weak set of caches when the budget is next full.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Budget", "Cache", "PEERS", "DEFAULT_BYTES", "cost_of"]

DEFAULT_BYTES = 16 << 20
_OVERHEAD = 256  # a dict slot, a key object and a decoded record's fixed part, roughly


def cost_of(data: Any) -> int:
    """The bytes a cache entry keyed by *data* holds, roughly: the key, a decoded copy of it (a
    request's data), and the records around them."""
    try:
        return 2 * len(data) + _OVERHEAD
    except TypeError:
        return _OVERHEAD


@dataclass(eq=False)
class Budget:
    """The bytes the caches charged to it may hold in all; ``used`` is what they hold now."""

    limit: int = DEFAULT_BYTES
    used: int = 0
    flushes: int = 0  # times the budget was full and every cache emptied (a sign of an attack, or a small limit)
    caches: weakref.WeakSet[Cache] = field(default_factory=weakref.WeakSet, repr=False)

    def recount(self) -> int:
        """``used`` from the caches alive (one collected without :meth:`Cache.release` is dropped)."""
        self.used = sum(cache.bytes for cache in list(self.caches))
        return self.used

    def flush(self) -> None:
        """Empty every cache: the budget is full."""
        self.flushes += 1
        for cache in list(self.caches):
            cache.clear()
        self.used = 0


#: The process's budget for caches peers fill (the simulator's; ``--cache-bytes`` sets its limit).
PEERS = Budget()


class Cache(dict[Any, Any]):
    """A dict of at most *entries* entries whose bytes are charged to *budget*.

    Read it as a dict (``get``); fill it with :meth:`remember`, which says what an entry costs.
    """

    def __init__(self, entries: int = 256, budget: Budget | None = None) -> None:
        super().__init__()
        self.entries = entries
        self.budget = PEERS if budget is None else budget
        self.bytes = 0
        self.budget.caches.add(self)

    def remember(self, key: Any, value: Any, cost: int) -> Any:
        """Keep *value* under *key* (costing *cost* bytes); returns *value*.  A full cache empties
        itself, a full budget every cache; an entry larger than the whole budget is not kept."""
        budget = self.budget
        if len(self) >= self.entries:
            self.clear()
        if budget.used + cost > budget.limit and budget.recount() + cost > budget.limit:
            budget.flush()
            if cost > budget.limit:
                return value
        if key in self:  # (replaced: its old cost is not known, so it is kept counted; rare)
            return value
        dict.__setitem__(self, key, value)
        self.bytes += cost
        budget.used += cost
        return value

    def clear(self) -> None:
        """Forget every entry and give its bytes back."""
        dict.clear(self)
        self.budget.used -= self.bytes
        self.bytes = 0

    def release(self) -> None:
        """The owner is gone (its connection closed): empty, and no longer counted."""
        self.clear()
        self.budget.caches.discard(self)

    def __hash__(self) -> int:  # type: ignore[override]  # (weak sets hash their members: by identity, as objects are)
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other
