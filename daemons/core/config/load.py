"""Load and validate the gateway configuration (one TOML file per gateway).

`load_config` returns a frozen `GatewayConfig` or raises `ValidationError` listing every
problem with file, line and column.  Relative paths in `[paths]` are taken relative to
the configuration file, so a demo or test directory is self-contained.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any

from daemons.core.config.locate import Locator
from daemons.core.config.model import (
    ALARM_PRIORITIES,
    DAEMONS,
    DEFAULT_METRICS_PORTS,
    LANGUAGES,
    PROTOCOLS,
    AccessSection,
    DeviceConfig,
    GatewayConfig,
    GatewaySection,
    HistoryFilter,
    HistorySection,
    MqttRbe,
    MqttSection,
    NotifyRoute,
    NotifySection,
    OpcuaSection,
    PathsSection,
    RingSection,
    ScanClass,
    ServiceSection,
    WebSection,
    WellConfig,
)
from daemons.core.config.reader import Problems, Section
from daemons.core.config.tls import check_pair
from daemons.core.config.wellparams import read_well_tables
from daemons.core.problems import Problem, ValidationError
from daemons.core.roles import WELL_TYPES

DEFAULT_PATH = Path("/etc/wellgate/gateway.toml")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
# Sparkplug ids may not contain + / # (MQTT topic syntax).
_SPARKPLUG_ID = re.compile(r"^[^+/#\s]{1,64}$")
LOG_LEVELS = ("debug", "info", "warning", "error")
HISTORY_METHODS = ("deadband", "swinging-door")  # daemons/core/history/filters.py


def read_config_text(path: Path) -> str:
    """A configuration file's text; unreadable or not UTF-8 is a ValidationError naming it
    (shared with hostd's own configuration file)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError([Problem(str(path), 0, 0,
                                       en=f"cannot read the configuration: {exc.strerror}",
                                       es=f"no se puede leer la configuración: {exc.strerror}")
                               ]) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError([Problem(str(path), 0, 0, en="the file is not UTF-8 text",
                                       es="el archivo no es texto UTF-8")]) from exc


def parse_config_text(text: str, path: Path) -> tuple[Section, Problems, Path]:
    """TOML → the root Section, its Problems (file:line:column) and the directory relative
    paths are resolved against; a syntax error is a ValidationError at its position."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(m[1]), int(m[2])) if m else (0, 0)
        msg = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise ValidationError([Problem(str(path), line, col, en=f"TOML syntax: {msg}",
                                       es=f"sintaxis TOML: {msg}")]) from exc
    problems = Problems(str(path), Locator(text))
    base = path.parent.resolve() if path.parent else Path.cwd()
    return Section(data, (), problems), problems, base


def load_config(path: Path | str = DEFAULT_PATH) -> GatewayConfig:
    path = Path(path)
    return loads_config(read_config_text(path), path)


def loads_config(text: str, path: Path | str = "<config>") -> GatewayConfig:
    path = Path(path)
    root, problems, base = parse_config_text(text, path)

    gateway = _gateway(root.sub("gateway", required=True) or Section({}, ("gateway",), problems))
    paths = _paths(root.sub("paths") or Section({}, ("paths",), problems), base)
    ring_sec = root.sub("ring") or Section({}, ("ring",), problems)
    ring = RingSection(ring_sec.get_int("history_depth", 600, minval=10, maxval=7200))
    ring_sec.finish()
    history = _history(root.sub("history") or Section({}, ("history",), problems))
    scans = _scans(root, problems)
    devices = _devices(root, problems)
    wells = _wells(root, problems)
    # seconds of history the rings hold at the fastest scan: what forwardd can take back
    # after a kill -9 (held batches, the unproven window)
    ring_covers_s = ring.history_depth * min(c.interval for c in scans.values())
    mqtt = _mqtt(root.sub("mqtt") or Section({}, ("mqtt",), problems), ring_covers_s)
    opcua = _opcua(root.sub("opcua") or Section({}, ("opcua",), problems), base)
    web = _web(root.sub("web") or Section({}, ("web",), problems), base)
    services = _services(root, problems)
    access = _access(root.sub("access") or Section({}, ("access",), problems), base)
    notify = _notify(root.sub("notify") or Section({}, ("notify",), problems))
    root.finish()
    if problems.items:
        raise ValidationError(sorted(problems.items, key=lambda p: (p.line, p.column)))
    return GatewayConfig(path, gateway, paths, ring, history, scans, devices, wells, mqtt, opcua,
                         web, services, access, notify)


def _gateway(s: Section) -> GatewaySection:
    site = s.get_str("site", nonempty=True) or ""
    group = s.get_str("group_id", "wellgate")
    node = s.get_str("edge_node_id", "gateway-1")
    for key, value in (("group_id", group), ("edge_node_id", node)):
        if isinstance(value, str) and not _SPARKPLUG_ID.match(value):
            s.error(key, f"'{key}' must be 1-64 characters without spaces, '+', '/' or '#'",
                    f"'{key}' debe tener 1-64 caracteres sin espacios, '+', '/' ni '#'")
    lang = s.get_str("language", "es", choices=LANGUAGES)
    tz = s.get_str("timezone", "UTC")
    if tz and tz != "UTC":
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            s.error("timezone", f"unknown time zone '{tz}' (e.g. America/Caracas)",
                    f"zona horaria desconocida '{tz}' (p. ej. America/Caracas)")
    s.finish()
    return GatewaySection(site, group, node, lang, tz)


def _access(s: Section, base: Path) -> AccessSection:
    permissions = s.get_str("permissions", "")
    out = AccessSection(
        password_min_length=s.get_int("password_min_length", 12, minval=8, maxval=128),
        lockout_failures=s.get_int("lockout_failures", 5, minval=1, maxval=100),
        lockout_minutes=s.get_float("lockout_minutes", 15.0, minval=0.1, maxval=10080),
        audit_retention_months=s.get_int("audit_retention_months", 24, minval=0,
                                         maxval=1200),
        permissions=(base / permissions).resolve() if permissions else None,
    )
    s.finish()
    return out


def _route_fields(s: Section) -> NotifyRoute:
    """priorities, groups, email_to and webhook_url of [notify] or one [[notify.route]]."""
    priorities = s.get_list("priorities", ["critical", "high"])
    for p in priorities or ():
        if p not in ALARM_PRIORITIES:
            names = ", ".join(ALARM_PRIORITIES)
            s.error("priorities", f"priority '{p}' is not one of: {names}",
                    f"la prioridad '{p}' no es una de: {names}")
    url = s.get_str("webhook_url", "")
    if url and not url.startswith(("http://", "https://")):
        s.error("webhook_url", "'webhook_url' must start with http:// or https://",
                "'webhook_url' debe empezar por http:// o https://")
    return NotifyRoute(priorities=tuple(str(p) for p in priorities or ()),
                       groups=tuple(str(g) for g in s.get_list("groups", []) or ()),
                       email_to=tuple(str(a) for a in s.get_list("email_to", []) or ()),
                       webhook_url=url or "")


def _notify(s: Section) -> NotifySection:
    base = _route_fields(s)
    routes = []
    for i, item in enumerate(s.get_list("route", []) or []):
        r = Section(item, (*s.path, "route", i), s.problems)
        route = _route_fields(r)
        if not route.email_to and not route.webhook_url:
            r.error("priorities", "a route needs 'email_to' or 'webhook_url'",
                    "una ruta necesita 'email_to' o 'webhook_url'")
        r.finish()
        routes.append(route)
    out = NotifySection(
        priorities=base.priorities, groups=base.groups,
        rate_per_minute=s.get_int("rate_per_minute", 6, minval=1, maxval=600),
        webhook_url=base.webhook_url, email_to=base.email_to,
        smtp_host=s.get_str("smtp_host", ""),
        smtp_port=s.get_int("smtp_port", 587, minval=1, maxval=65535),
        smtp_starttls=s.get_bool("smtp_starttls", True),
        smtp_username=s.get_str("smtp_username", ""),
        smtp_password_file=s.get_str("smtp_password_file", ""),
        smtp_from=s.get_str("smtp_from", "wellgate@localhost"),
        routes=tuple(routes),
    )
    if any(r.email_to for r in out.effective_routes()) and not out.smtp_host:
        s.error("email_to", "'email_to' needs 'smtp_host'", "'email_to' requiere 'smtp_host'")
    s.finish()
    return out


def _paths(s: Section, base: Path) -> PathsSection:
    def p(key: str, default: str) -> Path:
        value = s.get_str(key, default, nonempty=True) or default
        return (base / value).resolve() if not Path(value).is_absolute() else Path(value)

    out = PathsSection(p("runtime_dir", "/run/wellgate"), p("state_dir", "/var/lib/wellgate"),
                       p("tagmap_dir", "/etc/wellgate/tagmaps"))
    s.finish()
    return out


def _chunk_seconds(s: Section) -> int:
    value = s.get_int("chunk_seconds", 600, minval=60, maxval=3600)
    if isinstance(value, int) and 60 <= value <= 3600 and 3600 % value:
        # Closed hours are compacted into one chunk per tag: windows must nest in hours.
        s.error("chunk_seconds",
                f"'chunk_seconds' = {value} must divide an hour (60, 120, 180, 240, 300, "
                "360, 600, 720, 900, 1200, 1800 or 3600)",
                f"'chunk_seconds' = {value} debe dividir una hora (60, 120, 180, 240, 300, "
                "360, 600, 720, 900, 1200, 1800 o 3600)")
        return 600
    return value


def _history(s: Section) -> HistorySection:
    out = HistorySection(
        enabled=s.get_bool("enabled", True),
        flush_interval=s.get_float("flush_interval", 10.0, minval=1.0, maxval=300.0),
        chunk_seconds=_chunk_seconds(s),
        raw_days=s.get_float("raw_days", 90.0, minval=0, maxval=36500),
        rollup_1m_days=s.get_float("rollup_1m_days", 400.0, minval=0, maxval=36500),
        rollup_1h_days=s.get_float("rollup_1h_days", 3650.0, minval=0, maxval=36500),
        disk_budget_mb=s.get_int("disk_budget_mb", 0, minval=0, maxval=10_000_000),
        filters=tuple(_history_filters(s)),
    )
    s.finish()
    return out


def _history_filters(s: Section) -> list[HistoryFilter]:
    out = []
    for i, item in enumerate(s.get_list("filter", []) or []):
        f = Section(item, (*s.path, "filter", i), s.problems)
        tags = f.get_str("tags", nonempty=True)
        method = f.get_str("method", choices=HISTORY_METHODS)
        tolerance = f.get_float("tolerance", minval=0.0)
        f.finish()
        if tags and method and tolerance is not None:
            out.append(HistoryFilter(tags, method, tolerance))
    return out


def _scans(root: Section, problems: Problems) -> MappingProxyType:
    table = root.sub("scan")
    found: list[ScanClass] = []
    if table is not None:
        for name in table.data:
            sec = table.sub(name)
            if sec is None:
                continue
            if not _NAME.match(name):
                table.error(name, f"scan class name '{name}' must be a simple name",
                            f"el nombre de clase de escaneo '{name}' debe ser simple")
            interval = sec.get_float("interval", minval=0.1, maxval=86400)
            sec.finish()
            if interval is not None:
                found.append(ScanClass(name, interval))
        table.finish()
    if not found:
        found = [ScanClass("fast", 1.0)]
    found.sort(key=lambda c: c.interval)
    return MappingProxyType({c.name: c for c in found})


def _device(s: Section) -> DeviceConfig | None:
    name = s.get_str("name", nonempty=True)
    protocol = s.get_str("protocol", choices=PROTOCOLS)
    rtu = protocol == "modbus-rtu"
    unit = s.get_int("unit", None, minval=1 if rtu else 0, maxval=247 if rtu else 255)
    common = dict(
        unit=unit,
        timeout=s.get_float("timeout", 1.0, minval=0.01, maxval=60),
        retries=s.get_int("retries", 1, minval=0, maxval=10),
        max_registers=s.get_int("max_registers", 125, minval=1, maxval=125),
        max_bits=s.get_int("max_bits", 2000, minval=1, maxval=2000),
        max_gap=s.get_int("max_gap", None, minval=0, maxval=124),
        demote_after=s.get_int("demote_after", 3, minval=1, maxval=100),
        demote_period=s.get_float("demote_period", 30.0, minval=1, maxval=3600),
        enabled=s.get_bool("enabled", True),
        description=s.get_str("description", ""),
    )
    if protocol == "modbus-tcp":
        extra = dict(host=s.get_str("host", nonempty=True),
                     port=s.get_int("port", 502, minval=1, maxval=65535))
    elif rtu:
        extra = dict(serial_port=s.get_str("serial_port", nonempty=True),
                     baud=s.get_int("baud", 19200, minval=300, maxval=921600),
                     parity=s.get_str("parity", "E", choices=("N", "E", "O")),
                     stop_bits=s.get_int("stop_bits", 1, minval=1, maxval=2),
                     turnaround_ms=s.get_float("turnaround_ms", 0.0, minval=0, maxval=5000))
    else:
        extra = {}
    if isinstance(name, str) and name and not _NAME.match(name):
        s.error("name", f"device name '{name}' must start with a letter and use letters, "
                "digits, '_' or '-'", f"el nombre de equipo '{name}' debe empezar con una "
                "letra y usar letras, dígitos, '_' o '-'")
    s.finish()
    if not name or protocol is None:
        return None
    return DeviceConfig(name=name, protocol=protocol, line=s.problems.locator.find(s.path)[0],
                        **common, **extra)


def _devices(root: Section, problems: Problems) -> MappingProxyType:
    items = root.get_list("device", [])
    devices: dict[str, DeviceConfig] = {}
    bus_units: dict[tuple[str, int | None], str] = {}
    serial_settings: dict[str, tuple[DeviceConfig, tuple[int, str, int]]] = {}
    for i, item in enumerate(items or []):
        s = Section(item, ("device", i), problems)
        dev = _device(s)
        if dev is None:
            continue
        if dev.name in devices:
            s.error("name", f"duplicate device name '{dev.name}' (first at line "
                    f"{devices[dev.name].line})", f"nombre de equipo duplicado '{dev.name}' "
                    f"(primero en la línea {devices[dev.name].line})")
            continue
        devices[dev.name] = dev
        if dev.unit is not None:
            other = bus_units.get((dev.bus, dev.unit))
            if other is not None:
                s.error("unit", f"unit {dev.unit} on {dev.bus} is already used by device "
                        f"'{other}'", f"la unidad {dev.unit} en {dev.bus} ya la usa el equipo "
                        f"'{other}'")
            bus_units[(dev.bus, dev.unit)] = dev.name
        if dev.protocol == "modbus-rtu" and dev.serial_port:
            settings = (dev.baud, dev.parity, dev.stop_bits)
            first = serial_settings.setdefault(dev.serial_port, (dev, settings))
            if first[1] != settings:
                s.error("baud", f"{dev.serial_port}: baud/parity/stop bits differ from device "
                        f"'{first[0].name}' on the same port (one bus, one line setting)",
                        f"{dev.serial_port}: velocidad/paridad/bits de parada distintos del "
                        f"equipo '{first[0].name}' en el mismo puerto")
    return MappingProxyType(devices)


def _wells(root: Section, problems: Problems) -> MappingProxyType:
    wells: dict[str, WellConfig] = {}
    for i, item in enumerate(root.get_list("well", []) or []):
        s = Section(item, ("well", i), problems)
        well_id = s.get_str("id", nonempty=True)
        well_type = s.get_str("type", choices=WELL_TYPES)
        name = s.get_str("name", well_id or "")
        field = s.get_str("field", "")
        lat = s.get_float("latitude", None, minval=-90, maxval=90)
        lon = s.get_float("longitude", None, minval=-180, maxval=180)
        desc = s.get_str("description", "")
        params = read_well_tables(s, well_type) if well_type else {}
        s.finish(allowed_subtables=("reservoir", "integrity",
                                    *([well_type] if well_type else [])))
        if isinstance(well_id, str) and well_id and not _NAME.match(well_id):
            s.error("id", f"well id '{well_id}' must start with a letter and use letters, "
                    "digits, '_' or '-' (it prefixes tag names)", f"el id de pozo '{well_id}' "
                    "debe empezar con letra y usar letras, dígitos, '_' o '-'")
        if not well_id or not well_type:
            continue
        line = problems.locator.find(s.path)[0]
        if well_id in wells:
            s.error("id", f"duplicate well id '{well_id}' (first at line "
                    f"{wells[well_id].line})", f"id de pozo duplicado '{well_id}' (primero "
                    f"en la línea {wells[well_id].line})")
            continue
        wells[well_id] = WellConfig(well_id, name or well_id, field or "", well_type, lat, lon,
                                    desc or "", MappingProxyType(params), line)
    return MappingProxyType(wells)


def _mqtt(s: Section, ring_covers_s: float) -> MqttSection:
    out = MqttSection(
        enabled=s.get_bool("enabled", False),
        host=s.get_str("host", "127.0.0.1", nonempty=True),
        port=s.get_int("port", 1883, minval=1, maxval=65535),
        client_id=s.get_str("client_id", ""),
        username=s.get_str("username", ""),
        password_file=s.get_str("password_file", ""),
        tls=s.get_bool("tls", False),
        ca_file=s.get_str("ca_file", ""),
        keepalive=s.get_int("keepalive", 30, minval=5, maxval=3600),
        **_mqtt_forwardd(s),
    )
    # Held live data and the unproven window (2.5 × keep-alive) come back from the rings'
    # history after a kill -9: the rings must still hold them.
    if out.batch_seconds and out.batch_seconds + 2.5 * out.keepalive > ring_covers_s:
        s.error("batch_seconds",
                f"batch_seconds = {out.batch_seconds:g} plus 2.5 × keepalive "
                f"({2.5 * out.keepalive:g} s) is more than the {ring_covers_s:g} s of history "
                "the rings hold at the fastest scan ([ring] history_depth × interval): "
                "shorten it or raise history_depth",
                f"batch_seconds = {out.batch_seconds:g} más 2,5 × keepalive "
                f"({2.5 * out.keepalive:g} s) supera los {ring_covers_s:g} s de historia "
                "que guardan los anillos al escaneo más rápido ([ring] history_depth × "
                "interval): acórtelo o aumente history_depth")
    s.finish()
    return out


MQTT_VERSIONS = ("3.1.1", "5")
MQTT_COMPRESSION = ("none", "DEFLATE", "GZIP")
_SERVER_URL = re.compile(r"^(mqtts?)://([^:/\s]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?/?$")


def _str_list(s: Section, key: str) -> tuple[str, ...]:
    items = s.get_list(key, []) or []
    if not all(isinstance(x, str) and x for x in items):
        s.error(key, f"'{key}' must be a list of non-empty strings",
                f"'{key}' debe ser una lista de textos no vacíos")
        return ()
    return tuple(items)


def _mqtt_forwardd(s: Section) -> dict[str, Any]:
    """forwardd's options of [mqtt] (docs/sparkplug.md)."""
    servers = _str_list(s, "servers")
    for url in servers:
        if not _SERVER_URL.match(url):
            s.error("servers", f"server '{url}' is not mqtt://host[:port] or mqtts://host[:port]",
                    f"el servidor '{url}' no es mqtt://host[:puerto] ni mqtts://host[:puerto]")
    ids = {}
    for key in ("group_id", "edge_node_id", "primary_host_id"):
        value = s.get_str(key, "")
        if value and not _SPARKPLUG_ID.match(value):
            s.error(key, f"'{key}' must be 1-64 characters without spaces, '+', '/' or '#'",
                    f"'{key}' debe tener 1-64 caracteres sin espacios, '+', '/' ni '#'")
        ids[key] = value or ""
    rbe = []
    for i, item in enumerate(s.get_list("rbe", []) or []):
        r = Section(item, (*s.path, "rbe", i), s.problems)
        rbe.append(MqttRbe(r.get_str("tags", nonempty=True) or "*",
                           r.get_float("deadband", 0.0, minval=0.0),
                           r.get_float("heartbeat", 300.0, minval=0.0, maxval=86400.0)))
        r.finish()
    return dict(
        servers=servers,
        version=s.get_str("version", "3.1.1", choices=MQTT_VERSIONS),
        cert_file=s.get_str("cert_file", ""),
        key_file=s.get_str("key_file", ""),
        deadband=s.get_float("deadband", 0.0, minval=0.0),
        heartbeat=s.get_float("heartbeat", 300.0, minval=0.0, maxval=86400.0),
        deadband_percent=s.get_float("deadband_percent", 0.1, minval=0.0, maxval=100.0),
        rbe=tuple(rbe),
        outbox_mb=s.get_int("outbox_mb", 256, minval=1, maxval=1_000_000),
        compression=s.get_str("compression", "none", choices=MQTT_COMPRESSION),
        batch_seconds=s.get_float("batch_seconds", 0.0, minval=0.0, maxval=600.0),
        monthly_budget_mb=s.get_float("monthly_budget_mb", 0.0, minval=0.0),
        command_tags=_str_list(s, "command_tags"),
        **ids,
    )


def _web(s: Section, base: Path) -> WebSection:
    """[web]: address, HTTPS (certificate and key checked here) and session lifetimes."""
    def path(key: str) -> Path | None:
        value = s.get_str(key, "")
        if not value:
            return None
        return (base / value).resolve() if not Path(value).is_absolute() else Path(value)

    cert, key = path("tls_cert"), path("tls_key")
    redirect = s.get_int("http_redirect_port", 0, minval=0, maxval=65535)
    out = WebSection(
        enabled=s.get_bool("enabled", True), bind=s.get_str("bind", "0.0.0.0"),
        port=s.get_int("port", 8080, minval=0, maxval=65535), tls_cert=cert, tls_key=key,
        http_redirect_port=redirect,
        session_idle_minutes=s.get_float("session_idle_minutes", 30.0, minval=1,
                                         maxval=24 * 60),
        session_max_hours=s.get_float("session_max_hours", 12.0, minval=0, maxval=24 * 31))
    s.finish()
    if (cert is None) != (key is None):
        missing, given = ("tls_key", "tls_cert") if key is None else ("tls_cert", "tls_key")
        s.error(given, f"'{given}' needs '{missing}' too (HTTPS takes both)",
                f"'{given}' requiere también '{missing}' (HTTPS necesita ambos)")
    elif cert is not None and key is not None:
        for where, en, es in check_pair(cert, key):
            s.error(where, en, es)
    if redirect and not out.tls:
        s.error("http_redirect_port", "'http_redirect_port' redirects to HTTPS: set "
                "'tls_cert' and 'tls_key' too", "'http_redirect_port' redirige a HTTPS: "
                "configure también 'tls_cert' y 'tls_key'")
    elif redirect and redirect == out.port:
        s.error("http_redirect_port", "'http_redirect_port' must differ from 'port'",
                "'http_redirect_port' debe ser distinto de 'port'")
    return out


# opcuad's security policy/mode pairs (asyncua's SecurityPolicyType names them the same).
OPCUA_POLICIES = ("Basic256Sha256/SignAndEncrypt", "Basic256Sha256/Sign",
                  "Aes256_Sha256_RsaPss/SignAndEncrypt", "Aes256_Sha256_RsaPss/Sign",
                  "Aes128_Sha256_RsaOaep/SignAndEncrypt", "Aes128_Sha256_RsaOaep/Sign")


def _opcua(s: Section, base: Path) -> OpcuaSection:
    defaults = OpcuaSection(True, "0.0.0.0", 4840)
    path = s.get_str("path", defaults.path)
    if isinstance(path, str) and not path.startswith("/"):
        s.error("path", "'path' must start with '/' (e.g. /wellgate)",
                "'path' debe empezar por '/' (p. ej. /wellgate)")
    policies = s.get_list("policies", list(defaults.policies)) or []
    for item in policies:
        if item not in OPCUA_POLICIES:
            s.error("policies", f"unknown security policy '{item}' (valid: "
                    f"{', '.join(OPCUA_POLICIES)})", f"política de seguridad desconocida "
                    f"'{item}' (válidas: {', '.join(OPCUA_POLICIES)})")
    allow_none = s.get_bool("allow_none", False)
    if not policies and not allow_none:
        s.error("policies", "no security policy left: list one or set allow_none = true",
                "ninguna política de seguridad: indique una o ponga allow_none = true")
    hostnames = s.get_list("hostnames", [])
    if any(not isinstance(h, str) or not h for h in hostnames or []):
        s.error("hostnames", "'hostnames' must be a list of non-empty names",
                "'hostnames' debe ser una lista de nombres no vacíos")
        hostnames = []
    pki = s.get_str("pki_dir", "")
    out = OpcuaSection(
        enabled=s.get_bool("enabled", True), bind=s.get_str("bind", "0.0.0.0"),
        port=s.get_int("port", 4840, minval=0, maxval=65535), path=path or defaults.path,
        policies=tuple(p for p in policies if p in OPCUA_POLICIES), allow_none=bool(allow_none),
        anonymous=bool(s.get_bool("anonymous", False)),
        pki_dir=(base / pki).resolve() if pki else None, hostnames=tuple(hostnames or ()),
        poll_ms=s.get_int("poll_ms", 250, minval=50, maxval=10_000),
        history_max_values=s.get_int("history_max_values", 10_000, minval=10,
                                     maxval=1_000_000))
    s.finish()
    return out


def _services(root: Section, problems: Problems) -> MappingProxyType:
    table = root.sub("service")
    out: dict[str, ServiceSection] = {}
    if table is not None:
        for name in table.data:
            sec = table.sub(name)
            if name not in DAEMONS:
                table.error(name, f"unknown daemon '{name}' (valid: {', '.join(DAEMONS)})",
                            f"demonio desconocido '{name}' (válidos: {', '.join(DAEMONS)})")
                continue
            if sec is None:
                continue
            out[name] = ServiceSection(
                name,
                sec.get_int("metrics_port", DEFAULT_METRICS_PORTS.get(name, 0), minval=0,
                            maxval=65535),
                sec.get_str("log_level", "info", choices=LOG_LEVELS),
            )
            sec.finish()
        table.finish()
    return MappingProxyType(out)
