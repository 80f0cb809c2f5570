"""The writer's bound on memory while PostgreSQL is away: refuse, count, log once."""

from __future__ import annotations

import time

from daemons.hostd.config import DatabaseSection, Tenant
from daemons.hostd.model import MetricRef
from daemons.hostd.store import SampleBatch
from daemons.hostd.writer import Writer


class Log:
    def __init__(self):
        self.lines = []

    def __getattr__(self, level):
        return lambda event, **kw: self.lines.append((level, event, kw))


def test_a_full_queue_refuses_new_samples_with_one_log_line():
    log = Log()
    db = DatabaseSection(dsn="host=127.0.0.1 port=1 user=x connect_timeout=1",
                         max_buffer_samples=10_000)
    writer = Writer(db, (Tenant("g", "s", "r"),), log)
    writer.start()  # nothing answers on port 1: everything stays queued
    try:
        ref = MetricRef("s", "n", None, "T", 1, 10)
        batch = [(int(time.time() * 1000) + k, 1.0, ref, 0, False, None) for k in range(4_000)]
        accepted = [writer.samples(SampleBatch("s", "n", batch, 0)) for _ in range(5)]
        assert accepted == [True, True, False, False, False]
        assert writer.queued_samples == 8_000 and writer.refused_samples == 12_000
        full = [line for line in log.lines if line[1].startswith("write queue full")]
        assert len(full) == 1 and full[0][0] == "error"
        deadline = time.monotonic() + 5
        while not any(line[1] == "postgresql unavailable" for line in log.lines):
            assert time.monotonic() < deadline, log.lines
            time.sleep(0.05)
        assert sum(line[1] == "postgresql unavailable" for line in log.lines) == 1
    finally:
        assert writer.stop(5.0)
