"""The threaded history feed both daemons use: answers, hand-over, a bad batch survived."""

from __future__ import annotations

import numpy as np

from daemons.core.config import loads_config
from daemons.core.history.feed import HistoryFeed, retention_policy
from daemons.core.history.reader import HistoryReader

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
CFG = loads_config('[gateway]\nsite = "s"\n[history]\nraw_days = 30\nrollup_1m_days = 0\n',
                   "gw.toml").history


class Log:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, event: str, **fields: object) -> None:
        self.errors.append(event)


def test_feed_stores_what_it_is_handed_and_survives_a_bad_batch(tmp_path):
    log = Log()
    feed = HistoryFeed(tmp_path / "h.db", CFG, log)
    ids = feed.ensure_series([("a", "int", 0.5, 0, "psi"), ("b", "float", 1, 0, "")])
    assert ids.tolist() == [1, 2] and feed.ensure_series([("b", "float", 1, 0, "")]) == [2]
    feed.append(ids, np.array([T0, T0]), np.array([4, 2.5]), np.zeros(2, np.uint32))
    feed.append(np.array([99]), np.array([T0]), np.array([1]), np.zeros(1, np.uint32))
    feed.append(ids, np.array([T0 + NS] * 2), np.array([6, 3.5]), np.zeros(2, np.uint32))
    feed.close()
    assert feed.errors == 1 and log.errors == ["history write failed"]  # the unknown id
    with HistoryReader([tmp_path / "h.db"]) as r:
        assert r.raw("a", T0, T0 + 2 * NS)[1].tolist() == [2.0, 3.0]
        assert r.raw("b", T0, T0 + 2 * NS)[1].tolist() == [2.5, 3.5]


def test_retention_policy_from_the_history_section():
    policy = retention_policy(CFG)
    assert policy.raw_s == 30 * 86_400 and policy.rollup_1m_s is None
    assert policy.rollup_1h_s == 3650 * 86_400 and policy.max_bytes is None
