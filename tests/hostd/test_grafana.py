"""The provisioned Grafana dashboard runs on hostd's views as a tenant's Grafana role.

Every panel and variable query of cloud/grafana/dashboards/site.json is expanded the way
Grafana's PostgreSQL data source expands its macros and run, as a login role that is a
member of the tenant's reader role with search_path = the tenant's schema (as
cloud/grafana/provisioning/datasources/wellgate.yaml says to set up).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import psycopg

from daemons.hostd.config import DatabaseSection, Tenant
from daemons.hostd.model import MetricRef
from daemons.hostd.store import BirthOp, SampleStore

DASHBOARD = Path(__file__).resolve().parents[2] / "cloud/grafana/dashboards/site.json"


def expand(sql: str, node: str, metrics: list[str]) -> str:
    """Grafana's macros: time grouping, time filter, and template variables."""
    sql = re.sub(r"\$__timeGroupAlias\((\w+),\s*[^)]+\)",
                 r'to_timestamp(floor(extract(epoch FROM \1) / 60) * 60) AS "time"', sql)
    sql = re.sub(r"\$__timeFilter\((\w+)\)",
                 r"\1 BETWEEN now() - interval '6 hours' AND now()", sql)
    sql = sql.replace("$node", node)
    return sql.replace("$metric", ", ".join(f"'{m}'" for m in metrics))


def test_every_dashboard_query_runs_as_the_tenants_grafana_role(pg_dsn, suffix):
    tenant = Tenant("grafana-demo", f"gf_{suffix}", f"gf_{suffix}_reader")
    with psycopg.connect(pg_dsn) as conn:
        store = SampleStore(conn, DatabaseSection(dsn=pg_dsn))
        store.provision([tenant])
        refs = [MetricRef(tenant.schema, "pad-1", None, n, i, 10, units="psi")
                for i, n in enumerate(("THP", "CHP"), start=1)]
        now = int(time.time() * 1000)
        store.birth(BirthOp(tenant.schema, "pad-1", None, now - 600_000, refs, bdseq=0))
        bad = 0x80310000 - (1 << 32)  # BadNoCommunication, stored signed as hostd does
        rows = [(now - k * 1000, float(k), r, 0 if k % 10 else bad, k > 300, None)
                for k in range(600) for r in refs]
        store.write(tenant.schema, rows)
        user = f"grafana_{suffix}"
        conn.execute(f'CREATE ROLE "{user}" LOGIN IN ROLE "{tenant.reader_role}"')
        conn.execute(f'ALTER ROLE "{user}" SET search_path = "{tenant.schema}"')
        conn.commit()

    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] == "wellgate-site"
    queries = [(v["name"], v["query"]) for v in dash["templating"]["list"]]
    queries += [(p["title"], t["rawSql"]) for p in dash["panels"] for t in p["targets"]]
    assert len(queries) >= 7
    results = {}
    with psycopg.connect(pg_dsn.replace("user=postgres", f"user={user}"),
                         autocommit=True) as conn:
        for title, sql in queries:
            results[title] = conn.execute(expand(sql, "pad-1", ["THP", "CHP"])).fetchall()
    assert results["node"] == [("pad-1",)]
    assert sorted(results["metric"]) == [("CHP",), ("THP",)]
    assert all(rows for rows in results.values()), {k: len(v) for k, v in results.items()}
    series = results["$node: selected metrics"]
    assert {r[1] for r in series} == {"CHP", "THP"} and len(series) >= 20
    latest = {r[0]: r[1] for r in results["$node: latest values"]}
    assert latest == {"THP": 0.0, "CHP": 0.0}
    replay = results["$node: live and replayed samples per minute"]
    assert sum(r[1] for r in replay) == 2 * 301 and sum(r[2] for r in replay) == 2 * 299
    bad = results["$node: samples of bad or uncertain quality"]
    assert {r[1] for r in bad} == {"bad"} and sum(r[2] for r in bad) == 2 * 60
