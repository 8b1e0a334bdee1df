"""An EtherNet/IP connection, sans-IO: bytes in, frames out; frames in, bytes out.

In the style of h11: :meth:`Connection.receive_data` buffers what the network
delivered (``b""`` for end of stream), :meth:`Connection.next_event` returns
the next whole :class:`~cpppo.enip.codec.encap.Frame` (or :data:`NEED_DATA`,
or :data:`CLOSED`), and :meth:`Connection.send` turns a frame into bytes.  The
CIP messages inside SendRRData / SendUnitData are decoded too: requests on a
server's connection, replies on a client's.

A server's connection frames with the DFA (:class:`~cpppo.enip.codec.encap.FrameParser`), a
client's by the header's length (:class:`~cpppo.enip.codec.encap.HeaderFramer`: a client frames
every reply it gets, and the header is fixed).  Both remember what they decoded, since peers
repeat themselves (a poller reads the same tags again and again, and a value that did not change
comes back in the same bytes) and the records are immutable: a server the command data of
SendRRData requests by their bytes (all but the header, whose sender context differs every time),
and the CIP messages of the rest by theirs (a SendUnitData's sequence count differs every time);
a client the command data of replies, by their bytes.

A frame that cannot even be framed (an impossible length, a stream that ends
mid-frame) raises :class:`RemoteProtocolError` with the encapsulation status to
answer; the connection is then unusable and must be closed.  A frame that
frames but whose CIP message does not decode is still returned, with that
message replaced by a :class:`Malformed` record carrying the error (and the
CIP status to answer with), so a server can reply and carry on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cpppo.enip.codec import cip, encap
from cpppo.enip.codec.budget import Cache, cost_of
from cpppo.enip.codec.errors import RemoteProtocolError
from cpppo.misc import remember

__all__ = ["Role", "Connection", "Malformed", "NEED_DATA", "CLOSED"]


class Role(enum.Enum):
    CLIENT = "client"
    SERVER = "server"


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NEED_DATA = _Sentinel("NEED_DATA")
_CACHE_SIZE = 256  # decoded requests (a server's connection) or replies (a client's) remembered
CLOSED = _Sentinel("CLOSED")
_SEND_RR_DATA = int(encap.SEND_RR_DATA)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A CIP message that did not decode: its bytes, and why (with the status to answer)."""

    data: bytes
    error: RemoteProtocolError

    def encode(self) -> bytes:
        return self.data


class Connection:
    """One side of an EtherNet/IP TCP connection."""

    def __init__(self, role: Role, cache: bool = True) -> None:
        self.role = role
        client = role is Role.CLIENT
        self._decode = cip.decode_reply if client else cip.decode_request
        self._frames: encap.FrameParser | encap.HeaderFramer = (
            encap.HeaderFramer(reply=True, message=self._message) if client
            else encap.FrameParser(reply=False, message=self._message))
        self._ended = False
        # A server's decoded requests are charged to the process's budget (see .budget): peers fill it.
        # The command data of SendRRData requests by their bytes (the whole request but its header),
        # and the CIP messages of the rest (SendUnitData's, whose sequence count differs every time).
        self._cache: Cache | None = Cache(_CACHE_SIZE) if not client and cache else None
        self._unconnected: Cache | None = Cache(_CACHE_SIZE) if not client and cache else None
        self._bodies: dict[bytes, tuple[int, encap.Body]] | None = {} if client and cache else None
        self.session = 0
        self.frames_received = 0

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` means the peer closed its side."""
        if not data:
            self._ended = True
        self._frames.receive_data(data)

    def next_event(self) -> Any:
        """The next whole frame, :data:`NEED_DATA`, or :data:`CLOSED` once the stream has ended."""
        framed = self.next_framed()
        return framed if framed is NEED_DATA or framed is CLOSED else self.decode(framed)

    def next_framed(self) -> Any:
        """The next frame framed but not decoded (``framed["header"]`` holds its fields), NEED_DATA
        or CLOSED; :meth:`decode` finishes it.  Both steps together are :meth:`next_event`."""
        framed = self._frames.next_framed()
        if framed is None:
            return CLOSED if self._ended else NEED_DATA
        return framed

    def decode(self, framed: encap.Framed) -> encap.Frame:
        """The frame of what :meth:`next_framed` returned (raises RemoteProtocolError, as next_event)."""
        header = framed["header"]
        command, payload = header["command"], framed["payload"]
        bodies, unconnected = self._bodies, self._unconnected
        if bodies is not None:
            known = bodies.get(payload)
            if known is not None and known[0] == command:
                body = known[1]
            else:
                body = encap.decode_body(command, payload, True, self._message)
                remember(bodies, payload, (command, body), _CACHE_SIZE)
        elif unconnected is not None and command == _SEND_RR_DATA:
            found: encap.Body | None = unconnected.get(payload)
            if found is None:  # (its message decoded without the message cache: one entry per request)
                found = encap.decode_body(command, payload, False, self._decode_message)
                unconnected.remember(payload, found, cost_of(payload))
            body = found
        else:
            body = encap.decode_body(command, payload, self.role is Role.CLIENT, self._message)
        frame = encap.Frame(command, body, header["session"], header["status"], header["context"],
                            header["options"])
        self.frames_received += 1
        if self.role is Role.CLIENT and frame.command == encap.REGISTER_SESSION and not frame.status:
            self.session = frame.session
        return frame

    @property
    def buffered(self) -> int:
        """Bytes received and not yet framed."""
        return self._frames.buffered

    def _message(self, data: bytes) -> Any:
        """A CIP message in a data item: decoded, or Malformed (never raising, so the frame survives).

        Clients repeat the same requests (a poller reads the same tags again and
        again), and the records are immutable, so a server's connection keeps the
        last few hundred decoded requests by their bytes, within the process's byte budget.
        """
        cache = self._cache
        if cache is not None:
            found = cache.get(data)
            if found is not None:
                return found
        message = self._decode_message(data)
        if cache is not None:
            cache.remember(bytes(data), message, cost_of(data))
        return message

    def _decode_message(self, data: bytes) -> Any:
        """A CIP message decoded, or Malformed (never raising)."""
        try:
            return self._decode(data)
        except RemoteProtocolError as error:
            return Malformed(bytes(data), error)

    def release(self) -> None:
        """The TCP connection closed: give back what its caches hold."""
        if self._cache is not None:
            self._cache.release()
        if self._unconnected is not None:
            self._unconnected.release()
        if self._bodies is not None:
            self._bodies.clear()

    def take_bad_header(self) -> dict[str, Any] | None:
        """After :meth:`next_event` raised: the header of the frame that framed but did not decode
        (a server answers it with the error's encapsulation status), or None when the stream itself
        could not be framed (the connection must then be closed).  Asking clears it."""
        header, self._frames.last_header = self._frames.last_header, None
        return header

    def send(self, frame: encap.Frame) -> bytes:
        """The bytes for *frame* (a server's RegisterSession reply also sets our session)."""
        if self.role is Role.SERVER and frame.command == encap.REGISTER_SESSION and not frame.status:
            self.session = frame.session
        return encap.encode_frame(frame)
