"""Where nodes go and what type they get (model.py), without a server."""

from __future__ import annotations

from collections import Counter

from daemons.core.tagmap import TagDef
from daemons.opcuad.model import MAX_CHILDREN, build_model, data_type
from daemons.opcuad.units import eu_information, unit_id


def tag(name: str, well: str | None = "W101", **kw) -> TagDef:
    base = {"device": "rtu1", "unit": 1, "table": "hr", "address": 0, "type": "uint16"}
    return TagDef(name=name, well=well, **{**base, **kw})


def test_placement_by_ring_and_tag_map():
    tags = {t.name: t for t in (tag("W101.THP"), tag("SITE.FLARE_T", None),
                                tag("W101.CARD", type="float32", count=200))}
    slots = {"W101.THP": ("acq", 0), "SITE.FLARE_T": ("acq", 0), "W101.CARD": ("acq", 200),
             "_sys.rtu1.status": ("acq", 0), "W101.PUMP_FILLAGE": ("calc", 0),
             "W101.THP.ALARM.HI": ("alarm", 0), "ALARMS.FLOOD": ("alarm", 0),
             "B201.THP": ("acq", 0)}
    m = build_model("pad", ["W101", "B201"], tags, slots)
    where = {n: v.folder for n, v in m.variables.items()}
    assert where == {"W101.THP": "pad/W101", "SITE.FLARE_T": "pad/Site",
                     "W101.CARD": "pad/W101", "_sys.rtu1.status": "pad/System",
                     "W101.PUMP_FILLAGE": "pad/W101/Calculations",
                     "W101.THP.ALARM.HI": "pad/W101/Alarms", "ALARMS.FLOOD": "pad/Alarms",
                     "B201.THP": "pad/B201"}
    assert m.variables["W101.CARD"].length == 200
    assert m.variables["W101.THP.ALARM.HI"].data_type == "Int32"
    folders = [f.node for f in m.folders]
    assert folders.index("pad") < folders.index("pad/W101") < folders.index(
        "pad/W101/Calculations")  # parents first


def test_a_slash_in_the_site_name_does_not_make_a_folder():
    m = build_model("Pad 7/Norte", ["W101"], {}, {"W101.THP": ("acq", 0)})
    assert [(f.node, f.parent, f.name) for f in m.folders] == [
        ("Pad 7_Norte", None, "Pad 7/Norte"), ("Pad 7_Norte/W101", "Pad 7_Norte", "W101")]


def test_big_folders_are_split():
    slots = {f"T{i:05d}": ("acq", 0) for i in range(1001)}
    m = build_model("pad", [], {}, slots)
    per_folder = Counter(v.folder for v in m.variables.values())
    assert max(per_folder.values()) <= MAX_CHILDREN
    assert sum(per_folder.values()) == 1001 and len(per_folder) == 5
    children = Counter(f.parent for f in m.folders)
    assert children["pad/Site"] == 5


def test_types_and_units():
    assert data_type(tag("a")) == "UInt16"
    assert data_type(tag("a", scale=0.1)) == "Double"
    assert data_type(tag("a", type="bit", bit=3)) == "Boolean"
    assert data_type(tag("a", type="float32")) == "Float"
    assert unit_id("FAH") == 0x464148  # OPC 10000-8's own example
    assert eu_information("psi").UnitId == 0x5053
    assert eu_information("spm").UnitId == -1


def test_fast_datavalue_equals_asyncua_construction():
    from datetime import UTC, datetime

    from asyncua import ua

    from daemons.opcuad.live import fast_datavalue, fast_variant

    now = datetime.now(UTC)
    slow = ua.DataValue(Value=ua.Variant(812.5, ua.VariantType.Double),
                        StatusCode=ua.StatusCode(0x40900000), SourceTimestamp=now,
                        ServerTimestamp=now)
    fast = fast_datavalue(fast_variant(812.5, ua.VariantType.Double),
                          ua.StatusCode(0x40900000), now, now)
    assert fast == slow
    from asyncua.ua.ua_binary import struct_to_binary
    assert struct_to_binary(fast) == struct_to_binary(slow)


def test_fast_notification_encoding_is_byte_identical():
    from datetime import UTC, datetime

    from asyncua import ua
    from asyncua.ua import ua_binary

    from daemons.opcuad import encode

    generic = ua_binary.create_dataclass_serializer(ua.MonitoredItemNotification)
    now = datetime.now(UTC)
    cases = [ua.Variant(812.5, ua.VariantType.Double), ua.Variant(7, ua.VariantType.UInt16),
             ua.Variant(-3, ua.VariantType.Int32), ua.Variant(True, ua.VariantType.Boolean),
             ua.Variant(1.5, ua.VariantType.Float), ua.Variant(None, ua.VariantType.Null),
             ua.Variant([1.0, 2.0], ua.VariantType.Double, is_array=True),
             ua.Variant("x", ua.VariantType.String)]
    for var in cases:
        for dv in (ua.DataValue(Value=var, StatusCode=ua.StatusCode(0x80310000),
                                SourceTimestamp=now, ServerTimestamp=now),
                   ua.DataValue(Value=var)):
            n = ua.MonitoredItemNotification(ClientHandle=42, Value=dv)
            assert encode._encode(n, generic) == generic(n), var
    n = ua.MonitoredItemNotification(7, ua.DataValue(StatusCode=ua.StatusCode(0x80320000)))
    assert encode._encode(n, generic) == generic(n)
    encode.install()
    notif = ua.DataChangeNotification(MonitoredItems=[n])
    assert ua_binary.struct_from_binary(
        ua.DataChangeNotification, ua.utils.Buffer(ua_binary.struct_to_binary(notif))) == notif
