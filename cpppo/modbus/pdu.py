"""Modbus PDUs: pymodbus's request and response classes, behind three small functions.

Why: pymodbus's PDU classes know every function's byte layout, and we use
them for exactly that and nothing else (not its framers, transports or data
stores).  Its own ``DecodePDU.decode`` formats a debug string of every PDU
it decodes, and swallows errors into None; these helpers look the classes
up in its tables directly and turn every failure into a :class:`ModbusError`
with the exception code a server should answer with.

Tested with pymodbus 3.9.2 and 3.16.1 (``pymodbus.pdu.*_message`` class names are stable).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    ReadDiscreteInputsResponse,
    WriteMultipleCoilsRequest,
    WriteMultipleCoilsResponse,
    WriteSingleCoilRequest,
    WriteSingleCoilResponse,
)
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest, ReadDeviceInformationResponse
from pymodbus.pdu.register_message import (
    MaskWriteRegisterRequest,
    MaskWriteRegisterResponse,
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
    ReadWriteMultipleRegistersRequest,
    ReadWriteMultipleRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterRequest,
    WriteSingleRegisterResponse,
)

from .errors import ILLEGAL_FUNCTION, ILLEGAL_VALUE, FramingError, ModbusError

__all__ = ["ModbusPDU", "decode_request", "decode_response", "encode", "exception_pdu",
           "request_class", "response_class"]

# Our own tables of pymodbus's classes: its DecodePDU tables changed shape between 3.9 and 3.16,
# while these class names and modules did not.
_TABLE: Mapping[int, tuple[type[ModbusPDU], type[ModbusPDU]]] = MappingProxyType({
    1: (ReadCoilsRequest, ReadCoilsResponse),
    2: (ReadDiscreteInputsRequest, ReadDiscreteInputsResponse),
    3: (ReadHoldingRegistersRequest, ReadHoldingRegistersResponse),
    4: (ReadInputRegistersRequest, ReadInputRegistersResponse),
    5: (WriteSingleCoilRequest, WriteSingleCoilResponse),
    6: (WriteSingleRegisterRequest, WriteSingleRegisterResponse),
    15: (WriteMultipleCoilsRequest, WriteMultipleCoilsResponse),
    16: (WriteMultipleRegistersRequest, WriteMultipleRegistersResponse),
    22: (MaskWriteRegisterRequest, MaskWriteRegisterResponse),
    23: (ReadWriteMultipleRegistersRequest, ReadWriteMultipleRegistersResponse),
})
_SUBTABLE: Mapping[int, Mapping[int, tuple[type[ModbusPDU], type[ModbusPDU]]]] = MappingProxyType({
    43: MappingProxyType({14: (ReadDeviceInformationRequest, ReadDeviceInformationResponse)}),
})


def request_class(function: int, sub: int = -1) -> type[ModbusPDU] | None:
    """pymodbus's request class for *function* (and MEI *sub* function), or None."""
    if sub >= 0:
        return _SUBTABLE.get(function, {}).get(sub, (None, None))[0]
    return _TABLE.get(function, (None, None))[0]


def response_class(function: int, sub: int = -1) -> type[ModbusPDU] | None:
    """pymodbus's response class for *function* (and MEI *sub* function), or None."""
    if sub >= 0:
        return _SUBTABLE.get(function, {}).get(sub, (None, None))[1]
    return _TABLE.get(function, (None, None))[1]


def exception_pdu(function: int, code: int) -> bytes:
    """The exception response PDU for *function* with exception *code*."""
    return bytes((function | 0x80, code))


def encode(pdu: ModbusPDU) -> bytes:
    """The PDU bytes (function code first) of a pymodbus PDU object."""
    return bytes((pdu.function_code,)) + pdu.encode()


def decode_request(data: bytes, supported: frozenset[int] | None = None) -> ModbusPDU:
    """Decode request PDU *data* into a pymodbus request object.

    Raises:
        ModbusError: 01 for a function not in *supported* (or unknown to pymodbus),
            03 for a request too short or with a count outside the protocol's limits.
    """
    function = data[0]
    if supported is not None and function not in supported:
        raise ModbusError(ILLEGAL_FUNCTION, function=function)
    sub = data[1] if function == 43 and len(data) > 1 else -1
    cls = request_class(function, sub)
    if cls is None:
        raise ModbusError(ILLEGAL_FUNCTION, function=function)
    request = cls()
    try:
        request.decode(data[1:])
    except (ValueError, IndexError, struct.error) as exc:
        raise ModbusError(ILLEGAL_VALUE, str(exc), function=function) from None
    return request


def decode_response(data: bytes) -> Any:
    """Decode response PDU *data* into a pymodbus response object.

    Raises:
        ModbusError: the response is an exception response (its code).
        FramingError: the bytes are not a response pymodbus can decode.
    """
    if not data:
        raise FramingError("empty response PDU")
    function = data[0]
    if function & 0x80:
        if len(data) < 2:
            raise FramingError("truncated exception response")
        raise ModbusError(data[1], function=function & 0x7F)
    sub = data[1] if function == 43 and len(data) > 1 else -1
    cls = response_class(function, sub)
    if cls is None:
        raise FramingError(f"response with unknown function code {function}")
    response = cls()
    try:
        response.decode(data[1:])
    except Exception as exc:  # pymodbus raises assorted types on short data
        raise FramingError(f"undecodable function {function} response: {exc}") from None
    return response
