"""The original client module's other names its example scripts use: ``client``, ``await_response``,
``implicit`` and ``CIP_TYPES``.

Why: cpppo 5.2.5's ``list_identity_simple``, ``list_identity_backplane``, ``open_example`` and
``simulator_example`` call them (``client.client(host, udp=True, broadcast=True)``, then
``client.await_response(conn, timeout)`` for each List Identity reply; ``client.implicit(...)``
for a connected session; ``client.CIP_TYPES[name]`` for a type's cast).  They are thin: the
UDP requests are :func:`~cpppo.enip.client.discovery.list_blocking`'s, the TCP and connected
sessions the blocking :class:`~cpppo.enip.client.connector.connector`, and replies are the
original's dotdict views (:func:`~cpppo.enip.client.views.list_view`).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

from cpppo.dotdict import dotdict
from cpppo.enip.client.connector import connector
from cpppo.enip.client.discovery import list_blocking
from cpppo.enip.client.views import list_view
from cpppo.enip.codec import types
from cpppo.enip.codec.codes import Command

__all__ = ["client", "udp_client", "await_response", "implicit", "CIP_TYPES", "int_validate", "bool_validate",
           "format_context", "parse_context"]


def int_validate(value: Any, low: int, high: int) -> int:
    """``int(value)``, refused (ValueError) outside ``low..high``: the original's check of a value
    for an integer type."""
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"Invalid {number}; not in range ({low},{high})")
    return number


def _ranged(name: str) -> Callable[[Any], int]:
    """The original's cast of an integer type: int(), checked against the type's range (its
    signed types also take the unsigned range, as there)."""
    kind = types.type_of(name)
    low, high = kind.lo or 0, kind.hi or 0
    if low < 0:
        high = 2 * high + 1

    def cast(value: Any) -> int:
        return int_validate(value, low, high)
    return cast


def format_context(sender_context: bytes | bytearray) -> bytearray:
    """A sender context of exactly 8 bytes, NUL-padded on the right (the original's helper)."""
    return bytearray(bytes(sender_context)[:8]).ljust(8, b"\0")


def parse_context(sender_context: bytes | bytearray) -> bytes:
    """The bytes of a sender context, without its NUL padding on the right (the original's helper)."""
    return bytes(sender_context).rstrip(b"\0")


def bool_validate(value: Any) -> bool:
    try:
        return int(value) != 0
    except ValueError:
        text = str(value).lower()
        if text in ("true", "false"):
            return text == "true"
        raise ValueError(f"Invalid {value}; could not be interpreted as boolean") from None


def _cip_types() -> dict[str, tuple[int, int, Callable[[Any], Any]]]:
    table: dict[str, tuple[int, int, Callable[[Any], Any]]] = {}
    for name in ("STRING", "SSTRING"):
        table[name] = (types.type_of(name).code, 0, str)
    table["BOOL"] = (types.type_of("BOOL").code, types.type_of("BOOL").size or 1, bool_validate)
    for name in ("REAL", "LREAL"):
        table[name] = (types.type_of(name).code, types.type_of(name).size or 0, float)
    for name in ("LINT", "ULINT", "DINT", "UDINT", "INT", "UINT", "SINT", "USINT"):
        table[name] = (types.type_of(name).code, types.type_of(name).size or 0, _ranged(name))
    return table


#: Type name -> (CIP type code, element size (0: variable), cast of a value to it), as the original's.
CIP_TYPES = _cip_types()


class udp_client:
    """List requests by UDP to one host, or with *broadcast* to every device on the network.

    ``list_identity(timeout)`` (and ``list_services``, ``list_interfaces``) sends one request and
    collects the replies within *timeout* (only the first, unless *broadcast*); iterating yields
    each as the original's dotdict, then None.
    """

    def __init__(self, host: str, port: int | None = None, timeout: float | None = None,
                 broadcast: bool = False) -> None:
        self.addr = (host or "localhost", port or 44818)
        self.timeout = 1.0 if timeout is None else timeout
        self.broadcast = broadcast
        self._replies: collections.deque[dotdict] = collections.deque()

    def __enter__(self) -> udp_client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._replies.clear()

    def _request(self, command: int, timeout: float | None) -> dotdict:
        wait = self.timeout if timeout is None else timeout
        for frame, peer in list_blocking(command, self.addr[0], self.addr[1], wait, self.broadcast):
            self._replies.append(list_view(frame, peer))
        return dotdict({"list": True})

    def list_identity(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        return self._request(Command.LIST_IDENTITY, timeout)

    def list_services(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        return self._request(Command.LIST_SERVICES, timeout)

    def list_interfaces(self, timeout: float | None = None, **kwds: Any) -> dotdict:
        return self._request(Command.LIST_INTERFACES, timeout)

    def readable(self, timeout: float | None = None) -> bool:
        return bool(self._replies)

    def __iter__(self) -> udp_client:
        return self

    def __next__(self) -> dotdict | None:
        return self._replies.popleft() if self._replies else None


def client(host: str, port: int | None = None, timeout: float | None = None, udp: bool = False,
           broadcast: bool = False, **kwds: Any) -> Any:
    """The original's ``client``: with *udp*, a :class:`udp_client`; else a TCP session (a connector)."""
    if udp or broadcast:
        return udp_client(host, port, timeout, broadcast)
    return connector(host=host, port=port, timeout=timeout, **kwds)


def await_response(cli: Any, timeout: float | None = None) -> tuple[Any, float]:
    """The next reply from *cli* within *timeout* seconds (None: its own), and the seconds waited:
    ``(reply, elapsed)``, the reply None if none came, as the original's."""
    begun = time.monotonic()
    response = next(cli) if cli.readable(timeout) else None
    return response, time.monotonic() - begun


class implicit(connector):
    """A connected (Forward Open) session, as the original's ``implicit``.

    Its Forward Open parameters (``transport_class_triggers``, ``priority_time_tick``,
    ``timeout_ticks``, ``T_O_NCP``, RPIs, ``connection_path``...) are accepted; the session opens a
    class 3 connection to the Message Router with the connector's own (what a Logix accepts).
    """

    def __init__(self, host: str = "localhost", port: int | None = None, timeout: float | None = None,
                 **kwds: Any) -> None:
        super().__init__(host=host, port=port, timeout=timeout, connected=True)
