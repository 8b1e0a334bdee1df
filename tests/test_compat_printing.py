"""What scripts print of the original's data, printed as 5.2.5 prints it (issue 23).

The same snippet runs under our package and under the original's (its venv, ``tests/peers``):
``dotdict``'s ``repr`` and ``str`` (the nested dict, in insertion order, lists of layers inside),
and ``enip_format`` of a dotdict holding bytes, a long list and nested layers; and the original's
``list_services`` against our simulator, beside ours.
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import sys

from tests.enip_server_fixture import LIST_IDENTITY, LIST_SERVICES, LOOPBACK, encap, read_until_closed, serving
from tests.peers import original

SNIPPET = r"""
import array
from cpppo.dotdict import dotdict
from cpppo.server import enip

d = dotdict()
d['b.c'] = 1
d['a'] = dotdict(z=2)
d['a.y.x'] = 'text'
item = dotdict()
item['type_id'] = 12
item['identity_object.product_name'] = 'PLC'
d['list'] = [item, dotdict(n=None)]
print(repr(d))
print(str(d))
print(d)
e = dotdict()
e['peer'] = ('127.0.0.1', 44818)
e['enip.input'] = array.array('B', b'\x01\x02abc\xff' * 3)
e['enip.data'] = list(range(23))
e['enip.CPF.item'] = [item]
e['enip.name'] = 'a name'
print(enip.enip_format(e))
"""


def test_dotdict_and_enip_format_print_as_the_original(original_venv):
    ours = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True, timeout=60)
    theirs = subprocess.run([str(original.venv_python(original_venv)), "-I", "-c", SNIPPET], capture_output=True,
                            text=True, timeout=60)
    assert ours.returncode == theirs.returncode == 0, ours.stderr + theirs.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stdout.splitlines()[0] == (
        "{'b': {'c': 1}, 'a': {'z': 2, 'y': {'x': 'text'}}, 'list': "
        "[{'type_id': 12, 'identity_object': {'product_name': 'PLC'}}, {'n': None}]}")


def _unsessioned(text: str) -> str:
    """Without what differs by design: the session handle and our client's counting sender context."""
    return re.sub(r"'enip.session_handle': +\d+,|00000000:  0[0-9] 00 00 00 00 00 00 00 ", "", text)


def test_list_services_of_the_original_and_ours_print_alike(original_venv):
    """The original's ``list_services`` sends its requests, then shuts its sending side and reads until
    the server closes: every reply must still come (our server used to drop them with the
    connection), and print as our ``list_services`` prints them."""
    with serving(["SCADA=INT[10]"]) as server:
        for flags in (["-i"], ["-I"], []):
            args = ["-m", "cpppo.server.enip.list_services", "-a", f"127.0.0.1:{server.port}", *flags]
            theirs = subprocess.run([str(original.venv_python(original_venv)), "-I", *args], capture_output=True,
                                    text=True, timeout=60)
            ours = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)
            assert theirs.returncode == ours.returncode == 0, theirs.stderr + ours.stderr
            assert theirs.stdout.count("'enip.command':") == 1 + len(flags), theirs.stdout
            assert _unsessioned(ours.stdout) == _unsessioned(theirs.stdout), flags


def test_replies_are_sent_before_a_half_closed_connection_closes():
    """Requests, then the client's FIN: both replies, then the server's close (never a lost reply)."""
    with serving(["SCADA=INT[10]"]) as server:
        for _ in range(20):
            with socket.create_connection((LOOPBACK, server.port), timeout=10) as sock:
                sock.sendall(encap(LIST_SERVICES) + encap(LIST_IDENTITY))
                sock.shutdown(socket.SHUT_WR)
                data, closed = read_until_closed(sock, timeout=10)
            assert closed and [struct.unpack_from("<H", data, 0)[0],
                               struct.unpack_from("<H", data, 24 + struct.unpack_from("<H", data, 2)[0])[0]] \
                == [LIST_SERVICES, LIST_IDENTITY]
