"""The blocking ``connector`` as the original cpppo's scripts use it, one step beyond its README: the
low-level ``read``/``write`` with a range in the path, ``send=False`` requests gathered into a
later Multiple Service Packet, and the built-in socket errors scripts catch.

The same script runs under our package and under the original cpppo 5.2.5 (its own virtualenv),
against our simulator, and must print the same lines.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cpppo.enip.client.connector import connector
from tests import enip_server_fixture as fx
from tests.peers import original

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60

SCRIPT = """
    import socket, sys
    from cpppo.server.enip import client
    port, closed = int(sys.argv[1]), int(sys.argv[2])
    with client.connector(host="127.0.0.1", port=port, timeout=5) as conn:
        req = conn.read("SCADA[0-1]")
        print("elements", req.read_frag.elements)
        assert conn.readable(timeout=5)
        rpy = next(conn)
        print("range", rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request.read_frag.data)
        reqs = [conn.write("SCADA[2-3]", data=[7, 8], send=False), conn.read("SCADA[1-3]", send=False)]
        print("unsent", conn.readable(timeout=0.2))
        conn.multiple(reqs)
        assert conn.readable(timeout=5)
        rpy = next(conn)
        replies = rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request.multiple.request
        print("multiple", [r.status for r in replies], replies[1].read_frag.data)
    try:
        client.connector(host="127.0.0.1", port=closed, timeout=2)
    except socket.error as exc:
        print("refused", isinstance(exc, ConnectionRefusedError))
"""


@pytest.fixture(scope="module")
def ours():
    with fx.serving(("SCADA=INT[10]",)) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_original_script_prints_the_same_with_either_package(ours, original_venv, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    args = [str(script), str(ours.port), str(closed_port())]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    mine = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=TIMEOUT, env=env,
                          cwd=tmp_path)
    theirs = subprocess.run([str(original.venv_python(original_venv)), "-I", *args], capture_output=True, text=True,
                            timeout=TIMEOUT, cwd=tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout == theirs.stdout
    assert mine.stdout.splitlines() == ["elements 2", "range [0, 0]", "unsent False", "multiple [0, 0] [0, 7, 8]",
                                        "refused True"]


def test_timeouts_are_socket_timeouts_and_nothing_of_twisted():
    # (a listener that accepts, in the kernel's backlog, and never answers)
    with socket.create_server(("127.0.0.1", 0)) as silent, pytest.raises(socket.timeout) as caught:
        connector("127.0.0.1", silent.getsockname()[1], timeout=0.3)
    assert isinstance(caught.value, OSError)
    with pytest.raises(socket.error) as refused:
        connector("127.0.0.1", closed_port(), timeout=2)
    for error in (caught.value, refused.value):
        assert not any(cls.__module__.startswith("twisted") for cls in type(error).__mro__)


def test_a_lost_connection_is_a_connection_error(ours):
    with connector("127.0.0.1", ours.port, timeout=5) as conn:
        conn.socket.shutdown(socket.SHUT_RDWR)   # (as a server going away looks to the client)
        with pytest.raises(ConnectionError):
            list(conn.pipeline(["SCADA[0]"]))


def test_send_false_requests_must_be_this_connectors(ours):
    with connector("127.0.0.1", ours.port, timeout=5) as conn:
        with pytest.raises(ValueError):
            conn.multiple([{"read_frag": {"elements": 1}}])
        unsent = conn.read("SCADA[4-5]", send=False, offset=None)
        assert unsent.read_tag.elements == 2 and not conn.readable(timeout=0.1)
        conn.multiple([unsent])
        assert conn.readable(timeout=5)
        (reply,) = next(conn).enip.CIP.send_data.CPF.item[1].unconnected_send.request.multiple.request
        assert reply.status == 0 and list(reply.read_tag.data) == [0, 0]
