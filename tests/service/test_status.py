"""Status files read back: crashed daemons, reused pids, stale loops, signalling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from daemons.core.service import StatusWriter, read_statuses, signal_daemons
from daemons.core.service.status import iso_utc, proc_start_ticks


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _write(runtime, name, **fields):
    d = runtime / "status"
    d.mkdir(parents=True, exist_ok=True)
    base = {"name": name, "pid": os.getpid(), "state": "ready", "started_at": iso_utc(time.time()),
            "last_loop": iso_utc(time.time()), "loops": 1, "errors": 0, "last_error": None,
            "config": "/etc/wellgate/gateway.toml", "version": "1"}
    (d / f"{name}.json").write_text(json.dumps({**base, **fields}))


def test_writer_round_trip_rate_limit_and_removal(tmp_path):
    w = StatusWriter(tmp_path, "calcd", config_file="/etc/g.toml", version="1.2")
    w.write()
    [st] = read_statuses(tmp_path)
    assert (st.name, st.pid, st.state, st.alive) == ("calcd", os.getpid(), "starting", True)
    w.set_state("ready")
    w.loop()
    assert w.flush() is False  # a second has not passed since the state change was written
    assert read_statuses(tmp_path)[0].loops == 0
    w._last_write -= 1.0  # as if a second had passed
    assert w.flush() is True
    [st] = read_statuses(tmp_path)
    assert st.loops == 1 and st.last_loop and not st.stale and st.version == "1.2"
    w.remove()
    assert read_statuses(tmp_path) == []


def test_dead_process_is_not_alive_and_not_signalled(tmp_path):
    _write(tmp_path, "alarmd", pid=_dead_pid())
    [st] = read_statuses(tmp_path)
    assert not st.alive and st.stale
    assert signal_daemons(tmp_path, signal.SIGHUP) == []


def test_reused_pid_is_detected_by_its_start_time(tmp_path):
    ticks = proc_start_ticks(os.getpid())
    assert ticks is not None
    _write(tmp_path, "acqd", start_ticks=ticks + 1)  # our pid, but "another" process
    [st] = read_statuses(tmp_path)
    assert not st.alive
    assert signal_daemons(tmp_path, signal.SIGHUP) == []  # would have hit pytest


def test_ready_without_recent_loops_is_stale(tmp_path):
    old = iso_utc(time.time() - 60)
    _write(tmp_path, "forwardd", last_loop=old)
    _write(tmp_path, "webd", state="starting", last_loop=None, started_at=old)
    by_name = {s.name: s for s in read_statuses(tmp_path, stale_after_s=15)}
    assert by_name["forwardd"].alive and by_name["forwardd"].stale
    assert not by_name["webd"].stale  # starting is not looping yet


def test_unreadable_file_is_reported_not_skipped(tmp_path):
    (tmp_path / "status").mkdir()
    (tmp_path / "status" / "opcuad.json").write_text("{not json")
    [st] = read_statuses(tmp_path)
    assert st.name == "opcuad" and st.state == "unreadable" and not st.alive


def test_signal_daemons_reaches_only_named_live_processes(tmp_path):
    child = subprocess.Popen([sys.executable, "-c",
                              "import signal, sys, time\n"
                              "signal.signal(signal.SIGHUP, lambda *a: sys.exit(42))\n"
                              "print('up', flush=True)\n"
                              "time.sleep(30)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "up\n"
        _write(tmp_path, "acqd", pid=child.pid, start_ticks=proc_start_ticks(child.pid))
        _write(tmp_path, "calcd", pid=_dead_pid())
        assert signal_daemons(tmp_path, signal.SIGHUP, names=["calcd"]) == []
        assert child.poll() is None
        assert signal_daemons(tmp_path, signal.SIGHUP) == ["acqd"]
        assert child.wait(timeout=5) == 42
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
