"""Simulated PLC misbehaviour for ``modbus_sim --evil``: late, truncated or corrupted answers.

Why: a poller is only as good as its handling of a PLC that answers late,
answers with half a frame, or answers with the wrong transaction id; the
original simulator offered these failure modes for testing clients, and so
does this one.  Unlike the original (which slept, stalling every client),
a delay here is a timer on the reactor: one slow answer delays only its own
connection, and answers still leave in order.

Modes (``--evil MODE``)::

    delay[:S[-S2]]   answer S seconds late (default 5), or uniformly S..S2 seconds late
    truncate         send only the first 0..n-1 bytes of each n-byte answer
    corrupt[:WHAT]   change one field of each Modbus/TCP answer: transaction (default),
                     protocol, unit, function or registers (the byte count of read answers)
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

__all__ = ["Evil", "parse_evil", "CORRUPTIBLE"]

CORRUPTIBLE = ("transaction", "protocol", "unit", "function", "registers")


@dataclass
class Evil:
    """One misbehaviour, applied to every answer.  Holds its own random generator."""

    mode: str
    delay: tuple[float, float] = (0.0, 0.0)
    what: str = "transaction"
    rng: random.Random = field(default_factory=random.Random)

    def lateness(self) -> float:
        """Seconds to hold the next answer back."""
        low, high = self.delay
        return self.rng.uniform(low, high) if high > low else low

    def mangle_tcp(self, answer: bytes) -> bytes:
        """The MBAP-framed *answer*, truncated or corrupted as this mode says."""
        if self.mode == "truncate":
            return answer[:self.rng.randrange(len(answer))]
        if self.mode != "corrupt":
            return answer
        buf = bytearray(answer)
        if self.what == "transaction":
            struct.pack_into(">H", buf, 0, struct.unpack_from(">H", buf, 0)[0] ^ 0xFFFF)
        elif self.what == "protocol":
            struct.pack_into(">H", buf, 2, 0xFFFF)
        elif self.what == "unit":
            buf[6] ^= 0xFF
        elif self.what == "function":
            buf[7] ^= 0x7F
        elif self.what == "registers" and len(buf) > 8 and buf[7] in (1, 2, 3, 4, 23):
            buf[8] = (buf[8] + 2) & 0xFF  # claims more data than the answer carries
        return bytes(buf)

    def mangle_rtu(self, answer: bytes) -> bytes:
        """The RTU *answer*, truncated or corrupted (its CRC then fails, as on a noisy line)."""
        if self.mode == "truncate":
            return answer[:self.rng.randrange(len(answer))]
        if self.mode == "corrupt":
            return answer[:-1] + bytes([answer[-1] ^ 0xFF])
        return answer


def parse_evil(text: str, seed: int | None = None) -> Evil:
    """Parse ``delay[:S[-S2]]``, ``truncate`` or ``corrupt[:WHAT]``.

    Raises:
        ValueError: with a message fit for a user.
    """
    mode, _, arg = text.partition(":")
    rng = random.Random(seed)
    if mode == "delay":
        try:
            bounds = tuple(float(x) for x in arg.split("-")) if arg else (5.0,)
        except ValueError:
            raise ValueError(f"--evil {text!r}: delay takes seconds, e.g. delay:2.5 or delay:.1-.5") from None
        if len(bounds) not in (1, 2) or min(bounds) < 0 or (len(bounds) == 2 and bounds[1] < bounds[0]):
            raise ValueError(f"--evil {text!r}: delay takes S or S1-S2 seconds")
        return Evil("delay", (bounds[0], bounds[-1]), rng=rng)
    if mode == "truncate" and not arg:
        return Evil("truncate", rng=rng)
    if mode == "corrupt" and (not arg or arg in CORRUPTIBLE):
        return Evil("corrupt", what=arg or "transaction", rng=rng)
    raise ValueError(f"--evil {text!r}: expected delay[:S[-S2]], truncate or corrupt[:{'|'.join(CORRUPTIBLE)}]")
