"""hostd's own configuration file (TOML): hostd runs in the cloud, not on a gateway.

A hostd configuration is not a gateway configuration: it has no devices, wells or ring.
It is read the same way (daemons/core/config/reader.py): every option read once with its
type, default and range, unknown keys are errors naming file:line:column, and the result
is frozen dataclasses.  See docs/cloud.md for every option and cloud/hostd.toml for a
commented example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from daemons.core.config.load import parse_config_text, read_config_text
from daemons.core.config.reader import Problems, Section
from daemons.core.problems import ValidationError

DEFAULT_PATH = Path("/etc/wellgate/hostd.toml")
# Sparkplug ids may not contain + / # (MQTT topic syntax).
_SPARKPLUG_ID = re.compile(r"^[^+/#\s]{1,64}$")
# A tenant's schema and role names are SQL identifiers we quote anyway; the pattern keeps
# them readable in psql and Grafana (lower case, no quoting needed by people).
_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
LOG_LEVELS = ("debug", "info", "warning", "error")
TIMESCALE_MODES = ("auto", "off", "require")


@dataclass(frozen=True, slots=True)
class HostSection:
    host_id: str
    log_level: str = "info"
    metrics_port: int = 9107  # docs/operations.md: the project's default ports
    rebirth_min_interval_s: float = 5.0
    standby: bool = False  # wait until the primary host's STATE goes offline (standby.py)
    runtime_dir: Path | None = None  # <runtime_dir>/status/hostd.json, as the gateway daemons


@dataclass(frozen=True, slots=True)
class BrokerSection:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""
    username: str = ""
    password_file: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    keepalive: int = 30
    version: int = 5
    shared_group: str = ""  # non-empty: $share/<shared_group>/spBv1.0/<group_id>/#


@dataclass(frozen=True, slots=True)
class DatabaseSection:
    dsn: str
    batch_max: int = 20000
    flush_ms: int = 200
    partitions_ahead_days: int = 3
    accept_past_days: int = 400
    max_buffer_samples: int = 2_000_000
    timescaledb: str = "auto"
    compress_after_days: int = 7


@dataclass(frozen=True, slots=True)
class Tenant:
    """One Sparkplug group = one tenant = one PostgreSQL schema and one reader role."""

    group_id: str
    schema: str
    reader_role: str


@dataclass(frozen=True, slots=True)
class Paths:
    """What daemons.core.service looks for (status files)."""

    runtime_dir: Path | None


@dataclass(frozen=True, slots=True)
class ServiceView:
    name: str
    metrics_port: int
    log_level: str


@dataclass(frozen=True, slots=True)
class HostdConfig:
    path: Path
    host: HostSection
    mqtt: BrokerSection
    database: DatabaseSection
    tenants: tuple[Tenant, ...]

    @property
    def paths(self) -> Paths:
        return Paths(self.host.runtime_dir)

    def service(self, name: str) -> ServiceView:
        return ServiceView(name, self.host.metrics_port, self.host.log_level)

    def tenant(self, group_id: str) -> Tenant | None:
        for t in self.tenants:
            if t.group_id == group_id:
                return t
        return None


def default_schema(group_id: str) -> str:
    """acme-East.1 -> sp_acme_east_1: a readable, always valid schema name."""
    return "sp_" + re.sub(r"[^a-z0-9_]", "_", group_id.lower())[:60]


def load_hostd_config(path: Path | str = DEFAULT_PATH) -> HostdConfig:
    path = Path(path)
    return loads_hostd_config(read_config_text(path), path)


def loads_hostd_config(text: str, path: Path | str = "<hostd config>") -> HostdConfig:
    path = Path(path)
    root, problems, base = parse_config_text(text, path)
    host = _host(root.sub("hostd", required=True) or Section({}, ("hostd",), problems), base)
    mqtt = _mqtt(root.sub("mqtt") or Section({}, ("mqtt",), problems), base)
    database = _database(root.sub("database", required=True)
                         or Section({}, ("database",), problems))
    tenants = _tenants(root, problems)
    root.finish(allowed_subtables=("tenant",))
    if problems.items:
        raise ValidationError(sorted(problems.items, key=lambda p: (p.line, p.column)))
    return HostdConfig(path, host, mqtt, database, tenants)


def _host(s: Section, base: Path) -> HostSection:
    host_id = s.get_str("host_id", nonempty=True) or ""
    if host_id and not _SPARKPLUG_ID.match(host_id):
        s.error("host_id", "'host_id' must be 1-64 characters without spaces, '+', '/' or '#'",
                "'host_id' debe tener 1-64 caracteres sin espacios, '+', '/' ni '#'")
    runtime_dir = s.get_str("runtime_dir", "")
    out = HostSection(
        host_id=host_id,
        log_level=s.get_str("log_level", "info", choices=LOG_LEVELS),
        metrics_port=s.get_int("metrics_port", 9107, minval=0, maxval=65535),
        rebirth_min_interval_s=s.get_float("rebirth_min_interval_s", 5.0, minval=0.0,
                                           maxval=3600.0),
        standby=s.get_bool("standby", False),
        runtime_dir=(base / runtime_dir).resolve() if runtime_dir else None,
    )
    s.finish()
    return out


def _file(s: Section, key: str, base: Path) -> str:
    value = s.get_str(key, "")
    return str((base / value).resolve()) if value else ""


def _mqtt(s: Section, base: Path) -> BrokerSection:
    out = BrokerSection(
        host=s.get_str("host", "127.0.0.1", nonempty=True),
        port=s.get_int("port", 1883, minval=1, maxval=65535),
        client_id=s.get_str("client_id", ""),
        username=s.get_str("username", ""),
        password_file=_file(s, "password_file", base),
        tls=s.get_bool("tls", False),
        ca_file=_file(s, "ca_file", base),
        cert_file=_file(s, "cert_file", base),
        key_file=_file(s, "key_file", base),
        keepalive=s.get_int("keepalive", 30, minval=5, maxval=3600),
        version=s.get_int("version", 5, minval=4, maxval=5),
        shared_group=s.get_str("shared_group", ""),
    )
    if out.shared_group and not _SPARKPLUG_ID.match(out.shared_group):
        s.error("shared_group", "'shared_group' must not contain spaces, '+', '/' or '#'",
                "'shared_group' no puede contener espacios, '+', '/' ni '#'")
    if out.shared_group and out.version != 5:
        s.error("shared_group", "shared subscriptions need MQTT 5 (version = 5)",
                "las suscripciones compartidas necesitan MQTT 5 (version = 5)")
    if bool(out.cert_file) != bool(out.key_file):
        s.error("cert_file", "'cert_file' and 'key_file' go together",
                "'cert_file' y 'key_file' van juntos")
    s.finish()
    return out


def _database(s: Section) -> DatabaseSection:
    out = DatabaseSection(
        dsn=s.get_str("dsn", nonempty=True) or "",
        batch_max=s.get_int("batch_max", 20000, minval=100, maxval=1_000_000),
        flush_ms=s.get_int("flush_ms", 200, minval=10, maxval=60_000),
        partitions_ahead_days=s.get_int("partitions_ahead_days", 3, minval=1, maxval=60),
        accept_past_days=s.get_int("accept_past_days", 400, minval=1, maxval=36500),
        max_buffer_samples=s.get_int("max_buffer_samples", 2_000_000, minval=10_000,
                                     maxval=100_000_000),
        timescaledb=s.get_str("timescaledb", "auto", choices=TIMESCALE_MODES),
        compress_after_days=s.get_int("compress_after_days", 7, minval=1, maxval=3650),
    )
    s.finish()
    return out


def _tenants(root: Section, problems: Problems) -> tuple[Tenant, ...]:
    raw = root.get_list("tenant", [])
    out: list[Tenant] = []
    seen: dict[tuple[str, str], str] = {}
    for i, item in enumerate(raw or ()):
        s = Section(item, ("tenant", i), problems)
        group = s.get_str("group_id", nonempty=True) or ""
        if group and not _SPARKPLUG_ID.match(group):
            s.error("group_id", "'group_id' must be 1-64 characters without spaces, '+', '/' "
                    "or '#'", "'group_id' debe tener 1-64 caracteres sin espacios, '+', '/' "
                    "ni '#'")
        schema = s.get_str("schema", default_schema(group))
        role = s.get_str("reader_role", f"{schema}_reader")
        for key, value in (("schema", schema), ("reader_role", role)):
            if value and not _SQL_NAME.match(value):
                s.error(key, f"'{key}' = '{value}' must be lower-case letters, digits and _ "
                        "(at most 63, not starting with a digit)",
                        f"'{key}' = '{value}' debe tener minúsculas, dígitos y _ (como mucho "
                        "63, sin empezar por un dígito)")
        for key, value in (("group_id", group), ("schema", schema), ("reader_role", role)):
            if (key, value) in seen:
                other = seen[(key, value)]
                s.error(key, f"{key} '{value}' is already used by {other}",
                        f"{key} '{value}' ya lo usa {other}")
        if schema in ("public", "hostd") or schema.startswith("pg_"):
            s.error("schema", f"schema '{schema}' is reserved", f"el esquema '{schema}' "
                    "está reservado")
        for key, value in (("group_id", group), ("schema", schema), ("reader_role", role)):
            seen[(key, value)] = f"tenant[{i}]"
        s.finish()
        out.append(Tenant(group, schema, role))
    if not out:
        root.error("tenant", "at least one [[tenant]] (a Sparkplug group_id) is needed",
                   "hace falta al menos un [[tenant]] (un group_id de Sparkplug)")
    return tuple(out)
