"""Two controllers in one process, one reactor: each with its own tags, identity, TCP and UDP listeners.

Why: a plant (issue 22) is many controllers in one process, each at its own
address, as on a plant network.  This serves two :class:`EnipService` bundles
(a controller, its router, dispatcher and transport) from the shared reactor
thread (:mod:`cpppo.blocking`), on 127.0.0.2 and 127.0.0.3 at the same port,
and checks with real clients that each answers as itself: pylogix reads each
one's own tags (and not the other's), and List Identity over UDP to each
address answers that controller's product name and serial number.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pylogix
import pytest

from cpppo import blocking
from cpppo.enip.codec import encap
from cpppo.enip.simulator.listeners import description, listen
from cpppo.enip.simulator.service import EnipService

ADDRESSES = ("127.0.0.2", "127.0.0.3")
IDENTITIES = ({"product_name": "1756-L85E/B Mixer", "serial": 0x1001},
              {"product_name": "1756-L83E/B Filler", "serial": 0x1002})


def _serve() -> tuple[list[EnipService], int]:
    """On the reactor thread: both controllers, listening on the same (OS-chosen) port at two addresses."""
    from twisted.internet import reactor

    services, port = [], 0
    for number, (host, identity) in enumerate(zip(ADDRESSES, IDENTITIES)):
        service = EnipService(reactor, identity=identity)
        service.add_tag("Level", "REAL", default=1.5 + number)
        service.add_tag(("Mixer", "Filler")[number], "DINT", 10)
        service.tags[("Mixer", "Filler")[number]][0:3] = [number + 1, number + 2, number + 3]
        listener = listen(reactor, service, description(host, port))
        port = listener.bound[1]
        services.append(service)
    return services, port


@pytest.fixture(scope="module")
def plant() -> Iterator[tuple[list[EnipService], int]]:
    try:
        services, port = blocking.call(_serve, timeout=10)
    except Exception as error:  # (the port the first got is taken at the second address: rare)
        pytest.skip(f"cannot serve both controllers: {error}")
    yield services, port
    for service in services:
        blocking.call(service.transport.stop, timeout=10)


def _plc(host: str, port: int) -> pylogix.PLC:
    return pylogix.PLC(host, port=port, timeout=5.0)


def test_each_controller_serves_its_own_tags(plant: tuple[list[EnipService], int]) -> None:
    services, port = plant
    for number, host in enumerate(ADDRESSES):
        with _plc(host, port) as comm:
            level = comm.Read("Level")
            assert (level.Status, level.Value) == ("Success", 1.5 + number)
            own = comm.Read(f"{('Mixer', 'Filler')[number]}[0]", 3)
            assert (own.Status, own.Value) == ("Success", [number + 1, number + 2, number + 3])
            other = comm.Read(f"{('Filler', 'Mixer')[number]}[0]")
            assert other.Status != "Success"  # the other controller's tag is not here
    with _plc(ADDRESSES[0], port) as comm:  # a write on one never shows on the other
        assert comm.Write("Level", 9.25).Status == "Success"
    with _plc(ADDRESSES[1], port) as comm:
        assert comm.Read("Level").Value == 2.5
    assert services[0].tags["Level"][0] == 9.25


def test_list_identity_over_udp_answers_each_address_as_itself(plant: tuple[list[EnipService], int]) -> None:
    services, port = plant
    for host, identity in zip(ADDRESSES, IDENTITIES):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5.0)
            sock.sendto(encap.encode_frame(encap.Frame(encap.LIST_IDENTITY)), (host, port))
            data, peer = sock.recvfrom(4096)
        assert peer == (host, port)
        item = encap.decode_frame(data, reply=True).body.items[0]
        assert (item.product_name, item.serial_number) == (identity["product_name"], identity["serial"])
        assert (item.address, item.port) == (host, port)


def test_sessions_and_connections_are_each_controllers(plant: tuple[list[EnipService], int]) -> None:
    services, port = plant
    with _plc(ADDRESSES[0], port) as comm:
        assert comm.Read("Level").Status == "Success"
        links = blocking.call(lambda: [(link.host, link.session) for link in services[0].clients], timeout=5)
        assert len(links) == 1 and links[0][1] in services[0].sessions
        assert blocking.call(lambda: len(services[1].clients), timeout=5) == 0
        assert links[0][1] not in services[1].sessions
