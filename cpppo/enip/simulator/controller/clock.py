"""The Wall Clock Time object (class 0x8B, instance 1): the controller's clock, as clients set and read it.

Why: pylogix ``GetPLCTime`` / ``SetPLCTime`` and pycomm3 ``get_plc_time`` /
``set_plc_time`` talk to a ControlLogix's Wall Clock Time object, and a
simulator without one fails them.  They use the attribute *list* services:

- pycomm3 ``get_plc_time``: Get Attribute List (0x03) of attribute 6;
- pycomm3 ``set_plc_time``: Set Attribute List (0x04) of attribute 6;
- pylogix ``GetPLCTime``: Get Attribute List of attribute 11;
- pylogix ``SetPLCTime``: Set Attribute List of attributes 6 and 10.

The attributes served (all settable):

====  =====  ===============================================================
 6    ULINT  the current time, UTC: microseconds since 1970-01-01 00:00 UTC
10    USINT  daylight saving time in effect (0 or 1)
11    ULINT  the current local time, microseconds since 1970-01-01 00:00
====  =====  ===============================================================

Local time is UTC + *utc_offset* seconds (+ *dst_minutes* while attribute 10
is 1).  The simulated clock is the real one (*clock*, seconds since the
epoch: ``time.time`` or a reactor's ``seconds``) plus an offset that setting
the time changes, so it keeps running after it is set; tests inject a clock
they control.  Get/Set Attribute Single and Get Attributes All (6, 10, 11
concatenated) are answered too, for tools that only have those (the original
cpppo's ``get_attribute``), although a real ControlLogix refuses Get
Attribute Single here.

:func:`get_attribute_list` and :func:`set_attribute_list` serve those two
services for any :class:`~.device.Object` whose attributes have fixed sizes.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from cpppo.enip.codec import browse, cip
from cpppo.enip.codec import types as cip_types
from cpppo.enip.simulator.controller.device import Attribute, Object, Refusal

__all__ = ["WallClock", "ComputedAttribute", "get_attribute_list", "set_attribute_list",
           "UTC_MICROSECONDS", "DST", "LOCAL_MICROSECONDS"]

UTC_MICROSECONDS, DST, LOCAL_MICROSECONDS = 6, 10, 11
GET_ATTRIBUTE_LIST, SET_ATTRIBUTE_LIST = 0x03, 0x04
#: General status of a list service when one of its attributes failed.
ATTRIBUTE_LIST_ERROR = 0x0A
ATTRIBUTE_NOT_SUPPORTED, INVALID_VALUE, NOT_SETTABLE = 0x14, 0x09, 0x0E
NOT_ENOUGH_DATA, TOO_MUCH_DATA = 0x13, 0x15
_ULINT_MAX = (1 << 64) - 1
_UINT = struct.Struct("<H")


class ComputedAttribute(Attribute):
    """A scalar Attribute whose value is computed when read and handed to *write* when written.

    ``value`` stays coherent for anything that reads it directly (the web API, a debugger).
    """

    def __init__(self, name: str, type_cls: Any, read: Callable[[], Any], write: Callable[[Any], None]) -> None:
        super().__init__(name, type_cls, 0)
        self._read, self._write = read, write

    @property
    def value(self) -> Any:
        return self._read()

    @value.setter
    def value(self, new: Any) -> None:
        if "_write" in self.__dict__:  # Attribute.__init__ stores its default here: not a write
            self._write(new)


class WallClock(Object):
    """Class 0x8B instance 1: the simulated controller's clock (see the module docstring).

    *clock* returns the real time in seconds since the epoch; *utc_offset* is the
    controller's time zone in seconds east of UTC; *dst_minutes* is what daylight
    saving time adds.  ``serve(request)`` answers Get/Set Attribute List.
    """

    class_id = 0x8B
    all_attributes = (UTC_MICROSECONDS, DST, LOCAL_MICROSECONDS)

    def __init__(self, instance_id: int = 1, clock: Callable[[], float] = time.time, utc_offset: int = 0,
                 dst: bool = False, dst_minutes: int = 60) -> None:
        super().__init__(instance_id, settable=(UTC_MICROSECONDS, DST, LOCAL_MICROSECONDS))
        self.clock = clock
        self.utc_offset = utc_offset
        self.dst_minutes = dst_minutes
        self.dst = bool(dst)
        self.offset = 0  # microseconds the simulated clock is ahead of *clock*
        self.attributes.update({
            UTC_MICROSECONDS: ComputedAttribute("Current UTC Value", cip_types.ULINT, self.utc, self.set_utc),
            DST: ComputedAttribute("DST In Effect", cip_types.USINT, lambda: int(self.dst), self._set_dst),
            LOCAL_MICROSECONDS: ComputedAttribute("Current Local Value", cip_types.ULINT, self.local,
                                                  self.set_local),
        })

    # --- the clock ----------------------------------------------------------------------
    def _now(self) -> int:
        return int(self.clock() * 1_000_000)

    def local_offset(self) -> int:
        """Microseconds local time is ahead of UTC (time zone and daylight saving)."""
        return (self.utc_offset + (self.dst_minutes * 60 if self.dst else 0)) * 1_000_000

    def utc(self) -> int:
        """The simulated UTC time, microseconds since the epoch."""
        return min(max(self._now() + self.offset, 0), _ULINT_MAX)

    def local(self) -> int:
        return min(max(self.utc() + self.local_offset(), 0), _ULINT_MAX)

    def set_utc(self, microseconds: int) -> None:
        """Set the clock to *microseconds* since the epoch, UTC; it keeps running from there."""
        self.offset = int(microseconds) - self._now()

    def set_local(self, microseconds: int) -> None:
        self.set_utc(int(microseconds) - self.local_offset())

    def _set_dst(self, value: int) -> None:
        if value not in (0, 1):
            raise Refusal(INVALID_VALUE, message=f"DST {value!r} is not 0 or 1")
        self.dst = bool(value)

    # --- services -----------------------------------------------------------------------
    def set_attribute_single(self, number: int, data: bytes) -> Any:
        attribute = self.attribute(number)
        if len(data) != attribute.cip.size:
            raise Refusal(NOT_ENOUGH_DATA if len(data) < (attribute.cip.size or 0) else TOO_MUCH_DATA)
        return super().set_attribute_single(number, data)

    def serve(self, request: cip.Request) -> cip.Reply:
        """Get Attribute List (0x03) and Set Attribute List (0x04); Refusal(0x08) for the rest."""
        if request.service == GET_ATTRIBUTE_LIST:
            return get_attribute_list(self, request)
        if request.service == SET_ATTRIBUTE_LIST:
            return set_attribute_list(self, request)
        raise Refusal(0x08, message=f"service 0x{request.service:02X} not supported by {self}")


def _requested(request: cip.Request) -> tuple[int, ...]:
    body = request.body
    if isinstance(body, cip.GetAttributeList):
        return tuple(body.attributes)
    data = request.payload()
    if len(data) < 2:
        raise Refusal(NOT_ENOUGH_DATA, message="Get Attribute List without its count")
    (count,) = _UINT.unpack_from(data, 0)
    if len(data) != 2 + 2 * count:
        raise Refusal(NOT_ENOUGH_DATA if len(data) < 2 + 2 * count else TOO_MUCH_DATA)
    return struct.unpack_from(f"<{count}H", data, 2)


def get_attribute_list(obj: Object, request: cip.Request) -> cip.Reply:
    """Get Attribute List on *obj*: each attribute's id, status and value, in the order asked.

    An attribute *obj* lacks (or one whose read fails) is answered with its own
    status and no value, and the reply's general status is then 0x0A.  Only
    attributes that read immediately are supported (not Deferreds).
    """
    values = []
    for number in _requested(request):
        try:
            data = obj.get_attribute_single(number)
            if isinstance(data, defer.Deferred):
                raise Refusal(0x08, message=f"{obj} attribute {number} answers slowly")
            values.append(browse.AttributeValue(number, 0, data))
        except Refusal as error:
            values.append(browse.AttributeValue(number, error.status))
    status = ATTRIBUTE_LIST_ERROR if any(v.status for v in values) else 0
    return cip.Reply(request.service | 0x80, status, data=browse.encode_attribute_list_reply(values))


def set_attribute_list(obj: Object, request: cip.Request) -> cip.Reply:
    """Set Attribute List on *obj*: (id, value) pairs in, (id, status) pairs out.

    Each value's size is its attribute's (fixed) size, so an attribute *obj*
    lacks ends the request: it is answered 0x14 and nothing after it is read.
    Attributes are set in order; a refused one (0x0E not settable, 0x09 a bad
    value, 0x13 data ending early) makes the general status 0x0A.
    """
    data = request.payload()
    if len(data) < 2:
        raise Refusal(NOT_ENOUGH_DATA, message="Set Attribute List without its count")
    (count,) = _UINT.unpack_from(data, 0)
    at = 2
    results: list[tuple[int, int]] = []
    for _ in range(count):
        if at + 2 > len(data):
            raise Refusal(NOT_ENOUGH_DATA, message="Set Attribute List ends before its attributes")
        (number,) = _UINT.unpack_from(data, at)
        at += 2
        attribute = obj.attributes.get(number)
        if attribute is None or not attribute.cip.size:
            results.append((number, ATTRIBUTE_NOT_SUPPORTED))
            break
        size = attribute.cip.size * len(attribute)
        value, at = data[at:at + size], at + size
        if len(value) < size:
            results.append((number, NOT_ENOUGH_DATA))
            break
        try:
            done = obj.set_attribute_single(number, value)
            if isinstance(done, defer.Deferred):
                raise Refusal(0x08, message=f"{obj} attribute {number} is set slowly")
            results.append((number, 0))
        except Refusal as error:
            results.append((number, error.status))
    if at < len(data) and all(status == 0 for _, status in results):
        raise Refusal(TOO_MUCH_DATA, message=f"{len(data) - at} bytes after {count} attributes")
    status = ATTRIBUTE_LIST_ERROR if any(s for _, s in results) else 0
    reply = _UINT.pack(len(results)) + b"".join(struct.pack("<HH", n, s) for n, s in results)
    return cip.Reply(request.service | 0x80, status, data=reply)
