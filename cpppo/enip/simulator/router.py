"""CIP routing: which part of a :class:`~.controller.plc.Controller` answers a CIP request.

Strategy: a request names a target (a symbolic tag path, or a class, instance
and attribute) and a service.  Service codes repeat across classes (0x4E is
Forward Close on the Connection Manager and Read Modify Write on a tag; 0x52
is Unconnected Send or Read Tag Fragmented; 0x4C is Read Tag or Read
Template), so the :class:`Router` looks a handler up in tables keyed by the
target and the service, named with the enums of :mod:`cpppo.enip.codec.codes`:

- ``(TAG, service)``: a symbolic path (tags, members, program symbols);
- ``(ClassCode, Service)``: the Connection Manager's Forward Open/Close, the
  Message Router's Multiple Service Packet, the Symbol object's browsing;
- ``ClassCode``: every service of a class (the Template object);
- ``Service``: the generic attribute services of any object in the Directory;
  an object's own ``serve`` answers the rest.

Any refusal is a :class:`~.controller.device.Refusal` (a CIP status): the
router turns it into an error reply, and any other exception from an
Attribute into 0xFF (logged), so one bad tag never stops the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer

from cpppo.enip.codec import cip
from cpppo.enip.codec.codes import ClassCode, GeneralStatus, Service, explain
from cpppo.enip.codec.connection import Malformed
from cpppo.enip.codec.epath import Logical, Port, Symbolic
from cpppo.enip.simulator.controller.device import Refusal
from cpppo.enip.simulator.controller.plc import Controller
from cpppo.enip.simulator.controller.tags import UNCONNECTED_REPLY_SIZE

__all__ = ["Router", "Target", "TAG", "ROUTE_NOT_ACCEPTED"]

log = logging.getLogger(__name__)

#: The target of a symbolic path: a tag (or a member, or a program's symbols).
TAG = "tag"
#: Unconnected Send's extended status for a route this controller does not accept (a bad port segment).
ROUTE_NOT_ACCEPTED = 0x0311
_CONNECTION_NOT_FOUND = 0x0107
_UNCONNECTED_SEND = int(Service.UNCONNECTED_SEND)  # (an int: compared for every request)


@dataclass(frozen=True, slots=True)
class Target:
    """The object a logical path names: class, instance and attribute ids (None where absent)."""

    class_id: int
    instance_id: int | None = None
    attribute_id: int | None = None

    @classmethod
    def of(cls, path: tuple[Any, ...]) -> Target:
        """The target of a logical path (port segments skipped); Refusal 0x04 for anything else."""
        ids: dict[str, int] = {}
        for segment in path:
            if isinstance(segment, Logical) and segment.kind in ("class", "instance", "attribute") \
                    and segment.kind not in ids:
                ids[segment.kind] = segment.value
            elif not isinstance(segment, Port):
                raise Refusal(GeneralStatus.PATH_SEGMENT_ERROR, message=f"unexpected segment {segment!r}")
        if "class" not in ids:
            raise Refusal(GeneralStatus.PATH_SEGMENT_ERROR, message="no class in the path")
        return cls(ids["class"], ids.get("instance"), ids.get("attribute"))


Handler = Callable[[Any, Any, int, Any], Any]  # (request, target, budget, origin) -> reply or Deferred


class Router:
    """Serves CIP requests against one *controller*; *origin* (the connection's record) owns Forward Opens."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._tags = controller.tags
        #: (TAG, service): the services a symbolic path routes elsewhere than the tags' own ``serve``.
        self._by_tag: dict[tuple[str, int], Handler] = {(TAG, Service.GET_INSTANCE_ATTRIBUTE_LIST):
                                                        self._program_symbols}
        self._tag_services = {service for _, service in self._by_tag}
        self._by_class_service: dict[tuple[int, int], Handler] = {
            (ClassCode.CONNECTION_MANAGER, Service.FORWARD_OPEN): self._forward_open,
            (ClassCode.CONNECTION_MANAGER, Service.LARGE_FORWARD_OPEN): self._forward_open,
            (ClassCode.CONNECTION_MANAGER, Service.FORWARD_CLOSE): self._forward_close,
            (ClassCode.MESSAGE_ROUTER, Service.MULTIPLE_SERVICE_PACKET): self._multiple,
            (ClassCode.SYMBOL, Service.GET_INSTANCE_ATTRIBUTE_LIST): self._symbols,
        }
        self._by_class: dict[int, Handler] = {ClassCode.TEMPLATE: self._templates}
        self._generic: dict[int, Handler] = {
            Service.GET_ATTRIBUTE_SINGLE: self._get_attribute_single,
            Service.GET_ATTRIBUTES_ALL: self._get_attributes_all,
            Service.SET_ATTRIBUTE_SINGLE: self._set_attribute_single,
        }

    # --- the ways in ----------------------------------------------------------------
    def unconnected(self, request: Any, origin: Any = None) -> Any:
        """The reply to a request sent unconnected (SendRRData): Unconnected Send is unwrapped here."""
        if request.__class__ is cip.Request and request.service == _UNCONNECTED_SEND \
                and request.body.__class__ is cip.UnconnectedSend:
            ucs = request.body
            if not self.route_accepted(ucs.route):
                return cip.Reply(ucs.request.service | 0x80, GeneralStatus.CONNECTION_FAILURE, (ROUTE_NOT_ACCEPTED,))
            return self.guarded(ucs.request, UNCONNECTED_REPLY_SIZE, origin)
        return self.guarded(request, UNCONNECTED_REPLY_SIZE, origin)  # without routing: served the same

    def connected(self, connection: Any, request: Any, origin: Any = None) -> tuple[int, Any]:
        """(T->O connection id, reply) for a request on a Forward Open *connection* (None: no such one)."""
        if connection is None:
            return 0, self.error_reply(request, Refusal(GeneralStatus.CONNECTION_FAILURE, (_CONNECTION_NOT_FOUND,)))
        return connection.t_o, self.guarded(request, connection.size - 2, origin)

    def route_accepted(self, route: tuple[Any, ...]) -> bool:
        route_path = self.controller.route_path
        if route_path is None:
            return True
        if route_path is False:
            return not route
        return tuple(route) == tuple(route_path)

    @staticmethod
    def error_reply(request: Any, error: Refusal) -> cip.Reply:
        service = request.service if isinstance(request, cip.Request) else (
            request.data[0] if isinstance(request, Malformed) and request.data else 0)
        return cip.Reply((service & 0x7F) | 0x80, error.status, error.extended)

    def guarded(self, request: Any, budget: int, origin: Any = None) -> Any:
        """Serve *request*; any refusal (or a fault in an Attribute) becomes an error reply."""
        try:
            reply = self.serve(request, budget, origin)
        except Refusal as error:
            log.debug("%s: %s: %s", origin, explain(error.status, error.extended), error)
            return self.error_reply(request, error)
        except Exception as error:  # an Attribute subclass failed: answer, keep serving
            log.warning("request %r failed: %r", request, error)
            return self.error_reply(request, Refusal(GeneralStatus.GENERAL_ERROR))
        # (Deferred is an abstract class: isinstance costs a call of Python, so a Reply is known first)
        if reply.__class__ is not cip.Reply and isinstance(reply, defer.Deferred):
            def failed(failure: Any) -> cip.Reply:
                error = failure.value
                if not isinstance(error, Refusal):
                    log.warning("request %r failed: %r", request, error)
                    error = Refusal(GeneralStatus.GENERAL_ERROR)
                return self.error_reply(request, error)
            return reply.addErrback(failed)
        return reply

    def serve(self, request: Any, budget: int, origin: Any = None) -> Any:
        """The reply to one CIP request (raises Refusal to refuse it)."""
        if request.__class__ is Malformed:
            raise Refusal(request.error.cip_status or GeneralStatus.PATH_SEGMENT_ERROR, request.error.extended,
                          str(request.error))
        path = request.path
        if path and path[0].__class__ is Symbolic:
            if request.service in self._tag_services:
                return self._by_tag[TAG, request.service](request, None, budget, origin)
            return self._tags.serve(request, budget)  # Read/Write Tag [Fragmented], Read Modify Write...
        target = Target.of(path)
        service = request.service
        handler = self._by_class_service.get((target.class_id, service)) or self._by_class.get(target.class_id)
        if handler is not None:
            return handler(request, target, budget, origin)
        return self._object_service(request, target, budget, origin)

    # --- symbolic targets -----------------------------------------------------------
    def _program_symbols(self, request: Any, target: Any, budget: int, origin: Any) -> Any:
        """``Program:Name`` then class 0x6B: browsing a program's tags; any other path is a tag's."""
        path = request.path
        if not any(isinstance(s, Logical) and s.kind == "class" and s.value == ClassCode.SYMBOL for s in path):
            return self._tags.serve(request, budget)
        instance = next((s.value for s in path if isinstance(s, Logical) and s.kind == "instance"), 0)
        return self.controller.symbols.get_instance_attribute_list(request, instance, budget, program=path[0].name)

    # --- class targets --------------------------------------------------------------
    def _object_service(self, request: Any, target: Target, budget: int, origin: Any) -> Any:
        """A generic attribute service of an object in the Directory, or the object's own ``serve``."""
        obj = self.controller.directory.lookup(target.class_id, 1 if target.instance_id is None
                                               else target.instance_id)
        generic = self._generic.get(request.service)
        if generic is not None:
            return generic(request, (obj, target), budget, origin)
        own = getattr(obj, "serve", None)
        if own is not None:  # services an object answers itself (Get/Set Attribute List, Set Attributes All)
            return own(request)
        raise Refusal(GeneralStatus.SERVICE_NOT_SUPPORTED, message=f"service 0x{request.service:02X} not supported "
                                                                   f"by {obj}")

    def _get_attribute_single(self, request: Any, found: Any, budget: int, origin: Any) -> Any:
        obj, target = found
        if target.attribute_id is None:
            raise Refusal(GeneralStatus.PATH_SEGMENT_ERROR, message="Get Attribute Single needs an attribute")
        return self._data_reply(request.service, obj.get_attribute_single(target.attribute_id), budget)

    def _get_attributes_all(self, request: Any, found: Any, budget: int, origin: Any) -> Any:
        return self._data_reply(request.service, found[0].get_attributes_all(), budget)

    def _set_attribute_single(self, request: Any, found: Any, budget: int, origin: Any) -> Any:
        obj, target = found
        if target.attribute_id is None:
            raise Refusal(GeneralStatus.PATH_SEGMENT_ERROR, message="Set Attribute Single needs an attribute")
        return self._data_reply(request.service, obj.set_attribute_single(target.attribute_id, request.payload()),
                                budget)

    @staticmethod
    def _data_reply(service: int, data: Any, budget: int) -> Any:
        """A reply carrying *data* (or a Deferred of it); 0x11 if it would not fit the reply budget."""
        def reply(data: bytes) -> cip.Reply:
            if len(data) + 4 > budget:
                return cip.Reply(service | 0x80, GeneralStatus.REPLY_DATA_TOO_LARGE)
            return cip.Reply(service | 0x80, data=data)
        if isinstance(data, defer.Deferred):
            return data.addCallback(reply)
        return reply(data)

    def _templates(self, request: Any, target: Target, budget: int, origin: Any) -> Any:
        return self.controller.templates.serve(request, target.instance_id or 0, budget)

    def _symbols(self, request: Any, target: Target, budget: int, origin: Any) -> Any:
        return self.controller.symbols.get_instance_attribute_list(request, target.instance_id or 0, budget)

    def _forward_open(self, request: Any, target: Target, budget: int, origin: Any) -> Any:
        body = request.body
        if target.instance_id != 1 or not isinstance(body, cip.ForwardOpen):
            return self._not_connection_manager(request, target, budget, origin)
        try:
            return cip.Reply(request.service | 0x80, body=self.controller.connections.open(body, owner=origin))
        except Refusal as error:
            failed = cip.ForwardOpenReply(serial=body.serial, vendor=body.vendor,
                                          originator_serial=body.originator_serial, failed=True)
            return cip.Reply(request.service | 0x80, error.status, error.extended, body=failed)

    def _forward_close(self, request: Any, target: Target, budget: int, origin: Any) -> Any:
        if target.instance_id != 1 or not isinstance(request.body, cip.ForwardClose):
            return self._not_connection_manager(request, target, budget, origin)
        try:
            return cip.Reply(request.service | 0x80, body=self.controller.connections.close(request.body))
        except Refusal as error:
            return cip.Reply(request.service | 0x80, error.status, error.extended)

    def _not_connection_manager(self, request: Any, target: Target, budget: int, origin: Any) -> Any:
        """A Connection Manager service code with another body or instance: not a connection service."""
        if target.instance_id == 1:
            raise Refusal(GeneralStatus.SERVICE_NOT_SUPPORTED)
        return self._object_service(request, target, budget, origin)

    def _multiple(self, request: Any, target: Target, budget: int, origin: Any) -> Any:
        body = request.body
        if not isinstance(body, cip.MultipleService):
            return self._object_service(request, target, budget, origin)

        def routed(one: Any) -> bool:  # nothing that carries other requests goes inside one
            return isinstance(one, cip.Request) and (
                one.service == Service.MULTIPLE_SERVICE_PACKET or isinstance(one.body, cip.UnconnectedSend))
        replies = [self.error_reply(one, Refusal(GeneralStatus.SERVICE_NOT_SUPPORTED)) if routed(one) else
                   self.guarded(one, budget, origin) for one in body.requests]

        def combine(replies: list[cip.Reply]) -> cip.Reply:
            failed = any(r.status not in (GeneralStatus.SUCCESS, GeneralStatus.PARTIAL_TRANSFER) for r in replies)
            parts = tuple(r.encode() for r in replies)   # each encoded once: measured here, and sent
            combined = cip.Reply(0x8A, GeneralStatus.EMBEDDED_SERVICE_ERROR if failed else GeneralStatus.SUCCESS,
                                 body=cip.MultipleServiceReply(tuple(replies), parts))
            if len(combined.encode()) > budget:  # the replies together do not fit one message
                return cip.Reply(0x8A, GeneralStatus.REPLY_DATA_TOO_LARGE)
            return combined
        if any(isinstance(r, defer.Deferred) for r in replies):
            return defer.gatherResults([r if isinstance(r, defer.Deferred) else defer.succeed(r)
                                        for r in replies]).addCallback(combine)
        return combine(replies)
