"""Type-specific well parameters: what calcd needs to know about a well besides its tags.

Declared as data: per table, each parameter's kind, physical range and meaning.  All are
optional at load time; a calculation that needs a missing one reports it (as a
config-error quality on its output) instead of stopping the daemon.  Ranges are generous
physical limits that catch unit mistakes (a pump depth of 4.5 means metres or kft, not ft).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from daemons.core.config.reader import Section


@dataclass(frozen=True, slots=True)
class ParamSpec:
    kind: type  # float, int, str, bool, tuple (a list of numbers within minval..maxval)
    minval: float | None = None
    maxval: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""


def _f(lo: float, hi: float, doc: str) -> ParamSpec:
    return ParamSpec(float, lo, hi, None, doc)


def _list(lo: float, hi: float, doc: str) -> ParamSpec:
    return ParamSpec(tuple, lo, hi, None, doc)


RESERVOIR = MappingProxyType({
    "reservoir_pressure_psi": _f(14.7, 30000, "static reservoir pressure at datum"),
    "reservoir_temperature_degF": _f(40, 500, "reservoir temperature"),
    "bubble_point_psi": _f(14.7, 10000, "bubble-point pressure"),
    "productivity_index_bpd_psi": _f(0.0, 1000, "liquid productivity index J"),
    "perforation_depth_ft": _f(100, 40000, "mid-perforation true vertical depth"),
    "api_gravity": _f(5, 70, "stock-tank oil gravity, °API"),
    "gas_sg": _f(0.55, 2.0, "gas specific gravity (air = 1)"),
    "water_sg": _f(0.95, 1.3, "produced water specific gravity"),
    "water_cut_pct": _f(0, 100, "water cut"),
    "gor_scf_stb": _f(0, 100000, "producing gas-oil ratio"),
    "tubing_id_in": _f(0.5, 8, "tubing inner diameter"),
    "casing_id_in": _f(2, 30, "production casing inner diameter"),
})

# Well integrity, any well type: `[well.integrity]`.
INTEGRITY = MappingProxyType({
    "mawop_a_psi": _f(0, 30000, "A annulus maximum allowable wellhead operating pressure"),
    "mawop_b_psi": _f(0, 30000, "B annulus maximum allowable wellhead operating pressure"),
    "mawop_c_psi": _f(0, 30000, "C annulus maximum allowable wellhead operating pressure"),
    "scp_buildup_psi": _f(1, 5000, "build-up after a bleed-down that flags sustained "
                                   "casing pressure (API RP 90)"),
    "scp_window_h": _f(0.1, 168, "how long after a bleed-down a build-up is watched"),
})

TAPER = MappingProxyType({
    "diameter_in": _f(0.375, 2.0, "rod diameter"),
    "length_ft": _f(1, 20000, "taper length"),
    "modulus_psi": _f(5e6, 35e6, "Young's modulus (steel 30.5e6, fiberglass 7.2e6)"),
    "density_lbm_ft3": _f(50, 600, "rod material density (steel 490)"),
    "grade": ParamSpec(str, doc="API rod grade, e.g. D, KD, N-97"),
})

BY_TYPE: Mapping[str, Mapping[str, ParamSpec]] = MappingProxyType({
    "rod_pump": MappingProxyType({
        "pump_depth_ft": _f(100, 20000, "pump setting depth"),
        "plunger_diameter_in": _f(0.75, 5.0, "pump plunger diameter"),
        "stroke_length_in": _f(12, 400, "surface stroke length"),
        "unit_type": ParamSpec(str, choices=("conventional", "mark_ii", "air_balanced",
                                             "long_stroke", "hydraulic")),
        "unit_designation": ParamSpec(str, doc="API designation, e.g. C-320D-256-100"),
        "fluid_sg": _f(0.6, 1.5, "produced fluid specific gravity"),
        "tubing_anchored": ParamSpec(bool, doc="tubing anchor set"),
        "pump_off_fillage_pct": _f(0, 100, "pump-off control set point"),
        "damping": _f(0.0, 2.0, "dimensionless damping factor of the wave equation"),
        "pump_efficiency_pct": _f(1, 100, "volumetric efficiency for production estimates"),
        "pump_off_strokes": ParamSpec(int, 1, 100, None, "consecutive strokes below the "
                                      "pump-off set point that make the well pumped off"),
        "volumetric_factor": _f(0.1, 2.0, "stock-tank barrels per barrel displaced at the "
                                          "pump (shrinkage, 1/Bo for oil)"),
    }),
    "esp": MappingProxyType({
        "pump_depth_ft": _f(100, 20000, "pump intake depth"),
        "stages": ParamSpec(int, 1, 1000, None, "pump stages"),
        "pump_model": ParamSpec(str, doc="manufacturer's pump model"),
        "bep_rate_bpd": _f(10, 100000, "best-efficiency-point rate at base frequency"),
        "head_per_stage_ft": _f(1, 200, "head per stage at BEP and base frequency"),
        "base_frequency_hz": _f(40, 70, "frequency of the published pump curve"),
        "motor_hp": _f(5, 3000, "motor nameplate power"),
        "motor_nameplate_volts": _f(100, 10000, "motor nameplate voltage"),
        "motor_nameplate_amps": _f(5, 1000, "motor nameplate current"),
        "fluid_sg": _f(0.6, 1.5, "produced fluid specific gravity"),
        "underload_pct": _f(0, 100, "underload trip set point, % of nameplate current"),
        "overload_pct": _f(50, 300, "overload set point, % of nameplate current"),
        "curve_rate_bpd": _list(0, 100000, "pump curve: rates at base frequency"),
        "curve_head_ft": _list(0, 1000, "pump curve: head per stage at those rates"),
        "pumpoff_submergence_ft": _f(0, 5000, "fluid over the pump below which the pump is "
                                              "pumping off"),
    }),
    "gas_lift": MappingProxyType({
        "injection_depth_ft": _f(100, 20000, "operating valve depth"),
        "max_injection_mscfd": _f(1, 20000, "maximum injection rate available"),
        "injection_pressure_psi": _f(50, 5000, "available injection pressure"),
        "fluid_sg": _f(0.6, 1.5, "produced fluid specific gravity"),
        "curve_injection_mscfd": _list(0, 20000, "performance curve: injection rates"),
        "curve_oil_bpd": _list(0, 100000, "performance curve: oil rates at those"),
        "gas_cost_per_mscf": _f(0, 1000, "cost of lift gas (any currency)"),
        "oil_price_per_bbl": _f(0.01, 10000, "oil netback in the same currency"),
    }),
    "pcp": MappingProxyType({
        "pump_depth_ft": _f(100, 10000, "pump setting depth"),
        "eccentricity_in": _f(0.05, 2, "rotor eccentricity"),
        "rotor_diameter_in": _f(0.5, 6, "rotor minor diameter"),
        "stator_pitch_in": _f(1, 40, "stator pitch"),
        "max_rpm": _f(10, 1000, "maximum rotor speed"),
        "max_torque_ftlbf": _f(10, 10000, "polished-rod torque limit"),
        "fluid_sg": _f(0.6, 1.5, "produced fluid specific gravity"),
        "slip_bpd_at_1000psi": _f(0, 5000, "bench-test slip at 1,000 psi differential"),
        "slip_exponent": _f(0.5, 3.0, "slip grows as (differential / 1,000 psi)^n"),
    }),
    "flowing": MappingProxyType({
        "choke_size_64ths": _f(1, 192, "bean size in 64ths of an inch"),
        "test_purge_min": _f(0, 600, "well test: minutes after the switch before the "
                                     "rates are watched for stability"),
        "test_window_min": _f(5, 240, "well test: window over which rates must be stable"),
        "test_tolerance_pct": _f(0.5, 50, "well test: how much the rates may move within "
                                          "the window"),
        "test_min_duration_min": _f(5, 1440, "well test: shortest test that counts"),
        "test_duration_min": _f(10, 2880, "well test: a test ends (done) after this long"),
    }),
    "injector": MappingProxyType({
        "fluid": ParamSpec(str, choices=("water", "gas", "steam", "co2", "polymer")),
        "max_injection_pressure_psi": _f(0, 15000, "maximum allowed injection pressure"),
        "target_rate": _f(0, 100000, "target injection rate (bbl/d or Mscf/d)"),
    }),
    "drilling": MappingProxyType({
        "rig_name": ParamSpec(str),
        "bit_diameter_in": _f(2, 36, "bit diameter"),
        "drill_pipe_od_in": _f(2, 7, "drill pipe outside diameter"),
        "drill_pipe_id_in": _f(1, 6.5, "drill pipe inside diameter"),
        "casing_shoe_tvd_ft": _f(0, 40000, "last casing shoe true vertical depth"),
        "casing_id_in": _f(2, 30, "last casing inner diameter"),
        "lot_emw_ppg": _f(6, 25, "leak-off test equivalent mud weight at the shoe"),
        "mud_weight_ppg": _f(6, 25, "current mud weight"),
        "pump_output_bbl_stk": _f(0.01, 1, "mud pump output per stroke"),
        "slow_pump_rate_spm": _f(5, 100, "slow circulating rate"),
        "slow_pump_pressure_psi": _f(10, 5000, "pressure at the slow circulating rate"),
        "bha_length_ft": _f(0, 5000, "bottom-hole assembly length"),
        "bha_od_in": _f(2, 14, "bottom-hole assembly (drill collar) outside diameter"),
        "bha_id_in": _f(0.5, 6, "bottom-hole assembly inside diameter"),
        "plastic_viscosity_cp": _f(1, 200, "mud plastic viscosity"),
        "yield_point_lbf100ft2": _f(0, 200, "mud yield point"),
        "block_weight_klbf": _f(1, 200, "traveling block and top drive weight"),
        "flow_out_full_scale_gpm": _f(10, 10000, "flow-out paddle: gpm at 100 %"),
        "reserve_pits": _list(1, 64, "pit numbers outside the active system"),
        "kick_pit_gain_bbl": _f(0.5, 100, "kick: pit gain threshold"),
        "kick_flow_delta_gpm": _f(1, 2000, "kick: flow-out minus flow-in threshold"),
        "kick_delay_s": _f(0, 600, "kick: both thresholds exceeded for this long"),
    }),
    "coiled_tubing": MappingProxyType({
        "ct_od_in": _f(0.75, 4.5, "coiled tubing outside diameter"),
        "ct_wall_in": _f(0.06, 0.4, "wall thickness"),
        "ct_length_ft": _f(100, 40000, "length on the reel"),
        "yield_strength_psi": _f(50000, 160000, "minimum yield strength (CT-80 = 80,000)"),
        "reel_core_radius_in": _f(10, 120, "reel core radius"),
        "guide_arch_radius_in": _f(24, 200, "gooseneck (guide arch) radius"),
        "well_td_ft": _f(100, 40000, "well total depth"),
        "ct_string_id": ParamSpec(str, doc="the string's serial: fatigue follows the string"),
        "tensile_strength_psi": _f(50000, 200000, "minimum tensile strength (fatigue)"),
        "friction_coefficient": _f(0, 1, "wellbore friction factor"),
        "stripper_friction_lbf": _f(0, 20000, "stripper (pack-off) friction"),
        "fluid_ppg": _f(6, 20, "wellbore fluid density"),
        "hole_id_in": _f(1, 20, "wellbore (casing or hole) inside diameter"),
        "max_snub_lbf": _f(100, 200000, "most the injector can push (snub)"),
        "survey_md_ft": _list(0, 40000, "survey stations: measured depth"),
        "survey_inc_deg": _list(0, 180, "survey stations: inclination"),
    }),
})


def read_params(section: Section, spec: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """Read every parameter of one table (all optional) and report unknown ones."""
    out: dict[str, Any] = {}
    for name, p in spec.items():
        if p.kind is float:
            value = section.get_float(name, None, minval=p.minval, maxval=p.maxval)
        elif p.kind is int:
            value = section.get_int(name, None, minval=p.minval, maxval=p.maxval)
        elif p.kind is bool:
            value = section.get_bool(name, None)
        elif p.kind is tuple:
            value = _number_list(section, name, p)
        else:
            value = section.get_str(name, None, choices=p.choices)
        if value is not None:
            out[name] = value
    return out


def _number_list(section: Section, name: str, p: ParamSpec) -> tuple[float, ...] | None:
    """A list of numbers (a pump or performance curve), each within the spec's range."""
    items = section.get_list(name, None)
    if items is None:
        return None
    if not items or not all(isinstance(x, int | float) and not isinstance(x, bool)
                            for x in items):
        section.error(name, f"'{name}' must be a non-empty list of numbers",
                      f"'{name}' debe ser una lista no vacía de números")
        return None
    bad = [x for x in items if (p.minval is not None and x < p.minval)
           or (p.maxval is not None and x > p.maxval)]
    if bad:
        section.error(name, f"'{name}': {bad[0]} is outside {p.minval}..{p.maxval}",
                      f"'{name}': {bad[0]} está fuera de {p.minval}..{p.maxval}")
        return None
    return tuple(float(x) for x in items)


def read_well_tables(well: Section, well_type: str) -> dict[str, Any]:
    """The `[well.reservoir]`, `[well.integrity]` and `[well.<type>]` tables of one well."""
    params: dict[str, Any] = {}
    reservoir = well.sub("reservoir")
    if reservoir is not None:
        params["reservoir"] = MappingProxyType(read_params(reservoir, RESERVOIR))
        reservoir.finish()
    integrity = well.sub("integrity")
    if integrity is not None:
        params["integrity"] = MappingProxyType(read_params(integrity, INTEGRITY))
        integrity.finish()
    for other in BY_TYPE:
        if other != well_type and well.has(other):
            well.error(other, f"table [{other}] does not apply to a '{well_type}' well",
                       f"la tabla [{other}] no aplica a un pozo tipo '{well_type}'")
            well.sub(other)
    own = well.sub(well_type) if well_type in BY_TYPE else None
    if own is not None:
        values = read_params(own, BY_TYPE[well_type])
        if well_type == "rod_pump":
            tapers = own.get_list("rod_string", None)
            if tapers is not None:
                values["rod_string"] = tuple(_read_tapers(own, tapers))
        own.finish()
        params[well_type] = MappingProxyType(values)
    return params


def _read_tapers(own: Section, tapers: list[Any]) -> list[Mapping[str, Any]]:
    """rod_string = [{diameter_in=1.0, length_ft=1200, ...}, ...], top taper first."""
    out = []
    for i, item in enumerate(tapers):
        taper = Section(item, (*own.path, "rod_string", i), own.problems)
        values = read_params(taper, TAPER)
        for required in ("diameter_in", "length_ft"):
            if required not in values and isinstance(item, dict) and required not in item:
                taper.problems.add(taper.path, f"rod_string taper {i + 1}: missing '{required}'",
                                   f"tramo {i + 1} de la sarta: falta '{required}'")
        values.setdefault("modulus_psi", 30.5e6)
        values.setdefault("density_lbm_ft3", 490.0)
        taper.finish()
        out.append(MappingProxyType(values))
    return out
