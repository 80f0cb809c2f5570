"""The conformance checker itself: a correct stream passes, and each broken rule is
caught (a checker that cannot fail proves nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sparkplug_checker import Msg, check_edge_node

from daemons.core.sparkplug import (
    BDSEQ,
    REBIRTH,
    DataType,
    add_metric,
    encode_payload,
    new_payload,
)

T = "spBv1.0/G/{}/e"


def nbirth(seq=0, bdseq=0, extra=True):
    p = new_payload(1, seq=seq)
    add_metric(p, DataType.Int64, bdseq, name=BDSEQ, timestamp_ms=1)
    if extra:
        add_metric(p, DataType.Boolean, False, name=REBIRTH, alias=100, timestamp_ms=1)
    add_metric(p, DataType.Double, 1.0, name="n1", alias=1, timestamp_ms=1)
    return Msg(0, T.format("NBIRTH"), encode_payload(p), 0, False)


def dbirth(seq, alias=2, name="d1"):
    p = new_payload(1, seq=seq)
    add_metric(p, DataType.Int32, -5, name=name, alias=alias, timestamp_ms=1)
    return Msg(0, T.format("DBIRTH") + "/dev", encode_payload(p), 0, False)


def ddata(seq, alias=2, name=None, ts=2, qos=0, retain=False, historical=False):
    p = new_payload(2, seq=seq)
    add_metric(p, DataType.Int32, -7, alias=alias, name=name, timestamp_ms=ts,
               with_datatype=False, is_historical=historical)
    return Msg(0, T.format("DDATA") + "/dev", encode_payload(p), qos, retain)


def batch(seq, timestamps):
    """One DDATA holding several samples of one metric (a batched payload)."""
    p = new_payload(20, seq=seq)
    for ts in timestamps:
        add_metric(p, DataType.Int32, ts, alias=2, timestamp_ms=ts, with_datatype=False)
    return Msg(0, T.format("DDATA") + "/dev", encode_payload(p), 0, False)


def ndeath(bdseq=0, qos=1):
    p = new_payload(3)
    add_metric(p, DataType.Int64, bdseq, name=BDSEQ)
    return Msg(0, T.format("NDEATH"), encode_payload(p), qos, False)


GOOD = [nbirth(), dbirth(1), ddata(2), ddata(3, historical=True, ts=1), ndeath(),
        nbirth(bdseq=1), dbirth(1), ddata(2), batch(3, [3, 4, 5])]


def test_a_correct_stream_passes_and_samples_are_collected():
    r = check_edge_node(GOOD, "G", "e")
    assert r.violations == []
    assert r.bdseqs == [0, 1] and r.sessions == 2
    assert [(s.ts_ms, s.value, s.historical) for s in r.samples[("dev", "d1")]] == [
        (1, -5, False), (2, -7, False), (1, -7, True), (1, -5, False), (2, -7, False),
        (3, 3, False), (4, 4, False), (5, 5, False)]


@pytest.mark.parametrize("stream,rule", [
    ([nbirth(seq=1)], "nbirth"),
    ([nbirth(extra=False)], "nbirth"),
    ([nbirth(), dbirth(1), ddata(3)], "seq"),
    ([nbirth(), ddata(1)], "dbirth"),
    ([nbirth(), dbirth(1), ddata(2, name="d1")], "names"),
    ([nbirth(), dbirth(1), ddata(2, alias=99)], "alias"),
    ([nbirth(), dbirth(1, alias=1)], "alias"),
    ([nbirth(), dbirth(1), batch(2, [5, 3, 4])], "order"),
    ([nbirth(), dbirth(1), ddata(2, qos=1)], "qos"),
    ([nbirth(), dbirth(1), ddata(2, retain=True)], "qos"),
    ([nbirth(), ndeath(qos=0)], "qos"),
    ([nbirth(bdseq=3), ndeath(3), nbirth(bdseq=7)], "bdseq"),
    ([nbirth(bdseq=3), ndeath(5)], "bdseq"),
    ([Msg(0, "spBv1.0/G/NDATA/e/x", b"", 0, False)], "topic"),
    ([Msg(0, T.format("NDATA"), b"\xff\xff", 0, False)], "decode"),
])
def test_each_broken_rule_is_reported(stream, rule):
    violations = check_edge_node(stream, "G", "e").violations
    assert any(v.startswith(rule + ":") for v in violations), violations
