"""The live hub (daemons/webd/live.py): its column-wise JSON rows are exactly the rows of
`wellgate tags --json`; one tick serves every stream, each with what its mask allows;
arrays go out when a new one is published; a stream that does not read is ended."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from daemons.core.quality import Quality
from daemons.core.ring import RingDirectory, RingWriter, SlotSpec
from daemons.core.ring.rows import collect
from daemons.webd import live
from daemons.webd.live import LiveHub, RowFormatter

pytestmark = pytest.mark.timeout(30)
NAMES = ["W1.A", "W1.B", "W1.Ñ", "W2.A", "W2.B"]


@pytest.fixture
def ring(tmp_path):
    slots = [SlotSpec(n, 0, u) for n, u in zip(NAMES, ["psi", "", "°F", "bbl/d", "psi"],
                                                strict=True)]
    w = RingWriter.create(tmp_path / "acq.ring", [*slots, SlotSpec("W1.CARD", 3, "lbf")],
                          tagmap_version=1)
    yield w
    w.close()


def test_rows_are_the_cli_rows_byte_for_byte(ring, tmp_path):
    ring.write_batch(np.array([0, 1, 2, 3]), np.array([812.5, np.nan, 1e20, -0.1]),
                     1_764_000_000_999_999_999, np.array(
                         [Quality.GOOD, Quality.BAD_NO_COMMUNICATION, Quality.GOOD,
                          Quality.UNCERTAIN], dtype=np.uint32))
    with RingDirectory(tmp_path) as rings:
        snap = rings.snapshot()
        idx = np.arange(5)  # W2.B was never written: its ts is null
        texts = RowFormatter(snap).rows(snap, idx).tolist()
        expected = [r for r in collect(rings, "*") if r["tag"] in NAMES]
    assert texts == [json.dumps(r, ensure_ascii=False) for r in expected]
    assert json.loads(texts[1])["value"] is None and json.loads(texts[4])["ts"] is None


def run(coro):
    return asyncio.run(coro)


def test_one_tick_serves_every_stream_by_its_mask(ring, tmp_path, monkeypatch):
    monkeypatch.setattr(live, "POLL_S", 0.01)
    ts = 1_764_000_000_000_000_000

    async def scenario():
        hub = LiveHub(tmp_path)
        ring.write_batch(np.arange(5), np.arange(5.0), ts, int(Quality.GOOD))
        ring.write_array(5, np.array([1.0, 2.0, 3.0]), ts, int(Quality.GOOD))
        everything = hub.subscribe("*", lambda n: True)
        w1 = hub.subscribe("*", lambda n: n.startswith("W1."))
        w1_too = hub.subscribe("W1", lambda n: True)  # same mask, other way
        firsts = [json.loads(await s.next(1)) for s in (everything, w1, w1_too)]
        ring.write_batch(np.array([1, 3]), np.array([10.0, 30.0]), ts + 1, int(Quality.GOOD))
        seconds = [await s.next(1) for s in (everything, w1, w1_too)]
        ring.write_array(5, np.array([4.0, 5.0, 6.0]), ts + 2, int(Quality.GOOD))
        thirds = [json.loads(await s.next(1)) for s in (everything, w1)]
        quiet = await everything.next(0.1)
        hub.close()
        return firsts, seconds, thirds, quiet

    firsts, seconds, thirds, quiet = run(scenario())
    assert [r["tag"] for r in firsts[0]] == [*NAMES, "W1.CARD"]
    assert [r["tag"] for r in firsts[1]] == ["W1.A", "W1.B", "W1.Ñ", "W1.CARD"]
    assert firsts[2] == firsts[1]
    assert [(r["tag"], r["value"]) for r in json.loads(seconds[0])] == [("W1.B", 10.0),
                                                                       ("W2.A", 30.0)]
    assert [r["tag"] for r in json.loads(seconds[1])] == ["W1.B"]
    assert seconds[1] is seconds[2]  # the same string: one payload per distinct mask
    assert [(r["tag"], r["value"]) for r in thirds[0]] == [("W1.CARD", [4.0, 5.0, 6.0])]
    assert thirds[1] == thirds[0]
    assert quiet is None


def test_a_stream_that_does_not_read_is_ended(ring, tmp_path, monkeypatch):
    monkeypatch.setattr(live, "POLL_S", 0.001)

    async def scenario():
        hub = LiveHub(tmp_path)
        slow = hub.subscribe("*", lambda n: True)
        for k in range(live.MAX_BACKLOG + 5):
            ring.write_batch(np.array([0]), np.array([float(k)]), 10**18 + k,
                             int(Quality.GOOD))
            await asyncio.sleep(0.01)
        hub.close()
        return slow

    slow = run(scenario())
    assert slow.ended
    assert slow.queue.qsize() <= live.MAX_BACKLOG + 2


def test_streams_of_one_reader_authorize_each_tag_once(ring, tmp_path):
    calls: list[str] = []

    def may_read(name: str) -> bool:
        calls.append(name)
        return name.startswith("W1.")

    async def scenario():
        hub = LiveHub(tmp_path)
        ring.write_batch(np.arange(5), np.arange(5.0), 10**18, int(Quality.GOOD))
        subs = [hub.subscribe("*", may_read, "oscar") for _ in range(5)]
        other = hub.subscribe("*", lambda n: True, "sam")
        firsts = [json.loads(await s.next(1)) for s in (*subs, other)]
        hub.close()
        return firsts

    firsts = run(scenario())
    assert sorted(calls) == sorted([*NAMES, "W1.CARD"])  # one pass for five streams
    assert all(f == firsts[0] for f in firsts[:5]) and len(firsts[5]) == 6
