"""Remote I/O over any PLC poller: single points (``input``, ``output``), their event logs
(``input_event``, ``output_event``), and devices made of several points (``device``, ``motor``).

Why: the original's HMI scripts describe a plant as points on a PLC (``input(plc, 40001)``) and
devices made of them (a ``motor`` with auto, run, start, fault, e-stop and reset points), read
``.value`` (None while the PLC is offline) and set it to write.  Any poller of
:mod:`cpppo.remote.plc` serves: ``poller_modbus`` for a real PLC, ``poller_simulator`` for a test.
Each point can keep an event log (newest first) that a web page shows; ``retain`` bounds it: past
that age, only the latest event of each point is kept.
"""

from __future__ import annotations

import json
import logging
import random
import reprlib
from collections.abc import Callable, Iterator
from typing import Any

from .. import misc

__all__ = ["address", "input", "output", "capture", "input_event", "output_event", "device", "motor",
           "motor_simulator"]

log = logging.getLogger(__name__)

#: What capture.level / capture.formatter receive: (what, last value, new value).
Judge = Callable[[int, Any, Any], Any]


class address:
    """A point on a PLC: the poller, its address, and a description for logs."""

    def __init__(self, plc: Any, address: int, description: str | None = None) -> None:
        self._plc = plc
        self._address = address
        self._descr = description if description is not None else f"{plc.description}/{address:6d}"


class input(address):  # noqa: A001 -- the original's name, part of its API
    """A point polled at *rate*; ``.value`` is its latest value (None while the PLC is offline)."""

    def __init__(self, plc: Any, address: int, description: str | None = None, rate: float = 0.25) -> None:
        super().__init__(plc, address, description=description)
        plc.poll(address, rate=rate)
        self._last: Any = None

    def changed(self, last: Any, chng: Any) -> None:
        """Called when a read finds a new value (an offline None is no change)."""
        log.info("%s ==> %-10s (was: %s)", self._descr, reprlib.repr(chng), reprlib.repr(last))

    def _value_get(self) -> Any:
        curr = self._plc.read(self._address)
        if curr is not None and self._last != curr:
            self.changed(self._last, curr)
            self._last = curr
        return curr

    value = property(_value_get)


class output(input):
    """A point that can also be written: ``point.value = 1`` (raises while the PLC is offline)."""

    def rejected(self, last: Any, chng: Any) -> None:
        log.warning("%s <x= %-10s (now: %s)", self._descr, reprlib.repr(chng), reprlib.repr(last))

    def modified(self, last: Any, chng: Any) -> None:
        log.info("%s <== %-10s (now: %s)", self._descr, reprlib.repr(chng), reprlib.repr(last))

    def _value_set(self, chng: Any) -> None:
        try:
            self._plc.write(self._address, chng)
        except Exception:
            self.rejected(self._last, chng)
            raise
        self.modified(self._last, chng)

    value = property(input._value_get, _value_set)


class capture:
    """An event log for a point (or device) with a ``_descr``: each event is a dict of "time",
    "level", "group", "description" and "message", newest first.

    *level* (a number, or ``level(what, last, chng)``) gives an event's level; None or a negative
    level records nothing.  *formatter(what, last, chng)* gives its message (by default the values).
    """

    CHANGED = 1
    REJECTED = 2
    MODIFIED = 3

    _descr: str

    def __init__(self, *args: Any, retain: float | None = None, group: str | None = None, level: Any = None,
                 formatter: Judge | None = None, **kwargs: Any) -> None:
        self._events: list[dict[str, Any]] = []
        self._retain = retain
        self._group = "" if group is None else group
        self._level = level
        self._formatter = formatter
        super().__init__(*args, **kwargs)   # the point it logs for (composed after it), if any

    def remember(self, what: int, last: Any, chng: Any) -> None:
        level = self._level(what, last, chng) if callable(self._level) else self._level
        if level is None or level < 0:
            return
        message = (self._formatter(what, last, chng) if self._formatter
                   else f"{reprlib.repr(chng)} (was {reprlib.repr(last)})")
        self._events.insert(0, {"time": misc.timer(), "level": level, "group": self._group,
                                "description": self._descr, "message": message})

    def events(self, since: float | None = None, purge: bool = False) -> Iterator[dict[str, Any]]:
        """Yield the events newer than *since* (none when since is None); with *retain*, a complete
        pass also drops events older than retain seconds, except each description's newest."""
        seen: set[str] = set()
        kept = []
        now = misc.timer()
        for event in self._events:
            if self._retain:
                if event["description"] in seen and event["time"] + self._retain < now:
                    continue
                seen.add(event["description"])
                kept.append(event)
            if since is not None and event["time"] > since:
                yield event
        if self._retain:
            self._events = kept


class input_event(capture, input):
    """An input that logs its changes: ``input_event(plc, address, retain=, group=, level=, formatter=)``."""

    def changed(self, last: Any, chng: Any) -> None:
        self.remember(capture.CHANGED, last, chng)
        super().changed(last, chng)


class output_event(input_event, output):
    """An output that logs its changes, and the writes made and refused."""

    def rejected(self, last: Any, chng: Any) -> None:
        self.remember(capture.REJECTED, last, chng)
        super().rejected(last, chng)

    def modified(self, last: Any, chng: Any) -> None:
        self.remember(capture.MODIFIED, last, chng)
        super().modified(last, chng)


class device:
    """Something made of points: a group, a unique identity, a description; ``str()`` is its public
    attributes as JSON."""

    def __init__(self, group: str, identity: str, description: str) -> None:
        self._group = group
        self._ident = identity
        self._descr = description

    @property
    def group(self) -> str:
        return self._group

    @property
    def identity(self) -> str:
        return self._ident

    @property
    def description(self) -> str:
        return self._descr

    def __str__(self) -> str:
        pairs = {a: getattr(self, a) for a in dir(self) if not a.startswith("_") and a != "events"}
        return json.dumps(pairs, sort_keys=True, indent=4)

    __repr__ = __str__


def _levels(what: int, last: Any, chng: Any) -> int | None:
    """A motor's default event levels: refused writes ERROR, writes WARNING (set) or INFO
    (cleared), changes INFO (set) or NOTSET (cleared), an offline None nothing."""
    if what == capture.REJECTED:
        return logging.ERROR
    if what == capture.MODIFIED:
        return logging.WARNING if chng else logging.INFO
    if chng is not None:
        return logging.INFO if chng else logging.NOTSET
    return None


def _levels_from(base: int) -> Judge:
    def judge(what: int, last: Any, chng: Any) -> int | None:
        level = _levels(what, last, chng)
        return None if level is None else base + level
    return judge


def _inverted(judge: Judge) -> Judge:
    """For negative logic (fault: False means faulted): judge the inverted values."""
    return lambda what, last, chng: judge(what, None if last is None else not last, None if chng is None else not chng)


def _says(on: str, off: str) -> Judge:
    return lambda what, last, chng: on if chng else off


def _written(sent: str, unsent: str, on: str, off: str) -> Judge:
    def message(what: int, last: Any, chng: Any) -> str:
        if what == capture.MODIFIED and chng and not last:
            return sent
        if what == capture.MODIFIED and last and not chng:
            return unsent
        return on if chng else off
    return message


def _boolean(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _truth(value: Any) -> bool:
    """A value a web form sends ("true", "False", "1") or a plain value, as a bool."""
    return bool(json.loads(value.lower()) if isinstance(value, str) else value)


def _reading(point: str) -> property:
    """A motor's boolean view of one of its points (None while the PLC is offline)."""
    return property(lambda self: _boolean(getattr(self, point).value))


def _control(point: str) -> property:
    """... that can also be set (to a bool, or a web form's "true"/"false")."""
    def write(self: Any, value: Any) -> None:
        getattr(self, point).value = _truth(value)
    return property(lambda self: _boolean(getattr(self, point).value), write)


class motor(device):
    """A motor's status and control over six PLC points: *auto* (Hand/Auto switch; true in Auto),
    *running*, *start* (write true to start, false to stop), *fault* (negative logic: false when
    faulted), *estop* (true when the E-Stop is active) and *reset* (write true to reset a fault).

    ``events()`` gives all six points' events; ``status`` is one of offline, fault, starting,
    stopping, started, stopped.
    """

    def __init__(self, group: str, identity: str, description: str, plc: Any, auto: int, running: int,
                 start: int, fault: int, estop: int, reset: int, rate: float = 0.25, events: Any = None,
                 retain: float = 5 * 60) -> None:
        super().__init__(group, identity, description)

        def point(kind: type, addr: int, name: str, level: Judge, formatter: Judge) -> Any:
            return kind(plc, address=addr, rate=rate, description=f"{identity!s:>6}.{name:<6}", retain=retain,
                        group=group, level=level, formatter=formatter)

        self._auto = point(input_event, auto, "auto", _levels, _says("Auto", "Hand"))
        self._running = point(input_event, running, "run", _levels, _says("On", "Off"))
        self._fault = point(input_event, fault, "fault", _inverted(_levels_from(logging.WARNING)),
                            _says("Faulted Cleared", "Fault"))
        self._estop = point(input_event, estop, "estop", _levels_from(logging.WARNING),
                            _says("E-Stop", "E-Stop Cleared"))
        self._start = point(output_event, start, "start", _levels_from(0),
                            _written("Start Sent", "Stop Sent", "Started", "Stopped"))
        self._reset = point(output_event, reset, "reset", _levels,
                            _written("Reset Sent", "Reset Disarm", "Reset", "Reset Armed"))

    def events(self, since: float | None = None, purge: bool = False) -> Iterator[dict[str, Any]]:
        for point in (self._auto, self._start, self._running, self._fault, self._estop, self._reset):
            yield from point.events(since=since, purge=purge)

    @property
    def online(self) -> bool:
        return bool(self._auto._plc.online)

    auto = _reading("_auto")

    running = _reading("_running")

    @property
    def fault(self) -> bool | None:
        """True when faulted (the point is negative logic)."""
        value = self._fault.value
        return None if value is None else not value

    estop = _reading("_estop")

    reset = _control("_reset")

    start = _control("_start")

    @property
    def status(self) -> str:
        if not self.online:
            return "offline"
        if self.fault:
            return "fault"
        running, auto, start = self.running, self.auto, self.start
        if auto and not start and running:
            return "stopping"
        if auto and start and not running:
            return "starting"
        return "started" if running else "stopped"


class motor_simulator(motor):
    """A motor whose PLC points change by themselves, as a plant's would, each time ``status`` is
    read: now and then the PLC drops offline, the E-Stop trips, the switch goes to Hand; a started
    motor comes up running (or faults), a fault is reset.  *chance* is the random source (a seeded
    ``random.Random`` makes a run repeatable)."""

    def __init__(self, *args: Any, chance: random.Random | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chance = chance or random.Random()
        try:
            self._auto._plc.write(self._auto._address, True)
            self.reset = True
        except Exception:  # the PLC is not online yet: it will be set up as it comes
            pass

    def _set(self, point: Any, value: Any) -> None:
        point._plc.write(point._address, value)

    @property
    def status(self) -> str:
        roll = self._chance.random
        plc = self._auto._plc
        if plc.online and roll() < 0.0001:
            plc.online = False
            log.info("%s: PLC offline", self.identity)
        elif not plc.online and roll() < 0.001:
            plc.online = True
            log.info("%s: PLC online", self.identity)
        try:
            self._simulate(roll)
        except Exception as exc:
            log.warning("motor simulator failure: %s", exc)
        return super().status

    def _simulate(self, roll: Callable[[], float]) -> None:
        if roll() < (0.001 if self.estop else 0.0001):
            self._set(self._estop, not self.estop)
        if roll() < (0.0001 if self.auto else 0.001):
            self._set(self._auto, not self.auto)
        if self.start and (self.fault or self.estop or not self.auto):
            self._set(self._start, False)
        if self.fault and (self.reset or not self.auto):
            self._set(self._fault, True)   # negative logic: cleared
            self.reset = False
        if not self.auto:
            return
        if roll() < 0.001:
            self._set(self._start, not self.start)
        if self.start and not self.running:
            if not self.fault and roll() < 0.10:
                self._set(self._running, True)
            elif roll() < 0.02:
                self._set(self._fault, False)
        elif not self.start and self.running:
            if not self.fault and roll() < 0.10:
                self._set(self._running, False)
            elif roll() < 0.01:
                self._set(self._fault, False)
        if self.fault and roll() < 0.005:
            self._set(self._reset, True)
