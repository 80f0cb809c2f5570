"""Our nodes' attributes shared between nodes (daemons/opcuad/compact.py): equal values
become one read-only SharedAttribute, Value stays asyncua's own, a write to a shared
attribute fails instead of changing every node, and clients see the same address space."""

from __future__ import annotations

import asyncio

import pytest
from asyncua import ua
from asyncua.server.address_space import AttributeValue, NodeData

from daemons.opcuad.compact import SharedAttribute, SharedValues

from .conftest import connect

pytestmark = pytest.mark.timeout(60)


def node(name: str, display: str) -> NodeData:
    n = NodeData(ua.NodeId(name, 2))
    n.attributes[ua.AttributeIds.NodeId] = AttributeValue(
        ua.DataValue(ua.Variant(n.nodeid, ua.VariantType.NodeId)))
    n.attributes[ua.AttributeIds.DisplayName] = AttributeValue(
        ua.DataValue(ua.Variant(ua.LocalizedText(display), ua.VariantType.LocalizedText)))
    n.attributes[ua.AttributeIds.ArrayDimensions] = AttributeValue(
        ua.DataValue(ua.Variant([200], ua.VariantType.UInt32, is_array=True)))
    n.attributes[ua.AttributeIds.WriteMask] = AttributeValue(
        ua.DataValue(ua.Variant(0, ua.VariantType.UInt32)))
    n.attributes[ua.AttributeIds.Value] = AttributeValue(
        ua.DataValue(ua.Variant(1.5, ua.VariantType.Double)))
    return n


def test_equal_values_share_one_attribute_and_value_is_left_alone():
    shared = SharedValues()
    a, b = node("W101.THP", "THP"), node("W102.THP", "THP")
    value_a = a.attributes[ua.AttributeIds.Value]
    for n in (a, b):
        shared.compact(n)
    for attr in (ua.AttributeIds.DisplayName, ua.AttributeIds.ArrayDimensions,
                 ua.AttributeIds.WriteMask):
        assert isinstance(a.attributes[attr], SharedAttribute)
        assert a.attributes[attr] is b.attributes[attr]
    assert a.attributes[ua.AttributeIds.NodeId] is not b.attributes[ua.AttributeIds.NodeId]
    assert a.attributes[ua.AttributeIds.NodeId].value.Value.Value == a.nodeid
    assert a.attributes[ua.AttributeIds.Value] is value_a  # asyncua's own
    dv = a.attributes[ua.AttributeIds.DisplayName].value
    assert dv.Value.Value.Text == "THP" and dv.SourceTimestamp is None
    assert a.attributes[ua.AttributeIds.ArrayDimensions].value.Value.Value == [200]


def test_an_attribute_in_use_is_not_shared_and_a_shared_one_refuses_writes():
    n = node("W101.THP", "THP")
    n.attributes[ua.AttributeIds.DisplayName].datachange_callbacks[7] = print
    SharedValues().compact(n)
    assert isinstance(n.attributes[ua.AttributeIds.DisplayName], AttributeValue)
    mask = n.attributes[ua.AttributeIds.WriteMask]
    assert isinstance(mask, SharedAttribute)
    with pytest.raises(TypeError):
        mask.value = ua.DataValue(ua.Variant(1, ua.VariantType.UInt32))
    with pytest.raises(TypeError):
        mask.value_callback = print
    mask.value_callback = None  # what asyncua sets after a write: harmless
    assert mask.value_setter is None and mask.value_callback is None
    mask.datachange_callbacks[3] = print  # a monitored item on the attribute
    assert mask.datachange_callbacks.pop(3) is print


def test_clients_read_shared_attributes_cannot_write_them_and_may_monitor_them(site):
    async def main() -> None:
        c = await connect(site)  # ana: administrator
        try:
            ns = await c.get_namespace_index("urn:wellgate:opc test pad")
            thp = c.get_node(f"ns={ns};s=W101.THP")
            b201 = c.get_node(f"ns={ns};s=B201.THP")
            assert (await thp.read_display_name()).Text == "THP"
            assert (await b201.read_display_name()).Text == "THP"
            assert (await thp.read_description()).Text == "tubing head pressure"
            assert (await thp.read_browse_name()).Name == "W101.THP"
            level = await thp.read_attribute(ua.AttributeIds.UserAccessLevel)
            assert level.Value.Value & ua.AccessLevel.CurrentRead.mask
            res = await c.uaclient.write_attributes(
                [thp.nodeid], [ua.DataValue(ua.Variant(ua.LocalizedText("X"),
                                                       ua.VariantType.LocalizedText))],
                ua.AttributeIds.DisplayName)
            assert res[0].name == "BadNotWritable"
            assert (await b201.read_display_name()).Text == "THP"

            class Handler:
                def __init__(self) -> None:
                    self.seen: list[object] = []

                def datachange_notification(self, node, val, data) -> None:
                    self.seen.append(val)

            handler = Handler()
            sub = await c.create_subscription(100, handler)
            handle = await sub.subscribe_data_change(thp, attr=ua.AttributeIds.DisplayName)
            for _ in range(50):
                if handler.seen:
                    break
                await asyncio.sleep(0.05)
            assert handler.seen and handler.seen[0].Text == "THP"
            await sub.unsubscribe(handle)
            await sub.delete()
        finally:
            await c.disconnect()

    asyncio.run(main())
