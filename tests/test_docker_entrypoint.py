"""The cpppo image's entry point and build recipe, checked without a Docker engine.

Why: this machine (and CI) has the docker client but no engine, so the image cannot be built
here; what can go wrong in it is checked directly: the entry point script runs a command when its
first word is a program (``docker run cpppo python -m cpppo.server.enip ...``, as the original's
image documents) and hands anything else to ``twistd -n --pidfile= cpppo-enip``; the Dockerfile
copies only files that exist and no longer copies the plugins by hand (the wheel carries them).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.peers.process import LOOPBACK

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "cpppo" / "entrypoint.sh"
DOCKERFILE = ROOT / "docker" / "cpppo" / "Dockerfile"
#: PATH as in the image: the venv's scripts (twistd, python) first.
ENV = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def entrypoint(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(["sh", str(ENTRYPOINT), *argv], cwd=cwd, env=ENV, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_program_first_runs_that_command():
    done = entrypoint("python", "-c", "import cpppo.server.enip, sys; print('ran', sys.argv[1:])", "x")
    assert done.returncode == 0 and done.stdout.strip() == "ran ['x']", done


def test_options_go_to_the_simulator():
    done = entrypoint("--help")
    assert done.returncode == 0 and "twistd cpppo-enip" in done.stdout, done


def test_tags_serve_under_twistd():
    with tempfile.TemporaryDirectory() as cwd:
        out_path = Path(cwd) / "out"
        with out_path.open("wb") as out:
            proc = subprocess.Popen(["sh", str(ENTRYPOINT), "--no-config", "-a", f"{LOOPBACK}:0", "-A", "SCADA=INT[3]"],
                                    cwd=cwd, env=ENV, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                if "Network TCP Server address" in out_path.read_text():
                    break
                time.sleep(0.05)
            assert "Network TCP Server address" in out_path.read_text(), out_path.read_text()
            # exec: the simulator replaced the shell, so docker stop's SIGTERM reaches twistd itself.
            assert "twistd" in Path(f"/proc/{proc.pid}/cmdline").read_text()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
            proc.wait(15)


def test_dockerfile_copies_what_exists_and_no_plugins_by_hand():
    text = DOCKERFILE.read_text()
    for sources in re.findall(r"^COPY\s+(.+?)\s+\S+$", text, re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repository"
    assert "twisted/plugins/cpppo_" not in text
    assert 'ENTRYPOINT ["cpppo-entrypoint"]' in text
