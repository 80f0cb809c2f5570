"""Register map of the simulated ESP variable-speed drive (W102): Modbus RTU.

Like many drives: IEEE-754 floats in word-swapped (CDAB) order in input registers, set
points as floats in holding registers, run/reset as coils and status as discrete inputs.
"""

from __future__ import annotations

from daemons.sim.devices.base import Point

_F = dict(type="float32", order="CDAB")
POINTS: tuple[Point, ...] = (
    Point("FREQUENCY", "ir", 0, **_F, units="Hz", role="frequency", lo=0, hi=75, deadband=0.1,
          description="Drive output frequency"),
    Point("MOTOR_CURRENT", "ir", 2, **_F, units="A", role="motor_current", lo=0, hi=150,
          deadband=0.2, description="Motor current (average of phases)"),
    Point("MOTOR_VOLTAGE", "ir", 4, **_F, units="V", role="motor_voltage", lo=0, hi=3000,
          deadband=5, description="Motor voltage (drive output through the step-up)"),
    Point("MOTOR_LOAD", "ir", 6, **_F, units="%", role="motor_load", lo=0, hi=200,
          deadband=0.5, description="Motor load, % of nameplate at this frequency"),
    Point("OUTPUT_POWER", "ir", 8, **_F, units="kW", lo=0, hi=300, deadband=0.5,
          description="Drive output power"),
    Point("CURRENT_UNBALANCE", "ir", 10, **_F, units="%", role="current_unbalance", lo=0,
          hi=30, deadband=0.2, description="Phase current unbalance"),
    Point("INTAKE_PRESSURE", "ir", 12, **_F, units="psi", role="intake_pressure", lo=0,
          hi=5000, deadband=1, description="Pump intake pressure (downhole gauge)"),
    Point("INTAKE_TEMP", "ir", 14, **_F, units="degF", role="intake_temperature", lo=0,
          hi=400, deadband=0.2, description="Pump intake temperature (downhole gauge)"),
    Point("DISCHARGE_PRESSURE", "ir", 16, **_F, units="psi", role="discharge_pressure", lo=0,
          hi=8000, deadband=1, description="Pump discharge pressure (downhole gauge)"),
    Point("MOTOR_TEMP", "ir", 18, **_F, units="degF", role="motor_temperature", lo=0,
          hi=450, deadband=0.5, description="Motor winding temperature (downhole gauge)"),
    Point("VIBRATION_X", "ir", 20, **_F, units="g", role="vibration", lo=0, hi=10,
          deadband=0.02, description="Pump vibration, X axis"),
    Point("VIBRATION_Y", "ir", 22, **_F, units="g", lo=0, hi=10, deadband=0.02,
          description="Pump vibration, Y axis", role="vibration_y"),
    Point("THP", "ir", 24, **_F, units="psi", role="thp", lo=0, hi=3000, deadband=1,
          description="Tubing head pressure (surface transmitter on the drive)"),
    Point("CHP", "ir", 26, **_F, units="psi", role="chp", lo=0, hi=3000, deadband=1,
          description="Casing head pressure"),
    Point("DC_BUS_VOLTAGE", "ir", 28, **_F, units="V", lo=0, hi=1000, deadband=2,
          description="Drive DC bus voltage"),
    Point("DRIVE_STATE", "ir", 30, "uint16", lo=0, hi=3,
          description="0 stopped, 1 running, 2 ramping, 3 tripped (restart pending)"),
    Point("TRIP_CODE", "ir", 31, "uint16", role="drive_fault", lo=0, hi=3,
          description="Last trip: 0 none, 1 underload, 2 overload, 3 motor temperature"),
    Point("TRIP_COUNT", "ir", 32, "uint16", lo=0, hi=65535, scan="slow",
          description="Trips since the counter was cleared"),
    Point("RESTART_LEFT", "ir", 33, "uint16", units="s", lo=0, hi=65535,
          description="Seconds to the automatic restart"),
    Point("RUN_HOURS", "ir", 34, "uint32", 0.1, order="CDAB", units="h", lo=0, hi=400000000,
          scan="slow", description="Motor run hours"),
    Point("FREQUENCY_SP", "hr", 0, **_F, units="Hz", role="frequency_setpoint", access="rw",
          lo=30, hi=70, scan="slow", description="Frequency set point"),
    Point("ACCEL_RATE", "hr", 2, **_F, units="Hz/s", access="rw", lo=0.05, hi=5, scan="slow",
          description="Ramp rate"),
    Point("UNDERLOAD_SP", "hr", 4, **_F, units="%", access="rw", lo=0, hi=100, scan="slow",
          description="Underload trip, % motor load"),
    Point("OVERLOAD_SP", "hr", 6, **_F, units="%", access="rw", lo=50, hi=200, scan="slow",
          description="Overload trip, % motor load"),
    Point("MOTOR_TEMP_SP", "hr", 8, **_F, units="degF", access="rw", lo=150, hi=450,
          scan="slow", description="Motor temperature trip"),
    Point("RESTART_DELAY", "hr", 10, "uint16", units="min", access="rw", lo=0, hi=1440,
          scan="slow", description="Automatic restart delay after a trip (0 = manual)"),
    Point("RUN_CMD", "co", 0, "bool", access="rw", lo=0, hi=1, scan="slow",
          description="Run (1) / stop (0)"),
    Point("FAULT_RESET", "co", 1, "bool", access="rw", lo=0, hi=1, scan="slow",
          description="Write 1 to clear a trip and restart now"),
    Point("RUNNING", "di", 0, "bool", role="run_status", lo=0, hi=1,
          description="Motor running"),
    Point("TRIPPED", "di", 1, "bool", lo=0, hi=1, description="Drive tripped"),
    Point("AT_SPEED", "di", 2, "bool", lo=0, hi=1, description="At set frequency"),
)

