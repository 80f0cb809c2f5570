"""Health tags acqd generates for every slave: `_sys.<device>.<unit>.<what>`.

Operators and SCADA see communication state like any other tag (trend it, alarm on it),
and the cloud gets it through Sparkplug without special cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemons.core.ring import SlotSpec

# suffix -> units; order is the slot order in the ring
HEALTH_POINTS = (
    ("comm", ""),  # 1 communicating, 0 not (Bad / demoted)
    ("response_ms", "ms"),  # last measured response time
    ("success", ""),  # counters since start
    ("timeouts", ""),
    ("exceptions", ""),
    ("crc_errors", ""),
    ("demotions", ""),
    ("demoted", ""),  # 1 while demoted
)


def health_prefix(device: str, unit: int) -> str:
    return f"_sys.{device}.{unit}"


def health_slots(device: str, unit: int) -> list[SlotSpec]:
    prefix = health_prefix(device, unit)
    return [SlotSpec(f"{prefix}.{name}", 0, units) for name, units in HEALTH_POINTS]


@dataclass
class SlaveHealth:
    """Counters of one (device, unit); written to the ring after every cycle."""

    device: str
    unit: int
    comm: bool = False
    response_ms: float = float("nan")
    success: int = 0
    timeouts: int = 0
    exceptions: int = 0
    crc_errors: int = 0
    demotions: int = 0
    demoted: bool = False

    def values(self) -> list[float]:
        return [float(self.comm), self.response_ms, float(self.success), float(self.timeouts),
                float(self.exceptions), float(self.crc_errors), float(self.demotions),
                float(self.demoted)]
