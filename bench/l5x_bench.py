#!/usr/bin/env python3
"""Loading a large L5X export: seconds and peak memory to parse it and to build the served tags.

Why: a plant's export holds thousands of tags and dozens of UDTs, and the
simulator parses it before it listens; the load must stay a second or two, not
a coffee break.  The export is generated (50 UDTs, each nesting the previous
one, with BIT members on hidden hosts, member arrays and a STRING-family
member; 10,000 tags of those types and atomic types, every tenth one with a
Decorated value) into a temporary directory, then:

- ``parse``: :func:`cpppo.enip.simulator.loaders.l5x.load_l5x` (XML, layout, values);
- ``serve``: ``EnipService.load_tags`` (tags, their bytes, initial values);
- ``read``: the server's CPU per Read Tag (``time.process_time``, through the
  protocol with an in-memory transport) of a member deep in an array of nested
  UDTs (``Lines[3].Inner.Inner.Readings[2]``) beside an atomic tag (``Tag0``).

Each load is timed (``time.perf_counter``) with its ``tracemalloc`` peak.

    python bench/l5x_bench.py [--tags 10000] [--types 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import task  # noqa: E402

from cpppo.enip.simulator.loaders import l5x  # noqa: E402
from cpppo.enip.simulator.service import EnipService  # noqa: E402


def _type(index: int) -> str:
    nested = (f'<Member Name="Inner" DataType="UDT{index - 1}" Dimension="0" Radix="NullType" Hidden="false" '
              f'ExternalAccess="Read/Write"/>\n') if index else ""
    return (f'<DataType Name="UDT{index}" Family="NoFamily" Class="User"><Members>\n'
            f'<Member Name="Value" DataType="DINT" Dimension="0" Radix="Decimal" Hidden="false"/>\n'
            f'<Member Name="ZZZZZZZZZZUDT{index}1" DataType="SINT" Dimension="0" Radix="Decimal" Hidden="true"/>\n'
            f'<Member Name="On" DataType="BIT" Dimension="0" Radix="Decimal" Hidden="false" '
            f'Target="ZZZZZZZZZZUDT{index}1" BitNumber="0"/>\n'
            f'<Member Name="Readings" DataType="REAL" Dimension="8" Radix="Float" Hidden="false"/>\n'
            f'<Member Name="Label" DataType="STRING20" Dimension="0" Radix="NullType" Hidden="false"/>\n'
            f'{nested}</Members></DataType>\n')


def _tag(index: int, types: int) -> str:
    kind = ("DINT", "REAL", f"UDT{index % types}", "STRING20")[index % 4]
    data = ""
    if index % 10 == 0 and kind == "DINT":
        data = f'<Data Format="Decorated"><DataValue DataType="DINT" Radix="Decimal" Value="{index}"/></Data>'
    elif index % 10 == 2 and kind.startswith("UDT"):
        data = (f'<Data Format="Decorated"><Structure DataType="{kind}">'
                f'<DataValueMember Name="Value" DataType="DINT" Radix="Decimal" Value="{index}"/>'
                f'<DataValueMember Name="On" DataType="BOOL" Value="1"/></Structure></Data>')
    return (f'<Tag Name="Tag{index}" TagType="Base" DataType="{kind}" Constant="false" '
            f'ExternalAccess="Read/Write">{data}</Tag>\n')


def generate(path: str, tags: int, types: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<RSLogix5000Content '
                  'SchemaRevision="1.0" TargetName="Big" TargetType="Controller">\n'
                  '<Controller Use="Target" Name="Big" ProcessorType="1756-L85E">\n<DataTypes>\n'
                  '<DataType Name="STRING20" Family="StringFamily" Class="User"><Members>\n'
                  '<Member Name="LEN" DataType="DINT" Dimension="0" Radix="Decimal" Hidden="false"/>\n'
                  '<Member Name="DATA" DataType="SINT" Dimension="20" Radix="ASCII" Hidden="false"/>\n'
                  '</Members></DataType>\n')
        out.writelines(_type(i) for i in range(types - 1))
        out.write("</DataTypes>\n<Tags>\n")
        out.writelines(_tag(i, types - 1) for i in range(tags))
        out.write(f'<Tag Name="Lines" TagType="Base" DataType="UDT{types - 2}" Dimensions="10" Constant="false" '
                  f'ExternalAccess="Read/Write"/>\n')
        out.write("</Tags>\n</Controller>\n</RSLogix5000Content>\n")


def measure(label: str, function, *args):
    tracemalloc.start()
    started = time.perf_counter()
    result = function(*args)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<8} {elapsed:8.3f} s  peak {peak / 1e6:8.1f} MB")
    return result


def cpu_per_read(service: EnipService, path: tuple, reads: int = 20000) -> float:
    """Server CPU microseconds per Read Tag of *path*, through the protocol (no sockets)."""
    from twisted.internet.address import IPv4Address
    from twisted.internet.testing import StringTransport

    from cpppo.enip.codec import cip, encap
    from cpppo.enip.codec import tag_services as logix
    from cpppo.enip.simulator.server_protocol import EnipFactory

    peer = IPv4Address("TCP", "127.0.0.1", 5555)
    proto = EnipFactory(service).buildProtocol(peer)
    transport = StringTransport(peerAddress=peer)
    proto.makeConnection(transport)
    proto.dataReceived(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession())))
    session = encap.decode_frame(transport.value(), reply=True).session
    transport.clear()
    request = cip.Request(0x4C, path, body=logix.ReadTag(1))
    frame = encap.encode_frame(encap.Frame(encap.SEND_RR_DATA, encap.SendData(
        (encap.NullAddress(), encap.UnconnectedData(request))), session))
    proto.dataReceived(frame)
    reply = encap.decode_frame(transport.value(), reply=True).body.items[1].message  # the reply's bytes
    assert reply[2] == 0, f"reading {path} failed with status 0x{reply[2]:02X}"
    transport.clear()
    started = time.process_time()
    for _ in range(reads):
        proto.dataReceived(frame)
        transport.clear()
    return (time.process_time() - started) / reads * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tags", type=int, default=10_000)
    ap.add_argument("--types", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.L5X")
        generate(path, args.tags, args.types)
        print(f"export   {os.path.getsize(path) / 1e6:8.1f} MB: {args.tags} tags, {args.types} types")
        exported = measure("parse", l5x.load_l5x, [path])
        service = EnipService(task.Clock())
        measure("serve", service.load_tags, exported)
        print(f"served   {len(service.tags)} tags, {len(exported.types)} types "
              f"(largest {max(t.size for t in exported.types.values())} bytes)")
        from cpppo.enip.codec.epath import Logical, Symbolic

        nested = (Symbolic("Lines"), Logical("element", 3), Symbolic("Inner"), Symbolic("Inner"),
                  Symbolic("Readings"), Logical("element", 2))
        for label, path in (("atomic", (Symbolic("Tag0"),)), ("nested", nested)):
            print(f"read     {label:<8} {cpu_per_read(service, path):6.1f} us server CPU per read "
                  f"({'Tag0' if label == 'atomic' else 'Lines[3].Inner.Inner.Readings[2]'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
