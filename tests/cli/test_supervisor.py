"""The demo's supervisor behaves like the systemd units: restart on failure, start limit."""

import sys

from daemons.cli.supervisor import START_LIMIT_BURST, Program, Supervisor


def test_failing_program_is_restarted_until_the_start_limit(tmp_path):
    marker = tmp_path / "starts"
    crash = (f"import pathlib; p = pathlib.Path({str(marker)!r}); "
             "p.write_text(p.read_text() + 'x' if p.exists() else 'x'); raise SystemExit(3)")
    said: list[str] = []
    progs = [Program("crasher", [sys.executable, "-c", crash], tmp_path / "crasher.log"),
             Program("steady", [sys.executable, "-c", "import time; time.sleep(60)"],
                     tmp_path / "steady.log")]
    code = Supervisor(progs, lambda en, es: said.append(en)).run(duration=START_LIMIT_BURST
                                                                  * 1.0 + 3)
    assert marker.read_text() == "x" * START_LIMIT_BURST
    assert any("left stopped" in s for s in said)
    assert progs[1].process is not None and progs[1].process.poll() is not None  # stopped
    assert code == 1  # a program gave up: the demo reports it


def test_clean_exit_is_not_restarted(tmp_path):
    progs = [Program("once", [sys.executable, "-c", "pass"], tmp_path / "once.log")]
    said: list[str] = []
    assert Supervisor(progs, lambda en, es: said.append(en)).run(duration=2) == 0
    assert said == ["once exited cleanly"]
