"""CIP elementary types: golden values from captured Read/Write Tag frames, ranges, strings, NaNs.

The values written and read back in ``cpppo/tests/vectors/enip`` (``COUNT=(DINT)70000,-5``,
``FLOAT=(REAL)1.5,2.5,-3.25``, ``SCADA=(INT)1,2,3``) are decoded from the frames' bytes and
re-encoded to the same bytes.
"""

from __future__ import annotations

import json
import math
import struct
import unittest

from hypothesis import given, settings
from hypothesis import strategies as st

from cpppo.enip.codec import types
from cpppo.enip.codec.errors import LocalProtocolError, RemoteProtocolError
from cpppo.enip.codec.types import (
    BOOL,
    BYTE,
    DINT,
    DWORD,
    INT,
    LINT,
    LOGIX_STRING,
    LREAL,
    LWORD,
    REAL,
    SINT,
    SSTRING,
    STRING,
    TYPES,
    TYPES_BY_CODE,
    UDINT,
    UINT,
    ULINT,
    USINT,
    WORD,
    Float32NaN,
    bits_from_dwords,
    decode_string,
    dwords_from_bits,
    encode_string,
    type_of,
)
from cpppo.tests.test_enip_epath import VECTORS, cpf_items, requests

FAST = settings(max_examples=150, deadline=None)
INTEGERS = (SINT, INT, DINT, LINT, USINT, UINT, UDINT, ULINT, BYTE, WORD, DWORD, LWORD)


def read_replies(vector: str):
    """(type code, data bytes) of every successful Read Tag [Fragmented] reply in a vector."""
    for frame in json.loads((VECTORS / f"{vector}.json").read_text())["frames"]:
        if frame["dir"] != "s2c":
            continue
        for kind, data in cpf_items(bytes.fromhex(frame["hex"])):
            if kind == 0xB1:
                data = data[2:]
            if kind in (0xB1, 0xB2) and data[0] in (0xCC, 0xD2) and data[2] in (0, 6):
                at = 4 + 2 * data[3]
                yield struct.unpack_from("<H", data, at)[0], data[at + 2:]


def write_requests(vector: str):
    """(type code, count, data bytes) of every Write Tag request in a vector."""
    for frame in json.loads((VECTORS / f"{vector}.json").read_text())["frames"]:
        if frame["dir"] != "c2s":
            continue
        for service, _path, rest in requests(bytes.fromhex(frame["hex"])):
            if service == 0x4D:
                code, count = struct.unpack_from("<HH", rest, 0)
                yield code, count, rest[4:]


class Golden(unittest.TestCase):

    def test_codes_and_sizes(self):
        table = [(BOOL, 0xC1, 1), (SINT, 0xC2, 1), (INT, 0xC3, 2), (DINT, 0xC4, 4),
                 (LINT, 0xC5, 8), (USINT, 0xC6, 1), (UINT, 0xC7, 2), (UDINT, 0xC8, 4),
                 (ULINT, 0xC9, 8), (REAL, 0xCA, 4), (LREAL, 0xCB, 8), (STRING, 0xD0, None),
                 (BYTE, 0xD1, 1), (WORD, 0xD2, 2), (DWORD, 0xD3, 4), (LWORD, 0xD4, 8),
                 (SSTRING, 0xDA, None), (LOGIX_STRING, 0x02A0, 88)]
        for ctype, code, size in table:
            with self.subTest(ctype.name):
                self.assertEqual((ctype.code, ctype.size), (code, size))
                self.assertIs(type_of(ctype.name.lower()), ctype)
                if code != types.STRUCTURE:
                    self.assertIs(type_of(code), ctype)
                    self.assertIs(TYPES_BY_CODE[code], ctype)
                if ctype.fmt:
                    self.assertEqual(ctype.struct.size, size)
        self.assertEqual(LOGIX_STRING.handle, 0x0FCE)
        self.assertEqual(len(TYPES), 18)
        self.assertRaises(LocalProtocolError, type_of, "FLOAT")
        self.assertRaises(LocalProtocolError, type_of, 0xFF)

    def test_captured_reads(self):
        expect = {
            "cpppo525-dint": [(0xC4, [70000, -5, 0, 0])],
            "cpppo525-real": [(0xCA, [1.5, 2.5, -3.25, 0.0])],
            "cpppo525-write-range": [(0xC3, [0, 1, 2, 3, 0])],
            "cpppo525-write-fragmented": [(0xC3, [7, 8, 9])],
            "pylogix-write": [(0xC3, [0]), (0xC3, [42])],
        }
        for vector, replies in expect.items():
            with self.subTest(vector):
                got = list(read_replies(vector))
                self.assertEqual([(code, type_of(code).decode(data)) for code, data in got], replies)
                for code, data in got:
                    self.assertEqual(type_of(code).encode(type_of(code).decode(data)), data)

    def test_captured_writes(self):
        expect = {"cpppo525-dint": (0xC4, [70000, -5]), "cpppo525-real": (0xCA, [1.5, 2.5, -3.25]),
                  "cpppo525-write-range": (0xC3, [1, 2, 3]), "pylogix-write": (0xC3, [42])}
        for vector, (code, values) in expect.items():
            with self.subTest(vector):
                (got_code, count, data), = write_requests(vector)
                self.assertEqual((got_code, count), (code, len(values)))
                self.assertEqual(type_of(code).decode(data, count), values)
                self.assertEqual(type_of(code).encode(values), bytes(data))

    def test_fragmented_reply_of_500_ints(self):
        (code, data), = read_replies("cpppo525-read-fragmented")
        self.assertEqual(INT.decode(data), [0] * 244)

    def test_bool(self):
        self.assertEqual(BOOL.encode([True, False, 1, 0, "x", None, 2]),
                         b"\xff\x00\xff\x00\xff\x00\xff")
        self.assertEqual(BOOL.decode(b"\x00\x01\xff\x80"), [False, True, True, True])

    def test_bool_arrays(self):
        """Logix BOOL arrays travel as DWORDs; bit 0 of the first word is element 0."""
        bits = [False] * 40
        bits[0] = bits[5] = bits[33] = True
        words = dwords_from_bits(bits)
        self.assertEqual(words, [0x21, 0x2])
        self.assertEqual(DWORD.encode(words), bytes.fromhex("21000000 02000000"))
        self.assertEqual(bits_from_dwords(DWORD.decode(DWORD.encode(words)))[:40], bits)
        self.assertEqual(len(bits_from_dwords(words)), 64)

    def test_little_endian(self):
        self.assertEqual(INT.encode([1, -2]), bytes.fromhex("0100 feff"))
        self.assertEqual(UDINT.encode([0x12345678]), bytes.fromhex("78563412"))
        self.assertEqual(LINT.decode(bytes.fromhex("ffffffffffffff7f")), [2**63 - 1])
        self.assertEqual(REAL.encode([1.5]), bytes.fromhex("0000c03f"))
        self.assertEqual(LREAL.encode([-2.0]), bytes.fromhex("00000000000000c0"))

    def test_count_and_offset(self):
        data = bytes.fromhex("ffff 0100 0200 0300 ee")
        self.assertEqual(INT.decode(data, 3, 2), [1, 2, 3])
        self.assertEqual(INT.decode(data, 1, 2), [1])
        self.assertEqual(INT.decode(data, 0, 2), [])
        self.assertEqual(INT.decode(data[:8], None, 2), [1, 2, 3])
        self.assertEqual(INT.decode(memoryview(data), 3, 2), [1, 2, 3])
        self.assertEqual(INT.decode(b""), [])
        self.assertEqual(INT.encode([]), b"")


class Ranges(unittest.TestCase):

    def test_bounds(self):
        for ctype in INTEGERS:
            with self.subTest(ctype.name):
                self.assertEqual(ctype.decode(ctype.encode([ctype.lo, ctype.hi])), [ctype.lo, ctype.hi])
                for bad in (ctype.lo - 1, ctype.hi + 1):
                    with self.assertRaises(LocalProtocolError) as caught:
                        ctype.encode([0, bad])
                    self.assertIn(str(bad), str(caught.exception))
                    self.assertIn(ctype.name, str(caught.exception))
                    self.assertIn("index 1", str(caught.exception))

    def test_int_40000(self):
        with self.assertRaises(LocalProtocolError) as caught:
            INT.encode([40000])
        self.assertIn("40000", str(caught.exception))
        self.assertIn("INT", str(caught.exception))

    def test_wrong_kinds(self):
        for ctype, value in ((INT, 1.5), (DINT, "7"), (UDINT, None), (REAL, "x"), (LREAL, [1]),
                             (REAL, 1e39), (SINT, b"\x01")):
            with self.subTest(f"{ctype.name} {value!r}"):
                self.assertRaises(LocalProtocolError, ctype.encode, [value])
        self.assertRaises(LocalProtocolError, STRING.encode, [5])

    def test_short_data(self):
        cases = [(INT, b"\x01", None, 0), (INT, b"\x01\x02\x03", None, 2), (DINT, b"\x00" * 7, 2, 0),
                 (LREAL, b"\x00" * 8, 1, 1), (BOOL, b"", 1, 0), (REAL, b"\x00" * 4, None, 6)]
        for ctype, data, count, offset in cases:
            with self.subTest(f"{ctype.name} {data.hex()} {count} {offset}"):
                with self.assertRaises(RemoteProtocolError) as caught:
                    ctype.decode(data, count, offset)
                self.assertEqual(caught.exception.cip_status, 0x13)
                self.assertIsNotNone(caught.exception.offset)


class Strings(unittest.TestCase):

    def test_golden(self):
        self.assertEqual(encode_string("SCADA", SSTRING), b"\x05SCADA")
        self.assertEqual(encode_string("SCADA", "string"), b"\x05\x00SCADA")
        logix = encode_string("SCADA", "LOGIX_STRING")
        self.assertEqual(len(logix), 88)
        self.assertEqual(logix[:9], b"\x05\x00\x00\x00SCADA")
        self.assertEqual(logix[9:], bytes(79))
        self.assertEqual(decode_string(logix + b"x", LOGIX_STRING), ("SCADA", 88))
        self.assertEqual(decode_string(b"\x00\x02ab!", SSTRING, 1), ("ab", 4))

    def test_captured_product_name(self):
        """The Identity product name (attribute 7) the original server sends is an SSTRING."""
        name = bytes.fromhex("14313735362d4c36312f42204c4f47495835353631")
        self.assertEqual(decode_string(name, SSTRING), ("1756-L61/B LOGIX5561", len(name)))
        self.assertEqual(SSTRING.decode(name), ["1756-L61/B LOGIX5561"])
        self.assertEqual(SSTRING.encode(["1756-L61/B LOGIX5561"]), name)

    def test_arrays(self):
        for kind in (SSTRING, STRING, LOGIX_STRING):
            with self.subTest(kind.name):
                texts = ["", "a", "hello"]
                data = kind.encode(texts)
                self.assertEqual(kind.decode(data), texts)
                self.assertEqual(kind.decode(data + b"\xee", 3), texts)

    def test_errors(self):
        self.assertRaises(LocalProtocolError, encode_string, "x" * 83, LOGIX_STRING)
        self.assertEqual(len(encode_string("x" * 82, LOGIX_STRING)), 88)
        self.assertRaises(LocalProtocolError, encode_string, "x" * 256, SSTRING)
        self.assertRaises(LocalProtocolError, encode_string, "x" * 65536, STRING)
        self.assertRaises(LocalProtocolError, encode_string, "\u20ac", STRING)
        self.assertRaises(LocalProtocolError, encode_string, 5, STRING)
        self.assertRaises(LocalProtocolError, encode_string, "x", INT)
        for kind, data in ((SSTRING, b""), (SSTRING, b"\x03ab"), (STRING, b"\x01"),
                           (STRING, b"\x05\x00abcd"), (LOGIX_STRING, bytes(87))):
            with self.subTest(f"{kind.name} {data.hex()}"):
                with self.assertRaises(RemoteProtocolError) as caught:
                    decode_string(data, kind)
                self.assertEqual(caught.exception.cip_status, 0x13)
        for length in (83, -1):
            with self.assertRaises(RemoteProtocolError) as caught:
                decode_string(struct.pack("<i", length) + bytes(84), LOGIX_STRING)
            self.assertEqual(caught.exception.cip_status, 0x09)


class Floats(unittest.TestCase):

    def test_signalling_nan(self):
        for raw in ("0100807f", "ffffbfff", "0000c07f", "0000c0ff", "0100c07f"):
            with self.subTest(raw):
                data = bytes.fromhex(raw) * 3
                values = REAL.decode(data)
                self.assertTrue(all(math.isnan(v) for v in values))
                self.assertEqual(REAL.encode(values), data)
        self.assertIsInstance(REAL.decode(bytes.fromhex("0100807f"))[0], Float32NaN)
        self.assertEqual(REAL.encode([math.nan, 1.0, math.inf, -math.inf])[4:],
                         bytes.fromhex("0000803f 0000807f 000080ff"))

    def test_float32nan_bits_checked(self):
        for bits in (0x3F800000, 0x7F800000, 2**32, -1, "x"):
            with self.subTest(bits):
                self.assertRaises(LocalProtocolError, Float32NaN, bits)
        self.assertEqual(REAL.encode([Float32NaN(0x7FA00001)]), bytes.fromhex("0100a07f"))

    def test_lreal_nan(self):
        data = bytes.fromhex("010000000000f07f 0100000000f8ffff")
        self.assertEqual(LREAL.encode(LREAL.decode(data)), data)

    def test_mixed_inf(self):
        data = REAL.encode([math.inf, -math.inf, 2.5])
        self.assertEqual(REAL.decode(data), [math.inf, -math.inf, 2.5])
        self.assertEqual(REAL.encode(REAL.decode(data)), data)


class RoundTrips(unittest.TestCase):

    @FAST
    @given(st.sampled_from(INTEGERS).flatmap(
        lambda t: st.tuples(st.just(t), st.lists(st.integers(t.lo, t.hi), max_size=20))))
    def test_integers(self, case):
        ctype, values = case
        data = ctype.encode(values)
        self.assertEqual(len(data), ctype.size * len(values))
        self.assertEqual(ctype.decode(data), values)
        self.assertEqual(ctype.decode(b"\x00" + data + b"\x00", len(values), 1), values)

    @FAST
    @given(st.sampled_from((REAL, LREAL, BOOL) + INTEGERS).flatmap(
        lambda t: st.tuples(st.just(t), st.binary(max_size=10).map(lambda b: b * t.size))))
    def test_bytes_exact(self, case):
        ctype, data = case
        again = ctype.encode(ctype.decode(data))
        if ctype is BOOL:
            self.assertEqual(again, bytes(0xFF if b else 0 for b in data))
        else:
            self.assertEqual(again, data)

    @FAST
    @given(st.lists(st.floats(width=32), max_size=10))
    def test_real_values(self, values):
        data = REAL.encode(values)
        self.assertEqual(REAL.encode(REAL.decode(data)), data)
        self.assertEqual(data, struct.pack(f"<{len(values)}f", *values))

    @FAST
    @given(st.lists(st.floats(), max_size=10))
    def test_lreal_values(self, values):
        data = LREAL.encode(values)
        self.assertEqual(LREAL.encode(LREAL.decode(data)), data)
        self.assertEqual([struct.pack("<d", v) for v in LREAL.decode(data)],
                         [struct.pack("<d", v) for v in values])

    @FAST
    @given(st.sampled_from((SSTRING, STRING, LOGIX_STRING)),
           st.text(st.characters(max_codepoint=255), max_size=82))
    def test_strings(self, kind, text):
        data = encode_string(text, kind)
        self.assertEqual(decode_string(data, kind), (text, len(data)))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(sorted(TYPES.values(), key=lambda t: t.name)), st.binary(max_size=100),
           st.none() | st.integers(0, 30), st.integers(0, 8))
    def test_fuzz(self, ctype, data, count, offset):
        try:
            ctype.decode(data, count, offset)
        except RemoteProtocolError as exc:
            self.assertIn(exc.cip_status, (0x09, 0x13))


if __name__ == "__main__":
    unittest.main()
