"""The simulated controller: sessions, CIP routing, connected messaging, and the controls for testing.

:class:`EnipService` holds everything one simulated device has: its CIP
objects (a :class:`~.device.Directory`), its tags, its open CIP connections,
its sessions and clients, and the fault-injection controls (reply delay,
forced errors, disabling, dropping every client).  :meth:`EnipService.handle`
answers one decoded encapsulation frame with the reply frame (or a Deferred
of it, when a reply is delayed or an Attribute answers slowly); the Twisted
protocol around it only moves bytes.  Everything here runs on the reactor
thread, so concurrent clients never tear a value.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Callable

from twisted.internet import defer, task

from cpppo.enip.codec import cip, encap
from cpppo.enip.codec.connection import Malformed
from cpppo.enip.codec.epath import Logical, Port, Symbolic
from cpppo.enip.codec.codes import explain
from cpppo.enip.simulator.controller.clock import WallClock
from cpppo.enip.simulator.controller.connections import ConnectionTable
from cpppo.enip.simulator.controller.device import Attribute, CIPError, ConnectionManager, Directory, EthernetLink, Identity, MessageRouter, TCPIP
from cpppo.enip.simulator.controller.faults import ControllerFault
from cpppo.enip.simulator.controller.tags import UNCONNECTED_REPLY_SIZE, Tags
from cpppo.enip.simulator.controller.structures import PREDEFINED, Structure, StructTag, fill
from cpppo.enip.simulator.controller.symbols import ProgramName, SymbolBrowser, Templates

__all__ = ["EnipService", "CLOSE"]

log = logging.getLogger(__name__)

#: :meth:`EnipService.handle`'s answer to UnRegisterSession: close the connection, send nothing.
CLOSE = object()


class EnipService:
    """One simulated ControlLogix: give it tags, then let protocols feed it frames.

    *route_path*: None accepts any Unconnected Send route; a tuple of segments
    (``(Port(1, 0),)``) accepts only that route; False accepts only requests
    without routing (``--simple``).  *delay* is seconds, or a (low, high) range
    drawn from for every reply.
    """

    def __init__(self, clock: Any = None, *, route_path: Any = None, slot: int = 0,
                 delay: float | tuple[float, float] = 0.0, identity: dict[str, Any] | None = None,
                 address: tuple[str, int] = ("0.0.0.0", 44818),
                 on_access: Callable[..., None] | None = None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.route_path = route_path
        self.slot = slot
        self.delay: float | tuple[float, float] = delay
        self.address = address
        self.directory = Directory()
        self.identity = self.directory.add(Identity(**(identity or {})))
        self.directory.add(MessageRouter(self.directory))
        self.directory.add(ConnectionManager())
        self.directory.add(TCPIP(address=address[0] if address[0] not in ("", "0.0.0.0") else "127.0.0.1"))
        self.directory.add(EthernetLink())
        self.tags = Tags(on_access=on_access)
        self.symbols = SymbolBrowser(self.tags, self)
        self.templates = Templates()
        self.programs: list[str] = []  # program names: their tags are named Program:<name>.<tag>
        self.directory.add(ProgramName())
        self.directory.add(WallClock(clock=clock.seconds))  # the controller's clock (0x8B): pylogix, pycomm3
        self.fault = self.directory.add(ControllerFault())  # its fault record (0x73): pylogix's Message()
        self.connections = ConnectionTable(clock, slot=slot, routing=route_path is not False)
        self.clients: list[Any] = []
        self.sessions: set[int] = set()
        self._random = random.Random()
        self.disabled = False
        self.requests = 0
        self.listeners: list[Any] = []  # ports, for disable()/enable()
        self._reopen: Callable[[], Any] | None = None

    # --- configuration --------------------------------------------------------------
    def add_tag(self, name: str, type_cls: Any, length: int = 1, attribute_class: type = Attribute,
                default: Any = 0, dims: tuple[int, ...] | None = None) -> Attribute:
        """Create a tag of *length* elements with *attribute_class*.

        *dims* are its array dimensions (default: a scalar if *length* is 1, else one
        dimension); an array of one element is still an array.
        """
        if dims is None:
            dims = () if length == 1 else (length,)
        structure = type_cls if isinstance(type_cls, Structure) else (
            PREDEFINED.get(type_cls.upper()) or self.templates.named(type_cls) if isinstance(type_cls, str) else None)
        if structure is not None:
            self.templates.add(structure)
            return self.tags.add(StructTag(name, structure, dims=tuple(dims)))
        if isinstance(type_cls, str) and type_cls.upper() in ("SSTRING", "STRING") and default == 0:
            default = ""  # (a CIP STRING / SSTRING: text, not a Logix STRING structure)
        value = default if not dims else [default] * length
        attribute = attribute_class(name, type_cls, value)
        attribute.dims = tuple(dims)
        return self.tags.add(attribute)

    def load_tags(self, tag_file: Any) -> None:
        """Add the types, tags (with their initial values) and programs of a :mod:`.tagfile`."""
        for structure in tag_file.types.values():
            self.templates.add(structure)
        for program in tag_file.programs:
            if program not in self.programs:
                self.programs.append(program)
        for definition in tag_file.tags:
            length = 1
            for dim in definition.dims:
                length *= dim
            kind = definition.type
            tag = self.add_tag(definition.name, kind, length, dims=definition.dims,
                               default=0.0 if kind in ("REAL", "LREAL") else 0)
            if definition.value is not None:
                self._initialize(tag, definition.value)

    @staticmethod
    def _initialize(tag: Attribute, value: Any) -> None:
        values = value if isinstance(value, list) else [value]
        if isinstance(tag, StructTag):
            if len(values) > len(tag):
                raise ValueError(f"{len(values)} values for {tag.name}[{len(tag)}]")
            for index, one in enumerate(values):
                fill(tag.raw, index * tag.structure.size, tag.structure, one)
            return
        if len(values) > len(tag):
            raise ValueError(f"{len(values)} values for {tag.name}[{len(tag)}]")
        tag[0:len(values)] = values

    # --- fault injection and control -------------------------------------------------
    def reply_delay(self) -> float:
        delay = self.delay
        if isinstance(delay, tuple):
            return self._random.uniform(*delay)
        return delay

    def set_error(self, tag: str, status: int) -> None:
        """Make every access to *tag* fail with CIP *status* (0 to clear)."""
        self.tags[tag].error = status

    def set_fault(self, major: int, minor: int = 0) -> None:
        """Fault the controller: its fault record (class 0x73) shows *major* and *minor* until cleared."""
        self.fault.set(major, minor)

    def clear_fault(self) -> None:
        """Clear the controller's fault: its fault record shows zeros again."""
        self.fault.clear()

    def eof(self) -> int:
        """Close every client connection; returns how many."""
        clients = list(self.clients)
        for client in clients:
            client.transport.loseConnection()
        return len(clients)

    def disable(self, disabled: bool = True) -> defer.Deferred:
        """Stop listening and drop every client (True), or listen again (False)."""
        self.disabled = disabled
        if disabled:
            self.eof()
            ports, self.listeners = self.listeners, []
            return defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])
        if self._reopen is not None and not self.listeners:
            return defer.maybeDeferred(self._reopen)
        return defer.succeed(None)

    # --- frames ---------------------------------------------------------------------
    def handle(self, frame: encap.Frame, client: Any) -> Any:
        """The reply to *frame* from *client*: a Frame, a Deferred of one, None, or CLOSE."""
        self.requests += 1
        command = frame.command
        if command == encap.SEND_RR_DATA or command == encap.SEND_UNIT_DATA:
            if frame.session not in self.sessions or frame.session != client.session:
                return self._status(frame, encap.INVALID_SESSION)
            if command == encap.SEND_RR_DATA:
                reply = self._send_rr_data(frame, client)
            else:
                reply = self._send_unit_data(frame, client)
            delay = self.reply_delay()
            if delay > 0:
                return task.deferLater(self.clock, delay, lambda: reply)
            return reply
        if command == encap.REGISTER_SESSION:
            return self._register(frame, client)
        if command == encap.UNREGISTER_SESSION:
            self.sessions.discard(client.session)
            return CLOSE
        if command == encap.NOP:
            return None
        if command in (encap.LIST_IDENTITY, encap.LIST_SERVICES, encap.LIST_INTERFACES):
            return self.list_reply(frame)
        return self._status(frame, encap.INVALID_COMMAND)

    @staticmethod
    def _status(frame: encap.Frame, status: int) -> encap.Frame:
        return encap.Frame(frame.command, encap.Raw(b""), frame.session, status, frame.context)

    def _register(self, frame: encap.Frame, client: Any) -> encap.Frame:
        body = frame.body
        if not isinstance(body, encap.RegisterSession):
            return self._status(frame, encap.INCORRECT_DATA)
        if body.version != 1:
            return encap.Frame(frame.command, encap.RegisterSession(1, 0), 0, encap.UNSUPPORTED_PROTOCOL,
                               frame.context)
        if client.session:
            return encap.Frame(frame.command, body, client.session, encap.INCORRECT_DATA, frame.context)
        session = self._random.randrange(1, 1 << 32)
        while session in self.sessions:
            session = self._random.randrange(1, 1 << 32)
        self.sessions.add(session)
        client.session = session
        return encap.Frame(frame.command, encap.RegisterSession(1, 0), session, 0, frame.context)

    def identity_item(self) -> encap.IdentityItem:
        ident = self.identity.attributes
        host, port = self.address
        return encap.IdentityItem(
            1, 2, port, host if host not in ("", "0.0.0.0") else "0.0.0.0", ident[1].value, ident[2].value,
            ident[3].value, tuple(ident[4].value), ident[5].value, ident[6].value, ident[7].value, ident[8].value)

    def list_reply(self, frame: encap.Frame) -> encap.Frame:
        """The reply to ListIdentity / ListServices / ListInterfaces (over TCP or UDP)."""
        if frame.command == encap.LIST_IDENTITY:
            items: tuple[Any, ...] = (self.identity_item(),)
        elif frame.command == encap.LIST_SERVICES:
            items = (encap.ServicesItem(1, 0x0120, "Communications"),)
        else:
            items = ()
        return encap.Frame(frame.command, encap.ItemList(items), frame.session, 0, frame.context)

    def _send_rr_data(self, frame: encap.Frame, client: Any) -> Any:
        items = frame.body.items if isinstance(frame.body, encap.SendData) else ()
        if len(items) != 2 or not isinstance(items[0], encap.NullAddress) \
                or not isinstance(items[1], encap.UnconnectedData):
            return self._status(frame, encap.INCORRECT_DATA)
        reply = self._unconnected(items[1].message, client)

        def wrap(reply: cip.Reply) -> encap.Frame:
            data = encap.SendData((encap.NullAddress(), encap.UnconnectedData(reply)), 0, 0)
            return encap.Frame(frame.command, data, frame.session, 0, frame.context)
        if isinstance(reply, defer.Deferred):
            return reply.addCallback(wrap)
        return wrap(reply)

    def _send_unit_data(self, frame: encap.Frame, client: Any) -> Any:
        items = frame.body.items if isinstance(frame.body, encap.SendData) else ()
        if len(items) != 2 or not isinstance(items[0], encap.ConnectedAddress) \
                or not isinstance(items[1], encap.ConnectedData):
            return self._status(frame, encap.INCORRECT_DATA)
        connection = self.connections.get(items[0].connection)
        sequence = items[1].sequence
        if connection is None:
            log.info("SendUnitData on unknown connection 0x%08X", items[0].connection)
            t_o, reply = 0, self._error_reply(items[1].message, CIPError(0x01, (0x0107,)))
        else:
            t_o = connection.t_o
            connection.sequence = sequence
            reply = self._guarded(items[1].message, connection.size - 2, client)

        def wrap(reply: cip.Reply) -> encap.Frame:
            data = encap.SendData((encap.ConnectedAddress(t_o), encap.ConnectedData(sequence, reply)), 0, 0)
            return encap.Frame(frame.command, data, frame.session, 0, frame.context)
        if isinstance(reply, defer.Deferred):
            return reply.addCallback(wrap)
        return wrap(reply)

    # --- CIP --------------------------------------------------------------------------
    def _unconnected(self, request: Any, client: Any) -> Any:
        if isinstance(request, cip.Request) and request.service == 0x52 \
                and isinstance(request.body, cip.UnconnectedSend):
            ucs = request.body
            if not self._route_ok(ucs.route):
                return cip.Reply(ucs.request.service | 0x80, 0x01, (0x0311,))
            return self._guarded(ucs.request, UNCONNECTED_REPLY_SIZE, client)
        return self._guarded(request, UNCONNECTED_REPLY_SIZE, client)  # without routing: served the same

    def _route_ok(self, route: tuple[Any, ...]) -> bool:
        if self.route_path is None:
            return True
        if self.route_path is False:
            return not route
        return tuple(route) == tuple(self.route_path)

    def _error_reply(self, request: Any, error: CIPError) -> cip.Reply:
        service = request.service if isinstance(request, cip.Request) else (
            request.data[0] if isinstance(request, Malformed) and request.data else 0)
        return cip.Reply((service & 0x7F) | 0x80, error.status, error.extended)

    def _guarded(self, request: Any, budget: int, client: Any) -> Any:
        """Serve *request*; any refusal (or a fault in an Attribute) becomes an error reply."""
        try:
            reply = self.serve(request, budget, client)
        except CIPError as error:
            log.debug("%s: %s: %s", client, explain(error.status, error.extended), error)
            return self._error_reply(request, error)
        except KeyError as error:
            return self._error_reply(request, CIPError(0xFF, (0x2105,), str(error)))
        except Exception as error:  # an Attribute subclass failed: answer, keep serving
            log.warning("request %r failed: %r", request, error)
            return self._error_reply(request, CIPError(0xFF))
        if isinstance(reply, defer.Deferred):
            def failed(failure: Any) -> cip.Reply:
                error = failure.value
                if not isinstance(error, CIPError):
                    log.warning("request %r failed: %r", request, error)
                    error = CIPError(0xFF)
                return self._error_reply(request, error)
            return reply.addErrback(failed)
        return reply

    def serve(self, request: Any, budget: int, client: Any = None) -> Any:
        """The reply to one CIP request (raises CIPError to refuse it)."""
        if isinstance(request, Malformed):
            raise CIPError(request.error.cip_status or 0x04, request.error.extended, str(request.error))
        path = request.path
        if path and isinstance(path[0], Symbolic):
            if request.service == 0x55 and any(isinstance(s, Logical) and s.kind == "class" and s.value == 0x6B
                                               for s in path):  # browsing a program's tags
                instance = next((s.value for s in path if isinstance(s, Logical) and s.kind == "instance"), 0)
                return self.symbols.get_instance_attribute_list(request, instance, budget, program=path[0].name)
            return self.tags.serve(request, budget)
        class_id = instance_id = attribute_id = None
        for segment in path:
            if isinstance(segment, Logical):
                if segment.kind == "class" and class_id is None:
                    class_id = segment.value
                elif segment.kind == "instance" and instance_id is None:
                    instance_id = segment.value
                elif segment.kind == "attribute" and attribute_id is None:
                    attribute_id = segment.value
                else:
                    raise CIPError(0x04, message=f"unexpected segment {segment!r}")
            elif not isinstance(segment, Port):
                raise CIPError(0x04, message=f"unexpected segment {segment!r}")
        if class_id is None:
            raise CIPError(0x04, message="no class in the path")
        service = request.service
        if class_id == 0x06 and instance_id == 1 and service in (0x54, 0x5B, 0x4E):
            return self._connection_manager(request, client)
        if class_id == 0x02 and service == 0x0A and isinstance(request.body, cip.MultipleService):
            return self._multiple(request.body, budget, client)
        if class_id == 0x6B and service == 0x55:
            return self.symbols.get_instance_attribute_list(request, instance_id or 0, budget)
        if class_id == 0x6C:
            return self.templates.serve(request, instance_id or 0, budget)
        obj = self.directory.lookup(class_id, 1 if instance_id is None else instance_id)
        if service == 0x0E:
            if attribute_id is None:
                raise CIPError(0x04, message="Get Attribute Single needs an attribute")
            return self._data_reply(service, obj.get_attribute_single(attribute_id), budget)
        if service == 0x01:
            return self._data_reply(service, obj.get_attributes_all(), budget)
        if service == 0x10:
            if attribute_id is None:
                raise CIPError(0x04, message="Set Attribute Single needs an attribute")
            return self._data_reply(service, obj.set_attribute_single(attribute_id, request.payload()), budget)
        own = getattr(obj, "serve", None)
        if own is not None:  # services an object answers itself (Get/Set Attribute List, Set Attributes All)
            return own(request)
        raise CIPError(0x08, message=f"service 0x{service:02X} not supported by {obj}")

    @staticmethod
    def _data_reply(service: int, data: Any, budget: int) -> Any:
        """A reply carrying *data* (or a Deferred of it); 0x11 if it would not fit the reply budget."""
        def reply(data: bytes) -> cip.Reply:
            if len(data) + 4 > budget:
                return cip.Reply(service | 0x80, 0x11)
            return cip.Reply(service | 0x80, data=data)
        if isinstance(data, defer.Deferred):
            return data.addCallback(reply)
        return reply(data)

    def _connection_manager(self, request: cip.Request, client: Any) -> cip.Reply:
        body = request.body
        reply_service = request.service | 0x80
        if isinstance(body, cip.ForwardOpen):
            try:
                return cip.Reply(reply_service, body=self.connections.open(body, owner=client))
            except CIPError as error:
                failed = cip.ForwardOpenReply(serial=body.serial, vendor=body.vendor,
                                              originator_serial=body.originator_serial, failed=True)
                return cip.Reply(reply_service, error.status, error.extended, body=failed)
        if isinstance(body, cip.ForwardClose):
            try:
                return cip.Reply(reply_service, body=self.connections.close(body))
            except CIPError as error:
                return cip.Reply(reply_service, error.status, error.extended)
        raise CIPError(0x08)

    def _multiple(self, body: cip.MultipleService, budget: int, client: Any) -> Any:
        def routed(request: Any) -> bool:  # nothing that carries other requests goes inside one
            return isinstance(request, cip.Request) and (
                request.service == 0x0A or isinstance(request.body, cip.UnconnectedSend))
        replies = [self._error_reply(request, CIPError(0x08)) if routed(request) else
                   self._guarded(request, budget, client) for request in body.requests]

        def combine(replies: list[cip.Reply]) -> cip.Reply:
            failed = any(r.status not in (0x00, 0x06) for r in replies)
            parts = tuple(r.encode() for r in replies)   # each encoded once: measured here, and sent
            combined = cip.Reply(0x8A, 0x1E if failed else 0x00, body=cip.MultipleServiceReply(tuple(replies), parts))
            if len(combined.encode()) > budget:  # the replies together do not fit one message
                return cip.Reply(0x8A, 0x11)
            return combined
        if any(isinstance(r, defer.Deferred) for r in replies):
            return defer.gatherResults([defer.maybeDeferred(lambda r=r: r) for r in replies]).addCallback(combine)
        return combine(replies)

