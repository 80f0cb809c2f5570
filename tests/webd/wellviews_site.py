"""A test gateway with a well of every type for the well views: its configuration (the
parameters of config/gateway.toml's wells), a tag map with their roles, acqd's and
calcd's rings (cards included), history of the last hours, and a recorded well test."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import system_user
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.config import GatewayConfig, load_config
from daemons.core.history.writer import HistoryWriter
from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec
from daemons.core.tagmap import store
from daemons.core.welltests import WellTestStore
from tests import site_toml

from .conftest import FAST, PASSWORD, SITE_PERMISSIONS, USERS, WEB

NS = 1_000_000_000
CARD_POINTS = 40

WELLS = """\
[[well]]
id = "W101"
name = "LL-0101"
field = "Lagunillas"
type = "rod_pump"
[well.integrity]
mawop_a_psi = 1500.0
mawop_b_psi = 900.0
[well.rod_pump]
pump_depth_ft = 4500.0
plunger_diameter_in = 1.75
stroke_length_in = 86.0
pump_off_fillage_pct = 75.0

[[well]]
id = "W102"
field = "Lagunillas"
type = "esp"
[well.esp]
pump_depth_ft = 6800.0
stages = 180
bep_rate_bpd = 1600.0
base_frequency_hz = 60.0
motor_nameplate_amps = 28.0
curve_rate_bpd = [0.0, 400.0, 800.0, 1200.0, 1600.0, 2000.0, 2400.0, 2900.0]
curve_head_ft = [35.0, 33.5, 30.94, 27.31, 22.61, 16.85, 10.03, 0.0]

[[well]]
id = "W103"
field = "Lagunillas"
type = "gas_lift"
[well.gas_lift]
curve_injection_mscfd = [0.0, 300.0, 600.0, 900.0, 1200.0, 1500.0, 1800.0, 2100.0]
curve_oil_bpd = [0.0, 408.2, 515.0, 565.6, 593.3, 608.6, 616.5, 619.6]
gas_cost_per_mscf = 3.0
oil_price_per_bbl = 60.0

[[well]]
id = "W104"
field = "Lagunillas"
type = "flowing"
[well.reservoir]
reservoir_pressure_psi = 2400.0
bubble_point_psi = 1500.0
productivity_index_bpd_psi = 0.9
[well.flowing]
choke_size_64ths = 24.0

[[well]]
id = "W107"
field = "Lagunillas"
type = "coiled_tubing"
[well.coiled_tubing]
ct_od_in = 1.75
ct_wall_in = 0.134
ct_length_ft = 15000.0
yield_strength_psi = 80000.0
well_td_ft = 9500.0
ct_string_id = "CT-1750-0001"

[[well]]
id = "W108"
field = "Lagunillas"
type = "pcp"
[well.pcp]
pump_depth_ft = 3000.0
eccentricity_in = 0.25
rotor_diameter_in = 1.5
stator_pitch_in = 12.0
max_rpm = 400.0
max_torque_ftlbf = 1400.0

[[well]]
id = "D201"
field = "Lagunillas"
type = "drilling"
[well.drilling]
mud_weight_ppg = 10.5
drill_pipe_id_in = 4.276
bha_length_ft = 600.0
bha_id_in = 2.8125
pump_output_bbl_stk = 0.1018
slow_pump_pressure_psi = 450.0
slow_pump_rate_spm = 30.0
lot_emw_ppg = 14.2
casing_shoe_tvd_ft = 6000.0
reserve_pits = [4]

[[well]]
id = "I301"
field = "Lagunillas"
type = "injector"
[well.injector]
fluid = "water"
max_injection_pressure_psi = 2500.0
target_rate = 3000.0

[[well]]
id = "B201"
field = "Bachaquero"
type = "flowing"
"""
GATEWAY = site_toml.gateway_toml("well views test pad", WEB, site_toml.DEVICE,
                                 site_toml.access("site-permissions.csv"), WELLS)

# tag, well, role, units, live value (None: an array)
TAGS = [
    ("W101.THP", "W101", "thp", "psi", 120.0),
    ("W101.SPM", "W101", "spm", "spm", 7.5),
    ("W101.ANN_A", "W101", "annulus_a_pressure", "psi", 420.0),
    ("W101.ANN_B", "W101", "annulus_b_pressure", "psi", 950.0),
    ("W101.CARD_POSITION", "W101", "surface_position_card", "in", None),
    ("W101.CARD_LOAD", "W101", "surface_load_card", "lbf", None),
    ("W102.FREQ", "W102", "frequency", "Hz", 50.0),
    ("W102.AMPS", "W102", "motor_current", "A", 22.0),
    ("W102.PIP", "W102", "intake_pressure", "psi", 900.0),
    ("W103.QINJ", "W103", "injection_rate", "Mscf/d", 900.0),
    ("W103.QOIL", "W103", "oil_rate", "bbl/d", 560.0),
    ("W104.THP", "W104", "thp", "psi", 310.0),
    ("W104.TEST_VALVE", "W104", "header_valve_test", "", 1.0),
    ("SEP.QOIL", None, "test_oil_rate", "bbl/d", 640.0),
    ("W107.DEPTH", "W107", "ct_depth", "ft", 8000.0),
    ("W107.WEIGHT", "W107", "ct_weight", "lbf", 9000.0),
    ("W107.PUMP_P", "W107", "ct_pump_pressure", "psi", 2500.0),
    ("W108.RPM", "W108", "rotor_speed", "rpm", 200.0),
    ("W108.TORQUE", "W108", "drive_torque", "ft*lbf", 700.0),
    ("D201.HOLE_DEPTH", "D201", "hole_depth", "ft", 9100.0),
    ("D201.BIT_DEPTH", "D201", "bit_depth", "ft", 9000.0),
    ("D201.WOB", "D201", "wob", "klbf", 25.0),
    ("D201.SPP", "D201", "standpipe_pressure", "psi", 300.0),
    ("D201.CSG_P", "D201", "casing_pressure", "psi", 420.0),
    ("D201.MW_IN", "D201", "mud_weight_in", "ppg", 10.5),
    ("D201.PIT1", "D201", "pit_volume_1", "bbl", 410.0),
    ("D201.PIT2", "D201", "pit_volume_2", "bbl", 380.0),
    ("I301.QINJ", "I301", "injection_rate", "bbl/d", 2400.0),
    ("I301.PINJ", "I301", "injection_pressure", "psi", 2100.0),
    ("B201.THP", "B201", "thp", "psi", 300.0),
]
CALCS = {  # calcd's results (docs/calcs.md)
    "W101": {"FILLAGE": 82.0, "PRODUCTION": 140.0, "RUNTIME_PCT": 95.0,
             "CARD_DIAGNOSIS": 2.0, "ANN_A_MARGIN": 1080.0, "ANN_B_MARGIN": -50.0},
    "W102": {"FLOW": 1300.0, "HEAD": 4100.0, "INTAKE_PRESSURE": 900.0, "ESP_CONDITION": 1.0},
    "W103": {"INJECTION_RATE": 900.0, "OPTIMUM_INJECTION": 1010.0},
    "W104": {"TEST_STATE": 3.0, "PI": 1.5, "AOF": 2600.0},
    "W107": {"PICKUP_WEIGHT": 10000.0, "SLACKOFF_WEIGHT": 6000.0, "FATIGUE_USED": 12.5},
    "W108": {"FLOW": 480.0, "VOL_EFFICIENCY": 90.0},
    "D201": {"SIDPP": 300.0, "SICP": 420.0, "MAASP": 1154.4, "PIT_GAIN": 1.5, "KICK": 0.0},
}
TEST_PI, TEST_PWF, TEST_LIQUID = 1.5, 1800.0, 900.0


def surface_card(phase: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    a = np.linspace(0.0, 2 * np.pi, CARD_POINTS, endpoint=False)
    # upstroke carries the fluid load, downstroke does not; `phase` makes cards differ
    return 43.0 * (1 - np.cos(a)), (11000.0 + 3500.0 * np.tanh(3 * np.sin(a))
                                     + 600.0 * np.sin(2 * a + phase))


def pump_card() -> tuple[np.ndarray, np.ndarray]:
    a = np.linspace(0.0, 2 * np.pi, CARD_POINTS, endpoint=False)
    return 38.0 * (1 - np.cos(a)), 2500.0 + 2500.0 * np.sign(np.sin(a))


def tagmap_csv() -> str:
    rows = ["tag,device,table,address,type,scale,scan,units,access,min,max,well,role"]
    address = 0
    for tag, well, role, units, value in TAGS:
        kind = "uint16" if value is not None else f"int16[{CARD_POINTS}]"
        rows.append(f"{tag},rtu1,hr,{address},{kind},,,{units},,,,{well or ''},{role}")
        address += 1 if value is not None else CARD_POINTS
    return "\n".join(rows) + "\n"


class ViewSite:
    """The gateway on disk; `publish_card` writes a new stroke into both rings."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "site-permissions.csv").write_text(SITE_PERMISSIONS)
        (root / "gateway.toml").write_text(GATEWAY)
        self.cfg: GatewayConfig = load_config(root / "gateway.toml")
        (root / "maps").mkdir()
        (root / "maps" / "site.csv").write_text(tagmap_csv())
        store.apply(self.cfg.paths.tagmap_dir, {"site.csv": root / "maps" / "site.csv"},
                    "test")
        users, audit = UserStore(self.cfg.paths.state_dir), AuditLog(self.cfg.paths.state_dir)
        accounts = Accounts(users, audit, load_policy(self.cfg), self.cfg.access, hasher=FAST)
        for name, (roles, scope) in USERS.items():
            accounts.add(system_user("root"), "cli", name, roles, scope, PASSWORD)
        users.close()
        audit.close()
        self.now = time.time_ns()
        self._rings()
        self._history()
        self._welltest()

    def _rings(self) -> None:
        run = self.cfg.paths.runtime_dir
        run.mkdir(parents=True, exist_ok=True)
        self.acq = RingWriter.create(
            run / "acq.ring", [SlotSpec(t, 0 if v is not None else CARD_POINTS, u)
                               for t, _w, _r, u, v in TAGS], tagmap_version=1)
        scalars = [i for i, t in enumerate(TAGS) if t[4] is not None]
        self.acq.write_batch(np.array(scalars), np.array([TAGS[i][4] for i in scalars]),
                             self.now, np.full(len(scalars), int(Quality.GOOD), np.uint32))
        calc_slots = [SlotSpec(f"{w}.CALC.{n}", 0, "") for w, r in CALCS.items() for n in r]
        calc_slots += [SlotSpec("W101.CALC.PUMP_CARD_POSITION", CARD_POINTS, "in"),
                       SlotSpec("W101.CALC.PUMP_CARD_LOAD", CARD_POINTS, "lbf")]
        self.calc = RingWriter.create(run / "calc.ring", calc_slots, tagmap_version=1)
        values = [v for r in CALCS.values() for v in r.values()]
        self.calc.write_batch(np.arange(len(values)), np.array(values), self.now,
                              np.full(len(values), int(Quality.GOOD), np.uint32))
        self.card_ts = self.now
        self.publish_card(self.now)

    def publish_card(self, ts_ns: int, phase: float = 0.0, pump: bool = True) -> None:
        """A stroke as acqd publishes it (the surface arrays, stamped `ts_ns`) and, with
        `pump`, calcd's downhole card stamped the same (as calcd stamps it)."""
        pos, load = surface_card(phase)
        self.acq.write_array(self.acq.index_of("W101.CARD_POSITION"), pos, ts_ns, 0)
        self.acq.write_array(self.acq.index_of("W101.CARD_LOAD"), load, ts_ns, 0)
        if pump:
            self.publish_pump_card(ts_ns)

    def publish_pump_card(self, ts_ns: int) -> None:
        ppos, pload = pump_card()
        self.calc.write_array(self.calc.index_of("W101.CALC.PUMP_CARD_POSITION"), ppos,
                              ts_ns, 0)
        self.calc.write_array(self.calc.index_of("W101.CALC.PUMP_CARD_LOAD"), pload, ts_ns, 0)

    def _history(self) -> None:
        """Two hours at 10 s: the rig drilled 9000 → 9100 ft with WOB rising 20 → 30,
        the coiled tubing ran 0 → 8000 ft with weight 2000 → 9000 lbf."""
        n = 720
        ts = self.now - (n - np.arange(n, dtype=np.int64)) * 10 * NS
        series = {
            "D201.HOLE_DEPTH": np.linspace(9000.0, 9100.0, n),
            "D201.BIT_DEPTH": np.linspace(8990.0, 9090.0, n),
            "D201.WOB": np.linspace(20.0, 30.0, n),
            "W107.DEPTH": np.linspace(0.0, 8000.0, n),
            "W107.WEIGHT": np.linspace(2000.0, 9000.0, n),
            "W107.CALC.PICKUP_WEIGHT": np.linspace(3000.0, 10000.0, n),
            "W101.CALC.FILLAGE": np.full(n, 82.0),
        }
        for db, names in (("history.db", [k for k in series if ".CALC." not in k]),
                          ("calc-history.db", [k for k in series if ".CALC." in k])):
            writer = HistoryWriter(self.cfg.paths.state_dir / db)
            ids = writer.ensure_series([(k, "float", 1.0, 0.0, "") for k in names])
            for sid, k in zip(ids, names, strict=True):
                writer.append(np.full(n, sid), ts, series[k],
                              np.full(n, int(Quality.GOOD), np.uint32))
            writer.flush(fold_all=True)
            writer.close()

    def _welltest(self) -> None:
        tests = WellTestStore(self.cfg.paths.state_dir)
        tests.record(well="W104", start_ns=self.now - 5 * 3600 * NS,
                     end_ns=self.now - 3600 * NS, switched_ns=None, status="complete",
                     rates={"oil_bpd": 600.0, "water_bpd": 300.0, "gas_mscfd": 400.0,
                            "liquid_bpd": TEST_LIQUID, "gor_scf_stb": 666.7,
                            "water_cut_pct": 33.3},
                     duration_h=4.0, samples=240, stats={},
                     extra={"PI": TEST_PI, "pwf_psi": TEST_PWF}, recorded_ns=self.now)
        tests.conn.close()

    def close(self) -> None:
        self.acq.close()
        self.calc.close()
