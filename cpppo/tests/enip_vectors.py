"""Golden EtherNet/IP frames captured from real peers, for the codec tests.

``cpppo/tests/vectors/enip/*.json`` hold whole conversations recorded through
a proxy: the original cpppo 5.2.5 client, pylogix and pycomm3 talking to the
original cpppo 5.2.5 simulator (``tests/capture_vectors.py`` made them).
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass

from .resources import vectors_dir

VECTORS = str(vectors_dir())


@dataclass(frozen=True)
class Captured:
    source: str  # the vector file's name, without .json
    index: int
    direction: str  # "c2s" (client to server) or "s2c"
    data: bytes
    note: str

    @property
    def reply(self) -> bool:
        return self.direction == "s2c"


def captured_frames() -> list[Captured]:
    """Every captured frame of every vector file, in file and capture order."""
    frames = []
    for path in sorted(glob.glob(os.path.join(VECTORS, "*.json"))):
        name = os.path.basename(path)[:-5]
        with open(path) as file:
            content = json.load(file)
        for i, frame in enumerate(content["frames"]):
            frames.append(Captured(name, i, frame["dir"], bytes.fromhex(frame["hex"]), frame.get("note", "")))
    return frames
