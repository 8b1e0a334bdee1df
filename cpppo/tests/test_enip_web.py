"""The simulator's web API over real HTTP on 127.0.0.1, in the test's reactor (trial-compatible).

Each test starts a simulator on loopback (``main.start``) and its web API
(``web.start_web``), asks over HTTP with ``twisted.web.client.Agent``, and checks
the effect on the running service, or through an EtherNet/IP client speaking to
the real TCP port: a web write is read by the client, a client write shows in
the JSON, a forced error fails the client's read, a delay holds the reply.
"""

from __future__ import annotations

import json
import time
from typing import Any

from twisted.internet import defer, endpoints, protocol
from twisted.trial import unittest
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from cpppo.enip.codec import encap
from cpppo.enip.codec.connection import NEED_DATA, Connection, Role
from cpppo.enip.simulator import run as main
from cpppo.enip.simulator.controller import device
from cpppo.enip.web.app import negotiate, parse_api_path, start_web
from cpppo.tests.resources import data_file
from cpppo.tests.test_enip_server import read, write


class Client(protocol.Protocol):
    """An EtherNet/IP client on a real TCP connection: frames out, decoded frames queued in."""

    def __init__(self) -> None:
        self.parser = Connection(Role.CLIENT)
        self.frames: defer.DeferredQueue = defer.DeferredQueue()
        self.session = 0
        self.closed: defer.Deferred = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.parser.receive_data(data)
        while (event := self.parser.next_event()) is not NEED_DATA:
            self.frames.put(event)

    def connectionLost(self, reason: Any = None) -> None:
        self.closed.callback(None)

    @defer.inlineCallbacks
    def register(self) -> Any:
        self.transport.write(encap.encode_frame(encap.Frame(encap.REGISTER_SESSION, encap.RegisterSession())))
        reply = yield self.frames.get()
        self.session = reply.session

    @defer.inlineCallbacks
    def ask(self, request: Any) -> Any:
        items = (encap.NullAddress(), encap.UnconnectedData(request))
        self.transport.write(encap.encode_frame(encap.Frame(encap.SEND_RR_DATA, encap.SendData(items),
                                                            self.session)))
        reply = yield self.frames.get()
        return reply.body.items[1].message


class WebTestCase(unittest.TestCase):
    def setUp(self) -> None:
        from twisted.internet import reactor

        self.reactor = reactor
        self.server = main.start(["--no-config", "-a", "127.0.0.1:0", "-U", "SCADA=INT[10]", "FLOAT=REAL[3]"],
                                 reactor)
        self.addCleanup(self.server.stop)
        self.done: list[bool] = []
        self.web = start_web(self.server, ("127.0.0.1", 0), reactor, on_done=lambda: self.done.append(True))
        self.addCleanup(self.web.stopListening)
        self.agent = Agent(reactor)
        self.base = f"http://127.0.0.1:{self.web.getHost().port}"

    @defer.inlineCallbacks
    def http(self, path: str, method: bytes = b"GET", accept: str | None = None, body: bytes | None = None,
             content_type: str = "application/x-www-form-urlencoded", headers: dict[str, str] | None = None) -> Any:
        """(status, decoded JSON or text, headers) of one request (*headers* added to it)."""
        from io import BytesIO

        from twisted.web.client import FileBodyProducer

        extra = headers or {}
        headers = Headers({b"Accept": [accept.encode()]} if accept else {})
        for name, text in extra.items():
            headers.setRawHeaders(name.encode(), [text.encode()])
        if body is not None:
            headers.addRawHeader(b"Content-Type", content_type.encode())
        response = yield self.agent.request(method, (self.base + path).encode(), headers,
                                            FileBodyProducer(BytesIO(body)) if body is not None else None)
        text = (yield readBody(response)).decode()
        kind = response.headers.getRawHeaders(b"content-type", [b""])[0].decode()
        return response.code, (json.loads(text) if kind.startswith("application/json") else text), kind

    @defer.inlineCallbacks
    def client(self) -> Any:
        client = yield endpoints.connectProtocol(
            endpoints.TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.server.address[1]), Client())
        yield client.register()
        self.addCleanup(lambda: client.transport.loseConnection() or client.closed)
        return client


class TestShapes(WebTestCase):
    @defer.inlineCallbacks
    def test_everything(self) -> Any:
        status, content, kind = yield self.http("/api")
        self.assertEqual((status, kind), (200, "application/json; charset=utf-8"))
        self.assertEqual(sorted(content), ["alarm", "command", "data", "since", "until"])
        self.assertEqual(content["alarm"], [])
        self.assertIsNone(content["since"])
        self.assertLess(abs(content["until"] - time.time()), 5)
        self.assertEqual(content["data"]["options"], {"delay": {"value": 0.0}})
        self.assertEqual(content["data"]["server"]["control"],
                         {"disable": False, "done": False, "latency": 0.1, "timeout": 5.0})
        self.assertEqual(content["data"]["tags"]["SCADA"],
                         {"attribute": "SCADA INT[10] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "error": 0,
                          "type": "INT", "length": 10})
        self.assertNotIn("connections", content["data"])  # no clients yet

    @defer.inlineCallbacks
    def test_glob_and_since(self) -> Any:
        _, content, _ = yield self.http("/api/*/%5BsS%5D*?since=12.5")
        self.assertEqual(content["since"], 12.5)
        self.assertEqual(set(content["data"]), {"tags", "server"})
        self.assertEqual(set(content["data"]["tags"]), {"SCADA"})
        self.assertEqual(set(content["data"]["server"]), {"statistics"})

    @defer.inlineCallbacks
    def test_html_for_browsers_and_json_suffix(self) -> Any:
        status, text, kind = yield self.http("/api/options", accept="text/html,application/xml;q=0.9,*/*;q=0.8")
        self.assertEqual((status, kind), (200, "text/html; charset=utf-8"))
        self.assertIn("&quot;delay&quot;", text)
        status, content, kind = yield self.http("/api/options.json", accept="text/html")
        self.assertEqual(content["data"]["options"]["delay"]["value"], 0.0)
        status, content, _ = yield self.http("/api", accept="image/png")
        self.assertEqual(status, 406)
        self.assertFalse(content["command"]["success"])

    @defer.inlineCallbacks
    def test_refusals_are_json(self) -> Any:
        for path, method, code in (("/api/nope", b"GET", 404), ("/api/tags/NOPE/error=8", b"GET", 404),
                                   ("/api/tags/SCADA/bogus=1", b"GET", 400),
                                   ("/api/tags/SCADA/error=300", b"GET", 400),
                                   ("/api/tags/SCADA/attribute%5B10%5D=1", b"GET", 400),
                                   ("/api/tags/SCADA/attribute%5B1%5D=70000", b"GET", 400),
                                   ("/api/tags/SCADA/attribute%5B1%5D=x", b"GET", 400),
                                   ("/api/options/delay/value=-1", b"GET", 400),
                                   ("/api/options/delay/range=9-1", b"GET", 400),
                                   ("/api/server/control/disable=maybe", b"GET", 400),
                                   ("/api?since=yesterday", b"GET", 400),
                                   ("/nowhere", b"GET", 404), ("/api", b"DELETE", 405)):
            status, content, kind = yield self.http(path, method)
            self.assertEqual((path, status, kind), (path, code, "application/json; charset=utf-8"))
            self.assertIs(content["command"]["success"], False, path)
            self.assertTrue(content["command"]["message"], path)
        self.assertEqual(self.server.service.tags["SCADA"].value, [0] * 10)
        self.assertEqual(self.server.service.tags["SCADA"].error, 0)

    @defer.inlineCallbacks
    def test_live_page(self) -> Any:
        status, text, kind = yield self.http("/")
        self.assertEqual((status, kind), (200, "text/html; charset=utf-8"))
        self.assertIn("<script>", text)
        self.assertIn('fetch(url', text)
        self.assertNotIn("http://", text.replace("http://www.w3.org/2000/svg", ""))  # nothing from elsewhere


class TestCommands(WebTestCase):
    @defer.inlineCallbacks
    def test_web_write_read_by_client(self) -> Any:
        client = yield self.client()
        status, content, _ = yield self.http("/api/tags/SCADA/attribute%5B3%5D=4")
        self.assertEqual(status, 200)
        self.assertEqual(content["command"], {"message": "tags.SCADA.attribute[3]='4' (4)", "success": True})
        self.assertIn("[0, 0, 0, 4, 0", content["data"]["tags"]["SCADA"]["attribute"])
        reply = yield client.ask(read("SCADA", 0, 5))
        self.assertEqual(reply.body.values(), [0, 0, 0, 4, 0])
        yield self.http("/api/tags/SCADA/attribute%5B0:3%5D/%5B7,8,9%5D")  # a span, from a JSON list
        yield self.http("/api/tags/FLOAT/attribute%5B1%5D", b"PUT", body=b'{"value": 2.5}',
                        content_type="application/json")
        self.assertEqual(self.server.service.tags["SCADA"][0:5], [7, 8, 9, 4, 0])
        self.assertEqual(self.server.service.tags["FLOAT"][1], 2.5)

    @defer.inlineCallbacks
    def test_client_write_seen_in_json(self) -> Any:
        client = yield self.client()
        reply = yield client.ask(write("SCADA", 2, 0xC3, b"\x2a\x00\x2b\x00", 2))
        self.assertEqual(reply.status, 0)
        _, content, _ = yield self.http("/api/tags/SCADA/attribute%5B1:4%5D")
        self.assertEqual(content["command"]["value"], [0, 42, 43])
        self.assertEqual(content["command"]["message"], "tags.SCADA.attribute[1:4]: [0, 42, 43]")
        _, content, _ = yield self.http("/api/tags/SCADA/attribute%5B2%5D")
        self.assertEqual(content["command"]["value"], 42)

    @defer.inlineCallbacks
    def test_error_forced_and_cleared(self) -> Any:
        client = yield self.client()
        _, content, _ = yield self.http("/api/tags/SCADA/error=8")
        self.assertEqual(content["data"]["tags"]["SCADA"]["error"], 8)
        reply = yield client.ask(read("SCADA", 0, 1))
        self.assertEqual(reply.status, 0x08)
        yield self.http("/api/tags/SCADA/error/0")
        reply = yield client.ask(read("SCADA", 0, 1))
        self.assertEqual(reply.status, 0)

    @defer.inlineCallbacks
    def test_delay_holds_replies(self) -> Any:
        client = yield self.client()
        _, content, _ = yield self.http("/api/options/delay/value/0.3")
        self.assertEqual(content["data"]["options"]["delay"], {"value": 0.3})
        began = time.monotonic()
        yield client.ask(read("SCADA", 0, 1))
        self.assertGreaterEqual(time.monotonic() - began, 0.3)
        _, content, _ = yield self.http("/api/options/delay/range=0.01-0.02")
        self.assertEqual(content["data"]["options"]["delay"]["range"], "0.01-0.02")
        self.assertEqual(self.server.service.delay, (0.01, 0.02))
        yield self.http("/api/options/delay/value=0")
        self.assertEqual(self.server.service.delay, 0.0)

    @defer.inlineCallbacks
    def test_connections_listed_and_closed(self) -> Any:
        client = yield self.client()
        yield client.ask(read("SCADA", 0, 1))
        key = self.server.service.clients[0].key
        _, content, _ = yield self.http("/api/connections")
        entry = content["data"]["connections"][key]
        self.assertEqual((entry["interface"], entry["requests"], entry["eof"]), ("127.0.0.1", 2, False))
        self.assertEqual(entry["port"], client.transport.getHost().port)
        self.assertGreater(entry["received"], 0)
        status, content, _ = yield self.http("/api/connections/*/eof/true")
        self.assertEqual((status, content["command"]["success"]), (200, True))
        yield client.closed
        _, content, _ = yield self.http("/api/connections")
        self.assertEqual((content["data"], content["command"]), ({}, None))

    @defer.inlineCallbacks
    def test_disable_and_enable(self) -> Any:
        port = self.server.address[1]
        _, content, _ = yield self.http("/api/server/control/disable/true")
        self.assertIs(content["data"]["server"]["control"]["disable"], True)
        endpoint = endpoints.TCP4ClientEndpoint(self.reactor, "127.0.0.1", port)
        from twisted.internet.error import ConnectionRefusedError
        yield self.assertFailure(endpoints.connectProtocol(endpoint, Client()), ConnectionRefusedError)
        status, content, _ = yield self.http("/api/server/control/disable=false")
        self.assertEqual(status, 200, content)
        self.assertIs(content["data"]["server"]["control"]["disable"], False)
        client = yield self.client()
        reply = yield client.ask(read("SCADA", 0, 1))
        self.assertEqual(reply.status, 0)

    @defer.inlineCallbacks
    def test_done_after_reply_and_latency_timeout_kept(self) -> Any:
        _, content, _ = yield self.http("/api/server/control/latency=0.5")
        _, content, _ = yield self.http("/api/server/control/timeout=2")
        self.assertEqual(content["data"]["server"]["control"]["latency"], 0.5)
        self.assertEqual(content["data"]["server"]["control"]["timeout"], 2.0)
        status, content, _ = yield self.http("/api/server/control/done/true", b"POST")
        self.assertEqual((status, content["data"]["server"]["control"]["done"]), (200, True))
        for _ in range(100):
            if self.done:
                break
            yield self.sleep(0.01)
        self.assertEqual(self.done, [True])

    def sleep(self, seconds: float) -> defer.Deferred:
        from twisted.internet import task
        return task.deferLater(self.reactor, seconds, lambda: None)


class TestStructures(WebTestCase):
    """Structure tags (STRING, TIMER, user-defined types from a --tags file) show and take JSON."""

    def setUp(self) -> None:
        from twisted.internet import reactor

        plant = data_file("tagfile.toml")
        self.reactor = reactor
        self.server = main.start(["--no-config", "-a", "127.0.0.1:0", "-U", "--tags", plant, "S=STRING", "T=TIMER"],
                                 reactor)
        self.addCleanup(self.server.stop)
        self.web = start_web(self.server, ("127.0.0.1", 0), reactor, on_done=lambda: None)
        self.addCleanup(self.web.stopListening)
        self.agent = Agent(reactor)
        self.base = f"http://127.0.0.1:{self.web.getHost().port}"

    @defer.inlineCallbacks
    def test_structures_as_json(self) -> Any:
        _, content, _ = yield self.http("/api/tags/Motor1")
        self.assertEqual(content["data"]["tags"]["Motor1"]["attribute"],
                         'Motor1 Motor == {"Speed": 1.5, "Running": true, "Faulted": false, "Faults": [1, 2, 0, 0], '
                         '"Label": "conveyor"}')
        _, content, _ = yield self.http('/api/tags/Motor1/attribute%5B0%5D={"Speed":2.5,"Faulted":true}')
        self.assertTrue(content["command"]["success"])
        _, content, _ = yield self.http("/api/tags/Motor1/attribute%5B0%5D")
        self.assertEqual(content["command"]["value"], {"Speed": 2.5, "Running": True, "Faulted": True,
                                                       "Faults": [1, 2, 0, 0], "Label": "conveyor"})
        _, content, _ = yield self.http('/api/tags/Lines/attribute%5B1:3%5D/[{"Count":7},{"Motor":{"Label":"x"}}]')
        self.assertTrue(content["command"]["success"], content)
        _, content, _ = yield self.http("/api/tags/Lines/attribute%5B1:3%5D")
        self.assertEqual([content["command"]["value"][0]["Count"], content["command"]["value"][1]["Motor"]["Label"]],
                         [7, "x"])
        status, content, _ = yield self.http('/api/tags/Motor1/attribute%5B0%5D={"Nope":1}')
        self.assertEqual(status, 400)
        self.assertIn("no member 'Nope'", content["command"]["message"])

    @defer.inlineCallbacks
    def test_strings_and_timers(self) -> Any:
        yield self.http("/api/tags/S/attribute%5B0%5D=hello%20world")
        yield self.http("/api/tags/T/attribute%5B0%5D={\"PRE\":500,\"EN\":true}")
        _, content, _ = yield self.http("/api/tags/%5BST%5D")
        self.assertEqual(content["data"]["tags"]["S"]["attribute"], 'S STRING == "hello world"')
        self.assertIn('"PRE": 500, "ACC": 0, "EN": true', content["data"]["tags"]["T"]["attribute"])
        self.assertEqual(self.server.service.tags["S"].get_string(0), "hello world")
        yield self.http("/api/tags/S/attribute%5B0%5D=12")  # digits are a STRING's text too
        self.assertEqual(self.server.service.tags["S"].get_string(0), "12")


class Refusing(device.Attribute):
    """An Attribute that refuses every element read, as a customised one may (eg. no data yet)."""

    def __getitem__(self, key: Any) -> Any:
        raise device.CIPError(0x0C, message="not ready")


class TestCustomAttributes(WebTestCase):
    @defer.inlineCallbacks
    def test_refusal_is_a_json_400(self) -> Any:
        self.server.service.add_tag("LATER", "INT", 4, attribute_class=Refusing)
        status, content, _ = yield self.http("/api/tags/LATER/attribute%5B1%5D")
        self.assertEqual(status, 400)
        self.assertIn("refused: 0x0C object state conflict", content["command"]["message"])
        status, content, _ = yield self.http("/api/tags/LATER")  # its summary needs no read
        self.assertEqual(content["data"]["tags"]["LATER"]["attribute"], "LATER INT[4] == [0, 0, 0, 0]")


class TestStartWithWeb(unittest.TestCase):
    @defer.inlineCallbacks
    def test_address_printed_and_stopped_with_the_server(self) -> Any:
        from twisted.internet import reactor

        lines: list[str] = []
        out = type("Out", (), {"write": lambda self, s: lines.append(s), "flush": lambda self: None})()
        server = main.start(["--no-config", "-a", "127.0.0.1:0", "-A", "-U", "--web", "127.0.0.1:0", "X=DINT"],
                            reactor, out=out)
        web = server.web
        self.assertIn(f"Web API address = ('127.0.0.1', {web.getHost().port})", "".join(lines))
        yield server.stop()
        self.assertIsNone(server.web)
        self.assertFalse(web.connected)


    @defer.inlineCallbacks
    def test_only_a_port_binds_the_interface_of_address(self) -> Any:
        from twisted.internet import reactor

        server = main.start(["--no-config", "-a", "127.0.0.1:0", "-U", "--web", ":0", "X=DINT"], reactor)
        self.assertEqual(server.web.getHost().host, "127.0.0.1")
        yield server.stop()


class TestParsing(unittest.TestCase):
    def test_paths(self) -> None:
        self.assertEqual(parse_api_path("/api"), ([None] * 4, False))
        self.assertEqual(parse_api_path("/api/"), ([None] * 4, False))
        self.assertEqual(parse_api_path("/api/tags/SCADA/attribute%5B3%5D=4"), (["tags", "SCADA", "attribute[3]",
                                                                                "4"], False))
        self.assertEqual(parse_api_path("/api/options/delay/value/0.5"), (["options", "delay", "value", "0.5"],
                                                                          False))
        self.assertEqual(parse_api_path("/api/tags.json"), (["tags", None, None, None], True))
        self.assertEqual(parse_api_path("/api//SCADA"), ([None, "SCADA", None, None], False))

    def test_negotiate(self) -> None:
        self.assertEqual(negotiate(None), "application/json")
        self.assertEqual(negotiate("*/*"), "application/json")
        self.assertEqual(negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), "text/html")
        self.assertEqual(negotiate("text/plain"), "text/plain")
        self.assertIsNone(negotiate("image/png"))


class TestBounds(WebTestCase):
    """Issue 21: a browser on another site (or a rebound DNS name) may not change anything; every value is bounded."""

    @defer.inlineCallbacks
    def test_cross_site_state_changes_are_403(self) -> Any:
        port = self.web.getHost().port
        for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                        {"Origin": f"http://localhost:{port}"},  # another origin than the Host asked
                        {"Referer": "http://evil.example/page.html"},
                        {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                        {"Host": f"evil.example:{port}"}, {"Host": "127.0.0.1:1"}, {"Host": f"10.9.8.7:{port}"}):
            for method, path, body in ((b"GET", "/api/tags/SCADA/attribute%5B1%5D=7", None),
                                       (b"POST", "/api/tags/SCADA/attribute%5B1%5D", b"value=7"),
                                       (b"GET", "/api/server/control/disable/true", None)):
                status, content, _ = yield self.http(path, method, body=body, headers=headers)
                self.assertEqual((status, content["command"]["success"]), (403, False), (headers, path))
        self.assertEqual(self.server.service.tags["SCADA"].value, [0] * 10)
        self.assertFalse(self.server.service.transport.disabled)
        # reads are not state-changing: a cross-site read is answered (the browser keeps it from the page)
        status, _, _ = yield self.http("/api/tags/SCADA", headers={"Origin": "http://evil.example"})
        self.assertEqual(status, 200)

    @defer.inlineCallbacks
    def test_curl_and_same_origin_still_change_state(self) -> Any:
        port = self.web.getHost().port
        for i, headers in enumerate(({}, {"Host": f"127.0.0.1:{port}"}, {"Host": f"localhost:{port}"},
                                     {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"},
                                     {"Referer": f"http://127.0.0.1:{port}/", "Sec-Fetch-Site": "none"}), start=1):
            status, content, _ = yield self.http(f"/api/tags/SCADA/attribute%5B{i}%5D={i}", headers=headers)
            self.assertEqual(status, 200, (headers, content))
        self.assertEqual(self.server.service.tags["SCADA"].value, [0, 1, 2, 3, 4, 5, 0, 0, 0, 0])

    @defer.inlineCallbacks
    def test_values_bounded(self) -> Any:
        for path in ("/api/options/delay/value/1e308", "/api/options/delay/value/61", "/api/options/delay/value/inf",
                     "/api/options/delay/value/nan", "/api/options/delay/range/0-1e308",
                     "/api/options/delay/range/1-inf", "/api/server/control/timeout/1e9",
                     "/api/server/control/latency/nan", "/api/tags/FLOAT/attribute%5B0%5D=nan",
                     "/api/tags/FLOAT/attribute%5B0%5D=Infinity", "/api/tags/FLOAT/attribute%5B0%5D=1e39",
                     "/api/tags/SCADA/attribute%5B0%5D=32768", "/api/tags/SCADA/attribute%5B0%5D=-32769",
                     "/api/server/fault/major/65536", "/api?since=nan"):
            status, content, _ = yield self.http(path)
            self.assertEqual((path, status), (path, 400), content)
        self.assertEqual(self.server.service.controller.delay, 0)
        status, _, _ = yield self.http("/api/options/delay/value/60")
        self.assertEqual(status, 200)
        yield self.http("/api/options/delay/value/0")

    @defer.inlineCallbacks
    def test_long_url_is_414(self) -> Any:
        for size in (9000, 20000, 70000):
            status, _, _ = yield self.http("/api/tags/" + "x" * size)
            self.assertEqual(status, 414, size)
        status, _, _ = yield self.http("/api/tags/" + "x" * 7000)  # under the bound: answered (nothing matched)
        self.assertEqual(status, 200)
