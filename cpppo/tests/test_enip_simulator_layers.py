"""The simulator's layers one at a time: a controller with no listener, the router's tables, the
dispatcher's sessions on plain Link records, and twistd's Options and endpoint listeners."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, task
from twisted.trial import unittest

from cpppo.enip.codec import cip, encap
from cpppo.enip.codec import tag_services as logix
from cpppo.enip.codec.codes import ClassCode, GeneralStatus, Service
from cpppo.enip.codec.epath import Logical, Port, Symbolic
from cpppo.enip.simulator.controller.device import CIPError, ElementOutOfRange, Refusal
from cpppo.enip.simulator.controller.plc import Controller
from cpppo.enip.simulator.dispatch import CLOSE, Dispatcher
from cpppo.enip.simulator.router import TAG, Router
from cpppo.enip.simulator.transport import Link, Transport

CM = (Logical("class", ClassCode.CONNECTION_MANAGER), Logical("instance", 1))


def link(port: int = 5555) -> tuple[Link, list[str]]:
    closed: list[str] = []
    return Link("127.0.0.1", port, lambda: closed.append("closed")), closed


class TestController(unittest.TestCase):
    def test_a_controller_is_served_with_no_listener(self) -> None:
        controller = Controller(task.Clock(), identity={"product_name": "Bare"})
        controller.add_tag("SCADA", "INT", 10)
        controller.tags["SCADA"][2] = 7
        router = Router(controller)
        reply = router.guarded(cip.Request(Service.READ_TAG, (Symbolic("SCADA"), Logical("element", 2)),
                                           body=logix.ReadTag(1)), 504)
        self.assertEqual(reply.body.values(), [7])
        dispatcher = Dispatcher(controller, router)
        one, closed = link()
        reply = dispatcher.handle(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession()), one)
        self.assertEqual((reply.session, one.session), (reply.session, reply.session))
        self.assertIn(one.session, dispatcher.sessions)
        identity = dispatcher.list_reply(encap.Frame(encap.LIST_IDENTITY)).body.items[0]
        self.assertEqual(identity.product_name, "Bare")
        self.assertIs(dispatcher.handle(encap.Frame(encap.UNREGISTER_SESSION, encap.RegisterSession(),
                                                    one.session), one), CLOSE)
        self.assertEqual((len(dispatcher.sessions), one.session), (0, 0))

    def test_elements_out_of_range_are_a_refusal_and_still_a_key_error(self) -> None:
        controller = Controller(task.Clock())
        tag = controller.add_tag("A", "DINT", 2)
        with self.assertRaises(KeyError):
            tag[2]
        with self.assertRaises(Refusal) as caught:
            tag[5]
        self.assertEqual((caught.exception.status, caught.exception.extended), (0xFF, (0x2105,)))
        self.assertIsInstance(caught.exception, ElementOutOfRange)
        self.assertIs(CIPError, Refusal)  # the old name

    def test_any_other_exception_is_0xff_and_no_key_error_is_a_signal(self) -> None:
        controller = Controller(task.Clock())
        tag = controller.add_tag("A", "DINT", 2)
        tag.__class__ = type("Failing", (type(tag),), {"__getitem__": lambda self, key: {}["nope"]})
        reply = Router(controller).guarded(cip.Request(Service.READ_TAG, (Symbolic("A"),),
                                                       body=logix.ReadTag(1)), 504)
        self.assertEqual((reply.status, reply.extended), (GeneralStatus.GENERAL_ERROR, ()))


class TestRouterTables(unittest.TestCase):
    def test_one_code_two_services(self) -> None:
        """0x4E is Forward Close on the Connection Manager and Read Modify Write on a tag."""
        controller = Controller(task.Clock())
        controller.add_tag("Bits", "DINT", 1)
        router = Router(controller)
        rmw = cip.Request(Service.READ_MODIFY_WRITE, (Symbolic("Bits"),),
                          body=logix.ReadModifyWrite(b"\x05\0\0\0", b"\xff\xff\xff\xff"))
        self.assertEqual(router.guarded(rmw, 504).status, 0)
        self.assertEqual(controller.tags["Bits"][0], 5)
        close = cip.Request(Service.FORWARD_CLOSE, CM, body=cip.ForwardClose(1, 2, 3, (Port(1, 0),)))
        reply = router.guarded(close, 504)
        self.assertEqual((reply.status, reply.extended), (GeneralStatus.CONNECTION_FAILURE, (0x0107,)))
        self.assertIn((TAG, Service.GET_INSTANCE_ATTRIBUTE_LIST), router._by_tag)
        self.assertIn((ClassCode.CONNECTION_MANAGER, Service.FORWARD_CLOSE), router._by_class_service)


class TestTransport(unittest.TestCase):
    def test_a_closed_link_ends_its_session_and_its_connections(self) -> None:
        controller = Controller(task.Clock())
        dispatcher = Dispatcher(controller)
        transport = Transport(dispatcher)
        one, closed = link()
        transport.opened(one)
        dispatcher.handle(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession()), one)
        session = one.session
        opened = cip.ForwardOpen((Port(1, 0), Logical("class", 2), Logical("instance", 1)), 0, 0xB001, 1, 0x1337,
                                 42, 0, 100000, 0x4200 | 500, 100000, 0x4200 | 500, 0xA3)
        reply = dispatcher.router.guarded(cip.Request(Service.FORWARD_OPEN, CM, body=opened), 504, one)
        self.assertEqual((reply.status, len(controller.connections)), (0, 1))
        self.assertEqual(transport.eof(), 1)
        self.assertEqual(closed, ["closed"])
        transport.closed(one)  # (what the protocol's connectionLost tells it)
        self.assertEqual((transport.links, len(controller.connections)), ([], 0))
        self.assertNotIn(session, dispatcher.sessions)
        self.assertTrue(one.eof)


class TestTwistdOptions(unittest.TestCase):
    def test_listen_is_repeatable_and_nothing_is_read(self) -> None:
        from cpppo.tap.enip import Options

        options = Options()
        options.parseOptions(["--no-config", "--listen", "tcp:0:interface=127.0.0.1", "--listen",
                              "tcp:0:interface=127.0.0.2", "-vv", "--tags", "/not/read/yet.toml", "SCADA=INT[10]"])
        settings = options["settings"]
        self.assertEqual(settings.listen, ["tcp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.2"])
        self.assertEqual((settings.verbose, settings.tag_files, settings.loaded), (2, ["/not/read/yet.toml"], False))

    def test_usage_errors_exit_2(self) -> None:
        from cpppo.tap.enip import Options

        for argv in (["--no-config", "SCADA=FOO"], ["--no-config", "--serial", "x", "A"], ["--no-config"]):
            with self.assertRaises(SystemExit) as caught:
                Options().parseOptions(argv)
            self.assertEqual(caught.exception.code, 2, argv)

    @defer.inlineCallbacks
    def test_each_endpoint_gets_its_udp_twin(self) -> Any:
        from cpppo.tap.enip import EnipServerService, Options

        options = Options()
        options.parseOptions(["--no-config", "--listen", "tcp:0:interface=127.0.0.1", "--listen",
                              "tcp:0:interface=127.0.0.2", "SCADA=INT[10]"])
        simulator = EnipServerService(options["settings"])
        simulator.startService()
        self.addCleanup(simulator.stopService)
        listeners = simulator.server.listeners
        self.assertEqual([listener.bound[0] for listener in listeners], ["127.0.0.1", "127.0.0.2"])
        for listener in listeners:
            udp = listener.udp_port.getHost()
            self.assertEqual((udp.host, udp.port), listener.bound)
        yield simulator.server.service.disable(True)
        self.assertTrue(all(listener.tcp_port is None for listener in listeners))
        yield simulator.server.service.disable(False)
        self.assertEqual([listener.tcp_port.getHost().port for listener in listeners],
                         [listener.bound[1] for listener in listeners])  # the same ports again
