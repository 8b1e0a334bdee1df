"""Sparse Modbus data stores, one per unit id.

Why: a simulated PLC serves only the addresses it was configured with,
however scattered (``40001-40010`` and ``465000-465010`` in one device), and
must refuse everything else with exception 02.  Each table is a plain
dictionary from wire address to value, so checking a request of V values
costs V lookups whatever the store's size, and nothing is allocated for the
gaps.  A :class:`Units` maps unit ids to stores; a service instance owns
it, and tests build their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from .errors import ILLEGAL_ADDRESS, ILLEGAL_VALUE, ModbusError
from .ranges import TABLES, Range, locate

__all__ = ["Table", "DataStore", "Units"]


class Table:
    """One sparse table (coils, discrete inputs, input or holding registers)."""

    __slots__ = ("name", "values", "bits")

    def __init__(self, name: str) -> None:
        self.name = name
        self.bits = name in ("co", "di")
        #: zero-based wire address -> value (0/1 for bits, 0..65535 for registers)
        self.values: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.values)

    def read(self, address: int, count: int) -> list[int]:
        """The *count* values from wire *address*; ModbusError(02) if any is not served."""
        values = self.values
        try:
            return [values[a] for a in range(address, address + count)]
        except KeyError:
            raise ModbusError(ILLEGAL_ADDRESS, f"{self.name} {address}-{address + count - 1} not all served") from None

    def check(self, address: int, count: int) -> None:
        """Raise ModbusError(02) unless every one of the *count* addresses from *address* is served."""
        values = self.values
        for a in range(address, address + count):
            if a not in values:
                raise ModbusError(ILLEGAL_ADDRESS, f"{self.name} {a} not served")

    def write(self, address: int, new: Sequence[int]) -> None:
        """Store *new* from wire *address*, all or nothing; ModbusError(02/03) on a bad request."""
        self.check(address, len(new))
        limit = 1 if self.bits else 0xFFFF
        for value in new:
            if not 0 <= value <= limit:
                raise ModbusError(ILLEGAL_VALUE, f"{value} does not fit {self.name}")
        values = self.values
        for offset, value in enumerate(new):
            values[address + offset] = int(value)


class DataStore:
    """The four tables of one Modbus device."""

    def __init__(self, ranges: Iterable[Range] = ()) -> None:
        self.tables: dict[str, Table] = {name: Table(name) for name in TABLES}
        for rng in ranges:
            self.configure(rng)

    def configure(self, rng: Range) -> None:
        """Serve every address of *rng*, with its values (0 where it has none)."""
        values = rng.values or (0,) * len(rng)
        for address, value in zip(rng.addresses(), values):
            table, wire = locate(address)
            self.tables[table].values[wire] = value

    def __getitem__(self, table: str) -> Table:
        return self.tables[table]

    def get(self, address: int, count: int = 1) -> list[int]:
        """Values at one-based *address* (e.g. 40001) onward; ModbusError(02) if not served."""
        table, wire = locate(address)
        return self.tables[table].read(wire, count)

    def set(self, address: int, values: int | Sequence[int]) -> None:
        """Store value(s) at one-based *address* onward; ModbusError if not served or out of range."""
        if isinstance(values, int):
            values = [values]
        table, wire = locate(address)
        self.tables[table].write(wire, values)

    def summary(self) -> str:
        """One line per non-empty table: how many values it serves."""
        return ", ".join(f"{name}: {len(t)}" for name, t in self.tables.items() if len(t))


class Units(Mapping[int, DataStore]):
    """Unit id -> DataStore.  With no unit ids configured, one store answers every unit id."""

    def __init__(self, ranges: Sequence[Range], unit_ids: Iterable[int] | None = None) -> None:
        ids = sorted(set(unit_ids or ()))
        for uid in ids:
            if not 0 <= uid <= 255:
                raise ValueError(f"unit id {uid} is not 0-255")
        self.any: DataStore | None = None if ids else DataStore(ranges)
        self._stores: dict[int, DataStore] = {uid: DataStore(ranges) for uid in ids}

    def lookup(self, unit: int) -> DataStore | None:
        """The store that answers *unit*, or None if this device does not answer it."""
        store = self._stores.get(unit)
        return store if store is not None else self.any

    def __getitem__(self, unit: int) -> DataStore:
        store = self.lookup(unit)
        if store is None:
            raise KeyError(unit)
        return store

    def __iter__(self) -> Iterator[int]:
        return iter(self._stores)

    def __len__(self) -> int:
        return len(self._stores)
