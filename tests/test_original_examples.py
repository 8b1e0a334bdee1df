"""The original cpppo 5.2.5's example scripts, run unchanged against our package and our simulator.

Each script is copied at test time from the 5.2.5 package in its venv (``tests/peers/original.py``
builds it; nothing of it is committed here) and run twice, the same way: with our package against
our simulator, and with the original package against the original simulator; what they print must
be the same lines, but for timestamps (and, where a test says so, the values a script picks at
random).  The scripts reach their controller at ``localhost`` or a host given, on port 44818 fixed
in the script, so each run has a loopback of its own (``tests/peers/netns.py``: a network
namespace, ``unshare -rn``); the scripts that poll forever are stopped with SIGINT (a user's
Control-C) once they printed what the test waits for.

The PowerFlex examples (``poll_example*``, ``powerflex_motor_velocity``) talk to a simulated
PowerFlex 750: a simulator without routing (``-S``) serving its parameters as tags at their
CIP addresses (``Motor_Velocity@0x93/3/10=REAL``), given values with ``get_attribute`` first.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.peers import netns, original

pytestmark = pytest.mark.skipif(not netns.available(), reason="unshare -rn (a network namespace) is not permitted")

#: The examples, copied from the original package at test time.
EXAMPLES = ("io_example.py", "list_identity_simple.py", "list_identity_backplane.py", "thruput.py",
            "poll_example.py", "poll_example_simple.py", "poll_example_many.py", "poll_example_many_with_write.py",
            "poll_example_clogix.py", "simulator_example.py", "open_example.py", "powerflex_motor_velocity.py")

#: A PowerFlex 750's parameters (the original's ab.powerflex_750_series addresses) and the values given them.
POWERFLEX = (("Output_Frequency@0x93/1/10=REAL", "456.78"), ("Motor_Velocity@0x93/3/10=REAL", "789.01"),
             ("Output_Current@0x93/7/10=REAL", "123.45"), ("Elapsed_KwH@0x93/14/10=REAL", "987.65"),
             ("Speed_Units@0x93/300/10=DINT", "1"))

SIMULATOR_CFG = """\
[Simulator]
Something_Floating     = REAL        = 1.0
Many_Reals             = REAL[10]    = 0.1, 0.2, 0.3
INTS                   = INT[10]
Specific@123/4/5       = DINT        = 999
"""

_STAMPS = (re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: "),  # time.ctime()
           re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?: "))                    # history.timestamp()


class Side:
    """One of the two runs: its python (ours, or the original venv's), its folder of examples, and the
    environment its commands run with."""

    def __init__(self, name: str, python: list[str], folder: Path, env: dict[str, str]) -> None:
        self.name, self.python, self.folder, self.env = name, python, folder, env

    def script(self, name: str, *args: str, **kwds) -> netns.Command:
        return netns.Command([*self.python, str(self.folder / name), *args], env=self.env, **kwds)

    def module(self, name: str, *args: str, **kwds) -> netns.Command:
        return netns.Command([*self.python, "-m", name, *args], env=self.env, **kwds)

    def simulator(self, *args: str, **kwds) -> netns.Command:
        return self.module("cpppo.server.enip", "--no-config", *args, **kwds)


def _copy_examples(venv: Path, folder: Path) -> Path:
    package = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / \
        "cpppo" / "server" / "enip"
    folder.mkdir(parents=True, exist_ok=True)
    for name in EXAMPLES:
        shutil.copy(package / name, folder / name)
    (folder / "simulator_example.cfg").write_text(SIMULATOR_CFG)
    return folder


@pytest.fixture(scope="module")
def sides(original_venv, tmp_path_factory) -> dict[str, Side]:
    """Ours and the original's, each with its own copy of the examples (the scripts write nothing).

    The original's venv holds only what its simulator and client need (tests/peers/original.py);
    its ``cpppo.history`` (thruput, poll_example_many) also imports pytz: a copy of ours is put on
    its PYTHONPATH (``-s``: no user site; the venv's own packages come first).
    """
    import pytz

    extra = tmp_path_factory.mktemp("original-extra")
    shutil.copytree(Path(pytz.__file__).parent, extra / "pytz")
    return {"ours": Side("ours", [sys.executable], _copy_examples(original_venv, tmp_path_factory.mktemp("ours")),
                         {}),
            "theirs": Side("theirs", [str(original.venv_python(original_venv)), "-s"],
                           _copy_examples(original_venv, tmp_path_factory.mktemp("theirs")),
                           {"PYTHONPATH": str(extra)})}


def both(sides: dict[str, Side], tmp_path: Path, build) -> dict[str, netns.Run]:
    """*build(side)* -> a Spec, run for ours and for the original's, each isolated."""
    return {name: netns.isolated(build(side), tmp_path / name) for name, side in sides.items()}


def lines(text: str, having: str = "") -> list[str]:
    """*text*'s lines holding *having*, their timestamps dropped."""
    found = []
    for line in text.splitlines():
        for stamp in _STAMPS:
            line = stamp.sub("", line)
        if having in line:
            found.append(line.rstrip())
    return found


def powerflex(side: Side) -> tuple[netns.Command, netns.Command]:
    """A simulated PowerFlex 750, and the get_attribute run that gives its parameters their values."""
    values = [f"@{tag.split('@')[1].split('=')[0]}=({tag.split('=')[1]}){value}" for tag, value in POWERFLEX]
    return (side.simulator("-S", *(tag for tag, _ in POWERFLEX)),
            side.module("cpppo.server.enip.get_attribute", "-S", "-a", "127.0.0.1", *values))


# --- the examples that run to their end ----------------------------------------------------------

def test_io_example(sides, tmp_path):
    runs = both(sides, tmp_path, lambda side: netns.Spec(side.simulator("Tag=DINT[10]"),
                                                          [side.script("io_example.py")]))
    ours, theirs = runs["ours"].clients[0], runs["theirs"].clients[0]
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == theirs.stdout.splitlines() == [
        "              Tag[0][  0--7 ]+ 16 <= [4, 5, 6, 7, 8, 9]: 'OK'",
        "         @0x0002/1/1              == [0]: 'OK'",       # the Message Router's attribute 1: the first tag
        "              Tag[3][  3-5  ]+  0 == [0, 4, 5]: 'OK'"]


def test_thruput(sides, tmp_path):
    runs = both(sides, tmp_path, lambda side: netns.Spec(side.simulator("Volume=REAL", "Temperature=REAL"), [
        side.script("thruput.py", "-a", "127.0.0.1", "-r", "5", "-d", "3",
                                  "Volume", "Temperature")]))
    ours, theirs = runs["ours"].clients[0], runs["theirs"].clients[0]
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert lines(ours.stdout)[:10] == lines(theirs.stdout)[:10] == [f"{i:3d}: [0.0]" for i in range(10)]
    summary = r"^ 10 operations using  10 requests in +[\d.]+s at pipeline depth  3; +[\d.]+ TPS$"
    assert re.match(summary, lines(ours.stdout)[10]) and re.match(summary, lines(theirs.stdout)[10])


def test_list_identity_simple(sides, tmp_path):
    runs = both(sides, tmp_path, lambda side: netns.Spec(side.simulator("SCADA=INT[10]"), [
        side.script("list_identity_simple.py", "127.0.0.1")]))
    ours, theirs = runs["ours"].clients[0], runs["theirs"].clients[0]
    assert ours.returncode == theirs.returncode == 0, ours.stderr

    def same(text: str) -> list[str]:  # the original's UDP server says state 255 (its hexdump's last byte)
        return [line for line in text.splitlines() if ".state'" not in line and "LOGIX5561" not in line]
    assert same(ours.stdout) == same(theirs.stdout)
    assert "    'enip.CIP.list_identity.CPF.item[0].identity_object.state': 3," in ours.stdout.splitlines()
    assert "'enip.CIP.list_identity.CPF.item[0].identity_object.product_name': '1756-L61/B LOGIX5561'," in ours.stdout


def test_list_identity_backplane(sides, tmp_path):
    runs = both(sides, tmp_path, lambda side: netns.Spec(side.simulator("SCADA=INT[10]"), [
        side.script("list_identity_backplane.py", "-a", "127.0.0.1", "-t", "1")]))
    ours, theirs = runs["ours"].clients[0], runs["theirs"].clients[0]
    assert ours.returncode == theirs.returncode == 0, ours.stderr + ours.stdout
    assert [line for line in lines(ours.stdout) if "Slot" in line] == \
           [line for line in lines(theirs.stdout) if "Slot" in line]
    assert len([line for line in lines(ours.stdout) if "Slot" in line]) == 16  # a route to each slot is accepted


def test_powerflex_motor_velocity(sides, tmp_path):
    def spec(side: Side) -> netns.Spec:
        server, values = powerflex(side)
        check = side.module("cpppo.server.enip.get_attribute", "-S", "-a", "127.0.0.1",
                                          "@0x93/3/10")
        return netns.Spec(server, [values, side.script("powerflex_motor_velocity.py", "@127.0.0.1",
                                                                     "123.45"), check])
    runs = both(sides, tmp_path, spec)
    ours, theirs = runs["ours"].clients, runs["theirs"].clients
    assert ours[1].returncode == theirs[1].returncode == 0, ours[1].stderr
    assert lines(ours[1].stdout) == lines(theirs[1].stdout)
    assert lines(ours[1].stdout)[0].startswith("Motor Velocity = (REAL)123.45")
    assert lines(ours[2].stdout, "==")[0].endswith("== [102, 230, 246, 66]")  # 123.45 as a REAL's bytes
    assert lines(ours[2].stdout) == lines(theirs[2].stdout)


# --- the examples that poll until stopped --------------------------------------------------------

def test_poll_example_simple(sides, tmp_path):
    runs = both(sides, tmp_path, lambda side: netns.Spec(side.simulator("SCADA=INT[10]"), [
        side.script("poll_example_simple.py", "127.0.0.1", until=[r"@1/1/1.* == ", r"@1/1/7.* == "],
                      timeout=30)]))
    ours, theirs = runs["ours"].clients[0], runs["theirs"].clients[0]
    assert ours.matched and theirs.matched, ours.stderr
    assert set(lines(ours.stderr, " == ")) == set(lines(theirs.stderr, " == "))


def test_poll_example(sides, tmp_path):
    def spec(side: Side) -> netns.Spec:
        server, values = powerflex(side)
        return netns.Spec(server, [values, side.script("poll_example.py", "127.0.0.1",
                                                        until=["Motor Velocity == ", "Output Current == "],
                                                        timeout=30)])
    runs = both(sides, tmp_path, spec)
    ours, theirs = runs["ours"].clients[1], runs["theirs"].clients[1]
    assert ours.matched and theirs.matched, ours.stdout + ours.stderr
    assert set(lines(ours.stdout, " == ")) == set(lines(theirs.stdout, " == "))
    assert "  Motor Velocity == [789.010009765625]" in lines(ours.stdout)


MANY = ["Output Frequency", "Motor Velocity", "Output Current", "Elapsed KwH", "Speed Units"]


def test_poll_example_many(sides, tmp_path):
    def spec(side: Side) -> netns.Spec:
        server, values = powerflex(side)
        return netns.Spec(server, [values, side.script("poll_example_many.py", "127.0.0.1",
                                                        until=[f"{name} == " for name in MANY], timeout=40)])
    runs = both(sides, tmp_path, spec)
    ours, theirs = runs["ours"].clients[1], runs["theirs"].clients[1]
    assert ours.matched and theirs.matched, ours.stdout + ours.stderr
    assert set(lines(ours.stdout, " == ")) == set(lines(theirs.stdout, " == "))
    assert "     Speed Units == [1]" in lines(ours.stdout)


def test_poll_example_many_with_write(sides, tmp_path):
    def spec(side: Side) -> netns.Spec:
        server, values = powerflex(side)
        return netns.Spec(server, [values, side.script(
            "poll_example_many_with_write.py", "127.0.0.1",
            until=[*(f"{name} +== " for name in MANY), r"Motor Velocity = \(REAL\)"], timeout=60)])
    runs = both(sides, tmp_path, spec)
    ours, theirs = runs["ours"].clients[1], runs["theirs"].clients[1]
    assert ours.matched and theirs.matched, ours.stdout + ours.stderr

    def shown(text: str) -> set[str]:  # the velocity written, and then read, is random
        return {re.sub(r" +", " ", re.sub(r"\(REAL\)[\d.]+|== \[[\d.e-]+\]$", "#", line))
                if "Motor Velocity" in line else line for line in lines(text, " == ")}
    assert shown(ours.stdout) == shown(theirs.stdout)
    written = [line for line in lines(ours.stdout) if "Motor Velocity = (REAL)" in line]
    assert written and all(line.endswith("== True") for line in written), written


def test_poll_example_clogix(sides, tmp_path):
    runs = both(sides, tmp_path, lambda side: netns.Spec(side.simulator("A63FGRDT=REAL", "T455ADT=DINT"), [
        side.script("poll_example_clogix.py", "127.0.0.1",
                      until=["@1/1/1.* == ", "@1/1/7.* == ", "A63FGRDT == ", "T455ADT == "], timeout=30)]))
    ours, theirs = runs["ours"].clients[0], runs["theirs"].clients[0]
    assert ours.matched and theirs.matched, ours.stdout + ours.stderr
    assert set(lines(ours.stdout, " == ")) == set(lines(theirs.stdout, " == "))
    assert any("blah de blah" in line for line in lines(ours.stdout))  # the tag that is not there: its failure


def test_open_example(sides, tmp_path):
    runs = both(sides, tmp_path, lambda side: netns.Spec(side.simulator("A63FGRDT=REAL", "T455ADT=DINT"), [
        side.script("open_example.py", "127.0.0.1", until=["A63FGRDT.* == ", "T455ADT.* == "],
                      count=2, timeout=30)]))
    ours, theirs = runs["ours"].clients[0], runs["theirs"].clients[0]
    assert ours.matched, ours.stdout + ours.stderr
    assert set(lines(ours.stdout, " == ")) == {      # the original's summary lines (its -p format)
        "            A63FGRDT              == [0.0]: 'OK'", "             T455ADT              == [0]: 'OK'"}
    # 5.2.5 cannot run its own example: its implicit() passes T_O_NCP on to a client() that takes none
    assert theirs.returncode == 1 and "unexpected keyword argument 'T_O_NCP'" in theirs.stderr


# --- the example that is a simulator -------------------------------------------------------------

def test_simulator_example(sides, tmp_path):
    reads = ["Something_Floating", "Many_Reals[0-3]", "INTS[0-1]"]

    def spec(side: Side) -> netns.Spec:
        server = side.script("simulator_example.py", "--no-config", "-a", "127.0.0.1:44818")
        # The example sets its tags' first values in its first idle_service call.  The original makes
        # that call once 0.1 s passed with no new connection, so a client quicker than that reads the
        # values from before (ours calls it at start-up): give the original's its first call.
        pause = netns.Command([*side.python, "-c", "import time; time.sleep(1.0)"], env=side.env)
        return netns.Spec(server, [
            pause,
            side.module("cpppo.server.enip.client", "-a", "127.0.0.1", "-p", *reads),
            side.module("cpppo.server.enip.get_attribute", "-a", "127.0.0.1", "@123/4/5")])
    runs = both(sides, tmp_path, spec)
    ours, theirs = runs["ours"].clients[1:], runs["theirs"].clients[1:]
    assert ours[0].returncode == theirs[0].returncode == 0, ours[0].stderr + runs["ours"].server.stderr
    assert ours[0].stdout == theirs[0].stdout   # the values the example's idle_service set from its [Simulator]
    assert "Something_Floating              == [1.0]: 'OK'" in ours[0].stdout
    assert lines(ours[1].stdout) == lines(theirs[1].stdout)
    assert lines(ours[1].stdout)[0].endswith("== [231, 3, 0, 0]")  # 999, a DINT, at its CIP address
