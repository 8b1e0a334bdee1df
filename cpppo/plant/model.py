"""The plant file's records: what one plant file says, entry by entry, once read and expanded.

Why records and not the TOML dictionaries: the rest of the plant (sharding,
building, serving, the compose file) must not re-check keys, and a test
compares lists of them.  Every record is frozen; :class:`PlantError` is the one
error a plant file gets: one line naming the file, the entry and the problem
(``plant.toml: [[controllers]] #2 'filler{i}': address '127.0.2' is not IPv4``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PlantError", "EntryRef", "ControllerSpec", "ModbusSpec", "Plant", "DeviceSpec", "CONTROLLER_PORT",
           "MODBUS_PORT"]

#: The ports an address without one gets: EtherNet/IP's (TCP and UDP) and Modbus/TCP's.
CONTROLLER_PORT = 44818
MODBUS_PORT = 502


@dataclass(frozen=True)
class EntryRef:
    """Where an expanded device came from: its table (``controllers`` / ``modbus``), its number there
    (1 is the first), its name as written (a template, perhaps) and its ``i``."""

    table: str
    number: int
    name: str
    i: int | None = None

    def __str__(self) -> str:
        shown = f"[[{self.table}]] #{self.number} {self.name!r}"
        return shown if self.i is None else f"{shown} (i = {self.i})"


class PlantError(ValueError):
    """A plant file that cannot be served: *file*, *entry* (None: the file as a whole) and *problem*.

    ``str()`` is the one line a user sees.
    """

    def __init__(self, file: str, entry: EntryRef | None, problem: str) -> None:
        self.file, self.entry, self.problem = file, entry, problem
        super().__init__(f"{file}: {entry}: {problem}" if entry is not None else f"{file}: {problem}")


@dataclass(frozen=True)
class ControllerSpec:
    """One EtherNet/IP controller of the plant, its template expanded.

    *tags* are the command line's tag syntax; *l5x*, *csv* and *tags_file* are paths already
    made absolute (relative to the plant file); *identity* holds the identity options' names
    (``product_name``, ``serial``, ``vendor``, ``device_type``, ``product_code``, ``revision``).
    *slot* is None for a controller alone at its address.
    """

    name: str
    host: str
    port: int
    tags: tuple[str, ...] = ()
    l5x: tuple[str, ...] = ()
    csv: tuple[str, ...] = ()
    tags_file: tuple[str, ...] = ()
    identity: tuple[tuple[str, Any], ...] = ()
    slot: int | None = None
    entry: EntryRef = field(default=EntryRef("controllers", 0, ""), compare=False)

    kind = "enip"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


@dataclass(frozen=True)
class ModbusSpec:
    """One Modbus/TCP device of the plant: its register ranges in ``modbus_sim``'s syntax."""

    name: str
    host: str
    port: int
    registers: tuple[str, ...] = ()
    entry: EntryRef = field(default=EntryRef("modbus", 0, ""), compare=False)

    kind = "modbus"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


DeviceSpec = ControllerSpec | ModbusSpec


@dataclass(frozen=True)
class Plant:
    """A plant file expanded: the controllers in file order, then the Modbus devices in file order."""

    file: str
    controllers: tuple[ControllerSpec, ...] = ()
    modbus: tuple[ModbusSpec, ...] = ()

    @property
    def devices(self) -> tuple[DeviceSpec, ...]:
        """The expanded list ``--shard K/N`` counts in: controllers, then Modbus devices."""
        return (*self.controllers, *self.modbus)

    def __len__(self) -> int:
        return len(self.controllers) + len(self.modbus)
