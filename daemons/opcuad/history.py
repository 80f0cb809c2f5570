"""HistoryRead from the gateway's historian (daemons/core/history/reader.py).

Raw (ReadRawModifiedDetails, not IsReadModified) and processed (ReadProcessedDetails with
Minimum, Maximum, Average, Interpolative).  An answer holds at most
`[opcua] history_max_values` values (or the client's NumValuesPerNode); the rest is
reached with the continuation point returned, which carries where to go on (a stateless
token: nothing to leak when a client never comes back, and ReleaseContinuationPoints has
nothing to free).  The historian is read on a worker thread so the event loop keeps
serving subscriptions.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from asyncua import ua
from asyncua.server.history import HistoryManager

from daemons.core.history.reader import HistoryReader

NS = 1_000_000_000
_EPOCH_1601 = datetime(1601, 1, 2, tzinfo=UTC)
_CP = struct.Struct("<4sqqi")  # magic, next start ns, end ns, direction (1 / -1)
MAGIC = b"WGH1"
AGGREGATES = {  # by numeric id in namespace 0 (a NodeId's encoding must not matter)
    ua.ObjectIds.AggregateFunction_Minimum: "min",
    ua.ObjectIds.AggregateFunction_Maximum: "max",
    ua.ObjectIds.AggregateFunction_Average: "avg",
    ua.ObjectIds.AggregateFunction_Interpolative: "interp",
}
NO_DATA = ua.StatusCode(ua.StatusCodes.BadNoData)


def to_ns(t: datetime | None) -> int | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    if t <= _EPOCH_1601:
        return None  # OPC UA's null DateTime
    return int(t.timestamp() * 1e6) * 1000


def to_dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


# OPC 10000-4 §7.39 (StatusCode): InfoType DataValue (bit 10) makes the low bits historian
# bits — 0 raw, 1 calculated, 2 interpolated (a two-bit field), 4 partial.
HIST_INFO = 0x400
HIST_CALCULATED, HIST_INTERPOLATED, HIST_PARTIAL = 0x1, 0x2, 0x4
UNCERTAIN_SUBNORMAL = ua.StatusCodes.UncertainDataSubNormal


def _status(base: int, bits: int) -> ua.StatusCode:
    return ua.StatusCode(base | HIST_INFO | bits)


def aggregate(kind: str, ts: np.ndarray, val: np.ndarray, q: np.ndarray, start: int,
              interval: int, count: int, end: int, now: int) -> list[ua.DataValue]:
    """`count` intervals from `start`: one DataValue each, with OPC 10000-13's statuses
    under its default AggregateConfiguration (TreatUncertainAsBad, PercentDataGood and
    PercentDataBad 100 %, counted in samples):

    - Minimum/Maximum/Average of an interval's Good samples, `Calculated`; Good when every
      sample of the interval is Good, `Uncertain_DataSubNormal` when some are not, and
      `Bad_NoData` when none is (or the interval is empty); `Partial` when the interval
      reaches past the request's end or past now (its data is not all in yet).
    - Interpolative at each interval's start between the Good samples around it:
      `Interpolated` (or raw where a Good sample is exactly there), Uncertain_DataSubNormal
      when non-Good samples lie between the two it used.
    """
    good = (q.astype(np.int64) & 0xC0000000) == 0
    gts, gval = ts[good], val[good]
    # Samples come in time order: each interval's samples are one slice, found by
    # binary search (not a scan of every sample per interval).
    edges = start + np.arange(count + 1, dtype=np.int64) * interval
    cut_all, cut_good = np.searchsorted(ts, edges), np.searchsorted(gts, edges)
    out = []
    for k in range(count):
        t0 = start + k * interval
        if kind == "interp":
            if gts.size == 0 or t0 < gts[0] or t0 > gts[-1]:
                out.append(ua.DataValue(StatusCode=NO_DATA, SourceTimestamp=to_dt(t0)))
                continue
            v = float(np.interp(t0, gts, gval))
            right = int(np.searchsorted(gts, t0, "left"))
            exact = right < gts.size and gts[right] == t0
            left_t = gts[right] if exact else gts[right - 1]
            right_t = gts[right]
            # any sample strictly between the two Good ones used is a non-Good one
            between = int(np.searchsorted(ts, right_t, "left")) - int(
                np.searchsorted(ts, left_t, "right"))
            status = _status(UNCERTAIN_SUBNORMAL if between > 0 else 0,
                             0 if exact else HIST_INTERPOLATED)
        else:
            sel = gval[cut_good[k]:cut_good[k + 1]]
            if sel.size == 0:
                out.append(ua.DataValue(StatusCode=NO_DATA, SourceTimestamp=to_dt(t0)))
                continue
            v = float(sel.min() if kind == "min" else sel.max() if kind == "max" else sel.mean())
            some_bad = int(cut_all[k + 1] - cut_all[k]) > sel.size
            partial = t0 + interval > min(end, now)
            status = _status(UNCERTAIN_SUBNORMAL if some_bad else 0,
                             HIST_CALCULATED | (HIST_PARTIAL if partial else 0))
        out.append(ua.DataValue(Value=ua.Variant(v, ua.VariantType.Double), StatusCode=status,
                                SourceTimestamp=to_dt(t0), ServerTimestamp=to_dt(t0)))
    return out


class History(HistoryManager):
    """asyncua's history manager, answered from history.db and calc-history.db."""

    def __init__(self, iserver: Any, ns: int, paths: Callable[[], list[Any]],
                 max_values: int) -> None:
        super().__init__(iserver)
        self.ns, self.paths, self.max_values = ns, paths, max_values
        # whether the request's user may not read a node (scope.ReadScope.refuses)
        self.refuses: Callable[[ua.NodeId], bool] = lambda _node: False

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        refused = {k for k, rv in enumerate(params.NodesToRead) if self.refuses(rv.NodeId)}
        return await asyncio.to_thread(self._read_all, params, refused)

    def _read_all(self, params: ua.HistoryReadParameters, refused: set[int]
                  ) -> list[ua.HistoryReadResult]:
        details = params.HistoryReadDetails
        with HistoryReader(self.paths()) as reader:
            return [ua.HistoryReadResult(StatusCode=ua.StatusCode(
                        ua.StatusCodes.BadUserAccessDenied)) if k in refused else
                    self._read(reader, details, rv, k, params.ReleaseContinuationPoints)
                    for k, rv in enumerate(params.NodesToRead)]

    def _read(self, reader: HistoryReader, details: Any, rv: ua.HistoryReadValueId, k: int,
              release: bool) -> ua.HistoryReadResult:
        result = ua.HistoryReadResult()
        node = rv.NodeId
        if release:
            return result
        if node.NamespaceIndex != self.ns or not isinstance(node.Identifier, str) \
                or not reader.has(node.Identifier):
            result.StatusCode = ua.StatusCode(ua.StatusCodes.BadNoData if
                                              node.NamespaceIndex == self.ns else
                                              ua.StatusCodes.BadNodeIdUnknown)
            return result
        tag = node.Identifier
        if isinstance(details, ua.ReadRawModifiedDetails) and not details.IsReadModified:
            values, cp = self._raw(reader, tag, details, rv.ContinuationPoint)
        elif isinstance(details, ua.ReadProcessedDetails):
            types = details.AggregateType
            agg = (types[k] if k < len(types) else types[-1]) if types else None
            kind = AGGREGATES.get(agg.Identifier) if agg is not None and \
                agg.NamespaceIndex == 0 else None
            if kind is None:
                result.StatusCode = ua.StatusCode(ua.StatusCodes.BadAggregateNotSupported)
                return result
            values, cp = self._processed(reader, tag, details, kind, rv.ContinuationPoint)
        else:
            result.StatusCode = ua.StatusCode(ua.StatusCodes.BadHistoryOperationUnsupported)
            return result
        if values is None:
            result.StatusCode = ua.StatusCode(ua.StatusCodes.BadContinuationPointInvalid)
            return result
        result.HistoryData = ua.HistoryData()
        result.HistoryData.DataValues = values
        result.ContinuationPoint = cp
        return result

    @staticmethod
    def _resume(cp: bytes | None) -> tuple[int, int, int] | None:
        if not cp:
            return None
        if len(cp) != _CP.size or cp[:4] != MAGIC:
            raise ValueError("not ours")
        _m, start, end, direction = _CP.unpack(cp)
        return start, end, direction

    def _raw(self, reader: HistoryReader, tag: str, d: ua.ReadRawModifiedDetails,
             cp: bytes | None) -> tuple[list[ua.DataValue] | None, bytes | None]:
        start, end = to_ns(d.StartTime), to_ns(d.EndTime)
        now = int(datetime.now(UTC).timestamp() * NS)
        forward = not (start is not None and end is not None and end < start)
        lo = (start if forward else end) or 0
        hi = (end if forward else start) or now + NS
        try:
            resumed = self._resume(cp)
        except ValueError:
            return None, None
        if resumed is not None:
            lo, hi = (resumed[0], resumed[1]) if forward else (resumed[1], resumed[0])
        limit = self.max_values
        if d.NumValuesPerNode:
            limit = min(limit, int(d.NumValuesPerNode))
        ts, val, q = reader.raw(tag, lo, hi)
        if not forward:
            ts, val, q = ts[::-1], val[::-1], q[::-1]
        more = ts.size > limit
        ts, val, q = ts[:limit], val[:limit], q[:limit]
        values = [ua.DataValue(Value=ua.Variant(float(v), ua.VariantType.Double),
                               StatusCode=ua.StatusCode(int(s)), SourceTimestamp=to_dt(int(t)),
                               ServerTimestamp=to_dt(int(t)))
                  for t, v, s in zip(ts.tolist(), val.tolist(), q.tolist(), strict=True)]
        cp_out = None
        if more:
            last = int(ts[-1])
            cp_out = _CP.pack(MAGIC, last + 1, hi, 1) if forward else \
                _CP.pack(MAGIC, last, lo, -1)
        return values, cp_out

    def _processed(self, reader: HistoryReader, tag: str, d: ua.ReadProcessedDetails, kind: str,
                   cp: bytes | None) -> tuple[list[ua.DataValue] | None, bytes | None]:
        start, end = to_ns(d.StartTime), to_ns(d.EndTime)
        interval = int(d.ProcessingInterval * 1e6)  # ms -> ns
        if start is None or end is None or end <= start:
            return [], None
        if interval <= 0:
            interval = end - start
        try:
            resumed = self._resume(cp)
        except ValueError:
            return None, None
        if resumed is not None:
            start = resumed[0]
        count = -(-(end - start) // interval)
        more = count > self.max_values
        count = min(count, self.max_values)
        stop = min(end, start + count * interval)
        # Interpolation needs the samples around the range's ends.
        pad = interval if kind == "interp" else 0
        ts, val, q = reader.raw(tag, start - pad, stop + pad)
        before = reader.latest_before(tag, start) if kind == "interp" else None
        if before is not None and (ts.size == 0 or before[0] < ts[0]):
            ts = np.concatenate([[before[0]], ts])
            val = np.concatenate([[before[1]], val])
            q = np.concatenate([[before[2]], q]).astype(np.uint32)
        values = aggregate(kind, ts, val, q.astype(np.uint32), start, interval, count, end,
                           time.time_ns())
        return values, _CP.pack(MAGIC, stop, end, 1) if more else None

