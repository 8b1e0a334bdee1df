"""The controller's fault record (class 0x73 instance 1): the major and minor fault codes.

Why: pylogix documents reading a controller's fault with ``Message()``: Get
Attributes All (0x01) of class 0x73 instance 1, through Unconnected Send, the
major fault type a UINT at reply data bytes 20-21 and the minor fault code a
UINT at bytes 22-23.  A healthy controller answers zeros; a test that wants to
see how an HMI or a script reacts to a faulted controller sets a fault through
the service (``EnipService.set_fault``) or the web API (``server/fault``) and
clears it again.

Only those two fields are documented by the client that reads them, so the
record we serve is 24 bytes: 20 bytes of zeros, then major and minor.  The
codes are whatever the test sets (Logix major types are small numbers: 1
power-up, 3 I/O, 4 program, 6 watchdog...; the minor code is per type).
"""

from __future__ import annotations

import struct
from typing import Any

from cpppo.enip.codec.codes import ClassCode, GeneralStatus
from cpppo.enip.simulator.controller.device import Object, Refusal

__all__ = ["ControllerFault", "RECORD_SIZE", "MAJOR_AT", "MINOR_AT"]

#: Where pylogix's example reads the codes in the Get Attributes All reply data, and its size.
MAJOR_AT, MINOR_AT, RECORD_SIZE = 20, 22, 24
_CODES = struct.Struct("<HH")


class ControllerFault(Object):
    """Class 0x73 instance 1: the current major and minor fault codes (0 and 0: no fault)."""

    class_id = ClassCode.CONTROLLER_FAULT

    def __init__(self, instance_id: int = 1) -> None:
        super().__init__(instance_id)
        self.major = 0
        self.minor = 0

    def set(self, major: int, minor: int = 0) -> None:
        """Record a fault (major type and minor code, each a UINT); 0 and 0 clear it."""
        for name, code in (("major", major), ("minor", minor)):
            if not 0 <= code <= 0xFFFF:
                raise ValueError(f"{name} fault code {code} is not a UINT")
        self.major, self.minor = major, minor

    def clear(self) -> None:
        """The controller is healthy again: both codes back to 0."""
        self.set(0, 0)

    @property
    def faulted(self) -> bool:
        return bool(self.major or self.minor)

    def get_attributes_all(self) -> Any:
        """The record pylogix's example decodes: zeros, then major and minor at bytes 20 and 22."""
        record = bytearray(RECORD_SIZE)
        _CODES.pack_into(record, MAJOR_AT, self.major, self.minor)
        return bytes(record)

    def get_attribute_single(self, number: int) -> Any:
        raise Refusal(GeneralStatus.ATTRIBUTE_NOT_SUPPORTED,
                       message=f"{self}: only Get Attributes All is served")
