"""The original ``main()``'s keywords through a real ``main()`` and real clients (issue 23).

A user's script, as the original's ``simulator_example`` and ``poll_test`` are written: it subclasses
``device.Identity``, ``device.MessageRouter``, ``device.ConnectionManager`` and ``ucmm.UCMM``, and
gives ``main()`` those classes, ``attribute_kwds`` (each tag's initial value) and an ``idle_service``
that counts into a tag through ``main.tags``.
The original client sees the identity; ours reads the counter (it moves on its own, 10 times a
second), the custom router's attribute, and is refused a routed request (``route_path = False``).
"""

from __future__ import annotations

import sys
import textwrap

from tests.peers import original
from tests.test_compat_flags import LOOPBACK, Simulator, client

SCRIPT = '''
import struct, sys
from cpppo.server.enip import device, ucmm
from cpppo.server.enip.main import main, tags

class Plant7(device.Identity):
    def __init__(self, **kwds):
        super().__init__(**dict(kwds, product_name="Plant7 PLC"))

class Router(device.MessageRouter):
    def get_attribute_single(self, number):
        return struct.pack("<H", 4242) if number == 3 else super().get_attribute_single(number)

class Manager(device.ConnectionManager):
    pass

class Simple(ucmm.UCMM):
    route_path = False          # a simple device: no Unconnected Send routing

def idle():
    entry = dict.__getitem__(tags, "Ticks")
    entry.attribute[0] = entry.attribute[0] + 1

sys.exit(main(argv=sys.argv[1:], identity_class=Plant7, message_router_class=Router,
              connection_manager_class=Manager, UCMM_class=Simple, idle_service=idle,
              attribute_kwds=dict(default=1000)))   # every tag's Attribute keywords: Ticks starts at 1000
'''


def test_main_uses_the_classes_and_the_idle_service(tmp_path, original_venv):
    (tmp_path / "my_simulator.py").write_text(textwrap.dedent(SCRIPT))
    with Simulator(["--no-config", "Ticks=DINT"], cwd=tmp_path, script=[sys.executable, "my_simulator.py"]) as sim:
        address = f"{LOOPBACK}:{sim.port}"
        theirs = original.run_original_client(["-i"], sim.port)
        assert "'item[0].identity_object.product_name': 'Plant7 PLC'," in theirs.stdout, theirs.stdout
        first = client("-a", address, "-S", "-p", "Ticks")
        second = client("-a", address, "-S", "-p", "Ticks")
        assert first.returncode == second.returncode == 0, first.stderr + sim.output()

        def ticks(done):
            return int(done.stdout.split("== [")[1].split("]")[0])
        assert 1000 < ticks(first) < ticks(second)    # the idle service counts, 10 times a second
        done = client("-a", address, "-S", "@2/1/3", module="cpppo.server.enip.get_attribute")
        assert done.stdout.rstrip().endswith("@0x0002/1/3 == [146, 16]"), done.stdout   # 4242, from the Router
        routed = client("-a", address, "Ticks")                               # with a route path: refused
        assert routed.returncode == 1 and "0x01/0x0311" in routed.stderr, routed.stderr
