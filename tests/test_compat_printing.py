"""What scripts print of the original's data, printed as 5.2.5 prints it (issue 23).

The same snippet runs under our package and under the original's (its venv, ``tests/peers``):
``dotdict``'s ``repr`` and ``str`` (the nested dict, in insertion order, lists of layers inside),
and ``enip_format`` of a dotdict holding bytes, a long list and nested layers.
"""

from __future__ import annotations

import subprocess
import sys

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
