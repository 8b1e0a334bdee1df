"""A new user's first hour (issue 15): each mistake met is one clear line and the right exit status.

Every test runs the real command line in a subprocess, as a user would (``twistd -n --pidfile=
cpppo-enip``, ``python -m cpppo.server.enip``, ``enip_client``, ``enip_get_attribute``,
``twistd -n --pidfile= cpppo-modbus``), and asserts what it prints and how it exits: never a
traceback; 2 and the usage for a command-line mistake; 1 for a failed operation or a port that
cannot be bound.  Processes run in their own temporary folder, listen on 127.0.0.1 only, on ports
the OS picks (a port is made busy by binding a socket to port 0); every one is stopped and reaped.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PYTHON = sys.executable
TIMEOUT = 60.0
L5X = importlib.resources.files("cpppo.tests") / "data" / "plant.L5X"
_ADDRESS = re.compile(r"Network TCP Server address = \('127\.0\.0\.1', (\d+)\)")


def run(cmd: list[str], cwd: Path, timeout: float = TIMEOUT, **kwds) -> subprocess.CompletedProcess:
    """Run a command that should exit by itself; its output and exit status (killed and reaped on timeout)."""
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwds)


def no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr


@contextlib.contextmanager
def busy_port() -> Iterator[int]:
    """A 127.0.0.1 port the OS picked, held busy (listening) for the block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


class Serving:
    """A server subprocess that runs until stopped: output to files in *folder*, stopped and reaped."""

    def __init__(self, cmd: list[str], folder: Path) -> None:
        self.folder = folder
        self.out, self.err = folder / "stdout", folder / "stderr"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([str(c) for c in cmd], cwd=folder, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, start_new_session=True)

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def wait_for(self, pattern: str | re.Pattern, timeout: float = TIMEOUT) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} (exit {self.proc.poll()}) in:\n{self.output()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM to its process group, SIGKILL if it lingers; always reaped; its exit status."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT / 2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait()


@contextlib.contextmanager
def serving(cmd: list[str], folder: Path) -> Iterator[Serving]:
    server = Serving(cmd, folder)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m cpppo.server.enip`` serving SCADA=INT[1000] and a bare BARE; its ``127.0.0.1:port``."""
    folder = tmp_path_factory.mktemp("simulator")
    cmd = [PYTHON, "-m", "cpppo.server.enip", "--no-config", "-a", "127.0.0.1:0", "-A", "SCADA=INT[1000]", "BARE"]
    with serving(cmd, folder) as server:
        port = server.wait_for(_ADDRESS).group(1)
        yield f"127.0.0.1:{port}"


# --- a port already in use, or one that needs privilege --------------------------------------

@pytest.mark.parametrize("plugin, args", [("cpppo-enip", ["--no-config", "SCADA=INT[10]"]),
                                          ("cpppo-modbus", ["40001-40010"])])
def test_twistd_on_a_busy_port_says_so_in_one_line(tmp_path: Path, plugin: str, args: list[str]) -> None:
    with busy_port() as port:
        done = run([BIN / "twistd", "-n", "--pidfile=", plugin, "-a", f"127.0.0.1:{port}", *args], tmp_path)
    no_traceback(done)
    assert done.returncode == 1, done
    assert done.stderr.strip() == f"twistd {plugin}: cannot listen on 127.0.0.1:{port}: Address already in use"


_ENDPOINT_APP = """
from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory, Protocol
from cpppo.tap.guard import ExitOnFailure

endpoint = StreamServerEndpointService(TCP4ServerEndpoint(reactor, {port}, interface="127.0.0.1"),
                                       Factory.forProtocol(Protocol))
application = service.Application("endpoint")
ExitOnFailure("twistd endpoint", endpoint).setServiceParent(application)
"""


def test_an_endpoint_service_on_a_busy_port_is_one_line_too(tmp_path: Path) -> None:
    """The taps may come to serve through endpoint services, which only log a failure: still one line, exit 1."""
    with busy_port() as port:
        (tmp_path / "endpoint.tac").write_text(_ENDPOINT_APP.format(port=port))
        done = run([BIN / "twistd", "-n", "--pidfile=", "-y", "endpoint.tac"], tmp_path)
    no_traceback(done)
    assert done.returncode == 1, done
    assert done.stderr.strip() == f"twistd endpoint: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_a_busy_web_port_is_named(tmp_path: Path) -> None:
    with busy_port() as port:
        done = run([PYTHON, "-m", "cpppo.server.enip", "--no-config", "-a", "127.0.0.1:0", "--web",
                    f"127.0.0.1:{port}", "SCADA"], tmp_path)
    no_traceback(done)
    assert done.returncode == 1
    assert done.stderr.strip() == f"python -m cpppo.server.enip: cannot listen on 127.0.0.1:{port}: " \
                                  f"Address already in use"


def test_the_web_address_bound_is_printed_at_start(tmp_path: Path) -> None:
    cmd = [PYTHON, "-m", "cpppo.server.enip", "--no-config", "-a", "127.0.0.1:0", "--web", "127.0.0.1:0", "SCADA"]
    with serving(cmd, tmp_path) as server:
        port = int(server.wait_for(r"Web API address = \('127\.0\.0\.1', (\d+)\)").group(1))
        assert port > 0
    assert "Network TCP Server address" not in server.output()  # that is -A's


def _unprivileged() -> list[str]:
    """How to run a command without the privilege to bind port 80 here (skips if there is none)."""
    if os.geteuid() != 0:
        start = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        if start.exists() and int(start.read_text()) <= 80:
            pytest.skip("anyone may bind port 80 on this machine")
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, with no setpriv to drop the privilege")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _as_nobody_env() -> dict[str, str]:
    """The environment for a child run as nobody: without coverage's measurement of subprocesses
    (``make test``), whose data folder nobody may not write."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1"}


def test_web_with_no_port_is_port_80_and_without_privilege_one_line(tmp_path: Path) -> None:
    """``--web 127.0.0.1`` binds port 80, as the original; without the privilege (run as nobody), one line."""
    tmp_path.chmod(0o777)
    done = run([*_unprivileged(), PYTHON, "-m", "cpppo.server.enip", "--no-config", "-a", "127.0.0.1:0", "--web",
                "127.0.0.1", "SCADA"], tmp_path, env=_as_nobody_env())
    no_traceback(done)
    assert done.returncode == 1
    assert done.stderr.strip() == ("python -m cpppo.server.enip: cannot listen on 127.0.0.1:80: Permission denied "
                                   "(port 80 is below 1024: run as root, or grant CAP_NET_BIND_SERVICE)")


def test_the_privilege_message_where_no_subprocess_can_show_it() -> None:
    """The same line from the error alone, for machines where the test above is skipped."""
    from twisted.internet.error import CannotListenError

    from cpppo.bin.startup import reason

    error = CannotListenError("127.0.0.1", 80, PermissionError(13, "Permission denied"))
    assert reason(error) == ("cannot listen on 127.0.0.1:80: Permission denied "
                             "(port 80 is below 1024: run as root, or grant CAP_NET_BIND_SERVICE)")


def test_help_says_what_a_bare_tag_and_a_bare_web_address_mean(tmp_path: Path) -> None:
    for cmd in ([PYTHON, "-m", "cpppo.server.enip", "--help"], [BIN / "twistd", "cpppo-enip", "--help"]):
        done = run(cmd, tmp_path)
        assert done.returncode == 0, done
        text = " ".join(done.stdout.split())
        assert "a NAME alone is one INT" in text and "SCADA=INT[1]" in text
        assert "with no port, on port 80" in text


# --- the client: a failed operation says which, and why -------------------------------------

def test_a_bare_tag_is_one_int(simulator: str, tmp_path: Path) -> None:
    done = run([BIN / "enip_client", "-a", simulator, "-p", "BARE", "BARE=(INT)-7", "BARE"], tmp_path)
    assert done.returncode == 0, done
    assert [line.split(" == ")[-1] if "==" in line else line.split(" <= ")[-1]
            for line in done.stdout.splitlines()] == ["[0]: 'OK'", "[-7]: 'OK'", "[-7]: 'OK'"]
    done = run([BIN / "enip_client", "-a", simulator, "BARE[1]"], tmp_path)
    assert done.returncode == 1
    assert "enip_client: BARE[1]: 0xFF/0x2105 beyond the end of the tag" in done.stderr


def test_a_failed_read_without_p_says_which_and_why(simulator: str, tmp_path: Path) -> None:
    done = run([BIN / "enip_client", "-a", simulator, "NOPE"], tmp_path)
    no_traceback(done)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == "enip_client: NOPE: 0x04 path segment error (no such tag or object)"


def test_p_keeps_the_original_lines_and_stderr_names_the_meaning(simulator: str, tmp_path: Path) -> None:
    done = run([BIN / "enip_client", "-a", simulator, "-p", "SCADA[5000]", "SCADA[1-2]"], tmp_path)
    no_traceback(done)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["         SCADA[5000][5000-5000]+  0 == None: 'Status 255 [8453]'",
                                        "            SCADA[1][  1-2  ]+  0 == [0, 0]: 'OK'"]
    failures = [line for line in done.stderr.splitlines() if line.startswith("enip_client:")]
    assert failures == ["enip_client: SCADA[5000]: 0xFF/0x2105 beyond the end of the tag"]
    assert "returned non-zero status" not in done.stderr  # said once, not twice


def test_get_attribute_none_says_why(simulator: str, tmp_path: Path) -> None:
    done = run([BIN / "enip_get_attribute", "-a", simulator, "@1/1/99"], tmp_path)
    no_traceback(done)
    assert done.returncode == 1
    assert done.stdout.rstrip().endswith(": Single G_A_S      @0x0001/1/99 == None")
    assert done.stderr.strip() == "enip_get_attribute: @0x0001/1/99: 0x14 attribute not supported (no such attribute)"


def test_a_bad_tag_is_named_once(tmp_path: Path) -> None:
    done = run([BIN / "enip_client", "-a", "127.0.0.1:1", "SCADA[1"], tmp_path)
    no_traceback(done)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: enip_client")
    last = done.stderr.strip().splitlines()[-1]
    assert last == "enip_client: error: 'SCADA[1': a '[' without its ']' (or a ']' without its '[')"


# --- twistd cpppo-modbus: modbus_sim's options and usage errors -----------------------------

def test_twistd_modbus_usage_error_is_the_tools(tmp_path: Path) -> None:
    done = run([BIN / "twistd", "-n", "--pidfile=", "cpppo-modbus", "-r", "0", "40001"], tmp_path)
    no_traceback(done)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: twistd cpppo-modbus ")
    assert done.stderr.strip().splitlines()[-1] == "twistd cpppo-modbus: error: --range must be at least 1"
    assert "twistd -n:" not in done.stdout + done.stderr


def test_twistd_modbus_takes_v_and_l(tmp_path: Path) -> None:
    done = run([BIN / "twistd", "cpppo-modbus", "--help"], tmp_path)
    assert "-v, --verbose" in done.stdout and "-l LOG, --log LOG" in done.stdout
    log = tmp_path / "modbus.log"
    cmd = [BIN / "twistd", "-n", "--pidfile=", "cpppo-modbus", "-vvv", "-l", log, "-a", "127.0.0.1:0", "-A",
           "40001-40010"]
    with serving(cmd, tmp_path) as server:
        server.wait_for(r"Success; Started Modbus/TCP Simulator; PID = \d+; address = 127\.0\.0\.1:\d+")
        deadline = time.monotonic() + TIMEOUT
        while "Modbus/TCP simulator listening on 127.0.0.1:" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert server.proc.returncode == -signal.SIGTERM, server.output()  # twistd ends by the signal it got
    assert "Modbus/TCP simulator listening on 127.0.0.1:" in log.read_text()
    assert "Modbus/TCP simulator listening" not in server.output()  # -l: to the file, not twistd's log


# --- what the L5X loader skips is seen at every verbosity ------------------------------------

@pytest.mark.parametrize("verbosity", [[], ["-vvvv"]])
@pytest.mark.parametrize("how", ["python", "twistd"])
def test_l5x_skipped_lines_are_seen(tmp_path: Path, how: str, verbosity: list[str]) -> None:
    l5x = tmp_path / "plant.L5X"
    l5x.write_bytes(L5X.read_bytes())
    start = [PYTHON, "-m", "cpppo.server.enip"] if how == "python" else [BIN / "twistd", "-n", "--pidfile=",
                                                                         "cpppo-enip"]
    cmd = [*start, *verbosity, "--no-config", "-a", "127.0.0.1:0", "-A", "--l5x", l5x]
    with serving(cmd, tmp_path) as server:
        server.wait_for(_ADDRESS)
        server.wait_for(r"module Local skipped \(I/O is not simulated\)")
        server.wait_for(r"tag Msg1 of type 'MESSAGE' is not served: skipped")
    assert "Traceback" not in server.output()
