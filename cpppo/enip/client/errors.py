"""The client's exceptions, one module so that both drivers raise the very same types.

Why subclasses of the built-ins: scripts written for the original cpppo catch
``socket.error`` (``OSError``) and ``socket.timeout`` (``TimeoutError``) around
their blocking calls; a Twisted application catches the same types from a
Deferred.  So a timeout is a :class:`TimeoutError` and a lost connection a
:class:`ConnectionError` whichever driver moved the bytes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RequestTimeout", "ConnectionClosed", "EncapsulationError", "CIPError", "FragmentRequired"]


class RequestTimeout(TimeoutError):
    """No reply to a request within its timeout (the connection itself stays usable)."""


class ConnectionClosed(ConnectionError):
    """The connection closed (or was never open) before a request's reply arrived."""


class EncapsulationError(RuntimeError):
    """The peer answered with a non-zero encapsulation status.

    ``operation`` names the operation(s) whose request it refused so, when one did (the original
    cpppo simulator answers a tag or a service it does not know with status 0x08 and ends the
    session, where a Logix controller gives a CIP status): the command line names it.
    """

    def __init__(self, status: int, command: int, frame: Any = None, operation: str | None = None) -> None:
        super().__init__(f"EtherNet/IP status 0x{status:02X} to command 0x{command:04X}")
        self.status = status
        self.command = command
        self.frame = frame  # the reply (an encap.Frame), for those who show it (enip_client -L)
        self.operation = operation


class CIPError(RuntimeError):
    """A CIP service (Forward Open, a list request, a single read...) answered with a failure."""


class FragmentRequired(ValueError):
    """An operation too large for one plain request or reply, where fragmenting is forbidden."""
