"""forwardd's outbox: lanes, budget, bdSeq, and a power cut (kill -9 mid-write)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from daemons.forwardd.outbox import LANE_ALARMS, LANE_CALC, LANE_TRENDS, Outbox

TREE = Path(__file__).resolve().parents[2]


def test_take_orders_by_lane_then_age_and_skips_inflight(tmp_path):
    box = Outbox(tmp_path, 1 << 30)
    box.append([(LANE_TRENDS, "t", 1, 1.0, 0), (LANE_ALARMS, "a", 2, True, 0),
                (LANE_CALC, "c", 3, [1.0, 2.0], 0), (LANE_ALARMS, "a", 4, None, 0)])
    rows = box.take(10)
    assert [(r.lane, r.ts_ms) for r in rows] == [(0, 2), (0, 4), (1, 3), (2, 1)]
    assert rows[2].value == [1.0, 2.0] and rows[1].value is None
    assert box.take(10, exclude={rows[0].id})[0].ts_ms == 4
    assert [r.lane for r in box.take(10, lanes=(LANE_TRENDS,))] == [2]
    box.delete([r.id for r in rows[:2]])
    assert box.depth == 2 and box.lane_depths() == {"alarms": 0, "calc": 1, "trends": 1}
    box.close()
    assert Outbox(tmp_path, 1 << 30).depth == 2


def test_held_cards_are_not_replayed_until_requeued_after_a_restart(tmp_path):
    box = Outbox(tmp_path, 1 << 30)
    box.hold([(LANE_CALC, "W1.CARD", 5, [1.0, 2.0], 0)])
    assert box.depth == 0 and box.take(10) == []  # held, not in the backlog
    box.release_held()  # sent live
    box.hold([(LANE_CALC, "W1.CARD", 6, [3.0], 192)])
    box.close()  # forwardd stops (or dies) while it is held
    box = Outbox(tmp_path, 1 << 30)
    assert box.requeue_held() == 1 and box.requeue_held() == 0
    rows = box.take(10)
    assert [(r.lane, r.tag, r.ts_ms, r.value, r.quality) for r in rows] == [
        (LANE_CALC, "W1.CARD", 6, [3.0], 192)]
    assert box.depth == 1
    box.close()


def test_budget_drops_oldest_trends_first(tmp_path):
    box = Outbox(tmp_path, 256 * 1024)
    box.append([(LANE_ALARMS, "a", i, float(i), 0) for i in range(500)])
    for k in range(40):
        box.append([(LANE_TRENDS, "t", k * 1000 + i, float(i), 0) for i in range(500)])
    assert box.used_bytes() <= 256 * 1024
    assert box.dropped > 0
    assert box.lane_depths()["alarms"] == 500  # alarms kept while trends could go
    oldest_trend = min(r.ts_ms for r in box.take(100_000, lanes=(LANE_TRENDS,)))
    assert oldest_trend > 0  # the oldest trends went first


def test_bdseq_increments_wraps_and_persists(tmp_path):
    box = Outbox(tmp_path, 1 << 20)
    assert [box.next_bdseq() for _ in range(3)] == [0, 1, 2]
    box.set_state("bdseq", 254, sync=True)
    box.close()
    box = Outbox(tmp_path, 1 << 20)
    assert [box.next_bdseq() for _ in range(3)] == [255, 0, 1]


def test_power_cut_mid_write_leaves_whole_batches(tmp_path):
    """kill -9 at arbitrary points of durable appends: the database opens, passes
    integrity_check, and holds only whole batches, at least as many as were confirmed."""
    env = {**os.environ, "PYTHONPATH": str(TREE)}
    total = 0
    for run, delay in enumerate((0.3, 0.55, 0.8)):
        script = str(Path(__file__).with_name("outbox_child.py"))
        child = subprocess.Popen([sys.executable, script, str(tmp_path), str(run)],
                                 stdout=subprocess.PIPE, text=True, env=env)
        assert child.stdout is not None
        confirmed = -1
        deadline = time.monotonic() + 20
        while confirmed < 3 and time.monotonic() < deadline:
            confirmed = int(child.stdout.readline())
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        box = Outbox(tmp_path, 1 << 30)
        assert box.integrity() == "ok"
        sizes = Counter(r.tag for r in box.take(10_000_000))
        assert sizes and set(sizes.values()) == {200}, "a batch was cut"
        assert len(sizes) >= total + confirmed + 1
        total = len(sizes)
        box.close()
