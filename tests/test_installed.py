"""The package as users install it: built into a wheel and an sdist, installed into a fresh venv.

Why: a checkout hides what a wheel forgets.  The twistd plugins live in ``twisted/plugins`` (a
namespace, not a package of ours), and the tests read data files (L5X, CSV, TOML, golden frames);
either can go missing from the wheel while every test in the checkout passes.  So this module
builds the sdist and, from it, the wheel (``python -m build``, as a release would), installs the
wheel with its ``test`` extra into a throwaway venv, and runs from there what a user runs first:
``twistd --help`` and both plugins serving, every console script, and ``trial cpppo.tests``; once
with this Python, and once more with the newest other CPython 3.12+ the machine has.

Everything happens under one temporary folder, from a copy of the checkout (building writes
``*.egg-info`` and ``build/`` beside the sources); the venv installs from the package index (or
pip's cache).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from tests.enip_server_fixture import TwistdEnipServer
from tests.peers.process import LOOPBACK

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = sorted(p.name for p in (ROOT / "twisted" / "plugins").glob("*.py"))
DATA = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "cpppo" / "tests").glob("*/**/*") if p.is_file()
              and "__pycache__" not in p.parts)
SCRIPTS = ("enip_server", "enip_client", "enip_get_attribute", "modbus_sim", "modbus_poll")
#: Folders of the repository that are not part of the package.
NOT_SHIPPED = ("tests/", "bench/", "docker/", ".ci/")


def _pythons() -> list[str]:
    """This interpreter, and the newest other CPython 3.12+ that runs on the machine (if any)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (14, 13, 12)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    for python in filter(None, candidates):
        try:  # a pyenv shim is on PATH even where its version is not selected: it must run
            done = subprocess.run([python, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == "True":
            return [sys.executable, python]
    return [sys.executable]


class Dist:
    """The sdist and the wheel built from it."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist

    @property
    def wheel(self) -> Path:
        return next(self.dist.glob("*.whl"))

    @property
    def sdist(self) -> Path:
        return next(self.dist.glob("*.tar.gz"))


class Installed:
    """A venv (of one Python) the wheel went into."""

    def __init__(self, top: Path, python: str) -> None:
        self.top = top
        self.python = python
        self.venv = top / "venv"
        self.work = top / "work"  # the working folder of every command run from the venv

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """A command of the venv, in the work folder, with none of the checkout on its path."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run([self.bin(argv[0]), *argv[1:]], cwd=self.work, env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _copy_sources(dest: Path) -> None:
    """The checkout's sources, without venvs, caches and build leftovers."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "__pycache__", "build", "dist", "*.egg-info", "_trial_temp*", "cpppo.tests.*",
        ".hypothesis", ".pytest_cache", "dropin.cache", ".tools"))


def _check(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Dist:
    top = tmp_path_factory.mktemp("built")
    _copy_sources(top / "src")
    _check(subprocess.run([sys.executable, "-m", "build", "-o", str(top / "dist"), str(top / "src")],
                          capture_output=True, text=True, timeout=600), "python -m build")
    return Dist(top / "dist")


@pytest.fixture(scope="module", params=_pythons(),
                ids=lambda p: "this-python" if p == sys.executable else "newest-python")
def installed(request, built, tmp_path_factory) -> Installed:
    inst = Installed(tmp_path_factory.mktemp("installed"), request.param)
    inst.work.mkdir()
    _check(subprocess.run([inst.python, "-m", "venv", str(inst.venv)], capture_output=True, text=True,
                          timeout=120), "python -m venv")
    _check(subprocess.run([inst.bin("python"), "-m", "pip", "install", "-q", f"{built.wheel}[test]"],
                          capture_output=True, text=True, timeout=600), "pip install the wheel")
    return inst


def test_wheel_carries_plugins_and_data_and_nothing_else(built):
    names = zipfile.ZipFile(built.wheel).namelist()
    assert sorted(n.rpartition("/")[2] for n in names if n.startswith("twisted/plugins/")) == PLUGINS
    assert not [n for n in names if n.endswith("dropin.cache")]
    missing = [d for d in DATA if d not in names]
    assert not missing, f"test data missing from the wheel: {missing}"
    strays = [n for n in names if not re.match(r"(cpppo/|twisted/plugins/|cpppo-[^/]+\.dist-info/)", n)]
    assert not strays, f"the wheel ships files outside the package: {strays}"


def test_sdist_builds_the_same_and_leaves_the_repository_tools_out(built):
    with tarfile.open(built.sdist) as tar:
        names = [n.partition("/")[2] for n in tar.getnames()]
    assert {f"twisted/plugins/{p}" for p in PLUGINS} <= set(names)
    assert set(DATA) <= set(names)
    assert not [n for n in names if n.endswith("dropin.cache") or n.startswith(NOT_SHIPPED)]


def test_installed_package_is_imported_not_the_checkout(installed):
    where = _check(installed.run("python", "-c", "import cpppo; print(cpppo.__file__)"), "import cpppo").stdout
    assert str(installed.venv) in where and str(ROOT) not in where


def test_twistd_lists_every_plugin(installed):
    out = _check(installed.run("twistd", "--help"), "twistd --help").stdout
    assert all(re.search(rf"^\s+{name}\s", out, re.M) for name in ("cpppo-enip", "cpppo-modbus", "cpppo-plant")), out


def test_console_scripts_start(installed):
    for script in SCRIPTS:
        out = _check(installed.run(script, "--help"), f"{script} --help").stdout
        assert out.startswith("usage:"), (script, out[:200])


def test_twistd_cpppo_enip_serves(installed):
    twistd = Path(installed.bin("twistd"))
    with TwistdEnipServer.start(["SCADA=INT[10]"], twistd=twistd) as server:
        done = installed.run("enip_client", "-a", f"{LOOPBACK}:{server.port}", "-p", "SCADA[1]=99", "SCADA[0-2]")
        assert done.returncode == 0, done.stderr
        assert "SCADA[0][  0-2  ]+  0 == [0, 99, 0]: 'OK'" in done.stdout, done.stdout


def test_twistd_cpppo_modbus_serves(installed):
    with (installed.work / "modbus.out").open("wb") as out:
        proc = subprocess.Popen([installed.bin("twistd"), "-n", "--pidfile=", "cpppo-modbus", "--address",
                                 f"{LOOPBACK}:0", "-A", "40001-40003=7"], cwd=installed.work, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(rf"^{re.escape(LOOPBACK)}:(\d+)$", (installed.work / "modbus.out").read_text(), re.M)
            port = found and int(found.group(1))
            time.sleep(0.05)
        assert port, (installed.work / "modbus.out").read_text()
        poll = installed.run("python", "-c", "from pymodbus.client import ModbusTcpClient\n"
                             f"c = ModbusTcpClient('{LOOPBACK}', port={port}); c.connect()\n"
                             "print(c.read_holding_registers(0, count=3).registers); c.close()")
        assert _check(poll, "pymodbus read").stdout.strip() == "[7, 7, 7]"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
        proc.wait(15)


def test_twistd_cpppo_plant_serves(installed):
    (installed.work / "plant.toml").write_text(f'[[controllers]]\nname = "one{{i}}"\ncount = 2\n'
                                               f'address = "{LOOPBACK}:0"\ntags = ["SCADA=INT[4]"]\n'
                                               f'[[controllers]]\nname = "two"\naddress = "127.0.0.3:0"\n'
                                               f'tags = ["SCADA=INT[4]"]\n')
    with (installed.work / "plant.out").open("wb") as out:
        proc = subprocess.Popen([installed.bin("twistd"), "-n", "--pidfile=", "cpppo-plant", "-A", "--shard", "0/2",
                                 "plant.toml"], cwd=installed.work, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(rf"one0 enip {re.escape(LOOPBACK)}:(\d+)", (installed.work / "plant.out").read_text())
            port = found and int(found.group(1))
            time.sleep(0.05)
        text = (installed.work / "plant.out").read_text()
        assert port and "two enip" in text and "one1" not in text, text  # shard 0 of 2: entries 0 and 2
        done = installed.run("enip_client", "-a", f"{LOOPBACK}:{port}", "-p", "SCADA[1]=99", "SCADA[0-2]")
        assert done.returncode == 0 and "SCADA[0][  0-2  ]+  0 == [0, 99, 0]: 'OK'" in done.stdout, done.stdout
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
        proc.wait(15)


def test_trial_cpppo_tests_passes_from_the_wheel(installed):
    done = installed.run("trial", f"--temp-directory={installed.top / '_trial_temp'}", "cpppo.tests", timeout=600)
    tail = done.stdout[-3000:]
    assert done.returncode == 0 and "PASSED" in tail, tail + done.stderr[-2000:]
