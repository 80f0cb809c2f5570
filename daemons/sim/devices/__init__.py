"""Simulated field devices: one model per kind of equipment (see docs/simulated-devices.md).

`MODELS` maps a model key (the `model` of a `[[device]]` in the site file) to its class.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from daemons.sim.devices.annulus_monitor import AnnulusMonitor
from daemons.sim.devices.base import DeviceModel
from daemons.sim.devices.coiled_tubing_unit import CoiledTubingUnit
from daemons.sim.devices.drilling_rig import DrillingRig
from daemons.sim.devices.esp_drive import EspDrive
from daemons.sim.devices.gas_lift_controller import GasLiftController
from daemons.sim.devices.pcp_drive import PcpDrive
from daemons.sim.devices.rod_pump_controller import RodPumpController
from daemons.sim.devices.test_separator import TestSeparator

MODELS: Mapping[str, type[DeviceModel]] = MappingProxyType({
    cls.model: cls for cls in (RodPumpController, EspDrive, GasLiftController,
                                  TestSeparator, AnnulusMonitor, DrillingRig,
                                  CoiledTubingUnit, PcpDrive)
})

__all__ = ["MODELS", "DeviceModel"]
