"""Well-test records: every completed test of a well on a test separator.

It lives in core because its readers (`wellgate welltests` today; the well-test records
and reports of later issues) must not import calcd; calcd alone opens it for writing.
calcd owns `welltests.db`: a record is committed durably (WAL fsynced) when calcd's test
state machine reaches `done`, before the results are published.  Approval (who accepted
the test as the well's allocation figure, and when) is filled in later by whoever
approves it; calcd never changes a record once written.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemons.core.store import Migration, durable, open_db

DB_NAME = "welltests.db"

MIGRATIONS = (
    Migration(1, "well tests", """
        CREATE TABLE welltests (
            id INTEGER PRIMARY KEY,
            well TEXT NOT NULL,
            start_ns INTEGER NOT NULL,     -- test start (after purge and stabilisation)
            end_ns INTEGER NOT NULL,
            switched_ns INTEGER,           -- when the well was switched to the separator
            status TEXT NOT NULL,          -- complete | short (ended before the minimum)
            oil_bpd REAL, water_bpd REAL, gas_mscfd REAL, liquid_bpd REAL,
            gor_scf_stb REAL, water_cut_pct REAL,
            duration_h REAL,
            samples INTEGER NOT NULL,
            stats TEXT NOT NULL,           -- JSON: per rate min, max, std, n
            extra TEXT NOT NULL,           -- JSON: THP, separator pressure, PI, Vogel ...
            recorded_ns INTEGER NOT NULL,
            approved_by TEXT,
            approved_ns INTEGER
        );
        CREATE INDEX welltests_well ON welltests(well, start_ns);
    """),
)


@dataclass(frozen=True)
class WellTest:
    id: int
    well: str
    start_ns: int
    end_ns: int
    switched_ns: int | None
    status: str
    oil_bpd: float | None
    water_bpd: float | None
    gas_mscfd: float | None
    liquid_bpd: float | None
    gor_scf_stb: float | None
    water_cut_pct: float | None
    duration_h: float | None
    samples: int
    stats: dict[str, Any]
    extra: dict[str, Any]
    recorded_ns: int
    approved_by: str | None
    approved_ns: int | None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


_COLUMNS = ("id", "well", "start_ns", "end_ns", "switched_ns", "status", "oil_bpd",
            "water_bpd", "gas_mscfd", "liquid_bpd", "gor_scf_stb", "water_cut_pct",
            "duration_h", "samples", "stats", "extra", "recorded_ns", "approved_by",
            "approved_ns")


def _row(r: tuple) -> WellTest:
    d = dict(zip(_COLUMNS, r, strict=True))
    d["stats"] = json.loads(d["stats"])
    d["extra"] = json.loads(d["extra"])
    return WellTest(**d)


class WellTestStore:
    """calcd's writer (default) or anyone's read-only reader (`readonly=True`)."""

    def __init__(self, state_dir: Path, *, readonly: bool = False) -> None:
        self.path = Path(state_dir) / DB_NAME
        self.conn: sqlite3.Connection = open_db(self.path, migrations=MIGRATIONS,
                                                readonly=readonly)

    def record(self, *, well: str, start_ns: int, end_ns: int, switched_ns: int | None,
               status: str, rates: dict[str, float | None], duration_h: float,
               samples: int, stats: dict[str, Any], extra: dict[str, Any],
               recorded_ns: int) -> int:
        with durable(self.conn) as c:
            cur = c.execute(
                "INSERT INTO welltests (well, start_ns, end_ns, switched_ns, status, oil_bpd,"
                " water_bpd, gas_mscfd, liquid_bpd, gor_scf_stb, water_cut_pct, duration_h,"
                " samples, stats, extra, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?, ?, ?, ?)",
                (well, start_ns, end_ns, switched_ns, status, rates.get("oil_bpd"),
                 rates.get("water_bpd"), rates.get("gas_mscfd"), rates.get("liquid_bpd"),
                 rates.get("gor_scf_stb"), rates.get("water_cut_pct"), duration_h, samples,
                 json.dumps(stats, sort_keys=True), json.dumps(extra, sort_keys=True),
                 recorded_ns))
            return int(cur.lastrowid)

    def list(self, well: str | None = None, limit: int | None = None) -> list[WellTest]:
        """Newest first; all wells unless `well`."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM welltests"
        args: list[Any] = []
        if well is not None:
            sql += " WHERE well = ?"
            args.append(well)
        sql += " ORDER BY start_ns DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_row(r) for r in self.conn.execute(sql, args)]

    def close(self) -> None:
        self.conn.close()
