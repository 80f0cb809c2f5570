"""What a tag means to the calculations: roles, by well type.

A tag map row may name a `role`; calcd finds its inputs by (well, role), never by tag name,
so technicians may name tags as their site always has.  A role must be valid for the type
of the well the tag belongs to; a tag without a well may only carry a site role (test
separator, header, utilities).  Roles marked `indexed` also accept a numeric suffix
(`pit_volume_3`) for equipment that comes in numbered copies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

WELL_TYPES = ("rod_pump", "esp", "gas_lift", "pcp", "flowing", "injector", "drilling",
              "coiled_tubing")


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    en: str
    es: str
    units: str = ""  # the usual units, a hint for displays and for tag-map review
    array: bool = False  # the tag must be an array (e.g. a dynamometer card)
    indexed: bool = False  # name_N accepted


def _roles(*items: Role) -> Mapping[str, Role]:
    return MappingProxyType({r.name: r for r in items})


# Wellhead and production points that any well may have.
COMMON = _roles(
    Role("thp", "tubing head pressure", "presión de cabezal de tubería", "psi"),
    Role("chp", "casing head pressure", "presión de cabezal de revestidor", "psi"),
    Role("flowline_pressure", "flowline pressure", "presión de línea de flujo", "psi"),
    Role("flowline_temperature", "flowline temperature", "temperatura de línea de flujo",
         "degF"),
    Role("wellhead_temperature", "wellhead temperature", "temperatura de cabezal", "degF"),
    Role("annulus_a_pressure", "annulus A pressure", "presión del anular A", "psi"),
    Role("annulus_b_pressure", "annulus B pressure", "presión del anular B", "psi"),
    Role("annulus_c_pressure", "annulus C pressure", "presión del anular C", "psi"),
    Role("choke_position", "choke position", "apertura del reductor", "%"),
    Role("run_status", "running", "en marcha"),
    Role("oil_rate", "oil rate", "tasa de petróleo", "bbl/d"),
    Role("gas_rate", "gas rate", "tasa de gas", "Mscf/d"),
    Role("water_rate", "water rate", "tasa de agua", "bbl/d"),
    Role("liquid_rate", "liquid rate", "tasa de líquido", "bbl/d"),
    Role("bsw", "basic sediment and water", "agua y sedimento", "%"),
    Role("header_valve_test", "header valve to test", "válvula del múltiple a prueba"),
    Role("header_valve_production", "header valve to production",
         "válvula del múltiple a producción"),
    Role("esd_status", "emergency shutdown", "parada de emergencia"),
    Role("fluid_level", "annular fluid level from surface (acoustic)",
         "nivel de fluido en el anular desde superficie (acústico)", "ft"),
    Role("bottomhole_pressure", "flowing bottom-hole pressure (gauge)",
         "presión de fondo fluyente (sensor)", "psi"),
)

BY_TYPE: Mapping[str, Mapping[str, Role]] = MappingProxyType({
    "rod_pump": _roles(
        Role("surface_position_card", "surface card position", "posición de carta de superficie",
             "in", array=True),
        Role("surface_load_card", "surface card load", "carga de carta de superficie", "lbf",
             array=True),
        Role("card_points", "points in the last card", "puntos de la última carta"),
        Role("card_sequence", "card counter (new card flag)", "contador de cartas"),
        Role("spm", "strokes per minute", "emboladas por minuto", "spm"),
        Role("stroke_length", "surface stroke length", "carrera de superficie", "in"),
        Role("motor_current", "motor current", "corriente del motor", "A"),
        Role("motor_power", "motor power", "potencia del motor", "kW"),
        Role("peak_load", "peak polished-rod load", "carga máxima en barra pulida", "lbf"),
        Role("min_load", "minimum polished-rod load", "carga mínima en barra pulida", "lbf"),
        Role("pump_off", "pumped off", "pozo achicado"),
        Role("controller_fillage", "controller's pump fillage", "llenado según controlador", "%"),
        Role("runtime_today", "run time today", "tiempo de operación hoy", "h"),
        Role("stroke_count", "stroke counter", "contador de emboladas"),
    ),
    "esp": _roles(
        Role("frequency", "drive frequency", "frecuencia del variador", "Hz"),
        Role("frequency_setpoint", "frequency set point", "consigna de frecuencia", "Hz"),
        Role("motor_current", "motor current", "corriente del motor", "A"),
        Role("motor_voltage", "motor voltage", "tensión del motor", "V"),
        Role("motor_load", "motor load", "carga del motor", "%"),
        Role("motor_temperature", "motor winding temperature", "temperatura del motor", "degF"),
        Role("intake_pressure", "pump intake pressure", "presión de succión", "psi"),
        Role("intake_temperature", "pump intake temperature", "temperatura de succión", "degF"),
        Role("discharge_pressure", "pump discharge pressure", "presión de descarga", "psi"),
        Role("vibration", "vibration", "vibración", "g"),
        Role("vibration_y", "vibration, second axis", "vibración, segundo eje", "g"),
        Role("drive_fault", "drive trip code", "código de disparo del variador"),
        Role("current_unbalance", "current unbalance", "desbalance de corriente", "%"),
        Role("phase_current", "motor phase current", "corriente de fase del motor", "A",
             indexed=True),
    ),
    "gas_lift": _roles(
        Role("injection_rate", "gas injection rate", "tasa de inyección de gas", "Mscf/d"),
        Role("injection_pressure", "gas injection pressure", "presión de inyección", "psi"),
        Role("injection_temperature", "gas injection temperature", "temperatura de inyección",
             "degF"),
        Role("injection_setpoint", "injection rate set point", "consigna de inyección",
             "Mscf/d"),
        Role("injection_valve_position", "injection control valve", "válvula de inyección", "%"),
        Role("supply_pressure", "gas-lift supply header pressure",
             "presión del cabezal de suministro de gas", "psi"),
    ),
    "pcp": _roles(
        Role("rotor_speed", "rotor speed", "velocidad del rotor", "rpm"),
        Role("speed_setpoint", "speed set point", "consigna de velocidad", "rpm"),
        Role("drive_torque", "polished-rod torque", "torque en barra pulida", "ft*lbf"),
        Role("motor_current", "motor current", "corriente del motor", "A"),
        Role("intake_pressure", "pump intake pressure", "presión de succión", "psi"),
    ),
    "flowing": _roles(),
    "injector": _roles(
        Role("injection_rate", "injection rate", "tasa de inyección", "bbl/d"),
        Role("injection_pressure", "injection pressure", "presión de inyección", "psi"),
        Role("injection_total", "cumulative injection", "inyección acumulada", "bbl"),
    ),
    "drilling": _roles(
        Role("hookload", "hook load", "carga en el gancho", "klbf"),
        Role("block_position", "block position", "posición del bloque", "ft"),
        Role("bit_depth", "bit depth", "profundidad de la mecha", "ft"),
        Role("hole_depth", "hole depth", "profundidad del hoyo", "ft"),
        Role("wob", "weight on bit", "peso sobre la mecha", "klbf"),
        Role("rotary_rpm", "rotary speed", "velocidad de rotaria", "rpm"),
        Role("rotary_torque", "rotary torque", "torque de rotaria", "kft*lbf"),
        Role("rop", "rate of penetration", "tasa de penetración", "ft/h"),
        Role("standpipe_pressure", "standpipe pressure", "presión de tubo vertical", "psi"),
        Role("casing_pressure", "casing (choke) pressure", "presión de revestidor", "psi"),
        Role("flow_in", "flow in", "caudal de entrada", "gpm"),
        Role("flow_out", "flow out", "caudal de retorno", "%"),
        Role("pump_spm", "mud pump strokes per minute", "emboladas de bomba", "spm",
             indexed=True),
        Role("pump_strokes", "mud pump stroke counter", "contador de emboladas", indexed=True),
        Role("pit_volume", "pit volume", "volumen de tanque", "bbl", indexed=True),
        Role("pit_volume_total", "active pit volume", "volumen activo total", "bbl"),
        Role("trip_tank_volume", "trip tank volume", "volumen del tanque de viaje", "bbl"),
        Role("mud_weight_in", "mud weight in", "densidad de lodo de entrada", "ppg"),
        Role("mud_weight_out", "mud weight out", "densidad de lodo de salida", "ppg"),
        Role("gas_total", "total gas", "gas total", "%"),
        Role("on_bottom", "on bottom", "en el fondo"),
        Role("in_slips", "in slips", "en cuñas"),
        Role("rig_activity", "rig activity code", "código de actividad del taladro"),
        Role("mud_temperature_in", "mud temperature in", "temperatura del lodo de entrada",
             "degF"),
        Role("mud_temperature_out", "mud temperature out", "temperatura del lodo de salida",
             "degF"),
    ),
    "coiled_tubing": _roles(
        Role("ct_depth", "coiled tubing depth", "profundidad de la tubería", "ft"),
        Role("ct_speed", "running speed", "velocidad de corrida", "ft/min"),
        Role("ct_weight", "weight indicator", "indicador de peso", "lbf"),
        Role("ct_pump_pressure", "circulating pressure", "presión de circulación", "psi"),
        Role("ct_pump_rate", "pump rate", "caudal de bombeo", "bbl/min"),
        Role("ct_wellhead_pressure", "wellhead pressure", "presión de cabezal", "psi"),
        Role("ct_reel_pressure", "reel inlet pressure", "presión a la entrada del carrete",
             "psi"),
        Role("ct_cycles", "reel trip counter", "contador de viajes del carrete"),
        Role("ct_running_feet", "running feet counter", "pies corridos", "ft"),
        Role("ct_injector_force", "injector head force", "fuerza del inyector", "lbf"),
        Role("ct_returns_rate", "returns rate", "caudal de retorno", "bbl/min"),
        Role("ct_job_stage", "job stage code", "código de etapa del trabajo"),
    ),
})

# Site equipment with no single well: test separator, header, utilities.
SITE = _roles(
    Role("test_oil_rate", "test separator oil rate", "tasa de petróleo del separador de prueba",
         "bbl/d"),
    Role("test_gas_rate", "test separator gas rate", "tasa de gas del separador de prueba",
         "Mscf/d"),
    Role("test_water_rate", "test separator water rate", "tasa de agua del separador de prueba",
         "bbl/d"),
    Role("test_liquid_rate", "test separator liquid rate",
         "tasa de líquido del separador de prueba", "bbl/d"),
    Role("test_bsw", "test separator BS&W", "agua y sedimento del separador de prueba", "%"),
    Role("test_pressure", "test separator pressure", "presión del separador de prueba", "psi"),
    Role("test_temperature", "test separator temperature",
         "temperatura del separador de prueba", "degF"),
    Role("test_level", "test separator liquid level", "nivel del separador de prueba", "%"),
    Role("test_well", "well on test (selector)", "pozo en prueba (selector)"),
    Role("header_pressure", "production header pressure", "presión del múltiple", "psi"),
    Role("ambient_temperature", "ambient temperature", "temperatura ambiente", "degF"),
)

_INDEX = re.compile(r"^(?P<base>[a-z_]+?)_(?P<n>[0-9]+)$")


def lookup(role: str, well_type: str | None) -> Role | None:
    """The Role named `role` if it is valid for `well_type` (None = a site tag), else None."""
    if well_type is None:
        table: Mapping[str, Role] = SITE
        extra: Mapping[str, Role] = MappingProxyType({})
    else:
        table = COMMON
        extra = BY_TYPE.get(well_type, MappingProxyType({}))
    found = extra.get(role) or table.get(role)
    if found is not None:
        return found
    m = _INDEX.match(role)
    if m:
        base = extra.get(m["base"]) or table.get(m["base"])
        if base is not None and base.indexed:
            return base
    return None


def valid_roles(well_type: str | None) -> list[str]:
    """Every role name valid for a well type (or for site tags), for error messages."""
    if well_type is None:
        return sorted(SITE)
    return sorted({*COMMON, *BY_TYPE.get(well_type, {})})
