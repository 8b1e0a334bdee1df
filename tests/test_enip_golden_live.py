"""Our codec against live traffic between real peers.

Each scenario runs a real client (the original cpppo 5.2.5 client from its own
venv, pylogix, pycomm3) against the original cpppo 5.2.5 simulator through a
recording proxy, then feeds each direction's frames, one chunk each, to our
sans-IO connection (splitting at every byte is tested with the committed
vectors in cpppo/tests): every frame must parse (no malformed
message) and rebuild to the same bytes, and the conversation must have the
shape of the committed golden vector (same commands and CIP services in the
same order; session handles and contexts differ from run to run).
"""

from __future__ import annotations

import json

import pytest

from cpppo.enip.codec import encap
from cpppo.enip.codec.connection import NEED_DATA, Connection, Malformed, Role
from tests import capture_vectors

SCENARIOS = ["cpppo525-read-multiple", "cpppo525-write-range", "cpppo525-read-fragmented-offsets",
             "pylogix-write", "pycomm3-identity-connected", "pycomm3-logix-open"]


pytestmark = pytest.mark.usefixtures("original_venv")  # (tests/conftest.py: fails if it cannot be made)


def shape(frame: encap.Frame) -> tuple:
    """What a frame is, without the values that change from run to run."""
    services: list[int] = []
    if isinstance(frame.body, encap.SendData):
        for item in frame.body.items:
            message = getattr(item, "message", None)
            while message is not None:
                services.append(message.service)
                body = getattr(message, "body", None)
                message = getattr(body, "request", None)
    return frame.command, tuple(services)


def parse_stream(chunks: list[bytes], role: Role) -> list[encap.Frame]:
    connection = Connection(role)
    frames = []
    for chunk in chunks:
        connection.receive_data(chunk)
        while (event := connection.next_event()) is not NEED_DATA:
            frames.append(event)
    return frames


@pytest.mark.parametrize("name", SCENARIOS)
def test_live_conversation(name: str) -> None:
    scenario = next(sc for sc in capture_vectors.SCENARIOS if sc.id == name)
    live = capture_vectors.capture(scenario)
    with open(capture_vectors.VECTOR_DIR / f"{name}.json") as file:
        committed = json.load(file)
    for direction, role in (("c2s", Role.SERVER), ("s2c", Role.CLIENT)):
        chunks = [bytes.fromhex(f["hex"]) for f in live["frames"] if f["dir"] == direction]
        frames = parse_stream(chunks, role)
        assert len(frames) == len(chunks)
        for frame, raw in zip(frames, chunks):
            if isinstance(frame.body, encap.SendData):
                for item in frame.body.items:
                    assert not isinstance(getattr(item, "message", None), Malformed), (name, raw.hex())
            assert encap.encode_frame(frame) == raw
        golden = parse_stream([bytes.fromhex(f["hex"]) for f in committed["frames"] if f["dir"] == direction], role)
        assert [shape(f) for f in frames] == [shape(f) for f in golden]
