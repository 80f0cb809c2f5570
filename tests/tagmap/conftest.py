"""Fixtures shared by the tag-map tests: gateway contexts built directly (no config file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from daemons.core.tagmap import DeviceRef, TagMapContext

# The gateway most tests use: RTU and TCP devices with and without a default unit, and
# wells whose types have array roles (rod_pump), scalar roles (esp) and indexed roles
# (drilling).  The case folders' context.json files hold the same data.
STANDARD_CONTEXT: dict[str, Any] = {
    "devices": {
        "rtu1": {"protocol": "modbus-rtu", "unit": 1},
        "rtu2": {"protocol": "modbus-rtu", "unit": None},
        "tcp1": {"protocol": "modbus-tcp", "unit": 1},
        "tcp2": {"protocol": "modbus-tcp", "unit": None},
    },
    "wells": {"W101": "rod_pump", "W102": "esp", "RIG1": "drilling"},
    "scans": ["fast", "slow"],
}


def context_from_json(data: dict[str, Any]) -> TagMapContext:
    devices = {name: DeviceRef(name, d["protocol"], d.get("unit"))
               for name, d in data["devices"].items()}
    return TagMapContext(devices, dict(data["wells"]), list(data["scans"]))


@pytest.fixture
def make_ctx() -> Callable[[dict[str, Any]], TagMapContext]:
    return context_from_json


@pytest.fixture
def ctx() -> TagMapContext:
    return context_from_json(STANDARD_CONTEXT)
