"""Register map of the simulated rig data unit (D201): Modbus TCP, depths as int32 CDAB.

Laid out like a rig's EDR/drilling-data gateway: 32-bit depths in hundredths of a foot
(word-swapped, as many such gateways send them), 16-bit scaled values for the rest, a
status word of bits, and the autodriller/pump set points as holding registers.
"""

from __future__ import annotations

from daemons.sim.devices.base import Point

DRILLING, CONNECTION, TRIP_OUT, TRIP_IN, CIRCULATING, SHUT_IN = range(6)
ACTIVITY = ("drilling", "connection", "tripping_out", "tripping_in", "circulating",
            "shut_in")
STAND_FT = 93.0
BLOCK_TOP, BLOCK_LOW = 98.0, 5.0
PSI_PER_FT_PPG = 0.052

_D = dict(type="int32", order="CDAB", scale=0.01, units="ft")
POINTS: tuple[Point, ...] = (
    Point("HOLE_DEPTH", "ir", 0, **_D, role="hole_depth", lo=0, hi=40000, deadband=0.1,
          description="Hole depth (measured)"),
    Point("BIT_DEPTH", "ir", 2, **_D, role="bit_depth", lo=-100, hi=40000, deadband=0.1,
          description="Bit depth (measured)"),
    Point("BLOCK_POSITION", "ir", 4, **_D, role="block_position", lo=-5, hi=150,
          deadband=0.1, description="Traveling block height above the floor"),
    Point("HOOKLOAD", "ir", 6, "uint16", 0.1, units="klbf", role="hookload", lo=0, hi=1500,
          deadband=0.5, description="Hook load"),
    Point("WOB", "ir", 7, "int16", 0.1, units="klbf", role="wob", lo=-20, hi=100,
          deadband=0.2, description="Weight on bit"),
    Point("ROTARY_RPM", "ir", 8, "uint16", 0.1, units="rpm", role="rotary_rpm", lo=0, hi=300,
          deadband=0.5, description="Top drive speed"),
    Point("ROTARY_TORQUE", "ir", 9, "uint16", 0.01, units="kft*lbf", role="rotary_torque",
          lo=0, hi=60, deadband=0.1, description="Top drive torque"),
    Point("ROP", "ir", 10, "uint16", 0.1, units="ft/h", role="rop", lo=0, hi=1000,
          deadband=0.5, description="Rate of penetration"),
    Point("SPP", "ir", 11, "uint16", units="psi", role="standpipe_pressure", lo=0, hi=7500,
          deadband=5, description="Standpipe pressure (drill pipe pressure when shut in)"),
    Point("CASING_PRESSURE", "ir", 12, "uint16", units="psi", role="casing_pressure", lo=0,
          hi=10000, deadband=2, description="Choke manifold (casing) pressure"),
    Point("FLOW_IN", "ir", 13, "uint16", 0.1, units="gpm", role="flow_in", lo=0, hi=2000,
          deadband=2, description="Flow in (from pump strokes)"),
    Point("FLOW_OUT", "ir", 14, "uint16", 0.1, units="%", role="flow_out", lo=0, hi=100,
          deadband=0.5, description="Flow out paddle, % of full scale"),
    Point("PUMP1_SPM", "ir", 15, "uint16", 0.1, units="spm", role="pump_spm_1", lo=0,
          hi=200, deadband=0.5, description="Mud pump 1 strokes per minute"),
    Point("PUMP2_SPM", "ir", 16, "uint16", 0.1, units="spm", role="pump_spm_2", lo=0,
          hi=200, deadband=0.5, description="Mud pump 2 strokes per minute"),
    Point("PUMP1_STROKES", "ir", 17, "uint32", order="CDAB", role="pump_strokes_1", lo=0,
          hi=4294967295, description="Mud pump 1 stroke counter"),
    Point("PUMP2_STROKES", "ir", 19, "uint32", order="CDAB", role="pump_strokes_2", lo=0,
          hi=4294967295, description="Mud pump 2 stroke counter"),
    Point("PIT1", "ir", 21, "uint16", 0.1, units="bbl", role="pit_volume_1", lo=0, hi=500,
          deadband=0.2, description="Pit 1 (shaker) volume"),
    Point("PIT2", "ir", 22, "uint16", 0.1, units="bbl", role="pit_volume_2", lo=0, hi=500,
          deadband=0.2, description="Pit 2 (intermediate) volume"),
    Point("PIT3", "ir", 23, "uint16", 0.1, units="bbl", role="pit_volume_3", lo=0, hi=500,
          deadband=0.2, description="Pit 3 (suction) volume"),
    Point("PIT4", "ir", 24, "uint16", 0.1, units="bbl", role="pit_volume_4", lo=0, hi=500,
          deadband=0.2, description="Pit 4 (reserve, not in the active system) volume"),
    Point("PIT_TOTAL", "ir", 25, "uint16", 0.1, units="bbl", role="pit_volume_total", lo=0,
          hi=1500, deadband=0.2, description="Active system volume (pits 1-3)"),
    Point("TRIP_TANK", "ir", 26, "uint16", 0.01, units="bbl", role="trip_tank_volume", lo=0,
          hi=100, deadband=0.05, description="Trip tank volume"),
    Point("MW_IN", "ir", 27, "uint16", 0.01, units="ppg", role="mud_weight_in", lo=7, hi=20,
          deadband=0.02, description="Mud weight in"),
    Point("MW_OUT", "ir", 28, "uint16", 0.01, units="ppg", role="mud_weight_out", lo=6,
          hi=20, deadband=0.02, description="Mud weight out"),
    Point("GAS_TOTAL", "ir", 29, "uint16", 0.01, units="%", role="gas_total", lo=0, hi=100,
          deadband=0.1, description="Total gas at the gas trap"),
    Point("ON_BOTTOM", "ir", 30, "bit:0", role="on_bottom", lo=0, hi=1,
          description="Status bit 0: bit on bottom"),
    Point("IN_SLIPS", "ir", 30, "bit:1", role="in_slips", lo=0, hi=1,
          description="Status bit 1: in slips"),
    Point("PUMPS_ON", "ir", 30, "bit:2", lo=0, hi=1, description="Status bit 2: pumps on"),
    Point("BOP_CLOSED", "ir", 30, "bit:3", lo=0, hi=1,
          description="Status bit 3: well shut in (BOP closed)"),
    Point("ACTIVITY", "ir", 31, "uint16", lo=0, hi=5,
          description="Rig activity: 0 drilling, 1 connection, 2 tripping out, "
                      "3 tripping in, 4 circulating, 5 shut in", role="rig_activity"),
    Point("MUD_TEMP_IN", "ir", 32, "int16", 0.1, units="degF", lo=0, hi=300, deadband=0.5,
          description="Mud temperature in", role="mud_temperature_in"),
    Point("MUD_TEMP_OUT", "ir", 33, "int16", 0.1, units="degF", lo=0, hi=300, deadband=0.5,
          description="Mud temperature out", role="mud_temperature_out"),
    Point("WOB_SP", "hr", 0, "uint16", 0.1, units="klbf", access="rw", lo=0, hi=80,
          scan="slow", description="Autodriller weight-on-bit set point"),
    Point("RPM_SP", "hr", 1, "uint16", 0.1, units="rpm", access="rw", lo=0, hi=250,
          scan="slow", description="Top drive speed set point"),
    Point("SPM_SP", "hr", 2, "uint16", 0.1, units="spm", access="rw", lo=0, hi=150,
          scan="slow", description="Mud pump speed set point (each pump)"),
)
