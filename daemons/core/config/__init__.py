"""The gateway configuration: `load_config(path)` -> frozen `GatewayConfig`."""

from daemons.core.config.load import DEFAULT_PATH, load_config, loads_config
from daemons.core.config.model import (
    DAEMONS,
    PROTOCOLS,
    AccessSection,
    DeviceConfig,
    GatewayConfig,
    GatewaySection,
    HistoryFilter,
    HistorySection,
    MqttSection,
    OpcuaSection,
    PathsSection,
    RingSection,
    ScanClass,
    ServiceSection,
    WebSection,
    WellConfig,
)

__all__ = [
    "DAEMONS", "DEFAULT_PATH", "PROTOCOLS", "AccessSection", "DeviceConfig", "GatewayConfig",
    "GatewaySection",
    "HistoryFilter", "HistorySection",
    "MqttSection", "OpcuaSection", "PathsSection", "RingSection", "ScanClass",
    "ServiceSection", "WebSection", "WellConfig", "load_config", "loads_config",
]
