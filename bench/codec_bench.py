#!/usr/bin/env python3
"""How fast does the EtherNet/IP codec parse and build frames?

For each frame: a Read Tag request and its reply (in SendRRData, the request
inside an Unconnected Send), a Multiple Service Packet of 20 reads, and a
2,000-byte Read Tag Fragmented reply, this prints microseconds to parse (bytes
to records, through the incremental framer as a server or client runs it)
and to build (records to bytes), beside a plain struct-based baseline that
does the same frame with fixed offsets and no checks beyond what it needs.
Usage: ``python bench/codec_bench.py [--number N]``.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import timeit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from cpppo.enip.codec import cip, encap, tag_services  # noqa: E402
from cpppo.enip.codec.connection import Connection, Role  # noqa: E402
from cpppo.enip.codec.epath import Logical, Port, Symbolic  # noqa: E402

CONTEXT = b"\x01\x00\x00\x00\x00\x00\x00\x00"
SESSION = 0x12345678
ROUTE = (Port(1, 0),)
CM_PATH = (Logical("class", 6), Logical("instance", 1))
ROUTER = (Logical("class", 2), Logical("instance", 1))
TAG = (Symbolic("SCADA"), Logical("element", 1))


def send(message: object, reply: bool = False) -> bytes:
    items = (encap.NullAddress(), encap.UnconnectedData(message))
    return encap.encode_frame(encap.Frame(encap.SEND_RR_DATA, encap.SendData(items, 0, 0 if reply else 5),
                                          SESSION, 0, CONTEXT))


def unconnected(request: cip.Request) -> cip.Request:
    return cip.Request(0x52, CM_PATH, body=cip.UnconnectedSend(request, ROUTE, 0x0A, 0x0E))


def frames() -> dict[str, tuple[bytes, bool]]:
    read = cip.Request(0x4C, TAG, body=tag_services.ReadTag(1))
    read_reply = cip.Reply(0xCC, 0, (), body=tag_services.ReadTagReply(0xC3, struct.pack("<h", 42)))
    reads = tuple(cip.Request(0x4C, (Symbolic("SCADA"), Logical("element", i)), body=tag_services.ReadTag(1))
                  for i in range(20))
    multiple = cip.Request(0x0A, ROUTER, body=cip.MultipleService(reads))
    fragment = cip.Reply(0xD2, 0x06, (), body=tag_services.ReadTagReply(0xC4, bytes(range(250)) * 8))
    return {
        "Read Tag request": (send(unconnected(read)), False),
        "Read Tag reply": (send(read_reply, reply=True), True),
        "Multiple Service Packet, 20 reads": (send(unconnected(multiple)), False),
        "Read Tag Fragmented reply, 2000 bytes": (send(fragment, reply=True), True),
    }


# --- the baseline: fixed offsets and struct, as a hand-written client would -------------

HEAD = struct.Struct("<HHII8sI")


def baseline_parse(data: bytes, reply: bool) -> dict:
    command, length, session, status, context, options = HEAD.unpack_from(data, 0)
    interface, timeout, count = struct.unpack_from("<IHH", data, 24)
    at, items = 32, []
    for _ in range(count):
        kind, size = struct.unpack_from("<HH", data, at)
        items.append((kind, data[at + 4:at + 4 + size]))
        at += 4 + size
    message = items[-1][1]
    if reply:
        service, _, general, words = message[:4]
        body = message[4 + 2 * words:]
        kind = struct.unpack_from("<H", body, 0)[0]
        return {"service": service, "status": general, "type": kind, "data": body[2:]}
    service, words = message[0], message[1]
    ticks, size = struct.unpack_from("<BH", message, 2 + 2 * words + 1)
    embedded = message[2 + 2 * words + 4: 2 + 2 * words + 4 + size]
    return {"service": service, "embedded": baseline_request(embedded)}


def baseline_request(message: bytes) -> dict:
    service, words = message[0], message[1]
    path, at, end = [], 2, 2 + 2 * words
    while at < end:
        kind = message[at]
        if kind == 0x91:
            n = message[at + 1]
            path.append(message[at + 2:at + 2 + n].decode())
            at += 2 + n + (n & 1)
        elif kind in (0x20, 0x24, 0x28, 0x30):
            path.append(message[at + 1])
            at += 2
        else:
            path.append(struct.unpack_from("<H", message, at + 2)[0])
            at += 4
    if service == 0x0A:
        count = struct.unpack_from("<H", message, end)[0]
        offsets = struct.unpack_from(f"<{count}H", message, end + 2)
        body = message[end:]
        parts = [baseline_request(body[o:(offsets[i + 1] if i + 1 < count else len(body))])
                 for i, o in enumerate(offsets)]
        return {"service": service, "path": path, "requests": parts}
    return {"service": service, "path": path, "data": message[end:]}


def baseline_build(name: str) -> bytes:
    def symbolic(tag: bytes, element: int) -> bytes:
        seg = bytes((0x91, len(tag))) + tag + (b"\0" if len(tag) & 1 else b"")
        return seg + bytes((0x28, element))

    def read(element: int) -> bytes:
        path = symbolic(b"SCADA", element)
        return bytes((0x4C, len(path) // 2)) + path + struct.pack("<H", 1)

    def ucs(message: bytes) -> bytes:
        pad = b"\0" if len(message) & 1 else b""
        return (b"\x52\x02\x20\x06\x24\x01" + struct.pack("<BBH", 0x0A, 0x0E, len(message)) + message + pad
                + b"\x01\x00\x01\x00")

    def frame(message: bytes, timeout: int) -> bytes:
        body = struct.pack("<IHHHHHH", 0, timeout, 2, 0, 0, 0xB2, len(message)) + message
        return HEAD.pack(0x6F, len(body), SESSION, 0, CONTEXT, 0) + body

    if name == "Read Tag request":
        return frame(ucs(read(1)), 5)
    if name == "Read Tag reply":
        return frame(b"\xcc\x00\x00\x00\xc3\x00" + struct.pack("<h", 42), 0)
    if name.startswith("Multiple"):
        parts = [read(i) for i in range(20)]
        offsets, at = [], 2 + 40
        for part in parts:
            offsets.append(at)
            at += len(part)
        msp = b"\x0a\x02\x20\x02\x24\x01" + struct.pack("<21H", 20, *offsets) + b"".join(parts)
        return frame(ucs(msp), 5)
    return frame(b"\xd2\x00\x06\x00\xc4\x00" + bytes(range(250)) * 8, 0)


def ours_parse(connection: Connection, data: bytes) -> object:
    connection.receive_data(data)
    return connection.next_event()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="iterations per measurement")
    args = parser.parse_args(argv)
    n = args.number

    def per(fn, setup=lambda: None) -> float:
        return min(timeit.repeat(fn, setup, number=n, repeat=3)) / n * 1e6

    def per_fresh(connection: Connection, wire: bytes) -> float:
        """Building, each time from a record decoded anew: a reply record keeps its bytes once
        encoded (the simulator sends a reply again while its value is unchanged), which would time
        only the envelope after the first."""
        records: list[object] = []

        def decode() -> None:
            records[:] = [ours_parse(connection, wire) for _ in range(n)]
            records.reverse()
        return per(lambda: encap.encode_frame(records.pop()), decode)

    print(f"EtherNet/IP codec, microseconds per frame (best of 3 x {n:,}; Python {sys.version.split()[0]})")
    print(f"{'frame':<40} {'bytes':>6} {'parse':>8} {'baseline':>9} {'build':>8} {'baseline':>9}")
    for name, (wire, reply) in frames().items():
        assert baseline_build(name) == wire, name  # both sides must build the same frame
        connection = Connection(Role.CLIENT if reply else Role.SERVER, cache=False)  # parse every time
        record = ours_parse(connection, wire)
        assert encap.encode_frame(record) == wire, name
        # Each lambda binds this frame's values as defaults: timed here, in this iteration.
        parse = per(lambda c=connection, w=wire: ours_parse(c, w))
        base_parse = per(lambda w=wire, r=reply: baseline_parse(w, r))
        build = per_fresh(connection, wire)
        base_build = per(lambda k=name: baseline_build(k))
        print(f"{name:<40} {len(wire):>6} {parse:>8.2f} {base_parse:>9.2f} {build:>8.2f} {base_build:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
