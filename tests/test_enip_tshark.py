"""Wireshark agrees with our EtherNet/IP frames.

A conversation built entirely by our codec (session, identity, reads and
writes through Unconnected Send, a Multiple Service Packet, a Large Forward
Open and connected messages, Forward Close) is written to a pcap file and
dissected by ``tshark``: no packet may be malformed, and the dissected
commands, service codes, tag names and data must be the ones we meant.
``make test`` installs tshark where it can; under CI a missing tshark fails
this test rather than skipping it.
"""

from __future__ import annotations

import os
import struct
import subprocess

import pytest

from cpppo.enip.codec import cip, encap
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.epath import Logical, Port, Symbolic
from tests.peers.pcap import tshark_available, write_pcap

SESSION = 0x11223344
CM = (Logical("class", 6), Logical("instance", 1))
ROUTER = (Logical("class", 2), Logical("instance", 1))
BACKPLANE = (Port(1, 0),)
CONNECTION_PATH = (Port(1, 0), Logical("class", 2), Logical("instance", 1))


def rr(message: object, n: int, reply: bool = False) -> bytes:
    items = (encap.NullAddress(), encap.UnconnectedData(message))
    return encap.encode_frame(encap.Frame(encap.SEND_RR_DATA, encap.SendData(items, 0, 0 if reply else 5),
                                          SESSION, 0, struct.pack("<Q", n)))


def unit(connection: int, sequence: int, message: object) -> bytes:
    items = (encap.ConnectedAddress(connection), encap.ConnectedData(sequence, message))
    return encap.encode_frame(encap.Frame(encap.SEND_UNIT_DATA, encap.SendData(items), SESSION))


def ucs(request: cip.Request) -> cip.Request:
    return cip.Request(0x52, CM, body=cip.UnconnectedSend(request, BACKPLANE))


def conversation() -> list[tuple[str, bytes]]:
    read = cip.Request(0x4C, (Symbolic("SCADA"), Logical("element", 1)), body=logix.ReadTag(1))
    read_reply = cip.Reply(0xCC, body=logix.ReadTagReply(0xC3, struct.pack("<h", 4242)))
    write = cip.Request(0x4D, (Symbolic("Motor"), Symbolic("Speed")),
                        body=logix.WriteTag(0xCA, 1, struct.pack("<f", 1.5)))
    reads = tuple(cip.Request(0x4C, (Symbolic("FLOW"), Logical("element", i)), body=logix.ReadTag(1))
                  for i in range(2))
    multiple = cip.Request(0x0A, ROUTER, body=cip.MultipleService(reads))
    multiple_reply = cip.Reply(0x8A, body=cip.MultipleServiceReply(tuple(
        cip.Reply(0xCC, body=logix.ReadTagReply(0xC4, struct.pack("<i", 77 + i))) for i in range(2))))
    forward_open = cip.Request(0x5B, CM, body=cip.ForwardOpen(
        CONNECTION_PATH, 0, 0x0000B00B, 0x0101, 0x1337, 0xDEADBEEF, 3, 200000, 0x4200 | 4002, 200000,
        0x4200 | 4002, 0xA3, large=True))
    forward_open_reply = cip.Reply(0xDB, body=cip.ForwardOpenReply(0x0000CAFE, 0x0000B00B, 0x0101, 0x1337,
                                                                   0xDEADBEEF, 200000, 200000))
    connected_read = cip.Request(0x4C, (Symbolic("SCADA"),), body=logix.ReadTag(2))
    connected_reply = cip.Reply(0xCC, body=logix.ReadTagReply(0xC3, struct.pack("<2h", 11, 22)))
    forward_close = cip.Request(0x4E, CM, body=cip.ForwardClose(CONNECTION_PATH, 0x0101, 0x1337, 0xDEADBEEF))
    identity = encap.IdentityItem(1, 2, 44818, "127.0.0.1", 1, 0x0E, 54, (20, 11), 0x3160, 0x00C0FFEE,
                                  "1756-L61/B LOGIX5561", 3)
    return [
        ("c2s", encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession()))),
        ("s2c", encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession(), SESSION))),
        ("c2s", encap.encode_frame(encap.Frame(encap.LIST_IDENTITY, session=SESSION))),
        ("s2c", encap.encode_frame(encap.Frame(encap.LIST_IDENTITY, encap.ItemList((identity,)), SESSION))),
        ("c2s", rr(ucs(read), 1)),
        ("s2c", rr(read_reply, 1, reply=True)),
        ("c2s", rr(ucs(write), 2)),
        ("s2c", rr(cip.Reply(0xCD), 2, reply=True)),
        ("c2s", rr(ucs(multiple), 3)),
        ("s2c", rr(multiple_reply, 3, reply=True)),
        ("c2s", rr(forward_open, 4)),
        ("s2c", rr(forward_open_reply, 4, reply=True)),
        ("c2s", unit(0x0000CAFE, 1, connected_read)),
        ("s2c", unit(0x0000B00B, 1, connected_reply)),
        ("c2s", rr(forward_close, 5)),
        ("s2c", rr(cip.Reply(0xCE, body=cip.ForwardCloseReply(0x0101, 0x1337, 0xDEADBEEF)), 5, reply=True)),
    ]


def tshark(path: str, *args: str) -> str:
    done = subprocess.run(["tshark", "-r", path, "-o", "tcp.check_checksum:TRUE", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not tshark_available():
        if os.environ.get("CI"):
            pytest.fail("tshark is not installed: `make test` installs it (apt-get install tshark)")
        pytest.skip("tshark is not installed (make test installs it where apt-get is available)")
    path = str(tmp_path_factory.mktemp("pcap") / "ours.pcap")
    write_pcap(path, conversation())
    return path


def test_no_packet_is_malformed(pcap: str) -> None:
    verbose = tshark(pcap, "-V")
    assert "Malformed" not in verbose
    assert "Expert Info (Error" not in verbose
    assert "Checksum Status: Bad" not in verbose
    assert verbose.count("EtherNet/IP (Industrial Protocol)") == 16


def fields(pcap: str, *names: str) -> list[list[str]]:
    args = ["-Y", "enip", "-T", "fields", "-E", "separator=|"]
    for name in names:
        args += ["-e", name]
    return [line.split("|") for line in tshark(pcap, *args).splitlines()]


def test_commands_sessions_and_contexts(pcap: str) -> None:
    rows = fields(pcap, "enip.command", "enip.session")
    commands = [int(r[0], 16) for r in rows]
    assert commands == [0x65, 0x65, 0x63, 0x63] + [0x6F] * 8 + [0x70, 0x70, 0x6F, 0x6F]
    assert all(int(r[1], 16) == SESSION for r in rows[1:])


def test_services_tags_and_values(pcap: str) -> None:
    """Wireshark shows a reply's service without the reply bit, matched to its request."""
    rows = fields(pcap, "cip.sc", "cip.symbol", "cip.data", "cip.genstat")
    want = [
        ("0x52,0x4c", "SCADA", "0100", ""),  # Unconnected Send carrying Read Tag, 1 element
        ("0x4c", "SCADA", "c300" + struct.pack("<h", 4242).hex(), "0x00"),
        ("0x52,0x4d", "Motor,Speed", "ca000100" + struct.pack("<f", 1.5).hex(), ""),
        ("0x4d", "Motor,Speed", "", "0x00"),
        ("0x52,0x0a,0x4c,0x4c", "FLOW,FLOW", "0100,0100", ""),
        ("0x0a,0x4c,0x4c", "FLOW,FLOW", "c4004d000000,c4004e000000", "0x00,0x00,0x00"),
        ("0x5b", "", "", ""),
        ("0x5b", "", "", "0x00"),
        ("0x4c", "SCADA", "0200", ""),  # connected: Wireshark followed our Forward Open
        ("0x4c", "SCADA", "c300" + struct.pack("<2h", 11, 22).hex(), "0x00"),
        ("0x4e", "", "", ""),
        ("0x4e", "", "", "0x00"),
    ]
    assert [tuple(r) for r in rows[4:]] == want


def test_identity_and_forward_open_details(pcap: str) -> None:
    verbose = tshark(pcap, "-V")
    assert "Product Name: 1756-L61/B LOGIX5561" in verbose
    assert "Serial Number: 0x00c0ffee" in verbose
    assert "Connection Serial Number: 0x0101" in verbose
    assert "Originator Serial Number: 0xdeadbeef" in verbose
