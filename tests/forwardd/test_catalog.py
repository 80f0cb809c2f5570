"""forwardd's catalog (devices, datatypes, lanes, aliases, RBE settings), report by
exception, the rolling window and the monthly budget's priority shedding."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from daemons.core.config import MqttSection
from daemons.core.config.model import MqttRbe
from daemons.core.sparkplug import DataType
from daemons.core.tagmap import TagDef, TagMap
from daemons.forwardd.catalog import NODE, build_catalog, sparkplug_quality
from daemons.forwardd.forward import Rbe, RollingWindow
from daemons.forwardd.outbox import Outbox
from daemons.forwardd.publisher import Publisher

CFG = MqttSection(True, "127.0.0.1", 1883, "", "", "", False, "", 30, deadband=0.5,
                  rbe=(MqttRbe("W1.*", 2.0, 60.0),))
TAGMAP = TagMap((
    TagDef("P1.PRESS", "pump1", 1, "hr", 0, "float32", units="psi", min=0.0, max=5000.0,
           description="Discharge"),
    TagDef("P1.COUNT", "pump1", 1, "hr", 2, "uint16"),
    TagDef("P1.SCALED", "pump1", 1, "hr", 3, "uint16", scale=0.1, deadband=0.3),
    TagDef("P1.RUN", "pump1", 1, "co", 0, "bool", access="rw"),
))
ENTRIES = [("P1.PRESS", "acq", "", False), ("P1.COUNT", "acq", "", False),
           ("P1.SCALED", "acq", "", False), ("P1.RUN", "acq", "", False),
           ("_sys.pump1.1.comm", "acq", "", False), ("ORPHAN", "acq", "", False),
           ("W1.RATE", "calc", "bbl/d", False), ("W1.CARD", "calc", "", True),
           ("P1.PRESS.ALARM.HI", "alarm", "", False), ("X.Y", "other", "", False)]


def test_devices_datatypes_lanes_and_aliases():
    cat = build_catalog(ENTRIES, TAGMAP, CFG, ("pump1",))
    m = {x.name: x for x in cat.metrics}
    assert cat.devices == ("alarms", "calc", "other", "pump1")
    assert m["P1.PRESS"].device == "pump1" and m["_sys.pump1.1.comm"].device == "pump1"
    assert m["ORPHAN"].device == NODE and m["W1.RATE"].device == "calc"
    assert m["P1.PRESS.ALARM.HI"].device == "alarms" and m["X.Y"].device == "other"
    assert (m["P1.PRESS"].datatype, m["P1.COUNT"].datatype, m["P1.SCALED"].datatype,
            m["P1.RUN"].datatype, m["W1.CARD"].datatype) == (
        DataType.Float, DataType.UInt16, DataType.Double, DataType.Boolean,
        DataType.FloatArray)
    assert (m["P1.PRESS.ALARM.HI"].lane, m["W1.RATE"].lane, m["W1.CARD"].lane,
            m["P1.PRESS"].lane) == (0, 1, 1, 2)
    assert sorted(x.alias for x in cat.metrics) == list(range(1, len(ENTRIES) + 1))
    assert (m["P1.SCALED"].deadband, m["P1.PRESS"].deadband) == (0.3, 0.5)  # tag map, default
    assert (m["W1.RATE"].deadband, m["W1.RATE"].heartbeat) == (2.0, 60.0)  # [[mqtt.rbe]]
    assert m["P1.PRESS"].properties == {"engUnit": "psi", "engLow": 0.0, "engHigh": 5000.0,
                                        "Documentation": "Discharge"}
    assert m["P1.RUN"].writable and not m["P1.PRESS"].writable
    assert build_catalog(list(reversed(ENTRIES)), TAGMAP, CFG, ("pump1",)).key == cat.key


def test_health_tags_are_small_and_quiet():
    """acqd's health tags: counters and flags as integers, the response time as a Float;
    the two that change at every poll get default deadbands unless a rule or [mqtt]
    deadband says more."""
    names = [f"_sys.pump1.1.{p}" for p in ("comm", "response_ms", "success", "timeouts")]
    entries = [(n, "acq", "", False) for n in names] + [("_sys.forwardd.connected",
                                                         "forward", "", False)]
    cfg = replace(CFG, deadband=0.0, rbe=())
    m = {x.name: x for x in build_catalog(entries, TAGMAP, cfg, ("pump1",)).metrics}
    assert [m[n].datatype for n in names] == [DataType.UInt32, DataType.Float,
                                              DataType.UInt32, DataType.UInt32]
    assert [m[n].deadband for n in names] == [0.0, 20.0, 59.0, 0.0]
    assert m["_sys.forwardd.connected"].datatype == DataType.Double
    ruled = replace(cfg, rbe=(MqttRbe("_sys.*.success", 0.0, 30.0),), deadband=25.0)
    m = {x.name: x for x in build_catalog(entries, TAGMAP, ruled, ("pump1",)).metrics}
    assert (m[names[2]].deadband, m[names[2]].heartbeat) == (0.0, 30.0)
    assert (m[names[1]].deadband, m[names[3]].deadband) == (25.0, 25.0)


def test_quality_mapping():
    assert [sparkplug_quality(q) for q in (0, 0x40000000, 0x80310000)] == [192, 500, 0]


def test_rbe_deadband_heartbeat_and_arrays():
    rbe = Rbe(np.array([1.0, 0.0, 0.0]), np.array([0.0, 10.0, 0.0]),
              np.array([False, False, True]))
    q = np.zeros(3, dtype=np.uint32)
    nan = np.nan

    def sel(values, ts, now):
        return rbe.select(np.array(values), np.array(ts, dtype=np.int64), q, now).tolist()

    assert sel([10.0, 5.0, nan], [1, 1, 1], 0.0) == [0, 1, 2]  # first samples
    assert sel([10.5, 5.0, nan], [2, 2, 2], 1.0) == [2]  # within deadband; same value; card
    assert sel([11.2, 5.0, nan], [3, 3, 2], 2.0) == [0]  # 1.2 from the last *sent* 10.0
    assert sel([11.2, 5.0, nan], [3, 3, 2], 11.5) == [1]  # heartbeat of metric 1
    assert sel([nan, 5.0, nan], [4, 3, 2], 12.0) == [0]  # becomes null


def test_relative_deadband_for_metrics_without_one():
    """[mqtt] deadband_percent (default 0.1 %) applies to float metrics no tag map, rule
    or [mqtt] deadband covers (calcd's results); never to tag-map tags (their 0 means
    every change), integers, arrays or ruled tags."""
    cfg = replace(CFG, deadband=0.0)
    m = {x.name: x for x in build_catalog([*ENTRIES, ("W2.GLR", "calc", "", False)],
                                          TAGMAP, cfg, ("pump1",)).metrics}
    assert m["W2.GLR"].relative == 0.001 and m["ORPHAN"].relative == 0.001
    assert [m[n].relative for n in ("P1.PRESS", "P1.COUNT", "W1.RATE", "W1.CARD",
                                    "_sys.pump1.1.comm")] == [0.0] * 5
    assert {x.relative for x in build_catalog(ENTRIES, TAGMAP, replace(cfg, deadband=0.5),
                                              ("pump1",)).metrics} == {0.0}
    rbe = Rbe(np.zeros(2), np.zeros(2), relative=np.array([0.001, 0.0]))
    q = np.zeros(2, dtype=np.uint32)

    def sel(values, ts):
        return rbe.select(np.array(values), np.array(ts, dtype=np.int64), q, 0.0).tolist()

    assert sel([2000.0, 2000.0], [1, 1]) == [0, 1]
    assert sel([2001.9, 2000.1], [2, 2]) == [1]  # 1.9 < 0.1 % of 2000; no deadband
    assert sel([2002.1, 2000.1], [3, 3]) == [0]  # 2.1 from the last sent 2000.0
    assert sel([-2000.0, 2000.1], [4, 4]) == [0]  # a sign change is a change


def test_rolling_window_confirms_only_on_the_same_connection():
    w = RollingWindow(10.0)
    w.add(0.0, 1, [(0, 1000, 1.0, 0)], [7, 8])
    w.add(5.0, 1, [(0, 6000, 2.0, 0)], [])
    assert w.inflight == {7, 8} and w.oldest_live_ts_ms() == 1000
    assert w.confirm(10.0, 1) == [7, 8] and not w.inflight
    w.add(11.0, 1, [], [9])
    assert w.confirm(30.0, 2) == []  # the connection changed: not proven
    w.add(31.0, 2, [(0, 9000, 3.0, 0)], [10])
    assert w.fail() == [(0, 9000, 3.0, 0)] and not w.inflight and len(w) == 0


def test_monthly_budget_sheds_trends_then_calcs(tmp_path):
    box = Outbox(tmp_path, 1 << 20)
    cfg = replace(CFG, monthly_budget_mb=1.0)
    daemon = SimpleNamespace(config=SimpleNamespace(mqtt=cfg), outbox=box)
    pub = Publisher(daemon, log=SimpleNamespace(warning=print, info=print))
    assert pub.allowed_lanes() == (0, 1, 2)
    pub.month_bytes = int(0.95 * 1024 * 1024)
    assert pub.allowed_lanes() == (0, 1)
    pub.month_bytes = 1024 * 1024
    assert pub.allowed_lanes() == (0,)
    pub.save_counters()
    assert Publisher(daemon, log=pub.log).month_bytes == 1024 * 1024  # persisted


def test_one_data_message_per_device_and_tick():
    """The hot-path scalars and the device's other samples of the same tick (integers,
    non-Good quality, arrays) travel in one DDATA, each metric with its own timestamp."""
    from daemons.core.sparkplug import decode_payload, read_metric
    from daemons.forwardd.session import EdgeSession

    cat = build_catalog(ENTRIES, TAGMAP, CFG, ("pump1",))
    m = {x.name: x for x in cat.metrics}
    i = {x.name: k for k, x in enumerate(cat.metrics)}
    session = EdgeSession("G", "edge", cat)
    topic, payload = session.data_fast(
        "pump1", ["float_value"], [m["P1.PRESS"].alias], [1000], [12.5], 2000,
        samples=[(i["P1.COUNT"], 1000, 7, 0, False), (i["P1.SCALED"], 900, 1.5, 0x80000000,
                                                      False)])
    assert topic == "spBv1.0/G/DDATA/edge/pump1"
    got = {x.alias: read_metric(x, cat.metrics[cat.by_alias[x.alias]].datatype)
           for x in decode_payload(payload).metrics}
    assert {a: (v.value, v.timestamp_ms) for a, v in got.items()} == {
        m["P1.PRESS"].alias: (12.5, 1000), m["P1.COUNT"].alias: (7, 1000),
        m["P1.SCALED"].alias: (1.5, 900)}
    assert got[m["P1.SCALED"].alias].properties["Quality"] == 0
