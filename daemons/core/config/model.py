"""The validated gateway configuration: frozen, typed, and the only thing daemons see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Any

PROTOCOLS = ("modbus-tcp", "modbus-rtu")
LANGUAGES = ("es", "en")
ALARM_PRIORITIES = ("critical", "high", "medium", "low")  # alarm files and [notify]
DAEMONS = ("acqd", "calcd", "alarmd", "forwardd", "opcuad", "webd", "hostd", "sim")
# Default local metrics ports (127.0.0.1 only), one per daemon; 0 disables.
DEFAULT_METRICS_PORTS = MappingProxyType({
    "acqd": 9101, "calcd": 9102, "alarmd": 9103, "forwardd": 9104, "opcuad": 9105,
    "webd": 9106, "hostd": 9107, "sim": 9108,
})


@dataclass(frozen=True, slots=True)
class GatewaySection:
    site: str
    group_id: str
    edge_node_id: str
    language: str
    timezone: str


@dataclass(frozen=True, slots=True)
class PathsSection:
    runtime_dir: Path
    state_dir: Path
    tagmap_dir: Path


@dataclass(frozen=True, slots=True)
class RingSection:
    history_depth: int


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Lossy storage for the tags matching `tags` (a glob): history is lossless otherwise."""

    tags: str
    method: str  # deadband | swinging-door
    tolerance: float  # engineering units


@dataclass(frozen=True, slots=True)
class HistorySection:
    enabled: bool
    flush_interval: float  # seconds: the most a power cut can lose
    chunk_seconds: int  # samples of one tag are compressed per window of this length
    raw_days: float  # 0 = keep until the disk budget needs the room
    rollup_1m_days: float
    rollup_1h_days: float
    disk_budget_mb: int  # 0 = no budget
    filters: tuple[HistoryFilter, ...] = ()

    def filter_for(self, tag: str) -> HistoryFilter | None:
        """The first filter whose glob matches `tag` (case-insensitive), if any."""
        return next((f for f in self.filters if fnmatchcase(tag.lower(), f.tags.lower())),
                    None)


@dataclass(frozen=True, slots=True)
class ScanClass:
    name: str
    interval: float  # seconds between scans, aligned to whole seconds of UTC


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    name: str
    protocol: str
    unit: int | None
    timeout: float
    retries: int
    max_registers: int
    max_bits: int
    max_gap: int | None  # None = automatic (break-even gap for RTU, 16 for TCP)
    demote_after: int
    demote_period: float
    enabled: bool
    description: str
    # modbus-tcp
    host: str | None = None
    port: int = 502
    # modbus-rtu
    serial_port: str | None = None
    baud: int = 19200
    parity: str = "E"
    stop_bits: int = 1
    turnaround_ms: float = 0.0
    line: int = 0  # where the [[device]] starts in the config file

    @property
    def bus(self) -> str:
        """Devices sharing a bus are polled in turn by one task (the serial port or host:port)."""
        if self.protocol == "modbus-rtu":
            return f"rtu:{self.serial_port}"
        return f"tcp:{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class WellConfig:
    id: str
    name: str
    field: str
    type: str
    latitude: float | None
    longitude: float | None
    description: str
    # `reservoir` and `integrity` (any type) and the type's own table, e.g.
    # params["rod_pump"]["pump_depth_ft"]
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    line: int = 0

    def param(self, name: str, default: Any = None) -> Any:
        """A type-specific parameter, falling back to the integrity and reservoir tables."""
        for table in (self.type, "integrity", "reservoir"):
            value = self.params.get(table, {}).get(name)
            if value is not None:
                return value
        return default


@dataclass(frozen=True, slots=True)
class MqttRbe:
    """Report-by-exception for the tags matching `tags` (a glob): forwardd ([[mqtt.rbe]])."""

    tags: str
    deadband: float  # engineering units; a change smaller than this is not sent
    heartbeat: float  # seconds: a quiet tag is still sent this often (0 = never)


@dataclass(frozen=True, slots=True)
class MqttSection:
    enabled: bool
    host: str
    port: int
    client_id: str
    username: str
    password_file: str
    tls: bool
    ca_file: str
    keepalive: int
    # forwardd (docs/sparkplug.md); every field below has a default so other readers of
    # the section need not know them.
    servers: tuple[str, ...] = ()  # mqtt://host:port or mqtts://host:port, tried in turn
    version: str = "3.1.1"  # MQTT protocol: 3.1.1 or 5
    cert_file: str = ""  # TLS client certificate (PEM) …
    key_file: str = ""  # … and its key
    group_id: str = ""  # "" = [gateway] group_id
    edge_node_id: str = ""  # "" = [gateway] edge_node_id
    primary_host_id: str = ""  # "" = no primary host: births as soon as connected
    deadband: float = 0.0  # default deadband (engineering units) when the tag map has none
    heartbeat: float = 300.0  # default guaranteed publish period, seconds (0 = none)
    # relative deadband (% of the last sent value) of float metrics no tag map describes
    # (calcd's results): they have no deadband column, and 0 would send every wiggle
    deadband_percent: float = 0.1
    rbe: tuple[MqttRbe, ...] = ()  # per-tag deadband/heartbeat, first match wins
    outbox_mb: int = 256  # disk budget of the store-and-forward outbox
    compression: str = "none"  # none | DEFLATE | GZIP (Sparkplug payload compression)
    # live data held this many seconds and sent as one DDATA per device (0 = every tick);
    # alarm states are never held (docs/sparkplug.md, "Satellite links")
    batch_seconds: float = 0.0
    monthly_budget_mb: float = 0.0  # uplink data budget per calendar month (0 = none)
    command_tags: tuple[str, ...] = ()  # globs of rw tags the host may write (DCMD)


@dataclass(frozen=True, slots=True)
class OpcuaSection:
    """opcuad's server (docs/opcua.md): endpoint, security and certificate folders."""

    enabled: bool
    bind: str
    port: int
    path: str = "/wellgate"  # endpoint opc.tcp://<bind>:<port><path>
    # Security policy/mode pairs offered, strongest first (OPCUA_POLICIES in load.py).
    policies: tuple[str, ...] = ("Basic256Sha256/SignAndEncrypt", "Basic256Sha256/Sign",
                                 "Aes256_Sha256_RsaPss/SignAndEncrypt",
                                 "Aes256_Sha256_RsaPss/Sign",
                                 "Aes128_Sha256_RsaOaep/SignAndEncrypt",
                                 "Aes128_Sha256_RsaOaep/Sign")
    allow_none: bool = False  # security None endpoint (read-only sessions)
    anonymous: bool = False  # anonymous identity (read-only sessions)
    pki_dir: Path | None = None  # own/ trusted/ rejected/; None = <state_dir>/opcua-pki
    hostnames: tuple[str, ...] = ()  # extra DNS names/IPs for the certificate
    poll_ms: int = 250  # how often the rings are read for changes
    history_max_values: int = 10_000  # per HistoryRead answer; more needs a continuation


@dataclass(frozen=True, slots=True)
class WebSection:
    enabled: bool
    bind: str
    port: int
    # webd's HTTPS (docs/webd.md): on when both paths are set, checked at load.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    http_redirect_port: int = 0  # a plain-HTTP listener redirecting to HTTPS; 0 = none
    session_idle_minutes: float = 30.0  # a session ends after this long without a request
    session_max_hours: float = 12.0  # … and this long after its login (0 = no limit)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


@dataclass(frozen=True, slots=True)
class AccessSection:
    """Users, lockout, audit retention and the site's permission file (docs/access.md)."""

    password_min_length: int = 12
    lockout_failures: int = 5  # consecutive failed logins that lock a user out …
    lockout_minutes: float = 15.0  # … for this long
    audit_retention_months: int = 24  # the brief's figure; 0 = keep everything
    permissions: Path | None = None  # the site's rows over config/permissions.csv


@dataclass(frozen=True, slots=True)
class NotifyRoute:
    """Which new alarms (priorities × groups) go to which recipients ([[notify.route]])."""

    priorities: tuple[str, ...] = ("critical", "high")
    groups: tuple[str, ...] = ()  # empty: every group (and alarms without one)
    email_to: tuple[str, ...] = ()  # () = no e-mail on this route
    webhook_url: str = ""  # "" = no webhook on this route


@dataclass(frozen=True, slots=True)
class NotifySection:
    """alarmd's notifications (docs/alarms.md): who hears of which new alarms, and how.

    Without [[notify.route]] tables one route is made of the section's own `priorities`,
    `groups`, `email_to` and `webhook_url`."""

    priorities: tuple[str, ...] = ("critical", "high")
    groups: tuple[str, ...] = ()  # empty: every group (and alarms without one)
    rate_per_minute: int = 6  # per channel; more waiting than this go out as one digest
    webhook_url: str = ""  # JSON POST per notification; "" = no webhook
    email_to: tuple[str, ...] = ()
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password_file: str = ""  # the password is read from this file, never the config
    smtp_from: str = "wellgate@localhost"
    routes: tuple[NotifyRoute, ...] = ()  # () = the one route of the fields above

    def effective_routes(self) -> tuple[NotifyRoute, ...]:
        if self.routes:
            return self.routes
        return (NotifyRoute(self.priorities, self.groups, self.email_to, self.webhook_url),)


@dataclass(frozen=True, slots=True)
class ServiceSection:
    name: str
    metrics_port: int
    log_level: str


@dataclass(frozen=True)
class GatewayConfig:
    source: Path
    gateway: GatewaySection
    paths: PathsSection
    ring: RingSection
    history: HistorySection
    scans: Mapping[str, ScanClass]  # fastest first
    devices: Mapping[str, DeviceConfig]
    wells: Mapping[str, WellConfig]
    mqtt: MqttSection
    opcua: OpcuaSection
    web: WebSection
    services: Mapping[str, ServiceSection]
    access: AccessSection = AccessSection()
    notify: NotifySection = NotifySection()

    @property
    def fastest_scan(self) -> str:
        return next(iter(self.scans))

    def service(self, name: str) -> ServiceSection:
        found = self.services.get(name)
        if found is not None:
            return found
        return ServiceSection(name, DEFAULT_METRICS_PORTS.get(name, 0), "info")
