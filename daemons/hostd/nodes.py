"""``hostd nodes --dsn …``: every tenant's edge nodes, their sessions and lag.

Reads what hostd wrote (hostd.tenants, then each tenant's node_status view), so it works
from any machine that reaches the database, with any hostd instance running or none.
Lag is now − the newest live (non-historical) sample's time: how far behind the cloud's
view of that node is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

import psycopg
from psycopg import sql

from daemons.core.problems import ValidationError
from daemons.hostd.config import load_hostd_config

_COLUMNS = ("group", "node", "online", "bdseq", "birth", "last message", "seq", "devices",
            "samples", "historical", "rebirths", "lag", "instance")


def fetch_nodes(conn: psycopg.Connection[Any], group: str | None = None) -> list[dict[str, Any]]:
    exists = conn.execute("SELECT to_regclass('hostd.tenants')").fetchone()
    if exists is None or exists[0] is None:
        return []
    tenants = conn.execute("SELECT group_id, schema_name FROM hostd.tenants ORDER BY group_id"
                           ).fetchall()
    out: list[dict[str, Any]] = []
    for group_id, schema in tenants:
        if group is not None and group_id != group:
            continue
        rows = conn.execute(sql.SQL(
            "SELECT node, online, bdseq, birth_time, death_time, last_message_at, last_seq, "
            "last_sample_time, extract(epoch FROM lag), samples_received, historical_received,"
            " rebirths_requested, host_instance, devices_online, devices FROM {}.node_status "
            "ORDER BY node").format(sql.Identifier(schema))).fetchall()
        for r in rows:
            out.append({
                "group": group_id, "node": r[0], "online": r[1], "bdseq": r[2],
                "birth_time": _iso(r[3]), "death_time": _iso(r[4]),
                "last_message_at": _iso(r[5]), "last_seq": r[6],
                "last_sample_time": _iso(r[7]),
                "lag_s": None if r[8] is None else round(float(r[8]), 3),
                "samples": r[9], "historical": r[10], "rebirths": r[11], "instance": r[12],
                "devices_online": r[13], "devices": r[14]})
    return out


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def render(nodes: list[dict[str, Any]]) -> str:
    if not nodes:
        return "no edge nodes yet"
    rows = [_COLUMNS]
    for n in nodes:
        rows.append((n["group"], n["node"], "yes" if n["online"] else "no",
                     "-" if n["bdseq"] is None else str(n["bdseq"]),
                     (n["birth_time"] or "-").replace("+00:00", "Z"),
                     (n["last_message_at"] or "-").replace("+00:00", "Z"),
                     "-" if n["last_seq"] is None else str(n["last_seq"]),
                     f"{n['devices_online']}/{n['devices']}", str(n["samples"]),
                     str(n["historical"]), str(n["rebirths"]), _lag(n["lag_s"]),
                     n["instance"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hostd nodes",
                                     description="edge nodes, their sessions and lag")
    parser.add_argument("--dsn", help="PostgreSQL connection string (libpq)")
    parser.add_argument("--config", help="take the DSN from this hostd configuration")
    parser.add_argument("--group", help="only this Sparkplug group (tenant)")
    parser.add_argument("--json", action="store_true", help="one JSON array")
    args = parser.parse_args(argv)
    dsn = args.dsn
    if dsn is None and args.config:
        try:
            dsn = load_hostd_config(args.config).database.dsn
        except ValidationError as exc:
            print(exc.render(), file=sys.stderr)
            return 1
    if not dsn:
        parser.print_usage(sys.stderr)
        print("hostd nodes: give --dsn or --config", file=sys.stderr)
        return 2
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            nodes = fetch_nodes(conn, args.group)
    except psycopg.Error as exc:
        print(f"hostd nodes: cannot read the database: {str(exc).strip()}", file=sys.stderr)
        return 1
    print(json.dumps(nodes, indent=2) if args.json else render(nodes))
    return 0
