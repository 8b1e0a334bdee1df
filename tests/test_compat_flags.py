"""The original cpppo 5.2.5's command-line flags, used as its users use them (issue 23).

Server (``python -m cpppo.server.enip``): ``-T/--no-tcp`` and ``-t/--tcp``, ``-u/--udp``,
``-s/--size``, ``-b/--config-basename``, ``-P/--profile``, ``-D/--defined-tags``, ``--no-print``.
Client (``python -m cpppo.server.enip.client``): ``--priority-time-tick`` and ``--timeout-ticks``
(seen on the wire, through a recording relay, and compared with the original client's),
``-L/--legacy``, ``-P/--profile``, ``--no-print``, the TPS line only at ``-v``; ``get_attribute -P``;
``modbus_sim -c/--config`` (its JSON serial settings, on a pseudo-terminal).

Every server runs on 127.0.0.1 with a port the OS picks, in a folder of its own, and is stopped
and reaped by its ``with``.
"""

from __future__ import annotations

import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cpppo.enip.codec import cip, encap
from tests.peers import original
from tests.peers.process import LOOPBACK, ServerProcess, wait_for_port
from tests.peers.proxy import RecordingProxy, enip_frames

_ADDRESS = re.compile(r"Network (TCP|UDP) Server address = \('127\.0\.0\.1', (\d+)\)")
TIMEOUT = 30.0


class Simulator(ServerProcess):
    """``python -m cpppo.server.enip -A -a 127.0.0.1:0 ARGS...`` (or a script), in *cwd*."""

    outputs = ("stdout", "stderr")

    def __init__(self, args: list[str], cwd: Path | None = None, script: list[str] | None = None,
                 kind: str = "TCP") -> None:
        outdir = tempfile.TemporaryDirectory(prefix="cpppo-compat-")
        cmd = [*(script or [sys.executable, "-m", "cpppo.server.enip"]), "-A", "-a", f"{LOOPBACK}:0", *args]
        with open(Path(outdir.name) / "stdout", "wb") as out, open(Path(outdir.name) / "stderr", "wb") as err:
            proc = subprocess.Popen(cmd, cwd=cwd or outdir.name, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        super().__init__(proc, cmd, outdir)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and self.alive():
            found = dict(_ADDRESS.findall(self.output()))
            if kind in found:
                self.port = int(found[kind])
                break
            time.sleep(0.05)  # (waiting for another process to bind)
        if self.port is None or (kind == "TCP" and not wait_for_port(self.port, 10, proc)):
            self.stop()
            raise RuntimeError(f"{cmd} did not start:\n{self.output()}")


def client(*args: str, module: str = "cpppo.server.enip.client",
           cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, cwd=cwd)


# --- the server's flags ------------------------------------------------------------------------

def test_no_tcp_serves_only_udp_list_identity():
    with Simulator(["-T", "-u", "SCADA=INT[10]"], kind="UDP") as sim:
        assert "Network TCP Server address" not in sim.output()
        done = client("-a", f"{LOOPBACK}:{sim.port}", "-u", "-i")          # List Identity by UDP: answered
        assert done.returncode == 0 and "'item[0].identity_object.product_name': '1756-L61/B LOGIX5561'," \
            in done.stdout, done.stderr
        done = client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[1]")          # no TCP: refused
        assert done.returncode == 1 and "Connection refused" in done.stderr, done.stderr
    with Simulator(["-t", "SCADA=INT[10]"]) as sim:                          # -t: TCP, as without it
        assert client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[1]").returncode == 0


def test_size_refuses_a_longer_request_and_closes():
    with Simulator(["-s", "80", "SCADA=INT[100]"]) as sim:
        assert client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[1]").returncode == 0            # short: served
        done = client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[0-19]=" + ",".join(["7"] * 20))  # 100+ bytes
        assert done.returncode == 1 and "EtherNet/IP status 0x65" in done.stderr, done.stderr
        assert "exceeds specified size limit 80" in sim.output()
        assert client("-a", f"{LOOPBACK}:{sim.port}", "-p", "SCADA[0]").stdout.endswith("== [0]: 'OK'\n")
    done = subprocess.run([sys.executable, "-m", "cpppo.server.enip", "-s", "big", "SCADA"], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 2 and "--size 'big' is not a number of bytes" in done.stderr


def test_config_basename_reads_that_file(tmp_path):
    (tmp_path / "plant7.cfg").write_text("[Identity]\nProduct Name = Plant Seven PLC\n")
    (tmp_path / "cpppo.cfg").write_text("[Identity]\nProduct Name = not this one\n")
    with Simulator(["-b", "plant7", "SCADA=INT[10]"], cwd=tmp_path) as sim:
        done = client("-a", f"{LOOPBACK}:{sim.port}", "-i")
        assert "'item[0].identity_object.product_name': 'Plant Seven PLC'," in done.stdout, done.stdout
    with Simulator(["SCADA=INT[10]"], cwd=tmp_path) as sim:                  # without -b: cpppo.cfg
        done = client("-a", f"{LOOPBACK}:{sim.port}", "-i")
        assert "'item[0].identity_object.product_name': 'not this one'," in done.stdout, done.stdout


def test_profile_writes_the_statistics_when_stopped(tmp_path):
    stats = tmp_path / "server.prof"
    with Simulator(["--no-config", "-P", str(stats), "SCADA=INT[10]"]) as sim:
        assert client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[0-9]").returncode == 0
        assert not stats.exists()
        assert sim.stop() == 0
    functions = {name for _, _, name in pstats.Stats(str(stats)).stats}   # what ran: the reactor, our service
    assert "run" in functions and "handle" in functions


def test_defined_tags_is_accepted_and_not_read(tmp_path):
    with Simulator(["--no-config", "-D", str(tmp_path / "no-such-file.json"), "SCADA=INT[10]"]) as sim:
        assert client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[0]").returncode == 0
        assert "-D/--defined-tags" in sim.output() and "not read" in sim.output()


def test_no_print_undoes_print():
    """-p prints every write (with the original's trailing space) and, at -v, every read too."""
    with Simulator(["--no-config", "-p", "SCADA=INT[10]"]) as sim:
        client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[2]", "SCADA[3]=(INT)4")
        assert "              SCADA[    3-3    ] <= [4] \n" in sim.output(), sim.output()
        assert "==" not in sim.output()
    with Simulator(["--no-config", "-v", "-p", "SCADA=INT[10]"]) as sim:
        client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[2]")
        assert re.search(r"SCADA\[    2-2    \] == \[0\]", sim.output()), sim.output()
    with Simulator(["--no-config", "-p", "--no-print", "SCADA=INT[10]"]) as sim:
        client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[2]", "SCADA[3]=(INT)4")
        assert "==" not in sim.output() and "<=" not in sim.output()


def test_help_names_every_flag():
    done = subprocess.run([sys.executable, "-m", "cpppo.server.enip", "--help"], capture_output=True, text=True,
                          timeout=TIMEOUT)
    for flag in ("-T, --no-tcp", "-t, --tcp", "-u, --udp", "-s BYTES, --size BYTES", "-b NAME, --config-basename",
                 "-P FILE, --profile FILE", "-D FILE, --defined-tags FILE", "--no-print"):
        assert flag in done.stdout, flag


# --- the client's flags ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim():
    with Simulator(["--no-config", "SCADA=INT[10]"]) as server:
        yield server


def _unconnected_sends(proxy: RecordingProxy) -> list[cip.UnconnectedSend]:
    sends = []
    for frame in enip_frames(proxy.chunks):
        if frame.dir == "c2s" and frame.command == 0x6F:
            for item in encap.decode_frame(frame.data).body.items:
                message = getattr(item, "message", None)
                if isinstance(message, (bytes, bytearray)):
                    message = cip.decode_request(bytes(message))
                if isinstance(message, cip.Request) and isinstance(message.body, cip.UnconnectedSend):
                    sends.append(message.body)
    return sends


def test_priority_time_tick_and_timeout_ticks_on_the_wire(sim, original_venv):
    flags = ["--priority-time-tick", "7", "--timeout-ticks", "100", "SCADA[1]"]
    seen = {}
    for who in ("ours", "theirs"):
        with RecordingProxy(sim.port) as proxy:
            if who == "ours":
                done = client("-a", f"{LOOPBACK}:{proxy.port}", *flags)
            else:
                done = original.run_original_client(flags, proxy.port)
            assert done.returncode == 0, done.stderr
        seen[who] = [(send.priority, send.timeout_ticks) for send in _unconnected_sends(proxy)]
    assert seen["ours"] == seen["theirs"] == [(7, 100)]
    with RecordingProxy(sim.port) as proxy:
        assert client("-a", f"{LOOPBACK}:{proxy.port}", "SCADA[1]").returncode == 0
    assert [(s.priority, s.timeout_ticks) for s in _unconnected_sends(proxy)] == [(0x0A, 0x0E)]  # the default
    done = client("-a", f"{LOOPBACK}:{sim.port}", "--priority-time-tick", "16", "SCADA[1]")
    assert done.returncode == 2 and "--priority-time-tick 16: 0 to 15" in done.stderr


def _unsessioned(text: str) -> str:
    return re.sub(r"'enip.session_handle': +\d+,|00000000:  [0-9a-f ]{23}", "", text)


def test_legacy_prints_the_reply_as_the_original(sim, original_venv):
    done = client("-a", f"{LOOPBACK}:{sim.port}", "-L", "0x0001")
    theirs = original.run_original_client(["-L", "0x0001"], sim.port)
    assert done.returncode == theirs.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Legacy 0x0001  0 from ('127.0.0.1', {sim.port}): {{\n")
    assert _unsessioned(done.stdout) == _unsessioned(theirs.stdout)   # (the session and our sender context differ)
    assert "    'enip.status':                  1," in done.stdout.splitlines()   # an unknown command
    assert client("-a", f"{LOOPBACK}:{sim.port}", "-L", "one").returncode == 2


def test_list_dumps_are_the_originals(sim, original_venv):
    for flag in ("-i", "-s", "-I"):
        done = client("-a", f"{LOOPBACK}:{sim.port}", flag)
        theirs = original.run_original_client([flag], sim.port)
        assert done.returncode == theirs.returncode == 0
        assert done.stdout == theirs.stdout, flag


def test_tps_line_only_at_v_in_the_original_format(sim, original_venv):
    quiet = client("-a", f"{LOOPBACK}:{sim.port}", "SCADA[1]")
    assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""
    loud, theirs = client("-v", "-a", f"{LOOPBACK}:{sim.port}", "SCADA[1]"), \
        original.run_original_client(["-v", "SCADA[1]"], sim.port)
    shape = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} MainThread enip\.cli NORMAL   \S+ +(.*?) *[\d.]+(/|"
                       r" TPS)")

    def messages(text: str) -> list[tuple[str, str]]:
        return [shape.match(line).group(1, 2) for line in text.splitlines()]
    assert messages(loud.stderr) == messages(theirs.stderr) == [("Connect:  Success in", "/"),
                                                               ("Client Tag I/O  Average", " TPS")]


def test_client_profile_and_no_print(sim):
    done = client("-a", f"{LOOPBACK}:{sim.port}", "-P", "-p", "SCADA[1]")
    assert done.returncode == 0
    assert done.stdout.startswith("            SCADA[1][  1-1  ]+  0 == [0]: 'OK'\n")
    assert "Ordered by: cumulative time" in done.stdout and "Ordered by: internal time" in done.stdout
    done = client("-a", f"{LOOPBACK}:{sim.port}", "-p", "--no-print", "SCADA[1]")
    assert done.returncode == 0 and done.stdout == ""


def test_get_attribute_profile(sim):
    done = client("-a", f"{LOOPBACK}:{sim.port}", "-P", "@1/1/7", module="cpppo.server.enip.get_attribute")
    assert done.returncode == 0
    assert re.search(r": +0: Single G_A_S +@0x0001/1/7 == \[20, 49,", done.stdout), done.stdout
    assert "Ordered by: cumulative time" in done.stdout


# --- modbus_sim -c -----------------------------------------------------------------------------

def test_modbus_sim_config_json_sets_the_serial_line(tmp_path):
    from pymodbus.client import ModbusSerialClient
    from pymodbus.exceptions import ModbusIOException

    from tests.test_modbus_interop import PtyRelay, start_sim, stop

    relay = PtyRelay()
    proc, path, _ = start_sim("--serial", relay.sim_path, "-c", '{"baudrate": 300, "slaves": [3], "timeout": 0.05,'
                              ' "ignore_missing_slaves": true}', "40001-40002=5")
    relay.start()
    pymodbus = ModbusSerialClient(relay.client_path, baudrate=19200, timeout=3, retries=1)
    try:
        assert path == relay.sim_path and pymodbus.connect()
        assert pymodbus.read_holding_registers(0, count=2, device_id=3).registers == [5, 5]   # "slaves": [3]
        with pytest.raises(ModbusIOException):                                               # unit 1: not served
            pymodbus.read_holding_registers(0, count=2, device_id=1)
    finally:
        pymodbus.close()
        stop(proc)
        relay.close()
    done = subprocess.run([sys.executable, "-m", "cpppo.bin.modbus_sim", "-c", '{"baud": 9600}', "40001"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 2 and "--config: unknown key(s) baud" in done.stderr


def _log_messages(text: str) -> list[tuple[str, str, str]]:
    """(logger, level, message) of each log line, its numbers as '#' (timings), its function
    column left out (it names the function that logged)."""
    shape = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\S+) +(\S+) +(\S+) +\S+ +(.*)$")
    found = []
    for line in text.splitlines():
        match = shape.match(line)
        if match:  # (not our line naming a failed operation: see test_first_hour)
            _, logger, level, message = match.groups()
            found.append((logger, level, re.sub(r" *[\d.]+", " #", message)))
    return found


def test_get_attribute_logs_as_the_original_at_v(sim, original_venv):
    ours = client("-v", "-a", f"{LOOPBACK}:{sim.port}", "@1/1/7", "@1/1/1", module="cpppo.server.enip.get_attribute")
    theirs = original.run_original_client(["-v", "@1/1/7", "@1/1/1"], sim.port,
                                          module="cpppo.server.enip.get_attribute")
    assert ours.returncode == theirs.returncode == 0
    assert _log_messages(ours.stderr) == _log_messages(theirs.stderr) == [
        ("enip.cli", "NORMAL", "Connect:  Success in #/ #s"),
        ("enip.get", "NORMAL", " # requests in #s at pipeline depth #; # TPS")]


def test_client_logs_as_the_original_at_v(sim, original_venv):
    ops = ["-v", "-p", "NOPE", "SCADA[1-2]"]
    ours, theirs = client("-a", f"{LOOPBACK}:{sim.port}", *ops), original.run_original_client(ops, sim.port)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stdout == theirs.stdout
    assert _log_messages(ours.stderr) == _log_messages(theirs.stderr)
    assert [(logger, level) for logger, level, _ in _log_messages(ours.stderr)] == [
        ("enip.cli", "NORMAL"), ("enip.cli", "WARNING"), ("enip.cli", "NORMAL"), ("enip.cli", "NORMAL"),
        ("enip.cli", "NORMAL")]


# --- python -m cpppo.server.enip.poll ----------------------------------------------------------

def _poll_lines(python: str, port: int, lines: int, *args: str) -> tuple[list[str], int]:
    """Run the poll tool (unbuffered: its output is a pipe) until it printed *lines* lines, then
    Control-C it (its only way to stop)."""
    cmd = [python, "-I", "-u", "-m", "cpppo.server.enip.poll", "-a", f"{LOOPBACK}:{port}", "-c", "0.2", *args]
    with tempfile.TemporaryDirectory(prefix="cpppo-poll-") as cwd:
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            seen = [proc.stdout.readline() for _ in range(lines)]
            proc.send_signal(2)
            proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return seen, proc.returncode


def test_poll_prints_as_the_original(original_venv):
    """The original's poll tool: a PowerFlex's default parameters, then Tags with --pass-thru."""
    with Simulator(["-S", "Output_Current@0x93/7/10=REAL", "Motor_Velocity@0x93/3/10=REAL",
                    "SCADA=INT[10]"]) as sim:
        theirs_python = str(original.venv_python(original_venv))
        for args in ([], ["--pass-thru", "SCADA[0-2]", "Output Current"]):
            ours, code = _poll_lines(sys.executable, sim.port, 4, "-S", *args)
            theirs, _ = _poll_lines(theirs_python, sim.port, 4, "-S", *args)
            assert ours == theirs, args
            assert code == 0
        assert ours == ["     SCADA[0-2]: [0, 0, 0]\n", " Output Current: [0.0]\n"] * 2
    done = client("-g", "nope.proxy", module="cpppo.server.enip.poll")
    assert done.returncode == 2 and done.stderr.splitlines()[-1].startswith(
        "python -m cpppo.server.enip.poll: error: --gateway 'nope.proxy': no such proxy class")
