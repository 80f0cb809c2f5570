"""Session tracking of the primary host, without I/O: births, seq, aliases, rebirths."""

from __future__ import annotations

from daemons.hostd.model import SpMetric, SpPayload
from daemons.hostd.session import Sessions


class FakeSink:
    def __init__(self):
        self.births, self.deaths, self.batches, self.rebirth_marks = [], [], [], []

    def birth(self, op):
        self.births.append(op)
        for i, ref in enumerate(op.refs):
            ref.db_id = 1000 * len(self.births) + i

    def death(self, op):
        self.deaths.append(op)

    def samples(self, batch):
        self.batches.append(batch)
        return True

    def rebirth_requested(self, schema, node):
        self.rebirth_marks.append((schema, node))

    def rows(self):
        return [r for b in self.batches for r in b.rows]


class Log:
    def __init__(self):
        self.lines = []

    def warning(self, event, **kw):
        self.lines.append((event, kw))

    info = warning


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def make(interval=5.0):
    sink, log, clock, asked = FakeSink(), Log(), Clock(), []
    s = Sessions({"g1": "sp_g1"}, sink, lambda g, n: asked.append((g, n)), log,
                 rebirth_min_interval_s=interval, clock=clock)
    return s, sink, log, clock, asked


def nbirth(seq=0, bdseq=3, ts=1_000):
    return SpPayload(ts, seq, [SpMetric("bdSeq", None, ts, 4, bdseq),
                               SpMetric("THP", 1, ts, 10, 120.5, properties={"engUnit": "psi"}),
                               SpMetric("RUN", 2, ts, 11, True)])


def data(seq, *metrics, ts=2_000):
    return SpPayload(ts, seq, list(metrics))


def test_birth_then_data_by_alias_stores_samples_with_birth_metadata():
    s, sink, _log, _clock, asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(), 1_000)
    s.handle("g1", "NDATA", "n1", None, data(1, SpMetric(alias=1, timestamp_ms=2_000,
                                                          datatype=10, value=121.0)), 2_000)
    assert asked == []
    (birth,) = sink.births
    assert birth.bdseq == 3 and [r.name for r in birth.refs] == ["bdSeq", "THP", "RUN"]
    assert birth.refs[1].units == "psi"
    rows = sink.rows()
    # birth values (bdSeq is bookkeeping, not a sample), then the NDATA value
    assert [(r[0], r[1], r[2].name) for r in rows] == [
        (1_000, 120.5, "THP"), (1_000, 1.0, "RUN"), (2_000, 121.0, "THP")]


def test_seq_gap_asks_for_rebirth_but_keeps_the_data():
    s, sink, log, _clock, asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(), 1_000)
    s.handle("g1", "NDATA", "n1", None, data(5, SpMetric(alias=1, value=1.0, datatype=10)), 2)
    assert asked == [("g1", "n1")]
    assert sink.rebirth_marks == [("sp_g1", "n1")]
    assert "seq gap: expected 1, got 5" in log.lines[-1][1]["reason"]
    assert sink.rows()[-1][1] == 1.0
    # the next in-order message is fine
    s.handle("g1", "NDATA", "n1", None, data(6, SpMetric(alias=1, value=2.0, datatype=10)), 3)
    assert len(asked) == 1


def test_seq_wraps_at_255_without_a_gap():
    s, _sink, _log, _clock, asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(seq=254), 1_000)
    for seq in (255, 0, 1):
        s.handle("g1", "NDATA", "n1", None, data(seq, SpMetric(alias=1, value=1.0,
                                                                datatype=10)), 2)
    assert asked == []


def test_unknown_alias_asks_for_rebirth_and_drops_only_that_metric():
    s, sink, _log, _clock, asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(), 1_000)
    s.handle("g1", "NDATA", "n1", None, data(1, SpMetric(alias=99, value=1.0),
                                             SpMetric(alias=2, value=False, datatype=11)), 2)
    assert asked == [("g1", "n1")]
    assert [(r[2].name, r[1]) for r in sink.batches[-1].rows] == [("RUN", 0.0)]


def test_data_before_birth_is_dropped_and_rebirth_requested_at_most_once_per_interval():
    s, sink, _log, clock, asked = make(interval=5.0)
    for i in range(3):
        s.handle("g1", "NDATA", "n9", None, data(i, SpMetric(alias=1, value=1.0)), 2)
    assert asked == [("g1", "n9")] and sink.batches == []
    clock.t += 6
    s.handle("g1", "NDATA", "n9", None, data(3, SpMetric(alias=1, value=1.0)), 2)
    assert asked == [("g1", "n9"), ("g1", "n9")]


def test_device_birth_data_and_death():
    s, sink, _log, clock, asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(), 1_000)
    s.handle("g1", "DDATA", "n1", "rpc1", data(1, SpMetric(alias=10, value=1.0)), 2)
    assert asked == [("g1", "n1")]  # DDATA before DBIRTH
    asked.clear()
    s.handle("g1", "DBIRTH", "n1", "rpc1", SpPayload(3, 2, [SpMetric("SPM", 10, 3, 10, 6.0)]), 3)
    s.handle("g1", "DDATA", "n1", "rpc1", data(3, SpMetric(alias=10, value=7.0, datatype=10)), 4)
    assert asked == []
    assert sink.births[-1].device == "rpc1" and sink.rows()[-1][2].device == "rpc1"
    # a node alias in a DDATA is not that device's metric
    clock.t += 10
    s.handle("g1", "DDATA", "n1", "rpc1", data(4, SpMetric(alias=1, value=7.0, datatype=10)), 5)
    assert asked == [("g1", "n1")]
    s.handle("g1", "DDEATH", "n1", "rpc1", SpPayload(6, 5, []), 6)
    assert sink.deaths[-1].device == "rpc1"


def test_stale_ndeath_is_ignored_and_matching_ndeath_ends_the_session():
    s, sink, log, _clock, _asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(bdseq=4), 1_000)
    s.handle("g1", "NDEATH", "n1", None, SpPayload(None, None, [SpMetric("bdSeq", None, None,
                                                                          4, 3)]), 2)
    assert sink.deaths == [] and s.session("g1", "n1").born
    assert log.lines[-1][0] == "stale NDEATH ignored"
    s.handle("g1", "NDEATH", "n1", None, SpPayload(None, None, [SpMetric("bdSeq", None, None,
                                                                          4, 4)]), 3)
    assert sink.deaths[-1].device is None and not s.session("g1", "n1").born


def test_invalid_births_are_refused_with_a_rebirth_request():
    s, sink, log, _clock, asked = make(interval=0.0)
    s.handle("g1", "NBIRTH", "n1", None, SpPayload(1, 0, [SpMetric("THP", 1, 1, 10, 1.0)]), 1)
    assert asked and sink.births == [] and "bdSeq" in log.lines[-1][1]["reason"]
    bad = nbirth()
    bad.metrics.append(SpMetric("OTHER", 1, 1, 10, 1.0))  # alias 1 used twice
    s.handle("g1", "NBIRTH", "n1", None, bad, 2)
    assert sink.births == [] and "not unique" in log.lines[-1][1]["reason"]
    s.handle("g1", "NDATA", "n1", None, data(1, SpMetric(alias=1, value=1.0)), 3)
    assert sink.batches == []


def test_other_groups_are_not_this_instances_business():
    s, sink, _log, _clock, asked = make()
    s.handle("g2", "NBIRTH", "n1", None, nbirth(), 1)
    s.handle("g2", "NDATA", "n1", None, data(9, SpMetric(alias=1, value=1.0)), 2)
    assert sink.births == [] and asked == []


def test_datatype_of_answers_from_the_birth_for_the_decoder():
    s, _sink, _log, _clock, _asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(), 1_000)
    lookup = s.datatype_of("g1", "n1", None)
    assert lookup(1, None) == 10 and lookup(2, None) == 11 and lookup(7, None) is None
    assert lookup(None, "THP") == 10
    assert s.datatype_of("g1", "n1", "rpc1")(1, None) is None


def test_births_the_database_could_not_store_are_refused_up_front():
    s, sink, log, _clock, asked = make(interval=0.0)
    bad_name = nbirth()
    bad_name.metrics.append(SpMetric("A\x00B", 9, 1, 10, 1.0))
    s.handle("g1", "NBIRTH", "n1", None, bad_name, 1)
    assert sink.births == [] and "NUL" in log.lines[-1][1]["reason"]
    bad_alias = nbirth()
    bad_alias.metrics.append(SpMetric("BIG", 1 << 63, 1, 10, 1.0))
    s.handle("g1", "NBIRTH", "n1", None, bad_alias, 2)
    assert sink.births == [] and "63 bits" in log.lines[-1][1]["reason"]
    assert len(asked) == 2


def test_text_values_lose_their_nul_characters_not_the_round():
    s, sink, _log, _clock, _asked = make()
    p = nbirth()
    p.metrics.append(SpMetric("MSG", 7, 1, 12, "a\x00b"))
    s.handle("g1", "NBIRTH", "n1", None, p, 1)
    assert sink.rows()[-1][5] == "a\ufffdb"


def test_a_birth_metric_without_a_value_is_metadata_not_a_null_sample():
    """An edge born before a tag was ever written lists it with is_null: hostd registers
    the metric but stores no NULL sample at the birth's time (found by the end-to-end
    outage test: a NULL the device never produced); a null in DDATA is still stored."""
    s, sink, _log, _clock, _asked = make()
    s.handle("g1", "NBIRTH", "n1", None, nbirth(), 1_000)
    s.handle("g1", "DBIRTH", "n1", "calc", SpPayload(5, 1, [
        SpMetric("RATE", 20, 5, 10, None, is_null=True),
        SpMetric("FILL", 21, 5, 10, 88.0)]), 5)
    assert [r.name for r in sink.births[-1].refs] == ["RATE", "FILL"]
    assert [(r[2].name, r[1]) for r in sink.rows() if r[2].device == "calc"] == [("FILL", 88.0)]
    s.handle("g1", "DDATA", "n1", "calc", data(2, SpMetric(alias=20, timestamp_ms=9,
                                                            datatype=10, is_null=True)), 9)
    assert [(r[0], r[2].name, r[1]) for r in sink.rows() if r[2].name == "RATE"] == [
        (9, "RATE", None)]
