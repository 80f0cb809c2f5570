"""Access benchmark (issue 9): durable audit appends from 4 processes, and authorize
decisions per second, each against a baseline measured in the same run.

    .venv/bin/python bench/access.py [--appends 400] [--seconds 2]

1. Audit appends/s, 4 processes appending at once to one audit.db on disk (the state
   directory is on the eMMC of a gateway, so not tmpfs), every entry durable (WAL fsynced)
   before `append` returns.  Side by side, in the same run:
   - the chain as shipped (queued on an flock, BEGIN IMMEDIATE, synchronous=FULL);
   - the same chain relying on SQLite's busy handler alone (no flock): its rate, and the
     spread of the writers' finishing times, which is why the flock is there;
   - the floor: 4 processes doing durable single-row inserts without a chain.
   Each writer's entries are checked afterwards: one linear chain, nothing lost.
2. authorize decisions/s over a mix of users (roles, scopes), modules, operations and
   wells, against a naive implementation that asks SQLite per call (user roles joined
   with the matrix, then the scope), on a users database file as a first version might.

Target (issue 9): >= 500 appends/s and >= 200,000 decisions/s.  Figures move with the
machine's load (other processes' disk and CPU): run it twice before believing a change.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from daemons.core.access.audit import AuditLog, AuditReader
from daemons.core.access.matrix import load_matrix
from daemons.core.access.model import MODULES, OPERATIONS, ROLES, Scope, User
from daemons.core.access.policy import Policy
from daemons.core.store import durable, open_db

WRITERS = 4
REPO = Path(__file__).resolve().parent.parent


# --- child processes ----------------------------------------------------------------------

def child(mode: str, state: Path, writer: str, n: int, go: Path) -> None:
    if mode == "plain":
        conn = open_db(state / "plain.db")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, w TEXT, i INT)")
        conn.commit()

        def append(i: int) -> None:
            with durable(conn) as c:
                c.execute("INSERT INTO t (w, i) VALUES (?, ?)", (writer, i))
    else:
        log = AuditLog(state)
        if mode == "nolock":
            log.lock_fd = None  # SQLite's busy handler alone

        def append(i: int) -> None:
            log.append(writer, "system", "bench.append", f"obj-{i}", {"i": i})
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.0005)
    t0 = time.perf_counter()
    for i in range(n):
        append(i)
    print(f"{time.perf_counter() - t0:.6f}", flush=True)


def race(mode: str, n: int) -> tuple[float, list[float], Path]:
    """(appends/s over the whole race, each writer's own seconds, state dir)."""
    state = Path(tempfile.mkdtemp(prefix="wellgate-bench-access-", dir="/var/tmp"))
    if mode != "plain":
        AuditLog(state).close()
    go = state / "go"
    procs = [subprocess.Popen([sys.executable, __file__, "--child", mode, str(state),
                               f"w{k}", str(n), str(go)], stdout=subprocess.PIPE, text=True)
             for k in range(WRITERS)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    go.touch()
    own = []
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out
        own.append(float(out.strip()))
    wall = time.perf_counter() - t0
    return WRITERS * n / wall, own, state


def check_chain(state: Path, n: int) -> str:
    reader = AuditReader(state)
    try:
        verdict = reader.verify()
        entries = reader.entries()
    finally:
        reader.close()
    assert verdict.ok and verdict.count == WRITERS * n, verdict
    for k in range(WRITERS):
        assert [e.details_dict()["i"] for e in entries if e.actor == f"w{k}"] == list(range(n))
    switches = sum(a.actor != b.actor for a, b in itertools.pairwise(entries))
    return f"chain verified: {verdict.count} entries, {switches} changes of writer"


# --- authorize ----------------------------------------------------------------------------

def cases(wells: dict[str, str], k: int = 4096) -> list[tuple[User, str, str, str | None]]:
    rng = random.Random(9)
    users = []
    for i in range(64):
        roles = frozenset(rng.sample(list(ROLES), rng.choice((1, 1, 2))))
        scope = Scope() if i % 3 else Scope(frozenset({"Lagunillas"}) if i % 2 else
                                            frozenset(), frozenset({f"W{100 + i % 8}"}))
        users.append(User(f"user{i}", roles, scope))
    out = []
    for _ in range(k):
        out.append((rng.choice(users), rng.choice(list(MODULES)), rng.choice(list(OPERATIONS)),
                    rng.choice([None, *wells])))
    return out


def naive_db(path: Path, policy: Policy, users: list[User]) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.executescript("""
        PRAGMA journal_mode = WAL;
        CREATE TABLE user_roles (name TEXT, role TEXT);
        CREATE INDEX ur ON user_roles(name);
        CREATE TABLE user_scope (name TEXT, item TEXT);
        CREATE INDEX us ON user_scope(name);
        CREATE TABLE matrix (module TEXT, operation TEXT, role TEXT);
        CREATE INDEX mx ON matrix(module, operation);
        CREATE TABLE wells (id TEXT PRIMARY KEY, field TEXT);
    """)
    for u in users:
        conn.executemany("INSERT INTO user_roles VALUES (?, ?)", [(u.name, r) for r in u.roles])
        conn.executemany("INSERT INTO user_scope VALUES (?, ?)",
                         [(u.name, x) for x in (*u.scope.fields, *u.scope.wells)])
    for (m, o), roles in policy.matrix.allowed.items():
        conn.executemany("INSERT INTO matrix VALUES (?, ?, ?)", [(m, o, r) for r in roles])
    conn.executemany("INSERT INTO wells VALUES (?, ?)", list(policy.field_of.items()))
    conn.commit()
    return conn


def naive_authorize(conn: sqlite3.Connection, user: User, module: str, operation: str,
                    well: str | None) -> bool:
    """What a first version might do: ask the database every time."""
    if conn.execute("SELECT 1 FROM user_roles ur JOIN matrix m ON m.role = ur.role WHERE "
                    "ur.name = ? AND m.module = ? AND m.operation = ?",
                    (user.name, module, operation)).fetchone() is None:
        return False
    items = {r[0] for r in conn.execute("SELECT item FROM user_scope WHERE name = ?",
                                        (user.name,))}
    if well is None:
        return not items or operation == "read"
    row = conn.execute("SELECT field FROM wells WHERE id = ?", (well,)).fetchone()
    return row is not None and (not items or well in items or row[0] in items)


def rate(fn, work: list, seconds: float) -> tuple[float, list[bool]]:
    answers = [bool(fn(*c)) for c in work]  # warm-up, and the answers to compare
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for c in work:
            fn(*c)
        done += len(work)
    return done / (time.perf_counter() - t0), answers


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, mode, state, writer, n, go = sys.argv
        child(mode, Path(state), writer, int(n), Path(go))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--appends", type=int, default=400, help="per process (default 400)")
    ap.add_argument("--seconds", type=float, default=2.0, help="per authorize figure")
    args = ap.parse_args()
    n = args.appends

    print(f"access benchmark: {WRITERS} processes x {n} durable audit appends; authorize")
    results = {}
    for mode in ("chain", "nolock", "plain"):
        per_s, own, state = race(mode, n)
        note = check_chain(state, n) if mode != "plain" else ""
        results[mode] = (per_s, own, note)
        shutil.rmtree(state, ignore_errors=True)
    per_s, own, note = results["chain"]
    print(f"  audit appends, 4 processes, durable   {per_s:9.0f} /s   (target >= 500)")
    print(f"    writers finished in {min(own):.2f}-{max(own):.2f} s; {note}")
    nl, nl_own, nl_note = results["nolock"]
    print(f"  baseline: busy handler only (no flock) {nl:8.0f} /s")
    print(f"    writers finished in {min(nl_own):.2f}-{max(nl_own):.2f} s; {nl_note}")
    print(f"  floor: durable inserts without chain  {results['plain'][0]:9.0f} /s")

    wells = {f"W{100 + i}": "Lagunillas" if i < 6 else "Bachaquero" for i in range(12)}
    policy = Policy(load_matrix(), wells)
    work = cases(wells)
    fast, answers = rate(policy.authorize, work, args.seconds)
    tmp = Path(tempfile.mkdtemp(prefix="wellgate-bench-authz-", dir="/var/tmp"))
    try:
        conn = naive_db(tmp / "users.db", policy, list({c[0] for c in work}))
        slow, naive_answers = rate(lambda *c: naive_authorize(conn, *c), work,
                                   args.seconds)
        conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert answers == naive_answers, "the baseline must decide the same"
    allowed = sum(answers) / len(answers)
    print(f"  authorize decisions                   {fast:9.0f} /s   (target >= 200,000; "
          f"{allowed:.0%} allowed)")
    print(f"  baseline: SQL lookup per call         {slow:9.0f} /s   ({fast / slow:.0f}x)")


if __name__ == "__main__":
    main()
