"""The EtherNet/IP codec stays sans-IO: importing every module of it loads no Twisted.

Why: the codec (``cpppo.enip.codec``) is the layer the simulator, the client and the tests all
drive with bytes; the day one of its modules imports Twisted (or a transport), it can no longer be
used or tested without a reactor.  The check runs in a fresh interpreter, since this test process
has Twisted loaded already.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import unittest

import cpppo.enip.codec
from cpppo.tests.resources import child_env

#: Run in a child: import every module of the codec, report them and what of Twisted got loaded.
_CHILD = """
import importlib, json, pkgutil, sys
import cpppo.enip.codec as codec
names = sorted(m.name for m in pkgutil.iter_modules(codec.__path__))
for name in names:
    importlib.import_module("cpppo.enip.codec." + name)
print(json.dumps({"modules": names,
                  "twisted": sorted(m for m in sys.modules if m == "twisted" or m.startswith("twisted."))}))
"""


class SansIO(unittest.TestCase):
    def test_no_codec_module_imports_twisted(self) -> None:
        done = subprocess.run([sys.executable, "-c", _CHILD], env=child_env(), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        expected = sorted(m.name for m in pkgutil.iter_modules(cpppo.enip.codec.__path__))
        self.assertEqual(report["modules"], expected)
        self.assertIn("encap", report["modules"])
        self.assertEqual(report["twisted"], [], "the codec must not import Twisted")
