"""Our client speaks every Logix type our simulator serves: STRING and SSTRING, STRING arrays,
BOOL[] elements, bits of integers, 2-D arrays and (nested) user-defined types, through the command
line (a subprocess, as users run it), the blocking ``connector`` and the Deferred API (in a
subprocess: the test process keeps no reactor), against our simulator and, for the types it has,
the original cpppo 5.2.5 simulator.  Each value written is checked by a second client: pycomm3 on
our simulator, the original's own client on the original's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pycomm3
import pytest
from pycomm3.packets import GenericUnconnectedRequestPacket
from pycomm3.packets.cip import SendRRDataRequestPacket
from pycomm3.packets.util import wrap_unconnected_send

from cpppo.enip.client.connector import connector
from tests import enip_server_fixture as fx
from tests.peers import original

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "cpppo" / "tests" / "data"
# Motor and Line (a Line holds a Motor) UDTs, and Text=STRING Names=STRING[4] Short=SSTRING Bits=BOOL[64]
# Flags=DINT Grid=DINT[5,5] Counts=INT[4], Panel1 (a UDT with a BOOL[40] member)
TAGS = ("--tags", str(DATA / "tagfile.toml"), "--tags", str(DATA / "logix_types.toml"))
TIMEOUT = 60


@pytest.fixture(scope="module")
def ours():
    with fx.serving(TAGS) as server:
        yield server


def run(args, timeout=TIMEOUT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def cli(port, *tags):
    return run(["-m", "cpppo.server.enip.client", "-a", f"127.0.0.1:{port}", "-p", *tags])


def printed(port, *tags):
    """The ``-p`` lines of a command line that must succeed, stripped of their padding."""
    done = cli(port, *tags)
    assert done.returncode == 0, done.stderr
    return [line.strip() for line in done.stdout.splitlines()]


def plc(port):
    return pycomm3.LogixDriver(f"127.0.0.1:{port}/0")


def test_cli_strings_bits_arrays_and_structures(ours):
    assert printed(ours.port, "Text=(STRING)hello", "Text", "Names[2]=(STRING)pump", "Names[0-3]",
                   "Short=(SSTRING)short one", "Short", "Bits[35]=1", "Bits[35]", "Bits[32-36]", "Flags=(DINT)1",
                   "Flags.5=1", "Flags.5", "Flags", "Grid[2,3]=(DINT)23", "Grid[2,3]", "Motor1",
                   "Lines[1].Motor.Speed=7.5", "Lines[1].Motor", "Lines[1].Count.40=1", "Motor1.Faults[1].1",
                   "Motor1.Faults[0].3=1", "Motor1.Faults[0]", "Panel1.Lamps[33]=1", "Panel1.Code") == [
        "Text              <= ['hello']: 'OK'",
        "Text              == ['hello']: 'OK'",
        "Names[2][  2-2  ]+  0 <= ['pump']: 'OK'",
        "Names[0][  0-3  ]+  0 == ['', '', 'pump', '']: 'OK'",
        "Short              <= ['short one']: 'OK'",
        "Short              == ['short one']: 'OK'",
        "Bits[35][ 35-35 ]+  0 <= [1]: 'OK'",
        "Bits[35][ 35-35 ]+  0 == [True]: 'OK'",
        "Bits[32][ 32-36 ]+  0 == [False, False, False, True, False]: 'OK'",
        "Flags              <= [1]: 'OK'",
        "Flags.5              <= [1]: 'OK'",
        "Flags.5              == [True]: 'OK'",
        "Flags              == [33]: 'OK'",
        "Grid[2,3][  3-3  ]+  0 <= [23]: 'OK'",
        "Grid[2,3][  3-3  ]+  0 == [23]: 'OK'",
        "Motor1              == [{'Speed': 1.5, 'Running': True, 'Faulted': False, 'Faults': [1, 2, 0, 0], "
        "'Label': 'conveyor'}]: 'OK'",
        "Lines[1].Motor.Speed              <= [7.5]: 'OK'",
        "Lines[1].Motor              == [{'Speed': 7.5, 'Running': False, 'Faulted': False, 'Faults': [0, 0, 0, 0], "
        "'Label': ''}]: 'OK'",
        "Lines[1].Count.40              <= [1]: 'OK'",
        "Motor1.Faults[1].1              == [True]: 'OK'",
        "Motor1.Faults[0].3              <= [1]: 'OK'",
        "Motor1.Faults[0][  0-0  ]+  0 == [9]: 'OK'",
        "Panel1.Lamps[33][ 33-33 ]+  0 <= [1]: 'OK'",
        "Panel1.Code              == [7]: 'OK'",
    ]
    with plc(ours.port) as second:   # pycomm3's opinion of what we wrote
        assert second.read("Text").value == "hello"
        assert second.read("Names{4}").value == ["", "", "pump", ""]
        assert second.read("Short").value == "short one"
        assert second.read("Bits[35]").value is True and second.read("Bits[34]").value is False
        assert second.read("Flags").value == 33          # bit 5 set, bit 0 kept: nothing else touched
        assert second.read("Grid[2,3]").value == 23 and second.read("Grid[3,2]").value == 0
        assert second.read("Lines[1].Motor.Speed").value == 7.5
        assert second.read("Lines[1].Count").value == 1 << 40          # a bit of a LINT member
        assert second.read("Motor1.Faults{4}").value == [9, 2, 0, 0]   # bit 3 of a member's element, alone
        assert not second.write("Motor1.Faults[0]", 1).error            # (as the other tests expect it)
        lamps = second.read("Panel1").value["Lamps"]                    # a structure's BOOL[] member
        assert [i for i, lamp in enumerate(lamps) if lamp] == [33]


def test_cli_clears_bits_without_touching_the_rest(ours):
    with plc(ours.port) as second:
        assert not second.write("Flags", 0b1111).error
        assert not second.write("Bits[0]{64}", [True] * 64).error
    lines = printed(ours.port, "Flags.2=0", "Bits[40]=(BOOL)0", "Flags.2", "Bits[40]")
    assert lines[2:] == ["Flags.2              == [False]: 'OK'", "Bits[40][ 40-40 ]+  0 == [False]: 'OK'"]
    with plc(ours.port) as second:
        assert second.read("Flags").value == 0b1011
        bits = second.read("Bits[0]{64}").value
        assert bits[40] is False and bits.count(False) == 1


def test_cli_failures_name_the_operation_and_the_status(ours):
    done = cli(ours.port, "NOPE", "Counts[9]", "Grid[2,3]=(REAL)1.5", "Counts[1]", "Names[7]")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    failures = [line for line in done.stderr.splitlines() if line.startswith("enip_client:")]
    assert failures == [
        "enip_client: NOPE: 0x04 path segment error (no such tag or object)",
        "enip_client: Counts[9]: 0xFF/0x2105 beyond the end of the tag",
        "enip_client: Grid[2,3]: 0xFF/0x2107 data type mismatch (not the tag's type)",
        "enip_client: Names[7]: 0xFF/0x2105 beyond the end of the tag",
    ]
    assert "Counts[1][  1-1  ]+  0 == [0]: 'OK'" in done.stdout


def test_blocking_connector_keeps_raw_structures_unless_asked(ours):
    with plc(ours.port) as second:
        assert not second.write("Names[1]", "two").error
    with connector("127.0.0.1", ours.port, timeout=10) as conn:
        (raw, names, bit), = [tuple(r[5] for r in conn.pipeline(["Motor1", "Names[0-1]", "Bits[35]"]))]
        assert isinstance(raw, list) and len(raw) == 112 and all(isinstance(b, int) for b in raw)   # the original's
        assert names == ["", "two"] and bit in ([True], [False])
        decoded = [r[5] for r in conn.pipeline(["Motor1", "Lines[0-1]"], structures=True, multiple=500, depth=2)]
    assert decoded[0][0]["Label"] == "conveyor" and decoded[0][0]["Faults"] == [1, 2, 0, 0]
    assert [line["Motor"]["Label"] for line in decoded[1]] == ["", ""] and decoded[1][0]["Count"] == 0
    with connector("127.0.0.1", ours.port, timeout=10, structures=True) as conn:
        assert list(conn.results(["Motor1.Faults[1]"])) == [[2]]
        assert list(conn.results(["Lines[2]"]))[0][0]["Motor"]["Speed"] == 0.0


DEFERRED = """
    import json, sys
    from twisted.internet import defer, task
    from cpppo.server.enip.client import connect

    async def main(reactor, port):
        client = await connect("127.0.0.1", int(port), timeout=10)
        out = {}
        out["write"] = await client.write("Names[3]=(STRING)four")
        out["write_bit"] = await client.write("Bits[9]=1")
        for tag in ("Motor1", "Lines[0-1]", "Names[2-3]", "Bits[9]", "Flags.0", "Grid[2,3]", "Text", "Panel1"):
            out[tag] = await client.read(tag)
        results = await client.pipeline(["Grid[2,3]", "Flags.5", "Lines[1].Motor"], depth=3, multiple=500)
        out["described"] = [r[1] for r in results]
        await client.close()
        print(json.dumps(out))

    task.react(lambda reactor: defer.ensureDeferred(main(reactor, sys.argv[1])))
"""


def test_deferred_api_decodes_every_type(ours):
    with plc(ours.port) as second:
        assert not second.write("Grid[2,3]", 23).error and not second.write("Text", "hello").error
        assert not second.write("Flags", 33).error
    done = run(["-c", textwrap.dedent(DEFERRED), str(ours.port)])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["write"] is True and out["write_bit"] is True
    assert out["Motor1"][0] == {"Speed": 1.5, "Running": True, "Faulted": False, "Faults": [1, 2, 0, 0],
                                "Label": "conveyor"}
    assert [set(line) for line in out["Lines[0-1]"]] == [{"Motor", "Count"}] * 2
    assert [i for i, lamp in enumerate(out["Panel1"][0]["Lamps"]) if lamp] == [33]   # (as pycomm3 decodes it)
    assert out["Names[2-3]"][1] == "four" and out["Bits[9]"] == [True] and out["Flags.0"] == [True]
    assert out["Grid[2,3]"] == [23] and out["Text"] == ["hello"]
    assert out["described"] == ["Multi. Read  Tag  Grid[2,3]", "Multi. Read  Tag  Flags.5",
                                "Multi. Read  Tag  Lines[1].Motor"]
    with plc(ours.port) as second:
        assert second.read("Names[3]").value == "four" and second.read("Bits[9]").value is True


ORIGINAL_TAGS = ("TEXT=STRING", "NAMES=STRING[4]", "SHORT=SSTRING", "FLAGS=DINT", "BITS=BOOL[4]", "SCADA=INT[10]")


@pytest.fixture(scope="module")
def theirs(original_venv):
    with original.start_original_simulator(ORIGINAL_TAGS) as sim:   # (stopped and its files removed after)
        yield sim


class Pycomm3TagRead(GenericUnconnectedRequestPacket):
    """pycomm3's own Read Tag (0x4C) of a symbolic path, inside its Unconnected Send: its
    ``generic_message`` takes only class and instance ids, and its ``LogixDriver`` needs the Symbol
    object the original simulator does not serve.  The reply is decoded with pycomm3's types."""

    def __init__(self, name: str, element: int | None, count: int, route_path: bytes) -> None:
        super().__init__(service=0x4C, class_code=0, instance=0, request_data=pycomm3.UINT.encode(count),
                         route_path=route_path, unconnected_send=True)
        segments = [pycomm3.DataSegment(name)] + ([pycomm3.LogicalSegment(element, "member_id")]
                                                  if element is not None else [])
        self.tag_path = pycomm3.PADDED_EPATH.encode(segments, length=True)

    def _setup_message(self) -> None:
        SendRRDataRequestPacket._setup_message(self)
        self._msg += [wrap_unconnected_send(b"".join((self.service, self.tag_path, self.request_data)),
                                            self.route_path)]


def pycomm3_reads(port, reads):
    """pycomm3's opinion of tags of the original simulator: ``{name: value}`` for each
    ``(name, element, count, pycomm3 type)``."""
    values = {}
    with pycomm3.CIPDriver(f"127.0.0.1:{port}") as driver:
        route = pycomm3.PADDED_EPATH.encode(driver._cfg["cip_path"], length=True, pad_length=True)
        for name, element, count, kind in reads:
            reply = driver.send(Pycomm3TagRead(name, element, count, route))
            assert not reply.error, (name, reply.error)
            values[name] = kind.decode(reply.data[2:])   # (after the type code)
    return values


def test_same_commands_against_the_original_simulator(theirs):
    """Its STRING is a CIP STRING (0xD0): the Logix form is refused, the CIP form goes, and is
    remembered for the connection; its BOOL[] is of bytes, read as they are and written as a BOOL
    (with or without the cast); it has no Read Modify Write, so a bit is only read."""
    assert printed(theirs.port, "TEXT=(STRING)hello", "TEXT=(STRING)odd", "TEXT", "NAMES[2]=(STRING)pump",
                   "NAMES[0-3]", "SHORT=(SSTRING)hi", "SHORT", "FLAGS=(DINT)33", "FLAGS.5", "FLAGS.1",
                   "BITS[2]=(BOOL)1", "BITS[2]", "BITS[3]=1", "BITS[0-3]") == [
        "TEXT              <= ['hello']: 'OK'",
        "TEXT              <= ['odd']: 'OK'",
        "TEXT              == ['odd']: 'OK'",
        "NAMES[2][  2-2  ]+  0 <= ['pump']: 'OK'",
        "NAMES[0][  0-3  ]+  0 == ['', '', 'pump', '']: 'OK'",
        "SHORT              <= ['hi']: 'OK'",
        "SHORT              == ['hi']: 'OK'",
        "FLAGS              <= [33]: 'OK'",
        "FLAGS.5              == [True]: 'OK'",
        "FLAGS.1              == [False]: 'OK'",
        "BITS[2][  2-2  ]+  0 <= [True]: 'OK'",
        "BITS[2][  2-2  ]+  0 == [True]: 'OK'",
        "BITS[3][  3-3  ]+  0 <= [1]: 'OK'",
        "BITS[0][  0-3  ]+  0 == [False, False, True, True]: 'OK'",
    ]
    second = original.run_original_client(["-p", "TEXT", "NAMES[0-3]", "SHORT", "FLAGS", "BITS[2]"], theirs.port)
    assert second.returncode == 0, second.stderr
    assert "TEXT              == ['odd']" in second.stdout and "['', '', 'pump', '']" in second.stdout
    assert "SHORT              == ['hi']" in second.stdout and "FLAGS              == [33]" in second.stdout
    assert "BITS[2][  2-2  ]+  0 == [True]" in second.stdout
    assert pycomm3_reads(theirs.port, [("TEXT", None, 1, pycomm3.STRING), ("NAMES", 0, 4, pycomm3.STRING[4]),
                                       ("SHORT", None, 1, pycomm3.SHORT_STRING), ("FLAGS", None, 1, pycomm3.DINT),
                                       ("BITS", 0, 4, pycomm3.BOOL[4])]) == {
        "TEXT": "odd", "NAMES": ["", "", "pump", ""], "SHORT": "hi", "FLAGS": 33, "BITS": [False, False, True, True]}


def test_failures_against_the_original_simulator(theirs):
    """What the original refuses as a whole request (an unknown tag, a Read Modify Write: status
    0x08, and it ends the session) is named with the operation; a bit of a STRING or beyond a DINT
    fails as on our simulator; a packet's read of a BOOL[] a refused write of it was then written
    to is read after that write."""
    for tags, named in ((["NOPE"], "NOPE"), (["FLAGS.5=1"], "FLAGS.5")):
        done = cli(theirs.port, *tags)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"enip_client: {named}: EtherNet/IP status 0x08 to command 0x006F from "), \
            done.stderr
    done = cli(theirs.port, "TEXT.3", "FLAGS.40", "FLAGS")
    assert done.stderr.splitlines() == ["enip_client: TEXT.3: 0xFF/0x2107 data type mismatch (not the tag's type)",
                                        "enip_client: FLAGS.40: 0x03 invalid parameter value"]
    assert printed(theirs.port, "-m", "BITS[0]=1", "BITS[1]=(BOOL)0", "BITS[0-1]", "SCADA[0]") == [
        "BITS[0][  0-0  ]+  0 <= [1]: 'OK'",
        "BITS[1][  1-1  ]+  0 <= [False]: 'OK'",
        "BITS[0][  0-1  ]+  0 == [True, False]: 'OK'",
        "SCADA[0][  0-0  ]+  0 == [0]: 'OK'",
    ]
    assert pycomm3_reads(theirs.port, [("BITS", 0, 2, pycomm3.BOOL[2])]) == {"BITS": [True, False]}


ORIGINAL_DEFERRED = """
    import json, sys
    from twisted.internet import defer, task
    from cpppo.server.enip.client import connect

    async def main(reactor, port):
        client = await connect("127.0.0.1", int(port), timeout=10)
        out = {"writes": [await client.write(tag) for tag in ("NAMES[1]=(STRING)on", "SHORT=(SSTRING)s", "BITS[1]=1")]}
        for tag in ("NAMES[0-3]", "SHORT", "BITS[0-3]", "FLAGS.0", "FLAGS.5"):
            out[tag] = await client.read(tag)
        await client.close()
        print(json.dumps(out))

    task.react(lambda reactor: defer.ensureDeferred(main(reactor, sys.argv[1])))
"""


def test_both_apis_against_the_original_simulator(theirs):
    """The Deferred API (in a subprocess) and the blocking connector speak the original's STRING,
    SSTRING, BOOL[] and DINT bits as the command line does.  (The strings of an array are of even
    length here: the original pads odd ones to a word, which pycomm3's STRING[n] does not skip.)"""
    with connector("127.0.0.1", theirs.port, timeout=10) as conn:
        results = list(conn.pipeline(["FLAGS=(DINT)3", "TEXT=(STRING)blocking", "NAMES[0-3]=(STRING)zero,aa,bb,cc",
                                      "BITS[0]=0", "BITS[1]=0", "BITS[2]=(BOOL)1", "BITS[3]=(BOOL)0", "TEXT",
                                      "NAMES[0-1]", "BITS[0-3]", "FLAGS.1", "FLAGS.2"]))
    assert [r[5] for r in results] == [True] * 7 + [["blocking"], ["zero", "aa"], [False, False, True, False],
                                                    [True], [False]]
    done = run(["-c", textwrap.dedent(ORIGINAL_DEFERRED), str(theirs.port)])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {"writes": [True, True, True], "NAMES[0-3]": ["zero", "on", "bb", "cc"], "SHORT": ["s"],
                   "BITS[0-3]": [False, True, True, False], "FLAGS.0": [True], "FLAGS.5": [False]}
    assert pycomm3_reads(theirs.port, [("TEXT", None, 1, pycomm3.STRING), ("NAMES", 0, 4, pycomm3.STRING[4]),
                                       ("SHORT", None, 1, pycomm3.SHORT_STRING), ("BITS", 0, 4, pycomm3.BOOL[4]),
                                       ("FLAGS", None, 1, pycomm3.DINT)]) == {
        "TEXT": "blocking", "NAMES": ["zero", "on", "bb", "cc"], "SHORT": "s", "BITS": [False, True, True, False],
        "FLAGS": 3}
