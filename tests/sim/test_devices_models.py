"""Contract tests every simulated device model must pass.

Parameters are validated, an hour of simulated time (step() with advancing `now`, no real
waiting) keeps the ground truth physical and JSON-serialisable, irregular and huge gaps
are survived, the same seed gives the same run, and unknown events are refused.
"""

from __future__ import annotations

import json
import math

import pytest

from daemons.sim.bank import RegisterBank
from daemons.sim.devices import MODELS
from daemons.sim.devices.tagmaps import DEMO_DEVICES

START = 1_700_000_000.0
BY_MODEL = {d.model: d for d in DEMO_DEVICES}

# truth key -> physical range over an hour of the default scenario
RANGES = {
    "rod_pump_controller": {"fillage": (0.0, 1.0), "spm": (1, 15), "submergence_ft": (0, 4500),
                            "intake_pressure_psi": (0, 2000), "production_bbl_d": (0, 300),
                            "gross_displacement_bbl_d": (100, 300),
                            "buoyant_rod_weight_lbf": (6000, 10000)},
    "esp_drive": {"frequency_hz": (0, 70), "liquid_rate_bbl_d": (0, 4000),
                  "intake_pressure_psi": (0, 3000), "motor_load_pct": (0, 130),
                  "motor_temperature_degf": (150, 320), "head_ft": (0, 8000)},
    "gas_lift_controller": {"liquid_rate_bbl_d": (0, 2500), "casing_pressure_psi": (500, 1800),
                            "surface_injection_mscf_d": (0, 3000)},
    "annulus_monitor": {},
    "test_separator": {},
    "drilling_rig": {"hole_depth_ft": (8500, 9000), "bit_depth_ft": (8000, 9000),
                     "mud_weight_ppg": (10, 11), "flow_in_gpm": (0, 800),
                     "active_volume_bbl": (200, 400), "block_position_ft": (0, 100)},
    "coiled_tubing_unit": {"depth_ft": (0, 9500), "weight_lbf": (-5000, 20000),
                           "pump_pressure_psi": (0, 6000)},
    "pcp_drive": {"liquid_rate_bbl_d": (200, 900), "volumetric_efficiency": (0.5, 1.0),
                  "torque_ft_lbf": (100, 1400), "intake_pressure_psi": (0, 1200)},
}


def build(model: str, seed: int = 1, **params):
    dev = BY_MODEL[model]
    bank = RegisterBank()
    return MODELS[model](bank, wells=list(dev.wells), params=params, seed=seed), bank


def test_models_cover_every_demo_device_and_keys_match():
    assert sorted(MODELS) == sorted(BY_MODEL)
    for key, cls in MODELS.items():
        assert cls.model == key
        assert cls.DEFAULTS, key


@pytest.mark.parametrize("model", sorted(BY_MODEL))
def test_unknown_and_malformed_params_are_refused(model):
    with pytest.raises(ValueError, match="pump_dept_typo"):
        build(model, pump_dept_typo=1.0)
    numeric = next(k for k, v in MODELS[model].DEFAULTS.items()
                   if isinstance(v, float) and not isinstance(v, bool))
    with pytest.raises(ValueError, match=numeric):
        build(model, **{numeric: "a lot"})
    with pytest.raises(ValueError, match="well"):
        MODELS[model](RegisterBank(), wells=["W1", "W2", "W3", "W4"], params={}, seed=0)


@pytest.mark.parametrize("model,bad", [
    ("rod_pump_controller", {"taper_fractions": (0.5, 0.5, 0.5)}),
    ("rod_pump_controller", {"perforation_depth_ft": 100.0}),
    ("esp_drive", {"frequency_hz": 90.0}),
    ("gas_lift_controller", {"valve_depth_ft": 99999.0}),
    ("test_separator", {"choke_64ths": (2, 20, 28)}),
    ("annulus_monitor", {"mawop_psi": (-1.0, 900.0, 500.0)}),
    ("drilling_rig", {"mud_weight_ppg": 30.0}),
    ("coiled_tubing_unit", {"fill_top_ft": 20000.0}),
])
def test_out_of_range_params_are_refused(model, bad):
    with pytest.raises(ValueError, match=next(iter(bad)).split("_")[0]):
        build(model, **bad)


@pytest.mark.parametrize("model", sorted(BY_MODEL))
def test_an_hour_stays_physical_and_truth_is_json(model):
    m, _ = build(model)
    now = START
    for k in range(361):  # an hour in 10 s steps
        m.step(now)
        if k % 60 == 0:
            truth = json.loads(json.dumps(m.truth(), allow_nan=False))
            for key, (lo, hi) in RANGES[model].items():
                assert lo <= truth[key] <= hi, f"{model} {key}={truth[key]} at {k * 10} s"
        now += 10.0


@pytest.mark.parametrize("model", sorted(BY_MODEL))
def test_irregular_calls_and_big_gaps_are_survived(model):
    m, bank = build(model, seed=5)
    now = START
    for gap in (0.1, 0.0, 0.05, 3.7, 0.2, 600.0, 0.1, 2 * 86400.0, 0.1, -5.0, 0.3, 7200.0):
        now += gap
        m.step(now)
    truth = json.loads(json.dumps(m.truth(), allow_nan=False))
    assert truth
    values = [v for v in m.values.values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in values)
    assert bank.read("ir", 0, 1) is not None or bank.read("hr", 0, 1) is not None


@pytest.mark.parametrize("model", sorted(BY_MODEL))
def test_same_seed_same_run_other_seed_other_noise(model):
    runs = []
    for seed in (11, 11, 12):
        m, bank = build(model, seed=seed)
        now = START
        for _ in range(30):
            m.step(now)
            now += 2.0
        runs.append(bank.ir.copy())
    assert (runs[0] == runs[1]).all()
    assert (runs[0] != runs[2]).any()


@pytest.mark.parametrize("model", sorted(BY_MODEL))
def test_unknown_events_are_refused(model):
    m, _ = build(model)
    m.step(START)
    with pytest.raises(ValueError, match="unknown event"):
        m.inject("alien_invasion")
