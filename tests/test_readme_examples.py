"""README.md's examples, run as written: a newcomer copies them first.

Why: an example that drifted from the code is the first thing a new user meets, and it fails them
silently (it did: the client example used a tag the simulator it started did not serve).  These
tests read the examples out of README.md itself, run them, and compare what they print with what
the README shows (timings and addresses aside).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.enip_server_fixture import TwistdEnipServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced(after: str, language: str = "") -> str:
    """The first fenced block (of *language*) following the text *after*."""
    start = README.index(after)
    found = re.compile(rf"^```{language}\n(.*?)^```$", re.M | re.S).search(README, start)
    assert found, f"no ```{language} block after {after!r}"
    return found.group(1)


def test_client_example_prints_what_readme_shows():
    intro = "original cpppo's options and output, so scripts that parse it keep working."
    serving = re.search(r"`python -m cpppo\.server\.enip -a 127\.0\.0\.1:44818 ([^`]*)`", README[README.index(intro):])
    assert serving, "the example names the simulator it runs against"
    block = fenced(intro).splitlines()
    command = block[0].removeprefix("$ ")
    shown_out = [line for line in block[1:] if line.startswith(" ")]
    shown_err = [line for line in block[1:] if line.startswith("enip_client:")]
    status = int(block[block.index("$ echo $?") + 1])
    with TwistdEnipServer.start(shlex.split(serving.group(1))) as server:
        argv = shlex.split(command.replace("127.0.0.1:44818", f"127.0.0.1:{server.port}"))
        assert argv[:3] == ["python", "-m", "cpppo.server.enip.client"]
        with tempfile.TemporaryDirectory() as cwd:
            done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=60, cwd=cwd)
    assert done.stdout.splitlines() == shown_out
    assert [line for line in done.stderr.splitlines() if line.startswith("enip_client:")] == shown_err
    assert done.returncode == status


def test_codec_example_prints_what_readme_shows():
    code = fenced("misuse raises `LocalProtocolError`.", "python")
    shown = [line[2:] for line in code.splitlines() if line.startswith("# ")]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    assert printed[-len(shown):] == shown and printed[0] == "NEED_DATA"
