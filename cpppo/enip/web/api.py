"""The web API's model: the original cpppo's groups, glob matching and commands, without HTTP.

The original answers ``/api/<group>/<match>/<command>/<value>`` by looking up every
object of a matching *group* (``options``, ``server``, ``tags``, ``connections``)
whose name matches *match* (shell globs; both default to ``*``), doing
``<command> = <value>`` on each, and replying with everything matched.  Here
each group is a function of the running controller and of its transport's
connection records (nothing is copied, so a reply shows what EtherNet/IP
clients see at that moment), and each matched object is
a :class:`Target` that knows its own commands.  :meth:`Api.request` returns an
:class:`Outcome`; :mod:`.web` turns that into HTTP.

Commands change the service immediately: ``options/delay/value`` is read for the
very next reply, ``tags/X/attribute[i]`` writes through the tag's Attribute (the
same object EtherNet/IP writes reach), ``server/control/disable`` and
``connections/*/eof`` wait (at most ``server/control/timeout`` seconds) until the
ports and connections are really closed, so a script may act on the reply.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, task
from twisted.python.failure import Failure

from cpppo.enip.codec.codes import explain
from cpppo.enip.simulator.controller.device import Refusal
from cpppo.enip.simulator.options import parse_delay
from cpppo.enip.web.values import BadValue, is_structure, parse, show

__all__ = ["Api", "ApiError", "Outcome", "Target", "GROUPS"]

log = logging.getLogger(__name__)

#: The groups, in the order the original reports them.
GROUPS = ("options", "server", "tags", "connections")
#: The most elements one ``attribute[a:b]`` read returns (bounds a reply's size).
MAX_ELEMENTS = 10000
#: The longest delay, latency or timeout the API sets: a peer may hold replies, not stall them for ever.
MAX_SECONDS = 60.0
#: How many leading elements a tag's summary shows.
SUMMARY_ELEMENTS = 10

_INDEXED = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\[(?P<start>\d+)(?::(?P<stop>\d+))?\])?$")


class ApiError(Exception):
    """A request the API refuses: *status* is its HTTP status (400 bad command or value, 404 nothing there)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Outcome:
    """What one API request did: the original's reply ``content``, an HTTP status, and work for after the reply."""

    content: dict[str, Any]
    status: int = 200
    after: list[Callable[[], Any]] = field(default_factory=list)


def parse_bool(text: str) -> bool:
    """The original's rule: true/yes or false/no, else a number (0 is false)."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return bool(int(lowered))
    except ValueError:
        raise ApiError(400, f"{text!r} is not true/false") from None


def parse_seconds(text: str) -> float:
    """Seconds from 0 to :data:`MAX_SECONDS` (``1e308`` or ``inf`` would stall every reply for good)."""
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        raise ApiError(400, f"{text!r} is not a number of seconds from 0 to {MAX_SECONDS:g}")
    return value


class Target:
    """One matched object: its data for the reply, and the commands it answers."""

    commands: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        raise NotImplementedError

    def has(self, command: str) -> bool:
        match = _INDEXED.match(command)
        return match is not None and match.group("name") in self.commands

    def get(self, command: str) -> Any:
        """The current value of *command* (may be a Deferred)."""
        return self.data()[command]

    def set(self, command: str, value: str) -> Any:
        """Assign *value* (text) to *command*; returns the value assigned (or a Deferred of it)."""
        raise ApiError(400, f"{command} cannot be assigned")


class Delay(Target):
    """``options/delay``: ``value`` (seconds) and ``range`` (``low-high``, a fresh draw for every reply)."""

    commands = ("value", "range")

    def __init__(self, controller: Any) -> None:
        self.controller = controller

    def data(self) -> dict[str, Any]:
        delay = self.controller.delay
        if isinstance(delay, tuple):
            # The original re-draws its value from the range every second; here every reply draws its own.
            return {"value": self.controller.reply_delay(), "range": f"{delay[0]:g}-{delay[1]:g}"}
        return {"value": float(delay)}

    def get(self, command: str) -> Any:
        if command == "range" and not isinstance(self.controller.delay, tuple):
            return None
        return self.data()[command]

    def set(self, command: str, value: str) -> Any:
        if command == "value":
            self.controller.delay = parse_seconds(value)
            return self.controller.delay
        try:
            delay = parse_delay(value)
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        if not all(math.isfinite(d) and d <= MAX_SECONDS for d in (delay if isinstance(delay, tuple) else (delay,))):
            raise ApiError(400, f"delay range {value!r}: at most {MAX_SECONDS:g} s")
        self.controller.delay = delay if isinstance(delay, tuple) else (delay, delay)
        return self.data()["range"]


class Control(Target):
    """``server/control``: ``disable``, ``done``, ``latency``, ``timeout``.

    The original's threads polled their sockets every ``latency`` seconds and the web
    API waited ``timeout`` for them to see a change.  On the reactor nothing polls, so
    ``latency`` is only kept and reported; ``timeout`` bounds how long a disable or
    an eof may take before the reply says it failed.
    """

    commands = ("disable", "done", "latency", "timeout")

    def __init__(self, api: Api) -> None:
        self.api = api

    def data(self) -> dict[str, Any]:
        return {"disable": bool(self.api.transport.disabled), "done": self.api.done,
                "latency": self.api.latency, "timeout": self.api.timeout}

    def set(self, command: str, value: str) -> Any:
        api = self.api
        if command in ("latency", "timeout"):
            setattr(api, command, parse_seconds(value))
            return getattr(api, command)
        flag = parse_bool(value)
        if command == "done":
            if flag and not api.done:
                api.done = True
                api.pending.append(api.on_done)
            return flag
        done = defer.maybeDeferred(api.transport.disable, flag)
        return api.bounded(done, f"server.control.disable={flag}").addCallback(lambda _: flag)


class Statistics(Target):
    """``server/statistics`` (not in the original): request and client counts, for the live page's rate."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def data(self) -> dict[str, Any]:
        controller = self.api.controller
        return {"requests": controller.requests, "clients": len(self.api.transport.links),
                "uptime": round(time.time() - self.api.started, 3),
                "product_name": controller.identity.product_name}


class Fault(Target):
    """``server/fault`` (not in the original): the controller's major and minor fault codes, as its
    fault record (class 0x73) shows them to clients; ``clear/true`` sets both back to 0."""

    commands = ("major", "minor", "clear")

    def __init__(self, controller: Any) -> None:
        self.controller = controller

    def data(self) -> dict[str, Any]:
        record = self.controller.fault
        return {"major": record.major, "minor": record.minor, "clear": not record.faulted}

    def set(self, command: str, value: str) -> Any:
        record = self.controller.fault
        if command == "clear":
            if parse_bool(value):
                self.controller.clear_fault()
            return not record.faulted
        try:
            code = int(value, 0)
            if not 0 <= code <= 0xFFFF:
                raise ValueError
            major, minor = (code, record.minor) if command == "major" else (record.major, code)
            self.controller.set_fault(major, minor)
        except ValueError:
            raise ApiError(400, f"fault {command} {value!r} is not a UINT (0 to 65535)") from None
        return code


class Tag(Target):
    """``tags/<name>``: ``error`` (a CIP status forced on every access) and ``attribute[i]`` / ``attribute[a:b]``.

    Reads and writes of elements go through the tag's Attribute, as EtherNet/IP ones do
    (so a customised Attribute sees them); the summary in ``data`` reads the stored value.
    Structure tags show and take JSON (:mod:`.web_values`).
    """

    commands = ("attribute", "error")

    def __init__(self, api: Api, attribute: Any) -> None:
        self.api = api
        self.attribute = attribute

    def summary(self) -> str:
        """``SCADA INT[1000] == [0, 0, ...]`` from the stored value: no read through the Attribute."""
        attribute = self.attribute
        shape = "" if getattr(attribute, "scalar", False) else f"[{len(attribute)}]"
        value = getattr(attribute, "value", None)
        if is_structure(attribute):
            shown = min(len(attribute), SUMMARY_ELEMENTS)
            elements = show(attribute, bytes(attribute.raw[:shown * attribute.structure.size]))
            value = json.dumps(elements[0] if attribute.scalar else elements + (
                ["..."] if len(attribute) > shown else []))
        elif isinstance(value, list):
            head = ", ".join(repr(v) for v in value[:SUMMARY_ELEMENTS])
            value = f"[{head}{', ...' if len(value) > SUMMARY_ELEMENTS else ''}]"
        return f"{attribute.name} {attribute.cip.name}{shape} == {value}"

    def data(self) -> dict[str, Any]:
        return {"attribute": self.summary(), "error": self.attribute.error, "type": self.attribute.cip.name,
                "length": len(self.attribute)}

    def _span(self, command: str) -> tuple[int, int | None]:
        """The first element and the end of a span (None for one element, or for the whole tag)."""
        match = _INDEXED.match(command)
        assert match is not None
        if match.group("start") is None:
            return 0, None
        start = int(match.group("start"))
        stop = int(match.group("stop")) if match.group("stop") is not None else None
        size = len(self.attribute)
        if start >= size or (stop is not None and not start < stop <= size):
            raise ApiError(400, f"{command}: {self.attribute.name} has elements 0 to {size - 1}")
        if stop is not None and stop - start > MAX_ELEMENTS:
            raise ApiError(400, f"{command}: at most {MAX_ELEMENTS} elements at a time")
        return start, stop

    def get(self, command: str) -> Any:
        if command == "error":
            return self.attribute.error
        if not command.endswith("]"):
            return self.summary()
        start, stop = self._span(command)
        one = stop is None
        values = defer.maybeDeferred(self.attribute.__getitem__, slice(start, start + 1 if one else stop))
        return values.addCallback(lambda v: show(self.attribute, v)[0] if one else show(self.attribute, v))

    def set(self, command: str, value: str) -> Any:
        attribute = self.attribute
        if command == "error":
            try:
                status = int(value, 0)
            except ValueError:
                status = -1
            if not 0 <= status <= 0xFF:
                raise ApiError(400, f"error {value!r} is not a CIP status 0 to 255")
            self.api.controller.set_error(attribute.name, status)
            return status
        one = command.endswith("]") and ":" not in command
        if command.endswith("]"):
            start, stop = self._span(command)
            count = None if stop is None else stop - start
        else:  # the whole tag from element 0: a JSON list
            start, count = 0, _list_length(value)
        size = len(attribute)
        if start + (count or 1) > size:
            raise ApiError(400, f"{command}: {count} values do not fit {attribute.name}[{size}]")
        current = None
        if is_structure(attribute):
            width = attribute.structure.size
            current = [bytes(attribute.raw[i * width:(i + 1) * width]) for i in range(start, start + (count or 1))]
        try:
            values = parse(attribute, value, current, count)
        except BadValue as error:
            raise ApiError(400, f"{attribute.name}.{command}: {error}") from None
        span = slice(start, start + len(values))
        stored = b"".join(values) if is_structure(attribute) else values
        done = defer.maybeDeferred(attribute.__setitem__, span, stored)

        def written(_: Any) -> Any:
            on_access = self.api.controller.tags.on_access
            if on_access is not None:  # -p/--print shows web writes as it does EtherNet/IP ones
                on_access("write", attribute, span.start, span.stop, values)
            shown = show(attribute, stored)
            return shown[0] if one else shown
        return done.addCallback(written)


def _list_length(text: str) -> int:
    try:
        items = json.loads(text)
    except ValueError:
        items = None
    if not isinstance(items, list) or not items:
        raise ApiError(400, f"{text!r}: the whole tag takes a JSON list of values from element 0, eg. [1,2,3]")
    return len(items)


class Connection(Target):
    """``connections/<key>``: a client's counts (its :class:`~cpppo.enip.simulator.transport.Link`);
    ``eof`` true closes it."""

    commands = ("eof",)

    def __init__(self, api: Api, link: Any) -> None:
        self.api = api
        self.link = link

    def data(self) -> dict[str, Any]:
        link = self.link
        return {"interface": link.host, "port": link.port, "received": link.received, "requests": link.requests,
                "eof": bool(link.eof)}

    def set(self, command: str, value: str) -> Any:
        if not parse_bool(value):
            return False  # an open connection stays open; a closed one cannot be reopened
        link = self.link
        if not link.eof:
            link.close()
        gone = self.api.until(lambda: link not in self.api.transport.links)
        return self.api.bounded(gone, f"connections.{link.key}.eof=true").addCallback(lambda _: True)


class Api:
    """The API of one served controller (a :class:`~cpppo.enip.simulator.service.EnipService`: its
    ``controller`` and its ``transport``, whose connection records the ``connections`` group shows).

    *on_done* is called (after the reply is sent) when ``server/control/done`` is set
    true: by default it stops the reactor, which under twistd stops the service cleanly.
    """

    def __init__(self, service: Any, reactor: Any = None, on_done: Callable[[], Any] | None = None,
                 latency: float = 0.1, timeout: float = 5.0) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.service = service
        self.controller = service.controller
        self.transport = service.transport
        self.reactor = reactor
        self.on_done = on_done or (lambda: reactor.running and reactor.stop())
        self.latency = latency
        self.timeout = timeout
        self.done = False
        self.started = time.time()
        self.pending: list[Callable[[], Any]] = []  # work for after the current reply
        #: More ``server/<name>`` targets, made afresh for each request (``server/logic``: .logic.install).
        self.server_targets: dict[str, Callable[[], Target]] = {}

    # --- the groups -------------------------------------------------------------------
    def group(self, name: str) -> dict[str, Target]:
        if name == "options":
            return {"delay": Delay(self.controller)}
        if name == "server":
            return {"control": Control(self), "statistics": Statistics(self), "fault": Fault(self.controller),
                    **{name: make() for name, make in self.server_targets.items()}}
        if name == "tags":
            return {attribute.name: Tag(self, attribute) for attribute in self.controller.tags}
        return {link.key: Connection(self, link) for link in list(self.transport.links) if not link.eof}

    # --- waiting, bounded ---------------------------------------------------------------
    def until(self, condition: Callable[[], bool], interval: float = 0.01) -> defer.Deferred:
        """Fires when *condition()* is true (checked every *interval* seconds on the reactor)."""
        if condition():
            return defer.succeed(None)
        done: defer.Deferred = defer.Deferred()

        def check() -> None:
            if condition():
                loop.stop()
                if not done.called:
                    done.callback(None)
        def failed(failure: Failure) -> None:
            if not done.called:
                done.errback(failure)

        def stop(result: object) -> object:
            if loop.running:
                loop.stop()
            return result
        loop = task.LoopingCall(check)
        loop.clock = self.reactor
        loop.start(interval, now=False).addErrback(failed)
        done.addBoth(stop)
        return done

    def bounded(self, work: defer.Deferred, what: str) -> defer.Deferred:
        """*work*, failed with an ApiError if it takes longer than ``timeout`` seconds."""
        def late(failure: Any) -> Any:
            if failure.check(defer.TimeoutError, defer.CancelledError):
                raise ApiError(400, f"{what}: not done within {self.timeout:g} s (server/control/timeout)")
            return failure
        return work.addTimeout(self.timeout, self.reactor).addErrback(late)

    # --- one request --------------------------------------------------------------------
    async def request(self, group: str | None, match: str | None, command: str | None, value: str | None,
                      since: float | None = None) -> Outcome:
        """Do ``<group>.<match>.<command> = <value>`` on everything matched; the reply's content."""
        group, match = group or "*", match or "*"
        groups = [g for g in GROUPS if fnmatch.fnmatchcase(g, group)]
        content: dict[str, Any] = {"alarm": [], "command": None, "data": {}, "since": since, "until": time.time()}
        if not groups:
            raise ApiError(404, f"no group matches {group!r} (one of {', '.join(GROUPS)})")
        matched = [(g, name, target) for g in groups for name, target in self.group(g).items()
                   if fnmatch.fnmatchcase(name, match)]
        if command is not None:
            if not matched:
                raise ApiError(404, f"nothing in {group!r} matches {match!r}")
            able = [m for m in matched if m[2].has(command)]
            if not able:
                known = sorted({c for _, _, t in matched for c in t.commands})
                raise ApiError(400, f"{group}.{match}: no command {command!r} (commands: {', '.join(known)})")
            content["command"] = await self._command(able, command, value)
        elif matched:
            content["command"] = {}
        for g, name, target in matched:
            content["data"].setdefault(g, {})[name] = target.data()
        content["until"] = time.time()
        after, self.pending = self.pending, []
        return Outcome(content, after=after)

    async def _command(self, matched: list[tuple[str, str, Target]], command: str,
                       value: str | None) -> dict[str, Any]:
        messages, results = [], []
        for g, name, target in matched:
            where = f"{g}.{name}.{command}"
            try:
                if value is None:
                    result = await defer.maybeDeferred(target.get, command)
                    messages.append(f"{where}: {result!r}")
                else:
                    result = await defer.maybeDeferred(target.set, command, value)
                    messages.append(f"{where}={value!r} ({result!r})")
            except Refusal as error:  # a customised Attribute refused: as a client would be told
                raise ApiError(400, f"{where}: refused: {explain(error.status, error.extended)}: {error}") from None
            results.append(result)
            log.info("web API: %s", messages[-1])
        reply: dict[str, Any] = {"message": "; ".join(messages), "success": True}
        if value is None:
            reply["value"] = results[0] if len(results) == 1 else results
        return reply
