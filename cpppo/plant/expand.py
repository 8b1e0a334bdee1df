"""Template expansion and sharding: one plant-file entry to its devices, one plant to a shard's part.

An entry with ``count = N`` is N devices, i = 0 .. N-1: ``{i}`` is replaced by i in
every string of it (the name, the tags, the file names, the identity's strings, the
register ranges), and each next device takes the next IPv4 address (127.0.2.255 is
followed by 127.0.3.0), or, if the entry gives a ``slot``, the same address and the
next slot (a chassis of N CPUs).  A controller's identity serial is its entry's
``serial`` plus i, or, if none is given, the Identity's default serial plus its place
among the plant's controllers: every identity in the plant differs.

``--shard K/N`` serves device j of the expanded list when j mod N = K, so N
processes (or pods) given the same file serve it all, each device once.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import replace
from typing import Any

from cpppo.plant.model import (
    CONTROLLER_PORT,
    MODBUS_PORT,
    ControllerSpec,
    EntryRef,
    ModbusSpec,
    Plant,
    PlantError,
)

__all__ = ["expand_controllers", "expand_modbus", "parse_address", "shard", "parse_shard", "rehost",
           "serials", "DEFAULT_SERIAL"]

#: The Identity object's default serial number: the base of the serials a plant file does not give.
DEFAULT_SERIAL = 0x006C061A


def parse_address(file: str, ref: EntryRef, text: Any, default_port: int) -> tuple[ipaddress.IPv4Address, int]:
    """``HOST`` or ``HOST:PORT`` (HOST an IPv4 address: the next device takes the next one)."""
    if not isinstance(text, str):
        raise PlantError(file, ref, f"address {text!r} is not a string \"HOST\" or \"HOST:PORT\"")
    host, _, port = text.partition(":")
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        raise PlantError(file, ref, f"address {text!r}: {host!r} is not an IPv4 address") from None
    if port and not (port.isdigit() and 0 <= int(port) < 65536):
        raise PlantError(file, ref, f"address {text!r}: port {port!r} is not a number from 0 to 65535")
    return address, int(port) if port else default_port


def _strings(file: str, ref: EntryRef, entry: dict[str, Any], key: str) -> list[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PlantError(file, ref, f"{key} must be a list of strings")
    return value


def _nth(file: str, ref: EntryRef, first: ipaddress.IPv4Address, i: int) -> str:
    try:
        return str(first + i)
    except ipaddress.AddressValueError:
        raise PlantError(file, ref, f"address {first} + {i} is past 255.255.255.255") from None


def expand_controllers(file: str, ref: EntryRef, entry: dict[str, Any], base: str) -> list[ControllerSpec]:
    """The controllers of one ``[[controllers]]`` entry (keys already checked)."""
    count = entry.get("count", 1)
    first, port = parse_address(file, ref, entry["address"], CONTROLLER_PORT)
    slot = entry.get("slot")
    if slot is not None and (not isinstance(slot, int) or isinstance(slot, bool) or slot < 0
                             or slot + count - 1 > 255):
        raise PlantError(file, ref, f"slot {slot!r} is not a number from 0 to 255 (for each of the {count})")
    tags, l5x, csv, tag_files = (_strings(file, ref, entry, key) for key in ("tags", "l5x", "csv", "tags_file"))
    identity = dict(entry.get("identity", {}))
    serial = identity.pop("serial", None)
    if serial is not None and (not isinstance(serial, int) or isinstance(serial, bool) or not 0 <= serial < 1 << 32):
        raise PlantError(file, ref, f"identity serial {serial!r} is not a number from 0 to 4294967295")
    for key, value in identity.items():
        if key == "product_name" and not isinstance(value, str):
            raise PlantError(file, ref, f"identity product_name {value!r} is not a string")
        if key == "revision" and not (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
            raise PlantError(file, ref, f"identity revision {value!r} is not \"MAJOR.MINOR\"")
        if key in ("vendor", "device_type", "product_code") and not (isinstance(value, int) and 0 <= value < 65536):
            raise PlantError(file, ref, f"identity {key} {value!r} is not a number from 0 to 65535")

    def paths(names: list[str], i: int) -> tuple[str, ...]:
        return tuple(os.path.join(base, name.replace("{i}", str(i))) for name in names)
    made = []
    for i in range(count):
        one = EntryRef(ref.table, ref.number, ref.name, i if count > 1 or "{i}" in ref.name else None)
        ident = {k: v.replace("{i}", str(i)) if isinstance(v, str) else v for k, v in identity.items()}
        if serial is not None:
            ident["serial"] = (serial + i) & 0xFFFFFFFF
        made.append(ControllerSpec(
            name=ref.name.replace("{i}", str(i)),
            host=_nth(file, one, first, 0 if slot is not None else i), port=port,
            tags=tuple(t.replace("{i}", str(i)) for t in tags),
            l5x=paths(l5x, i), csv=paths(csv, i), tags_file=paths(tag_files, i),
            identity=tuple(sorted(ident.items())), slot=None if slot is None else slot + i, entry=one))
    return made


def expand_modbus(file: str, ref: EntryRef, entry: dict[str, Any]) -> list[ModbusSpec]:
    """The devices of one ``[[modbus]]`` entry (keys already checked)."""
    count = entry.get("count", 1)
    first, port = parse_address(file, ref, entry["address"], MODBUS_PORT)
    registers = _strings(file, ref, entry, "registers")
    made = []
    for i in range(count):
        one = EntryRef(ref.table, ref.number, ref.name, i if count > 1 or "{i}" in ref.name else None)
        made.append(ModbusSpec(ref.name.replace("{i}", str(i)), _nth(file, one, first, i), port,
                                 tuple(r.replace("{i}", str(i)) for r in registers), one))
    return made


def serials(plant: Plant) -> Plant:
    """*plant* with every controller that has no serial given one: the default plus its place (distinct)."""
    controllers = tuple(c if any(k == "serial" for k, _ in c.identity) else
                        replace(c, identity=tuple(sorted((*c.identity, ("serial", DEFAULT_SERIAL + j)))))
                        for j, c in enumerate(plant.controllers))
    return replace(plant, controllers=controllers)


def parse_shard(text: str) -> tuple[frozenset[int], int]:
    """``K/N`` (0 <= K < N), or ``K1,K2,.../N`` for several shards in one process -> ({K...}, N);
    ValueError otherwise."""
    ks, sep, n = text.partition("/")
    numbers = [k.strip() for k in ks.split(",")]
    if not sep or not n.strip().isdigit() or not all(k.isdigit() for k in numbers) \
            or not all(0 <= int(k) < int(n) for k in numbers):
        raise ValueError(f"shard {text!r} is not K/N with 0 <= K < N (eg. 0/3)")
    return frozenset(int(k) for k in numbers), int(n)


def shard(plant: Plant, ks: frozenset[int] | int, n: int) -> Plant:
    """The part of *plant* shard(s) K of N serve: device j of the expanded list when j mod N is a K.

    A chassis (controllers sharing an address, by slot) stays whole: each of its controllers goes
    with the shard of its first.  Split, two processes on one host would each bind the chassis'
    address (the second could not start), and a pod would serve a slot alone at its own address.
    """
    mine_k = frozenset((ks,)) if isinstance(ks, int) else ks
    first: dict[tuple[str, int], int] = {}  # each address: the place of its first device
    places = [first.setdefault(d.address, j) if isinstance(d, ControllerSpec) else j
              for j, d in enumerate(plant.devices)]
    mine = [d for j, d in zip(places, plant.devices) if j % n in mine_k]
    return replace(plant, controllers=tuple(d for d in mine if isinstance(d, ControllerSpec)),
                   modbus=tuple(d for d in mine if isinstance(d, ModbusSpec)))


def rehost(plant: Plant, host: str) -> Plant:
    """*plant* with every device at *host* (each keeps its port and slot): a pod serves its shard at its own
    IP address, not the file's."""
    return replace(plant, controllers=tuple(replace(c, host=host) for c in plant.controllers),
                   modbus=tuple(replace(m, host=host) for m in plant.modbus))
