"""Sans-IO Modbus framing: MBAP for Modbus/TCP, CRC-checked frames for Modbus/RTU.

Why: framing is where Modbus implementations go wrong (pymodbus's RTU framer
had to be patched by the original cpppo), and framing mistakes are easiest to
find without sockets, serial ports or clocks.  These classes only buffer
bytes and hand out frames; the Twisted protocols feed them and write what
they return.

Strategy (h11's shape): ``receive_data(bytes)`` buffers, ``next_event()``
returns one frame or None when more bytes are needed; encoders are plain
functions beside their parsers.

* MBAP: transaction id, protocol id (must be 0), length (unit id + PDU, 2 to
  254), unit id, PDU.  Anything else raises :class:`FramingError` and the
  connection should be closed: there is no way to resynchronise a stream.
* RTU: unit id, PDU, CRC-16 (little-endian).  A frame's length follows from
  its function code (and, for some, a byte count inside it), for requests and
  responses by different rules.  A frame whose CRC fails is line noise: one
  byte is dropped and the search goes on.  A function code with no known
  length, or a frame that never completes, waits for the 3.5-character
  silence that ends every RTU frame (``silence()``, called by the protocol's
  timer, or noticed by ``receive_data`` from the timestamps it is given);
  then the bytes held are either one CRC-valid frame of an unknown function
  (which the server answers with exception 01) or noise, and are discarded.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from .errors import FramingError

__all__ = ["MbapFrame", "MbapFramer", "encode_mbap", "RtuFrame", "RtuFramer", "encode_rtu",
           "crc16", "char_time", "t35", "MAX_PDU"]

MAX_PDU = 253
_MBAP = struct.Struct(">HHHB")


class MbapFrame(NamedTuple):
    """One Modbus/TCP frame: transaction id, unit id and PDU (function code first)."""

    transaction: int
    unit: int
    pdu: bytes


def encode_mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    """The MBAP-framed bytes for *pdu*."""
    return _MBAP.pack(transaction & 0xFFFF, 0, len(pdu) + 1, unit) + pdu


class MbapFramer:
    """Splits a Modbus/TCP byte stream into :class:`MbapFrame` s."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def receive_data(self, data: bytes) -> None:
        """Buffer *data* from the peer."""
        self._buf = self._buf + data if self._buf else data

    @property
    def buffered(self) -> int:
        """How many received bytes are not yet part of a returned frame."""
        return len(self._buf)

    def next_event(self) -> MbapFrame | None:
        """The next complete frame, or None if more bytes are needed.

        Raises:
            FramingError: the header is not a Modbus/TCP header; the stream cannot be resynchronised.
        """
        buf = self._buf
        if len(buf) < 7:
            return None
        transaction, protocol, length, unit = _MBAP.unpack_from(buf)
        if protocol != 0:
            raise FramingError(f"MBAP protocol id {protocol}, not 0")
        if not 2 <= length <= MAX_PDU + 1:
            raise FramingError(f"MBAP length {length} is not 2-{MAX_PDU + 1}")
        end = 6 + length
        if len(buf) < end:
            return None
        self._buf = buf[end:]
        return MbapFrame(transaction, unit, buf[7:end])


# --- Modbus/RTU -----------------------------------------------------------------------------

def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """The Modbus CRC-16 of *data* (polynomial 0xA001, initial 0xFFFF)."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def encode_rtu(unit: int, pdu: bytes) -> bytes:
    """The RTU frame for *pdu*: unit id, PDU, CRC (low byte first)."""
    body = bytes((unit,)) + pdu
    return body + struct.pack("<H", crc16(body))


def char_time(baudrate: int, bits_per_char: int = 11) -> float:
    """Seconds to send one character (start + 8 data + parity/stop = 11 bits)."""
    return bits_per_char / baudrate


def t35(baudrate: int) -> float:
    """The 3.5-character silence that ends an RTU frame: fixed at 1.75 ms above 19200 baud."""
    return 0.00175 if baudrate > 19200 else 3.5 * char_time(baudrate)


class RtuFrame(NamedTuple):
    """One Modbus/RTU frame: unit id and PDU (CRC checked and removed)."""

    unit: int
    pdu: bytes


# Frame sizes by function code, including unit id and CRC.  An int is a fixed size; a
# (position, extra) pair means "the byte at position is a byte count; size = position + 1 +
# count + 2"; a function takes the MEI path separately.
_REQUEST_SIZES: Mapping[int, int | tuple[int, int]] = MappingProxyType({
    1: 8, 2: 8, 3: 8, 4: 8, 5: 8, 6: 8, 7: 4, 8: 8, 11: 4, 12: 4, 17: 4,
    15: (6, 0), 16: (6, 0), 20: (2, 0), 21: (2, 0), 22: 10, 23: (10, 0), 24: 6, 43: 7,
})
_RESPONSE_SIZES: Mapping[int, int | tuple[int, int]] = MappingProxyType({
    1: (2, 0), 2: (2, 0), 3: (2, 0), 4: (2, 0), 5: 8, 6: 8, 7: 5, 8: 8, 11: 8,
    12: (2, 0), 15: 8, 16: 8, 17: (2, 0), 20: (2, 0), 21: (2, 0), 22: 10, 23: (2, 0), 24: (2, 0),
})
_MAX_FRAME = 256


def _mei_response_size(buf: bytes, i: int) -> int:
    """Size of a 43/14 (read device identification) response at buf[i:], or 0 if not yet known."""
    if len(buf) - i < 3:
        return 0
    if buf[i + 2] != 0x0E:
        return -1
    size = 8
    if len(buf) - i < size:
        return 0
    for _ in range(buf[i + 7]):
        if len(buf) - i < size + 2:
            return 0
        size += 2 + buf[i + size + 1]
    return size + 2


class RtuFramer:
    """Finds Modbus/RTU frames in a serial byte stream, resynchronising after noise.

    Args:
        role: "server" parses requests, "client" parses responses.
        silence: the inter-frame silence in seconds (see :func:`t35`).
    """

    def __init__(self, role: str = "server", silence: float = t35(19200)) -> None:
        if role not in ("server", "client"):
            raise ValueError("role is 'server' or 'client'")
        self.role = role
        self.silence_s = silence
        self._sizes = _REQUEST_SIZES if role == "server" else _RESPONSE_SIZES
        self._buf = b""
        self._last: float | None = None
        self._events: deque[RtuFrame] = deque()
        #: bytes discarded as noise or as incomplete frames, since creation
        self.discarded = 0

    @property
    def buffered(self) -> int:
        """How many received bytes are held, not yet part of a returned frame."""
        return len(self._buf)

    def receive_data(self, data: bytes, now: float | None = None) -> None:
        """Buffer *data*, received at time *now* (seconds; any monotonic clock).

        If more than the silence has passed since the previous bytes, whatever was held
        before is ended first, exactly as if :meth:`silence` had been called.
        """
        if now is not None:
            if self._buf and self._last is not None and now - self._last > self.silence_s:
                self.silence()
            self._last = now
        self._buf += data
        if len(self._buf) > 4 * _MAX_FRAME:
            self._scan(final=True)

    def silence(self) -> None:
        """The line has been quiet for 3.5 characters: end whatever partial frame is held."""
        self._scan(final=True)

    def next_event(self) -> RtuFrame | None:
        """The next complete, CRC-valid frame, or None if more bytes (or a silence) are needed."""
        if not self._events:
            self._scan(final=False)
        return self._events.popleft() if self._events else None

    # --- internals ---

    def _size(self, buf: bytes, i: int) -> int | None:
        """Frame size at buf[i:]: an int, 0 if more bytes are needed to know, None if unknown."""
        if len(buf) - i < 2:
            return 0
        fc = buf[i + 1]
        if self.role == "client" and fc & 0x80:
            return 5 if 0x81 <= fc <= 0xAB else None
        rule = self._sizes.get(fc)
        if rule is None:
            if fc == 43 and self.role == "client":
                size = _mei_response_size(buf, i)
                return None if size < 0 else size
            return None
        if isinstance(rule, int):
            return rule
        pos, _ = rule
        if len(buf) - i <= pos:
            return 0
        return pos + 1 + buf[i + pos] + 2

    def _valid(self, buf: bytes, i: int, size: int) -> bool:
        frame = buf[i:i + size]
        return len(frame) == size and size >= 4 and crc16(frame[:-2]) == (frame[-2] | frame[-1] << 8)

    def _hunt(self, buf: bytes, start: int) -> int | None:
        """The first offset from *start* where a complete, CRC-valid frame of known size begins."""
        for j in range(start, len(buf) - 3):
            size = self._size(buf, j)
            if size and j + size <= len(buf) and self._valid(buf, j, size):
                return j
        return None

    def _emit(self, buf: bytes, i: int, size: int) -> None:
        self._events.append(RtuFrame(buf[i], buf[i + 1:i + size - 2]))

    def _scan(self, final: bool) -> None:
        buf, i = self._buf, 0
        while len(buf) - i >= 4:
            size = self._size(buf, i)
            if size is None:
                # Unknown function (or noise): a later valid frame means this was noise.
                j = self._hunt(buf, i + 1)
                if j is None:
                    break
                self.discarded += j - i
                i = j
                continue
            if size == 0 or i + size > len(buf):
                if not final:
                    break
                j = self._hunt(buf, i + 1)
                if j is None:
                    break
                self.discarded += j - i
                i = j
                continue
            if self._valid(buf, i, size):
                self._emit(buf, i, size)
                i += size
            else:
                self.discarded += 1
                i += 1
        rest = buf[i:]
        if final and rest:
            if len(rest) >= 4 and self._valid(rest, 0, len(rest)):
                self._emit(rest, 0, len(rest))  # a whole frame of a function we cannot size
            else:
                self.discarded += len(rest)
            rest = b""
        self._buf = rest
