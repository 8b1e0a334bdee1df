"""EPATH segments: golden bytes from the notes and from captured frames, round trips, tag names, errors.

The captured vectors (``cpppo/tests/vectors/enip/*.json``) are real frames between the original
cpppo server and the original cpppo, pycomm3 and pylogix clients.  The small walker below pulls
every request path, route path and connection path out of them at the offsets the wire formats
define, so every path a real client sent is decoded and re-encoded byte for byte.
"""

from __future__ import annotations

import json
import struct
import unittest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpppo.enip.codec.epath import (
    LOGICAL_KINDS,
    Bit,
    Data,
    Key,
    Logical,
    Port,
    Symbolic,
    decode_path,
    decode_route,
    encode_path,
    encode_route,
    format_path,
    from_original,
    parse_tag,
    to_original,
)
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.tests.resources import vectors_dir

VECTORS = vectors_dir()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- walking the captured frames ------------------------------------------------------------

def frames(direction: str = "c2s"):
    """(vector name, frame bytes) for every captured frame in one direction."""
    for path in sorted(VECTORS.glob("*.json")):
        for frame in json.loads(path.read_text())["frames"]:
            if frame["dir"] == direction:
                yield path.stem, bytes.fromhex(frame["hex"])


def cpf_items(frame: bytes):
    """(item type, item data) of a SendRRData / SendUnitData frame (empty for other commands)."""
    command, = struct.unpack_from("<H", frame, 0)
    if command not in (0x6F, 0x70) or len(frame) <= 24:
        return
    at = 24 + 4 + 2
    count, = struct.unpack_from("<H", frame, at)
    at += 2
    for _ in range(count):
        kind, size = struct.unpack_from("<HH", frame, at)
        yield kind, frame[at + 4:at + 4 + size]
        at += 4 + size


def requests(frame: bytes):
    """Every CIP request in a frame, as (service, path bytes, rest), descending into Unconnected
    Send and Multiple Service Packet; plus ("route", bytes, b"") and ("connection", bytes, b"")."""
    for kind, data in cpf_items(frame):
        if kind == 0xB1:
            data = data[2:]  # sequence count
        elif kind != 0xB2:
            continue
        yield from _request(data)


def _request(data: bytes):
    if data[0] & 0x80:
        return  # a reply
    service, words = data[0], data[1]
    path, rest = data[2:2 + 2 * words], data[2 + 2 * words:]
    yield service, path, rest
    if service == 0x52 and path == b"\x20\x06\x24\x01":
        size, = struct.unpack_from("<H", rest, 2)
        yield from _request(rest[4:4 + size])
        at = 4 + size + (size & 1)
        yield "route", rest[at + 2:at + 2 + 2 * rest[at]], b""
    elif service in (0x54, 0x5B) and path == b"\x20\x06\x24\x01":
        at = 35 if service == 0x54 else 39
        yield "connection", rest[at + 1:at + 1 + 2 * rest[at]], b""
    elif service == 0x4E and path == b"\x20\x06\x24\x01":
        yield "connection", rest[12:12 + 2 * rest[10]], b""
    elif service == 0x0A:
        count, = struct.unpack_from("<H", rest, 0)
        offsets = struct.unpack_from(f"<{count}H", rest, 2) + (len(rest),)
        for start, stop in zip(offsets, offsets[1:]):
            yield from _request(rest[start:stop])


def captured_paths():
    """(vector, service, path bytes) for every path in every captured request."""
    for name, frame in frames("c2s"):
        for service, path, _ in requests(frame):
            yield name, service, path


# --- strategies -------------------------------------------------------------------------------

_WIDTHS = {"class": (8, 16), "instance": (8, 16, 32), "element": (8, 16, 32),
           "connection": (8, 16, 32), "attribute": (8, 16)}


@st.composite
def logicals(draw, sized: bool = True):
    kind = draw(st.sampled_from(LOGICAL_KINDS))
    width = draw(st.sampled_from(_WIDTHS[kind]))
    value = draw(st.integers(0, (1 << width) - 1))
    size = draw(st.sampled_from([None] + [w for w in _WIDTHS[kind] if value < 1 << w])) if sized else None
    return Logical(kind, value, size)


latin1 = st.text(st.characters(max_codepoint=255), min_size=1, max_size=255).filter(
    lambda s: len(s.encode("latin-1")) <= 255)
symbolics = st.builds(Symbolic, latin1)
ports = st.builds(Port, st.integers(1, 0xFFFF), st.integers(0, 255) | latin1)
datas = st.builds(Data, st.binary(max_size=40).map(lambda b: b + bytes(len(b) & 1)))
keys = st.builds(Key, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
                 st.integers(0, 0x7F), st.integers(0, 0xFF), st.booleans())
segments = st.lists(logicals() | symbolics | ports | datas | keys, max_size=8).map(tuple)


# --- tests ------------------------------------------------------------------------------------

class GoldenBytes(unittest.TestCase):
    """Paths from the notes and the captured frames."""

    def test_symbolic_element(self):
        wire = bytes.fromhex("91 05 53 43 41 44 41 00 28 01")
        path = (Symbolic("SCADA"), Logical("element", 1))
        self.assertEqual(decode_path(wire), path)
        self.assertEqual(decode_path(wire, 0, 5), path)
        self.assertEqual(decode_path(wire)[1].size, 8)
        self.assertEqual(encode_path(path), wire)
        self.assertEqual(encode_path(parse_tag("SCADA[1]")), wire)

    def test_found_in_captured_frames(self):
        wire = bytes.fromhex("91 05 53 43 41 44 41 00 28 01")
        found = {name for name, service, path in captured_paths() if path == wire and service == 0x4C}
        self.assertTrue({"cpppo525-read-single", "pylogix-read-single"} <= found, found)

    def test_logical_forms(self):
        table = [
            ("20 02 24 01", (Logical("class", 2), Logical("instance", 1))),
            ("20 06 24 01", (Logical("class", 6), Logical("instance", 1))),
            ("20 01 24 01 30 07", parse_tag("@1/1/7")),
            ("20 6b 24 00", (Logical("class", 0x6B), Logical("instance", 0))),
            ("21 00 34 12 25 00 78 56", (Logical("class", 0x1234), Logical("instance", 0x5678))),
            ("26 00 78 56 34 12", (Logical("instance", 0x12345678),)),
            ("28 05 29 00 00 01 2a 00 00 00 01 00", (Logical("element", 5), Logical("element", 256),
                                                    Logical("element", 65536))),
            ("2c 64 2d 00 01 01", (Logical("connection", 100), Logical("connection", 257))),
            ("30 01 31 00 00 01", (Logical("attribute", 1), Logical("attribute", 256))),
        ]
        for text, path in table:
            with self.subTest(text):
                wire = bytes.fromhex(text)
                self.assertEqual(decode_path(wire), path)
                self.assertEqual(encode_path(path), wire)

    def test_packed(self):
        wire = bytes.fromhex("21 34 12 24 01")
        path = decode_path(wire, pad=False)
        self.assertEqual(path, (Logical("class", 0x1234), Logical("instance", 1)))
        self.assertEqual(encode_path(path, pad=False), wire)

    def test_member_is_element(self):
        self.assertEqual(Logical("member", 3), Logical("element", 3))
        self.assertEqual(Logical("member", 3).kind, "element")

    def test_width_kept(self):
        """A peer's needlessly wide form survives decode -> encode."""
        wire = bytes.fromhex("21 00 02 00 25 00 01 00 2a 00 01 00 00 00")
        path = decode_path(wire)
        self.assertEqual(path, (Logical("class", 2), Logical("instance", 1), Logical("element", 1)))
        self.assertEqual([seg.size for seg in path], [16, 16, 32])
        self.assertEqual(encode_path(path), wire)
        self.assertEqual(encode_path((Logical("class", 2, 16),)), bytes.fromhex("21 00 02 00"))

    def test_ports(self):
        table = [
            ("01 00", (Port(1, 0),)),
            ("01 00 20 02 24 01", (Port(1, 0), Logical("class", 2), Logical("instance", 1))),
            ("12 0a 31 30 2e 30 2e 30 2e 31 30 30 01 03",
             (Port(2, "10.0.0.100"), Port(1, 3))),
            ("12 09 31 30 2e 30 2e 30 2e 31 30 00 01 03",
             (Port(2, "10.0.0.10"), Port(1, 3))),
            ("12 08 31 30 2e 30 2e 30 2e 31", (Port(2, "10.0.0.1"),)),
            ("0f 12 00 01", (Port(18, 1),)),
            ("1f 03 14 00 61 62 63 00", (Port(20, "abc"),)),
        ]
        for text, path in table:
            with self.subTest(text):
                wire = bytes.fromhex(text)
                self.assertEqual(decode_route(wire), path)
                self.assertEqual(encode_route(path), wire)
                self.assertEqual(decode_path(wire, 0, len(wire) // 2), path)

    def test_data_and_key(self):
        wire = bytes.fromhex("34 04 01 00 0e 00 36 00 94 0b 80 02 01 02 03 04")
        path = (Key(1, 0x0E, 0x36, 20, 11, True), Data(b"\x01\x02\x03\x04"))
        self.assertEqual(decode_path(wire), path)
        self.assertEqual(encode_path(path), wire)

    def test_captured_routes_and_connections(self):
        seen = {}
        for name, service, path in captured_paths():
            if service in ("route", "connection"):
                seen.setdefault((service, path), name)
                self.assertEqual(encode_route(decode_route(path)), path)
        self.assertIn(("route", b"\x01\x00"), seen)
        self.assertIn(("connection", bytes.fromhex("01 00 20 02 24 01")), seen)
        self.assertEqual(decode_route(bytes.fromhex("01 00 20 02 24 01")),
                         (Port(1, 0), Logical("class", 2), Logical("instance", 1)))

    def test_every_captured_path_round_trips(self):
        count = 0
        for name, service, path in captured_paths():
            with self.subTest(vector=name, service=service, path=path.hex()):
                segs = decode_path(path)
                self.assertEqual(encode_path(segs), path)
                self.assertEqual(decode_path(path + b"\xee\xee", 0, len(path) // 2), segs)
                count += 1
        self.assertGreater(count, 50)

    def test_offset_and_words(self):
        wire = b"\x4c\x05" + bytes.fromhex("91 05 53 43 41 44 41 00 28 01") + b"\x01\x00"
        self.assertEqual(decode_path(wire, 2, wire[1]), (Symbolic("SCADA"), Logical("element", 1)))
        self.assertEqual(decode_path(wire, 2, 0), ())
        self.assertEqual(decode_path(memoryview(wire), 2, 5), decode_path(wire, 2, 5))
        self.assertEqual(decode_path(b""), ())


class Errors(unittest.TestCase):
    """Every decode failure is a RemoteProtocolError with status 0x04 and the segment's offset;
    every bad build request is a LocalProtocolError."""

    def assertRemote(self, text: str, where: int, **kwds):
        with self.assertRaises(RemoteProtocolError) as caught:
            decode_path(bytes.fromhex(text), **kwds)
        self.assertEqual(caught.exception.cip_status, 0x04)
        self.assertEqual(caught.exception.offset, where)
        self.assertTrue(caught.exception.expected)

    def test_truncated(self):
        self.assertRemote("91", 0)
        self.assertRemote("91 05 53 43 41 44 41", 0)       # missing pad
        self.assertRemote("20 02 24", 2)
        self.assertRemote("20 02 21 00 01", 2)
        self.assertRemote("26 00 01 02 03", 0)
        self.assertRemote("01", 0)
        self.assertRemote("0f 12", 0)
        self.assertRemote("12 08 31 30", 0)
        self.assertRemote("11", 0)
        self.assertRemote("80 02 01 02", 0)
        self.assertRemote("34 04 01 00", 0)

    def test_truncated_by_words(self):
        self.assertRemote("91 05 53 43 41 44 41 00 28 01", 0, words=3)  # symbol cut off
        self.assertRemote("91 05 53 43 41 44 41 00 29 00 01 00", 8, words=5)  # element cut off
        self.assertRemote("20 02 24 01", 2, offset=2, words=2)          # size overruns data
        self.assertRemote("21 00 02 00", 0, words=1)
        self.assertRemote("20 02", 3, offset=3)

    def test_unknown_and_reserved(self):
        for text in ("22 00 01 02 03 04", "32 00 01 02 03 04", "23 01", "2b 01", "35 00",
                     "38 01", "40 00", "60 00", "90 00", "92 00", "a0 00", "c0 00", "ff 00",
                     "00 01", "10 01 01 00", "0f 00 00 01", "91 00", "12 00", "34 05 " + "00" * 8):
            with self.subTest(text):
                self.assertRemote(text, 0)
        self.assertRemote("20 02 50 00", 2)

    def test_route_order(self):
        with self.assertRaises(RemoteProtocolError) as caught:
            decode_route(bytes.fromhex("20 02 01 00"))
        self.assertEqual(caught.exception.cip_status, 0x04)
        with self.assertRaises(RemoteProtocolError) as caught:
            decode_route(bytes.fromhex("ee 01 00 20 02 24 01 01 00"), 1)
        self.assertEqual(caught.exception.offset, 7)
        with self.assertRaises(LocalProtocolError):
            encode_route((Logical("class", 2), Port(1, 0)))
        with self.assertRaises(LocalProtocolError):
            encode_route((Port(1, 0), Bit(3)))
        with self.assertRaises(LocalProtocolError):
            encode_route([Port(1, "x" * 255), Port(1, "y" * 255), Port(1, 1)])

    def test_build_errors(self):
        bad = [
            lambda: Logical("slot", 1), lambda: Logical("class", 0x10000),
            lambda: Logical("attribute", 0x10000), lambda: Logical("instance", 2**32),
            lambda: Logical("instance", -1), lambda: Logical("element", 256, 8),
            lambda: Logical("class", 1, 32), lambda: Logical("element", 1, 12),
            lambda: Logical("element", 1.0), lambda: Logical("element", True),
            lambda: Symbolic(""), lambda: Symbolic("x" * 256), lambda: Symbolic("\u20ac"),
            lambda: Symbolic(5), lambda: Port(0, 1), lambda: Port(1, 256), lambda: Port(0x10000, 1),
            lambda: Port(1, ""), lambda: Port(1, None), lambda: Data(b"\x01"),
            lambda: Data("ab"), lambda: Data(bytes(512)), lambda: Key(1, 2, 3, 0x80, 1),
            lambda: Bit(64), lambda: Bit(-1), lambda: encode_path([{"symbolic": "x"}]),
            lambda: encode_path(["SCADA"]),
        ]
        for index, build in enumerate(bad):
            with self.subTest(index):
                self.assertRaises(LocalProtocolError, build)


class Text(unittest.TestCase):
    """Logix tag names, the ``@`` form, format_path and the original's list-of-dicts."""

    def test_parse_tag(self):
        table = {
            "Tag": (Symbolic("Tag"),),
            "Tag[3]": (Symbolic("Tag"), Logical("element", 3)),
            "Tag[1,2]": (Symbolic("Tag"), Logical("element", 1), Logical("element", 2)),
            "Tag[1,2,3]": (Symbolic("Tag"), Logical("element", 1), Logical("element", 2),
                           Logical("element", 3)),
            "Motor.Speed": (Symbolic("Motor"), Symbolic("Speed")),
            "Line[3].Motor.Speed": (Symbolic("Line"), Logical("element", 3), Symbolic("Motor"),
                                    Symbolic("Speed")),
            "Program:Main.Tag": (Symbolic("Program:Main"), Symbolic("Tag")),
            "Program:Main.Tag[70000]": (Symbolic("Program:Main"), Symbolic("Tag"),
                                        Logical("element", 70000)),
            "Local:1:I.Data[0]": (Symbolic("Local:1:I"), Symbolic("Data"), Logical("element", 0)),
            "Flags.5": (Symbolic("Flags"), Bit(5)),
            "Tag[2].31": (Symbolic("Tag"), Logical("element", 2), Bit(31)),
            "_x.y_1": (Symbolic("_x"), Symbolic("y_1")),
            "@1/1/7": (Logical("class", 1), Logical("instance", 1), Logical("attribute", 7)),
            "@0x6B/0x10": (Logical("class", 0x6B), Logical("instance", 16)),
            "@1/1/7/2": (Logical("class", 1), Logical("instance", 1), Logical("attribute", 7),
                         Logical("element", 2)),
            "@1/1/7[2]": (Logical("class", 1), Logical("instance", 1), Logical("attribute", 7),
                          Logical("element", 2)),
            '@4/5/{"connection":100}': (Logical("class", 4), Logical("instance", 5),
                                        Logical("connection", 100)),
        }
        for text, path in table.items():
            with self.subTest(text):
                self.assertEqual(parse_tag(text), path)

    def test_bit_not_encoded(self):
        self.assertEqual(encode_path(parse_tag("Flags.5")), encode_path(parse_tag("Flags")))

    def test_parse_tag_errors(self):
        for text in ("", " ", "1Tag", "Tag[", "Tag[]", "Tag[a]", "Tag[1]x", "Tag.5.6", "a..b",
                     "a.", ".a", "Tag[-1]", "a.Program:Main", "Tag.64", "Tag[4294967296]",
                     "@", "@1/x", "@1/2/3/4/5", "@{bad", '@{"slot":1}', "a-b", None, 5):
            with self.subTest(text):
                self.assertRaises(LocalProtocolError, parse_tag, text)

    def test_format_path(self):
        for text in ("SCADA", "SCADA[1]", "Tag[1,2]", "Line[3].Motor.Speed", "Program:Main.Tag",
                     "Flags.5", "Tag[2].31", "@1/1/7", "@1/1/7[2]", '@4/5/{"connection":100}'):
            with self.subTest(text):
                self.assertEqual(format_path(parse_tag(text)), text)
        route = decode_route(bytes.fromhex("12 08 31 30 2e 30 2e 30 2e 31 01 00 20 02 24 01"))
        self.assertEqual(format_path(route), "2/10.0.0.1/1/0/@2/1")
        self.assertEqual(format_path((Data(b"\x01\x02"),)), '{"data":"0102"}')

    def test_original_form(self):
        path = parse_tag("SCADA[1]")
        self.assertEqual(to_original(path), [{"symbolic": "SCADA"}, {"element": 1}])
        self.assertEqual(from_original([{"symbolic": "SCADA"}, {"element": 1}]), path)
        route = (Port(1, 0), Port(2, "10.0.0.1"), Logical("class", 2), Logical("instance", 1),
                 Logical("attribute", 3), Logical("connection", 4), Key(1, 2, 3, 4, 5),
                 Data(b"ab"), Bit(3))
        self.assertEqual(to_original(route)[:6], [
            {"port": 1, "link": 0}, {"port": 2, "link": "10.0.0.1"}, {"class": 2},
            {"instance": 1}, {"attribute": 3}, {"connection": 4}])
        self.assertEqual(from_original(to_original(route)), route)
        self.assertEqual(from_original([{"data": "6162"}]), (Data(b"ab"),))
        for bad in ([{"symbolic": "a", "element": 1}], [{}], [{"slot": 1}], ["SCADA"],
                    [{"port": 1}], [{"key": {"vendor": 1}}], [{"element": -1}]):
            with self.subTest(bad):
                self.assertRaises(LocalProtocolError, from_original, bad)


class RoundTrips(unittest.TestCase):
    """Hypothesis: decode(encode(x)) == x, encode(decode(b)) == b, and garbage raises only
    RemoteProtocolError."""

    @FAST
    @given(segments)
    def test_decode_encode(self, path):
        wire = encode_path(path)
        self.assertEqual(len(wire) % 2, 0)
        decoded = decode_path(wire)
        self.assertEqual(decoded, path)
        self.assertEqual(decode_path(wire, 0, len(wire) // 2), path)
        self.assertEqual(encode_path(decoded), wire)  # the widths were kept
        self.assertEqual(from_original(to_original(path)), path)

    @FAST
    @given(segments)
    def test_packed(self, path):
        wire = encode_path(path, pad=False)
        decoded = decode_path(wire, pad=False)
        self.assertEqual(decoded, path)
        self.assertEqual(encode_path(decoded, pad=False), wire)

    @FAST
    @given(st.lists(ports, max_size=4), st.lists(logicals(), max_size=4))
    def test_route(self, hops, application):
        route = tuple(hops) + tuple(application)
        wire = encode_route(route)
        self.assertEqual(decode_route(wire), route)
        self.assertEqual(decode_route(b"\x00" + wire, 1, len(wire) // 2), route)

    @FAST
    @given(st.lists(st.tuples(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
                              st.lists(st.integers(0, 2**32 - 1), max_size=3)),
                    min_size=1, max_size=4),
           st.booleans(), st.none() | st.integers(0, 63))
    def test_tag_text(self, parts, program, bit):
        text = ".".join(name + (f"[{','.join(map(str, idx))}]" if idx else "") for name, idx in parts)
        if program:
            text = "Program:Main." + text
        if bit is not None:
            text += f".{bit}"
        path = parse_tag(text)
        self.assertEqual(format_path(path), text)
        self.assertEqual(decode_path(encode_path(path)),
                         tuple(seg for seg in path if not isinstance(seg, Bit)))

    @settings(max_examples=400, deadline=None)
    @given(st.binary(max_size=40), st.integers(0, 4), st.none() | st.integers(0, 30), st.booleans())
    def test_fuzz(self, data, offset, words, pad):
        try:
            path = decode_path(data, offset, words, pad)
        except RemoteProtocolError as exc:
            self.assertEqual(exc.cip_status, 0x04)
            self.assertIsNotNone(exc.offset)
            return
        again = encode_path(path, pad)
        self.assertEqual(decode_path(again, pad=pad), path)

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=24))
    def test_fuzz_route(self, data):
        try:
            decode_route(data)
        except RemoteProtocolError:
            pass


if __name__ == "__main__":
    unittest.main()
