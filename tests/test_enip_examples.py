"""The simulator's two Attribute examples, run as users run them and driven by pylogix.

* ``python -m cpppo.server.enip.historize FILE ... SCADA=INT[1000]``: pylogix writes and reads,
  then the history file, read back with :func:`cpppo.history.records`, holds those events (and
  the comment the recording starts with); an error inside the Attribute is a ``#`` line.
* ``python -m cpppo.server.enip.weather --weather-url URL ... London=REAL``: the temperatures
  come from a local Twisted web server (a subprocess on 127.0.0.1, port chosen by the OS); a
  city it does not know, and a write, give the client a CIP error status and the server keeps
  serving; a slow answer for one client does not hold up another.

Every process is started on 127.0.0.1 with port 0, its address read from its output, and is
stopped and reaped in a fixture or ``finally``; nothing reaches beyond the loopback interface.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pylogix
import pytest

from cpppo import history
from cpppo.enip.tools.historize import attribute_historize
from cpppo.enip.tools.weather import weather_url

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = re.compile(r"Network TCP Server address = \('127\.0\.0\.1', (\d+)\)")
START_TIMEOUT = 30.0
PLC_TIMEOUT = 5.0

# A weather service: /weather?q=CITY&appid=test-key answers {"main": {"temp": ...}} for the cities in argv[1]
# (JSON: city -> [temperature, seconds to wait before answering]); others get a 404, as
# OpenWeatherMap answers an unknown city.
WEATHER_SERVER = r"""
import json, sys
from twisted.internet import reactor
from twisted.web import resource, server

CITIES = json.loads(sys.argv[1])

class Weather(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        city = request.args.get(b"q", [b""])[0].decode()
        request.setHeader(b"content-type", b"application/json")
        if request.args.get(b"appid") != [b"test-key"]:  # as OpenWeatherMap refuses a missing key
            request.setResponseCode(401)
            return json.dumps({"cod": 401, "message": "Invalid API key"}).encode()
        if city not in CITIES:
            request.setResponseCode(404)
            return json.dumps({"cod": "404", "message": "city not found"}).encode()
        temp, wait = CITIES[city]
        answer = json.dumps({"cod": 200, "name": city, "main": {"temp": temp}}).encode()
        if not wait:
            return answer
        def later():
            request.write(answer)
            request.finish()
        reactor.callLater(wait, later)
        return server.NOT_DONE_YET

port = reactor.listenTCP(0, server.Site(Weather()), interface="127.0.0.1")
print("Network TCP Server address = ('127.0.0.1', %d)" % port.getHost().port, flush=True)
reactor.run()
"""


class Process:
    """A server subprocess that prints its address; stop() terminates it (SIGTERM, then kills) and reaps it."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        found: queue.Queue[int] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(found,), daemon=True)
        self._reader.start()
        try:
            self.port = found.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.stop()
            raise AssertionError(f"{argv} did not print its address:\n{self.output()}") from None

    def _read(self, found: queue.Queue[int]) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)
            match = ADDRESS.search(line)
            if match and found.empty():
                found.put(int(match.group(1)))

    def output(self) -> str:
        return "".join(self.lines)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        self._reader.join(5)
        return code


def plc(port: int) -> pylogix.PLC:
    return pylogix.PLC("127.0.0.1", port=port, timeout=PLC_TIMEOUT)


# --- historize --------------------------------------------------------------------------------

def test_historize_records_writes_and_reads(tmp_path: Path) -> None:
    path = tmp_path / "io.hst"
    sim = Process([sys.executable, "-m", "cpppo.server.enip.historize", str(path),
                   "--address", "127.0.0.1:0", "-A", "--no-config", "SCADA=INT[1000]", "FLOAT=REAL[10]"])
    try:
        with plc(sim.port) as comm:
            assert comm.Write("SCADA[0]", [0, 1, 2, 3]).Status == "Success"
            assert comm.Write("FLOAT[5]", 1.5).Status == "Success"
            got = comm.Read("SCADA[0]", 4)
            assert (got.Status, got.Value) == ("Success", [0, 1, 2, 3])
            got = comm.Read("SCADA[2]")
            assert (got.Status, got.Value) == ("Success", 2)
            assert comm.Read("NOPE").Status != "Success"  # refused by the server: not recorded
    finally:
        assert sim.stop() == 0, sim.output()
    events = [(r.serial, r.data) for r in history.records(path)]
    assert [["SCADA", [0, 3]], {"write": [0, 1, 2, 3]}] in [list(e) for e in events], events
    assert (["FLOAT", [5, 5]], {"write": [1.5]}) in events
    assert (["SCADA", [0, 3]], {"read": [0, 1, 2, 3]}) in events
    assert (["SCADA", [2, 2]], {"read": [2]}) in events
    write_at = next(i for i, e in enumerate(events) if e == (["SCADA", [0, 3]], {"write": [0, 1, 2, 3]}))
    read_at = next(i for i, e in enumerate(events) if e == (["SCADA", [0, 3]], {"read": [0, 1, 2, 3]}))
    assert write_at < read_at
    assert all(name in ("SCADA", "FLOAT") for (name, _), _ in events)
    text = path.read_text()
    assert re.search(r"^# .*Started recording Tag: SCADA$", text, re.M), text
    line = next(row for row in text.splitlines() if '{"write": [0, 1, 2, 3]}' in row)
    assert re.fullmatch(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\t\["SCADA", \[0, 3\]\]\t\{"write": \[0, 1, 2, 3\]\}',
                        line), line


def test_historize_records_attribute_errors(tmp_path: Path) -> None:
    path = tmp_path / "errors.hst"
    Historized = attribute_historize(path)
    try:
        tag = Historized("T", "DINT", [0] * 4)
        tag[1:3] = [7, 8]
        assert tag[0:4] == [0, 7, 8, 0]
        with pytest.raises(KeyError):
            tag[9]
        with pytest.raises(KeyError):
            tag[2:9] = [1] * 7
    finally:
        Historized.history_logger.close()
    assert [(r.serial, r.data) for r in history.records(path)] == [
        (["T", [1, 2]], {"write": [7, 8]}), (["T", [0, 3]], {"read": [0, 7, 8, 0]})]
    comments = [c for c in path.read_text().splitlines() if c.startswith("#")]
    assert any("Read  Tag" in c and "[    9-9    ]" in c and "Exception" in c for c in comments), comments
    assert any("Write Tag" in c and "Exception" in c for c in comments), comments


def test_historize_needs_a_file() -> None:
    done = subprocess.run([sys.executable, "-m", "cpppo.server.enip.historize"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr


# --- weather ----------------------------------------------------------------------------------

CITIES = {"London": [15.25, 0], "Paris": [21.6, 0], "Slowtown": [-3.5, 2.0]}


@pytest.fixture(scope="module")
def weather_service():
    web = Process([sys.executable, "-c", WEATHER_SERVER, json.dumps(CITIES)])
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture(scope="module")
def weather_sim(weather_service):
    url = f"http://127.0.0.1:{weather_service.port}/weather?units=metric"
    sim = Process([sys.executable, "-m", "cpppo.server.enip.weather", "--weather-url", url, "--weather-key", "test-key",
                   "--address", "127.0.0.1:0", "-A", "--no-config",
                   "London=REAL[3]", "Paris=INT", "Slowtown=REAL", "Atlantis=REAL"])
    try:
        yield sim
        assert sim.alive(), sim.output()
    finally:
        sim.stop()


def test_weather_reads_the_temperature(weather_sim) -> None:
    with plc(weather_sim.port) as comm:
        got = comm.Read("London")
        assert got.Status == "Success", weather_sim.output()
        assert got.Value == pytest.approx(15.25)
        got = comm.Read("Paris")
        assert (got.Status, got.Value) == ("Success", 22)  # an INT tag: rounded
        got = comm.Read("London[0]", 3)  # every element of a multi-element tag: the same temperature
        assert (got.Status, got.Value) == ("Success", [15.25] * 3)


def test_weather_unknown_city_is_a_cip_error_not_a_dead_server(weather_sim) -> None:
    with plc(weather_sim.port) as comm:
        assert comm.Read("Atlantis").Status == "Resource unavailable"
        got = comm.Read("London")  # the same connection carries on
        assert (got.Status, got.Value) == ("Success", pytest.approx(15.25))
    assert weather_sim.alive()
    assert "No temperature for Atlantis" in weather_sim.output()


def test_weather_without_a_key_is_a_usage_error() -> None:
    """OpenWeatherMap (the default URL) answers 401 without a key: say so at once, not on every read."""
    env = {k: v for k, v in os.environ.items() if k != "OPENWEATHERMAP_API_KEY"}
    done = subprocess.run([sys.executable, "-m", "cpppo.server.enip.weather", "--no-config", "-a", "127.0.0.1:0",
                           "London=REAL"], capture_output=True, text=True, timeout=60, env=env,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "python -m cpppo.server.enip.weather: error: OpenWeatherMap needs an API key: --weather-key KEY "
        "(or $OPENWEATHERMAP_API_KEY); --weather-url URL for another service")


def test_weather_key_is_sent_as_appid() -> None:
    assert weather_url("http://h/w?units=metric", "New York", "a&b") == "http://h/w?units=metric&q=New%20York&appid=a%26b"
    assert weather_url("http://h/{city}", "Paris") == "http://h/Paris"


def test_weather_refuses_writes(weather_sim) -> None:
    with plc(weather_sim.port) as comm:
        assert comm.Write("London", 30.0).Status == "Attribute not settable"
        assert comm.Read("London").Value == pytest.approx(15.25)


def test_weather_slow_answer_does_not_block_other_clients(weather_sim) -> None:
    slow: queue.Queue = queue.Queue()

    def read_slow() -> None:
        with plc(weather_sim.port) as comm:
            slow.put(comm.Read("Slowtown"))
    reader = threading.Thread(target=read_slow, daemon=True)
    began = time.monotonic()
    reader.start()
    time.sleep(0.5)  # the slow read is waiting on the weather service
    with plc(weather_sim.port) as comm:
        got = comm.Read("London")
    fast = time.monotonic() - began
    assert (got.Status, got.Value) == ("Success", pytest.approx(15.25))
    reader.join(PLC_TIMEOUT + 5)
    got = slow.get(timeout=1)
    assert (got.Status, got.Value) == ("Success", -3.5)
    assert fast < CITIES["Slowtown"][1], f"London waited for Slowtown: {fast:.2f} s"
    assert time.monotonic() - began >= CITIES["Slowtown"][1]


def test_weather_url_template() -> None:
    assert weather_url("http://h/w?units=metric&q={city}", "New York") == "http://h/w?units=metric&q=New%20York"
    assert weather_url("http://h/w?units=metric", "Paris") == "http://h/w?units=metric&q=Paris"
    assert weather_url("http://h/w", "Paris") == "http://h/w?q=Paris"
