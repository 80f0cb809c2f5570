"""The well parameters calcd added to the configuration: curves as lists of numbers, and
the `[well.integrity]` table any well may have."""

from __future__ import annotations

import pytest

from daemons.core.config import loads_config
from daemons.core.problems import ValidationError

BASE = """
[gateway]
site = "t"

[[well]]
id = "W1"
type = "esp"
"""


def test_integrity_table_and_curves_are_read():
    cfg = loads_config(BASE + """
[well.integrity]
mawop_b_psi = 900.0

[well.esp]
curve_rate_bpd = [0, 1000, 2000]
curve_head_ft = [30, 25.5, 12]
""")
    w = cfg.wells["W1"]
    assert w.param("mawop_b_psi") == 900.0
    assert w.param("curve_rate_bpd") == (0.0, 1000.0, 2000.0)
    assert w.param("curve_head_ft") == (30.0, 25.5, 12.0)


@pytest.mark.parametrize("bad, words", [
    ("[well.esp]\ncurve_rate_bpd = [0, 'x']\n", "list of numbers"),
    ("[well.esp]\ncurve_rate_bpd = 5\n", "must be a list"),
    ("[well.esp]\ncurve_head_ft = [30, 2000]\n", "outside"),
    ("[well.integrity]\nmawop_z_psi = 3.0\n", "unknown key"),
])
def test_bad_values_are_reported_with_their_place(bad, words):
    with pytest.raises(ValidationError) as info:
        loads_config(BASE + bad)
    text = info.value.render("en")
    assert words in text and ":" in text
