"""The two kinds of Modbus failure, kept apart.

Why: a Modbus exception (the peer understood us and said no, with a code
from 1 to 11) is a normal answer that a poller logs and carries on from;
a framing error (the peer's bytes make no sense) ends a connection.  Code
that handles one must never swallow the other, so each has its own class.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ModbusError", "FramingError", "ILLEGAL_FUNCTION", "ILLEGAL_ADDRESS", "ILLEGAL_VALUE",
           "DEVICE_FAILURE", "GATEWAY_NO_TARGET", "EXCEPTION_NAMES"]

ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03
DEVICE_FAILURE = 0x04
GATEWAY_NO_TARGET = 0x0B

#: Names of the exception codes, as the specification gives them.
EXCEPTION_NAMES: Mapping[int, str] = MappingProxyType({
    0x01: "Illegal Function",
    0x02: "Illegal Data Address",
    0x03: "Illegal Data Value",
    0x04: "Server Device Failure",
    0x05: "Acknowledge",
    0x06: "Server Device Busy",
    0x08: "Memory Parity Error",
    0x0A: "Gateway Path Unavailable",
    0x0B: "Gateway Target Device Failed to Respond",
})


class ModbusError(Exception):
    """A Modbus exception code: raised by a data store, or received in an exception response."""

    def __init__(self, code: int, detail: str = "", function: int | None = None) -> None:
        self.code = code
        self.function = function
        self.detail = detail
        name = EXCEPTION_NAMES.get(code, "Unknown Exception")
        where = f"function {function}: " if function is not None else ""
        super().__init__(f"{where}exception 0x{code:02X} ({name}){': ' + detail if detail else ''}")


class FramingError(Exception):
    """The peer sent bytes that are not a Modbus frame (bad MBAP header, impossible length...)."""
