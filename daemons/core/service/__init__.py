"""Service lifecycle shared by every wellgate daemon (see docs/operations.md).

A daemon's ``main.py`` needs only::

    from daemons.core.service import daemon_main
    def entry() -> None:
        sys.exit(daemon_main("acqd", Acquisition))
"""

from .context import Component, ServiceContext, ServiceSettings
from .lifecycle import (
    DEFAULT_CONFIG,
    EXIT_CONFIG,
    EXIT_INTERNAL,
    EXIT_OK,
    STOP_TIMEOUT_S,
    daemon_main,
    run_service,
    wellgate_version,
)
from .logsetup import Availability, configure_logging, get_logger, set_level
from .metrics import DaemonMetrics, MetricsServer
from .status import (
    DaemonStatus,
    SignalPermissionError,
    StatusWriter,
    read_statuses,
    signal_daemons,
)
from .systemd import SystemdNotifier

__all__ = [
    "DEFAULT_CONFIG",
    "EXIT_CONFIG",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "STOP_TIMEOUT_S",
    "Availability",
    "Component",
    "DaemonMetrics",
    "DaemonStatus",
    "MetricsServer",
    "ServiceContext",
    "ServiceSettings",
    "SignalPermissionError",
    "StatusWriter",
    "SystemdNotifier",
    "configure_logging",
    "daemon_main",
    "get_logger",
    "read_statuses",
    "run_service",
    "set_level",
    "signal_daemons",
    "wellgate_version",
]
