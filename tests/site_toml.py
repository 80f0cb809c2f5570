"""The gateway.toml of the fake test sites (tests/webd, tests/opcuad): the sections they
share, written once.  Each site adds its own daemon's section and, where it needs more,
its own wells."""

from __future__ import annotations

PATHS = """\
[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"
"""

# The field device every fake site's tag map points at (nothing listens there: the sites
# write the rings themselves).
DEVICE = """\
[[device]]
name = "rtu1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = 1502
unit = 1
"""

TWO_WELLS = """\
[[well]]
id = "W101"
field = "Lagunillas"
type = "rod_pump"

[[well]]
id = "B201"
field = "Bachaquero"
type = "flowing"
"""


def access(permissions: str = "") -> str:
    """[access] with a short lockout (3 failures) and, if given, a site permissions file."""
    extra = f'permissions = "{permissions}"\n' if permissions else ""
    return ("[access]\npassword_min_length = 10\nlockout_failures = 3\n"
            f"lockout_minutes = 15\n{extra}")


def gateway_toml(site: str, *sections: str) -> str:
    """[gateway] (English), [paths], then *sections* in order."""
    head = f'[gateway]\nsite = "{site}"\nlanguage = "en"\n'
    return "\n".join((head, PATHS, *sections))
