"""Run the simulator: from the command line, inside a reactor, or from a blocking script.

- :func:`main` is ``python -m cpppo.server.enip`` / ``enip_server``: parse the
  command line, serve until SIGINT/SIGTERM, return the exit status.
- :func:`start` starts the same service inside a running reactor (tests,
  Twisted applications) and returns a :class:`Server` handle.
- :func:`start_thread` does it from blocking code, on the shared reactor
  thread (:mod:`cpppo.blocking`); the handle's ``stop()`` then blocks too.

``attribute_class`` (a :class:`~.device.Attribute` subclass) makes every tag;
that is how the historize and weather examples customise the simulator.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Sequence

from twisted.internet import defer

from cpppo.enip.simulator.controller import addressed
from cpppo.enip.simulator import options as opts
from cpppo.enip.simulator.controller.device import Attribute
from cpppo.enip.simulator.server_protocol import EnipDatagram, EnipFactory
from cpppo.enip.simulator.service import EnipService

__all__ = ["main", "start", "start_thread", "Server", "build_service"]

log = logging.getLogger(__name__)


def _printer(out: Any = None) -> Any:
    """The original's ``-p/--print`` summary lines: reads ``==``, writes ``<=``."""
    def on_access(kind: str, attribute: Attribute, start: int, stop: int, values: list) -> None:
        stream = out or sys.stdout
        arrow = "==" if kind == "read" else "<="
        print(f"{attribute.name:>20}[{start:>5}-{stop - 1:<5}] {arrow} {values}", file=stream, flush=True)
    return on_access


def build_service(settings: opts.Settings, attribute_class: type = Attribute, clock: Any = None,
                  out: Any = None) -> EnipService:
    """The service *settings* describe, with its tags made by *attribute_class*."""
    service = EnipService(clock, route_path=settings.route_path, delay=settings.delay,
                          identity=settings.identity, address=settings.address,
                          on_access=_printer(out) if settings.print_io else None)
    if settings.tag_file is not None:  # first: command-line tags may be of the types it defines
        service.load_tags(settings.tag_file)
    if settings.exported is not None:  # --l5x / --csv: also aliases, external access, the controller's name
        from cpppo.enip.simulator.loaders.l5x import apply

        service.load_tags(settings.exported)
        apply(service, settings.exported)
    for tag in settings.tags:
        attribute = service.add_tag(tag.name, tag.type, tag.length, attribute_class=attribute_class,
                                    default=0.0 if tag.type in ("REAL", "LREAL") else 0, dims=tag.dims)
        if tag.address is not None:  # NAME@CLASS/INSTANCE/ATTRIBUTE: also that attribute of a CIP object
            addressed.attach(service, tag.name, *tag.address, attribute)
        log.info("tag %s%s %s[%d]", tag.name, addressed.format_cip_address(*tag.address) if tag.address else "",
                 tag.type, tag.length)
    return service


class Server:
    """A running simulator: its service, and the ports it listens on."""

    def __init__(self, service: EnipService, reactor: Any, settings: opts.Settings) -> None:
        self.service = service
        self.reactor = reactor
        self.settings = settings
        self.tcp: Any = None
        self.udp: Any = None
        self.web: Any = None  # the web API's port, if --web

    @property
    def address(self) -> tuple[str, int]:
        host = self.tcp.getHost()
        return host.host, host.port

    def listen(self) -> None:
        host, port = self.settings.address
        self.tcp = self.reactor.listenTCP(port, EnipFactory(self.service), interface=host)
        bound = self.tcp.getHost()
        self._bound_port = bound.port
        self.service.address = (host, bound.port)  # ListIdentity reports the port actually bound
        if self.settings.udp:
            try:
                self.udp = self.reactor.listenUDP(bound.port, EnipDatagram(self.service), interface=host)
            except Exception as error:  # a UDP port in use must not stop the TCP server
                log.warning("UDP ListIdentity not served on port %d: %s", bound.port, error)
        self.service.listeners = [p for p in (self.tcp, self.udp) if p is not None]
        self.service._reopen = self._reopen
        log.log(logging.NORMAL, "EtherNet/IP simulator listening on %s:%d", bound.host, bound.port)  # type: ignore[attr-defined]

    def _reopen(self) -> None:
        # Listen again on the port bound before (the closed port object can no longer tell it).
        if self.tcp is not None:
            self.settings.address = (self.settings.address[0], self._bound_port)
        self.listen()

    def print_address(self, out: Any = None) -> None:
        stream = out or sys.stdout
        print(f"Network TCP Server address = {self.address!r}", file=stream, flush=True)
        if self.udp is not None:
            host = self.udp.getHost()
            print(f"Network UDP Server address = {(host.host, host.port)!r}", file=stream, flush=True)
        self.print_web_address(stream)

    def print_web_address(self, out: Any = None) -> None:
        """The web API's address actually bound (``--web 127.0.0.1`` binds port 80), as ``-A`` prints it."""
        if self.web is not None:
            host = self.web.getHost()
            print(f"Web API address = {(host.host, host.port)!r}", file=out or sys.stdout, flush=True)

    def stop(self) -> defer.Deferred:
        """Stop listening and close every client connection."""
        self.service.eof()
        self.service.connections.clear()
        ports = [p for p in (self.tcp, self.udp, self.web) if p is not None]
        self.tcp = self.udp = self.web = None
        self.service.listeners = []
        self.service._reopen = None
        return defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])


def _settings(argv: Sequence[str] | opts.Settings) -> opts.Settings:
    if isinstance(argv, opts.Settings):
        return argv
    ap = opts.parser()
    return opts.configure(ap.parse_args(list(argv)), ap)


def start(argv: Sequence[str] | opts.Settings, reactor: Any = None, attribute_class: type = Attribute,
          out: Any = None) -> Server:
    """Start the simulator in a running (or about to run) *reactor*; returns its :class:`Server`."""
    if reactor is None:
        from twisted.internet import reactor
    settings = _settings(argv)
    server = Server(build_service(settings, attribute_class, reactor, out), reactor, settings)
    server.listen()
    if settings.web is not None:
        from cpppo.enip.web.app import start_web

        try:
            server.web = start_web(server, settings.web, reactor)
        except Exception:  # eg. the web port is in use: do not leave the EtherNet/IP ports open
            server.stop()
            raise
    if settings.address_output:
        server.print_address(out)
    elif server.web is not None:  # where the web API is, also when --web named no port (80)
        server.print_web_address(out)
    return server


class _ThreadServer:
    """A :class:`Server` driven from blocking code through the shared reactor thread."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.service = server.service
        self.address = server.address

    def stop(self, timeout: float = 10.0) -> None:
        from cpppo import blocking

        blocking.call(self.server.stop, timeout=timeout)


def start_thread(argv: Sequence[str] | opts.Settings, attribute_class: type = Attribute) -> _ThreadServer:
    """Start the simulator from a blocking script (on the shared reactor thread); returns a handle."""
    from cpppo import blocking

    settings = _settings(argv)
    return _ThreadServer(blocking.call(start, settings, None, attribute_class, timeout=30))


def main(argv: Sequence[str] | None = None, attribute_class: type = Attribute, **kwds: Any) -> int:
    """``python -m cpppo.server.enip [options] TAG...``: serve until interrupted; returns the exit status.

    Logging is set up before the options are applied, so that what the ``--l5x`` / ``--csv``
    loaders skip is logged where the user sees it; a port that cannot be bound is one line
    naming that port (the EtherNet/IP or the web one) and exit status 1.
    """
    from cpppo.bin.startup import reason, setup_logging

    ap = opts.parser(prog=kwds.pop("prog", "enip_server"))
    args = ap.parse_args(sys.argv[1:] if argv is None else list(argv))
    setup_logging(args.verbose, args.log, rotating=True)
    settings = opts.configure(args, ap)
    from twisted.internet import reactor

    try:
        start(settings, reactor, attribute_class)
    except Exception as error:  # eg. the address is in use
        print(f"{ap.prog}: {reason(error)}", file=sys.stderr)
        return 1
    reactor.run()
    return 0
