"""The web API end to end: ``twistd -n cpppo-enip --web 127.0.0.1:0`` driven with ``requests``, seen by pylogix.

Each test starts its own server as a user would (``twistd -n --pidfile= cpppo-enip --address
127.0.0.1:0 -A --web 127.0.0.1:0 ...``; the web port is read from its ``Web API address = ...``
line), changes it over HTTP, and checks the effect with a real EtherNet/IP client (pylogix):
a web write read by pylogix, a pylogix write seen in the JSON, a forced error failing pylogix's
reads, a delay holding pylogix's replies (a lower bound only), eof dropping pylogix's connection,
disable refusing connections until re-enabled, and done ending the process.  ``python -m
cpppo.server.enip --web`` is checked the same way.  Every process is stopped and reaped.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pylogix
import pytest
import requests

from tests import enip_server_fixture as fx

TAGS = ("SCADA=INT[10]", "TEMP=REAL")
HTTP_TIMEOUT = 10.0
_WEB_RE = re.compile(r"Web API address = \('127\.0\.0\.1', (\d+)\)")


def web_port(output, timeout: float = 10.0) -> int:
    """The web API's port, from the server's ``-A`` output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _WEB_RE.search(output())
        if found:
            return int(found.group(1))
        time.sleep(0.05)
    raise AssertionError(f"no 'Web API address' line in:\n{output()[-3000:]}")


@pytest.fixture
def server():
    with fx.TwistdEnipServer.start(TAGS, extra_args=["--web", "127.0.0.1:0"]) as srv:
        srv.web = f"http://127.0.0.1:{web_port(srv.output)}"
        yield srv


def api(server, path: str, method: str = "GET", **kwds) -> dict:
    response = requests.request(method, server.web + "/api" + path, timeout=HTTP_TIMEOUT, **kwds)
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    content = response.json()
    content["status"] = response.status_code
    return content


@contextmanager
def plc(port: int):
    comm = pylogix.PLC("127.0.0.1", port=port, timeout=5.0)
    try:
        yield comm
    finally:
        comm.Close()


def test_web_write_read_by_pylogix_and_pylogix_write_in_json(server):
    content = api(server, "/tags/SCADA/attribute[3]=4")
    assert content["status"] == 200 and content["command"]["success"] is True
    with plc(server.port) as comm:
        assert comm.Read("SCADA[3]").Value == 4
        assert comm.Write("SCADA[5]", 55).Status == "Success"
        assert comm.Write("TEMP", 21.5).Status == "Success"
    content = api(server, "/tags/SCADA/attribute[5]")
    assert content["command"]["value"] == 55
    assert api(server, "/tags/TEMP/attribute[0]")["command"]["value"] == 21.5
    assert "[0, 0, 0, 4, 0, 55," in api(server, "/tags/SCADA")["data"]["tags"]["SCADA"]["attribute"]
    # POST and PUT do the same as GET
    assert api(server, "/tags/SCADA/attribute[6]", "POST", data={"value": "66"})["status"] == 200
    assert api(server, "/tags/SCADA/attribute[7]", "PUT", json={"value": 77})["status"] == 200
    with plc(server.port) as comm:
        assert comm.Read("SCADA[6]", 2).Value == [66, 77]


def test_forced_error_fails_pylogix_reads(server):
    with plc(server.port) as comm:
        assert comm.Read("SCADA[0]").Status == "Success"
        assert api(server, "/tags/SCADA/error=8")["data"]["tags"]["SCADA"]["error"] == 8
        failed = comm.Read("SCADA[0]")
        assert failed.Status != "Success" and failed.Value is None, failed
        assert comm.Read("TEMP").Status == "Success"  # only that tag
        api(server, "/tags/SCADA/error/0")
        assert comm.Read("SCADA[0]").Status == "Success"


def test_delay_holds_pylogix_replies(server):
    with plc(server.port) as comm:
        assert comm.Read("SCADA[0]").Status == "Success"  # connected, so only the read is timed
        assert api(server, "/options/delay/value=0.3")["data"]["options"]["delay"] == {"value": 0.3}
        began = time.monotonic()
        assert comm.Read("SCADA[0]").Status == "Success"
        assert time.monotonic() - began >= 0.3
        api(server, "/options/delay/value/0")
        began = time.monotonic()
        assert comm.Read("SCADA[0]").Status == "Success"
    # a range: every reply draws its own delay from it
    assert api(server, "/options/delay/range=0.2-0.25")["data"]["options"]["delay"]["range"] == "0.2-0.25"
    with plc(server.port) as comm:
        assert comm.Read("SCADA[0]").Status == "Success"
        began = time.monotonic()
        assert comm.Read("SCADA[0]").Status == "Success"
        assert time.monotonic() - began >= 0.2


def test_eof_drops_pylogix_connection(server):
    with plc(server.port) as comm:
        assert comm.Read("SCADA[0]").Status == "Success"
        connections = api(server, "/connections")["data"]["connections"]
        (key,) = connections
        assert connections[key]["interface"] == "127.0.0.1" and connections[key]["requests"] >= 2
        assert connections[key]["eof"] is False and connections[key]["received"] > 0
        content = api(server, "/connections/*/eof/true")
        assert content["status"] == 200 and content["command"]["success"] is True
        assert api(server, "/connections")["data"] == {}
        first = comm.Read("SCADA[0]")  # pylogix finds its connection gone ...
        if first.Status == "Success":
            pytest.fail("pylogix read over a connection the server closed")
        assert comm.Read("SCADA[0]").Status == "Success"  # ... and connects again
        assert key not in api(server, "/connections")["data"]["connections"]


def test_disable_refuses_connections_until_enabled(server):
    content = api(server, "/server/control/disable/true")
    assert content["status"] == 200 and content["data"]["server"]["control"]["disable"] is True
    with socket.socket() as s:
        s.settimeout(2)
        assert s.connect_ex(("127.0.0.1", server.port)) != 0
    with plc(server.port) as comm:
        assert comm.Read("SCADA[0]").Status != "Success"
    assert api(server, "/server/control/disable/false")["data"]["server"]["control"]["disable"] is False
    with plc(server.port) as comm:
        assert comm.Read("SCADA[0]").Status == "Success"


def test_refusals_and_html(server):
    assert api(server, "/nope")["status"] == 404
    assert api(server, "/tags/SCADA/nope=1")["status"] == 400
    assert api(server, "/tags/SCADA/attribute[99]=1")["status"] == 400
    page = requests.get(server.web + "/api/tags", headers={"Accept": "text/html"}, timeout=HTTP_TIMEOUT)
    assert page.headers["Content-Type"].startswith("text/html") and "<pre>" in page.text
    live = requests.get(server.web + "/", timeout=HTTP_TIMEOUT)
    assert live.status_code == 200 and "fetch(" in live.text
    assert server.alive()


def test_cross_site_refused_curl_allowed_long_url_414(server):
    """Issue 21: a browser on another site, or a rebound DNS name, cannot change the simulator; curl still can."""
    port = server.web.rsplit(":", 1)[1]
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/x.html"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Host": f"rebound.example:{port}"}):
        for method in ("GET", "POST"):
            assert api(server, "/tags/SCADA/attribute[2]=9", method, headers=headers)["status"] == 403, headers
    assert api(server, "/options/delay/value/1e308")["status"] == 400
    assert api(server, "/tags/SCADA/attribute[2]")["command"]["value"] == 0
    assert api(server, "/tags/SCADA/attribute[2]=9")["status"] == 200  # curl-like: no Origin, our Host
    assert api(server, "/tags/SCADA/attribute[2]")["command"]["value"] == 9
    long = requests.get(server.web + "/api/tags/" + "x" * 10000, timeout=HTTP_TIMEOUT)
    assert long.status_code == 414
    assert server.alive()


def test_done_ends_twistd_cleanly(server):
    content = api(server, "/server/control/done/true")
    assert content["status"] == 200 and content["data"]["server"]["control"]["done"] is True
    assert server.proc.wait(10) == 0, server.output()[-3000:]
    assert "Server Shut Down." in server.output()


def test_python_m_web_and_done():
    """``python -m cpppo.server.enip --web`` serves the API too; done ends it with status 0."""
    with tempfile.TemporaryDirectory(prefix="cpppo-enip-web-") as tmp:
        out_path = Path(tmp) / "output"
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "cpppo.server.enip", "--no-config", "-a", "127.0.0.1:0",
                                     "-A", "--web", "127.0.0.1:0", "X=DINT"], cwd=tmp, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            port = web_port(lambda: out_path.read_text(errors="replace"))
            response = requests.get(f"http://127.0.0.1:{port}/api/tags/X/attribute[0]=-7", timeout=HTTP_TIMEOUT)
            assert response.json()["data"]["tags"]["X"]["attribute"] == "X DINT == -7"
            requests.get(f"http://127.0.0.1:{port}/api/server/control/done=true", timeout=HTTP_TIMEOUT)
            assert proc.wait(10) == 0, out_path.read_text(errors="replace")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
