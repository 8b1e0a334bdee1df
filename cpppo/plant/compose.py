"""``python -m cpppo.plant compose PLANT.toml``: a Docker Compose file running the plant, one container an address.

Why: an HMI expects each controller at its own IP address on port 44818, and a
container has one address; so each address of the plant becomes one service (a
chassis' controllers share theirs), with that address as its static IP on a
user-defined bridge network, serving its own shard of the same plant file
(``--shard K/N --host ADDRESS``, N the plant's size).  Docker refuses loopback
addresses for a network, so a plant written for one host (127.x.y.z) is renumbered
into ``--subnet`` (127.a.b.c becomes 10.a.b.c with ``--subnet 10.0.0.0/8``).  The
YAML is written by hand (strings quoted as JSON, which YAML reads): the package
needs no YAML library.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Sequence

from cpppo.plant.model import Plant, PlantError
from cpppo.plant.reader import read

__all__ = ["compose", "renumber", "main"]

PROG = "python -m cpppo.plant compose"
#: Where each container finds the plant file's folder (mounted read-only).
MOUNT = "/plant"


def renumber(address: str, subnet: ipaddress.IPv4Network | None) -> str:
    """*address* moved into *subnet*, keeping its host bits (None: as it is)."""
    if subnet is None:
        return address
    host = int(ipaddress.IPv4Address(address)) & int(subnet.hostmask)
    return str(subnet.network_address + host)


def _network(addresses: list[ipaddress.IPv4Address]) -> ipaddress.IPv4Network:
    """The smallest network (a /24 at least) holding every one of *addresses*."""
    spread = 0
    for address in addresses:
        spread |= int(address) ^ int(addresses[0])
    prefix = min(24, 32 - spread.bit_length())
    return ipaddress.IPv4Network(f"{addresses[0]}/{prefix}", strict=False)


def compose(plant: Plant, plant_path: str, subnet: ipaddress.IPv4Network | None = None,
            image: str = "cpppo") -> str:
    """The compose file's text for *plant* (read from *plant_path*)."""
    devices = plant.devices
    groups: dict[str, list[int]] = {}  # address (renumbered) -> the devices' places in the plant
    for j, device in enumerate(devices):
        groups.setdefault(renumber(device.host, subnet), []).append(j)
    addresses = [ipaddress.IPv4Address(a) for a in groups]
    loopback = [a for a in addresses if a.is_loopback or a.is_unspecified]
    if loopback:
        raise PlantError(plant.file, None, f"address {loopback[0]} cannot be a container's (Docker's networks "
                                           f"refuse loopback): give --subnet, eg. 10.0.0.0/8 (127.a.b.c becomes "
                                           f"10.a.b.c)")
    network = subnet or _network(addresses)
    used = set(addresses)
    gateway = next(network.broadcast_address - k for k in range(1, 64) if network.broadcast_address - k not in used)
    folder = os.path.dirname(os.path.abspath(plant_path))
    inside = f"{MOUNT}/{os.path.basename(plant_path)}"
    lines = [f"# {PROG} {os.path.basename(plant_path)}: {len(devices)} devices at {len(groups)} addresses.",
             "# Start: docker build -t cpppo -f docker/cpppo/Dockerfile . && docker compose -f FILE up -d",
             "name: cpppo-plant", "networks:", "  plant:", "    driver: bridge", "    ipam:", "      config:",
             f"        - subnet: {json.dumps(str(network))}", f"          gateway: {json.dumps(str(gateway))}",
             "services:"]
    for address, places in groups.items():
        first = devices[places[0]]
        shards = ",".join(str(j) for j in places)
        command = ["python", "-m", "cpppo.plant", "--shard", f"{shards}/{len(devices)}", "--host", address, inside]
        lines += [f"  {first.name}:", f"    image: {json.dumps(image)}", f"    command: {json.dumps(command)}",
                  f"    volumes: [{json.dumps(f'{folder}:{MOUNT}:ro')}]", "    networks:", "      plant:",
                  f"        ipv4_address: {json.dumps(address)}", "    restart: unless-stopped"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description="Write a Docker Compose file running the plant: one "
                                 "service per address, each at that address on a bridge network.")
    ap.add_argument("-o", "--output", default="-", help="the file to write (default: standard output)")
    ap.add_argument("--subnet", default=None, help="renumber the plant's addresses into this network, eg. "
                                                    "10.0.0.0/8 (needed for a plant at 127.x.y.z addresses)")
    ap.add_argument("--image", default="cpppo", help="the image every service runs (default: cpppo, built "
                                                     "from docker/cpppo/Dockerfile)")
    ap.add_argument("plant", metavar="PLANT.toml")
    args = ap.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        subnet = ipaddress.IPv4Network(args.subnet, strict=False) if args.subnet else None
        text = compose(read(args.plant), args.plant, subnet, args.image)
    except ValueError as error:  # (a PlantError, or a bad --subnet)
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as file:
            file.write(text)
    return 0
