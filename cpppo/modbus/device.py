"""A simulated Modbus device: request PDU in, response PDU out.

Why: what a request *means* (which table, which limits, which exception
code) is the same over TCP and over RTU, and is easiest to test as plain
bytes in, bytes out, with no transport at all.  The protocols in
:mod:`cpppo.modbus.server` only frame; this module answers.

Function codes served: 1, 2 (read coils / discrete inputs), 3, 4 (read
holding / input registers), 5, 6 (write single coil / register), 15, 16
(write multiple coils / registers), 22 (mask write register), 23 (read/write
multiple registers) and 43/14 (read device identification).  Any other
function gets exception 01; an address not served, 02; a count or value
outside the protocol's limits, 03 -- always as an answer, never by closing.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from types import MappingProxyType

from pymodbus.pdu.bit_message import ReadCoilsResponse, ReadDiscreteInputsResponse
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest, ReadDeviceInformationResponse
from pymodbus.pdu.register_message import (
    MaskWriteRegisterRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
    ReadWriteMultipleRegistersRequest,
    ReadWriteMultipleRegistersResponse,
)

from ..version import __version__
from .datastore import DataStore
from .errors import DEVICE_FAILURE, ILLEGAL_ADDRESS, ILLEGAL_FUNCTION, ILLEGAL_VALUE, ModbusError
from .pdu import decode_request, encode, exception_pdu

__all__ = ["SUPPORTED", "Device", "default_identity"]

log = logging.getLogger(__name__)

#: The function codes a :class:`Device` answers.
SUPPORTED = frozenset((1, 2, 3, 4, 5, 6, 15, 16, 22, 23, 43))


def default_identity() -> dict[int, bytes]:
    """Device identification objects 0-6 (vendor, product code, revision, URL, name, model, app)."""
    return {
        0x00: b"cpppo",
        0x01: b"cpppo-modbus-sim",
        0x02: __version__.encode("ascii"),
        0x03: b"https://github.com/pjkundert/cpppo",
        0x04: b"cpppo Modbus simulator",
        0x05: b"modbus_sim",
        0x06: b"cpppo",
    }


_U16 = struct.Struct(">H")
# function -> (exact PDU length or None, count offset, lowest count, highest count)
_COUNTED = MappingProxyType({1: (5, 3, 1, 2000), 2: (5, 3, 1, 2000), 3: (5, 3, 1, 125), 4: (5, 3, 1, 125),
                             15: (None, 3, 1, 1968), 16: (None, 3, 1, 123)})
_FIXED = MappingProxyType({5: 5, 6: 5, 22: 7})


def _validate(function: int, data: bytes) -> None:
    """Raise ModbusError 01/03 unless request PDU *data* has the length and counts its function requires.

    Checked here, on the bytes, because pymodbus's decoders check different things in different
    releases (3.9 accepts a count of 0; 3.16 does not).
    """
    if function not in SUPPORTED:
        raise ModbusError(ILLEGAL_FUNCTION, function=function)
    size = len(data)
    if function in _FIXED:
        if size != _FIXED[function]:
            raise ModbusError(ILLEGAL_VALUE, f"PDU of {size} bytes, not {_FIXED[function]}")
        if function == 5 and data[3:5] not in (b"\xff\x00", b"\x00\x00"):
            raise ModbusError(ILLEGAL_VALUE, "coil value must be 0xFF00 or 0x0000")
        return
    if function in _COUNTED:
        exact, at, low, high = _COUNTED[function]
        if size < 5 or (exact is not None and size != exact):
            raise ModbusError(ILLEGAL_VALUE, f"PDU of {size} bytes")
        count = _U16.unpack_from(data, at)[0]
        if not low <= count <= high:
            raise ModbusError(ILLEGAL_VALUE, f"count {count} is not {low}-{high}")
        if function in (15, 16):
            need = (count + 7) // 8 if function == 15 else 2 * count
            if size < 6 or data[5] != need or size - 6 != need:
                raise ModbusError(ILLEGAL_VALUE, f"byte count does not match count {count}")
        return
    if function == 23:
        if size < 10:
            raise ModbusError(ILLEGAL_VALUE, f"PDU of {size} bytes")
        reads, writes = _U16.unpack_from(data, 3)[0], _U16.unpack_from(data, 7)[0]
        if not (1 <= reads <= 125 and 1 <= writes <= 121 and data[9] == 2 * writes and size - 10 == 2 * writes):
            raise ModbusError(ILLEGAL_VALUE, "read/write counts and byte count disagree")
        return
    if function == 43 and (size != 4 or data[1] != 0x0E):
        raise ModbusError(ILLEGAL_FUNCTION if size > 1 and data[1] != 0x0E else ILLEGAL_VALUE,
                          "only MEI type 14 (read device identification) is served")


class Device:
    """Executes Modbus requests against one :class:`DataStore`.

    Args:
        identity: object id -> bytes for function 43/14 (see :func:`default_identity`).
    """

    def __init__(self, identity: Mapping[int, bytes] | None = None) -> None:
        self.identity = dict(default_identity() if identity is None else identity)
        #: requests answered, and how many of them with an exception
        self.requests = 0
        self.exceptions = 0

    def respond(self, store: DataStore, request: bytes) -> bytes:
        """The response PDU to request PDU *request*, executed against *store*."""
        self.requests += 1
        if not request:
            self.exceptions += 1
            return exception_pdu(0, ILLEGAL_VALUE)
        function = request[0]
        try:
            return self._execute(store, function, request)
        except ModbusError as exc:
            self.exceptions += 1
            log.debug("function %d: %s", function, exc)
            return exception_pdu(function, exc.code)
        except Exception:  # a bug here must cost one answer, never the server
            self.exceptions += 1
            log.exception("function %d failed", function)
            return exception_pdu(function, DEVICE_FAILURE)

    def _execute(self, store: DataStore, function: int, data: bytes) -> bytes:
        _validate(function, data)  # 01 or 03, from the raw bytes, before pymodbus sees them
        req = decode_request(data, SUPPORTED)
        tables = store.tables
        if function in (1, 2):
            bits = [bool(v) for v in tables["co" if function == 1 else "di"].read(req.address, req.count)]
            bits_cls = ReadCoilsResponse if function == 1 else ReadDiscreteInputsResponse
            return encode(bits_cls(bits=bits))
        if function in (3, 4):
            regs = tables["hr" if function == 3 else "ir"].read(req.address, req.count)
            regs_cls = ReadHoldingRegistersResponse if function == 3 else ReadInputRegistersResponse
            return encode(regs_cls(registers=regs))
        if function == 5:
            tables["co"].write(req.address, [1 if req.bits[0] else 0])
            return data
        if function == 6:
            tables["hr"].write(req.address, req.registers)
            return data
        if function == 15:
            tables["co"].write(req.address, [1 if b else 0 for b in req.bits[:_U16.unpack_from(data, 3)[0]]])
            return data[:5]
        if function == 16:
            tables["hr"].write(req.address, req.registers)
            return data[:5]
        if function == 22:
            assert isinstance(req, MaskWriteRegisterRequest)  # decode_request's class for the function
            hr = tables["hr"]
            (current,) = hr.read(req.address, 1)
            hr.write(req.address, [(current & req.and_mask) | (req.or_mask & ~req.and_mask & 0xFFFF)])
            return data
        if function == 23:
            assert isinstance(req, ReadWriteMultipleRegistersRequest)
            hr = tables["hr"]
            hr.check(req.read_address, req.read_count)
            hr.write(req.write_address, req.write_registers)
            return encode(ReadWriteMultipleRegistersResponse(registers=hr.read(req.read_address, req.read_count)))
        assert isinstance(req, ReadDeviceInformationRequest)  # 43, the last supported
        return self._identify(req)

    def _identify(self, req: ReadDeviceInformationRequest) -> bytes:
        """Function 43/14: read device identification (basic, regular, extended, or one object)."""
        code, oid = req.read_code, req.object_id
        if code == 4:
            if oid not in self.identity:
                raise ModbusError(ILLEGAL_ADDRESS, f"no device identification object {oid}")
            info = {oid: self.identity[oid]}
        elif code in (1, 2, 3):
            last = {1: 0x02, 2: 0x7F, 3: 0xFF}[code]
            info = {k: v for k, v in sorted(self.identity.items()) if oid <= k <= last}
        else:
            raise ModbusError(ILLEGAL_VALUE, f"read device id code {code}")
        return encode(ReadDeviceInformationResponse(read_code=code, information=info))
