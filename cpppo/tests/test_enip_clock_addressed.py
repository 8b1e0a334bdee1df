"""The Wall Clock Time object (clock.py) and tags at a CIP address (addressed.py), in memory.

Requests go through :class:`EnipService` as a client's frames would (the in-memory
``Peer`` of test_enip_server), on a ``task.Clock``.  Until ``EnipService`` routes
object services itself (the integration hook: the object's ``serve(request)`` for
services it does not answer, and a :class:`WallClock` in every directory), these
tests serve through :class:`HookedService`, a subclass that adds just that; once the
hook is in, they run against ``EnipService`` unchanged.
"""

from __future__ import annotations

import struct
from typing import Any

from twisted.internet import defer, task
from twisted.trial import unittest

from cpppo.enip.codec import browse, cip
from cpppo.enip.codec.epath import Logical
from cpppo.enip.simulator import options
from cpppo.enip.simulator.controller import addressed
from cpppo.enip.simulator.controller.clock import WallClock
from cpppo.enip.simulator.controller.device import Attribute, CIPError
from cpppo.enip.simulator.server_protocol import EnipFactory
from cpppo.enip.simulator.service import EnipService
from cpppo.tests.test_enip_server import Peer, read, write

START = 1_700_000_000.25  # the task.Clock's time when a test begins: 2023-11-14 22:13:20.25 UTC
US = 1_000_000


def path(class_id: int, instance_id: int, attribute_id: int | None = None) -> tuple:
    segments = (Logical("class", class_id), Logical("instance", instance_id))
    return segments + ((Logical("attribute", attribute_id),) if attribute_id is not None else ())


CLOCK = path(0x8B, 1)


class HookedService(EnipService):
    """EnipService plus the integration hook, for as long as service.py lacks it."""

    def __init__(self, clock: Any = None, **kwds: Any) -> None:
        super().__init__(clock, **kwds)
        try:
            self.directory.lookup(0x8B, 1)
        except CIPError:
            self.directory.add(WallClock(clock=self.clock.seconds))

    def serve(self, request: Any, budget: int, client: Any = None) -> Any:
        if isinstance(request, cip.Request) and request.service not in (0x01, 0x0E, 0x10):
            ids = [s.value for s in request.path if isinstance(s, Logical) and s.kind in ("class", "instance")]
            if len(ids) == 2:
                try:
                    obj = self.directory.lookup(*ids)
                except CIPError:
                    obj = None
                if getattr(obj, "serve", None) is not None:
                    return obj.serve(request)
        return super().serve(request, budget, client)


def integrated() -> bool:
    """Does EnipService itself have a Wall Clock and route Get Attribute List to it?"""
    service = EnipService(task.Clock())
    try:
        reply = service.serve(cip.Request(0x03, CLOCK, body=cip.GetAttributeList((6,))), 504)
    except CIPError:
        return False
    return isinstance(reply, cip.Reply) and reply.status == 0


def get_list(*attributes: int) -> cip.Request:
    return cip.Request(0x03, CLOCK, body=cip.GetAttributeList(attributes))


def set_list(*pairs: tuple[int, bytes]) -> cip.Request:
    data = struct.pack("<H", len(pairs)) + b"".join(struct.pack("<H", n) + value for n, value in pairs)
    return cip.Request(0x04, CLOCK, data=data)


def ulint(value: int) -> bytes:
    return struct.pack("<Q", value)


class ServedTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.clock.advance(START)
        service_class = EnipService if integrated() else HookedService
        self.service = service_class(self.clock)
        self.service.add_tag("SCADA", "INT", 10)
        self.peer = Peer(EnipFactory(self.service))
        self.peer.register()


class TestWallClock(ServedTestCase):
    def values(self, reply: cip.Reply, sizes: dict[int, int]) -> dict[int, Any]:
        return {v.attribute: (v.status, v.data) for v in browse.decode_attribute_list_reply(reply.data, sizes)}

    def test_pycomm3_get_plc_time(self) -> None:
        """pycomm3: Get Attribute List, count 1, attribute 6; the value follows 6 bytes (count, id, status)."""
        request = cip.decode_request(bytes([0x03, 0x02, 0x20, 0x8B, 0x24, 0x01]) + b"\x01\x00\x06\x00")
        reply = self.peer.ask(request)
        self.assertEqual((reply.service, reply.status), (0x83, 0))
        self.assertEqual(reply.data[:6], b"\x01\x00\x06\x00\x00\x00")
        self.assertEqual(struct.unpack_from("<Q", reply.data, 6)[0], int(START * US))
        self.clock.advance(1.5)
        reply = self.peer.ask(request, route=False)
        self.assertEqual(struct.unpack_from("<Q", reply.data, 6)[0], int((START + 1.5) * US))

    def test_set_then_it_keeps_running(self) -> None:
        """pycomm3 set_plc_time: Set Attribute List (1, 6, ULINT); the clock runs on from there."""
        reply = self.peer.ask(cip.Request(0x04, CLOCK, data=struct.pack("<HHQ", 1, 6, 123 * US)))
        self.assertEqual((reply.service, reply.status, reply.data), (0x84, 0, struct.pack("<HHH", 1, 6, 0)))
        self.clock.advance(2)
        got = self.values(self.peer.ask(get_list(6)), {6: 8})
        self.assertEqual(got[6], (0, ulint(125 * US)))

    def test_pylogix_set_and_get_plc_time(self) -> None:
        """pylogix: SetPLCTime sets 6 (UTC) and 10 (DST); GetPLCTime reads 11 (local time)."""
        reply = self.peer.ask(set_list((6, ulint(1000 * US)), (10, b"\x01")))
        self.assertEqual((reply.status, reply.data), (0, struct.pack("<HHHHH", 2, 6, 0, 10, 0)))
        got = self.values(self.peer.ask(get_list(11, 10, 6)), {6: 8, 10: 1, 11: 8})
        self.assertEqual(got, {11: (0, ulint((1000 + 3600) * US)), 10: (0, b"\x01"), 6: (0, ulint(1000 * US))})
        self.peer.ask(set_list((10, b"\x00")))
        got = self.values(self.peer.ask(get_list(11)), {11: 8})
        self.assertEqual(got[11], (0, ulint(1000 * US)))

    def test_local_time_and_time_zone(self) -> None:
        wall = self.service.directory.lookup(0x8B, 1)
        wall.utc_offset = -5 * 3600
        self.assertEqual(wall.local(), int(START * US) - 5 * 3600 * US)
        self.peer.ask(set_list((11, ulint(10_000 * US))))     # setting local time sets UTC with it
        self.assertEqual(wall.utc(), (10_000 + 5 * 3600) * US)

    def test_single_and_all(self) -> None:
        """For tools with only Get/Set Attribute Single and Get Attributes All (the original's get_attribute)."""
        reply = self.peer.ask(cip.Request(0x0E, path(0x8B, 1, 6)))
        self.assertEqual((reply.status, reply.data), (0, ulint(int(START * US))))
        self.assertEqual(self.peer.ask(cip.Request(0x10, path(0x8B, 1, 6), data=ulint(7 * US))).status, 0)
        self.assertEqual(self.peer.ask(cip.Request(0x10, path(0x8B, 1, 10), data=b"\x01")).status, 0)
        reply = self.peer.ask(cip.Request(0x01, CLOCK))
        self.assertEqual(reply.data, ulint(7 * US) + b"\x01" + ulint((7 + 3600) * US))
        self.assertEqual(self.peer.ask(cip.Request(0x10, path(0x8B, 1, 6), data=b"\0" * 4)).status, 0x13)
        self.assertEqual(self.peer.ask(cip.Request(0x10, path(0x8B, 1, 10), data=b"\x02")).status, 0x09)
        self.assertEqual(self.peer.ask(cip.Request(0x0E, path(0x8B, 1, 7))).status, 0x14)

    def test_refusals(self) -> None:
        reply = self.peer.ask(get_list(6, 7))                 # 7 is not served: its own status, no value
        self.assertEqual(reply.status, 0x0A)
        got = self.values(reply, {6: 8})
        self.assertEqual(got[7], (0x14, b""))
        self.assertEqual(got[6][0], 0)
        reply = self.peer.ask(set_list((10, b"\x02")))          # DST is 0 or 1
        self.assertEqual((reply.status, reply.data), (0x0A, struct.pack("<HHH", 1, 10, 0x09)))
        reply = self.peer.ask(set_list((7, b"\x00"), (6, ulint(0))))  # an unknown size ends the list
        self.assertEqual((reply.status, reply.data), (0x0A, struct.pack("<HHH", 1, 7, 0x14)))
        reply = self.peer.ask(cip.Request(0x04, CLOCK, data=struct.pack("<HH", 1, 6) + b"\0" * 4))
        self.assertEqual((reply.status, reply.data), (0x0A, struct.pack("<HHH", 1, 6, 0x13)))
        reply = self.peer.ask(cip.Request(0x04, CLOCK, data=struct.pack("<HHQ", 1, 6, 0) + b"\0"))
        self.assertEqual(reply.status, 0x15)
        self.assertEqual(self.peer.ask(cip.Request(0x04, CLOCK, data=b"\x01")).status, 0x13)
        self.assertEqual(self.peer.ask(cip.Request(0x05, CLOCK)).status, 0x08)
        self.assertEqual(self.peer.ask(cip.Request(0x03, path(0x8B, 2), body=cip.GetAttributeList((6,)))).status,
                         0x05)

    def test_in_a_multiple_service_packet(self) -> None:
        body = cip.MultipleService((get_list(6), cip.Request(0x0E, path(0x8B, 1, 10))))
        reply = self.peer.ask(cip.Request(0x0A, path(0x02, 1), body=body))
        self.assertEqual(reply.status, 0)
        first, second = reply.body.replies
        self.assertEqual((first.service, first.status, second.data), (0x83, 0, b"\x00"))


class TestParse(unittest.TestCase):
    def test_addresses(self) -> None:
        self.assertEqual(addressed.parse_cip_address("0x93/1/10"), (0x93, 1, 10))
        self.assertEqual(addressed.parse_cip_address("@147/1/10"), (0x93, 1, 10))
        self.assertEqual(addressed.parse_cip_address("@0x300/0x10/0x0A"), (0x300, 16, 10))
        self.assertEqual(addressed.parse_cip_address("@1/2/3"), (1, 2, 3))          # Identity instance 2: free
        self.assertEqual(addressed.format_cip_address(0x93, 1, 10), "@0x93/1/10")
        for bad in ("0x93/1", "0x93/1/10/2", "@0x93/1/10[2]", "x/1/1", "0x93/0/1", "0x93/1/0", "0x10000/1/1",
                    "@1/1/1", "@0x8B/1/6", "@0x6B/2/1", "@6/3/1", "", "@//"):
            with self.assertRaises(ValueError, msg=bad):
                addressed.parse_cip_address(bad)

    def test_reserved_matches_the_service(self) -> None:
        """Every object the service makes for itself is RESERVED (keeps the list in step with service.py)."""
        service = HookedService(task.Clock())
        own = {(obj.class_id, obj.instance_id) for obj in service.directory}
        self.assertEqual(own - addressed.RESERVED, set())


class TestAddressed(ServedTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.accesses: list[tuple] = []
        self.service.tags.on_access = lambda *args: self.accesses.append(args[:1] + args[2:])
        self.speed = self.service.add_tag("speed", "REAL", default=0.0)
        self.accel = self.service.add_tag("accel", "DINT")
        self.limits = self.service.add_tag("limits", "UINT", 2)
        self.drive = addressed.attach(self.service, "speed", 0x93, 1, 10, self.speed)
        self.assertIs(addressed.attach(self.service, "accel", 0x93, 1, 11, self.accel), self.drive)
        addressed.attach(self.service, "limits", 0x93, 1, 3, self.limits)

    def test_attribute_single_and_tags_are_one_value(self) -> None:
        reply = self.peer.ask(cip.Request(0x10, path(0x93, 1, 10), data=struct.pack("<f", 1.5)))
        self.assertEqual((reply.service, reply.status), (0x90, 0))
        self.assertEqual(self.peer.ask(read("speed")).body.values(), [1.5])
        self.assertEqual(self.peer.ask(write("accel", None, 0xC4, struct.pack("<i", -7))).status, 0)
        reply = self.peer.ask(cip.Request(0x0E, path(0x93, 1, 11)))
        self.assertEqual((reply.service, reply.status, reply.data), (0x8E, 0, struct.pack("<i", -7)))
        self.assertEqual(self.peer.ask(cip.Request(0x0E, path(0x93, 1, 3))).data, struct.pack("<HH", 0, 0))
        self.assertIn(("write", 0, 1, [1.5]), self.accesses)
        self.assertIn(("read", 0, 1, [-7]), self.accesses)

    def test_attributes_all(self) -> None:
        """Set/Get Attributes All: every attribute, in number order (3, 10, 11)."""
        data = struct.pack("<HHfi", 5, 6, 2.5, 42)
        reply = self.peer.ask(cip.Request(0x02, path(0x93, 1), data=data))
        self.assertEqual((reply.service, reply.status), (0x82, 0))
        self.assertEqual((self.limits.value, self.speed.value, self.accel.value), ([5, 6], 2.5, 42))
        reply = self.peer.ask(cip.Request(0x01, path(0x93, 1)))
        self.assertEqual((reply.service, reply.status, reply.data), (0x81, 0, data))
        self.assertEqual(self.peer.ask(read("limits", 0, 2)).body.values(), [5, 6])

    def test_refusals(self) -> None:
        for data, status in ((b"\0" * 11, 0x13), (b"\0" * 13, 0x15)):
            self.assertEqual(self.peer.ask(cip.Request(0x02, path(0x93, 1), data=data)).status, status)
        self.assertEqual(self.accel.value, 0)  # nothing written by a refused Set Attributes All
        self.assertEqual(self.peer.ask(cip.Request(0x10, path(0x93, 1, 10), data=b"\0\0")).status, 0x13)
        self.assertEqual(self.peer.ask(cip.Request(0x0E, path(0x93, 1, 12))).status, 0x14)
        self.assertEqual(self.peer.ask(cip.Request(0x0E, path(0x93, 2, 10))).status, 0x05)
        self.assertEqual(self.peer.ask(cip.Request(0x4B, path(0x93, 1))).status, 0x08)
        self.service.set_error("speed", 0x0C)
        self.assertEqual(self.peer.ask(cip.Request(0x0E, path(0x93, 1, 10))).status, 0x0C)
        self.assertEqual(self.peer.ask(cip.Request(0x01, path(0x93, 1))).status, 0x0C)

    def test_attach_conflicts(self) -> None:
        other = Attribute("other", "INT", 0)
        with self.assertRaises(ValueError):
            addressed.attach(self.service, "other", 0x93, 1, 10, other)   # taken by speed
        with self.assertRaises(ValueError):
            addressed.attach(self.service, "other", 0x01, 1, 20, other)   # the Identity object
        with self.assertRaises(ValueError):
            addressed.attach(self.service, "other", 0x06, 2, 1, other)    # Connection Manager's class
        with self.assertRaises(ValueError):
            addressed.attach(self.service, "text", 0x93, 1, 20, Attribute("text", "STRING", "x"))
        addressed.attach(self.service, "speed", 0x93, 1, 10, self.speed)  # the same again: no change
        self.assertEqual(sorted(self.drive.attributes), [3, 10, 11])

    @defer.inlineCallbacks
    def test_slow_attribute(self) -> Any:
        class Slow(Attribute):
            def __getitem__(self, key: Any) -> Any:
                return task.deferLater(clock, 1.0, Attribute.__getitem__, self, key)

        clock = self.clock
        slow = self.service.tags.add(Slow("slow", "INT", 9))
        addressed.attach(self.service, "slow", 0x94, 1, 1, slow)
        result = self.service.serve(cip.Request(0x0E, path(0x94, 1, 1)), 504)
        self.assertIsInstance(result, defer.Deferred)
        clock.advance(1.0)
        reply = yield result
        self.assertEqual(reply.data, struct.pack("<h", 9))


class TestIntegration(unittest.TestCase):
    """The command line (options.parse_tag, main.build_service): only once they know ``@``."""

    def setUp(self) -> None:
        try:
            spec = options.parse_tag("speed@0x93/1/10=REAL")
        except ValueError:
            spec = None
        if getattr(spec, "address", None) is None:
            raise unittest.SkipTest("options.parse_tag does not take NAME@CLASS/INSTANCE/ATTRIBUTE yet")

    def test_parse_and_build(self) -> None:
        from cpppo.enip.simulator import run as main

        spec = options.parse_tag("speed@0x93/1/10=REAL")
        self.assertEqual((spec.name, spec.type, spec.length, spec.address), ("speed", "REAL", 1, (0x93, 1, 10)))
        self.assertIsNone(options.parse_tag("SCADA=INT[10]").address)
        ap = options.parser()
        settings = options.configure(ap.parse_args(["--no-config", "speed@0x93/1/10=REAL", "limits@147/1/3=UINT[2]",
                                                    "SCADA=INT[10]"]), ap)
        service = main.build_service(settings, clock=task.Clock())
        drive = service.directory.lookup(0x93, 1)
        self.assertEqual(sorted(drive.attributes), [3, 10])
        self.assertIs(drive.attributes[10], service.tags["speed"])
        self.assertIsInstance(service.directory.lookup(0x8B, 1), WallClock)

    def test_usage_errors(self) -> None:
        for argv in (["a@0x93/1=INT"], ["a@1/1/1=INT"], ["a@0x93/1/1=INT", "b@0x93/1/1=INT"], ["a@x/1/1"],
                     ["a@0x93/1/1=STRING"]):
            ap = options.parser()
            with self.assertRaises(SystemExit, msg=argv) as caught:
                options.configure(ap.parse_args(["--no-config", *argv]), ap)
            self.assertEqual(caught.exception.code, 2, argv)
