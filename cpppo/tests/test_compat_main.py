"""The original ``main()``'s keywords, on the simulator's start-up, with no sockets (issue 23).

``idle_service`` is called at start-up, then every 0.1 s of a ``MemoryReactorClock`` (the original's latency) and no
more once the server stops; ``identity_class``, ``message_router_class`` and
``connection_manager_class`` make the controller's objects; ``UCMM_class``'s ``route_path`` is the
route accepted; the Read/Write Tag services at ``@2/1/N`` are the Nth tag's.  The same keywords
through a real ``main()`` and real clients: ``tests/test_compat_main_script.py``.
"""

from __future__ import annotations

import struct

from twisted.internet.testing import MemoryReactorClock
from twisted.trial import unittest

from cpppo.enip.codec import cip
from cpppo.enip.codec.epath import Logical, Port
from cpppo.enip.codec.tag_services import ReadTag, WriteTag
from cpppo.enip.simulator import options as opts
from cpppo.enip.simulator import run
from cpppo.enip.simulator.controller.device import ConnectionManager, Identity, MessageRouter
from cpppo.server.enip import ucmm

ARGS = ["--no-config", "-U", "-a", "127.0.0.1:0"]


class Plant7(Identity):
    """A user's Identity: its own product name and serial, as a subclass sets them."""

    def __init__(self, **kwds):
        super().__init__(**{"product_name": "Plant7 PLC", "serial": 0x7777, **kwds})


class CountingRouter(MessageRouter):
    """A Message Router answering one more attribute (3: how many objects it routes to)."""

    def get_attribute_single(self, number):
        if number == 3:
            return struct.pack("<H", len(list(self.directory)))
        return super().get_attribute_single(number)


class QuietConnectionManager(ConnectionManager):
    pass


class NoRoute(ucmm.UCMM):
    route_path = False


class Backplane3(ucmm.UCMM):
    route_path = [{"port": 1, "link": 3}]


def settings(*tags, **classes):
    chosen = opts.load(opts.settings_from(opts.parser().parse_args([*ARGS, *tags])))
    run._original_classes(chosen, classes.get("identity_class"), classes.get("UCMM_class"),
                          classes.get("message_router_class"), classes.get("connection_manager_class"))
    return chosen


class IdleService(unittest.TestCase):
    def test_called_every_latency_until_stopped(self):
        reactor = MemoryReactorClock()
        calls = []
        server = run.start(ARGS + ["SCADA=INT[2]"], reactor, idle_service=lambda: calls.append(reactor.seconds()))
        self.assertEqual(calls, [0.0])  # (once at start-up, before any client can read what it sets)
        for _ in range(3):
            reactor.advance(run.IDLE_LATENCY)
        self.assertEqual(len(calls), 4)
        server.stop()
        reactor.advance(1.0)
        self.assertEqual(len(calls), 4)

    def test_a_failing_idle_service_is_logged_and_called_again(self):
        reactor = MemoryReactorClock()
        calls = []

        def broken():
            calls.append(1)
            raise RuntimeError("the user's bug")
        server = run.start(ARGS + ["SCADA=INT[2]"], reactor, idle_service=broken)
        reactor.advance(run.IDLE_LATENCY)
        reactor.advance(run.IDLE_LATENCY)
        self.assertEqual(len(calls), 3)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 0)  # (logged by logging, not Twisted)
        server.stop()


class ObjectClasses(unittest.TestCase):
    def test_the_controller_is_made_of_the_classes_given(self):
        chosen = settings("SCADA=INT[2]", identity_class=Plant7, message_router_class=CountingRouter,
                          connection_manager_class=QuietConnectionManager)
        service = run.build_service(chosen, clock=MemoryReactorClock())
        self.assertIsInstance(service.directory.lookup(1, 1), Plant7)
        self.assertEqual(service.identity_item().product_name, "Plant7 PLC")
        self.assertEqual(service.identity_item().serial_number, 0x7777)
        self.assertIsInstance(service.directory.lookup(2, 1), CountingRouter)
        self.assertIsInstance(service.directory.lookup(6, 1), QuietConnectionManager)
        request = cip.Request(0x0E, (Logical("class", 2), Logical("instance", 1), Logical("attribute", 3)))
        reply = service.serve(request, 500)
        self.assertEqual(reply.data, struct.pack("<H", len(list(service.directory))))

    def test_ucmm_route_path(self):
        self.assertIs(settings("SCADA", UCMM_class=NoRoute).route_path, False)
        self.assertEqual(settings("SCADA", UCMM_class=Backplane3).route_path, (Port(1, 3),))
        self.assertIsNone(settings("SCADA", UCMM_class=ucmm.UCMM).route_path)  # (any route)
        chosen = opts.settings_from(opts.parser().parse_args([*ARGS, "-S", "SCADA"]))
        with self.assertRaises(ValueError):  # as the original: one or the other
            run._original_classes(chosen, None, NoRoute, None, None)


class NumberedTags(unittest.TestCase):
    """Read/Write Tag at ``@2/1/N`` is the Nth tag (a tag at a CIP address of its own not counted)."""

    def setUp(self):
        self.service = run.build_service(settings("First=DINT[4]", "speed@0x93/1/10=REAL", "Second=INT"),
                                         clock=MemoryReactorClock())

    def path(self, cls, instance, attribute):
        return Logical("class", cls), Logical("instance", instance), Logical("attribute", attribute)

    def serve(self, request):
        return self.service.router.guarded(request, 500)

    def test_read_and_write_by_number(self):
        self.service.tags["First"][0:4] = [5, 6, 7, 8]
        reply = self.serve(cip.Request(0x4C, self.path(2, 1, 1), body=ReadTag(1)))
        self.assertEqual((reply.status, reply.body.data), (0, struct.pack("<i", 5)))
        reply = self.serve(cip.Request(0x4C, self.path(2, 1, 1), body=ReadTag(4)))
        self.assertEqual(reply.body.data, struct.pack("<4i", 5, 6, 7, 8))
        write = WriteTag(0xC3, 1, struct.pack("<h", -3))
        self.assertEqual(self.serve(cip.Request(0x4D, self.path(2, 1, 2), body=write)).status, 0)
        self.assertEqual(self.service.tags["Second"][0], -3)       # Second is @2/1/2: speed is at its own address
        write = WriteTag(0xCA, 1, struct.pack("<f", 1.5))
        self.assertEqual(self.serve(cip.Request(0x4D, self.path(0x93, 1, 10), body=write)).status, 0)
        self.assertEqual(self.service.tags["speed"][0], 1.5)

    def test_no_such_tag_number(self):
        self.assertEqual(self.serve(cip.Request(0x4C, self.path(2, 1, 3), body=ReadTag(1))).status, 0x14)
        reply = self.serve(cip.Request(0x4C, self.path(2, 1, 1), body=ReadTag(5)))   # First has 4
        self.assertEqual((reply.status, reply.extended), (0xFF, (0x2105,)))
        get = cip.Request(0x0E, self.path(2, 1, 1))          # Get Attribute Single @2/1/1: a Logix's object list
        self.assertEqual(self.serve(get).data[:2], struct.pack("<H", len(self.service.directory.classes())))


class TwistdOptions(unittest.TestCase):
    """``twistd cpppo-enip`` takes the original's server flags too (its own --profile profiles twistd)."""

    def test_the_original_flags(self):
        from cpppo.tap.enip import Options

        options = Options()
        options.parseOptions(["--no-config", "-T", "-s", "600", "-b", "plant7", "-D", "udts.json", "-u", "SCADA"])
        chosen = options["settings"]
        self.assertEqual((chosen.tcp, chosen.udp, chosen.size), (False, True, 600))
        options = Options()
        options.parseOptions(["--no-config", "-t", "SCADA"])
        self.assertTrue(options["settings"].tcp)
        self.assertIsNone(options["settings"].size)
