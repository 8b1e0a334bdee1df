"""The file descriptors a plant needs: raise the soft limit to the hard one, or say in one line why not.

Why: every controller listens on a TCP and a UDP socket and every client holds one
more, so a plant of 1,000 controllers polled once each needs over 3,000 descriptors,
and the usual soft limit is 1,024.  The soft limit may be raised up to the hard one
without privilege; a plant that needs more than the hard limit cannot start (a
listener would fail half-way), and says so before binding anything.
"""

from __future__ import annotations

import resource

from cpppo.plant.model import Plant

__all__ = ["needed", "raise_limit", "HEADROOM"]

#: Descriptors beyond the listeners: the web server, logs, the reactor's own, a few clients.
HEADROOM = 64


def needed(plant: Plant, udp: bool = True) -> int:
    """The descriptors *plant*'s listeners need, plus :data:`HEADROOM` (clients need more: one each)."""
    addresses = {c.address for c in plant.controllers}
    return len(addresses) * (2 if udp else 1) + len(plant.modbus) + HEADROOM


def raise_limit(plant: Plant, udp: bool = True) -> int:
    """Raise the soft limit on open files to the hard limit; returns the new soft limit.

    Raises:
        OSError: one line, if even the hard limit is too few for *plant*'s listeners.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed(plant, udp)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, want * 4)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft < want:
        raise OSError(f"{plant.file}: {len(plant)} devices need at least {want} open files; the limit is {soft} "
                      f"(hard {hard}): raise it (ulimit -n), or serve the plant in shards (--shard K/N)")
    return soft
