"""What each simulated device does: set points take effect, events show, registers agree
with the ground truth.  Registers are decoded here with `struct` from the device's map.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from daemons.sim.bank import RegisterBank, encode
from daemons.sim.devices import MODELS
from daemons.sim.devices.tagmaps import DEMO_DEVICES

START = 1_700_000_000.0
FMT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q",
       "float32": "f", "float64": "d"}


class Rig:
    """A model, its bank, a clock; reads registers by tag key through struct."""

    def __init__(self, model: str, seed: int = 2, **params) -> None:
        dev = next(d for d in DEMO_DEVICES if d.model == model)
        self.bank = RegisterBank()
        self.m = MODELS[model](self.bank, wells=list(dev.wells), params=params, seed=seed)
        self.now = START
        self.m.step(self.now)

    def run(self, seconds: float, dt: float = 1.0) -> None:
        for _ in range(round(seconds / dt)):
            self.now += dt
            self.m.step(self.now)

    def read(self, key: str, well: int | None = 0) -> float | list[float]:
        pt = self.m.point(key, well)
        base, n = pt.base, pt.count
        if base == "bool":
            return float(self.bank.read(pt.table, pt.address, 1)[0])
        if base.startswith("bit:"):
            return float((self.bank.read(pt.table, pt.address, 1)[0] >> int(base[4:])) & 1)
        size = struct.calcsize(">" + FMT[base]) // 2
        words = self.bank.read(pt.table, pt.address, size * n)
        out = []
        for i in range(n):
            regs = words[i * size : (i + 1) * size]
            if pt.order in ("CDAB", "DCBA"):
                regs = regs[::-1]
            raw = b"".join(w.to_bytes(2, "big") for w in regs)
            if pt.order in ("BADC", "DCBA"):
                raw = b"".join(raw[j + 1 : j + 2] + raw[j : j + 1] for j in range(0, len(raw), 2))
            out.append(struct.unpack(">" + FMT[base], raw)[0] * pt.scale + pt.offset)
        return out if n > 1 else out[0]

    def write(self, key: str, value: float, well: int | None = 0) -> None:
        """What a master's write does: the bank takes the words, the model is told."""
        pt = self.m.point(key, well)
        if pt.table == "co":
            words = [int(bool(value))]
        else:
            words = encode(pt.base, (value - pt.offset) / pt.scale, pt.order)
        assert self.bank.write(pt.table, pt.address, words)
        self.m.on_write(pt.table, pt.address, words)


# --- rod pump controller -------------------------------------------------------------------
def test_rod_pump_cards_counters_and_truth_agree():
    r = Rig("rod_pump_controller")
    seq0, strokes0 = r.read("CARD_SEQUENCE"), r.read("STROKE_COUNT")
    r.run(60.0, 0.5)
    assert r.read("STROKE_COUNT") - strokes0 == pytest.approx(8, abs=1)  # 8 spm
    assert (r.read("CARD_SEQUENCE") - seq0) % 65536 == pytest.approx(8, abs=1)
    truth = r.m.truth()
    pos, load = np.array(r.read("CARD_POSITION")), np.array(r.read("CARD_LOAD"))
    t_pos = np.array(truth["surface_card"]["position_in"])
    t_load = np.array(truth["surface_card"]["load_lbf"])
    assert np.abs(pos - t_pos).max() < 0.2  # sensor noise + 0.01 in resolution
    assert np.abs(load - t_load).max() < 0.01 * t_load.max() + 60
    assert r.read("PEAK_LOAD") == pytest.approx(load.max(), abs=1)
    assert len(truth["pump_card"]["load_lbf"]) == 200
    pump_load = np.array(truth["pump_card"]["load_lbf"])
    assert pump_load.max() == pytest.approx(truth["fluid_load_lbf"] + 200, rel=0.05)
    assert 0 < truth["production_bbl_d"] <= truth["gross_displacement_bbl_d"] * 1.01
    assert truth["fluid_level_ft"] + truth["submergence_ft"] == pytest.approx(4500)
    assert r.read("MOTOR_CURRENT") > 10 and r.read("RUNNING") == 1.0


def test_rod_pump_pumps_off_waits_and_restarts():
    r = Rig("rod_pump_controller", initial_submergence_ft=15.0, down_time_min=10.0)
    states = []
    fills = []
    for _ in range(120):  # 1 h in 30 s steps
        r.run(30.0, 30.0)
        states.append(int(r.read("STATE")))
        truth = r.m.truth()
        if truth["state"] == "running":
            fills.append((truth["fillage"], truth["controller_fillage"]))
    assert 2 in states, "never pumped off"
    first_off = states.index(2)
    assert 1 in states[first_off:], "never restarted after the down time"
    assert r.read("CYCLES_TODAY") >= 1 or r.m.truth()["runtime_today_h"] < 1.0
    # the controller's own estimate follows the true fillage
    err = [abs(a - b) for a, b in fills]
    assert np.median(err) < 0.08
    assert min(f for f, _ in fills) < 0.8  # incomplete fillage was seen while running


def test_rod_pump_set_points_and_commands():
    r = Rig("rod_pump_controller")
    r.write("SPM_SP", 5.0)
    r.run(60.0, 1.0)
    assert r.read("SPM") == pytest.approx(5.0, abs=0.01)
    before = r.read("STROKE_COUNT")
    r.run(120.0, 1.0)
    assert r.read("STROKE_COUNT") - before == pytest.approx(10, abs=1)
    r.write("RUN_CMD", 0)
    r.run(20.0, 1.0)
    assert r.read("STATE") == 0 and r.read("MOTOR_CURRENT") == 0.0
    r.write("RUN_CMD", 1)
    r.run(5.0, 1.0)
    assert r.read("STATE") == 1
    r.write("POC_FILLAGE_SP", 55.5)
    assert r.read("POC_FILLAGE_SP") == pytest.approx(55.5)


def test_rod_part_trips_the_controller_on_low_load():
    r = Rig("rod_pump_controller")
    r.run(20.0, 1.0)
    normal_peak = r.read("PEAK_LOAD")
    r.m.inject("rod_part", depth_ft=2000.0)
    r.run(60.0, 1.0)
    assert r.read("STATE") == 3 and r.read("MALFUNCTION") == 1.0
    assert r.read("PEAK_LOAD") < 0.5 * normal_peak
    assert r.m.truth()["rod_part_ft"] == 2000.0


# --- ESP drive -----------------------------------------------------------------------------
def test_esp_frequency_ramps_and_affinity_raises_rate():
    r = Rig("esp_drive")
    r.run(60.0)
    q0, load0 = r.m.truth()["liquid_rate_bbl_d"], r.read("MOTOR_LOAD")
    r.write("FREQUENCY_SP", 60.0)
    r.run(4.0)
    assert 55.0 < r.read("FREQUENCY") < 60.0  # still ramping at 0.5 Hz/s
    assert r.read("DRIVE_STATE") == 2
    r.run(30.0)
    assert r.read("FREQUENCY") == pytest.approx(60.0, abs=0.1)
    truth = r.m.truth()
    assert truth["liquid_rate_bbl_d"] > q0 * 1.05
    assert r.read("MOTOR_LOAD") > load0
    assert r.read("MOTOR_VOLTAGE") == pytest.approx(2300.0, rel=0.01)  # constant V/Hz
    # the gauge registers agree with the truth
    assert r.read("INTAKE_PRESSURE") == pytest.approx(truth["intake_pressure_psi"], abs=3)
    head_psi = r.read("DISCHARGE_PRESSURE") - r.read("INTAKE_PRESSURE")
    assert head_psi == pytest.approx(truth["head_ft"] * 0.433 * truth["fluid_sg"], rel=0.02)


def test_esp_trips_on_underload_and_restarts_after_the_delay():
    r = Rig("esp_drive")
    r.write("RESTART_DELAY", 5.0)
    r.run(30.0)
    r.m.inject("gas_slug", duration_min=3)
    r.run(120.0)
    assert r.read("TRIP_CODE") == 1 and r.read("TRIPPED") == 1.0
    assert r.read("MOTOR_CURRENT") == 0.0 and r.m.truth()["trip_code"] == "underload"
    assert 0 < r.read("RESTART_LEFT") <= 300
    r.run(300.0)
    assert r.read("RUNNING") == 1.0
    r.m.inject("trip", code="overload")
    assert r.m.truth()["state"] == "tripped"
    r.write("FAULT_RESET", 1)
    r.run(2.0)
    assert r.read("DRIVE_STATE") == 2


# --- gas lift ------------------------------------------------------------------------------
def test_gas_lift_set_point_and_performance_curve():
    r = Rig("gas_lift_controller")
    r.run(60.0)
    base = r.m.truth()["steady_liquid_rate_bbl_d"]
    r.write("INJ_SETPOINT", 1500.0)
    r.run(600.0, 2.0)
    assert r.read("INJ_RATE") == pytest.approx(1500.0, rel=0.03)
    r.run(3 * 3600.0, 10.0)
    truth = r.m.truth()
    assert truth["downhole_injection_mscf_d"] == pytest.approx(1500.0, rel=0.05)
    assert truth["steady_liquid_rate_bbl_d"] > base
    curve = truth["performance_curve"]
    q = np.array(curve["liquid_bbl_d"])
    peak = int(np.argmax(q))
    assert 0 < peak < len(q) - 1 and q[0] < q[peak] and q[-1] < q[peak]  # rises, then falls
    oil, water = r.read("OIL_RATE"), r.read("WATER_RATE")
    assert oil + water == pytest.approx(truth["liquid_rate_bbl_d"], rel=0.1)


def test_gas_lift_heads_at_low_injection():
    r = Rig("gas_lift_controller")
    r.write("INJ_SETPOINT", 150.0)
    thp = []
    for _ in range(360):  # 3 h
        r.run(30.0, 5.0)
        thp.append(r.read("THP"))
    assert r.m.truth()["heading_amplitude"] > 0.3
    assert np.ptp(thp[-120:]) > 30.0  # THP swings while the well heads


# --- test separator ------------------------------------------------------------------------
def test_test_separator_switches_purges_and_measures_the_well():
    r = Rig("test_separator", purge_min=20)
    r.run(300.0, 2.0)
    assert r.read("TEST_STATE", None) == 2 and r.read("TEST_WELL", None) == 1
    assert r.read("TEST_VALVE", 0) == 1.0 and r.read("PROD_VALVE", 0) == 0.0
    r.write("TEST_WELL", 3, None)
    r.run(10.0, 2.0)
    assert r.read("TEST_STATE", None) == 1 and r.read("PURGE_LEFT", None) > 1000
    assert r.read("TEST_VALVE", 2) == 1.0 and r.read("TEST_VALVE", 0) == 0.0
    assert r.read("PROD_VALVE", 0) == 1.0
    r.run(40 * 60.0, 5.0)
    assert r.read("TEST_STATE", None) == 2
    truth = r.m.truth()
    w = truth["wells"]["W106"]
    assert truth["separator"]["wells_to_test"] == ["W106"]
    assert r.read("OIL_RATE", None) == pytest.approx(w["oil_rate_bbl_d"], rel=0.03)
    assert r.read("GAS_RATE", None) == pytest.approx(w["gas_rate_mscf_d"], rel=0.03)
    assert r.read("BSW", None) == pytest.approx(100 * w["water_cut"], abs=1.5)
    assert r.read("OIL_TOTAL", None) > 0 and r.read("GAS_TOTAL", None) > 0
    assert truth["wells"]["W104"]["route"] == "production"
    assert truth["wells"]["W104"]["oil_rate_bbl_d"] > 0  # truth for wells not on test too


def test_choke_and_shut_in_change_a_wells_flow():
    r = Rig("test_separator")
    r.run(600.0, 5.0)
    q0 = r.m.truth()["wells"]["W105"]["liquid_rate_bbl_d"]
    r.write("CHOKE", 12, 1)
    r.run(900.0, 5.0)
    assert r.m.truth()["wells"]["W105"]["liquid_rate_bbl_d"] < 0.8 * q0
    assert r.read("CHOKE_POSITION", 1) == pytest.approx(100 * 12 / 64)
    r.write("PROD_VALVE", 0, 1)
    r.run(3600.0, 10.0)
    w = r.m.truth()["wells"]["W105"]
    assert w["route"] == "shut_in" and w["liquid_rate_bbl_d"] < 1.0
    assert r.read("THP", 1) > 600.0  # builds towards shut-in pressure


# --- annulus monitor -----------------------------------------------------------------------
def test_sustained_casing_pressure_builds_bleeds_and_builds_again():
    r = Rig("annulus_monitor", scp_per_day=0.0)
    r.run(600.0, 5.0)
    quiet = r.read("ANN_B", 1)
    r.m.inject("sustained_casing_pressure", well="W102", annulus="B", source_psi=800,
               tau_h=1.0)
    r.run(3 * 3600.0, 10.0)
    built = r.read("ANN_B", 1)
    assert built > quiet + 500.0 and built == pytest.approx(
        r.m.truth()["wells"]["W102"]["annulus_b_psi"], abs=2.0)
    assert r.read("ANN_B_HIGH", 1) == 0.0
    r.write("MAWOP_B", 500.0, 1)
    r.run(10.0, 5.0)
    assert r.read("ANN_B_HIGH", 1) == 1.0
    r.write("BLEED_B", 1, 1)
    r.run(600.0, 5.0)
    assert r.read("ANN_B", 1) < 50.0
    r.write("BLEED_B", 0, 1)
    r.run(3600.0, 10.0)
    assert r.read("ANN_B", 1) > 300.0  # a leak builds up again after the bleed-down
    # the other wells' annuli stay where thermal effects keep them
    assert r.read("ANN_B", 0) < 150.0


# --- drilling rig --------------------------------------------------------------------------
def test_rig_drills_makes_connections_and_sees_a_kick():
    r = Rig("drilling_rig")
    depth0 = r.read("HOLE_DEPTH")
    activities, slips = set(), []
    for _ in range(3600 // 5):
        r.run(5.0, 1.0)
        activities.add(int(r.read("ACTIVITY")))
        slips.append((r.read("IN_SLIPS"), r.read("HOOKLOAD")))
    assert r.read("HOLE_DEPTH") > depth0 + 40.0
    assert {0, 1} <= activities  # drilling and at least one connection
    in_slips = [h for s, h in slips if s == 1.0]
    assert in_slips and max(in_slips) < 50.0  # only the block hangs from the hook
    while r.read("ACTIVITY") != 0:
        r.run(5.0)
    flow0, pits0, spp0 = r.read("FLOW_OUT"), r.read("PIT_TOTAL"), r.read("SPP")
    r.m.inject("kick", volume_bbl=20.0, rate_bbl_min=2.0)
    r.run(300.0)
    assert r.read("FLOW_OUT") > flow0 + 3.0
    assert r.read("PIT_TOTAL") > pits0 + 7.0
    assert r.read("SPP") < spp0 - 30.0
    r.run(900.0)
    truth = r.m.truth()
    assert truth["pit_gain_bbl"] == pytest.approx(20.0, abs=0.1)
    assert truth["kick_start_time"] == pytest.approx(r.now - 1200.0)
    assert r.read("GAS_TOTAL") > 5.0  # gas-cut mud at the shakers
    r.m.inject("shut_in")
    r.run(600.0)
    truth = r.m.truth()
    assert r.read("FLOW_OUT") < 3.0 and r.read("BOP_CLOSED") == 1.0
    sidpp, sicp = r.read("SPP"), r.read("CASING_PRESSURE")
    assert sicp > sidpp > 250.0
    assert sidpp == pytest.approx(truth["sidpp_psi"], abs=15)
    assert truth["sidpp_stabilized_psi"] == 300.0
    assert truth["sicp_stabilized_psi"] > 300.0


def test_rig_set_points_and_trip():
    r = Rig("drilling_rig")
    r.write("SPM_SP", 60.0)
    r.run(60.0)
    assert r.read("FLOW_IN") == pytest.approx(2 * 60 * 0.1018 * 42, rel=0.02)
    r.m.inject("trip_out")
    bit0, tank0 = r.read("BIT_DEPTH"), r.read("TRIP_TANK")
    r.run(1800.0)
    assert r.read("BIT_DEPTH") < bit0 - 500.0
    assert r.read("TRIP_TANK") < tank0 - 3.0  # hole filled from the trip tank


# --- coiled tubing -------------------------------------------------------------------------
def test_coiled_tubing_job_runs_in_washes_and_pulls_out():
    r = Rig("coiled_tubing_unit", target_depth_ft=3000.0, fill_top_ft=2800.0,
            rih_speed_ft_min=150.0, wash_speed_ft_min=50.0, pooh_speed_ft_min=150.0,
            circulate_min=2.0, idle_min=2.0)
    r.run(600.0)
    truth = r.m.truth()
    assert r.read("DEPTH") == pytest.approx(truth["depth_ft"], abs=0.5)
    assert r.read("SPEED") == pytest.approx(150.0, abs=2.0)
    assert truth["pick_up_weight_lbf"] > truth["slack_off_weight_lbf"]
    assert truth["weight_lbf"] == pytest.approx(truth["slack_off_weight_lbf"], abs=1)  # RIH
    stages = set()
    for _ in range(200):
        r.run(30.0)
        stages.add(int(r.read("JOB_STAGE")))
    assert stages >= {1, 2, 3, 4}
    assert r.read("REEL_TRIPS") >= 1
    assert r.read("RUNNING_FEET") >= 2 * 3000 - 5
    assert r.read("PUMP_PRESSURE") > r.read("WHP") or r.read("PUMP_RATE") == 0.0
    r.write("HOLD", 1)
    r.run(60.0)  # the injector decelerates
    d0 = r.read("DEPTH")
    r.run(120.0)
    assert abs(r.read("DEPTH") - d0) < 1.0 and r.read("SPEED") == pytest.approx(0, abs=0.5)
