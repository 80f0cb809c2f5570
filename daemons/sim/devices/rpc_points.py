"""Register map of the simulated rod pump (pump-off) controller (W101): Modbus RTU.

Like the pump-off controllers in the field: 16-bit scaled integers, a status word of bits,
the last surface card as two int16[200] arrays (position in 0.01 in, load in lbf) with a
card counter that changes when a new card is ready, set points in holding registers and
start/stop as a coil.
"""

from __future__ import annotations

from daemons.sim.devices.base import Point

STOPPED, RUNNING, PUMPED_OFF, MALFUNCTION = 0, 1, 2, 3
STATE_NAMES = ("stopped", "running", "pumped_off", "malfunction")
CARD_POINTS = 200

_P = Point
POINTS: tuple[Point, ...] = (
    _P("STATE", "ir", 0, "uint16", lo=0, hi=3, scan="fast",
       description="Controller state: 0 stopped, 1 running, 2 pumped-off down time, "
                   "3 malfunction"),
    _P("RUNNING", "ir", 1, "bit:0", role="run_status", lo=0, hi=1,
       description="Status bit 0: unit running"),
    _P("PUMPED_OFF", "ir", 1, "bit:1", role="pump_off", lo=0, hi=1,
       description="Status bit 1: stopped for pump-off down time"),
    _P("POC_ACTIVE", "ir", 1, "bit:2", lo=0, hi=1,
       description="Status bit 2: pump-off control enabled"),
    _P("MALFUNCTION", "ir", 1, "bit:3", lo=0, hi=1,
       description="Status bit 3: load limit malfunction shutdown"),
    _P("SPM", "ir", 2, "uint16", 0.01, units="spm", role="spm", lo=0, hi=20, deadband=0.05,
       description="Strokes per minute of the last stroke"),
    _P("STROKE_LENGTH", "ir", 3, "uint16", 0.01, units="in", role="stroke_length", lo=0,
       hi=200, scan="slow", description="Surface stroke length of the last card"),
    _P("LOAD", "ir", 4, "uint16", units="lbf", lo=0, hi=40000, deadband=50,
       description="Polished-rod load now"),
    _P("POSITION", "ir", 5, "int16", 0.01, units="in", lo=-5, hi=200, deadband=1,
       description="Polished-rod position now (from the bottom of stroke)"),
    _P("MOTOR_CURRENT", "ir", 6, "uint16", 0.1, units="A", role="motor_current", lo=0,
       hi=200, deadband=0.5, description="Motor current now"),
    _P("MOTOR_POWER", "ir", 7, "int16", 0.01, units="kW", role="motor_power", lo=-60,
       hi=120, deadband=0.2, description="Motor power now (negative when regenerating)"),
    _P("PEAK_LOAD", "ir", 8, "uint16", units="lbf", role="peak_load", lo=0, hi=40000,
       scan="slow", description="Peak polished-rod load of the last card"),
    _P("MIN_LOAD", "ir", 9, "uint16", units="lbf", role="min_load", lo=0, hi=40000,
       scan="slow", description="Minimum polished-rod load of the last card"),
    _P("FILLAGE", "ir", 10, "uint16", 0.1, units="%", role="controller_fillage", lo=0,
       hi=100, scan="slow", description="Pump fillage estimated by the controller"),
    _P("STROKE_COUNT", "ir", 11, "uint32", role="stroke_count", lo=0, hi=4294967295,
       description="Stroke counter"),
    _P("RUNTIME_TODAY", "ir", 13, "uint16", 0.01, units="h", role="runtime_today", lo=0,
       hi=24, scan="slow", description="Run time since midnight"),
    _P("RUNTIME_YESTERDAY", "ir", 14, "uint16", 0.01, units="h", lo=0, hi=24, scan="slow",
       description="Run time yesterday"),
    _P("CARD_SEQUENCE", "ir", 15, "uint16", role="card_sequence", lo=0, hi=65535,
       description="Card counter; changes when a new card is ready"),
    _P("CARD_POINTS", "ir", 16, "uint16", role="card_points", lo=0, hi=CARD_POINTS,
       scan="slow", description="Points in the card arrays"),
    _P("DOWNTIME_LEFT", "ir", 17, "uint16", 0.1, units="min", lo=0, hi=1440,
       description="Minutes left of the pump-off down time"),
    _P("CYCLES_TODAY", "ir", 18, "uint16", lo=0, hi=1000, scan="slow",
       description="Pump-off cycles since midnight"),
    _P("PEAK_TORQUE", "ir", 19, "int16", 0.1, units="kin*lbf", lo=-500, hi=500, scan="slow",
       description="Peak net gearbox torque of the last card"),
    _P("THP", "ir", 20, "uint16", 0.1, units="psi", role="thp", lo=0, hi=1000, deadband=1,
       description="Tubing head pressure"),
    _P("CHP", "ir", 21, "uint16", 0.1, units="psi", role="chp", lo=0, hi=1000, deadband=1,
       description="Casing head pressure"),
    _P("WELLHEAD_TEMP", "ir", 22, "int16", 0.1, units="degF", role="wellhead_temperature",
       lo=-20, hi=250, deadband=0.5, description="Wellhead (flow tee) temperature"),
    _P("CONTROLLER_ID", "ir", 30, "string:8", scan="slow",
       description="Controller model and firmware"),
    _P("CARD_POSITION", "ir", 100, f"int16[{CARD_POINTS}]", 0.01, units="in",
       role="surface_position_card", lo=-5, hi=200, scan="slow",
       description="Surface card: polished-rod position, bottom of stroke first"),
    _P("CARD_LOAD", "ir", 300, f"int16[{CARD_POINTS}]", units="lbf",
       role="surface_load_card", lo=0, hi=32000, scan="slow",
       description="Surface card: polished-rod load"),
    _P("POC_FILLAGE_SP", "hr", 0, "uint16", 0.1, units="%", access="rw", lo=0, hi=100,
       scan="slow", description="Pump-off set point: stop when fillage falls below"),
    _P("DOWN_TIME_SP", "hr", 1, "uint16", units="min", access="rw", lo=1, hi=1440,
       scan="slow", description="Down time after a pump-off"),
    _P("SPM_SP", "hr", 2, "uint16", 0.01, units="spm", access="rw", lo=2, hi=15, scan="slow",
       description="Speed set point (VFD)"),
    _P("POC_STROKES_SP", "hr", 3, "uint16", access="rw", lo=1, hi=20, scan="slow",
       description="Consecutive pumped-off strokes before stopping"),
    _P("MIN_LOAD_SP", "hr", 4, "uint16", units="lbf", access="rw", lo=0, hi=40000,
       scan="slow", description="Malfunction: stop when the peak load is below"),
    _P("MAX_LOAD_SP", "hr", 5, "uint16", units="lbf", access="rw", lo=0, hi=40000,
       scan="slow", description="Malfunction: stop when the peak load is above"),
    _P("RUN_CMD", "co", 0, "bool", access="rw", lo=0, hi=1, scan="slow",
       description="Start (1) / stop (0); writing 1 also clears a malfunction"),
    _P("POC_ENABLE", "co", 1, "bool", access="rw", lo=0, hi=1, scan="slow",
       description="Pump-off control enabled"),
)

