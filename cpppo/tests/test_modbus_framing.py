"""Sans-IO tests of Modbus address ranges, the sparse data store, MBAP/RTU framing and the device."""

from __future__ import annotations

from twisted.trial import unittest

from cpppo.modbus import datastore, device, framing, ranges
from cpppo.modbus.errors import FramingError, ModbusError


class RangesTest(unittest.TestCase):
    def test_parse(self) -> None:
        self.assertEqual(ranges.parse_range("40001-40003=99"), (40001, 40003, (99, 99, 99)))
        self.assertEqual(ranges.parse_range("1-16=1").values, (1,) * 16)
        self.assertEqual(ranges.parse_range("40001=1,2,3"), (40001, 40003, (1, 2, 3)))
        self.assertEqual(ranges.parse_range("40001-40004=1,2"), (40001, 40004, (1, 2, 1, 2)))
        self.assertEqual(ranges.parse_range("40001-40100"), (40001, 40100, ()))
        self.assertEqual(ranges.parse_range("40001-40002", default=0).values, (0, 0))
        self.assertEqual(ranges.parse_range("0x10"), (16, 16, ()))

    def test_parse_errors(self) -> None:
        for bad in ("", "x", "40010-40001", "40001-40002=", "1-2=2", "40001=70000", "9999-10001",
                    "0", "20000", "40001=a"):
            with self.assertRaises(ValueError, msg=bad):
                ranges.parse_range(bad)

    def test_locate(self) -> None:
        self.assertEqual(ranges.locate(1), ("co", 0))
        self.assertEqual(ranges.locate(10001), ("di", 0))
        self.assertEqual(ranges.locate(165536), ("di", 65535))
        self.assertEqual(ranges.locate(30005), ("ir", 4))
        self.assertEqual(ranges.locate(300001), ("ir", 0))
        self.assertEqual(ranges.locate(40001), ("hr", 0))
        self.assertEqual(ranges.locate(99999), ("hr", 59998))
        self.assertEqual(ranges.locate(465536), ("hr", 65535))
        with self.assertRaises(ValueError):
            ranges.locate(0)

    def test_merge(self) -> None:
        self.assertEqual(list(ranges.merge([(40001, 1), (40002, 1), (40005, 1)])),
                         [(40001, 2), (40005, 1)])
        self.assertEqual(list(ranges.merge([(40001, 1), (40002, 1), (40005, 1)], reach=5)), [(40001, 5)])
        self.assertEqual(list(ranges.merge([(39999, 1), (40001, 1)], reach=10)), [(39999, 1), (40001, 1)])
        self.assertEqual(list(ranges.merge([(40001, 300)])), [(40001, 125), (40126, 125), (40251, 50)])
        self.assertEqual(list(ranges.merge([(1, 3000)])), [(1, 2000), (2001, 1000)])
        self.assertEqual(list(ranges.merge([])), [])


class DataStoreTest(unittest.TestCase):
    def setUp(self) -> None:
        self.store = datastore.DataStore([ranges.parse_range("40001-40010=7"),
                                          ranges.parse_range("465000-465001=1,2"),
                                          ranges.parse_range("1-16=1")])

    def test_sparse(self) -> None:
        self.assertEqual(self.store.get(40001, 3), [7, 7, 7])
        self.assertEqual(self.store.get(465000, 2), [1, 2])
        self.assertEqual(len(self.store["hr"]), 12)
        with self.assertRaises(ModbusError) as caught:
            self.store.get(40010, 2)
        self.assertEqual(caught.exception.code, 2)

    def test_write_all_or_nothing(self) -> None:
        with self.assertRaises(ModbusError):
            self.store.set(40009, [1, 2, 3])
        self.assertEqual(self.store.get(40009, 2), [7, 7])
        with self.assertRaises(ModbusError) as caught:
            self.store.set(1, 2)
        self.assertEqual(caught.exception.code, 3)
        self.store.set(40009, [1, 2])
        self.assertEqual(self.store.get(40009, 2), [1, 2])

    def test_units(self) -> None:
        rngs = [ranges.parse_range("40001=5")]
        anyunit = datastore.Units(rngs)
        self.assertIs(anyunit.lookup(0), anyunit.lookup(77))
        units = datastore.Units(rngs, [1, 2])
        self.assertIsNone(units.lookup(3))
        units[1].set(40001, 9)
        self.assertEqual(units[2].get(40001), [5])
        self.assertEqual(sorted(units), [1, 2])
        with self.assertRaises(ValueError):
            datastore.Units(rngs, [300])


# Golden frames: read 10 holding registers from 0, unit 1, transaction 0x1234
READ_PDU = bytes.fromhex("030000000a")
READ_MBAP = bytes.fromhex("123400000006" "01") + READ_PDU
READ_RTU = bytes.fromhex("01030000000ac5cd")


class MbapTest(unittest.TestCase):
    def test_golden(self) -> None:
        self.assertEqual(framing.encode_mbap(0x1234, 1, READ_PDU), READ_MBAP)
        f = framing.MbapFramer()
        f.receive_data(READ_MBAP)
        self.assertEqual(f.next_event(), framing.MbapFrame(0x1234, 1, READ_PDU))
        self.assertIsNone(f.next_event())

    def test_byte_at_a_time_and_trailing(self) -> None:
        f = framing.MbapFramer()
        events = []
        for b in READ_MBAP * 3 + READ_MBAP[:5]:
            f.receive_data(bytes([b]))
            while (e := f.next_event()) is not None:
                events.append(e)
        self.assertEqual(events, [framing.MbapFrame(0x1234, 1, READ_PDU)] * 3)
        self.assertEqual(f.buffered, 5)

    def test_malformed(self) -> None:
        for bad in (bytes.fromhex("00010001000601030000000a"), bytes.fromhex("000100000001ff"),
                    bytes.fromhex("00010000ffff01")):
            f = framing.MbapFramer()
            f.receive_data(bad)
            with self.assertRaises(FramingError):
                f.next_event()


class RtuTest(unittest.TestCase):
    def frames(self, f: framing.RtuFramer) -> list:
        out = []
        while (e := f.next_event()) is not None:
            out.append(e)
        return out

    def test_crc_golden(self) -> None:
        self.assertEqual(framing.encode_rtu(1, READ_PDU), READ_RTU)
        self.assertEqual(framing.crc16(b"123456789"), 0x4B37)

    def test_t35(self) -> None:
        self.assertAlmostEqual(framing.t35(9600), 3.5 * 11 / 9600)
        self.assertEqual(framing.t35(115200), 0.00175)

    def test_split_frames(self) -> None:
        f = framing.RtuFramer("server")
        got = []
        for b in READ_RTU * 2:
            f.receive_data(bytes([b]))
            got += self.frames(f)
        self.assertEqual(got, [framing.RtuFrame(1, READ_PDU)] * 2)

    def test_noise_then_frame(self) -> None:
        f = framing.RtuFramer("server")
        f.receive_data(b"\x00\xff\x42" + READ_RTU)
        self.assertEqual(self.frames(f), [framing.RtuFrame(1, READ_PDU)])
        self.assertEqual(f.discarded, 3)

    def test_partial_then_silence(self) -> None:
        f = framing.RtuFramer("server", silence=0.002)
        f.receive_data(READ_RTU[:5], now=10.0)
        self.assertEqual(self.frames(f), [])
        f.receive_data(READ_RTU, now=11.0)  # long pause: the partial frame is dropped
        self.assertEqual(self.frames(f), [framing.RtuFrame(1, READ_PDU)])
        self.assertEqual(f.discarded, 5)

    def test_silence_call(self) -> None:
        f = framing.RtuFramer("server")
        f.receive_data(READ_RTU[:6])
        self.assertEqual(self.frames(f), [])
        f.silence()
        self.assertEqual(f.buffered, 0)
        f.receive_data(READ_RTU)
        self.assertEqual(self.frames(f), [framing.RtuFrame(1, READ_PDU)])

    def test_unknown_function_ends_at_silence(self) -> None:
        f = framing.RtuFramer("server")
        odd = framing.encode_rtu(1, b"\x41\x01\x02\x03")
        f.receive_data(odd)
        self.assertEqual(self.frames(f), [])
        f.silence()
        self.assertEqual(self.frames(f), [framing.RtuFrame(1, b"\x41\x01\x02\x03")])

    def test_write_multiple_sizes(self) -> None:
        f = framing.RtuFramer("server")
        pdu = bytes.fromhex("10000000020400010002")
        f.receive_data(framing.encode_rtu(7, pdu) + READ_RTU)
        self.assertEqual(self.frames(f), [framing.RtuFrame(7, pdu), framing.RtuFrame(1, READ_PDU)])

    def test_client_responses(self) -> None:
        f = framing.RtuFramer("client")
        resp = bytes.fromhex("0304000a000b")
        exc = bytes.fromhex("8302")
        mei = bytes.fromhex("2b0e01830000020003414243010178")
        f.receive_data(framing.encode_rtu(1, resp) + framing.encode_rtu(1, exc) + framing.encode_rtu(1, mei))
        self.assertEqual(self.frames(f), [framing.RtuFrame(1, resp), framing.RtuFrame(1, exc),
                                          framing.RtuFrame(1, mei)])

    def test_garbage_never_raises(self) -> None:
        import random
        rnd = random.Random(1)
        f = framing.RtuFramer("server")
        for _ in range(200):
            f.receive_data(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40))))
            self.frames(f)
            if rnd.random() < 0.3:
                f.silence()
        f.silence()
        f.receive_data(READ_RTU)
        self.assertEqual(self.frames(f), [framing.RtuFrame(1, READ_PDU)])


class DeviceTest(unittest.TestCase):
    def setUp(self) -> None:
        self.store = datastore.DataStore([ranges.parse_range("40001-40010=7"), ranges.parse_range("1-16=1"),
                                          ranges.parse_range("10001-10008=1"), ranges.parse_range("30001=5")])
        self.dev = device.Device()

    def ask(self, hexpdu: str) -> str:
        return self.dev.respond(self.store, bytes.fromhex(hexpdu)).hex()

    def test_reads(self) -> None:
        self.assertEqual(self.ask("0300000002"), "0304" "0007" "0007")
        self.assertEqual(self.ask("0400000001"), "0402" "0005")
        self.assertEqual(self.ask("0100000010"), "0102ffff")
        self.assertEqual(self.ask("0200000003"), "020107")

    def test_exceptions(self) -> None:
        self.assertEqual(self.ask("030000000b"), "8302")  # past the end of the range
        self.assertEqual(self.ask("0300640001"), "8302")  # not served
        self.assertEqual(self.ask("0300000000"), "8303")  # bad count
        self.assertEqual(self.ask("030000007e"), "8303")  # too many
        self.assertEqual(self.ask("03"), "8303")  # truncated
        self.assertEqual(self.ask("0800000000"), "8801")  # unsupported function
        self.assertEqual(self.ask("6400"), "e401")  # unknown function
        self.assertEqual(self.ask("0500001234"), "8503")  # bad coil value
        self.assertEqual(self.ask("10000000020400010002ff"), "9003")  # byte count mismatch

    def test_writes(self) -> None:
        self.assertEqual(self.ask("060001abcd"), "060001abcd")
        self.assertEqual(self.store.get(40002), [0xABCD])
        self.assertEqual(self.ask("0500030000"), "0500030000")
        self.assertEqual(self.store.get(4), [0])
        self.assertEqual(self.ask("10000200020400010002"), "1000020002")
        self.assertEqual(self.store.get(40003, 2), [1, 2])
        self.assertEqual(self.ask("0f0000000a020000"), "0f0000000a")
        self.assertEqual(self.store.get(1, 10), [0] * 10)
        self.assertEqual(self.ask("0f0000000a0100"), "8f03")
        self.assertEqual(self.ask("16000400f20025"), "16000400f20025")
        self.assertEqual(self.store.get(40005), [(7 & 0xF2) | (0x25 & ~0xF2)])
        self.assertEqual(self.ask("17000000020009000102000a"), "1704" "0007" "abcd")
        self.assertEqual(self.store.get(40010), [0xA])
        self.assertEqual(self.ask("0600630001"), "8602")

    def test_identification(self) -> None:
        answer = bytes.fromhex(self.ask("2b0e0100"))
        self.assertEqual(answer[:2], b"\x2b\x0e")
        self.assertEqual(answer[6], 3)  # basic: objects 0, 1, 2
        self.assertIn(b"cpppo", answer)
        self.assertEqual(self.ask("2b0e0442"), "ab02")
        self.assertEqual(self.ask("2b0e0900"), "ab03")


class LargeStoreTest(unittest.TestCase):
    def test_validation_is_per_value(self) -> None:
        """A huge sparse store answers a small request without touching the rest of it."""
        store = datastore.DataStore([ranges.parse_range("400001-465536=3")])
        calls = []

        class Counting(dict):
            def __getitem__(self, key):  # type: ignore[no-untyped-def]
                calls.append(key)
                return dict.__getitem__(self, key)

        store["hr"].values = Counting(store["hr"].values)
        self.assertEqual(store.get(400100, 10), [3] * 10)
        self.assertEqual(len(calls), 10)
