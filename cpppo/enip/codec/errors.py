"""The two kinds of protocol error: the peer's fault, and our own caller's.

A parser raises :class:`RemoteProtocolError` (and nothing else) for any input a
peer could send: truncated, oversized, wrong counts, bad segment types.  It
carries where the fault was found (``offset`` into the frame), what was
expected there, and the status a server should answer with: an encapsulation
status (for a frame it cannot even route) and/or a CIP general status with
optional extended status words (for a request it can answer).  A server turns
it into that reply, or closes the connection when the frame cannot be framed.

A builder raises :class:`LocalProtocolError` when *our* caller asks for
something the protocol cannot express (a value out of a type's range, a path
too long): a bug to fix in the calling code, never a peer to blame.

:func:`short` builds the commonest remote error, data that ends too soon (CIP
status 0x13), so that every decoder words it the same way; :func:`need` checks
for it at the encapsulation level (encapsulation status 0x03).
"""

from __future__ import annotations

from typing import Any

from cpppo.enip.codec.codes import EncapStatus, GeneralStatus

__all__ = ["ProtocolError", "RemoteProtocolError", "LocalProtocolError", "short", "need"]


class ProtocolError(Exception):
    """Base of both protocol error kinds."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something we cannot parse.

    ``offset``: byte offset into the frame (or the field being parsed) where it went wrong;
    ``expected``: what should have been there; ``encap_status``: the encapsulation status a
    server should reply with (None if the frame can be answered at the CIP level);
    ``cip_status``: the CIP general status for a reply; ``extended``: extended status words.
    """

    def __init__(self, message: str, *, offset: int | None = None, expected: str | None = None,
                 encap_status: int | None = None, cip_status: int | None = None,
                 extended: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.offset = offset
        self.expected = expected
        self.encap_status = encap_status
        self.cip_status = cip_status
        self.extended = tuple(extended)
        #: The header of a frame whose stream cannot go on (an impossible length), so that a
        #: server can still answer it with ``encap_status`` before it closes.
        self.header: dict[str, Any] | None = None

    def __str__(self) -> str:
        text = super().__str__()
        where = f" at offset {self.offset}" if self.offset is not None else ""
        want = f" (expected {self.expected})" if self.expected else ""
        return f"{text}{where}{want}"


class LocalProtocolError(ProtocolError):
    """Our own caller asked for something the protocol cannot express."""


def short(what: str, offset: int, need: int, have: int) -> RemoteProtocolError:
    """The error for *what* cut short: *need* bytes wanted at *offset*, *have* there
    (CIP status 0x13, not enough data)."""
    return RemoteProtocolError(f"{what}: {need} bytes needed, {have} available", offset=offset,
                               expected=f"{need} bytes of {what}",
                               cip_status=GeneralStatus.NOT_ENOUGH_DATA)


def need(data: bytes, offset: int, size: int, what: str) -> None:
    """Raise unless *size* bytes of *what* are there at *offset* of encapsulation data
    (encapsulation status 0x03, incorrect data: the frame cannot be answered at the CIP level)."""
    if offset + size > len(data):
        raise RemoteProtocolError(f"{what} truncated: {len(data) - offset} of {size} bytes",
                                  offset=offset, expected=what, encap_status=EncapStatus.INCORRECT_DATA)
