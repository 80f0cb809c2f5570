"""Log formats and the "unavailable once / recovered once" helper."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest
import structlog
from structlog.testing import capture_logs

from daemons.core.service import Availability, configure_logging, get_logger
from daemons.core.service.logsetup import _WellgateHandler


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    level = root.level
    yield
    for h in [h for h in root.handlers if isinstance(h, _WellgateHandler)]:
        root.removeHandler(h)
    root.setLevel(level)
    structlog.reset_defaults()


def test_json_lines_with_stdlib_records_and_tracebacks():
    out = io.StringIO()
    assert configure_logging("auto", "info", stream=out, environ={}) == "json"
    log = get_logger("wellgate.test", daemon="test")
    log.info("hello", n=3)
    log.debug("not shown at info")
    logging.getLogger("asyncua.server").error("library %s", "trouble")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["event"] for r in lines] == ["hello", "library trouble", "failed"]
    assert lines[0]["n"] == 3 and lines[0]["daemon"] == "test" and lines[0]["level"] == "info"
    assert lines[1]["logger"] == "asyncua.server" and lines[1]["level"] == "error"
    assert "ValueError: boom" in lines[2]["exception"]


def test_configuring_twice_replaces_the_handler():
    out = io.StringIO()
    configure_logging("json", stream=out, environ={})
    configure_logging("json", stream=out, environ={})
    get_logger("x").info("once")
    assert len(out.getvalue().splitlines()) == 1


def test_level_from_config_applies_to_libraries_too():
    out = io.StringIO()
    configure_logging("json", "warning", stream=out, environ={})
    get_logger("x").info("hidden")
    logging.getLogger("pymodbus").info("hidden too")
    get_logger("x").warning("shown")
    assert [json.loads(x)["event"] for x in out.getvalue().splitlines()] == ["shown"]


@pytest.mark.parametrize(("env", "coloured"), [
    ({"TERM": "xterm-256color"}, True),
    ({"TERM": "xterm-256color", "NO_COLOR": "1"}, False),
    ({"TERM": "dumb"}, False),
])
def test_console_on_a_tty_is_coloured_unless_told_not_to(env, coloured):
    out = _Tty()
    assert configure_logging("auto", stream=out, environ=env) == "console"
    get_logger("x").info("hola", pozo="PZ-1")
    text = out.getvalue()
    assert "hola" in text and "pozo" in text
    assert ("\x1b[" in text) is coloured
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_journal_stream_gets_syslog_priority_prefixes(tmp_path):
    with open(tmp_path / "journal", "w+") as out:
        st = os.fstat(out.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        configure_logging("json", stream=out, environ=env)
        get_logger("x").warning("careful")
        get_logger("x").info("fine")
        out.seek(0)
        lines = out.read().splitlines()
    assert lines[0].startswith("<4>{") and lines[1].startswith("<6>{")
    assert json.loads(lines[0][3:])["event"] == "careful"


def test_availability_logs_each_edge_once():
    clock = iter([100.0, 107.5, 200.0]).__next__
    with capture_logs() as logs:
        av = Availability(structlog.get_logger(), "device", clock=clock)
        assert av.failed("pump-1", TimeoutError("no answer")) is True
        for _ in range(50):
            assert av.failed("pump-1", "still nothing") is False
        assert not av.is_available("pump-1") and av.unavailable() == {"pump-1"}
        assert av.ok("pump-2") is False  # never down: nothing to say
        assert av.ok("pump-1") is True
        assert av.ok("pump-1") is False
        av.failed("pump-1")
    events = [(x["event"], x["log_level"]) for x in logs]
    assert events == [("device unavailable", "warning"), ("device recovered", "info"),
                      ("device unavailable", "warning")]
    assert logs[0]["device"] == "pump-1" and logs[0]["reason"] == "no answer"
    assert logs[1]["failures"] == 51 and logs[1]["down_s"] == 7.5
