"""The audit chain on a real audit.db: appends verify; each kind of tampering (edit,
delete, swap, insert, truncate, rewrite, a cut prefix) is detected and located."""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import astuple

import pytest

from daemons.core.access.audit import MONTH_NS, AuditLog, AuditReader
from daemons.core.access.chain import GENESIS, Entry, Head, entry_hash
from daemons.core.service.logsetup import configure_logging, get_logger

T0 = 1_780_000_000_000_000_000
COLUMNS = "seq, ts_ns, actor, source, action, object, details, prev_hash, hash"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        self.now += 1_000_000_000
        return self.now


@pytest.fixture
def state(tmp_path):
    """20 entries by several actors."""
    log = AuditLog(tmp_path, clock=Clock())
    for i in range(20):
        log.append(["ana", "bob", "system"][i % 3], "cli", "tag.write", f"W101.SP{i}",
                   {"old": i, "new": i + 1, "reason": "prueba ñ"})
    log.close()
    return tmp_path


def verify(state, head: Head | None = None):
    reader = AuditReader(state)
    try:
        return reader.verify(head)
    finally:
        reader.close()


def attacker(state) -> sqlite3.Connection:
    """Someone with the file: drops the append-only triggers first."""
    conn = sqlite3.connect(state / "audit.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_append_only")
    conn.execute("DROP TRIGGER audit_no_delete")
    return conn


def rows(conn) -> list[Entry]:
    return [Entry(*r) for r in conn.execute(f"SELECT {COLUMNS} FROM audit ORDER BY seq")]


def test_an_untouched_chain_verifies(state):
    v = verify(state)
    assert v.ok and v.count == 20 and v.head.seq == 20
    e = AuditReader(state).head()
    assert v.head.hash == e.hash == e.computed_hash()
    assert AuditReader(state).get(1).prev_hash == GENESIS


def test_the_hash_is_over_the_documented_canonical_encoding(state):
    e = AuditReader(state).get(2)
    payload = json.dumps([e.seq, e.ts_ns, e.actor, e.source, e.action, e.object, e.details,
                          e.prev_hash], separators=(",", ":"), ensure_ascii=False)
    import hashlib
    assert hashlib.sha256(payload.encode()).hexdigest() == e.hash
    assert e.details == '{"new":2,"old":1,"reason":"prueba ñ"}'


def test_the_database_refuses_updates_and_deletes(state):
    conn = sqlite3.connect(state / "audit.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 3")
    conn.close()


def test_an_edited_field_is_located(state):
    conn = attacker(state)
    before = rows(conn)[6].details
    conn.execute("UPDATE audit SET details = json_set(details, '$.new', 70) WHERE seq = 7")
    assert rows(conn)[6].details != before
    p = verify(state).problem
    assert (p.seq, p.kind) == (7, "edited"), p


def test_an_edit_with_its_hash_recomputed_is_located(state):
    conn = attacker(state)
    e = rows(conn)[6]
    forged = entry_hash(e.seq, e.ts_ns, "mallory", e.source, e.action, e.object, e.details,
                        e.prev_hash)
    conn.execute("UPDATE audit SET actor = 'mallory', hash = ? WHERE seq = 7", (forged,))
    p = verify(state).problem
    assert (p.seq, p.kind) == (7, "edited") and "entry 8 still links" in p.en, p


def test_a_deleted_entry_is_located(state):
    attacker(state).execute("DELETE FROM audit WHERE seq = 12")
    p = verify(state).problem
    assert (p.seq, p.kind) == (12, "removed") and "entry 12 was removed" in p.en, p


def test_two_swapped_entries_are_located(state):
    conn = attacker(state)
    a, b = rows(conn)[8], rows(conn)[9]  # seq 9 and 10 exchange everything but position
    for target, src in ((9, b), (10, a)):
        conn.execute("UPDATE audit SET ts_ns=?, actor=?, source=?, action=?, object=?, "
                     "details=?, prev_hash=?, hash=? WHERE seq=?", (*astuple(src)[1:], target))
    p = verify(state).problem
    assert (p.seq, p.kind) == (9, "reordered") and "entry 10 was moved to position 9" in p.en


def test_an_inserted_entry_is_located(state):
    conn = attacker(state)
    for seq in range(20, 6, -1):  # make room at 7, from the end so keys never collide
        conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq + 1, seq))
    prev = rows(conn)[5]
    details = '{"note":"forged"}'
    digest = entry_hash(7, prev.ts_ns + 1, "mallory", "cli", "tag.write", "W101.SP", details,
                        prev.hash)  # a well-formed entry, chained to entry 6
    conn.execute(f"INSERT INTO audit ({COLUMNS}) VALUES (7, ?, 'mallory', 'cli', 'tag.write',"
                 " 'W101.SP', ?, ?, ?)", (prev.ts_ns + 1, details, prev.hash, digest))
    p = verify(state).problem
    assert (p.seq, p.kind) == (7, "inserted") and "now at 8" in p.en, p


def test_a_cut_tail_is_found_against_an_exported_head(state):
    head = verify(state).head
    attacker(state).execute("DELETE FROM audit WHERE seq > 15")
    alone = verify(state)
    assert alone.ok and alone.count == 15  # consistent in itself …
    p = verify(state, head).problem  # … but not with what was exported
    assert (p.seq, p.kind) == (16, "removed") and "16–20 were removed" in p.en, p


def test_a_rewritten_chain_is_found_against_an_exported_head(state):
    head = Head.parse(verify(state).head.text())
    conn = attacker(state)
    prev = GENESIS
    for e in rows(conn):  # rewrite everything consistently, one actor changed
        actor = "mallory" if e.seq == 5 else e.actor
        digest = entry_hash(e.seq, e.ts_ns, actor, e.source, e.action, e.object, e.details,
                            prev)
        conn.execute("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                     (actor, prev, digest, e.seq))
        prev = digest
    assert verify(state).ok
    p = verify(state, head).problem
    assert (p.seq, p.kind) == (20, "head"), p


def test_a_cut_prefix_without_an_anchor_is_found(state):
    attacker(state).execute("DELETE FROM audit WHERE seq <= 4")
    p = verify(state).problem
    assert (p.seq, p.kind) == (1, "removed") and "1–4" in p.en, p


def test_retention_keeps_the_chain_verifiable_with_an_anchor(state):
    head = verify(state).head
    clock = Clock()
    # Entry n was made at T0 + n s; the prune's clock reads T0 + 10 s + 24 months (each
    # reading advances it by a second), so entries 1-9 are over 24 months old.
    clock.now = T0 + 9 * 1_000_000_000 + 24 * MONTH_NS
    log = AuditLog(state, clock=clock)
    assert log.prune_months(24) == 9
    log.close()
    v = verify(state)
    assert v.ok, v.problem
    assert v.anchor.seq == 9 and v.count == 12 and v.head.seq == 21  # 10-20 + the prune
    assert verify(state, head).ok  # an exported head still checks
    prune = AuditReader(state).head()
    assert prune.action == "audit.prune" and prune.details_dict()["removed"] == 9
    # A second prune removes the old anchor and leaves a new one.
    clock.now = T0 + 13 * 1_000_000_000 + 24 * MONTH_NS
    log = AuditLog(state, clock=clock)
    assert log.prune_months(24) == 4
    log.close()
    assert verify(state).ok and verify(state).anchor.seq == 13


def test_a_forged_anchor_is_found(state):
    clock = Clock()
    clock.now = T0 + 5 * 1_000_000_000 + 24 * MONTH_NS  # prunes 1-5
    log = AuditLog(state, clock=clock)
    log.prune_months(24)
    log.close()
    conn = attacker(state)
    anchor = rows(conn)[0]
    # Cut more of the prefix by hand and move the anchor up to cover it.
    conn.execute("DELETE FROM audit WHERE seq <= 8")
    e8_hash = rows(conn)[0].prev_hash  # entry 9 links to 8's hash
    conn.execute(f"INSERT INTO audit ({COLUMNS}) VALUES (8, ?, 'system', 'system', "
                 "'audit.anchor', '', '{}', '', ?)", (anchor.ts_ns, e8_hash))
    p = verify(state).problem
    assert (p.seq, p.kind) == (8, "anchor"), p


def test_entries_are_also_logged_as_structlog_json(tmp_path):
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    try:
        log = AuditLog(tmp_path, log=get_logger("acqd"))
        entry = log.append("ana", "web", "login", "ana", {"rehashed": False})
        log.close()
    finally:
        configure_logging("console", "error")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "audit"
    assert (line["seq"], line["actor"], line["source"], line["action"], line["object"]) == (
        1, "ana", "web", "login", "ana")
    assert line["details"] == {"rehashed": False}
    assert line["hash"] == entry.hash and line["prev_hash"] == GENESIS


def test_unknown_sources_are_a_programming_error(tmp_path):
    log = AuditLog(tmp_path)
    with pytest.raises(ValueError, match="source"):
        log.append("ana", "telnet", "login")
    log.close()
