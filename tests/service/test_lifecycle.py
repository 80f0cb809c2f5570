"""The framework end to end: a real child process, a real notify socket, real signals."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

from daemons.core.service import read_statuses, signal_daemons


def test_ready_then_sigterm_stops_cleanly(make_daemon, notify):
    d = make_daemon()
    d.write_config()
    d.start()
    notify.wait_for("READY=1")
    assert any("STATUS=running" in m.split("\n") for m in notify.all())
    # READY=1 only after start() succeeded: the start log line precedes it.
    d.wait_log("example started")
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0
    notify.wait_for("STOPPING=1", timeout=1)
    msgs = notify.all()
    ready_at = next(i for i, m in enumerate(msgs) if "READY=1" in m.split("\n"))
    stopping_at = next(i for i, m in enumerate(msgs) if "STOPPING=1" in m.split("\n"))
    assert ready_at < stopping_at
    assert d.find("stopped", exit_code=0)


def test_sigint_also_stops_cleanly(make_daemon, notify):
    d = make_daemon()
    d.write_config()
    d.start()
    notify.wait_for("READY=1")
    d.send(signal.SIGINT)
    assert d.wait_exit(timeout=5.0) == 0
    assert notify.count("STOPPING=1") == 1


def test_sighup_broken_config_keeps_old_then_good_config_reloads(make_daemon, notify,
                                                                 wait_until):
    d = make_daemon()
    d.write_config(greeting="hola")
    d.start()
    notify.wait_for("READY=1")
    d.wait_log("example started", greeting="hola")

    d.write_config(raw="[paths\nruntime_dir = 3\n")
    d.send(signal.SIGHUP)
    notify.wait_for("READY=1", n=2)
    reloading = [m for m in notify.all() if "RELOADING=1" in m.split("\n")]
    assert len(reloading) == 1
    usec = int(reloading[0].split("MONOTONIC_USEC=")[1])
    assert 0 < usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    problem = d.wait_log("reload rejected")
    assert problem["file"] == str(d.config) and problem["line"] == 1
    assert problem["problema"].startswith("TOML no válido")
    assert not d.find("example reloaded")
    # Still running, still looping on the old configuration.
    loops = _status(d).loops
    wait_until(lambda: _status(d).loops > loops)
    assert d.proc.poll() is None

    d.write_config(greeting="adiós")
    d.send(signal.SIGHUP)
    d.wait_log("example reloaded", greeting="adiós")
    d.wait_log("reloaded")
    notify.wait_for("READY=1", n=3)
    assert notify.count("RELOADING=1") == 2
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0


def test_watchdog_pings_only_while_the_loop_makes_progress(make_daemon, notify):
    # WATCHDOG_PID is *our* pid, the child's parent: the PyInstaller bootloader case.
    d = make_daemon(env={"WATCHDOG_USEC": "300000", "WATCHDOG_PID": str(os.getpid())})
    d.write_config()
    d.start()
    notify.wait_for("READY=1")
    notify.wait_for("WATCHDOG=1", n=4, timeout=5)
    d.send(signal.SIGUSR1)  # run() now awaits forever without heartbeats
    d.wait_log("example hanging")
    time.sleep(0.3)  # let a ping sent just before the hang arrive
    before = notify.count("WATCHDOG=1")
    time.sleep(1.0)  # more than three ping periods (0.15 s)
    assert notify.count("WATCHDOG=1") == before
    # A hung await is still cancellable, so the daemon still stops cleanly.
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0


def test_watchdog_for_another_pid_is_off_and_says_so(make_daemon, notify):
    d = make_daemon(env={"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
    d.write_config()
    d.start()
    notify.wait_for("READY=1")
    d.wait_log("systemd watchdog disabled")
    time.sleep(0.5)
    assert notify.count("WATCHDOG=1") == 0
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0


def test_log_lines_are_json_including_stdlib_loggers(make_daemon, notify):
    d = make_daemon()
    d.write_config()
    d.start()
    notify.wait_for("READY=1")
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0
    records = d.records()  # json.loads of every line: raises if one is not JSON
    assert records and all({"ts", "level", "event", "logger"} <= r.keys() for r in records)
    lib = [r for r in records if r["logger"] == "pymodbus.client"]
    assert lib and lib[0]["event"] == "library says hello" and lib[0]["level"] == "warning"
    assert all(r["ts"].endswith("Z") or r["ts"].endswith("+00:00") for r in records)


def test_metrics_endpoint_serves_standard_metrics(make_daemon, notify, wait_until, free_port):
    port = free_port()
    d = make_daemon()
    d.write_config(metrics_port=port)
    d.start()
    notify.wait_for("READY=1")
    d.send(signal.SIGHUP)
    d.wait_log("reloaded")
    text = wait_until(lambda: _scrape(port), timeout=5)
    values = _samples(text)
    assert values['wellgate_loops_total'] > 0
    assert values['wellgate_loop_duration_seconds_count'] > 0
    assert values['wellgate_errors_total{kind="device"}'] == 1.0
    assert values['wellgate_reloads_total{result="ok"}'] == 1.0
    assert values['wellgate_reloads_total{result="failed"}'] == 0.0
    assert abs(values["wellgate_start_time_seconds"] - time.time()) < 600
    assert values['wellgate_daemon_info{daemon="example",version="9.9.9-test"}'] == 1.0
    assert "process_resident_memory_bytes" in values
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0


def test_status_file_lifecycle_and_signal_daemons(make_daemon, notify, wait_until):
    d = make_daemon()
    d.write_config()
    d.start()
    notify.wait_for("READY=1")
    path = d.runtime / "status" / "example.json"
    data = wait_until(lambda: path.exists() and json.loads(path.read_text()), timeout=5)
    assert data["pid"] == d.proc.pid and data["version"] == "9.9.9-test"
    assert data["config"] == str(d.config)
    st = wait_until(lambda: (s := _status(d)) and s.loops > 0 and s)
    assert st.state == "ready" and st.alive and not st.stale and st.last_loop

    assert signal_daemons(d.runtime, signal.SIGHUP) == ["example"]
    d.wait_log("reloaded")
    assert signal_daemons(d.runtime, signal.SIGHUP, names=["acqd"]) == []

    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0
    assert not path.exists()
    assert read_statuses(d.runtime) == []


def test_crash_in_run_exits_nonzero_with_traceback(make_daemon, notify):
    d = make_daemon()
    d.write_config()
    d.start()
    notify.wait_for("READY=1")
    d.send(signal.SIGUSR2)
    assert d.wait_exit(timeout=5.0) == 70
    failed = d.find("run() failed")
    assert failed and "RuntimeError: simulated crash" in failed[0]["exception"]
    assert notify.count("STOPPING=1") == 1
    # The status file stays behind so that `wellgate status` shows the crash.
    [st] = read_statuses(d.runtime)
    assert not st.alive and st.stale and "simulated crash" in st.last_error


def test_bad_config_at_start_exits_1_without_ready(make_daemon, notify):
    d = make_daemon()
    d.write_config(raw=f'[paths]\nruntime_dir = "{d.runtime}"\n[example]\ninterval_s = -1\n')
    d.start()
    assert d.wait_exit(timeout=10.0) == 1
    problem = d.find("configuration rejected")
    assert problem and problem[0]["file"] == str(d.config)
    assert problem[0]["problem"] == "interval_s must be > 0"
    assert notify.count("READY=1") == 0


def test_failed_start_exits_70_without_ready(make_daemon, notify):
    d = make_daemon()
    d.write_config(extra='start = "fail"')
    d.start()
    assert d.wait_exit(timeout=10.0) == 70
    assert d.find("start() failed") and notify.count("READY=1") == 0


def test_close_that_never_returns_misses_the_deadline(make_daemon, notify):
    d = make_daemon(env={"EXAMPLE_STOP_TIMEOUT_S": "1.0"})
    d.write_config(extra='close = "await"')
    d.start()
    notify.wait_for("READY=1")
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 70
    assert d.find("close() did not finish in time")


def test_close_that_blocks_the_loop_hits_the_hard_deadline(make_daemon, notify):
    d = make_daemon(env={"EXAMPLE_STOP_TIMEOUT_S": "1.0"})
    d.write_config(extra='close = "block"')
    d.start()
    notify.wait_for("READY=1")
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 70
    assert d.find("stop deadline passed; exiting without finishing cleanup")


def test_runs_without_notify_socket(make_daemon):
    d = make_daemon(with_notify=False)
    d.write_config()
    d.start()
    d.wait_log("ready")
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0


def _status(d):  # the one status file, or None
    found = read_statuses(d.runtime)
    return found[0] if found else None


def _scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return None


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_unwritable_status_dir_is_logged_once_and_does_not_stop_the_daemon(make_daemon,
                                                                            notify):
    d = make_daemon()
    d.write_config()
    d.runtime.mkdir()
    (d.runtime / "status").write_text("a file where the directory should be")
    d.start()
    notify.wait_for("READY=1")
    d.wait_log("status_file unavailable")
    time.sleep(1.2)  # more than two housekeeping rounds and a status write interval
    assert len(d.find("status_file unavailable")) == 1
    d.send(signal.SIGTERM)
    assert d.wait_exit(timeout=5.0) == 0
