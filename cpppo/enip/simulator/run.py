"""Run the simulator: from the command line, inside a reactor, or from a blocking script.

- :func:`main` is ``python -m cpppo.server.enip`` / ``enip_server``: parse the
  command line, serve until SIGINT/SIGTERM, return the exit status.
- :func:`start` starts the same service inside a running reactor (tests,
  Twisted applications) and returns a :class:`Server` handle.
- :func:`start_thread` does it from blocking code, on the shared reactor
  thread (:mod:`cpppo.blocking`); the handle's ``stop()`` then blocks too.

``attribute_class`` (a :class:`~.device.Attribute` subclass) makes every tag;
that is how the historize and weather examples customise the simulator.  As the
original's ``main()``, :func:`main` also takes ``identity_class``,
``message_router_class``, ``connection_manager_class`` (the controller's objects
are made from them), ``UCMM_class`` (its ``route_path`` is the route accepted)
and ``idle_service`` (called on the reactor every :data:`IDLE_LATENCY` seconds,
the original's cadence: its accept loop called it whenever 0.1 s passed without
a new connection).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer

from cpppo.enip.simulator import options as opts
from cpppo.enip.simulator.controller import addressed
from cpppo.enip.simulator.controller.device import Attribute
from cpppo.enip.simulator.listeners import Listener, description, listen
from cpppo.enip.simulator.service import EnipService
from cpppo.misc import NORMAL

__all__ = ["main", "start", "start_thread", "Server", "build_service", "IDLE_LATENCY"]

log = logging.getLogger(__name__)

#: Seconds between calls of ``main(idle_service=...)``: the original's ``defaults.latency``.
IDLE_LATENCY = 0.1


def _printer(out: Any = None) -> Any:
    """The original's ``-p/--print`` summary lines, as it printed them: every write (``<=``, with its
    trailing space), and reads (``==``) only when logging shows NORMAL (``-v``), lest polling flood it."""
    def on_access(kind: str, attribute: Attribute, start: int, stop: int, values: list) -> None:
        stream = out or sys.stdout
        if kind == "read":
            if log.isEnabledFor(NORMAL):
                print(f"{attribute.name:>20}[{start:>5}-{stop - 1:<5}] == {values}", file=stream, flush=True)
        else:
            print(f"{attribute.name:>20}[{start:>5}-{stop - 1:<5}] <= {values} ", file=stream, flush=True)
    return on_access


def build_service(settings: opts.Settings, attribute_class: type = Attribute, clock: Any = None,
                  out: Any = None, slot: int = 0) -> EnipService:
    """The service *settings* describe, with its tags made by *attribute_class*; *slot* is the backplane
    slot its Forward Opens must name (a plant's chassis has controllers in several)."""
    from cpppo.enip.codec.budget import PEERS

    PEERS.limit = settings.cache_bytes  # (one budget per process: the last service built sets it)
    service = EnipService(clock, route_path=settings.route_path, delay=settings.delay,
                          identity=settings.identity, address=settings.address,
                          on_access=_printer(out) if settings.print_io else None,
                          limits=dataclasses.replace(settings.limits), slot=slot, **settings.object_classes)
    if settings.size is not None:
        _limit_request_size(service, settings.size)
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
    if settings.exported is not None and settings.exported.trees:  # the export's program, if it has one
        from cpppo.logic import attach

        attach(service.controller, settings.exported.trees, settings.logic, settings.scan_period,
               _rung_printer(out) if settings.print_io else None)
    return service


def _limit_request_size(service: EnipService, size: int) -> None:
    """The original's ``-s/--size``: an encapsulated request of more than *size* bytes is answered
    with encapsulation status 0x65 (invalid length), and the connection closes after it, as there."""
    from cpppo.enip.codec import encap
    from cpppo.enip.codec.codes import EncapStatus

    handle = service.dispatcher.handle

    def limited(frame: encap.Frame, link: Any) -> Any:
        length = len(encap.encode_body(frame.body))
        if length <= size:
            return handle(frame, link)
        log.warning("EtherNet/IP encapsulated request of length %d exceeds specified size limit %s", length, size)
        service.controller.clock.callLater(0, link.close)  # (once the refusal is written)
        return encap.Frame(frame.command, encap.Raw(b""), frame.session, EncapStatus.INVALID_LENGTH, frame.context)
    service.dispatcher.handle = limited  # type: ignore[method-assign]  # (before any protocol is made)


def _rung_printer(out: Any = None) -> Any:
    """``-p`` for the program: a line for each tag a rung changes (``<-`` marks the program's writes)."""
    def changed(where: str, name: str, value: Any) -> None:
        print(f"{name:>20} <- {value!r:<12} ({where})", file=out or sys.stdout, flush=True)
    return changed


class Server:
    """A running simulator: its service (a served controller), its listeners, and its web API's port.

    ``listeners`` are the service's; ``tcp`` and ``udp`` are the first listener's ports.
    """

    def __init__(self, service: EnipService, reactor: Any, settings: opts.Settings) -> None:
        self.service = service
        self.reactor = reactor
        self.settings = settings
        self.web: Any = None  # the web API's port, if --web
        self.udp_only: Any = None  # the UDP List Identity port, with -T/--no-tcp (no listener then)
        self.idle: Any = None  # the LoopingCall of main(idle_service=...)

    @property
    def listeners(self) -> list[Listener]:
        return self.service.transport.listeners

    @property
    def tcp(self) -> Any:
        return self.listeners[0].tcp_port if self.listeners else None

    @property
    def udp(self) -> Any:
        return self.listeners[0].udp_port if self.listeners else self.udp_only

    @property
    def address(self) -> tuple[str, int]:
        host = self.tcp.getHost()
        return host.host, host.port

    def listen(self) -> None:
        """Listen where the settings say: each ``--listen`` endpoint, else ``-a``'s address (TCP and UDP);
        with ``-T/--no-tcp``, only UDP List Identity on ``-a``'s address."""
        if not self.settings.tcp:
            from cpppo.enip.simulator.server_protocol import EnipDatagram

            host, port = self.settings.address
            self.udp_only = self.reactor.listenUDP(port, EnipDatagram(self.service.transport), interface=host)
            self.service.address = (host, self.udp_only.getHost().port)
            return
        for endpoint in self.settings.listen or [description(*self.settings.address)]:
            listen(self.reactor, self.service.transport, endpoint, udp=self.settings.udp)

    def print_address(self, out: Any = None) -> None:
        stream = out or sys.stdout
        if self.tcp is not None:
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
        """Stop listening and close every client connection (and stop the program's scans)."""
        if self.service.controller.logic is not None:
            self.service.controller.logic.stop()
        self.service.connections.clear()
        web, self.web = self.web, None
        if self.idle is not None and self.idle.running:
            self.idle.stop()
        stopped = self.service.transport.stop()
        if self.udp_only is not None:
            udp, self.udp_only = self.udp_only, None
            stopped = defer.gatherResults([stopped, defer.maybeDeferred(udp.stopListening)])
        if web is not None:
            return defer.gatherResults([stopped, defer.maybeDeferred(web.stopListening)])
        return stopped


def _settings(argv: Sequence[str] | opts.Settings) -> opts.Settings:
    if isinstance(argv, opts.Settings):
        return argv
    ap = opts.parser()
    return opts.configure(ap.parse_args(list(argv)), ap)


def start(argv: Sequence[str] | opts.Settings, reactor: Any = None, attribute_class: type = Attribute,
          out: Any = None, idle_service: Any = None) -> Server:
    """Start the simulator in a running (or about to run) *reactor*; returns its :class:`Server`.

    *idle_service* (a callable) is called every :data:`IDLE_LATENCY` seconds on the reactor while it
    serves (an exception from it is logged, and it is called again next time).
    """
    if reactor is None:
        from twisted.internet import reactor
    settings = opts.load(_settings(argv))  # (reads the tag files, if not yet read)
    server = Server(build_service(settings, attribute_class, reactor, out), reactor, settings)
    server.listen()
    if settings.web is not None:
        from cpppo.enip.web.app import start_web

        try:
            server.web = start_web(server, settings.web, reactor)
        except Exception:  # eg. the web port is in use: do not leave the EtherNet/IP ports open
            server.stop()
            raise
    if idle_service is not None:
        server.idle = _idle_calls(idle_service, reactor)
    if settings.address_output:
        server.print_address(out)
    elif server.web is not None:  # where the web API is, also when --web named no port (80)
        server.print_web_address(out)
    return server


def _idle_calls(idle_service: Any, reactor: Any) -> Any:
    """A LoopingCall of *idle_service* on *reactor*, started with a first call at once.

    The original's server calls it after its first quiet interval; scripts such as its
    ``simulator_example`` set their tags' first values in that call, and a client that connects
    within the interval would read the values before.  Called at start-up, before the reactor runs,
    no client can come first."""
    from twisted.internet import task

    def call() -> None:
        try:
            idle_service()
        except Exception:
            log.exception("idle_service %r failed", idle_service)
    looping = task.LoopingCall(call)
    looping.clock = reactor
    looping.start(IDLE_LATENCY, now=True)
    return looping


def _original_classes(settings: opts.Settings, identity_class: Any, UCMM_class: Any, message_router_class: Any,
                      connection_manager_class: Any) -> None:
    """The original ``main()``'s object classes into *settings* (ValueError where they cannot apply)."""
    for key, cls in (("identity_class", identity_class), ("message_router_class", message_router_class),
                     ("connection_manager_class", connection_manager_class)):
        if cls is not None:
            settings.object_classes[key] = cls
    if UCMM_class is None:
        return
    if settings.route_path is not None:
        raise ValueError("Specify either -S/--simple/--route-path, or a custom UCMM_class; not both")
    route_path = getattr(UCMM_class, "route_path", None)
    if route_path is None:
        return  # (any route accepted)
    if route_path is False or route_path in (0, [], ()):
        settings.route_path = False
    else:
        import json

        settings.route_path = opts.parse_route_path(route_path if isinstance(route_path, str)
                                                    else json.dumps(route_path))


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


def main(argv: Sequence[str] | None = None, attribute_class: type = Attribute, attribute_kwds: Any = None,
         idle_service: Any = None, identity_class: Any = None, UCMM_class: Any = None,
         message_router_class: Any = None, connection_manager_class: Any = None, **kwds: Any) -> int:
    """``python -m cpppo.server.enip [options] TAG...``: serve until interrupted; returns the exit status.

    The keywords are the original's: *attribute_class* makes every tag (*attribute_kwds* are
    more keywords for it), the ``*_class`` ones make the controller's objects (see the module),
    *idle_service* is called on the reactor every :data:`IDLE_LATENCY` seconds.  ``-P FILE``
    profiles the reactor's run with cProfile and writes the statistics to FILE.

    Logging is set up before the tag files are read, so that what the ``--l5x`` / ``--csv``
    loaders skip is logged where the user sees it; a bad option or file is a usage error (exit 2); a
    port that cannot be bound is one line naming that port (the EtherNet/IP or the web one) and exit status 1.
    """
    from cpppo.bin.startup import reason, setup_logging

    ap = opts.parser(prog=kwds.pop("prog", "enip_server"))
    args = ap.parse_args(sys.argv[1:] if argv is None else list(argv))
    setup_logging(args.verbose, args.log, rotating=True)
    try:  # the command line, then the tag files it names (once logging shows what their loaders skip)
        settings = opts.load(opts.settings_from(args))
        _original_classes(settings, identity_class, UCMM_class, message_router_class, connection_manager_class)
    except ValueError as error:
        ap.error(str(error))  # (exits 2)
    from twisted.internet import reactor

    if attribute_kwds:
        attribute_class = _with_keywords(attribute_class, attribute_kwds)
    try:
        server = start(settings, reactor, attribute_class)
    except Exception as error:  # eg. the address is in use
        print(f"{ap.prog}: {reason(error)}", file=sys.stderr)
        return 1
    from cpppo.enip.simulator import main_controller

    main_controller.use(server.service)  # (the original's module-level names show this controller)
    if idle_service is not None:  # (its first call, at once, sees main.tags: its scripts set tags there)
        server.idle = _idle_calls(idle_service, reactor)
    if settings.profile:
        import cProfile

        profiler = cProfile.Profile()
        try:
            profiler.runcall(reactor.run)
        finally:
            profiler.dump_stats(settings.profile)
    else:
        reactor.run()
    return 0


def _with_keywords(attribute_class: type, attribute_kwds: dict[str, Any]) -> Any:
    """*attribute_class* called with *attribute_kwds* overriding the simulator's (the original's
    ``main(attribute_kwds=...)``: eg. a ``default`` of initial values)."""
    def make(name: str, type_cls: Any, default: Any = 0, **more: Any) -> Any:
        keywords = {"name": name, "type_cls": type_cls, "default": default, **more, **attribute_kwds}
        return attribute_class(**keywords)
    return make
