"""``python -m cpppo.server.enip [options] TAG...``: the EtherNet/IP controller simulator."""

import sys

from .main import main

sys.exit(main(prog="python -m cpppo.server.enip"))
