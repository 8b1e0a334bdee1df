"""Our EtherNet/IP client, as users run it: the CLI and the blocking connector in their own processes,
against our simulator (twistd) and the original cpppo 5.2.5 simulator; output compared with the
original client's.

The blocking connector starts a reactor thread, so every script here runs in a subprocess and the
test process keeps no reactor.  The original's documented examples (io_example.py, thruput.py) are
run from the original's own installed package, unchanged, with our cpppo on the path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import enip_server_fixture as fx
from tests.peers import original

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TAGS = ("SCADA=INT[1000]", "FLOAT=REAL[10]", "Tag=DINT[10]", "Volume=REAL", "Temperature=REAL")
TIMEOUT = 60


@pytest.fixture(scope="module")
def ours():
    with fx.TwistdEnipServer.start(TAGS) as server:
        yield server


@pytest.fixture(scope="module")
def theirs(original_venv):
    sim = original.start_original_simulator(TAGS)
    try:
        yield sim
    finally:
        sim.stop()
        sim.close_output()


def run(args, stdin=None, timeout=TIMEOUT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([PYTHON, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)


def client(port, *args, stdin=None):
    return run(["-m", "cpppo.server.enip.client", "-a", f"127.0.0.1:{port}", *args], stdin=stdin)


def script(code, *args):
    return run(["-c", textwrap.dedent(code), *map(str, args)])


# Writes come before the reads of what they write, so every run finds and leaves the same values.
OPERATIONS = ["SCADA[1]=99", "SCADA[2-4]=(INT)-1,0,32767", "SCADA[0-10]", "SCADA", "FLOAT[0-1]=1.5,2", "FLOAT[0-1]",
              "Tag[0-9]+16=(DINT)4,5,6", "SCADA[0-5]+4", "NOPE", "SCADA[999-1000]"]


@pytest.mark.parametrize("extra", [[], ["-d", "5", "-m"], ["-f"], ["-c"]])
def test_cli_prints_what_the_original_prints_on_our_server(ours, original_venv, extra):
    theirs_done = original.run_original_client(["-p", *OPERATIONS], ours.port)
    done = client(ours.port, "-p", *extra, *OPERATIONS)
    assert done.returncode == theirs_done.returncode == 1            # NOPE and SCADA[1000] fail
    assert done.stdout == theirs_done.stdout
    assert "Traceback" not in done.stderr
    assert "TPS" not in done.stderr and "TPS" not in theirs_done.stderr  # (logged only at -v, by both)


def test_cli_on_the_original_server(theirs):
    ops = ["SCADA[1]=99", "SCADA[0-10]", "FLOAT[0-1]=1.5,2", "FLOAT[0-1]", "SCADA[0-999]"]
    theirs_done = original.run_original_client(["-p", *ops], theirs.port)
    for extra in ([], ["-d", "20", "-m"], ["-f"]):
        done = client(theirs.port, "-p", *extra, *ops)
        assert done.returncode == theirs_done.returncode == 0, done.stderr
        # The original stops a large read at what fits one reply (status 6); ours fetches the rest.
        assert done.stdout.splitlines()[:-1] == theirs_done.stdout.splitlines()[:-1]
        assert theirs_done.stdout.splitlines()[-1].endswith("'Status 6 '")
        big = done.stdout.splitlines()[-1]
        assert big.startswith("            SCADA[0][  0-999]+  0 == [0, 99, 0,") and big.endswith("]: 'OK'")
        assert big.count(",") == 999


def test_cli_success_stdin_and_repeat(ours):
    done = client(ours.port, "-p", "-r", "3", "-", stdin="SCADA[7]=7\n\nSCADA[7]\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "            SCADA[7][  7-7  ]+  0 == [7]: 'OK'"
    assert len(done.stdout.splitlines()) == 6


def test_cli_errors_are_one_line(ours):
    port = original.free_port()
    done = client(port, "SCADA")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "refused" in done.stderr
    done = client(ours.port, "SCADA[x")
    assert done.returncode == 2 and "usage:" in done.stderr and "'SCADA[x'" in done.stderr
    done = client(ours.port, "-n", "SCADA[0-999]")
    assert done.returncode == 1 and "fragmenting is off" in done.stderr and "Traceback" not in done.stderr


def test_cli_list_identity_tcp_and_udp(ours):
    for args in (["-i"], ["-u", "-i"], ["-s"]):
        done = client(ours.port, *args)
        assert done.returncode == 0, done.stderr
        assert ("1756-L61/B LOGIX5561" in done.stdout) or ("Communications" in done.stdout), done.stdout


CONNECTOR = """
    import sys
    from cpppo.server.enip import client
    port = int(sys.argv[1])
    with client.connector(host="127.0.0.1", port=port, timeout=5, connected=sys.argv[2] == "c") as conn:
        ops = list(client.parse_operations(["SCADA[0-999]=" + ",".join(str(i % 100) for i in range(1000))]))
        assert conn.process(ops, fragment=True)[0] == 0
        values = [val for idx, dsc, req, rpy, sts, val in conn.pipeline(
            client.parse_operations(["SCADA[%d]" % i for i in range(200)]), depth=20, multiple=250)]
        assert values == [[i % 100] for i in range(200)], values
        idx = [r[0] for r in conn.pipeline(client.parse_operations(["SCADA[1]"] * 40), depth=20, multiple=250)]
        assert max(idx) < 39, idx                     # packed: fewer requests than operations
        (big,) = conn.results(client.parse_operations(["SCADA[0-999]"]))
        assert big == [i % 100 for i in range(1000)]
        for idx, dsc, req, rpy, sts, val in conn.synchronous(client.parse_operations(["SCADA[1-2]"])):
            assert rpy.status == 0 and "read_tag" in rpy and req.read_tag.elements == 2
        req = conn.read("SCADA[5]", elements=3, offset=0)
        assert req.read_frag.elements == 3
        assert conn.readable(timeout=5)
        rpy = next(conn)
        assert rpy.enip.status == 0
        assert rpy.enip.CIP.send_data.CPF.item[1].get("unconnected_send.request.read_frag.data",
            rpy.enip.CIP.send_data.CPF.item[1].get("connection_data.request.read_frag.data")) == [5, 6, 7]
        conn.list_identity()
        assert next(conn).enip.CIP.list_identity.CPF.item[0].identity_object.product_name == "1756-L61/B LOGIX5561"
        if sys.argv[3] == "ours":   # (the original simulator answers an unknown tag with encapsulation status 8)
            failures, out = conn.process(client.parse_operations(["NOPE", "SCADA[1]"]), depth=2, printing=True)
            assert failures == 1 and out[1] == [1]
    print("ok")
"""


@pytest.mark.parametrize("mode", ["u", "c"])
def test_blocking_connector_on_both_servers(ours, theirs, mode):
    for server, name in ((ours, "ours"), (theirs, "theirs")):
        done = script(CONNECTOR, server.port, mode, name)
        assert done.returncode == 0 and done.stdout.endswith("ok\n"), (server, done.stdout, done.stderr)


def _original_example(venv, name):
    return venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / \
        "cpppo" / "server" / "enip" / name


def test_original_examples_run_unchanged(ours, theirs, original_venv):
    io_example = _original_example(original_venv, "io_example.py")
    thruput = _original_example(original_venv, "thruput.py")
    if not (io_example.exists() and thruput.exists()):
        pytest.skip("the original's examples are not in its venv")
    for server in (ours, theirs):
        # io_example.py connects to cpppo.server.enip.address: point that default at the server
        done = script(f"""
            import runpy, cpppo.server.enip as enip
            enip.address = ("127.0.0.1", {server.port})
            runpy.run_path({str(io_example)!r}, run_name="__main__")
        """)
        # its "@0x2/1/1" is a Read Tag to the Message Router's attribute 1: the first tag, in both
        lines = done.stdout.splitlines()
        assert done.returncode == 0, done.stderr
        assert lines[0] == "              Tag[0][  0--7 ]+ 16 <= [4, 5, 6, 7, 8, 9]: 'OK'"   # the original's arithmetic
        assert lines[1] == "         @0x0002/1/1              == [0]: 'OK'"
        assert lines[2] == "              Tag[3][  3-5  ]+  0 == [0, 4, 5]: 'OK'", done.stdout
        done = run([str(thruput), "-a", f"127.0.0.1:{server.port}", "--repeat", "25", "--depth", "20",
                    "--multiple", "250", "Volume", "Temperature"])
        assert done.returncode == 0, done.stderr
        assert re.search(r" 50 operations using +\d+ requests in .* at pipeline depth 20", done.stdout), done.stdout


def _untimed(text):
    return [line.split(": ", 1)[1] for line in text.splitlines()]   # drop the time.ctime() prefix


@pytest.mark.parametrize("module", ["cpppo.server.enip.get_attribute", "cpppo.server.enip.getattr"])
def test_get_attribute_prints_what_the_original_prints(ours, theirs, module):
    paths = ["@1/1/7", "@1/1", "@1/1/1", "@1/1/99", "@1/1/7=(SSTRING)Foo"]
    for server in (ours, theirs):
        theirs_done = original.run_original_client(paths, server.port, module="cpppo.server.enip.get_attribute")
        done = run(["-m", module, "-a", f"127.0.0.1:{server.port}", *paths])
        assert done.returncode == theirs_done.returncode == 1, done.stderr
        assert _untimed(done.stdout) == _untimed(theirs_done.stdout)
    done = run(["-m", module, "-a", f"127.0.0.1:{ours.port}", "-D", "SSTRING", "@1/1/7"])
    assert done.returncode == 0 and done.stdout.rstrip().endswith(": '1756-L61/B LOGIX5561'"), done.stdout
    done = run(["-m", module, "-a", f"127.0.0.1:{ours.port}", "@1/1=3"])
    assert done.returncode == 2 and "usage:" in done.stderr


def test_thruput_io_and_list_identity_modules(ours, theirs):
    for server in (ours, theirs):
        done = run(["-m", "cpppo.server.enip.thruput", "-a", f"127.0.0.1:{server.port}", "--repeat", "25",
                    "--depth", "20", "--multiple", "250", "Volume", "Temperature"])
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 51 and all(re.search(r": +\d+: \[0\.0\]$", line) for line in lines[:50]), lines[:3]
        found = re.search(r"^ 50 operations using +(\d+) requests in .* at pipeline depth 20; +[\d.]+ TPS$", lines[-1])
        assert found and int(found.group(1)) < 50, lines[-1]
        done = run(["-m", "cpppo.server.enip.io", "-a", f"127.0.0.1:{server.port}", "Tag[0-9]+16=(DINT)4,5,6,7,8,9",
                    "Tag[3-5]"])
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "              Tag[3][  3-5  ]+  0 == [0, 4, 5]: 'OK'"
    for args in ([], ["--tcp"], ["-b", "-t", "0.5"]):
        done = run(["-m", "cpppo.server.enip.list_identity", "-a", f"127.0.0.1:{ours.port}", *args])
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("'1756-L61/B LOGIX5561'"), done.stdout
    done = run(["-m", "cpppo.server.enip.list_identity", "-a", f"127.0.0.1:{original.free_port()}", "--tcp"])
    assert done.returncode == 1 and "Traceback" not in done.stderr


PROXY = """
    import sys
    from cpppo.server.enip import poll
    from cpppo.server.enip.get_attribute import proxy, proxy_simple
    port = int(sys.argv[1])
    kind = proxy_simple if sys.argv[2] == "simple" else proxy
    via = kind("127.0.0.1", port=port, timeout=5)
    with via:
        name, ident, scada, vendor = via.read(via.parameter_substitution(
            [("@1/1/7", "SSTRING"), "identity", "SCADA[1-2]=(INT)5,6", ("@1/1/1", "INT", "vendor")]))
        assert name == ["1756-L61/B LOGIX5561"] and ident[-1] == name[0] and scada is True and vendor == [1]
        assert list(via.read(via.parameter_substitution(["Product Name", "SCADA[1-2]"]))) == [name, [5, 6]]
        (val, (sts, detail)), = via.read_details([("@1/1/99", "INT")])
        assert val is None and sts and detail == ("@1/1/99", "INT", None)
    class Collect:
        done = False
        def __init__(self): self.seen = []
        def __call__(self, param, value):
            self.seen.append((param, value))
            self.done = len(self.seen) >= 4
    got = Collect()
    poll.poll(proxy_class=kind, address=("127.0.0.1", port), params=["product_name", "SCADA[1]"], cycle=0.05,
              process=got, timeout=5)
    assert got.seen == [("product_name", name), ("SCADA[1]", [5])] * 2, got.seen
    failures = []
    class Never:
        done = False
        def __call__(self, param, value): raise AssertionError("no device there")
    never = Never()
    def failed(exc):
        failures.append(exc)
        never.done = len(failures) >= 2
    poll.poll(proxy_class=kind, address=("127.0.0.1", int(sys.argv[3])), params=["product_name"], cycle=0.05,
              process=never, failure=failed, timeout=1)
    assert len(failures) == 2
    print("ok")
"""


def test_proxy_and_poll(ours, theirs):
    for server, kind in ((ours, "simple"), (ours, "routing"), (theirs, "routing")):
        done = script(PROXY, server.port, kind, original.free_port())
        assert done.returncode == 0 and done.stdout.endswith("ok\n"), (server, kind, done.stdout, done.stderr[-2000:])


def test_cli_timeout_is_one_line():
    with fx.TwistdEnipServer.start(("SCADA=INT[10]",), extra_args=("--delay", "3")) as slow:
        done = client(slow.port, "-t", "0.5", "SCADA")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"enip_client: 127.0.0.1:{slow.port}: timed out after 0.5s "
                                                f"(no reply within 0.5 s)"]
