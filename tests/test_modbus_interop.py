"""Modbus interoperability on loopback and pseudo-terminals, with real peers.

* pymodbus's client against our simulator (``modbus_sim`` subprocess) over Modbus/TCP,
  and over Modbus/RTU through a pair of pseudo-terminals joined by a relay thread;
* raw RTU bytes with injected noise, split frames, bad CRCs and long pauses;
* our ``poller_modbus`` against pymodbus's own server (a subprocess);
* ``modbus_poll`` against ``modbus_sim`` (both subprocesses), and ``twistd -n cpppo-modbus``;
* the PLC going away and coming back under a polling ``poller_modbus``.

Every wait polls a condition against a generous deadline; nothing depends on
millisecond timing.  Pauses that matter (to end an RTU frame) are many times t3.5.
"""

from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pymodbus
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONUNBUFFERED="1")

if tuple(int(x) for x in pymodbus.__version__.split(".")[:2]) < (3, 16):
    # The peers here use pymodbus 3.16's client keywords (device_id=) and server (SimDevice);
    # cpppo itself is also tested with 3.9.2 by the unit tests in cpppo/tests.
    pytest.skip("the interop peers need pymodbus >= 3.16", allow_module_level=True)
from pymodbus.client import ModbusSerialClient, ModbusTcpClient  # noqa: E402

from cpppo.modbus.framing import encode_rtu  # noqa: E402

PYMODBUS_SERVER = r"""
import asyncio, sys
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimData, SimDevice, DataType
async def main():
    regs = lambda: [SimData(0, count=100, values=0, datatype=DataType.REGISTERS)]
    bits = lambda: [SimData(0, count=16, values=False, datatype=DataType.BITS)]
    dev = SimDevice(id=0, simdata=(bits(), bits(), regs(), regs()))
    server = ModbusTcpServer(dev, address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    print(server.transport.sockets[0].getsockname()[1], flush=True)
    await server.serving
asyncio.run(main())
"""


# A poller_modbus in its own process (its reactor thread never meets this process's tests),
# driven line by line over stdin: "poll A", "write A V[,V...]", "wait A V", "offline", "status", "quit".
POLLER_DRIVER = r"""
import json, sys, time
from cpppo.remote.plc_modbus import poller_modbus
poller = poller_modbus("driven", **json.loads(sys.argv[1]))
def until(predicate):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if predicate():
            return "ok"
        time.sleep(0.05)
    return "timeout"
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "poll":
        poller.poll(int(args[0])); out = "ok"
    elif cmd == "write":
        values = [int(v) for v in args[1].split(",")]
        poller.write(int(args[0]), values[0] if len(values) == 1 else values); out = "ok"
    elif cmd == "wait":
        out = until(lambda: poller.read(int(args[0])) == int(args[1]))
    elif cmd == "offline":
        out = until(lambda: not poller.online) + " " + repr(poller.read(40001))
    elif cmd == "status":
        out = json.dumps({"polling": sorted(poller.polling), "load": poller.load, "online": poller.online})
    elif cmd == "quit":
        poller.join(5); out = "bye"
    print(out, flush=True)
    if cmd == "quit":
        break
"""


class Driver:
    """Talks to POLLER_DRIVER in a subprocess."""

    def __init__(self, **kwargs: object) -> None:
        import json

        self.popen = subprocess.Popen([sys.executable, "-c", POLLER_DRIVER, json.dumps(kwargs)], cwd=ROOT, env=ENV,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, bufsize=1)

    def __call__(self, command: str) -> str:
        assert self.popen.stdin and self.popen.stdout
        self.popen.stdin.write(command + "\n")
        self.popen.stdin.flush()
        ready, _, _ = select.select([self.popen.stdout], [], [], 30)
        assert ready, f"no answer to {command!r}"
        answer = self.popen.stdout.readline().strip()
        assert answer, f"driver died at {command!r}: {self.popen.stderr.read() if self.popen.stderr else ''}"
        return answer

    def close(self) -> None:
        if self.popen.poll() is None:
            try:
                self("quit")
                self.popen.wait(10)
            except Exception:
                self.popen.kill()
                self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream:
                stream.close()


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> object:
    """Poll *predicate* until it returns something true, or fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Proc:
    """A subprocess whose stdout lines and stderr text are collected by threads (pipes never fill)."""

    def __init__(self, *args: str) -> None:
        self.args = args
        # Not the checkout: twistd scans its working folder for twisted/plugins and writes there.
        self.popen = subprocess.Popen([*args], cwd=tempfile.gettempdir(), env=ENV, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self) -> None:
        for line in self.popen.stdout:  # type: ignore[union-attr]
            self.lines.put(line.strip())
        self.lines.put(None)

    def _err(self) -> None:
        for line in self.popen.stderr:  # type: ignore[union-attr]
            self.errors.append(line)

    def read_line(self, timeout: float = 15.0) -> str:
        """One line of stdout, or fail (showing stderr) if none comes in time."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from {self.args}: {''.join(self.errors)}") from None
        if line is None:
            raise AssertionError(f"{self.args} exited ({self.popen.wait()}): {''.join(self.errors)}")
        return line

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode


def spawn(*args: str) -> Proc:
    return Proc(*args)


def read_line(proc: Proc, timeout: float = 15.0) -> str:
    return proc.read_line(timeout)


def stop(proc: Proc) -> None:
    """Interrupt *proc* (as ^C would) and wait for it; kill it if it will not go."""
    popen = proc.popen
    if popen.poll() is None:
        popen.send_signal(signal.SIGINT)
        try:
            popen.wait(10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def start_sim(*args: str) -> tuple[Proc, str, int]:
    """Start modbus_sim with -A; return it with the (host, port) it reports."""
    proc = spawn(sys.executable, "-m", "cpppo.bin.modbus_sim", "-A", *args)
    success = read_line(proc)
    assert success.startswith("Success; Started Modbus/"), success
    address = read_line(proc)
    if address.startswith("/"):
        return proc, address, 0
    host, _, port = address.rpartition(":")
    return proc, host, int(port)


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[str, int]]:
    proc, host, port = start_sim("-a", "127.0.0.1:0", "--unit", "1", "--unit", "2",
                                 "40001-40100=99", "1-16=1", "10001-10008=1", "30001-30010=3")
    yield host, port
    stop(proc)
    assert proc.returncode == 0


@pytest.fixture
def tcp_client(sim: tuple[str, int]) -> Iterator[ModbusTcpClient]:
    client = ModbusTcpClient(sim[0], port=sim[1], timeout=5)
    assert client.connect()
    yield client
    client.close()


# --- pymodbus's client against our simulator, Modbus/TCP ----------------------------------

def test_pymodbus_tcp_reads(tcp_client: ModbusTcpClient) -> None:
    assert tcp_client.read_holding_registers(0, count=10, device_id=1).registers == [99] * 10
    assert tcp_client.read_input_registers(0, count=10, device_id=2).registers == [3] * 10
    assert tcp_client.read_coils(0, count=16, device_id=1).bits[:16] == [True] * 16
    assert tcp_client.read_discrete_inputs(0, count=8, device_id=1).bits[:8] == [True] * 8


def test_pymodbus_tcp_writes(tcp_client: ModbusTcpClient) -> None:
    assert not tcp_client.write_register(10, 1234, device_id=1).isError()
    assert not tcp_client.write_registers(11, [1, 2, 3], device_id=1).isError()
    assert tcp_client.read_holding_registers(10, count=4, device_id=1).registers == [1234, 1, 2, 3]
    assert tcp_client.read_holding_registers(10, count=1, device_id=2).registers == [99]  # separate store
    assert not tcp_client.write_coil(3, False, device_id=1).isError()
    assert not tcp_client.write_coils(4, [False, True, False], device_id=1).isError()
    assert tcp_client.read_coils(0, count=8, device_id=1).bits[:8] == [True, True, True, False,
                                                                       False, True, False, True]
    assert not tcp_client.mask_write_register(address=20, and_mask=0x00F0, or_mask=0x0001, device_id=1).isError()
    assert tcp_client.read_holding_registers(20, count=1, device_id=1).registers == [(99 & 0xF0) | 1]
    rw = tcp_client.readwrite_registers(read_address=30, read_count=2, write_address=30, values=[7, 8], device_id=1)
    assert rw.registers == [7, 8]


def test_pymodbus_tcp_exceptions(tcp_client: ModbusTcpClient) -> None:
    out_of_range = tcp_client.read_holding_registers(100, count=1, device_id=1)
    assert out_of_range.isError() and out_of_range.exception_code == 2
    straddle = tcp_client.read_holding_registers(95, count=10, device_id=1)
    assert straddle.isError() and straddle.exception_code == 2
    other_unit = tcp_client.read_holding_registers(0, count=1, device_id=3)
    assert other_unit.isError() and other_unit.exception_code == 0x0B
    out_of_range_write = tcp_client.write_register(200, 1, device_id=1)
    assert out_of_range_write.isError() and out_of_range_write.exception_code == 2
    # and the connection is still up after the exceptions
    assert tcp_client.read_holding_registers(0, count=1, device_id=1).registers == [99]


def test_pymodbus_tcp_device_identification(tcp_client: ModbusTcpClient) -> None:
    info = tcp_client.read_device_information(device_id=1)
    assert not info.isError()
    assert info.information[0] == b"cpppo"


def test_bad_count_and_function_over_raw_socket(sim: tuple[str, int]) -> None:
    import socket
    import struct

    with socket.create_connection(sim, timeout=5) as sock:
        def ask(pdu: bytes) -> bytes:
            sock.sendall(struct.pack(">HHHB", 7, 0, len(pdu) + 1, 1) + pdu)
            head = sock.recv(7, socket.MSG_WAITALL)
            return sock.recv(struct.unpack(">H", head[4:6])[0] - 1, socket.MSG_WAITALL)

        assert ask(bytes.fromhex("0300000000")) == b"\x83\x03"  # count 0
        assert ask(bytes.fromhex("0300000080")) == b"\x83\x03"  # count 128
        assert ask(bytes.fromhex("0800000000")) == b"\x88\x01"  # diagnostics: not served
        assert ask(bytes.fromhex("030000000a"))[:2] == b"\x03\x14"  # the same connection still works
        sock.sendall(bytes.fromhex("0001000700060103000000"))  # protocol id 7: closed
        assert sock.recv(100) == b""


def test_script_that_forgets_stop_still_exits(sim: tuple[str, int]) -> None:
    script = ("import time\n"
              "from cpppo.remote.plc_modbus import poller_modbus\n"
              f"p = poller_modbus('forgetful', host='{sim[0]}', port={sim[1]}, unit=1, rate=0.1)\n"
              "p.poll(40001)\n"
              "deadline = time.monotonic() + 10\n"
              "while p.read(40001) is None and time.monotonic() < deadline:\n"
              "    time.sleep(0.05)\n"
              "print(p.read(40001), p.load[0] is not None)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=ENV, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["99", "True"]


# --- our poller against pymodbus's server --------------------------------------------------

def test_poller_against_pymodbus_server() -> None:
    import json

    proc = spawn(sys.executable, "-c", PYMODBUS_SERVER)
    try:
        port = int(read_line(proc))
        poller = Driver(host="127.0.0.1", port=port, rate=0.2, unit=1, timeout=5)
        try:
            for address in range(40001, 40011):
                assert poller(f"poll {address}") == "ok"
            assert poller("poll 1") == "ok"
            assert poller("write 40001 5,6") == "ok"
            assert poller("write 40010 9") == "ok"
            assert poller("write 1 1") == "ok"
            for address, value in ((40002, 6), (40010, 9), (1, 1), (40003, 0)):
                assert poller(f"wait {address} {value}") == "ok"
            status = json.loads(poller("status"))
            assert [40001, 10] in status["polling"]
            assert all(x is not None for x in status["load"])
        finally:
            poller.close()
        assert poller.popen.returncode == 0
    finally:
        stop(proc)


# --- modbus_poll against modbus_sim, twistd -n cpppo-modbus ---------------------------------

def test_modbus_poll_against_modbus_sim() -> None:
    sim_proc, host, port = start_sim("-a", "127.0.0.1:0", "40001-40010=5")
    try:
        result = subprocess.run([sys.executable, "-m", "cpppo.bin.modbus_poll", "-a", f"{host}:{port}",
                                 "-R", "0.2", "-d", "3", "40001-40003=9", "40001-40005"],
                                cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "40001 ==     9 (was: None)" in result.stderr
        assert "40005 ==     5 (was: None)" in result.stderr
        client = ModbusTcpClient(host, port=port, timeout=5)
        assert client.connect()
        assert client.read_holding_registers(0, count=4, device_id=0).registers == [9, 9, 9, 5]
        client.close()
    finally:
        stop(sim_proc)


def test_twistd_plugin() -> None:
    twistd = spawn(str(Path(sys.executable).with_name("twistd")), "-n", "--pidfile=", "--logfile=-",
                   "cpppo-modbus", "-a", "127.0.0.1:0", "-A", "40001-40004=42")
    try:
        line = read_line(twistd)
        while not line.startswith("Success; Started Modbus/TCP Simulator"):  # skip twistd's log lines
            line = read_line(twistd)
        host, _, port = read_line(twistd).rpartition(":")
        client = ModbusTcpClient(host, port=int(port), timeout=5)
        assert client.connect()
        assert client.read_holding_registers(0, count=4, device_id=1).registers == [42] * 4
        client.close()
    finally:
        stop(twistd)
    assert twistd.returncode in (0, -signal.SIGINT)  # twistd re-raises the signal that stopped it


# --- the PLC goes away and comes back --------------------------------------------------------

def test_plc_goes_away_and_comes_back() -> None:
    sim_proc, host, port = start_sim("-a", "127.0.0.1:0", "40001-40002=11")
    poller = Driver(host=host, port=port, rate=0.2, timeout=1)
    try:
        assert poller("poll 40001") == "ok"
        assert poller("wait 40001 11") == "ok"
        stop(sim_proc)
        assert poller("offline") == "ok None"  # offline, and reads give None meanwhile
        sim_proc, _, _ = start_sim("-a", f"{host}:{port}", "40001-40002=22")
        assert poller("wait 40001 22") == "ok"
    finally:
        poller.close()
        stop(sim_proc)


# --- Modbus/RTU over pseudo-terminals -----------------------------------------------------------

class PtyRelay:
    """Two pseudo-terminals whose masters are joined by a thread: sim on one slave, client on the other."""

    def __init__(self) -> None:
        self.m1, self.s1 = os.openpty()
        self.m2, self.s2 = os.openpty()
        for fd in (self.s1, self.s2):
            tty.setraw(fd)
        self.sim_path, self.client_path = os.ttyname(self.s1), os.ttyname(self.s2)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        peer = {self.m1: self.m2, self.m2: self.m1}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(peer), [], [], 0.05)
            for fd in ready:
                try:
                    os.write(peer[fd], os.read(fd, 4096))
                except OSError:
                    return

    def close(self) -> None:
        self.pause()
        for fd in (self.m1, self.s1, self.m2, self.s2):
            os.close(fd)


def drain(fd: int, quiet: float = 0.5) -> bytes:
    """Everything *fd* delivers until it has been quiet for *quiet* seconds."""
    got = b""
    while select.select([fd], [], [], quiet)[0]:
        got += os.read(fd, 4096)
    return got


def read_exact(fd: int, count: int, timeout: float = 10.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            got += os.read(fd, count - len(got))
    return got


@pytest.fixture(scope="module")
def rtu() -> Iterator[PtyRelay]:
    relay = PtyRelay()
    # 300 baud: t3.5 is 128 ms, so back-to-back writes are one frame and a 1 s pause ends one.
    proc, path, _ = start_sim("--serial", relay.sim_path, "--baudrate", "300", "--unit", "1", "--unit", "2",
                              "40001-40010=7", "1-8=1")
    assert path == relay.sim_path
    yield relay
    stop(proc)
    relay.close()


def test_pymodbus_rtu_client(rtu: PtyRelay) -> None:
    rtu.start()
    client = ModbusSerialClient(rtu.client_path, baudrate=19200, timeout=3, retries=1)
    try:
        assert client.connect()
        assert client.read_holding_registers(0, count=10, device_id=1).registers == [7] * 10
        assert not client.write_registers(0, [1, 2], device_id=2).isError()
        assert client.read_holding_registers(0, count=3, device_id=2).registers == [1, 2, 7]
        assert client.read_holding_registers(0, count=1, device_id=1).registers == [7]
        bad = client.read_holding_registers(20, count=1, device_id=1)
        assert bad.isError() and bad.exception_code == 2
        assert client.read_coils(0, count=8, device_id=1).bits[:8] == [True] * 8
    finally:
        client.close()
        rtu.pause()


READ = bytes.fromhex("0300000002")
ANSWER = encode_rtu(1, bytes.fromhex("030400070007"))


def test_rtu_noise_split_and_silence(rtu: PtyRelay) -> None:
    fd = rtu.m1
    drain(fd, 0.2)
    frame = encode_rtu(1, READ)
    os.write(fd, b"\xff\x00\x13" + frame)  # noise right before a frame
    assert read_exact(fd, len(ANSWER)) == ANSWER
    os.write(fd, frame[:3])  # a split frame, written back to back
    os.write(fd, frame[3:])
    assert read_exact(fd, len(ANSWER)) == ANSWER
    os.write(fd, frame[:5])  # a partial frame, then silence far longer than t3.5
    time.sleep(1.0)
    os.write(fd, frame)
    assert read_exact(fd, len(ANSWER)) == ANSWER
    corrupt = frame[:-1] + bytes([frame[-1] ^ 0xFF])
    os.write(fd, corrupt)  # bad CRC: no answer
    assert drain(fd, 1.0) == b""
    os.write(fd, encode_rtu(9, READ))  # another device's unit id: no answer
    assert drain(fd, 1.0) == b""
    os.write(fd, encode_rtu(2, READ))
    assert read_exact(fd, 9)[:3] == b"\x02\x03\x04"
    os.write(fd, encode_rtu(1, b"\x41\x00\x01"))  # unknown function: answered once the silence ends it
    assert read_exact(fd, 5) == encode_rtu(1, b"\xc1\x01")
    assert drain(fd, 0.5) == b""


def test_poller_over_rtu(rtu: PtyRelay) -> None:
    rtu.start()
    poller = Driver(serial=rtu.client_path, baudrate=19200, unit=1, rate=0.2, timeout=3)
    try:
        assert poller("poll 40005") == "ok"
        assert poller("poll 1") == "ok"
        assert poller("write 40005 55") == "ok"
        assert poller("wait 40005 55") == "ok"
        assert poller("wait 1 1") == "ok"
    finally:
        poller.close()
        rtu.pause()
