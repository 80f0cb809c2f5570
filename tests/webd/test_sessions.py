"""webd.db sessions: hashed tokens, idle timeout, pruning."""

from __future__ import annotations

import sqlite3

from daemons.webd.sessions import DB_NAME, SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000_000_000

    def __call__(self) -> int:
        return self.now


def test_idle_timeout_ends_a_session_and_use_keeps_it(tmp_path):
    clock = Clock()
    store = SessionStore(tmp_path, idle_s=600, clock=clock)
    s = store.create("oscar")
    clock.now += 500 * 10**9
    assert store.get(s.token).user == "oscar"  # used: the idle clock restarts
    clock.now += 500 * 10**9
    assert store.get(s.token) is not None
    clock.now += 601 * 10**9
    assert store.get(s.token) is None
    assert store.get("not-a-token") is None
    store.close()


def test_only_token_hashes_are_stored_and_prune_removes_idle_ones(tmp_path):
    clock = Clock()
    store = SessionStore(tmp_path, idle_s=60, clock=clock)
    a, b = store.create("ana"), store.create("sam")
    stored = [r[0] for r in sqlite3.connect(tmp_path / DB_NAME).execute(
        "SELECT token_hash FROM session")]
    assert a.token not in stored and b.token not in stored and len(stored) == 2
    clock.now += 61 * 10**9
    assert store.prune() == 2
    store.close()
