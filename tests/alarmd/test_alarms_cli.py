"""`wellgate alarms validate | apply | rollback` against the demo's gateway and tag maps."""

import shutil
import sys
from pathlib import Path

import pytest

from daemons.cli import main as cli_main
from daemons.cli.cmd_demo import install_tagmaps, prepare
from daemons.cli.common import Console
from daemons.core.alarms import alarm_dir
from daemons.core.tagmap import store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    layout = prepare(tmp_path_factory.mktemp("gw"))
    install_tagmaps(layout)
    return layout.gateway


@pytest.fixture(autouse=True)
def _console_to_capsys(monkeypatch):
    # Console's streams default to the sys.stdout of import time, before capsys swaps it.
    monkeypatch.setattr(cli_main, "Console", lambda lang: Console(lang, sys.stdout, sys.stderr))


def run(gateway, *args, lang="en"):
    return cli_main.main(["--config", str(gateway), "--lang", lang, "alarms", *args])


def test_validate_reference_files(gateway, capsys):
    files = [str(p) for p in sorted((REPO / "alarms").glob("*.csv"))]
    assert run(gateway, "validate", *files) == 0
    assert "OK: 50 alarms in 7 file(s)" in capsys.readouterr().out


def test_unknown_tag_is_an_error_in_spanish(gateway, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("tag,type,limit,priority\nW101.THP,hi,1,high\nW101.NOPE,hi,1,high\n"
                   "W999.CALC.X,event,,low\nW101.CALC.FILLAGE,lo,40,low\n")
    assert run(gateway, "validate", str(bad), lang="es") == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{bad}:3:1: la etiqueta 'W101.NOPE' no está")
    assert lines[1].startswith(f"{bad}:4:1: la etiqueta 'W999.CALC.X'")
    assert "problema(s) en los archivos de alarmas" in out.err


def test_apply_then_rollback(gateway, tmp_path, capsys):
    folder = alarm_dir(gateway.parent / "tagmaps")
    first = tmp_path / "rodpump.csv"
    shutil.copy(REPO / "alarms" / "rodpump.csv", first)
    assert run(gateway, "apply", str(first), "--note", "first") == 0
    assert store.current_version(folder) == 1
    second = tmp_path / "esp.csv"
    shutil.copy(REPO / "alarms" / "esp.csv", second)
    assert run(gateway, "apply", str(second)) == 0
    assert [p.name for p in store.active_files(folder)] == ["esp.csv", "rodpump.csv"]
    assert run(gateway, "rollback") == 0
    assert store.current_version(folder) == 3
    assert [p.name for p in store.active_files(folder)] == ["rodpump.csv"]
    out = capsys.readouterr().out
    assert "installed as version 1" in out and "version 1 reinstalled as version 3" in out
    assert run(gateway, "rollback", "9") == 1
    assert run(gateway, "versions") == 0
    assert "*   3" in capsys.readouterr().out


def test_apply_refuses_an_invalid_file_and_keeps_the_installed_set(gateway, tmp_path):
    folder = alarm_dir(gateway.parent / "tagmaps")
    before = store.current_version(folder)
    bad = tmp_path / "rodpump.csv"
    bad.write_text("tag,type,priority\nW101.THP,hi,high\n")
    assert run(gateway, "apply", str(bad)) == 1
    assert store.current_version(folder) == before


def test_usage_error_exits_2(gateway):
    with pytest.raises(SystemExit) as e:
        run(gateway, "apply")
    assert e.value.code == 2


def test_the_demo_installs_the_reference_alarms_and_starts_alarmd(tmp_path):
    from daemons.cli.cmd_demo import install_alarms, programs

    layout = prepare(tmp_path)
    install_tagmaps(layout)
    assert install_alarms(layout) == 1
    assert install_alarms(layout) == 1  # a reused --dir keeps its version
    assert len(store.active_files(alarm_dir(tmp_path / "tagmaps"))) == 7
    assert "alarmd" in [p.name for p in programs(layout)]
