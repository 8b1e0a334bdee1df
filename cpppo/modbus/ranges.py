"""Modbus addresses as people write them: ``40001-40100=99``, ``1-16=1``.

Why: the simulator, the poller and both command lines speak in the
traditional one-based, family-prefixed addresses (``40001`` is the first
holding register), while the wire speaks in a table plus a zero-based offset.
This module is the one place that knows the families, parses the range
syntax, and merges neighbouring addresses into as few requests as the
protocol allows.  It does no I/O.

Families (both the 5- and the 6-digit forms are accepted)::

    1 -   9999            coils              (table "co")
    10001 -  19999, 100001 - 165536  discrete inputs  ("di")
    30001 -  39999, 300001 - 365536  input registers  ("ir")
    40001 -  99999, 400001 - 465536  holding registers ("hr")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = ["TABLES", "Range", "parse_range", "locate", "family", "is_bits", "merge", "shatter",
           "READ_LIMIT", "WRITE_LIMIT"]

#: The four Modbus tables: coils, discrete inputs, input registers, holding registers.
TABLES = ("co", "di", "ir", "hr")

# (low, high, table, one-based address of wire offset 0), 6-digit forms first.
_FAMILIES = (
    (400001, 465536, "hr", 400001),
    (300001, 365536, "ir", 300001),
    (100001, 165536, "di", 100001),
    (40001, 99999, "hr", 40001),
    (30001, 39999, "ir", 30001),
    (10001, 19999, "di", 10001),
    (1, 9999, "co", 1),
)

#: Most values one read request may carry, per table (the protocol's limits).
READ_LIMIT: Mapping[str, int] = MappingProxyType({"co": 2000, "di": 2000, "ir": 125, "hr": 125})
#: Most values one write request may carry (coils: 1968; holding registers: 123).
WRITE_LIMIT: Mapping[str, int] = MappingProxyType({"co": 1968, "hr": 123})

_RANGE = re.compile(
    r"^\s*(?P<beg>0x[0-9a-f]+|\d+)\s*(?:-\s*(?P<end>0x[0-9a-f]+|\d+))?\s*"
    r"(?:=\s*(?P<val>[^=]*))?$", re.IGNORECASE)


class Range(NamedTuple):
    """An inclusive address range and the values for it (empty if none were given)."""

    begin: int
    end: int
    values: tuple[int, ...]

    def __len__(self) -> int:
        return self.end - self.begin + 1

    def addresses(self) -> range:
        """Every address of the range, in order."""
        return range(self.begin, self.end + 1)


def _int(text: str) -> int:
    text = text.strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text, 10)


def family(address: int) -> tuple[str, int]:
    """The (table, one-based base address) of *address*'s family; ValueError if it has none."""
    for low, high, table, base in _FAMILIES:
        if low <= address <= high:
            return table, base
    raise ValueError(f"{address} is not a Modbus address (see the address families: 1-9999 coils, "
                     f"10001-19999 inputs, 30001-39999 input registers, 40001-99999 holding registers, "
                     f"or their 6-digit forms)")


def locate(address: int) -> tuple[str, int]:
    """The (table, zero-based wire address) that one-based *address* names.

    Raises:
        ValueError: *address* is in no family.
    """
    table, base = family(address)
    return table, address - base


def is_bits(address: int) -> bool:
    """True if *address* names a coil or a discrete input (one bit), False for a register."""
    return family(address)[0] in ("co", "di")


def parse_range(text: str, default: int | None = None) -> Range:
    """Parse ``<begin>[-<end>][=<value>[,<value>...]]``.

    The values are repeated to fill the range; given only ``<begin>=v1,v2,v3``, the range
    extends to hold the values.  With no values and a *default*, the range is filled with
    it; with neither, ``values`` is empty.  Every address must be in one family.

    Raises:
        ValueError: with a message fit for a user, for anything malformed.
    """
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"bad register range {text!r}: expected <begin>[-<end>][=<value>[,<value>...]]")
    try:
        begin = _int(match["beg"])
        end = _int(match["end"]) if match["end"] else None
        values = [_int(v) for v in match["val"].split(",")] if match["val"] is not None else []
    except ValueError:
        raise ValueError(f"bad register range {text!r}: values must be integers") from None
    if match["val"] is not None and not values:
        raise ValueError(f"bad register range {text!r}: no value after '='")
    if not values and default is not None:
        values = [default]
    if end is None:
        end = begin + max(len(values), 1) - 1
    if end < begin:
        raise ValueError(f"bad register range {text!r}: end {end} is before begin {begin}")
    table, base = family(begin)
    if family(end) != (table, base):
        raise ValueError(f"bad register range {text!r}: {begin} and {end} are in different families")
    bits = table in ("co", "di")
    for value in values:
        if not (0 <= value <= (1 if bits else 0xFFFF)):
            raise ValueError(f"bad register range {text!r}: value {value} does not fit a "
                             f"{'bit' if bits else '16-bit register'}")
    if values:
        count = end - begin + 1
        values = (values * (count // len(values) + 1))[:count]
    return Range(begin, end, tuple(values))


def shatter(address: int, count: int, limit: int | None = None) -> Iterator[tuple[int, int]]:
    """Split the range (*address*, *count*) into pieces no longer than *limit*.

    Without a *limit*, the read limit of the address's table is used.
    """
    if limit is None:
        limit = READ_LIMIT[family(address)[0]]
    while count > 0:
        taken = min(count, limit)
        yield address, taken
        address += taken
        count -= taken


def merge(ranges: Iterable[tuple[int, int]], reach: int = 1,
          limit: int | None = None) -> Iterator[tuple[int, int]]:
    """Merge (address, count) ranges into as few as possible, then :func:`shatter` them.

    Ranges of the same family whose gap is smaller than *reach* are joined (reading the
    addresses between them too); ranges of different families never are.
    """
    ordered = sorted(ranges)
    if not ordered:
        return
    base, length = ordered[0]
    fam = family(base)
    for address, count in ordered[1:]:
        if family(address) == fam and address < base + length + max(reach, 1):
            length = max(length, address + count - base)
            continue
        yield from shatter(base, length, limit)
        base, length, fam = address, count, family(address)
    yield from shatter(base, length, limit)
