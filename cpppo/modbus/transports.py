"""Attaching the Modbus protocols to real transports: TCP endpoints and serial ports.

Why: the poller, the simulator's service and the command lines all need to
open "host:port" or "/dev/ttyX at 19200 8N1" the same way, and to report a
bad serial device or an unreachable host as an error, not a traceback.  The
protocols themselves never know which transport they are on.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from twisted.internet import defer, endpoints, protocol

__all__ = ["PARITIES", "connect_tcp", "open_serial", "serial_options"]

#: --parity letters, as pyserial spells them
PARITIES = MappingProxyType({"N": "N", "E": "E", "O": "O", "M": "M", "S": "S"})


def serial_options(baudrate: int = 19200, parity: str = "N", stopbits: float = 1,
                   bytesize: int = 8) -> dict[str, Any]:
    """Validated SerialPort keyword arguments; ValueError with a user-fit message if any is bad."""
    parity = parity.upper()
    if parity not in PARITIES:
        raise ValueError(f"parity {parity!r} is not one of N, E, O, M, S")
    if stopbits not in (1, 1.5, 2):
        raise ValueError(f"stop bits {stopbits} is not 1, 1.5 or 2")
    if bytesize not in (5, 6, 7, 8):
        raise ValueError(f"byte size {bytesize} is not 5-8")
    if not 50 <= int(baudrate) <= 4_000_000:
        raise ValueError(f"baud rate {baudrate} is out of range")
    return {"baudrate": int(baudrate), "parity": PARITIES[parity], "stopbits": stopbits, "bytesize": bytesize}


def connect_tcp(reactor: Any, host: str, port: int, proto: protocol.Protocol,
                timeout: float = 5.0) -> defer.Deferred:
    """Connect *proto* to host:port; fires with *proto* once connected."""
    endpoint = endpoints.HostnameEndpoint(reactor, host, port, timeout=timeout)
    return endpoints.connectProtocol(endpoint, proto)


def open_serial(reactor: Any, device: str, proto: protocol.Protocol, **options: Any) -> Any:
    """Attach *proto* to serial *device* (a ``twisted.internet.serialport.SerialPort``).

    Raises:
        OSError or serial.SerialException: the device cannot be opened.
    """
    from twisted.internet.serialport import SerialPort

    return SerialPort(proto, device, reactor, **serial_options(**options))
