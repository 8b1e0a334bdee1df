"""The ORIGINAL cpppo 5.2.5, installed from the package index into its own virtualenv, used as a peer.

Our package is also called ``cpppo``, so the original can never share an interpreter with it: it
lives in a separate virtualenv and is only ever run as a subprocess, with ``python -I`` (isolated:
no PYTHONPATH, no current directory on sys.path, so our ./cpppo can never shadow it).

    venv = original_venv()                       # created once, then reused (lock + stamp)
    with start_original_simulator(("SCADA=INT[1000]", "FLOAT=REAL[10]")) as sim:
        done = run_original_client(["-p", "SCADA[1]"], sim.port)
        assert done.returncode == 0, done.stderr

Environment:
    CPPPO_ORIGINAL_VENV    the virtualenv directory to use/create (default:
                           <repo>/.venv-original/cpppo-5.2.5)
    CPPPO_ORIGINAL_PYTHON  the interpreter that creates it (default: the running one; 3.11 works)

What 5.2.5 needs at run time for ``python -m cpppo.server.enip`` and ``...enip.client``: only
``greenery`` 2.x (imported by cpppo.automata).  Its declared ``crypto_licensing`` (and that one's
pycryptodome, dnspython, click, requests, ...) is never imported by the EtherNet/IP simulator or
clients, and ``web.py`` is only needed for ``--web``, which we never use.  So the venv installs
exactly ``cpppo==5.2.5 greenery==2.1`` with ``--no-deps``: fewer downloads, fewer ways to fail.
"""

import atexit
import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

from .process import LOOPBACK, ServerProcess, wait_for_port

ORIGINAL_VERSION = "5.2.5"
# The minimal run-time set (see the module docstring); installed with --no-deps.
ORIGINAL_REQUIREMENTS = ("cpppo==5.2.5", "greenery==2.1")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".venv-original" / f"cpppo-{ORIGINAL_VERSION}"
STAMP_NAME = ".cpppo-original-complete"

PIP_TIMEOUT = 900.0     # seconds for the whole pip install
SIMULATOR_START_TIMEOUT = 30.0
CLIENT_TIMEOUT = 60.0


class OriginalUnavailable(RuntimeError):
    """The original cpppo venv could not be created (eg. pip could not install cpppo==5.2.5)."""


class SimulatorFailed(RuntimeError):
    """The original simulator did not come up listening on loopback."""


# ---------------------------------------------------------------------------------------------
# The virtualenv
# ---------------------------------------------------------------------------------------------

def venv_path() -> Path:
    env = os.environ.get("CPPPO_ORIGINAL_VENV")
    return Path(env).expanduser().resolve() if env else DEFAULT_VENV


def venv_python(venv: Path = None) -> Path:
    return Path(venv or venv_path()) / "bin" / "python"


def _stamp_text() -> str:
    return "\n".join(ORIGINAL_REQUIREMENTS) + "\n"


def _stamp_ok(venv: Path) -> bool:
    stamp = venv / STAMP_NAME
    try:
        return stamp.read_text() == _stamp_text() and venv_python(venv).exists()
    except OSError:
        return False


def _run(cmd, timeout, what):
    try:
        done = subprocess.run(
            [str(c) for c in cmd], stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise OriginalUnavailable(f"{what}: timed out after {timeout:.0f}s: {' '.join(map(str, cmd))}") from exc
    except OSError as exc:
        raise OriginalUnavailable(f"{what}: cannot run {cmd[0]}: {exc}") from exc
    if done.returncode != 0:
        out = "\n".join(line for line in (done.stdout + done.stderr).splitlines()
                        if not line.startswith("WARNING: Location"))
        raise OriginalUnavailable(
            f"{what} failed (exit {done.returncode}): {' '.join(map(str, cmd))}\n{out[-3000:]}")
    return done


_failed = {}                       # venv path -> the OriginalUnavailable it raised in this process


def original_venv() -> Path:
    """Return the path of a virtualenv holding the original cpppo 5.2.5, creating it if needed.

    Safe for concurrent callers (several pytest processes): creation happens under an exclusive
    flock on ``<venv>.lock``; the venv is only used once its completion stamp has been written (last,
    atomically).  A partial venv (no stamp) left by a killed run is removed and rebuilt.  Raises
    OriginalUnavailable with pip's output if it cannot be built.
    """
    venv = venv_path()
    if _stamp_ok(venv):
        return venv
    if venv in _failed:                 # do not retry a failed pip install in the same process
        raise _failed[venv]
    try:
        return _build_venv(venv)
    except OriginalUnavailable as exc:
        _failed[venv] = exc
        raise


def _build_venv(venv: Path) -> Path:
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / (venv.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _stamp_ok(venv):                 # someone else finished it while we waited
                return venv
            if venv.exists():
                shutil.rmtree(venv)
            python = os.environ.get("CPPPO_ORIGINAL_PYTHON") or sys.executable
            _run([python, "-m", "venv", venv], 300, "creating the original cpppo venv")
            py = venv_python(venv)
            _run([py, "-I", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q",
                  "--no-deps", *ORIGINAL_REQUIREMENTS],
                 PIP_TIMEOUT, f"pip install of the original cpppo {ORIGINAL_VERSION}")
            done = _run([py, "-I", "-c",
                         "import cpppo, cpppo.server.enip.main, cpppo.server.enip.client,"
                         " cpppo.server.enip.get_attribute; print(cpppo.__version__)"],
                        120, "importing the original cpppo")
            if done.stdout.strip() != ORIGINAL_VERSION:
                raise OriginalUnavailable(
                    f"expected cpppo {ORIGINAL_VERSION} in {venv}, found {done.stdout.strip()!r}")
            tmp = venv / (STAMP_NAME + ".tmp")
            tmp.write_text(_stamp_text())
            os.replace(tmp, venv / STAMP_NAME)
            return venv
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def original_versions() -> dict:
    """Versions of the original venv's interpreter and packages (for vector headers)."""
    py = venv_python(original_venv())
    done = subprocess.run(
        [str(py), "-I", "-c", "import sys, cpppo, greenery, importlib.metadata as m;"
         "print(sys.version.split()[0]); print(cpppo.__version__); print(m.version('greenery'))"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=True)
    python, cpppo, greenery = done.stdout.split()
    return {"python": python, "cpppo": cpppo, "greenery": greenery}


# ---------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------

_live = weakref.WeakSet()          # every started, not yet stopped simulator: stopped at exit
_live_lock = threading.Lock()


def _stop_all():
    with _live_lock:
        handles = list(_live)
    for handle in handles:
        handle.stop()


atexit.register(_stop_all)

_ADDRESS_RE = re.compile(r"Network (TCP|UDP) Server address = \('127\.0\.0\.1', (\d+)\)")


def free_port() -> int:
    """A currently free loopback TCP port (bind to port 0, read it, close).  Racy by nature."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class OriginalSimulator(ServerProcess):
    """A running ``python -m cpppo.server.enip`` from the original venv, on 127.0.0.1.

    Attributes: .port (TCP), .udp_port (UDP, or None), .pid, .proc, .cmd, .address;
    .stop() terminates (SIGTERM), kills after a timeout, always reaps; usable as a context manager.
    .output() returns what the simulator printed (stdout + stderr log) so far.
    """

    outputs = ("stdout", "stderr")
    stop_timeout = 5.0

    def __init__(self, proc, cmd, port, udp_port, outdir):
        super().__init__(proc, cmd, outdir)
        self.port, self.udp_port = port, udp_port
        self._lock = threading.Lock()
        with _live_lock:
            _live.add(self)

    def stop(self, timeout=None):
        """Terminate, then kill after ``timeout`` seconds; always reaps.  Idempotent."""
        with self._lock:
            try:
                return super().stop(timeout)
            finally:
                with _live_lock:
                    _live.discard(self)


def _spawn(cmd, outdir):
    # the child holds its own copies of the descriptors: ours close once it is started
    with open(Path(outdir.name) / "stdout", "wb") as out, open(Path(outdir.name) / "stderr", "wb") as err:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                cwd=outdir.name, start_new_session=True)


def start_original_simulator(tags=("SCADA=INT[1000]",), extra_args=(), *, port=0, udp=True,
                             timeout=SIMULATOR_START_TIMEOUT, attempts=3) -> OriginalSimulator:
    """Start the original 5.2.5 EtherNet/IP simulator on 127.0.0.1 and wait until it accepts.

    ``tags`` are the simulator's positional tag specs (eg. "SCADA=INT[1000]", "FLOAT=REAL[10]");
    ``extra_args`` go before them (eg. ("--route-path", "false"), ("-S",), ("-d", "0.1")).

    With port=0 (the default) the simulator binds 127.0.0.1:0 itself and reports the bound port on
    stdout (5.2.5's ``-A``/``--address-output``: "Network TCP Server address = ('127.0.0.1', N)"),
    so there is no free-port race.  With port=None a free port is picked first (bind 0, close) and
    another one is tried if the simulator fails to come up on it (racy: the original sets
    SO_REUSEPORT, so two simulators given the same port would silently share it; prefer port=0).
    An explicit port is used as is.
    UDP is bound on 127.0.0.1 too (port in .udp_port), or disabled with udp=False.
    ``--no-config`` keeps any cpppo.cfg on this machine out of it.
    """
    py = venv_python(original_venv())
    last = None
    for _ in range(attempts):
        chosen = free_port() if port is None else int(port)
        cmd = [str(py), "-I", "-m", "cpppo.server.enip", "--no-config", "--address-output",
               "--address", f"{LOOPBACK}:{chosen}"]
        if not udp:
            cmd.append("--no-udp")
        cmd += [str(a) for a in extra_args] + [str(t) for t in tags]
        outdir = tempfile.TemporaryDirectory(prefix="cpppo-original-sim-")
        proc = _spawn(cmd, outdir)
        handle = OriginalSimulator(proc, cmd, None, None, outdir)
        try:
            deadline = time.monotonic() + timeout
            tcp_port = udp_port = None
            while time.monotonic() < deadline and proc.poll() is None:
                text = handle.output()
                for kind, num in _ADDRESS_RE.findall(text):
                    if kind == "TCP":
                        tcp_port = int(num)
                    else:
                        udp_port = int(num)
                if tcp_port is not None and (udp_port is not None or not udp):
                    break
                time.sleep(0.05)
            if tcp_port is not None and (udp_port is not None or not udp) and \
               wait_for_port(tcp_port, max(1.0, deadline - time.monotonic()), proc):
                handle.port, handle.udp_port = tcp_port, udp_port
                return handle
            last = (f"original simulator did not come up on 127.0.0.1:{chosen} "
                    f"(exit {proc.poll()}): {' '.join(cmd)}\n{handle.output()[-2000:]}")
        except BaseException:
            handle.stop()
            handle.close_output()
            raise
        handle.stop()
        handle.close_output()
        if port not in (None, 0):
            break
    raise SimulatorFailed(last)


# ---------------------------------------------------------------------------------------------
# The clients
# ---------------------------------------------------------------------------------------------

def run_original_client(args, port, *, module="cpppo.server.enip.client", timeout=CLIENT_TIMEOUT,
                        check=False, host=LOOPBACK) -> subprocess.CompletedProcess:
    """Run ``python -m <module> --address 127.0.0.1:<port> <args...>`` from the original venv.

    ``module`` may also be "cpppo.server.enip.get_attribute" (for "@1/1/1"-style attribute reads,
    which it prints with --print rather than -p).  Output is captured as text; on timeout the client
    is killed and reaped, and subprocess.TimeoutExpired propagates.
    """
    if host != LOOPBACK:
        raise ValueError("the original client is only ever pointed at 127.0.0.1")
    py = venv_python(original_venv())
    cmd = [str(py), "-I", "-m", module, "--address", f"{host}:{int(port)}", *[str(a) for a in args]]
    with tempfile.TemporaryDirectory(prefix="cpppo-original-cli-") as cwd:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, check=check, cwd=cwd)
