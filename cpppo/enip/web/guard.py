"""What keeps the web API's state-changing requests to the clients it was documented for.

The original documents ``GET /api/.../<command>/<value>`` for ``curl`` and scripts, so a
GET may still write a tag or disable the server.  That also lets any page a browser on
the host opens do it (``<img src="http://127.0.0.1:8080/api/server/control/disable/true">``),
and a name the attacker's DNS re-points at 127.0.0.1 (DNS rebinding) reach it as its own
origin.  A browser always says where a request comes from (``Origin``, ``Referer``,
``Sec-Fetch-Site``) and which host it thinks it asks (``Host``); curl and scripts send none
of the first three and the host they were given.  So :class:`Guard` refuses (403) a
state-changing request that names another origin, or a ``Host`` that is not an address
the server is bound to, and lets everything else through unchanged.

:class:`BoundedChannel` answers a request line over :data:`MAX_URL` bytes with a 414,
where Twisted would answer 400 (8-16 KiB) or drop the connection (over 16 KiB).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from twisted.web import http

__all__ = ["Guard", "BoundedChannel", "MAX_URL", "channel_factory"]

#: The longest request line (method, URL, version) answered; a longer one gets 414.
MAX_URL = 8192

_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_WILDCARD = ("", "0.0.0.0", "::")


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``host[:port]`` (``[v6]:port`` too) as (lowercased host, port or None); None if malformed."""
    try:
        parts = urlsplit("//" + value.strip())
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Guard:
    """Refusal reasons for state-changing requests; told where the server is bound by :meth:`bind`."""

    def __init__(self) -> None:
        self.port: int | None = None
        self.hosts: set[str] = set(_LOOPBACK)
        self.any_ip = False

    def bind(self, given: str, bound_host: str, bound_port: int) -> None:
        """The server listens on *bound_host*:*bound_port*, asked for as *given* (a name, an address or empty).

        Bound to every interface, any address literal is one of ours (a rebinding
        attack needs a name) and so is this machine's name.
        """
        self.port = bound_port
        self.hosts.update(h.lower() for h in (given, bound_host) if h)
        if given in _WILDCARD or bound_host in _WILDCARD:
            self.any_ip = True
            self.hosts.add(socket.gethostname().lower())

    def _ours(self, host: str, port: int | None) -> bool:
        if (port or 80) != self.port:
            return False
        return host in self.hosts or (self.any_ip and _is_ip(host))

    def refusal(self, request: Any) -> str | None:
        """Why *request* may not change anything (None if it may)."""
        host_header = request.getHeader("host")
        if host_header is not None:
            split = _split_host(host_header)
            if split is None or not self._ours(*split):
                return (f"Host {host_header!r} is not an address this server is bound to "
                        f"(use http://127.0.0.1:{self.port}/ or the address given to --web)")
        site = (request.getHeader("sec-fetch-site") or "").strip().lower()
        if site and site not in ("same-origin", "none"):
            return f"a {site} request may not change the simulator (Sec-Fetch-Site)"
        for name in ("origin", "referer"):
            value = request.getHeader(name)
            if value is None:
                continue
            parts = urlsplit(value.strip())
            try:
                port = parts.port
            except ValueError:
                port = -1
            same = (parts.scheme == "http" and host_header is not None
                    and ((parts.hostname or "").lower(), port or 80) == self._host_and_port(host_header))
            if not same:
                return f"a request from another origin ({name.title()} {value!r}) may not change the simulator"
        return None

    @staticmethod
    def _host_and_port(host_header: str) -> tuple[str, int]:
        split = _split_host(host_header) or ("", None)
        return split[0], split[1] or 80


class BoundedChannel(http.HTTPChannel):
    """An HTTP channel that answers an over-long request line with 414 instead of 400 or a dropped connection."""

    def _reply(self, head: bytes) -> None:
        if self.transport is not None:
            self.transport.write(head)
        self.loseConnection()

    def _uri_too_long(self) -> None:
        self._reply(b"HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                    b"Content-Length: 24\r\n\r\nthe URL is over 8 KiB.\r\n")

    def _first_line(self) -> bool:
        return bool(getattr(self, "_HTTPChannel__first_line", False))

    def lineReceived(self, line: bytes) -> None:
        if self._first_line() and len(line) > MAX_URL:
            self._uri_too_long()
            return
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        if self._first_line():
            self._uri_too_long()
            return
        self._reply(b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n")


def channel_factory() -> Any:
    """A Site's ``protocol`` (set on the instance, so called with no arguments): Twisted's HTTP/1.1-or-2
    wrapper around a :class:`BoundedChannel`."""
    return http._GenericHTTPChannelProtocol(BoundedChannel())  # noqa: SLF001 (the one way to swap the channel)
