"""Read a plant file: TOML to checked, expanded records (:mod:`.model`), or one :class:`~.model.PlantError`.

Strategy: each entry's keys are checked against one table of the keys it may
have (a wrong key is an error, not ignored: a misspelt ``adress`` would
otherwise serve at a default); then each entry is expanded for i = 0 ..
count-1 (:mod:`.expand`), and the whole plant is checked for what only the
whole shows (a name or address twice, a name the web needs for itself).  Tags
and register ranges are parsed here with the simulators' own parsers, so a bad
one is refused before anything listens; a tag naming a type from the
controller's files is checked when those are read (:mod:`.build`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections import defaultdict
from typing import Any

from cpppo.enip.simulator.options import parse_tag
from cpppo.modbus.ranges import parse_range
from cpppo.plant.expand import expand_controllers, expand_modbus, serials
from cpppo.plant.model import EntryRef, Plant, PlantError

__all__ = ["read", "parse", "RESERVED_NAMES", "CONTROLLER_KEYS", "MODBUS_KEYS", "IDENTITY_KEYS"]

#: The keys of a ``[[controllers]]`` entry, and of a ``[[modbus]]`` one (README, "A plant in one process").
CONTROLLER_KEYS = frozenset({"name", "count", "address", "slot", "tags", "l5x", "csv", "tags_file", "identity"})
MODBUS_KEYS = frozenset({"name", "count", "address", "registers"})
#: The identity options' names an ``identity`` table may hold.
IDENTITY_KEYS = frozenset({"product_name", "serial", "vendor", "device_type", "product_code", "revision"})
#: Names the plant's web server uses for itself: a device so named could not be reached at ``/<name>/``.
RESERVED_NAMES = frozenset({"api", "favicon.ico", "index.html", "plant.json"})
#: A name: a path segment of the web API and a Docker Compose service name alike.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")


def read(path: str) -> Plant:
    """The plant file at *path*, read, checked and expanded (PlantError: one line naming what is wrong)."""
    shown = os.path.basename(path)
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise PlantError(shown, None, f"cannot be read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise PlantError(shown, None, f"is not TOML: {error}") from None
    return parse(data, shown, os.path.dirname(os.path.abspath(path)))


def parse(data: dict[str, Any], file: str, base: str = ".") -> Plant:
    """The plant *data* (a parsed TOML document) describes; *file* names it in errors, *base* is where its
    relative paths start."""
    extra = sorted(set(data) - {"controllers", "modbus"})
    if extra:
        raise PlantError(file, None, f"unknown table {extra[0]!r} (a plant file has [[controllers]] and [[modbus]])")
    tables = {table: data.get(table, []) for table in ("controllers", "modbus")}
    for table, entries in tables.items():
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise PlantError(file, None, f"{table!r} must be an array of tables ([[{table}]])")
    controllers = []
    for number, entry in enumerate(tables["controllers"], 1):
        ref = _check_keys(file, "controllers", number, entry, CONTROLLER_KEYS)
        _check_identity(file, ref, entry.get("identity", {}))
        controllers.extend(expand_controllers(file, ref, entry, base))
    modbus = []
    for number, entry in enumerate(tables["modbus"], 1):
        ref = _check_keys(file, "modbus", number, entry, MODBUS_KEYS)
        modbus.extend(expand_modbus(file, ref, entry))
    plant = serials(Plant(file, tuple(controllers), tuple(modbus)))
    if not len(plant):
        raise PlantError(file, None, "no [[controllers]] or [[modbus]] entry: nothing to serve")
    check(plant)
    return plant


def _check_keys(file: str, table: str, number: int, entry: dict[str, Any], allowed: frozenset[str]) -> EntryRef:
    name = entry.get("name")
    ref = EntryRef(table, number, name if isinstance(name, str) else "?")
    if not isinstance(name, str) or not name:
        raise PlantError(file, ref, "needs a name (a string)")
    wrong = sorted(set(entry) - allowed)
    if wrong:
        raise PlantError(file, ref, f"unknown key {wrong[0]!r} (one of {', '.join(sorted(allowed))})")
    if "address" not in entry:
        raise PlantError(file, ref, "needs an address (\"HOST\" or \"HOST:PORT\")")
    count = entry.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1 << 16:
        raise PlantError(file, ref, f"count {count!r} is not a number from 1 to 65536")
    return ref


def _check_identity(file: str, ref: EntryRef, identity: Any) -> None:
    if not isinstance(identity, dict):
        raise PlantError(file, ref, "identity must be a table, eg. { product_name = \"1756-L85E/B\", serial = 1 }")
    wrong = sorted(set(identity) - IDENTITY_KEYS)
    if wrong:
        raise PlantError(file, ref, f"unknown identity key {wrong[0]!r} (one of {', '.join(sorted(IDENTITY_KEYS))})")


def check(plant: Plant) -> None:
    """What only the whole plant shows: names twice, addresses twice (a shared one needs distinct slots),
    names the web needs, bad tags and register ranges.  Raises PlantError."""
    file = plant.file
    seen: dict[str, Any] = {}
    for device in plant.devices:
        if not _NAME.match(device.name):
            raise PlantError(file, device.entry, f"name {device.name!r} is not letters, digits, '_', '.', '-' "
                                                 f"(it names a web path and a compose service)")
        if device.name.lower() in RESERVED_NAMES:
            raise PlantError(file, device.entry, f"name {device.name!r} is one the web server uses itself "
                                                 f"({', '.join(sorted(RESERVED_NAMES))})")
        if device.name in seen:
            raise PlantError(file, device.entry, f"name {device.name!r} is also {seen[device.name].entry}'s")
        seen[device.name] = device
    at: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for device in plant.devices:
        at[device.address].append(device)
    for (host, port), sharing in at.items():
        if len(sharing) == 1:
            continue
        first, second = sharing[0], sharing[1]
        if any(d.kind != "enip" for d in sharing):
            raise PlantError(file, second.entry, f"address {host}:{port} is also {first.name!r}'s")
        slots: dict[int, Any] = {}
        for device in sharing:
            slot = 0 if device.slot is None else device.slot
            if slot in slots:
                raise PlantError(file, device.entry, f"address {host}:{port} slot {slot} is also "
                                                     f"{slots[slot].name!r}'s (a shared address needs distinct slots)")
            slots[slot] = device
    checked: set[Any] = set()
    for controller in plant.controllers:
        files = bool(controller.l5x or controller.csv or controller.tags_file)
        if (controller.tags, files) in checked:
            continue
        checked.add((controller.tags, files))
        if files:
            continue  # (tags may name the files' types: checked when the files are read)
        if not controller.tags:
            raise PlantError(file, controller.entry, "no tags: give tags = [\"SCADA=INT[100]\"] or l5x/csv/tags_file")
        for tag in controller.tags:
            try:
                parse_tag(tag)
            except ValueError as error:
                raise PlantError(file, controller.entry, str(error)) from None
    for device in plant.modbus:
        if device.registers in checked:
            continue
        checked.add(device.registers)
        if not device.registers:
            raise PlantError(file, device.entry, "no registers: give registers = [\"40001-40010=0\"]")
        for text in device.registers:
            try:
                parse_range(text, default=0)
            except ValueError as error:
                raise PlantError(file, device.entry, str(error)) from None
