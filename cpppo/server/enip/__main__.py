"""``python -m cpppo.server.enip [options] TAG...``: the EtherNet/IP controller simulator."""

import sys

from cpppo.enip.simulator.run import main

sys.exit(main(prog="python -m cpppo.server.enip"))
