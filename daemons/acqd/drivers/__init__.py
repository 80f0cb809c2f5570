"""acqd's field drivers: one `Link` per bus, chosen by the device's protocol name.

    link = open_link(device)          # a DeviceConfig; nothing is connected yet
    values = await link.read(unit, "hr", 0, 10, timeout=device.timeout)

The registry is a read-only table (the project keeps no mutable module state): a new
protocol — WITS level 0 from a rig, say — is a module with a `from_config(DeviceConfig)`
factory and one line in DRIVERS.  `open_link(device, drivers=...)` accepts another table,
so a test or a plug-in can add a driver without touching global state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from daemons.acqd.drivers import modbus_rtu, modbus_tcp
from daemons.acqd.drivers.base import (
    Backoff,
    ConnectionLost,
    ExceptionResponse,
    FrameError,
    Link,
    LinkStats,
    ModbusError,
    NoResponse,
)
from daemons.core.config.model import DeviceConfig

LinkFactory = Callable[[DeviceConfig], Link]

DRIVERS: Mapping[str, LinkFactory] = MappingProxyType({
    modbus_tcp.PROTOCOL: modbus_tcp.from_config,
    modbus_rtu.PROTOCOL: modbus_rtu.from_config,
})


def protocols(drivers: Mapping[str, LinkFactory] = DRIVERS) -> tuple[str, ...]:
    return tuple(drivers)


def open_link(device: DeviceConfig, drivers: Mapping[str, LinkFactory] = DRIVERS) -> Link:
    """A new, not yet connected Link for `device`'s bus (one per bus: the caller shares it
    between the devices whose `device.bus` is equal).  ValueError for an unknown protocol."""
    factory = drivers.get(device.protocol)
    if factory is None:
        raise ValueError(f"no driver for protocol {device.protocol!r}; "
                         f"known: {', '.join(drivers)}")
    return factory(device)


__all__ = [
    "DRIVERS", "Backoff", "ConnectionLost", "ExceptionResponse", "FrameError", "Link",
    "LinkFactory", "LinkStats", "ModbusError", "NoResponse", "open_link", "protocols",
]
