"""The physics thread: steps every device model, applies masters' writes, writes the truth.

Device models are not thread-safe, so exactly one thread touches them after construction.
The Modbus servers (on the event loop) reach a model only through this thread's queue:
writes from masters (the bank already holds the new registers; the model reacts on its
next turn, within one tick) and injected events, whose result goes back in a Future.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAX_JOURNAL = 1000


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json_atomic(path: Path, obj: Any) -> None:
    """Readers see the old file or the new one, never half of one (rename is atomic)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, default=_jsonable, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class Journal:
    """Injected faults and events with timestamps, shared by the loop and physics threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=MAX_JOURNAL)
        self._faults: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append({"time": time.time(), **entry})

    def set_faults(self, faults: list[dict[str, Any]]) -> None:
        with self._lock:
            self._faults = list(faults)

    def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self._lock:
            return list(self._entries), list(self._faults)


@dataclass(frozen=True, slots=True)
class _Write:
    device: str
    table: str
    address: int
    values: list[int]


@dataclass(frozen=True, slots=True)
class _Inject:
    device: str
    event: str
    args: dict[str, Any]
    done: Future[None]


class _Truth:
    """Write the truth file now."""


class _Stop:
    """Write the truth one last time and end the thread."""


class PhysicsThread(threading.Thread):
    """Steps `models` at `hz` and writes `truth_path` every `truth_interval_s`."""

    def __init__(self, models: Mapping[str, Any], info: Mapping[str, dict[str, Any]], *,
                 site_name: str, hz: float, truth_interval_s: float, truth_path: Path,
                 journal: Journal, clock: Callable[[], float] = time.time) -> None:
        super().__init__(name="sim-physics", daemon=True)
        self.models = models
        self.info = info  # per device: model key, wells, transport (static, for the truth)
        self.site_name = site_name
        self.period = 1.0 / hz
        self.truth_interval_s = truth_interval_s
        self.truth_path = truth_path
        self.journal = journal
        self.clock = clock
        self.site_time = clock()
        self.steps = 0
        self._queue: queue.Queue[_Write | _Inject | _Truth | _Stop] = queue.Queue()
        self._failing: set[str] = set()
        self._truth_wanted = threading.Event()

    # --- called from other threads ---------------------------------------------------
    def on_write(self, device: str) -> Callable[[str, int, list[int]], None]:
        """The bank write hook of `device`: hands the write to this thread."""
        def hook(table: str, address: int, values: list[int]) -> None:
            self._queue.put(_Write(device, table, address, list(values)))
        return hook

    def inject(self, device: str, event: str, args: dict[str, Any]) -> Future[None]:
        done: Future[None] = Future()
        self._queue.put(_Inject(device, event, dict(args), done))
        return done

    def request_truth(self) -> None:
        # Coalesced: a burst of faults costs one rewrite, not one per fault.
        if not self._truth_wanted.is_set():
            self._truth_wanted.set()
            self._queue.put(_Truth())

    def stop(self) -> None:
        self._queue.put(_Stop())
        self.join()

    # --- the thread --------------------------------------------------------------------
    def run(self) -> None:
        next_tick = time.monotonic()
        next_truth = next_tick
        while True:
            now = time.monotonic()
            if now >= next_tick:  # ticks first, so a stream of writes cannot starve them
                self._step_all()
                now = time.monotonic()
                next_tick += self.period
                if next_tick < now:  # fell behind (slow model, busy machine): don't burst
                    next_tick = now + self.period
                if now >= next_truth:
                    self._write_truth()
                    next_truth = now + self.truth_interval_s
                continue
            try:
                item = self._queue.get(timeout=next_tick - now)
            except queue.Empty:
                continue
            if isinstance(item, _Stop):
                self._write_truth()
                return
            self._handle(item)

    def _handle(self, item: _Write | _Inject | _Truth) -> None:
        if isinstance(item, _Write):
            try:
                self.models[item.device].on_write(item.table, item.address, item.values)
            except Exception:
                log.exception("device %s rejected a write to %s %d", item.device, item.table,
                              item.address)
        elif isinstance(item, _Inject):
            try:
                self.models[item.device].inject(item.event, **item.args)
            except Exception as exc:
                item.done.set_exception(exc)
                return
            self.journal.record({"type": "event", "device": item.device, "event": item.event,
                                 "args": item.args})
            self._write_truth()  # before answering: the caller may read the file next
            item.done.set_result(None)
        elif self._truth_wanted.is_set():
            self._truth_wanted.clear()
            self._write_truth()

    def _step_all(self) -> None:
        now = self.clock()
        for name, model in self.models.items():
            try:
                model.step(now)
            except Exception:
                if name not in self._failing:  # once, not ten times a second
                    self._failing.add(name)
                    log.exception("device model %s failed to step; unavailable", name)
                continue
            if name in self._failing:
                self._failing.discard(name)
                log.warning("device model %s steps again; recovered", name)
        self.site_time = now
        self.steps += 1

    def _write_truth(self) -> None:
        devices: dict[str, Any] = {}
        for name, model in self.models.items():
            try:
                truth = model.truth()
            except Exception as exc:
                truth = {"error": f"{type(exc).__name__}: {exc}"}
            devices[name] = {**self.info.get(name, {}), "truth": truth}
        events, faults = self.journal.snapshot()
        try:
            write_json_atomic(self.truth_path, {
                "site": self.site_name, "site_time": self.site_time,
                "written_at": time.time(), "steps": self.steps, "devices": devices,
                "faults": faults, "events": events,
            })
        except (OSError, TypeError, ValueError):
            log.exception("cannot write %s", self.truth_path)

