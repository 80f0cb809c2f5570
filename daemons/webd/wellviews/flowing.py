"""Flowing wells on a test header: the test in progress, calcd's recorded tests
(welltests.db, as `wellgate welltests` lists them) and the well's IPR curve; injectors
(rate and pressure against their configured target and limit)."""

from __future__ import annotations

from typing import Any

import numpy as np

from daemons.core.ring.rows import iso_utc
from daemons.core.store import StoreError
from daemons.core.welltests import WellTest, WellTestStore
from daemons.petroleum import inflow
from daemons.webd.wellviews.source import ViewSource, finite, numbers

TESTS_SHOWN = 10
IPR_POINTS = 41
# TEST_STATE codes (docs/calcs.md): purging, stabilising and testing are a test going on
TEST_IN_PROGRESS = (1, 2, 3)


def _test_json(t: WellTest) -> dict[str, Any]:
    return {"id": t.id, "start": iso_utc(t.start_ns), "end": iso_utc(t.end_ns),
            "status": t.status, "oil_bpd": t.oil_bpd, "water_bpd": t.water_bpd,
            "gas_mscfd": t.gas_mscfd, "liquid_bpd": t.liquid_bpd,
            "gor_scf_stb": t.gor_scf_stb, "water_cut_pct": t.water_cut_pct,
            "duration_h": t.duration_h, "pwf_psi": finite(t.extra.get("pwf_psi")),
            "pi_bpd_psi": finite(t.extra.get("PI")),
            "vogel_qmax_bpd": finite(t.extra.get("VOGEL_QMAX")),
            "aof_bpd": finite(t.extra.get("AOF")),
            "approved_by": t.approved_by}


def recorded_tests(src: ViewSource) -> list[WellTest]:
    path = src.gate.config.paths.state_dir
    if not (path / "welltests.db").exists():
        return []  # calcd has not recorded a test on this gateway yet
    try:
        store = WellTestStore(path, readonly=True)
    except StoreError:
        return []
    try:
        return store.list(src.well.id, TESTS_SHOWN)
    finally:
        store.conn.close()


def ipr(src: ViewSource, tests: list[WellTest]) -> dict[str, Any] | None:
    """The inflow curve: composite PI/Vogel with the bubble point (as calcd's AOF), the
    PI from the newest test that has one, else the configured PI."""
    w = src.well
    pr, pb = w.param("reservoir_pressure_psi"), w.param("bubble_point_psi")
    if not pr:
        return None
    tested = next((t for t in tests if finite(t.extra.get("PI")) is not None), None)
    if tested is not None:
        j, source = float(tested.extra["PI"]), "test"
    elif w.param("productivity_index_bpd_psi"):
        j, source = float(w.param("productivity_index_bpd_psi")), "configured"
    else:
        return None
    pwf = np.linspace(0.0, float(pr), IPR_POINTS)
    if pb is not None:
        rate = inflow.composite_ipr_rate(pwf=pwf, p_res=pr, pb=pb, j=j)
        aof = inflow.composite_aof(p_res=pr, pb=pb, j=j)
        method = "composite"
    elif tested is not None and finite(tested.extra.get("VOGEL_QMAX")) is not None:
        qmax = float(tested.extra["VOGEL_QMAX"])
        rate = inflow.vogel_rate(pwf=pwf, p_res=pr, qmax=qmax)
        aof, method = qmax, "vogel"
    else:
        # no bubble point and no Vogel fit: the composite curve with pb = 0 is the
        # straight-line PI
        rate = inflow.composite_ipr_rate(pwf=pwf, p_res=pr, pb=0.0, j=j)
        aof, method = inflow.composite_aof(p_res=pr, pb=0.0, j=j), "linear"
    point = None
    if tested is not None and tested.liquid_bpd is not None:
        point = {"pwf_psi": finite(tested.extra.get("pwf_psi")),
                 "rate_bpd": finite(tested.liquid_bpd)}
    return {"method": method, "source": source, "reservoir_pressure_psi": float(pr),
            "bubble_point_psi": finite(pb), "pi_bpd_psi": j, "aof_bpd": finite(aof),
            "pwf_psi": numbers(pwf), "rate_bpd": numbers(rate), "test_point": point}


def flowing(src: ViewSource) -> dict[str, Any]:
    src.use_roles("thp", "chp", "choke_position", "flowline_pressure",
                  "flowline_temperature", "wellhead_temperature", "header_valve_test",
                  "header_valve_production", "bottomhole_pressure", "oil_rate", "gas_rate",
                  "water_rate", "liquid_rate")
    for role in ("test_oil_rate", "test_water_rate", "test_gas_rate", "test_pressure"):
        name = src.site_role_tag(role)
        if name is not None:
            src.tags[role] = name
    src.use_calcs("TEST_STATE", "TEST_OIL_RATE", "TEST_WATER_RATE", "TEST_GAS_RATE",
                  "TEST_GOR", "TEST_WATER_CUT", "TEST_DURATION", "PI", "VOGEL_QMAX", "AOF")
    tests = recorded_tests(src)
    state = src.value("TEST_STATE")
    return {"well_test": {"state": None if state is None else int(state),
                          "in_progress": state is not None and int(state) in TEST_IN_PROGRESS,
                          "results": [_test_json(t) for t in tests]},
            "ipr": src.guarded("ipr", lambda: ipr(src, tests)),
            "trends": src.trend_refs("thp", "choke_position", "flowline_pressure",
                                     "bottomhole_pressure"),
            "params": {k: src.well.param(k) for k in (
                "choke_size_64ths", "reservoir_pressure_psi", "bubble_point_psi",
                "productivity_index_bpd_psi")}}


def injector(src: ViewSource) -> dict[str, Any]:
    src.use_roles("injection_rate", "injection_pressure", "injection_total", "thp", "chp",
                  "run_status")
    w = src.well
    return {"injection": {"fluid": w.param("fluid"),
                          "max_injection_pressure_psi": finite(
                              w.param("max_injection_pressure_psi")),
                          "target_rate": finite(w.param("target_rate"))},
            "trends": src.trend_refs("injection_rate", "injection_pressure"),
            "params": {k: w.param(k) for k in ("fluid", "max_injection_pressure_psi",
                                                "target_rate")}}
