"""Encapsulation commands and sessions: the layer between a connection's frames and CIP routing.

A :class:`Dispatcher` answers one decoded encapsulation frame from one client
connection (its :class:`~.transport.Link` record) with the reply frame, a
Deferred of one (a delayed reply, or an Attribute that answers slowly), None
(NOP: no reply) or :data:`CLOSE` (UnRegisterSession: close the connection).
Commands are looked up in a table keyed by :class:`~cpppo.enip.codec.codes.Command`;
SendRRData and SendUnitData unwrap their CIP message for the
:class:`~.router.Router`.  The :class:`Sessions` table is the one owner of
session handles: it registers and drops them, and is the only writer of a
link's ``session``.  Nothing here touches a socket.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, task

from cpppo.enip.codec import cip, encap
from cpppo.enip.codec.budget import Cache
from cpppo.enip.codec.codes import Command, EncapStatus
from cpppo.enip.simulator.controller.plc import Controller
from cpppo.enip.simulator.controller.tags import UNCONNECTED_REPLY_SIZE
from cpppo.enip.simulator.router import Router
from cpppo.enip.simulator.transport import Link

__all__ = ["Dispatcher", "Sessions", "CLOSE"]

log = logging.getLogger(__name__)


class _Close:
    def __repr__(self) -> str:
        return "CLOSE"


#: :meth:`Dispatcher.handle`'s answer to UnRegisterSession: close the connection, send nothing.
CLOSE = _Close()
_NULL_ADDRESS = encap.NullAddress()  # (a record without fields: one serves every reply)
_ANSWERED = 4096  # SendRRData requests whose last reply's command data is kept
_ANSWERED_COST = 256 + UNCONNECTED_REPLY_SIZE  # bytes each holds at most, roughly: records and a reply


@dataclass(slots=True, eq=False)
class _Answered:
    """The last CIP reply to a SendRRData request, and the reply's command data that carries it."""

    reply: Any = None
    data: encap.SendData | None = None


class Sessions:
    """The registered sessions of one controller: handle -> the connection record that registered it."""

    def __init__(self, rng: random.Random | None = None, limit: int = 256) -> None:
        self._by_handle: dict[int, Link] = {}
        self._random = rng or random.Random()
        self.limit = limit  # sessions at once (Limits.sessions); beyond, RegisterSession is refused

    def register(self, link: Link) -> int:
        """A fresh handle for *link* (which has none yet); 0 if the table is full."""
        if len(self._by_handle) >= self.limit:
            return 0
        handle = self._random.randrange(1, 1 << 32)
        while handle in self._by_handle:
            handle = self._random.randrange(1, 1 << 32)
        self._by_handle[handle] = link
        link.session = handle
        return handle

    def drop(self, link: Link) -> None:
        """*link*'s session ends (UnRegisterSession, or its connection closed)."""
        if link.session and self._by_handle.get(link.session) is link:
            del self._by_handle[link.session]
        link.session = 0

    def valid(self, handle: int, link: Link) -> bool:
        """Whether *handle* is the session *link* registered."""
        return self._by_handle.get(handle) is link

    def __contains__(self, handle: object) -> bool:
        return handle in self._by_handle

    def __len__(self) -> int:
        return len(self._by_handle)

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._by_handle))


class Dispatcher:
    """Serves one controller's encapsulation commands; *router* serves the CIP inside them."""

    def __init__(self, controller: Controller, router: Router | None = None) -> None:
        self.controller = controller
        self.router = router or Router(controller)
        self.sessions = Sessions()
        # Peers choose the requests: what this holds is charged to the process's byte budget.
        self._answered: Cache = Cache(_ANSWERED)
        self._commands: dict[int, Callable[[encap.Frame, Link], Any]] = {
            Command.SEND_RR_DATA: self._send_rr_data,
            Command.SEND_UNIT_DATA: self._send_unit_data,
            Command.REGISTER_SESSION: self._register,
            Command.UNREGISTER_SESSION: self._unregister,
            Command.NOP: lambda frame, link: None,
            Command.LIST_IDENTITY: lambda frame, link: self.list_reply(frame),
            Command.LIST_SERVICES: lambda frame, link: self.list_reply(frame),
            Command.LIST_INTERFACES: lambda frame, link: self.list_reply(frame),
        }

    def handle(self, frame: encap.Frame, link: Link) -> Any:
        """The reply to *frame* from *link*: a Frame, a Deferred of one, None, or CLOSE."""
        self.controller.requests += 1
        command = self._commands.get(frame.command)
        if command is None:
            return self._status(frame, EncapStatus.INVALID_COMMAND)
        return command(frame, link)

    def forget(self, link: Link) -> None:
        """*link*'s connection closed: its session ends, and the Forward Opens it made close."""
        self.controller.connections.drop_owner(link)
        self.sessions.drop(link)

    @staticmethod
    def _status(frame: encap.Frame, status: int) -> encap.Frame:
        return encap.Frame(frame.command, encap.Raw(b""), frame.session, status, frame.context)

    def _register(self, frame: encap.Frame, link: Link) -> encap.Frame:
        body = frame.body
        if not isinstance(body, encap.RegisterSession):
            return self._status(frame, EncapStatus.INCORRECT_DATA)
        if body.version != 1:
            return encap.Frame(frame.command, encap.RegisterSession(1, 0), 0,
                               EncapStatus.UNSUPPORTED_PROTOCOL_REVISION, frame.context)
        if link.session:
            return encap.Frame(frame.command, body, link.session, EncapStatus.INCORRECT_DATA, frame.context)
        session = self.sessions.register(link)
        if not session:  # the session table is full: the status a device out of resources answers
            log.info("RegisterSession refused: %d sessions open", len(self.sessions))
            return encap.Frame(frame.command, encap.RegisterSession(1, 0), 0, EncapStatus.INSUFFICIENT_MEMORY,
                               frame.context)
        return encap.Frame(frame.command, encap.RegisterSession(1, 0), session, 0, frame.context)

    def _unregister(self, frame: encap.Frame, link: Link) -> Any:
        self.sessions.drop(link)
        return CLOSE

    def list_reply(self, frame: encap.Frame) -> encap.Frame:
        """The reply to ListIdentity / ListServices / ListInterfaces (over TCP or UDP)."""
        if frame.command == Command.LIST_IDENTITY:
            items: tuple[Any, ...] = (self.controller.identity_item(),)
        elif frame.command == Command.LIST_SERVICES:
            items = (encap.ServicesItem(1, 0x0120, "Communications"),)
        else:
            items = ()
        return encap.Frame(frame.command, encap.ItemList(items), frame.session, 0, frame.context)

    def _delayed(self, reply: Any) -> Any:
        """*reply*, held back by the controller's reply delay (if one is set)."""
        if self.controller.delay and (seconds := self.controller.reply_delay()) > 0:
            return task.deferLater(self.controller.clock, seconds, lambda: reply)
        return reply

    def _items(self, frame: encap.Frame, link: Link, address: type, data: type) -> tuple[Any, Any] | None:
        """The two items of a SendRRData / SendUnitData *frame*, if it came on *link*'s session and
        carries an *address* item and a *data* item; None if not (:meth:`_refused` answers it)."""
        body = frame.body
        items = body.items if body.__class__ is encap.SendData else ()
        if len(items) == 2 and items[0].__class__ is address and items[1].__class__ is data \
                and self.sessions.valid(frame.session, link):
            return items
        return None

    def _refused(self, frame: encap.Frame, link: Link) -> Any:
        """The reply refusing a SendRRData / SendUnitData *frame* that :meth:`_items` did not take."""
        if not self.sessions.valid(frame.session, link):
            return self._status(frame, EncapStatus.INVALID_SESSION_HANDLE)
        return self._delayed(self._status(frame, EncapStatus.INCORRECT_DATA))

    def _send_rr_data(self, frame: encap.Frame, link: Link) -> Any:
        items = self._items(frame, link, encap.NullAddress, encap.UnconnectedData)
        if items is None:
            return self._refused(frame, link)
        reply = self.router.unconnected(items[1].message, link)
        if reply.__class__ is not cip.Reply and isinstance(reply, defer.Deferred):
            return self._delayed(reply.addCallback(self._unconnected_frame, frame))
        reply = self._unconnected_frame(reply, frame)
        return self._delayed(reply) if self.controller.delay else reply

    def _unconnected_frame(self, reply: cip.Reply, frame: encap.Frame) -> encap.Frame:
        """The SendRRData reply carrying *reply* to *frame*.

        A poller's request comes again as the same record (a connection keeps them by their bytes),
        and the tags answer a value that did not change with the same reply record: the command data
        made for the last reply to a request serves again when the reply is that one.  (Kept by the
        request's id, not the request: only the reply decides what the command data holds.)"""
        key = id(frame.body)
        answered = self._answered.get(key)
        if answered is None:
            answered = self._answered.remember(key, _Answered(), _ANSWERED_COST)
        if answered.reply is not reply:
            answered.reply, answered.data = reply, encap.SendData((_NULL_ADDRESS, encap.UnconnectedData(reply)), 0, 0)
        return encap.Frame(frame.command, answered.data, frame.session, 0, frame.context)

    def _send_unit_data(self, frame: encap.Frame, link: Link) -> Any:
        items = self._items(frame, link, encap.ConnectedAddress, encap.ConnectedData)
        if items is None:
            return self._refused(frame, link)
        address, data = items
        sequence = data.sequence
        connection = self.controller.connections.get(address.connection)
        if connection is None:
            log.info("SendUnitData on unknown connection 0x%08X", address.connection)
        else:
            connection.sequence = sequence
        t_o, reply = self.router.connected(connection, data.message, link)

        def wrap(reply: cip.Reply) -> encap.Frame:
            data = encap.SendData((encap.ConnectedAddress(t_o), encap.ConnectedData(sequence, reply)), 0, 0)
            return encap.Frame(frame.command, data, frame.session, 0, frame.context)
        if reply.__class__ is not cip.Reply and isinstance(reply, defer.Deferred):
            return self._delayed(reply.addCallback(wrap))
        return self._delayed(wrap(reply)) if self.controller.delay else wrap(reply)
