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


def test_absolute_lifetime_ends_even_a_busy_session(tmp_path):
    clock = Clock()
    store = SessionStore(tmp_path, idle_s=600, max_s=1800, clock=clock)
    s = store.create("oscar")
    for _ in range(5):  # used every 5 minutes: never idle
        clock.now += 300 * 10**9
        assert store.get(s.token) is not None
    clock.now += 301 * 10**9  # 30 min 1 s after the login
    assert store.get(s.token) is None
    store.close()


def test_no_lifetime_limit_and_prune_by_age(tmp_path):
    clock = Clock()
    unlimited = SessionStore(tmp_path / "a", idle_s=600, max_s=0, clock=clock)
    s = unlimited.create("sam")
    for _ in range(20):
        clock.now += 500 * 10**9
        assert unlimited.get(s.token) is not None
    assert unlimited.prune() == 0
    unlimited.close()
    limited = SessionStore(tmp_path / "b", idle_s=600, max_s=1000, clock=clock)
    old = limited.create("ana")
    clock.now += 500 * 10**9
    young = limited.create("eva")
    clock.now += 501 * 10**9
    assert limited.prune() == 1  # ana's session is past its lifetime, eva's is not
    assert limited.get(young.token) is not None and limited.get(old.token) is None
    limited.close()


def test_web_settings_reach_the_api(site):
    """`[web] session_idle_minutes` and `session_max_hours` are what the API enforces."""
    from litestar.testing import TestClient

    from daemons.core.config import load_config
    from daemons.webd.app import build_app

    from .conftest import login
    source = site.cfg.source
    source.write_text(source.read_text().replace(
        "port = 0\n", "port = 0\nsession_idle_minutes = 5\nsession_max_hours = 1\n"))
    site.cfg = load_config(source)
    state = site.state()
    clock = Clock()
    state.gate.sessions.clock = clock
    try:
        with TestClient(build_app(state)) as client:
            login(client, "sam")
            clock.now += 299 * 10**9
            assert client.get("/api/me").status_code == 200
            clock.now += 301 * 10**9  # 5 min 1 s idle
            assert client.get("/api/me").status_code == 401
            login(client, "sam")
            statuses = []
            for _ in range(14):  # a request every 4.5 minutes for 63 minutes
                clock.now += 270 * 10**9
                statuses.append(client.get("/api/me").status_code)
            # never idle, but the hour is over after the 13th request
            assert statuses == [200] * 13 + [401]
    finally:
        state.worker.pool.submit(state.api.close).result()
        state.worker.pool.submit(state.gate.close).result()
        state.worker.close()
