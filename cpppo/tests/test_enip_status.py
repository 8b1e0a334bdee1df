"""Status codes, commands, item types, services and classes: values from the notes, names, texts."""

from __future__ import annotations

import enum
import json
import struct
import unittest

from cpppo.enip.codec.codes import (
    REPLY,
    ClassCode,
    Command,
    ConnectionManagerStatus,
    EncapStatus,
    GeneralStatus,
    ItemType,
    LogixExtendedStatus,
    Service,
    describe,
    describe_encap,
    explain,
    meaning,
    service_name,
)
from cpppo.tests.test_enip_epath import VECTORS, cpf_items


class Values(unittest.TestCase):

    def test_general_status(self):
        expect = {
            0x00: "SUCCESS", 0x01: "CONNECTION_FAILURE", 0x02: "RESOURCE_UNAVAILABLE",
            0x03: "INVALID_PARAMETER_VALUE", 0x04: "PATH_SEGMENT_ERROR",
            0x05: "PATH_DESTINATION_UNKNOWN", 0x06: "PARTIAL_TRANSFER", 0x07: "CONNECTION_LOST",
            0x08: "SERVICE_NOT_SUPPORTED", 0x09: "INVALID_ATTRIBUTE_VALUE",
            0x0A: "ATTRIBUTE_LIST_ERROR", 0x0B: "ALREADY_IN_REQUESTED_MODE",
            0x0C: "OBJECT_STATE_CONFLICT", 0x0D: "OBJECT_ALREADY_EXISTS",
            0x0E: "ATTRIBUTE_NOT_SETTABLE", 0x0F: "PRIVILEGE_VIOLATION",
            0x10: "DEVICE_STATE_CONFLICT", 0x11: "REPLY_DATA_TOO_LARGE", 0x13: "NOT_ENOUGH_DATA",
            0x14: "ATTRIBUTE_NOT_SUPPORTED", 0x15: "TOO_MUCH_DATA", 0x16: "OBJECT_DOES_NOT_EXIST",
            0x1E: "EMBEDDED_SERVICE_ERROR", 0x1F: "VENDOR_SPECIFIC", 0x20: "INVALID_PARAMETER",
            0x26: "PATH_SIZE_INVALID", 0xFF: "GENERAL_ERROR",
        }
        for value, name in expect.items():
            with self.subTest(name):
                self.assertEqual(GeneralStatus[name], value)
                self.assertEqual(GeneralStatus(value).name, name)
        self.assertEqual(LogixExtendedStatus.INDEX_OUT_OF_RANGE, 0x2105)
        self.assertEqual(LogixExtendedStatus.DATA_TYPE_MISMATCH, 0x2107)
        self.assertEqual(ConnectionManagerStatus.CONNECTION_IN_USE, 0x0100)

    def test_encapsulation(self):
        self.assertEqual([(c.name, c.value) for c in Command], [
            ("NOP", 0), ("LIST_SERVICES", 4), ("LIST_IDENTITY", 0x63), ("LIST_INTERFACES", 0x64),
            ("REGISTER_SESSION", 0x65), ("UNREGISTER_SESSION", 0x66), ("SEND_RR_DATA", 0x6F),
            ("SEND_UNIT_DATA", 0x70)])
        self.assertEqual({s.value for s in EncapStatus}, {0, 1, 2, 3, 0x64, 0x65, 0x69})
        self.assertEqual(ItemType.NULL_ADDRESS, 0)
        self.assertEqual(ItemType.CONNECTED_ADDRESS, 0xA1)
        self.assertEqual(ItemType.CONNECTED_DATA, 0xB1)
        self.assertEqual(ItemType.UNCONNECTED_DATA, 0xB2)
        self.assertEqual(ItemType.SOCKADDR_O_T, 0x8000)
        self.assertEqual(ItemType.SOCKADDR_T_O, 0x8001)
        self.assertEqual(ItemType.LIST_IDENTITY, 0x0C)
        self.assertEqual(ItemType.LIST_SERVICES, 0x0100)

    def test_services_and_classes(self):
        expect = {
            "GET_ATTRIBUTES_ALL": 0x01, "SET_ATTRIBUTES_ALL": 0x02, "GET_ATTRIBUTE_LIST": 0x03,
            "SET_ATTRIBUTE_LIST": 0x04, "RESET": 0x05, "MULTIPLE_SERVICE_PACKET": 0x0A,
            "GET_ATTRIBUTE_SINGLE": 0x0E, "SET_ATTRIBUTE_SINGLE": 0x10, "FORWARD_CLOSE": 0x4E,
            "UNCONNECTED_SEND": 0x52, "FORWARD_OPEN": 0x54, "LARGE_FORWARD_OPEN": 0x5B,
            "GET_INSTANCE_ATTRIBUTE_LIST": 0x55, "READ_TAG": 0x4C, "WRITE_TAG": 0x4D,
            "READ_MODIFY_WRITE": 0x4E, "READ_TAG_FRAGMENTED": 0x52, "WRITE_TAG_FRAGMENTED": 0x53,
            "READ_TEMPLATE": 0x4C,
        }
        for name, value in expect.items():
            with self.subTest(name):
                self.assertEqual(Service[name], value)
        classes = {"IDENTITY": 0x01, "MESSAGE_ROUTER": 0x02, "ASSEMBLY": 0x04,
                   "CONNECTION_MANAGER": 0x06, "PORT": 0xF4, "TCPIP": 0xF5, "ETHERNET_LINK": 0xF6,
                   "SYMBOL": 0x6B, "TEMPLATE": 0x6C}
        for name, value in classes.items():
            with self.subTest(name):
                self.assertEqual(ClassCode[name], value)

    def test_names_upper_snake(self):
        for table in (Command, EncapStatus, ItemType, Service, ClassCode, GeneralStatus,
                      LogixExtendedStatus, ConnectionManagerStatus):
            self.assertTrue(issubclass(table, enum.IntEnum))
            for name in table.__members__:
                self.assertRegex(name, r"^[A-Z][A-Z0-9_]*$")

    def test_captured_frames_use_known_codes(self):
        """Every command, item type and reply status in the captured frames has a name."""
        for path in sorted(VECTORS.glob("*.json")):
            for frame in json.loads(path.read_text())["frames"]:
                data = bytes.fromhex(frame["hex"])
                with self.subTest(vector=path.stem, frame=frame["hex"][:40]):
                    Command(struct.unpack_from("<H", data, 0)[0])
                    for kind, item in cpf_items(data):
                        ItemType(kind)
                        if kind == ItemType.CONNECTED_DATA:
                            item = item[2:]
                        if kind in (0xB1, 0xB2) and item[0] & REPLY:
                            GeneralStatus(item[2])


class Texts(unittest.TestCase):

    def test_service_name(self):
        self.assertEqual(service_name(0x4C), "READ_TAG")
        self.assertEqual(service_name(0xCC), "READ_TAG reply")
        self.assertEqual(service_name(0x4C, ClassCode.TEMPLATE), "READ_TEMPLATE")
        self.assertEqual(service_name(0x4C, ClassCode.SYMBOL), "READ_TAG")
        self.assertEqual(service_name(0x4E, ClassCode.CONNECTION_MANAGER), "FORWARD_CLOSE")
        self.assertEqual(service_name(0x4E, ClassCode.SYMBOL), "READ_MODIFY_WRITE")
        self.assertEqual(service_name(0x52, 0x06), "UNCONNECTED_SEND")
        self.assertEqual(service_name(0xD2, ClassCode.SYMBOL), "READ_TAG_FRAGMENTED reply")
        self.assertEqual(service_name(0x0E, 0x01), "GET_ATTRIBUTE_SINGLE")
        self.assertEqual(service_name(0x7F), "service 0x7F")

    def test_describe(self):
        self.assertEqual(describe(0), "0x00 success")
        self.assertEqual(describe(0x04), "0x04 path segment error")
        self.assertEqual(describe(0xFF, (0x2105,)),
                         "0xFF general error (extended 0x2105: index out of range)")
        self.assertEqual(describe(0xFF, [0x2107]),
                         "0xFF general error (extended 0x2107: data type mismatch)")
        self.assertEqual(describe(0x01, (0x0100,)),
                         "0x01 connection failure (extended 0x0100: connection in use)")
        self.assertEqual(describe(0x05, (0x0000,)), "0x05 path destination unknown (extended 0x0000)")
        self.assertEqual(describe(0xFF, (0x1234,)), "0xFF general error (extended 0x1234)")
        self.assertEqual(describe(0x42), "0x42 unknown status")
        self.assertEqual(describe(GeneralStatus.PARTIAL_TRANSFER), "0x06 partial transfer")

    def test_explain(self):
        """The line people see: the codes, then the most specific meaning known."""
        self.assertEqual(explain(0xFF, (0x2105,)), "0xFF/0x2105 beyond the end of the tag")
        self.assertEqual(explain(0x04), "0x04 path segment error (no such tag or object)")
        self.assertEqual(explain(0x01, [0x0100]), "0x01/0x0100 connection in use")
        self.assertEqual(explain(0xFF, (0x1234,)), "0xFF/0x1234 general error")
        self.assertEqual(explain(0x42), "0x42 unknown status")
        self.assertEqual(meaning(0x0C), "object state conflict")
        self.assertEqual(GeneralStatus.ATTRIBUTE_NOT_SUPPORTED.meaning, "attribute not supported (no such attribute)")

    def test_describe_encap(self):
        self.assertEqual(describe_encap(0x64), "0x0064 invalid session handle")
        self.assertEqual(describe_encap(0x08), "0x0008 unknown encapsulation status")


if __name__ == "__main__":
    unittest.main()
