"""The simulator's web API and live page, on Klein, in the reactor that runs the EtherNet/IP server.

``GET|POST|PUT /api/<group>/<match>/<command>/<value>`` (see :mod:`.api`) replies
with the original's JSON: ``{"alarm": [], "command": {...}, "data": {...},
"since": ..., "until": <time>}``; ``=<value>`` works as ``/<value>``, and query or
body fields ``group``, ``match``, ``command``, ``value``, ``since`` override the
path (a POST/PUT body may be a form or a JSON object).  A browser asking for
``text/html`` gets the same JSON in a small HTML page; a path ending ``.json``
always gets JSON.  Refusals are JSON too: 404 for an unknown group or nothing
matched, 400 for an unknown command or a bad value (a delay or timeout over
60 s, a non-finite number, a value the tag's type cannot hold), 403 for a
state-changing request from another site (:mod:`.guard`), 405 for another
method, 414 for a URL over 8 KiB; never a traceback page.  ``GET /`` is the live page (:mod:`.web_page`).

One Klein app is built per server by :func:`make_app` (nothing is kept at module
level), and :func:`start_web` listens for it where told: only on the interface
given, so ``--web 127.0.0.1:8080`` is not reachable from other hosts.
"""

from __future__ import annotations

import html
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from klein import Klein
from twisted.web.server import Site
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from cpppo.enip.web.api import Api, ApiError, Outcome
from cpppo.enip.web.guard import Guard, channel_factory
from cpppo.enip.web.ladder import install as install_logic
from cpppo.enip.web.page import PAGE

__all__ = ["make_app", "start_web", "controller_api", "serve_site", "parse_api_path", "negotiate"]

log = logging.getLogger(__name__)

_TYPES = ("application/json", "text/javascript", "text/plain", "text/html")
_FIELDS = ("group", "match", "command", "value", "since")


def negotiate(accept: str | None, available: tuple[str, ...] = _TYPES) -> str | None:
    """The available type the ``Accept`` header prefers most (the first on a tie); None if none is acceptable."""
    best, quality = None, 0.0
    for stanza in (accept or "*/*").lower().split(","):
        parts = [p.strip() for p in stanza.split(";")]
        q = 1.0
        for p in parts[1:]:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        want = parts[0].split("/")
        for kind in available:
            have = kind.split("/")
            if len(want) == 2 and all(w in (h, "*") for h, w in zip(have, want)) and q > quality:
                best, quality = kind, q
    return best


def parse_api_path(path: str) -> tuple[list[str | None], bool]:
    """``/api/<group>/<match>/<command>/<value>`` split (each None if empty), and whether ``.json`` was asked.

    Everything after the command is the value (so a value may hold ``/``); a command
    ``name=value`` with no value after it is read as ``name/value``.
    """
    rest = unquote(path)[len("/api"):]
    rest = rest[1:] if rest.startswith("/") else rest
    parts = rest.split("/", 3) if rest else []
    parts += [""] * (4 - len(parts))
    as_json = False
    for i in range(3, -1, -1):  # the last non-empty part may end .json
        if parts[i]:
            if parts[i].endswith(".json"):
                parts[i], as_json = parts[i][:-5], True
            break
    fields: list[str | None] = [p or None for p in parts]
    command, value = fields[2], fields[3]
    if value is None and command is not None and "=" in command:
        command, value = command.split("=", 1)
        fields[2], fields[3] = command, value or None
    return fields, as_json


def _overrides(request: Any) -> dict[str, str]:
    """Query fields, then a POST/PUT body's (a form or a JSON object); later ones win."""
    fields: dict[str, str] = {}
    for key, values in (request.args or {}).items():
        name = key.decode("utf-8", "replace")
        if name in _FIELDS and values and values[-1]:
            fields[name] = values[-1].decode("utf-8", "replace")
    if request.method in (b"POST", b"PUT") and request.content is not None:
        request.content.seek(0)
        body = request.content.read(1 << 20)
        kind = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
        if body.strip():
            if kind == "application/json":
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError(400, "the request body is not JSON") from None
                if not isinstance(data, dict):
                    raise ApiError(400, "the JSON body must be an object, eg. {\"value\": 3}")
                for name in _FIELDS:
                    if data.get(name) is not None:
                        v = data[name]
                        fields[name] = v if isinstance(v, str) else json.dumps(v)
            else:
                for name, values in parse_qs(body.decode("utf-8", "replace")).items():
                    if name in _FIELDS and values[-1]:
                        fields[name] = values[-1]
    return fields


def _encode(request: Any, content: dict[str, Any], kind: str, status: int, title: str) -> bytes:
    request.setResponseCode(status)
    request.setHeader("Cache-Control", "no-cache")
    text = json.dumps(content, sort_keys=True, indent=4, default=repr)
    if kind == "text/html":
        request.setHeader("Content-Type", "text/html; charset=utf-8")
        page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
                f"</title></head>\n<body><h2>Response:</h2>\n<pre>{html.escape(text)}</pre>\n"
                f"<p><a href=\"/\">the live page</a></p></body></html>\n")
        return page.encode("utf-8")
    request.setHeader("Content-Type", f"{kind}; charset=utf-8")
    return (text + "\n").encode("utf-8")


def _refusal(message: str) -> dict[str, Any]:
    return {"alarm": [], "command": {"message": message, "success": False}, "data": {}, "since": None,
            "until": time.time(), "error": message}


def _after_reply(api: Api, transport: Any, work: list[Callable[[], Any]]) -> None:
    """Close the connection once the reply is written (loseConnection flushes first), then do *work*."""
    if transport is not None:
        transport.loseConnection()
    gone = api.until(lambda: transport is None or bool(getattr(transport, "disconnected", True)))
    gone.addTimeout(2.0, api.reactor).addBoth(lambda _: [w() for w in work])


def make_app(api: Api, guard: Guard | None = None, prefix: str = "") -> Klein:
    """A Klein app serving *api* (one per server; routes close over it).

    A request that assigns a value is first put to *guard* (403 if it refuses).  *prefix* is the
    path it is mounted under (a plant serves each controller's app under ``/<name>``).
    """
    app = Klein()

    @app.route("/", methods=["GET", "HEAD"])
    def page(request: Any) -> bytes:
        request.setHeader("Content-Type", "text/html; charset=utf-8")
        request.setHeader("Cache-Control", "no-cache")
        return PAGE.encode("utf-8")

    @app.route("/api", branch=True, methods=["GET", "HEAD", "POST", "PUT"])
    async def api_request(request: Any) -> bytes:
        path = request.path.decode("utf-8", "replace")
        (group, match, command, value), as_json = parse_api_path(path[len(prefix):] if path.startswith(prefix)
                                                                  else path)
        kind = "application/json" if as_json else negotiate(request.getHeader("accept"))
        if kind is None:
            return _encode(request, _refusal(f"cannot reply in {request.getHeader('accept')!r}; "
                                             f"available: {', '.join(_TYPES)}"), "application/json", 406, "api")
        title = "/".join(["api", group or "", match or "", command or ""])
        try:
            fields = _overrides(request)
            group = fields.get("group", group)
            match = fields.get("match", match)
            command = fields.get("command", command)
            value = fields.get("value", value)
            since = None
            if "since" in fields:
                try:
                    since = float(fields["since"])
                except ValueError:
                    raise ApiError(400, f"since {fields['since']!r} is not a time") from None
                if not math.isfinite(since):
                    raise ApiError(400, f"since {fields['since']!r} is not a time")
            refused = guard.refusal(request) if guard is not None and value is not None else None
            if refused is not None:
                raise ApiError(403, refused)
            outcome: Outcome = await api.request(group, match, command, value, since)
        except ApiError as error:
            log.info("web API %s: %s", title, error.message)
            return _encode(request, _refusal(error.message), kind, error.status, title)
        if outcome.after:  # eg. stopping the server: only once this reply has gone out
            request.setHeader("Connection", "close")
            request.notifyFinish().addBoth(lambda _: _after_reply(api, request.transport, outcome.after))
        return _encode(request, outcome.content, kind, outcome.status, title)

    @app.handle_errors(NotFound)
    def not_found(request: Any, failure: Any) -> bytes:
        return _encode(request, _refusal(f"no such page: {request.path.decode('utf-8', 'replace')} "
                                         f"(try / or /api)"), "application/json", 404, "not found")

    @app.handle_errors(MethodNotAllowed)
    def not_allowed(request: Any, failure: Any) -> bytes:
        return _encode(request, _refusal(f"method {request.method.decode()} is not allowed here"),
                       "application/json", 405, "not allowed")

    @app.handle_errors(HTTPException)
    def http_error(request: Any, failure: Any) -> bytes:
        code = getattr(failure.value, "code", 400) or 400
        return _encode(request, _refusal(str(failure.value)), "application/json", code, "error")

    @app.handle_errors(Exception)
    def failed(request: Any, failure: Any) -> bytes:
        log.error("web API %s failed: %s", request.path, failure.getTraceback())
        return _encode(request, _refusal(f"internal error: {failure.getErrorMessage()}"), "application/json", 500,
                       "error")

    return app


def start_web(server_or_service: Any, address: tuple[str, int], reactor: Any = None,
              on_done: Callable[[], Any] | None = None) -> Any:
    """Serve the web API of a :class:`~.main.Server` (or an EnipService) on *address*; returns the listening port.

    *on_done* is what ``server/control/done/true`` does once its reply is sent
    (default: stop the reactor; under twistd that stops the simulator cleanly).
    """
    if reactor is None:
        from twisted.internet import reactor
    api = controller_api(getattr(server_or_service, "service", server_or_service), reactor, on_done)
    guard = Guard()
    return serve_site(make_app(api, guard).resource(), guard, address, reactor, "Web API listening")


def controller_api(service: Any, reactor: Any, on_done: Callable[[], Any] | None = None) -> Api:
    """The web API of one controller (*service*: what has its ``controller`` and ``transport``), with
    ``server/logic`` when it runs a program: one simulator's at ``/``, each of a plant's at ``/<name>/``."""
    api = Api(service, reactor, on_done=on_done)
    install_logic(api)
    return api


def serve_site(root: Any, guard: Guard, address: tuple[str, int], reactor: Any, what: str) -> Any:
    """Serve the web resource *root* on *address* (only on that interface), *guard* told where it is bound;
    returns the listening port.  A plant's web index is served the same way (:mod:`cpppo.plant.web`)."""
    site = Site(root)
    site.displayTracebacks = False
    site.protocol = channel_factory  # type: ignore[method-assign]
    host, port = address
    listening = reactor.listenTCP(port, site, interface=host)
    bound = listening.getHost()
    guard.bind(host, bound.host, bound.port)
    log.log(getattr(logging, "NORMAL", logging.INFO), "%s on http://%s:%d/", what, bound.host, bound.port)
    return listening
