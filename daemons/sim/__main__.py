"""`python -m daemons.sim …` runs the simulator's command (see daemons/sim/main.py)."""

import sys

from daemons.sim.main import entry

sys.exit(entry())
