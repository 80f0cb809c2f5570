"""`wellgate cloud status`: the Sparkplug link as forwardd last reported it.

forwardd writes ``<runtime_dir>/status/forwardd-cloud.json`` about once a second
(daemons/core/cloudstatus.py); this reads it, so it works without a broker and without
talking to forwardd.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from daemons.cli.common import EXIT_INVALID, EXIT_OK, Console, load_gateway
from daemons.core.cloudstatus import read_cloud_status


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("cloud", parents=[common], help="the Sparkplug B cloud link")
    cloud = p.add_subparsers(dest="cloud_command", metavar="SUBCOMMAND", required=True)
    s = cloud.add_parser("status", parents=[common],
                         help="connection, primary host, bdSeq, outbox depth and age")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=run_status, with_console=True)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run_status(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    doc = read_cloud_status(cfg.paths.runtime_dir)
    if args.json:
        print(json.dumps(doc), file=console.out)
        return EXIT_OK if doc is not None and not doc["stale"] else EXIT_INVALID
    if doc is None:
        console.say("forwardd has not reported (is it running? is [mqtt] enabled?)",
                    "forwardd no ha informado (¿está en marcha? ¿[mqtt] habilitado?)")
        return EXIT_INVALID
    tr = console.tr
    if doc["stale"]:
        console.warn("forwardd's report is old: forwardd is not running",
                     "el informe de forwardd es viejo: forwardd no está en marcha")
    host = doc.get("primary_host") or {}
    ob = doc.get("outbox") or {}
    up = doc.get("uplink") or {}
    host_state = "-" if not host.get("id") else (
        tr("online", "en línea") if host.get("online") else tr("offline", "fuera de línea"))
    hours = ob.get("hours_left")
    rows = [
        (tr("state", "estado"), doc.get("state")),
        (tr("server", "servidor"), doc.get("server") or "-"),
        ("edge node", f"{doc.get('group_id')}/{doc.get('edge_node_id')}"),
        (tr("primary host", "host primario"),
         f"{host.get('id') or '-'} {host_state}".strip()),
        ("bdSeq", doc.get("bdseq") if doc.get("bdseq") is not None else "-"),
        (tr("devices born", "dispositivos nacidos"), ", ".join(doc.get("devices") or []) or "-"),
        (tr("outbox depth", "profundidad del buzón"),
         f"{ob.get('depth', 0)} " + tr("samples", "muestras") + " "
         + json.dumps(ob.get("lanes", {}))),
        (tr("outbox oldest", "más antigua en buzón"),
         "-" if not ob.get("oldest_ms") else
         datetime.fromtimestamp(ob["oldest_ms"] / 1000, UTC).isoformat(timespec="seconds")
         + f" ({_age(ob.get('age_s'))})"),
        (tr("outbox size", "tamaño del buzón"),
         f"{ob.get('bytes', 0) / 1e6:.1f} / {ob.get('budget_bytes', 0) / 1e6:.0f} MB, "
         + ("-" if hours is None or hours < 0 else f"{hours:.1f} h")
         + tr(" of buffering left", " de almacenamiento restantes")),
        (tr("uplink this month", "enlace este mes"),
         f"{up.get('month_bytes', 0) / 1e6:.2f} MB"
         + (f" / {up['month_budget_bytes'] / 1e6:.0f} MB" if up.get("month_budget_bytes")
            else "") + (f", {up['shed']} " + tr("samples shed", "muestras descartadas")
                        if up.get("shed") else "")),
    ]
    if up.get("batch_seconds"):
        rows.append((tr("live data batched", "datos en vivo por lotes"),
                     f"{up['batch_seconds']:g} s, {up.get('held', 0)} "
                     + tr("samples held now", "muestras retenidas ahora")))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        console.say(f"{key:<{width}}  {value}")
    return EXIT_OK if not doc["stale"] else EXIT_INVALID
