"""What forwardd does each tick: births, live data, backlog replay, device deaths, budget.

Order within a tick (live data is never held back by the backlog):
1. births when due (after a connect and, with a primary host, once it is online; after a
   Rebirth command; after the catalog changed);
2. DDEATH/DBIRTH for devices whose communication state changed;
3. live samples (report by exception), grouped per device;
4. at most `replay_budget()` rows of the backlog, highest lane first, as historical data
   with the current session's aliases;
5. window bookkeeping: proven rows leave the outbox.
Offline, step 3's samples go to the outbox instead.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from daemons.core.commands import request_async
from daemons.core.service.logsetup import Availability
from daemons.core.sparkplug import DataType, Topic

from .batch import LiveBatch
from .catalog import NODE, OWN_RING, build_catalog, to_value
from .commands import Denied, decide
from .forward import LiveSample, Rbe, RollingWindow, fast_samples
from .outbox import LANE_ALARMS, LANE_CALC, LANE_TRENDS
from .session import EdgeSession

if TYPE_CHECKING:
    from .link import Link
    from .main import ForwardDaemon

MAX_METRICS_PER_PAYLOAD = 2000
AUDIT_SOURCE = "sparkplug"  # the audit log's word for commands from the Sparkplug host
MIN_REPLAY_PER_TICK = 2500
REPLAY_SPEEDUP = 40.0  # replay at least this many times faster than data arrives
WATERMARK_EVERY_S = 1.0
COUNTERS_EVERY_S = 60.0
NODE_METRICS_EVERY_S = 10.0


def _month() -> int:
    now = datetime.now(UTC)
    return now.year * 100 + now.month


class Publisher:
    def __init__(self, daemon: ForwardDaemon, log: Any) -> None:
        self.d = daemon
        self.log = log
        self.rings = Availability(log, "rings")
        cfg = daemon.config.mqtt
        self.window = RollingWindow(2.5 * cfg.keepalive)
        self.session: EdgeSession | None = None
        self.rbe: Rbe | None = None
        self.catalog_key: tuple = ()
        self.src = np.zeros(0, dtype=np.intp)
        self.comm: dict[str, np.ndarray] = {}
        self.epoch = 0
        self.link_up = False
        self.bdseq: int | None = None
        self.born = False
        self.need_births = True
        self.alive: dict[str, bool] = {}
        self.born_devices: set[str] = set()
        self.parked: set[int] = set()
        self.cursor: dict[int, int] = {}  # lane → last outbox id replayed
        self.caught_up = False
        self.rate = 0.0  # samples per second (EMA)
        self.last_watermark = self.last_counters = self.last_node_metrics = 0.0
        self.newest_ts_ms = 0
        ob = daemon.outbox
        assert ob is not None
        self.month = ob.get_state("month", _month())
        self.month_bytes = ob.get_state("month_bytes", 0) if self.month == _month() else 0
        self.month = _month()
        self.shed = 0
        self.sent_messages = 0
        self.snap: Any = None
        self.generations: tuple = ()
        self.last_full = 0.0
        self.last_rate_at = 0.0
        self.writes: set[asyncio.Future] = set()
        # [mqtt] batch_seconds: live data held for fewer, bigger DDATA (alarms never); the
        # held cards are kept in the outbox's held table until sent
        self.batch = LiveBatch(cfg.batch_seconds, self._typed) \
            if cfg.batch_seconds > 0 else None
        self.cards_held = False
        requeued = ob.requeue_held()
        if requeued:
            log.info("cards held for a batch when forwardd stopped queued for replay",
                     samples=requeued)

    # -- connection events ----------------------------------------------------------------
    def connected(self, bdseq: int) -> None:
        self.epoch += 1
        self.link_up, self.bdseq, self.born, self.need_births = True, bdseq, False, True

    def disconnected(self) -> None:
        self.link_up = self.born = False
        self.born_devices.clear()
        self._rewind()
        live = self.window.fail()
        self._drain_batch()
        if live:
            self._keep(live)

    async def goodbye(self, link: Link) -> None:
        """NDEATH then DISCONNECT (an intentional disconnect: the broker drops the Will)."""
        if self.batch is not None and len(self.batch):
            if self.online:  # held live data goes before the NDEATH …
                self._flush(time.monotonic(), _now_ms())
            else:  # … or to the outbox
                self._drain_batch()
        if link.connected and self.bdseq is not None:
            topic, payload = EdgeSession(self.d.group_id, self.d.node_id, _EMPTY,
                                         compression=self.d.config.mqtt.compression
                                         ).ndeath(self.bdseq, _now_ms())
            link.publish(topic, payload, qos=1)
            await asyncio.sleep(0.05)
        await link.disconnect()
        self.disconnected()

    @property
    def online(self) -> bool:
        return self.link_up and self.born and self.d.link is not None and self.d.link.connected

    # -- catalog ----------------------------------------------------------------------------
    def _catalog(self, snap: Any, now: float) -> None:
        key = (snap.names, self.d.tagmap.version)
        if key == self.catalog_key and self.session is not None:
            return
        self.catalog_key = key
        entries, seen = [], set()
        for i, name in enumerate(snap.names):
            if snap.segment[i] == OWN_RING or name in seen:
                continue
            seen.add(name)
            entries.append((name, snap.segment[i], snap.units[i], bool(snap.is_array[i])))
        devices = tuple(self.d.config.devices)
        catalog = build_catalog(entries, self.d.tagmap, self.d.config.mqtt, devices)
        old = self.session.catalog if self.session is not None else None
        self._drain_batch()  # held samples are indices into the old catalog
        self.session = EdgeSession(self.d.group_id, self.d.node_id, catalog,
                                   compression=self.d.config.mqtt.compression)
        self.src = np.array([snap.index[m.name] for m in catalog.metrics], dtype=np.intp)
        self.rbe = Rbe(np.array([m.deadband for m in catalog.metrics]),
                       np.array([m.heartbeat for m in catalog.metrics]),
                       np.array([m.is_array for m in catalog.metrics], dtype=bool),
                       np.array([m.relative for m in catalog.metrics]))
        self.comm = {}
        for dev in catalog.devices:
            idx = [snap.index[m.name] for m in catalog.metrics
                   if m.device == dev and m.name.startswith(f"_sys.{dev}.")
                   and m.name.endswith(".comm")]
            if idx:
                self.comm[dev] = np.array(idx, dtype=np.intp)
        # Per-metric arrays for the hot path (Good live scalars grouped with numpy).
        self.dev_names = ("", *catalog.devices)
        dev_index = {d: i for i, d in enumerate(self.dev_names)}
        self.dev_of = np.array([dev_index[m.device] for m in catalog.metrics], dtype=np.intp)
        self.lane_of = np.array([m.lane for m in catalog.metrics], dtype=np.int8)
        self.urgent_of = self.lane_of == LANE_ALARMS
        self.alias_of = np.array([m.alias for m in catalog.metrics], dtype=np.int64)
        self.field_of = np.array([0 if m.is_array else _FIELD_CODE.get(m.datatype, 0)
                                  for m in catalog.metrics], dtype=np.int8)
        self.d.catalog = catalog
        if old is not None and old.key != catalog.key:
            self.log.info("metric set changed; rebirth", metrics=len(catalog.metrics))
            self.need_births = True
        self._rewind()

    # -- the tick ---------------------------------------------------------------------------
    def tick(self, snap: Any, now: float, now_ms: int) -> None:
        self.snap = snap
        self._catalog(snap, now)
        assert self.session is not None and self.rbe is not None
        values, ts_ns = snap.values[self.src], snap.ts_ns[self.src]
        quality = snap.quality[self.src]
        alive = {dev: bool(np.any(snap.values[ix] == 1.0)) for dev, ix in self.comm.items()}
        if not self.caught_up:
            self._catch_up(snap, ts_ns)
            self.caught_up = True
        if self.link_up and self.d.host_online and self.need_births and \
                self.d.link is not None and self.d.link.connected:
            self._births(now, now_ms, values, ts_ns, quality, alive)
        # No ring published since the last tick: nothing new, unless a heartbeat is due
        # (checked once a second).
        fresh = snap.generations != self.generations or now - self.last_full >= 1.0
        samples: list[LiveSample] = []
        fidx = np.zeros(0, dtype=np.intp)
        fts = fvals = np.zeros(0)
        if fresh:
            self.generations, self.last_full = snap.generations, now
            idx = self.rbe.select(values, ts_ns, quality, now)
            hot = (self.field_of[idx] > 0) & (quality[idx] == 0) & ~np.isnan(values[idx])
            fidx = idx[hot]
            fts, fvals = ts_ns[fidx] // 1_000_000, values[fidx]
            samples = self._samples(idx[~hot], values, ts_ns, quality)
            if len(idx):
                self.newest_ts_ms = max(self.newest_ts_ms, int(ts_ns[idx].max()) // 1_000_000)
            dt = max(0.1, now - self.last_rate_at) if self.last_rate_at else 1.0
            self.rate = 0.8 * self.rate + 0.2 * (len(idx) / dt)
            self.last_rate_at = now
        if self.online:
            self._devices(now, now_ms, alive)
            if self.batch is not None:
                self._hold_cards(samples)
                samples, (fidx, fts, fvals) = self.batch.hold(
                    samples, (fidx, fts, fvals), self.urgent_of, now)
                if not len(self.batch):
                    self._release_cards()
            live, groups = self._publish_live(samples, now_ms)
            fast = self._publish_fast(fidx, fts, fvals, now_ms, groups)
            replay_ids = self._replay(now_ms)
            self.window.add(now, self.epoch, live, replay_ids, fast)
            assert self.d.outbox is not None
            self.d.outbox.delete(self.window.confirm(now, self.epoch))
            if now - self.last_node_metrics >= NODE_METRICS_EVERY_S:
                self.last_node_metrics = now
                self._send(*self.session.node_status(self.node_values(), now_ms))
        else:
            samples += fast_samples(fidx, fts, fvals)
            self._drain_batch()
            if samples:
                self._keep(samples)
        self._housekeeping(now)

    def _flush(self, now: float, now_ms: int) -> None:
        """Send the held live data now (before a device's death or birth, or the node's)."""
        assert self.batch is not None
        samples, (fidx, fts, fvals) = self.batch.drain()
        live, groups = self._publish_live(samples, now_ms)
        fast = self._publish_fast(fidx, fts, fvals, now_ms, groups)
        self.window.add(now, self.epoch, live, [], fast)
        self._release_cards()

    def _drain_batch(self) -> None:
        """Held live data to the outbox (link lost, metric set changed, stopping offline)."""
        if self.batch is None or not len(self.batch) or self.session is None:
            return
        self._keep(self.batch.drain_as_samples())
        self._release_cards()

    def _hold_cards(self, samples: list[LiveSample]) -> None:
        """Cards about to be held: durably in the outbox's held table first (the rings
        keep only the latest card; scalars come back from their history)."""
        assert self.d.outbox is not None and self.session is not None
        metrics = self.session.catalog.metrics
        cards = [(metrics[i].lane, metrics[i].name, ts, v, q) for i, ts, v, q in samples
                 if metrics[i].is_array and not self.urgent_of[i]]
        if cards:
            self.d.outbox.hold(cards)
            self.cards_held = True

    def _release_cards(self) -> None:
        if self.cards_held and self.d.outbox is not None:
            self.d.outbox.release_held()
            self.cards_held = False

    def _typed(self, index: int, value: float) -> Any:
        assert self.session is not None
        return to_value(self.session.catalog.metrics[index].datatype, value)

    def _publish_fast(self, idx: np.ndarray, ts_ms: np.ndarray, values: np.ndarray,
                      now_ms: int, groups: dict[str, list] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Good live scalars, grouped per device with numpy, in one message per device
        with that device's other live samples (*groups*, from `_publish_live`); returns
        the scalars sent."""
        assert self.session is not None
        groups = groups if groups is not None else {}
        if not len(idx):
            self._send_groups(groups, now_ms)
            return idx, ts_ms, values
        lanes = np.isin(self.lane_of[idx], self.allowed_lanes())
        if not lanes.all():
            self.shed += int((~lanes).sum())
            idx, ts_ms, values = idx[lanes], ts_ms[lanes], values[lanes]
        born = np.array([not d or d in self.born_devices for d in self.dev_names])
        ok = born[self.dev_of[idx]]
        if not ok.all():  # after a DDEATH: kept, replayed after the DBIRTH
            self._keep(fast_samples(idx[~ok], ts_ms[~ok], values[~ok]))
            idx, ts_ms, values = idx[ok], ts_ms[ok], values[ok]
        if not len(idx):
            self._send_groups(groups, now_ms)
            return idx, ts_ms, values
        devs = self.dev_of[idx]
        order = np.argsort(devs, kind="stable")
        devs = devs[order]
        bounds = np.flatnonzero(np.diff(devs)) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), len(devs)]
        sidx = idx[order]
        names = [_FIELD_NAMES[f] for f in self.field_of[sidx].tolist()]
        aliases, tss = self.alias_of[sidx].tolist(), ts_ms[order].tolist()
        vals = values[order].tolist()
        for a, b in zip(starts, ends, strict=True):
            device = self.dev_names[int(devs[a])]
            other = groups.pop(device, [])
            if len(other) + b - a > MAX_METRICS_PER_PAYLOAD:  # too many for one message
                self._send_groups({device: other}, now_ms)
                other = []
            for k in range(a, b, MAX_METRICS_PER_PAYLOAD):
                e = min(b, k + MAX_METRICS_PER_PAYLOAD)
                self._send(*self.session.data_fast(device, names[k:e], aliases[k:e],
                                                   tss[k:e], vals[k:e], now_ms, other))
                other = []
        self._send_groups(groups, now_ms)
        return idx, ts_ms, values

    def _send_groups(self, groups: dict[str, list], now_ms: int) -> None:
        assert self.session is not None
        for dev, items in groups.items():
            for k in range(0, len(items), MAX_METRICS_PER_PAYLOAD):
                self._send(*self.session.data(dev, items[k:k + MAX_METRICS_PER_PAYLOAD],
                                              now_ms))

    def _samples(self, idx: np.ndarray, values: np.ndarray, ts_ns: np.ndarray,
                 quality: np.ndarray) -> list[LiveSample]:
        assert self.session is not None and self.d.rings is not None
        metrics = self.session.catalog.metrics
        out: list[LiveSample] = []
        vals, tss, qs = values[idx].tolist(), (ts_ns[idx] // 1_000_000).tolist(), \
            quality[idx].tolist()
        for k, i in enumerate(idx.tolist()):
            m = metrics[i]
            if m.is_array:
                try:
                    arr, ts, q, _ = self.d.rings.array(m.name)
                except (KeyError, ValueError, OSError):
                    continue
                out.append((i, ts // 1_000_000, [float(x) for x in arr], q))
            else:
                out.append((i, tss[k], to_value(m.datatype, vals[k]), qs[k]))
        return out

    def _catch_up(self, snap: Any, ts_ns: np.ndarray) -> None:
        """After a restart: the ring history newer than the persisted watermark (what
        may have been in the window when forwardd died) goes to the backlog."""
        assert self.d.outbox is not None and self.session is not None
        mark = self.d.outbox.get_state("watermark_ms", 0)
        if not mark or self.d.rings is None:
            return
        rows: list[tuple[int, str, int, Any, int]] = []
        for i, m in enumerate(self.session.catalog.metrics):
            if m.is_array:
                continue
            try:
                hts, hv, hq = self.d.rings.history(m.name)
            except (KeyError, ValueError, OSError):
                continue
            current = int(ts_ns[i]) // 1_000_000
            for t, v, q in zip((hts // 1_000_000).tolist(), hv.tolist(), hq.tolist(),
                               strict=True):
                if mark <= t < current:
                    rows.append((m.lane, m.name, t, to_value(m.datatype, v), q))
        if rows:
            self.d.outbox.append(rows)
            self.log.info("catch-up after restart: ring history queued for replay",
                          samples=len(rows), since_ms=mark)

    # -- births and devices -----------------------------------------------------------------
    def _current(self, indices: Iterable[int], values: np.ndarray, ts_ns: np.ndarray,
                 quality: np.ndarray, now_ms: int) -> dict[int, tuple[int, Any, int]]:
        assert self.session is not None
        metrics = self.session.catalog.metrics
        out = {}
        for i in indices:
            m = metrics[i]
            ts = int(ts_ns[i]) // 1_000_000
            if m.is_array and self.d.rings is not None:
                try:
                    arr, ats, q, _ = self.d.rings.array(m.name)
                    out[i] = (ats // 1_000_000 or now_ms, [float(x) for x in arr], q)
                except (KeyError, ValueError, OSError):
                    out[i] = (now_ms, None, int(quality[i]))
            else:
                out[i] = (ts or now_ms, to_value(m.datatype, float(values[i])),
                          int(quality[i]))
        return out

    def _births(self, now: float, now_ms: int, values: np.ndarray, ts_ns: np.ndarray,
                quality: np.ndarray, alive: dict[str, bool]) -> None:
        assert self.session is not None and self.rbe is not None and self.bdseq is not None
        cat = self.session.catalog
        node = self._current(cat.of_device(NODE), values, ts_ns, quality, now_ms)
        self._send(*self.session.nbirth(self.bdseq, now_ms, node, self.node_values()))
        self.born_devices.clear()
        for dev in cat.devices:
            self.alive[dev] = alive.get(dev, True)
            if not self.alive[dev]:
                continue
            current = self._current(cat.of_device(dev), values, ts_ns, quality, now_ms)
            self._send(*self.session.dbirth(dev, now_ms, current))
            self.born_devices.add(dev)
        # The births carry the current values: they count as sent.
        self.rbe.last_value[:] = values
        self.rbe.last_quality[:] = quality
        self.rbe.last_ts[:] = ts_ns
        self.rbe.last_sent[:] = now
        self.rbe.sent_once[:] = True
        self.born, self.need_births = True, False
        self._rewind()
        self.log.info("births published", bdseq=self.bdseq, devices=len(self.born_devices),
                      metrics=len(cat.metrics))

    def _devices(self, now: float, now_ms: int, alive: dict[str, bool]) -> None:
        assert self.session is not None and self.snap is not None
        for dev, up in alive.items():
            if self.alive.get(dev, True) == up:
                continue
            if self.batch is not None and len(self.batch):
                self._flush(now, now_ms)  # held data of the device before its death
            self.alive[dev] = up
            if not up and dev in self.born_devices:
                self._send(*self.session.ddeath(dev, now_ms))
                self.born_devices.discard(dev)
                self.log.warning("device stopped answering: DDEATH", device=dev)
            elif up and dev not in self.born_devices:
                snap = self.snap
                values, ts_ns = snap.values[self.src], snap.ts_ns[self.src]
                current = self._current(self.session.catalog.of_device(dev), values, ts_ns,
                                        snap.quality[self.src], now_ms)
                self._send(*self.session.dbirth(dev, now_ms, current))
                self.born_devices.add(dev)
                self._rewind()
                self.log.info("device answering again: DBIRTH", device=dev)

    # -- data ----------------------------------------------------------------------------
    def allowed_lanes(self) -> tuple[int, ...]:
        """Priority shedding under the monthly data budget: trends stop at 90 % of it,
        calculation results and cards at 100 %; alarms always go."""
        budget = self.d.config.mqtt.monthly_budget_mb * 1024 * 1024
        if budget <= 0:
            return (LANE_ALARMS, LANE_CALC, LANE_TRENDS)
        used = self.month_bytes / budget
        if used >= 1.0:
            return (LANE_ALARMS,)
        if used >= 0.9:
            return (LANE_ALARMS, LANE_CALC)
        return (LANE_ALARMS, LANE_CALC, LANE_TRENDS)

    def _publish_live(self, samples: list[LiveSample], now_ms: int
                      ) -> tuple[list[LiveSample], dict[str, list]]:
        """Sort live samples into per-device groups (sent by `_publish_fast`, together
        with that device's hot-path scalars); returns (samples taken, groups)."""
        assert self.session is not None
        metrics = self.session.catalog.metrics
        lanes = self.allowed_lanes()
        groups: dict[str, list] = defaultdict(list)
        sent: list[LiveSample] = []
        unborn: list[LiveSample] = []
        for s in samples:
            m = metrics[s[0]]
            if m.lane not in lanes:
                self.shed += 1
                continue
            if m.device != NODE and m.device not in self.born_devices:
                # After its DDEATH a device may not have DDATA: keep the samples, they
                # are replayed (historical) after its DBIRTH.
                unborn.append(s)
                continue
            groups[m.device].append((s[0], s[1], s[2], s[3], False))
            sent.append(s)
        if unborn:
            self._keep(unborn)
        return sent, groups

    def replay_budget(self) -> int:
        return max(MIN_REPLAY_PER_TICK, int(REPLAY_SPEEDUP * self.rate * 0.1))

    def _replay(self, now_ms: int) -> list[int]:
        assert self.d.outbox is not None and self.session is not None
        ob = self.d.outbox
        if not ob.depth:
            return []
        cat = self.session.catalog
        rows = ob.take(self.replay_budget(), self.window.inflight | self.parked,
                       self.allowed_lanes(), after=self.cursor)
        unknown: list[int] = []
        groups: dict[str, list] = defaultdict(list)
        ids: list[int] = []
        for r in rows:
            i = cat.by_name.get(r.tag)
            if i is None:
                unknown.append(r.id)
                continue
            dev = cat.metrics[i].device
            if dev != NODE and dev not in self.born_devices:
                self.parked.add(r.id)
                continue
            groups[dev].append((i, r.ts_ms, _as_type(cat.metrics[i].datatype, r.value),
                                r.quality, True))
            ids.append(r.id)
        if unknown:
            ob.delete(unknown)
            self.log.warning("backlog samples of tags no longer published dropped",
                             samples=len(unknown))
        for dev, items in groups.items():
            for k in range(0, len(items), MAX_METRICS_PER_PAYLOAD):
                self._send(*self.session.data(dev, items[k:k + MAX_METRICS_PER_PAYLOAD],
                                              now_ms))
        return ids

    def _rewind(self) -> None:
        """Replay from the start of each lane again: after a lost connection (the window's
        rows must go again) or a DBIRTH (a device's parked rows may go now)."""
        self.parked.clear()
        self.cursor.clear()

    def _keep(self, samples: list[LiveSample]) -> None:
        assert self.d.outbox is not None and self.session is not None
        metrics = self.session.catalog.metrics
        self.d.outbox.append([(metrics[i].lane, metrics[i].name, ts, v, q)
                              for i, ts, v, q in samples])

    def _send(self, topic: str, payload: bytes) -> None:
        link = self.d.link
        if link is None or not link.connected:
            return
        link.publish(topic, payload, qos=0)
        self.month_bytes += len(payload) + len(topic) + 5  # + MQTT fixed/variable header
        self.sent_messages += 1

    # -- commands ------------------------------------------------------------------------
    def command(self, topic: Topic, payload: bytes) -> None:
        if topic.group_id != self.d.group_id or topic.edge_node_id != self.d.node_id or \
                topic.message_type not in ("NCMD", "DCMD") or self.session is None:
            return
        cfg = self.d.config.mqtt
        writable = frozenset(t.name for t in self.d.tagmap if t.writable)
        decision = decide(topic, payload, self.session.catalog, host_id=self.d.host_id,
                          command_tags=cfg.command_tags, writable=writable)
        for reason in decision.rejected:
            self.log.warning("Sparkplug command rejected", reason=reason)
        for denied in decision.denied:
            self._denied(denied)
        if decision.rebirth:
            self.log.info("Rebirth requested")
            self.need_births = True
        for w in decision.writes:
            task = asyncio.ensure_future(self._write(w.tag, w.value))
            self.writes.add(task)  # a reference, or the task may be collected mid-write
            task.add_done_callback(self.writes.discard)

    def _denied(self, denied: Denied) -> None:
        actor = f"sparkplug:{self.d.host_id}"
        self.log.warning("Sparkplug write refused", tag=denied.tag, value=denied.value,
                         user=actor, reason=denied.why)
        try:
            self.d.audit_log().append(actor, AUDIT_SOURCE, "tag.write.denied", denied.tag,
                                      {"value": denied.value, "error": denied.why})
        except Exception as exc:  # a full disk must not stop the uplink
            self.log.error("could not audit a refused Sparkplug write", tag=denied.tag,
                           error=str(exc))

    async def _write(self, tag: str, value: float) -> None:
        msg = {"op": "write", "tag": tag, "value": value, "source": "forwardd",
               "user": f"sparkplug:{self.d.host_id}",
               "reason": f"Sparkplug DCMD from primary host {self.d.host_id}"}
        try:
            reply = await request_async(self.d.config.paths.runtime_dir, msg)
        except (TimeoutError, OSError, ConnectionError) as exc:
            self.log.warning("Sparkplug write not delivered: acqd unavailable", tag=tag,
                             reason=str(exc))
            return
        if reply.get("ok"):
            self.log.info("Sparkplug write done", tag=tag, value=value, id=reply.get("id"))
        else:
            err = reply.get("error") or {}
            self.log.warning("Sparkplug write refused", tag=tag, value=value,
                             state=reply.get("state"), reason=err.get("en"))

    # -- bookkeeping -----------------------------------------------------------------------
    def node_values(self) -> dict[str, Any]:
        ob = self.d.outbox
        assert ob is not None
        oldest = ob.oldest_ts_ms() if ob.depth else None
        return {"Outbox/Depth": ob.depth,
                "Outbox/Oldest Age s": (_now_ms() - oldest) / 1000 if oldest else 0.0,
                "Outbox/Hours Left": self.hours_left(), "Outbox/Dropped": ob.dropped,
                "Uplink/Month Bytes": self.month_bytes, "Uplink/Shed": self.shed}

    def hours_left(self) -> float:
        """Hours the outbox could still buffer at the present sample rate."""
        ob = self.d.outbox
        assert ob is not None
        used = ob.used_bytes()
        per_row = used / ob.depth if ob.depth > 100 else 48.0
        per_hour = max(self.rate, 1e-9) * per_row * 3600
        return round(max(0.0, ob.budget_bytes - used) / per_hour, 2) if self.rate > 0 \
            else float("inf")

    def _housekeeping(self, now: float) -> None:
        ob = self.d.outbox
        assert ob is not None
        if now - self.last_watermark >= WATERMARK_EVERY_S and self.newest_ts_ms:
            self.last_watermark = now
            found = [t for t in (self.window.oldest_live_ts_ms(),
                                 self.batch.oldest_ts_ms() if self.batch else None)
                     if t is not None]
            oldest = min(found) if found else None
            ob.set_state("watermark_ms", oldest if oldest is not None else self.newest_ts_ms)
        if now - self.last_counters >= COUNTERS_EVERY_S:
            self.save_counters()
            self.last_counters = now

    def save_counters(self) -> None:
        ob = self.d.outbox
        if ob is None:
            return
        if _month() != self.month:
            self.month, self.month_bytes = _month(), 0
        ob.set_state("month", self.month)
        ob.set_state("month_bytes", self.month_bytes)

    def status_doc(self) -> dict[str, Any]:
        ob = self.d.outbox
        assert ob is not None
        oldest = ob.oldest_ts_ms() if ob.depth else None
        if not self.d.config.mqtt.enabled:
            state = "disabled"
        elif not self.link_up:
            state = "disconnected"
        elif not self.d.host_online:
            state = "waiting for primary host"
        else:
            state = "online" if self.born else "connected"
        hours = self.hours_left()
        return {
            "state": state, "connected": self.link_up, "server": self.d.server or None,
            "group_id": self.d.group_id, "edge_node_id": self.d.node_id,
            "primary_host": {"id": self.d.host_id or None,
                             "online": self.d.host_online if self.d.host_id else None,
                             "timestamp": self.d.host_ts or None},
            "bdseq": self.bdseq, "seq": self.session.seq if self.session else None,
            "devices": sorted(self.born_devices),
            "outbox": {"depth": ob.depth, "lanes": ob.lane_depths(),
                       # replayed, kept until the rolling window proves them delivered
                       "inflight": len(self.window.inflight),
                       "oldest_ms": oldest,
                       "age_s": (_now_ms() - oldest) / 1000 if oldest else None,
                       "bytes": ob.used_bytes(), "budget_bytes": ob.budget_bytes,
                       "dropped": ob.dropped,
                       "hours_left": hours if hours != float("inf") else -1.0},
            "uplink": {"month_bytes": self.month_bytes,
                       "month_budget_bytes": int(self.d.config.mqtt.monthly_budget_mb
                                                 * 1024 * 1024),
                       "shed": self.shed, "messages": self.sent_messages,
                       "batch_seconds": self.d.config.mqtt.batch_seconds,
                       "held": len(self.batch) if self.batch is not None else 0},
        }


_FIELD_CODE = {DataType.Double: 1, DataType.Float: 2, DataType.Boolean: 3}
_FIELD_NAMES = ("", "double_value", "float_value", "boolean_value")


def _as_type(datatype: int, value: Any) -> Any:
    """A value from the outbox (msgpack) in the metric's current datatype."""
    if value is None or isinstance(value, list):
        return value
    if datatype == DataType.Boolean:
        return bool(value)
    if datatype in (DataType.Double, DataType.Float):
        return float(value)
    if datatype == DataType.DoubleArray:
        return value
    return int(value)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _EmptyCatalog:
    metrics: tuple = ()
    devices: tuple = ()


_EMPTY: Any = _EmptyCatalog()
