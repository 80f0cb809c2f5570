"""alarmd: evaluates the alarm definitions over every ring, journals and publishes states.

`run(config)` is the daemon; `entry()` the console script (`alarmd --config PATH`).
Each tick: one snapshot of every ring in the runtime directory (acq.ring, calc.ring, …
but not its own alarm.ring), one vectorised evaluation, the transitions committed to the
journal (durable), then the state of every alarm published to alarm.ring.  Operator
commands arrive on alarmd.sock (daemons/alarmd/commands.py) and follow the same order.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from daemons.alarmd.commands import AlarmCommands
from daemons.alarmd.engine import Engine
from daemons.alarmd.flood import SUMMARY_TAGS, FloodDetector
from daemons.alarmd.journal import MIGRATIONS, AlarmJournal, db_path
from daemons.alarmd.notify import Notifier, senders
from daemons.alarmd.states import STATE_NAMES, Transition
from daemons.core.access.audit import AuditLog
from daemons.core.access.policy import closed_policy, load_policy
from daemons.core.access.writes import WriteGuard, unix_name
from daemons.core.alarms import AlarmSet, alarm_dir, load_alarms
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError
from daemons.core.quality import Quality
from daemons.core.ring import RingDirectory, RingError, RingWriter, SlotSpec
from daemons.core.service import ServiceContext, daemon_main
from daemons.core.store.sqlite import open_db
from daemons.core.tagmap import store

DOWNTIME_SUFFIX = ".DOWNTIME"
RING_NAME = "alarm.ring"
# The rings are looked at every POLL_S and the alarms evaluated when one of them published
# a new batch (its generation moved), or every EVAL_PERIOD_S for delays and expiries: a
# value change reaches alarm.ring within a poll, without evaluating 50 times a second.
POLL_S = 0.02
EVAL_PERIOD_S = 0.1
NOTIFY_PERIOD_S = 2.0
HISTORY_DEPTH = 60
_BAD_BIT = 0x80000000  # OPC UA severity Bad (Uncertain values are still evaluated)


def load_active_alarms(config: GatewayConfig) -> AlarmSet:
    folder = alarm_dir(config.paths.tagmap_dir)
    return load_alarms(store.active_files(folder), version=store.current_version(folder))


def slot_name(alarm_id: str) -> str:
    """The ring tag of an alarm's state: W101.THP:hi -> W101.THP.ALARM.HI."""
    tag, kind = alarm_id.rsplit(":", 1)
    return f"{tag}.ALARM.{kind.upper()}"


class AlarmDaemon:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.engine = Engine(AlarmSet(()))
        self.journal: AlarmJournal | None = None
        self.audit: AuditLog | None = None
        self.rings: RingDirectory | None = None
        self.ring: RingWriter | None = None
        self.commands: AlarmCommands | None = None
        self.ctx: ServiceContext | None = None
        self.dirty = True
        self.generations: tuple = ()
        self.flood = FloodDetector()
        self.notifier: Notifier | None = None
        # Sending blocks on the network: one thread of its own, with its own connection
        # to events.db (sqlite connections stay in the thread that opened them).
        self.notify_pool = ThreadPoolExecutor(1, thread_name_prefix="notify")
        self.notify_conn: Any = None
        self.notify_task: asyncio.Task | None = None
        # Planned downtime per well (`wellgate alarms downtime`): published as the tag
        # <WELL>.DOWNTIME (1 while it lasts), which suppress_when conditions can name.
        self.downtime: dict[str, float] = {}
        self.downtime_flags = np.zeros(0)

    # --- parts ------------------------------------------------------------------------------

    def _guard(self, config: GatewayConfig, ctx: ServiceContext) -> WriteGuard:
        assert self.audit is not None
        try:
            policy = load_policy(config)
        except ValidationError as exc:
            ctx.log.error("permission matrix invalid; only the system may act on alarms",
                          problems=[p.render("en") for p in exc.problems])
            policy = closed_policy(config)
        return WriteGuard(config.paths.state_dir, policy,
                          {w.id: w.type for w in config.wells.values()}, self.audit)

    def _open_ring(self) -> None:
        if self.ring is not None:
            self.ring.close()
        self.config.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
        specs = [SlotSpec(t) for t in SUMMARY_TAGS]
        specs += [SlotSpec(slot_name(aid)) for aid in self.engine.ids]
        specs += [SlotSpec(f"{well}{DOWNTIME_SUFFIX}") for well in self.config.wells]
        self.ring = RingWriter.create(self.config.paths.runtime_dir / RING_NAME, specs,
                                      tagmap_version=0, history_depth=HISTORY_DEPTH)
        self.dirty = True

    def _load(self, config: GatewayConfig, ctx: ServiceContext) -> AlarmSet | None:
        try:
            return load_active_alarms(config)
        except ValidationError as exc:
            ctx.log.error("alarm files invalid; keeping the running definitions",
                          problems=[p.render("en") for p in exc.problems])
            ctx.error("alarms", exc)
            return None

    async def start(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.journal = AlarmJournal(self.config.paths.state_dir)
        self.downtime = self.journal.downtimes()
        self.audit = AuditLog(self.config.paths.state_dir, log=ctx.log)
        self.audit.append("system", "system", "service.start", "alarmd",
                          {"pid": os.getpid(), "unix_user": unix_name(os.geteuid())})
        alarms = self._load(self.config, ctx) or AlarmSet(())
        self.engine = Engine(alarms, self.journal.restore())
        self._open_ring()
        self.rings = RingDirectory(self.config.paths.runtime_dir)
        self.commands = AlarmCommands(self.config.paths.runtime_dir, self,
                                      self._guard(self.config, ctx), ctx.log)
        await self.commands.start()
        self.notifier = Notifier(self.journal.conn, self.config.notify,
                                 senders(self.config.notify))
        self.notify_task = asyncio.create_task(self._notify_loop(ctx), name="notify")
        ctx.log.info("alarms loaded", alarms=len(alarms), version=alarms.version)
        ctx.set_status(self._status())

    # --- the loop ---------------------------------------------------------------------------

    def _inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
        """Values, Good flags and sample times (s) of the engine's inputs from every ring,
        and the rings' generations (what changed since the last look)."""
        n = len(self.engine.inputs)
        values, good, ts = np.full(n, math.nan), np.zeros(n, dtype=bool), np.zeros(n)
        generations: list[tuple[str, int]] = []
        if self.rings is None:
            return values, good, ts, ()
        pos = self.engine.input_index
        try:
            readers = self.rings.rings()
        except RingError:
            return values, good, ts, ()
        for name, reader in readers.items():
            if name + ".ring" == RING_NAME:
                continue
            try:
                snap = reader.snapshot()
            except RingError:
                continue
            generations.append((name, snap.generation))
            index = snap.index or {t: i for i, t in enumerate(snap.names)}
            found = [(pos[t], index[t]) for t in pos.keys() & index.keys()]
            if not found:
                continue
            dst, src = (np.array(x, dtype=np.intp) for x in zip(*found, strict=True))
            values[dst] = snap.values[src]
            ts[dst] = snap.ts_ns[src] / 1e9
            good[dst] = ((snap.quality[src] & _BAD_BIT) == 0) & (snap.ts_ns[src] > 0) \
                & ~np.isnan(snap.values[src])
        now = time.time()
        for well in self.config.wells:  # planned downtime: alarmd's own well-state tags
            i = pos.get(f"{well}{DOWNTIME_SUFFIX}")
            if i is not None:
                values[i], good[i], ts[i] = float(self.downtime.get(well, 0.0) > now), True, now
        return values, good, ts, tuple(generations)

    def tick(self, now: float, force: bool = True) -> list[Transition]:
        """Evaluate if a ring has published since the last evaluation (or `force`)."""
        flags = np.array([float(self.downtime.get(w, 0.0) > now) for w in self.config.wells])
        if not np.array_equal(flags, self.downtime_flags):  # a downtime began or ended
            self.downtime_flags, self.dirty, force = flags, True, True
        values, good, ts, generations = self._inputs()
        if not force and generations == self.generations:
            return []
        self.generations = generations
        changes = self.engine.evaluate(now, values, good, ts, known=ts > 0)
        self._commit(changes)
        self._flood(now, changes)
        return changes

    def _flood(self, now: float, changes: list[Transition]) -> None:
        before = self.flood.rate
        started = self.flood.feed(now, changes)
        if started is not None and self.ctx is not None:
            if started:
                self.ctx.log.warning("alarm flood", activations_10min=self.flood.rate)
            else:
                self.ctx.log.info("alarm flood over", activations_10min=self.flood.rate)
        if started is not None or self.flood.rate != before:
            self.dirty = True
            self._publish()

    def _commit(self, changes: list[Transition]) -> None:
        """Journal first (durable), then publish: the ring never shows an unjournalled state."""
        if changes:
            assert self.journal is not None
            self.journal.record(changes)
            if self.notifier is not None and self.notifier.channels:
                self.notifier.enqueue(changes, self.engine.by_id)
            self.dirty = True
            if self.ctx is not None:
                for t in changes:
                    self.ctx.log.info("alarm", id=t.alarm_id, state=t.new_name,
                                      old=t.old_name, value=t.value, action=t.action,
                                      user=t.user)
        self._publish()

    def _publish(self) -> None:
        if self.dirty and self.ring is not None:
            flags = np.array([float(self.downtime.get(w, 0.0) > time.time())
                              for w in self.config.wells])
            values = np.concatenate(([float(self.flood.flooding), float(self.flood.rate)],
                                     self.engine.state.astype(float), flags))
            self.ring.write_batch(np.arange(len(values)), values, time.time_ns(),
                                  int(Quality.GOOD))
            self.dirty = False

    async def run(self, ctx: ServiceContext) -> None:
        last_status = last_eval = 0.0
        while True:
            await asyncio.sleep(POLL_S)
            with ctx.iteration():
                force = time.monotonic() - last_eval >= EVAL_PERIOD_S
                self.tick(time.time(), force)
                if force:
                    last_eval = time.monotonic()
                if time.monotonic() - last_status > 5:
                    ctx.set_status(self._status())
                    last_status = time.monotonic()
            ctx.heartbeat()

    async def _notify_loop(self, ctx: ServiceContext) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(NOTIFY_PERIOD_S)
            if self.notifier is None or not self.notifier.channels:
                continue
            try:
                sent = await loop.run_in_executor(self.notify_pool, self._pump, time.time())
            except Exception as exc:  # notifications must never stop the alarms
                ctx.log.error("notification failed", error=repr(exc))
                continue
            if any(sent.values()):
                ctx.log.info("notifications sent", **sent)

    def _pump(self, now: float) -> dict[str, int]:
        if self.notify_conn is None:
            self.notify_conn = open_db(db_path(self.config.paths.state_dir),
                                       migrations=MIGRATIONS)
        cfg = self.config.notify
        return Notifier(self.notify_conn, cfg, senders(cfg)).pump(now)

    def _close_notify(self) -> None:
        if self.notify_conn is not None:
            self.notify_conn.close()

    def _status(self) -> str:
        counts = np.bincount(self.engine.state, minlength=len(STATE_NAMES))
        active = int(counts[1] + counts[2])
        flood = ", FLOOD" if self.flood.flooding else ""
        return (f"{len(self.engine.ids)} alarms, {active} active, {int(counts[1] + counts[3])} "
                f"unacknowledged, {int(counts[4])} shelved, {int(counts[5])} suppressed, "
                f"{self.flood.rate} in 10 min{flood}")

    # --- commands (called by AlarmCommands) -------------------------------------------------

    def resolve(self, target: str) -> list[str]:
        """Alarm ids for an id or a tag (every alarm of the tag)."""
        try:
            return [self.engine.ids[self.engine.index(target)]]
        except KeyError:
            folded = target.casefold()
            return [a.id for a in self.engine.alarms if a.tag.casefold() == folded]

    def set_downtime(self, well: str, seconds: float, user: str, comment: str) -> bool:
        """Begin (seconds > 0) or end (0) a well's planned downtime; journalled durably
        before the next evaluation sees it.  Returns whether anything changed."""
        now = time.time()
        active = self.downtime.get(well, 0.0) > now
        if seconds <= 0 and not active:
            return False
        until = now + seconds if seconds > 0 else now
        assert self.journal is not None
        self.journal.set_downtime(well, until, user, comment, now)
        self.downtime[well] = until
        self.tick(now)
        return True

    def well_of(self, alarm_id: str) -> str | None:
        well = self.engine.alarms[self.engine.index(alarm_id)].well
        return well if well in self.config.wells else None

    def apply(self, op: str, ids: list[str], args: dict[str, Any], user: str,
              comment: str) -> list[str]:
        now = time.time()
        e = self.engine
        changes: list[Transition] = []
        for aid in ids:
            if op == "ack":
                changes += e.ack(aid, now, user, comment)
            elif op == "shelve":
                changes += e.shelve(aid, now, args["seconds"], user, comment)
            elif op == "unshelve":
                changes += e.unshelve(aid, now, user, comment)
            else:
                changes += e.set_out_of_service(aid, now, op == "disable", user, comment)
        self._commit(changes)
        return [t.alarm_id for t in changes]

    def listing(self) -> list[dict[str, Any]]:
        out = []
        lang = self.config.gateway.language
        for s in self.engine.status():
            a = s.alarm
            out.append({"id": a.id, "tag": a.tag, "well": a.well, "type": a.type,
                        "priority": a.priority, "state": STATE_NAMES[s.state],
                        "value": None if math.isnan(s.value) else s.value,
                        "limit": None if math.isnan(s.limit) else s.limit,
                        "message": a.message(lang), "message_en": a.message("en"),
                        "message_es": a.message("es"), "since": s.since,
                        "acked_by": s.acked_by, "shelved_until": s.shelved_until,
                        "first_out": s.first_out, "group": a.group})
        return out

    # --- reload / close ---------------------------------------------------------------------

    async def reload(self, config: Any, ctx: ServiceContext) -> None:
        alarms = self._load(config, ctx)
        self.config = config
        if self.commands is not None:
            self.commands.guard = self._guard(config, ctx)
        if self.journal is not None:
            self.notifier = Notifier(self.journal.conn, config.notify, senders(config.notify))
        if alarms is None:
            return
        self.engine = self.engine.reload(alarms)
        self._open_ring()
        ctx.log.info("alarms loaded", alarms=len(alarms), version=alarms.version)
        if self.audit is not None:
            try:
                self.audit.append("system", "system", "service.reload", "alarmd",
                                  {"alarms_version": alarms.version, "alarms": len(alarms)})
            except Exception as exc:
                ctx.log.error("audit append failed", action="service.reload", error=repr(exc))

    async def close(self) -> None:
        if self.notify_task is not None:
            self.notify_task.cancel()
            await asyncio.gather(self.notify_task, return_exceptions=True)
        self.notify_pool.submit(self._close_notify)
        self.notify_pool.shutdown(wait=False)
        if self.commands is not None:
            await self.commands.close()
        if self.ring is not None:
            self.ring.close()
        if self.rings is not None:
            self.rings.close()
        if self.journal is not None:
            self.journal.close()
        if self.audit is not None:
            try:
                self.audit.append("system", "system", "service.stop", "alarmd",
                                  {"pid": os.getpid()})
            except Exception:
                pass
            self.audit.close()


def run(config: GatewayConfig) -> AlarmDaemon:
    """The component for `config` (DESIGN.md: each daemon's main.py has run(config))."""
    return AlarmDaemon(config)


def entry() -> None:
    sys.exit(daemon_main("alarmd", run))


if __name__ == "__main__":
    entry()
