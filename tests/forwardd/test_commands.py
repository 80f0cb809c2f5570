"""NCMD/DCMD decisions: what is written, what is refused, and fuzzing (never raises)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.core.config import MqttSection
from daemons.core.sparkplug import REBIRTH, DataType, Payload, Topic, add_metric, encode_payload
from daemons.core.tagmap import TagMap
from daemons.forwardd.catalog import build_catalog
from daemons.forwardd.commands import decide

CFG = MqttSection(True, "127.0.0.1", 1883, "", "", "", False, "", 30)
CATALOG = build_catalog([("P1.SPEED_SET", "pump", "spm", False), ("P1.PRESS", "pump", "psi", False),
                         ("W1.RATE", "calc", "", False), ("P1.CARD", "pump", "", True)],
                        TagMap(()), CFG, ())
WRITABLE = frozenset({"P1.SPEED_SET", "W1.RATE", "P1.CARD"})
DCMD = Topic("DCMD", "G", "e", "pump")
NCMD = Topic("NCMD", "G", "e")


def run(topic, payload, host="scada", tags=("P1.*",)):
    return decide(topic, payload, CATALOG, host_id=host, command_tags=tags, writable=WRITABLE)


def cmd(*metrics):
    p = Payload(timestamp=1)
    for kw in metrics:
        add_metric(p, **kw)
    return encode_payload(p)


def test_rebirth():
    d = run(NCMD, cmd(dict(datatype=DataType.Boolean, value=True, name=REBIRTH)))
    assert d.rebirth and not d.rejected
    d = run(NCMD, cmd(dict(datatype=DataType.Boolean, value=False, name=REBIRTH),
                      dict(datatype=DataType.Double, value=1.0, name="other")))
    assert not d.rebirth and len(d.rejected) == 2


def test_dcmd_writes_only_allowed_rw_tags():
    speed = CATALOG.metrics[CATALOG.by_name["P1.SPEED_SET"]]
    d = run(DCMD, cmd(dict(datatype=DataType.Double, value=7.5, name="P1.SPEED_SET"),
                      dict(datatype=DataType.Double, value=8.0, alias=speed.alias,
                           with_datatype=False),
                      dict(datatype=DataType.Double, value=1.0, name="P1.PRESS"),
                      dict(datatype=DataType.Double, value=1.0, name="NOPE"),
                      dict(datatype=DataType.Int32, value=9, name="P1.SPEED_SET"),
                      dict(datatype=DataType.String, value="1", name="P1.SPEED_SET"),
                      dict(datatype=DataType.Double, value=float("nan"), name="P1.SPEED_SET"),
                      dict(datatype=DataType.DoubleArray, value=[1.0], name="P1.CARD")))
    assert [(w.tag, w.value) for w in d.writes] == [
        ("P1.SPEED_SET", 7.5), ("P1.SPEED_SET", 8.0), ("P1.SPEED_SET", 9.0)]
    # a well-formed write this gateway does not allow is denied (audited by forwardd) ...
    assert [(x.tag, x.value, x.why) for x in d.denied] == [
        ("P1.PRESS", 1.0, "not access=rw in the tag maps")]
    # ... what is malformed is rejected with a log line
    reasons = "\n".join(d.rejected)
    assert "unknown metric 'NOPE'" in reasons and "P1.PRESS" not in reasons
    assert "datatype" in reasons and "not finite" in reasons and "not a scalar" in reasons


def test_dcmd_needs_a_host_and_command_tags():
    payload = cmd(dict(datatype=DataType.Double, value=7.5, name="P1.SPEED_SET"))
    assert not run(DCMD, payload, host="").writes
    assert "primary_host_id" in run(DCMD, payload, host="").rejected[0]
    assert not run(DCMD, payload, tags=()).writes
    assert run(DCMD, payload, tags=()).denied[0].why == "not in [mqtt] command_tags"
    other = Topic("DCMD", "G", "e", "calc")
    assert "belongs to device" in run(other, payload, tags=("*",)).rejected[0]
    assert "unknown device" in run(Topic("DCMD", "G", "e", "x"), payload).rejected[0]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_never_raise(data, node):
    d = run(NCMD if node else DCMD, data)
    assert not d.writes or all(w.tag == "P1.SPEED_SET" for w in d.writes)


metric = st.fixed_dictionaries({
    "name": st.one_of(st.none(), st.sampled_from(["P1.SPEED_SET", REBIRTH, "P1.PRESS", ""]),
                      st.text(max_size=8)),
    "alias": st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    "datatype": st.one_of(st.none(), st.integers(0, 40)),
    "field": st.sampled_from(["int_value", "long_value", "float_value", "double_value",
                              "boolean_value", "string_value", "bytes_value", None]),
    "raw": st.one_of(st.integers(0, 2**32 - 1), st.floats(allow_nan=True), st.booleans(),
                     st.text(max_size=5), st.binary(max_size=5)),
    "is_null": st.booleans(),
})


def build(m):
    p = Payload(timestamp=1)
    x = p.metrics.add()
    if m["name"] is not None:
        x.name = m["name"]
    if m["alias"] is not None:
        x.alias = m["alias"]
    if m["datatype"] is not None:
        x.datatype = m["datatype"]
    x.is_null = m["is_null"]
    f, raw = m["field"], m["raw"]
    try:
        number = isinstance(raw, (int, float)) and raw == raw and abs(raw) != float("inf")
        if f == "int_value":
            x.int_value = int(raw) & 0xFFFFFFFF if number else 0
        elif f == "long_value":
            x.long_value = int(raw) & 0xFFFFFFFFFFFFFFFF if number else 0
        elif f == "float_value" and isinstance(raw, (int, float)):
            x.float_value = float(raw)
        elif f == "double_value" and isinstance(raw, (int, float)):
            x.double_value = float(raw)
        elif f == "boolean_value":
            x.boolean_value = bool(raw)
        elif f == "string_value" and isinstance(raw, str):
            x.string_value = raw
        elif f == "bytes_value" and isinstance(raw, bytes):
            x.bytes_value = raw
    except (OverflowError, ValueError):
        pass
    return p.SerializeToString()


@settings(max_examples=400, deadline=None)
@given(st.lists(metric, max_size=4), st.booleans())
def test_structured_fuzz_never_raises_and_only_writes_allowed(metrics, node):
    payload = b"".join(build(m) for m in metrics) if metrics else \
        Payload(timestamp=1).SerializeToString()
    d = run(NCMD if node else DCMD, payload)
    for w in d.writes:
        assert w.tag == "P1.SPEED_SET" and w.value == w.value
    for x in d.denied:  # known, scalar, finite: only the gateway's rules refuse it
        assert x.tag in {"P1.PRESS", "W1.RATE"} and x.value == x.value
    assert d.writes or d.rebirth or d.rejected or d.denied
