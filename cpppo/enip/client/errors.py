"""The client's exceptions, one module so that both drivers raise the very same types.

Why subclasses of the built-ins: scripts written for the original cpppo catch
``socket.error`` (``OSError``) and ``socket.timeout`` (``TimeoutError``) around
their blocking calls; a Twisted application catches the same types from a
Deferred.  So a timeout is a :class:`TimeoutError` and a lost connection a
:class:`ConnectionError` whichever driver moved the bytes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RequestTimeout", "ConnectionClosed", "ENIPStatusError", "SENDStatusError", "MSVCStatusError",
           "EncapsulationError", "CIPError", "FragmentRequired"]


class RequestTimeout(TimeoutError):
    """No reply to a request within its timeout (the connection itself stays usable)."""


class ConnectionClosed(ConnectionError):
    """The connection closed (or was never open) before a request's reply arrived."""


class ENIPStatusError(Exception):
    """The original's exception for a reply whose status says the exchange failed (scripts catch it
    around ``connector`` calls); ``status`` holds that status."""

    def __init__(self, status: int | None = None, message: str | None = None) -> None:
        self.status = status
        super().__init__((message or "Response EtherNet/IP status: 0x%02x") % (status,))


class SENDStatusError(ENIPStatusError):
    """The original's name for a failed Unconnected/Connected Send (a route the target refuses)."""

    def __init__(self, status: int | None = None, message: str | None = None) -> None:
        super().__init__(status, message or "Response EtherNet/IP Un/Connected Send status: 0x%02x")


class MSVCStatusError(ENIPStatusError):
    """The original's name for a failed Multiple Service Packet as a whole."""

    def __init__(self, status: int | None = None, message: str | None = None) -> None:
        super().__init__(status, message or "Response EtherNet/IP Multiple Service status: 0x%02x")


class EncapsulationError(ENIPStatusError, RuntimeError):
    """The peer answered with a non-zero encapsulation status (an ``ENIPStatusError``, as there).

    ``operation`` names the operation(s) whose request it refused so, when one did (the original
    cpppo simulator answers a tag or a service it does not know with status 0x08 and ends the
    session, where a Logix controller gives a CIP status): the command line names it.
    """

    def __init__(self, status: int, command: int, frame: Any = None, operation: str | None = None) -> None:
        ENIPStatusError.__init__(self, status, f"EtherNet/IP status 0x%02X to command 0x{command:04X}")
        self.status = status
        self.command = command
        self.frame = frame  # the reply (an encap.Frame), for those who show it (enip_client -L)
        self.operation = operation


class CIPError(RuntimeError):
    """A CIP service (Forward Open, a list request, a single read...) answered with a failure."""


class FragmentRequired(ValueError):
    """An operation too large for one plain request or reply, where fragmenting is forbidden."""
