"""From Sparkplug bytes (the shared codec) to hostd's plain payloads."""

from __future__ import annotations

import pytest

from daemons.core.quality import Quality
from daemons.core.sparkplug import DataType, PayloadError, add_metric, encode_payload, new_payload
from daemons.hostd.decode import decode, quality_of
from daemons.hostd.model import MetricRef, sample_of


def test_data_without_datatype_takes_it_from_the_birth_and_unknown_aliases_stay_unknown():
    p = new_payload(5_000, 7)
    add_metric(p, DataType.Int16, -3, alias=1, timestamp_ms=4_000, with_datatype=False)
    add_metric(p, DataType.Double, 2.5, alias=2, with_datatype=False, is_historical=True)
    add_metric(p, DataType.Double, 9.0, alias=3, with_datatype=False)
    known = {1: DataType.Int16, 2: DataType.Double}
    sp = decode(encode_payload(p), lambda alias, name: known.get(alias))
    assert (sp.timestamp_ms, sp.seq) == (5_000, 7)
    a, b, c = sp.metrics
    assert (a.alias, a.datatype, a.value, a.timestamp_ms) == (1, DataType.Int16, -3, 4_000)
    assert (b.value, b.is_historical, b.timestamp_ms) == (2.5, True, None)
    assert (c.alias, c.datatype, c.value) == (3, 0, None)  # the session asks for a rebirth


def test_compressed_payloads_and_arrays_and_text_become_rows():
    p = new_payload(1_000, 0)
    add_metric(p, DataType.Int32Array, [1, -2, 3], name="CARD", alias=5)
    add_metric(p, DataType.String, "RUNNING", name="STATE", alias=6)
    add_metric(p, DataType.Boolean, True, name="RUN", alias=7)
    add_metric(p, DataType.Double, None, name="BAD", alias=8)
    sp = decode(encode_payload(p, "DEFLATE"))
    ref = MetricRef("s", "n", None, "x", 1, 0)
    rows = [sample_of(ref, m, 1_000) for m in sp.metrics]
    assert [(r[1], r[5]) for r in rows] == [(None, "[1, -2, 3]"), (None, "RUNNING"),
                                            (1.0, None), (None, None)]


def test_quality_properties_map_to_opc_ua_status_codes_stored_signed():
    assert quality_of({"Quality": 192}) == Quality.GOOD
    assert quality_of({"Quality": 500}) == Quality.UNCERTAIN_LAST_USABLE
    assert quality_of({"Quality": 0}) == Quality.BAD
    assert quality_of({"Quality": 0x44}) == Quality.UNCERTAIN
    assert quality_of({"StatusCode": 0x80310000, "Quality": 192}) == 0x80310000
    p = new_payload(1_000, 1)
    add_metric(p, DataType.Double, 1.0, name="THP", alias=1,
               properties={"Quality": (DataType.Int32, 0), "engUnit": "psi"})
    (m,) = decode(encode_payload(p)).metrics
    assert m.quality == Quality.BAD and m.properties["engUnit"] == "psi"
    row = sample_of(MetricRef("s", "n", None, "THP", 1, 10), m, 0)
    assert row[3] == int(Quality.BAD) - (1 << 32)  # fits PostgreSQL's integer


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x12\x05\x0a\x03abc\x20", b"garbage!"])
def test_malformed_bytes_raise_payload_error(data):
    with pytest.raises(PayloadError):
        decode(data)


def test_a_value_in_the_wrong_field_is_a_payload_error():
    p = new_payload(1_000, 1)
    m = p.metrics.add()
    m.alias, m.datatype, m.string_value = 1, DataType.Double, "not a number"
    with pytest.raises(PayloadError, match="double_value"):
        decode(encode_payload(p))
