"""A served controller: one :class:`~.controller.plc.Controller` with its router, dispatcher and transport.

:class:`EnipService` is the bundle a running simulator is (``server.service``):
the controller (tags, objects, connections, faults: read and set through the
service as on the controller itself, ``service.tags``, ``service.delay``,
``service.set_error(...)``), the :class:`~.router.Router` that serves CIP
against it, the :class:`~.dispatch.Dispatcher` that answers encapsulation
commands and owns the sessions, and the :class:`~.transport.Transport` that
keeps the client connections (``service.clients``, ``service.eof()``) and the
listeners (``service.disable(...)``).  A test drives it with frames and no
listener at all: ``EnipFactory(service)`` and a ``StringTransport``, or
``service.handle(frame, link)``.  Everything runs on the reactor thread, so
concurrent clients never tear a value.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from cpppo.enip.codec import encap
from cpppo.enip.simulator.controller.plc import Controller
from cpppo.enip.simulator.dispatch import CLOSE, Dispatcher, Sessions
from cpppo.enip.simulator.router import Router
from cpppo.enip.simulator.transport import Limits, Link, Transport

__all__ = ["EnipService", "CLOSE"]


class EnipService:
    """One simulated ControlLogix, served: give it tags, then let protocols feed it frames.

    The keywords are the :class:`~.controller.plc.Controller`'s (*route_path*, *slot*,
    *delay*, *identity*, *address*, *on_access*), or *controller* is one already made.
    Attributes not found here are the controller's (``tags``, ``directory``, ``add_tag``...).
    """

    def __init__(self, clock: Any = None, *, controller: Controller | None = None, limits: Limits | None = None,
                 **kwds: Any) -> None:
        if controller is None:
            if clock is None:
                from twisted.internet import reactor as clock
            controller = Controller(clock, **kwds)
        self.controller = controller
        self.router = Router(controller)
        self.dispatcher = Dispatcher(controller, self.router)
        self.transport = Transport(self.dispatcher, limits)
        self.dispatcher.sessions.limit = self.transport.limits.sessions
        controller.connections.limit = self.transport.limits.forward_opens

    @property
    def limits(self) -> Limits:
        """The bounds on what peers make this controller hold (README, "Limits")."""
        return self.transport.limits

    def __getattr__(self, name: str) -> Any:
        if name == "controller":  # (not yet set: during construction)
            raise AttributeError(name)
        return getattr(self.controller, name)

    # --- the controller's settings a test changes --------------------------------------
    @property
    def delay(self) -> float | tuple[float, float]:
        return self.controller.delay

    @delay.setter
    def delay(self, delay: float | tuple[float, float]) -> None:
        self.controller.delay = delay

    @property
    def address(self) -> tuple[str, int]:
        return self.controller.address

    @address.setter
    def address(self, address: tuple[str, int]) -> None:
        self.controller.address = address

    # --- serving ------------------------------------------------------------------------
    @property
    def sessions(self) -> Sessions:
        return self.dispatcher.sessions

    def handle(self, frame: encap.Frame, link: Link) -> Any:
        """The reply to *frame* from *link*: a Frame, a Deferred of one, None, or CLOSE."""
        return self.dispatcher.handle(frame, link)

    def list_reply(self, frame: encap.Frame) -> encap.Frame:
        return self.dispatcher.list_reply(frame)

    def serve(self, request: Any, budget: int, client: Any = None) -> Any:
        """The reply to one CIP request (raises Refusal to refuse it)."""
        return self.router.serve(request, budget, client)

    # --- the network side: fault injection ----------------------------------------------
    @property
    def clients(self) -> list[Link]:
        """The open client connections' records."""
        return self.transport.links

    @property
    def disabled(self) -> bool:
        return self.transport.disabled

    def eof(self) -> int:
        """Close every client connection; returns how many."""
        return self.transport.eof()

    def disable(self, disabled: bool = True) -> defer.Deferred:
        """Stop listening and drop every client (True), or listen again on the same ports (False)."""
        return self.transport.disable(disabled)
