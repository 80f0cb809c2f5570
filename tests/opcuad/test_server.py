"""opcuad as a process, seen by the asyncua client over Basic256Sha256: the address space
(folders, NodeIds, types, units, ranges, access), quality as StatusCode, subscriptions
with deadbands, history read with continuation points, and writes (who may, what acqd
receives)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from asyncua import ua

from daemons.core.quality import Quality

from .conftest import TS, connect

pytestmark = pytest.mark.timeout(60)
NSURI = "urn:wellgate:opc test pad"


def run(coro):
    return asyncio.run(coro)


async def _ns(client) -> int:
    return await client.get_namespace_index(NSURI)


def test_address_space(site):
    async def main():
        c = await connect(site)
        try:
            ns = await _ns(c)
            root = c.get_node(ua.NodeId("opc test pad", ns))
            names = {(await n.read_browse_name()).Name for n in await root.get_children()}
            assert {"W101", "B201", "Site", "System"} <= names
            well = c.get_node(ua.NodeId("opc test pad/W101", ns))
            kids = {n.nodeid.Identifier for n in await well.get_children()}
            assert {"W101.THP", "W101.SPM_SET", "W101.CARD_LOAD"} <= kids
            site_folder = c.get_node(ua.NodeId("opc test pad/Site", ns))
            assert [n.nodeid.Identifier for n in await site_folder.get_children()] == \
                ["SITE.FLARE_T"]
            system = c.get_node(ua.NodeId("opc test pad/System", ns))
            assert [n.nodeid.Identifier for n in await system.get_children()] == \
                ["_sys.rtu1.status"]

            thp = c.get_node(f"ns={ns};s=W101.THP")  # addressable without browsing
            dv = await thp.read_data_value()
            assert dv.Value.Value == pytest.approx(812.5)
            assert dv.StatusCode.is_good() and dv.SourceTimestamp is not None
            assert await thp.read_data_type_as_variant_type() == ua.VariantType.Double
            props = {(await p.read_browse_name()).Name: await p.read_value()
                     for p in await thp.get_properties()}
            assert (props["EURange"].Low, props["EURange"].High) == (0.0, 5000.0)
            eu = props["EngineeringUnits"]
            assert eu.DisplayName.Text == "psi" and eu.UnitId == 0x5053  # UNECE "PS"
            assert (await thp.read_description()).Text == "tubing head pressure"
            level = await thp.read_attribute(ua.AttributeIds.AccessLevel)
            assert not level.Value.Value & ua.AccessLevel.CurrentWrite.mask
            spm = c.get_node(f"ns={ns};s=W101.SPM_SET")
            level = await spm.read_attribute(ua.AttributeIds.AccessLevel)
            assert level.Value.Value & ua.AccessLevel.CurrentWrite.mask

            b201 = c.get_node(f"ns={ns};s=B201.THP")  # unscaled uint16 stays UInt16
            assert await b201.read_data_type_as_variant_type() == ua.VariantType.UInt16
            assert await b201.read_value() == 300

            card = c.get_node(f"ns={ns};s=W101.CARD_LOAD")
            assert await card.read_value() == [1.0, 2.0, 3.0, 4.0]
            assert await card.read_value_rank() == 1

            flare = await c.get_node(f"ns={ns};s=SITE.FLARE_T").read_data_value(False)
            assert flare.StatusCode.value == int(Quality.BAD_NO_COMMUNICATION)
        finally:
            await c.disconnect()

    run(main())


class Collector:
    def __init__(self) -> None:
        self.values: list = []

    def datachange_notification(self, node, val, data) -> None:
        self.values.append((node.nodeid.Identifier, val, data.monitored_item.Value.StatusCode))


async def _wait(pred, timeout=5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def test_subscription_and_deadbands(site):
    async def main():
        c = await connect(site)
        try:
            ns = await _ns(c)
            thp = c.get_node(f"ns={ns};s=W101.THP")
            plain, absolute, percent = Collector(), Collector(), Collector()
            subs = []
            value = ua.DataChangeTrigger.StatusValue
            for handler, flt in (
                    (plain, None),
                    (absolute, ua.DataChangeFilter(Trigger=value, DeadbandValue=10.0,
                                                   DeadbandType=ua.DeadbandType.Absolute)),
                    (percent, ua.DataChangeFilter(Trigger=value, DeadbandValue=1.0,  # of 5000
                                                  DeadbandType=ua.DeadbandType.Percent))):
                sub = await c.create_subscription(50, handler)
                params = ua.MonitoringParameters(SamplingInterval=0, QueueSize=10,
                                                 DiscardOldest=True, Filter=flt)
                item = ua.MonitoredItemCreateRequest(
                    ItemToMonitor=ua.ReadValueId(NodeId=thp.nodeid,
                                                 AttributeId=ua.AttributeIds.Value),
                    MonitoringMode=ua.MonitoringMode.Reporting, RequestedParameters=params)
                res = await sub.create_monitored_items([item])
                assert res[0] is not None and not isinstance(res[0], ua.StatusCode)
                subs.append(sub)
            await _wait(lambda: plain.values and absolute.values and percent.values)
            base = len(plain.values), len(absolute.values), len(percent.values)
            for v in (816.0, 819.0, 826.0, 870.0):  # +3.5, +3, +7 (=13.5 > 10), +44 (=57.5)
                site.write(v)
                await _wait(lambda v=v: plain.values[-1][1] == pytest.approx(v))
            await asyncio.sleep(0.5)
            assert [round(x[1], 1) for x in plain.values[base[0]:]] == [816.0, 819.0, 826.0,
                                                                         870.0]
            # Absolute 10 against the last *reported* value (812.5): 826 and 870 pass.
            assert [round(x[1], 1) for x in absolute.values[base[1]:]] == [826.0, 870.0]
            # Percent 1 % of the EURange span (50 psi) from 812.5: only 870 passes.
            assert [round(x[1], 1) for x in percent.values[base[2]:]] == [870.0]
            # A quality change is reported whatever the deadband.
            site.write(870.0, int(Quality.UNCERTAIN_LAST_USABLE))
            await _wait(lambda: percent.values[-1][2].value ==
                        int(Quality.UNCERTAIN_LAST_USABLE))
            site.write(812.5)
            # A percent deadband on a node without EURange is refused (OPC 10000-4 §7.22.2).
            sub = subs[2]
            flag = c.get_node(f"ns={ns};s=_sys.rtu1.status")
            flt = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValue,
                                      DeadbandType=ua.DeadbandType.Percent, DeadbandValue=1.0)
            item = ua.MonitoredItemCreateRequest(
                ItemToMonitor=ua.ReadValueId(NodeId=flag.nodeid, AttributeId=ua.AttributeIds.Value),
                MonitoringMode=ua.MonitoringMode.Reporting,
                RequestedParameters=ua.MonitoringParameters(Filter=flt, QueueSize=1))
            params = ua.CreateMonitoredItemsParameters(
                SubscriptionId=sub.subscription_id, ItemsToCreate=[item],
                TimestampsToReturn=ua.TimestampsToReturn.Both)
            results = await c.uaclient.create_monitored_items(params)
            assert results[0].StatusCode.value == ua.StatusCodes.BadFilterNotAllowed
            for sub in subs:
                await sub.delete()
        finally:
            await c.disconnect()

    run(main())


def test_history_raw_with_continuation_and_processed(site):
    async def main():
        c = await connect(site)
        try:
            ns = await _ns(c)
            start = datetime.fromtimestamp(TS / 1e9, UTC)
            end = datetime.fromtimestamp((TS + 600 * 10**9) / 1e9, UTC)
            details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=start,
                                                EndTime=end, NumValuesPerNode=0,
                                                ReturnBounds=False)
            got, cp, calls = [], None, 0
            while True:
                params = ua.HistoryReadParameters(
                    HistoryReadDetails=details, TimestampsToReturn=ua.TimestampsToReturn.Both,
                    ReleaseContinuationPoints=False,
                    NodesToRead=[ua.HistoryReadValueId(NodeId=ua.NodeId("W101.THP", ns),
                                                       ContinuationPoint=cp)])
                result = (await c.uaclient.history_read(params))[0]
                assert result.StatusCode.is_good()
                got += result.HistoryData.DataValues
                calls += 1
                cp = result.ContinuationPoint
                if not cp:
                    break
            assert calls == 6  # history_max_values = 100 in the test config
            assert len(got) == 600
            assert got[0].Value.Value == pytest.approx(100.0)
            assert got[-1].Value.Value == pytest.approx(699.0)
            times = [d.SourceTimestamp for d in got]
            assert times == sorted(times) and len(set(times)) == 600

            node = c.get_node(f"ns={ns};s=W101.THP")
            processed = ua.ReadProcessedDetails(
                StartTime=start, EndTime=end, ProcessingInterval=60_000,
                AggregateType=[ua.NodeId(ua.ObjectIds.AggregateFunction_Average)])
            params = ua.HistoryReadParameters(
                HistoryReadDetails=processed, TimestampsToReturn=ua.TimestampsToReturn.Both,
                ReleaseContinuationPoints=False,
                NodesToRead=[ua.HistoryReadValueId(NodeId=node.nodeid)])
            res = (await c.uaclient.history_read(params))[0]
            assert res.StatusCode.is_good(), res.StatusCode
            avg = res.HistoryData.DataValues
            assert len(avg) == 10
            # The first minute holds 100..159 → mean 129.5.
            assert avg[0].Value.Value == pytest.approx(129.5)
            # Good, with the historian bits of a calculated value (OPC 10000-13)
            assert {d.StatusCode.value for d in avg} == {0x400 | 0x1}
            # an end 30 s into the last minute: that interval is partial
            processed.EndTime = end - timedelta(seconds=30)
            res = (await c.uaclient.history_read(params))[0]
            cut = res.HistoryData.DataValues
            assert len(cut) == 10 and cut[-1].StatusCode.value == 0x400 | 0x1 | 0x4
            assert cut[-1].Value.Value == pytest.approx(654.5)  # 640..669
        finally:
            await c.disconnect()

    run(main())


def test_user_access_level_says_what_this_session_may_write(site):
    """AccessLevel is the tag's (rw: CurrentWrite); UserAccessLevel is this session's: a
    client greys out what the server would refuse."""
    write = ua.AccessLevel.CurrentWrite.mask

    async def levels(client, *tags: str) -> list[tuple[int, int]]:
        ns = await _ns(client)
        nodes = [ua.NodeId(t, ns) for t in tags]
        reads = [ua.ReadValueId(NodeId=n, AttributeId=a) for n in nodes
                 for a in (ua.AttributeIds.AccessLevel, ua.AttributeIds.UserAccessLevel)]
        values = await client.uaclient.read(ua.ReadParameters(NodesToRead=reads))
        got = [v.Value.Value for v in values]
        return list(zip(got[::2], got[1::2], strict=True))

    async def main():
        tags = ("W101.SPM_SET", "B201.CHOKE_SET", "W101.THP")
        seen = {}
        # in this order on purpose: a session refused a write (ana) comes before one
        # allowed it (oscar), so an answer leaking into the shared node fails the test
        for user, policy in (("ana", "Basic256Sha256"), ("oscar", "Basic256Sha256"),
                             ("rita", "Basic256Sha256"), ("oscar", "None")):
            c = await connect(site, user=user, policy=policy)
            try:
                seen[user, policy] = await levels(c, *tags)
            finally:
                await c.disconnect()
        for got in seen.values():  # the tag's own level does not depend on the session
            assert [bool(a & write) for a, _ in got] == [True, True, False]
        user_level = {k: [bool(u & write) for _, u in v] for k, v in seen.items()}
        assert user_level["oscar", "Basic256Sha256"] == [True, False, False]  # W101's field
        # the matrix gives administrators (users, not the process) and reservoir
        # engineers no production writes
        assert user_level["ana", "Basic256Sha256"] == [False, False, False]
        assert user_level["rita", "Basic256Sha256"] == [False, False, False]
        assert user_level["oscar", "None"] == [False, False, False]  # a read-only channel
        a, u = seen["rita", "Basic256Sha256"][0]
        assert u == a & ~write  # the read bits stay

    run(main())


def test_a_scoped_user_reads_subscribes_and_reads_history_of_their_wells_only(site):
    """oscar's scope is Lagunillas (W101): B201's values, data changes and history are
    refused him per node, as the HMI hides them; names and site tags stay visible; an
    unscoped user reads everything."""
    denied = ua.StatusCodes.BadUserAccessDenied

    async def reads(client, ns: int) -> list[ua.DataValue]:
        ids = [ua.ReadValueId(NodeId=ua.NodeId(t, ns), AttributeId=ua.AttributeIds.Value)
               for t in ("W101.THP", "B201.THP", "SITE.FLARE_T")]
        ids.append(ua.ReadValueId(NodeId=ua.NodeId("B201.THP", ns),
                                  AttributeId=ua.AttributeIds.DisplayName))
        return await client.uaclient.read(ua.ReadParameters(NodesToRead=ids))

    async def history(client, ns: int) -> list[ua.HistoryReadResult]:
        start = datetime.fromtimestamp(TS / 1e9, UTC)
        details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=start,
                                            EndTime=start + timedelta(seconds=60),
                                            NumValuesPerNode=0, ReturnBounds=False)
        params = ua.HistoryReadParameters(
            HistoryReadDetails=details, TimestampsToReturn=ua.TimestampsToReturn.Both,
            ReleaseContinuationPoints=False,
            NodesToRead=[ua.HistoryReadValueId(NodeId=ua.NodeId(t, ns))
                         for t in ("W101.THP", "B201.THP")])
        return await client.uaclient.history_read(params)

    async def main():
        c = await connect(site, user="oscar")
        try:
            ns = await _ns(c)
            own, other, site_tag, name = await reads(c, ns)
            assert own.StatusCode.is_good() and own.Value.Value is not None
            assert other.StatusCode.value == denied and other.Value.Value is None
            assert site_tag.StatusCode.value != denied  # no well: every user reads it
            assert name.Value.Value.Text == "THP"  # Browse and names are not hidden
            sub = await c.create_subscription(200, None)
            handles = await sub.subscribe_data_change(
                [c.get_node(ua.NodeId("W101.THP", ns)), c.get_node(ua.NodeId("B201.THP", ns))])
            assert isinstance(handles[0], int)
            assert isinstance(handles[1], ua.StatusCode) and handles[1].value == denied
            mine, theirs = await history(c, ns)
            assert mine.StatusCode.is_good() and len(mine.HistoryData.DataValues) == 60
            assert theirs.StatusCode.value == denied
        finally:
            await c.disconnect()
        admin = await connect(site, user="ana")  # no scope: the whole gateway
        try:
            ns = await _ns(admin)
            assert all(dv.StatusCode.value != denied for dv in await reads(admin, ns))
            assert all(r.StatusCode.value != denied for r in await history(admin, ns))
        finally:
            await admin.disconnect()

    run(main())


def test_writes_need_rw_the_right_user_and_a_secured_channel(site):
    async def main():
        ns = None
        refused = await connect(site, user="rita")  # reservoir engineers may not write
        try:
            ns = await _ns(refused)
            node = refused.get_node(f"ns={ns};s=W101.SPM_SET")
            with pytest.raises(ua.UaStatusCodeError) as err:
                await node.write_value(ua.DataValue(ua.Variant(9.0, ua.VariantType.Double)))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        finally:
            await refused.disconnect()
        assert site.acqd.requests == []
        c = await connect(site, user="oscar")  # a field operator of Lagunillas (W101)
        try:
            with pytest.raises(ua.UaStatusCodeError) as err:  # B201 is out of his scope
                await c.get_node(f"ns={ns};s=B201.CHOKE_SET").write_value(
                    ua.DataValue(ua.Variant(20.0, ua.VariantType.Double)))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
            assert site.acqd.requests == []
            node = c.get_node(f"ns={ns};s=W101.SPM_SET")
            await node.write_value(ua.DataValue(ua.Variant(9.0, ua.VariantType.Double)))
            assert site.acqd.requests[-1] == {"op": "write", "tag": "W101.SPM_SET", "value": 9.0,
                                              "reason": "OPC-UA write", "user": "oscar",
                                              "source": "opcuad"}
            with pytest.raises(ua.UaStatusCodeError) as err:  # access=r
                await c.get_node(f"ns={ns};s=W101.THP").write_value(
                    ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
            assert err.value.code == ua.StatusCodes.BadNotWritable
            with pytest.raises(ua.UaStatusCodeError) as err:  # outside min/max 0..20
                await node.write_value(ua.DataValue(ua.Variant(50.0, ua.VariantType.Double)))
            assert err.value.code == ua.StatusCodes.BadOutOfRange
            # acqd's read-back did not confirm: the client is not told Good.
            site.acqd.answer = lambda msg: {"ok": False, "id": 2, "state": "failed",
                                            "error": {"en": "read-back 8.5", "es": "x"}}
            with pytest.raises(ua.UaStatusCodeError) as err:
                await node.write_value(ua.DataValue(ua.Variant(7.0, ua.VariantType.Double)))
            assert err.value.code == ua.StatusCodes.BadDeviceFailure
        finally:
            site.acqd.answer = lambda msg: {"ok": True, "id": 1, "state": "confirmed",
                                            "readback": msg["value"]}
            await c.disconnect()
        n = len(site.acqd.requests)
        plain = await connect(site, user="oscar", policy="None")  # the demo's read-only None
        try:
            node = plain.get_node(f"ns={ns};s=W101.SPM_SET")
            assert await node.read_value() is not None
            with pytest.raises(ua.UaStatusCodeError) as err:
                await node.write_value(ua.DataValue(ua.Variant(9.0, ua.VariantType.Double)))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        finally:
            await plain.disconnect()
        assert len(site.acqd.requests) == n
        from daemons.core.access.audit import AuditReader
        reader = AuditReader(site.cfg.paths.state_dir)
        try:
            denied = [e for e in reader.entries() if e.action == "tag.write.denied"]
        finally:
            reader.close()
        assert any(e.actor == "rita" and e.source == "opcua" and e.object == "W101.SPM_SET"
                   for e in denied)

    run(main())
