"""Several processes appending at once keep one linear, verifiable chain."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from daemons.core.access.audit import AuditLog, AuditReader

CHILD = Path(__file__).with_name("audit_appender.py")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(120)


def race(state: Path, writers: int, n: int) -> None:
    AuditLog(state).close()  # created once, as the first daemon would
    go = state / "go"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, str(CHILD), str(state), f"w{k}", str(n),
                               str(go)], stdout=subprocess.PIPE, text=True, env=env)
             for k in range(writers)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    for p in procs:
        out, _ = p.communicate(timeout=100)
        assert p.returncode == 0 and out.startswith("done"), out


def test_racing_processes_keep_one_valid_chain(tmp_path):
    writers, n = 4, 150
    race(tmp_path, writers, n)
    reader = AuditReader(tmp_path)
    verdict = reader.verify()
    entries = reader.entries()
    reader.close()
    assert verdict.ok, verdict.problem
    assert verdict.count == len(entries) == writers * n
    assert [e.seq for e in entries] == list(range(1, writers * n + 1))
    # Every writer's entries are all there, in the order it appended them.
    for k in range(writers):
        mine = [e.details_dict()["i"] for e in entries if e.actor == f"w{k}"]
        assert mine == list(range(n))
    # They really raced: the writers' entries interleave in the chain.
    switches = sum(1 for a, b in itertools.pairwise(entries) if a.actor != b.actor)
    assert switches >= writers * 5, switches
