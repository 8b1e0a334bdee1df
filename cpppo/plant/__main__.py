"""``python -m cpppo.plant [options] PLANT.toml``: serve a plant (see :mod:`cpppo.plant.cli`)."""

import sys

from cpppo.plant.cli import main

if __name__ == "__main__":
    sys.exit(main())
