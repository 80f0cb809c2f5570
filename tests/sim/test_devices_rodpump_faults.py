"""Downhole faults of the simulated rod pump (for calcd's card diagnosis): each shows in
the physics the way the field describes it, shows in the truth, and `repair` undoes it."""

from __future__ import annotations

import numpy as np
import pytest

from daemons.sim.bank import RegisterBank
from daemons.sim.devices import MODELS

START = 1_750_000_000.0


def run(setup, seconds=60.0, level=1500.0):
    m = MODELS["rod_pump_controller"](RegisterBank(), wells=["W101"], params={}, seed=2)
    m.step(START)
    m.on_write("co", 1, [0])  # pump-off control off: keep pumping
    m.inject("fluid_level", submergence_ft=level)
    if setup:
        setup(m)
    t = START
    while t < START + seconds:
        t += 2.0
        m.step(t)
    return m


@pytest.fixture(scope="module")
def healthy():
    return run(None)


def test_traveling_valve_leak_loses_production_not_card_area(healthy):
    m = run(lambda m: m.inject("valve_leak", valve="traveling", severity=3))
    assert m.truth()["faults"]["traveling_valve_leak"]
    assert m.truth()["production_bbl_d"] < 0.7 * healthy.truth()["production_bbl_d"]


def test_standing_valve_leak_picks_up_load_before_the_bottom():
    m = run(lambda m: m.inject("valve_leak", valve="standing", severity=5), level=60.0)
    assert m.truth()["faults"]["standing_valve_leak"]
    card = m.truth()["pump_card"]
    pos, load = np.array(card["position_in"]), np.array(card["load_lbf"])
    top, bottom = int(np.argmax(pos)), int(np.argmin(pos))
    down = (top + np.arange((bottom - top) % len(pos) + 1)) % len(pos)  # wraps around
    near_bottom = down[(pos[down] > 0.3) & (pos[down] < 6.0)]
    assert load[near_bottom].max() > 0.3 * load.max()


def test_tagging_puts_a_compressive_spike_on_the_pump(healthy):
    m = run(lambda m: m.inject("tag_pump", spacing_in=-4))
    assert m.truth()["faults"]["tagging"] and m.truth()["pump_tagged"]
    low = min(m.truth()["pump_card"]["load_lbf"])
    assert low < min(healthy.truth()["pump_card"]["load_lbf"]) - 300


def pickup_in(model) -> float:
    """Plunger travel on the upstroke before the pump carries 90 % of its peak load."""
    card = model.truth()["pump_card"]
    pos, load = np.array(card["position_in"]), np.array(card["load_lbf"])
    bottom, top = int(np.argmin(pos)), int(np.argmax(pos))
    up = (bottom + np.arange((top - bottom) % len(pos) + 1)) % len(pos)
    k = up[np.flatnonzero(load[up] >= 0.9 * load.max())[0]]
    return float(pos[k] - pos[bottom])


def test_unanchored_tubing_takes_the_load_over_its_stretch(healthy):
    m = run(lambda m: m.inject("unanchored_tubing"))
    # Fo * L / (E * A) of 2 7/8 in tubing (1.81 in2) at 4,500 ft: about 3-4 in
    assert pickup_in(healthy) < 1.0
    assert 2.0 < pickup_in(m) < 7.0


def test_dead_load_cell_reads_zero_and_repair_clears_every_fault():
    m = run(lambda m: (m.inject("load_cell"), m.inject("tag_pump")), seconds=20)
    assert m.values[("CARD_LOAD", 0)].max() == 0.0 and abs(m.values[("LOAD", 0)]) < 100
    m.inject("repair")
    m.step(START + 40)
    assert not any(m.truth()["faults"].values())
    assert m.values[("LOAD", 0)] > 1000
