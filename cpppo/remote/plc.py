"""What every PLC poller offers, and a simulated one: ``poller``, ``poller_simulator``, ``PlcOffline``.

Why: the original's scripts (and :mod:`cpppo.remote.io`) talk to any PLC through one small API:
``poll(address, rate)`` to keep an address fresh, ``read(address)`` for its latest value (None while
the PLC is offline), ``write(address, value)`` (``PlcOffline`` while offline) and ``forget(address)``.
:class:`cpppo.remote.plc_modbus.poller_modbus` talks Modbus on the reactor; ``poller`` itself only
remembers what it is told (a PLC of memory), and ``poller_simulator`` lets a written value appear
only at the next poll, as a real PLC's would.

Subclasses override the protected steps: ``_poll`` (start polling an address), ``_write`` (send a
value), ``_receive`` (take in what arrived) and ``_store`` (keep values read).
"""

from __future__ import annotations

import collections
import logging
import reprlib
from collections.abc import Callable
from typing import Any

from .. import misc

__all__ = ["PlcOffline", "poller", "poller_simulator"]

log = logging.getLogger(__name__)


class PlcOffline(Exception):
    """The PLC is offline: a write cannot be delivered."""


class poller:
    """A PLC that remembers what is written to it; online until told otherwise (``.online = False``).

    Args:
        description: a name for logs (by default the object's id).
        rate: the poll period in seconds (``poll`` may lower it).
    """

    def __init__(self, description: Any = None, rate: float | None = None) -> None:
        self.description = id(self) if description is None else description
        self.online = True
        self.rate = rate
        self._data: dict[int, Any] = {}

    def poll(self, address: int, rate: float | None = None) -> None:
        """Poll *address* from now on, at *rate* seconds or faster."""
        if rate is not None:
            self.rate = min(self.rate or rate, rate)
        self._poll(address)

    def read(self, address: int) -> Any:
        """The latest value of *address* (polling it from now on); None while offline."""
        self._poll(address)
        self._receive()
        value = self._data[address] if self.online else None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s/%6d %s> %s", self.description, address, "--" if self.online else "-x", reprlib.repr(value))
        return value

    def write(self, address: int, value: Any, **kwargs: Any) -> None:
        """Write *value* (one, or a sequence at consecutive addresses) to *address*.

        Raises:
            PlcOffline: the PLC is offline.
        """
        count = len(value) if hasattr(value, "__len__") else 1
        getattr(log, "detail" if self.online else "normal")(
            "%s/%6d <%s (%3d) %s", self.description, address, "==" if self.online else "x=", count,
            reprlib.repr(value))
        if not self.online:
            raise PlcOffline(f"Write to PLC {self.description}/{address:6d} failed: Offline")
        self._write(address, value, **kwargs)

    def forget(self, address: int) -> None:
        """Drop what is known of *address* (it reads None until polled again)."""
        self._forget(address)

    # --- the steps a real PLC overrides ---
    def _poll(self, address: int) -> None:
        self._data.setdefault(address, None)

    def _write(self, address: int, value: Any, **kwargs: Any) -> None:
        self._store(address, value)

    def _store(self, address: int, value: Any, create: bool = True) -> None:
        """Keep *value* (or each of a sequence, at consecutive addresses) while online; without
        *create*, only at addresses already known (a bit read returns more than was asked for)."""
        values = value if hasattr(value, "__getitem__") else [value]
        if self.online:
            for offset, item in enumerate(values):
                if create or address + offset in self._data:
                    self._data[address + offset] = item

    def _receive(self) -> None:
        """Take in values that have arrived (nothing to do for a PLC of memory)."""

    def _forget(self, address: int) -> None:
        self._data[address] = None


class poller_simulator(poller):
    """A PLC that shows each written value only once a poll has passed after the write.

    A new address starts at 0.  Values written while offline are lost, except the last one written
    (which a real PLC would show once it is back).  *timer* is the clock (by default cpppo's).
    """

    def __init__(self, description: Any, timer: Callable[[], float] | None = None, **kwargs: Any) -> None:
        super().__init__(description=description, **kwargs)
        self._timer = timer or misc.timer
        self._cache: dict[int, collections.deque[tuple[float, Any]]] = {}
        self._polled = self._timer()

    def _poll(self, address: int) -> None:
        if address not in self._data:
            self._write(address, 0)
        super()._poll(address)

    def _write(self, address: int, value: Any, **kwargs: Any) -> None:
        self._cache.setdefault(address, collections.deque()).append((self._timer(), value))

    def _receive(self) -> None:
        """Once a poll period has passed, store the values written before that poll."""
        if self.rate is None or self._polled + self.rate > self._timer():
            return
        self._polled += self.rate
        for address, pending in self._cache.items():
            while pending:
                when, value = pending[0]
                if when > self._polled:
                    break
                if self.online or len(pending) > 1:
                    self._store(address, value)
                if not self.online:
                    break
                pending.popleft()
