"""Quality codes carried with every value: OPC UA StatusCodes (OPC 10000-6 §7.39 / Part 4).

Using the OPC UA numbers themselves means opcuad passes them through unchanged and Sparkplug
and the HMI can map them with one table.  The top two bits give the severity
(00 Good, 01 Uncertain, 10 Bad); the next 14 bits give the sub-code.
"""

from __future__ import annotations

from enum import IntEnum


class Quality(IntEnum):
    GOOD = 0x00000000
    UNCERTAIN = 0x40000000
    UNCERTAIN_LAST_USABLE = 0x40900000  # UncertainLastUsableValue: stale, last good value kept
    UNCERTAIN_SUBNORMAL = 0x40950000  # UncertainSubNormal: computed from partly bad inputs
    UNCERTAIN_EU_EXCEEDED = 0x40940000  # UncertainEngineeringUnitsExceeded: outside min/max
    BAD = 0x80000000
    BAD_CONFIG_ERROR = 0x80890000  # BadConfigurationError
    BAD_NOT_CONNECTED = 0x808A0000  # BadNotConnected
    BAD_DEVICE_FAILURE = 0x808B0000  # BadDeviceFailure: device answered with an exception
    BAD_SENSOR_FAILURE = 0x808C0000  # BadSensorFailure
    BAD_OUT_OF_SERVICE = 0x808D0000  # BadOutOfService: scan disabled / device demoted
    BAD_NO_COMMUNICATION = 0x80310000  # BadNoCommunication: timeout, disconnect
    BAD_WAITING_FOR_INITIAL_DATA = 0x80320000  # BadWaitingForInitialData: never read yet


SEVERITY_MASK = 0xC0000000
_DETAIL = {
    Quality.GOOD: "good",
    Quality.UNCERTAIN: "uncertain",
    Quality.UNCERTAIN_LAST_USABLE: "last-usable",
    Quality.UNCERTAIN_SUBNORMAL: "sub-normal",
    Quality.UNCERTAIN_EU_EXCEEDED: "eu-exceeded",
    Quality.BAD: "bad",
    Quality.BAD_CONFIG_ERROR: "config-error",
    Quality.BAD_NOT_CONNECTED: "not-connected",
    Quality.BAD_DEVICE_FAILURE: "device-failure",
    Quality.BAD_SENSOR_FAILURE: "sensor-failure",
    Quality.BAD_OUT_OF_SERVICE: "out-of-service",
    Quality.BAD_NO_COMMUNICATION: "no-communication",
    Quality.BAD_WAITING_FOR_INITIAL_DATA: "waiting-for-initial-data",
}


def severity(code: int) -> str:
    """'good', 'uncertain' or 'bad' for any OPC UA StatusCode."""
    top = int(code) & SEVERITY_MASK
    if top == 0:
        return "good"
    if top == 0x40000000:
        return "uncertain"
    return "bad"


def detail(code: int) -> str:
    """A short, stable name of the sub-code, e.g. 'no-communication'."""
    try:
        return _DETAIL[Quality(int(code) & 0xFFFF0000)]
    except (ValueError, KeyError):
        return f"0x{int(code):08X}"


def is_good(code: int) -> bool:
    return int(code) & SEVERITY_MASK == 0
