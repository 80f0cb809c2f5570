"""The calcd component in-process: reload keeps running state, a restart restores it from
calc-state.db, an invalid new tag map is refused and the running one kept."""

from __future__ import annotations

import asyncio
import shutil
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

from daemons.calcd.main import Calculations
from daemons.core.config import load_config
from daemons.core.service import DaemonMetrics, ServiceContext, SystemdNotifier
from daemons.core.service.logsetup import get_logger

from .simfeed import REPO

KEY = ("gas_lift.performance", "W103")
STATE = {"history": [900.0] * 3, "oil_history": [600.0] * 3,
         "bins": {"900": [6000.0, 10.0]}, "fitted": 1234.0}


def make_config(root: Path) -> Path:
    gw = tomllib.loads((REPO / "config" / "gateway.toml").read_text())
    gw["paths"] = {"runtime_dir": str(root / "run"), "state_dir": str(root / "state"),
                   "tagmap_dir": str(root / "tagmaps")}
    gw["service"] = {"calcd": {"metrics_port": 0}}
    (root / "tagmaps").mkdir(parents=True, exist_ok=True)
    for f in ("glc1.csv", "annuli1.csv"):
        shutil.copy(REPO / "tagmaps" / f, root / "tagmaps" / f)
    path = root / "gateway.toml"
    path.write_text(tomli_w.dumps(gw))
    return path


def start(path: Path) -> Calculations:
    config = load_config(path)
    ctx = ServiceContext("calcd", config, path, log=get_logger("test"),
                         metrics=DaemonMetrics("calcd", "test", process=False),
                         notifier=SystemdNotifier(None), status=None)
    comp = Calculations(config)
    asyncio.run(comp.start(ctx))
    comp.ctx = ctx
    return comp


@pytest.fixture
def comp(tmp_path):
    c = start(make_config(tmp_path))
    yield c
    asyncio.run(c.close())


def test_reload_keeps_running_state_and_refuses_a_bad_map(comp):
    comp.engine.import_state({KEY: STATE})
    comp.cycle(time.time_ns(), int(time.time()) * 10**9)
    asyncio.run(comp.reload(load_config(comp.config.source), comp.ctx))
    assert comp.engine.export_state()[KEY]["bins"] == STATE["bins"]
    bad = comp.config.paths.tagmap_dir / "bad.csv"
    bad.write_text("tag,device,table,address,type\nW103.X,nodevice,hr,0,uint16\n")
    before = comp.engine
    asyncio.run(comp.reload(load_config(comp.config.source), comp.ctx))
    assert comp.engine is before  # kept the running one
    bad.unlink()


def test_restart_restores_state_from_the_database(tmp_path):
    path = make_config(tmp_path)
    first = start(path)
    first.engine.import_state({KEY: STATE})
    asyncio.run(first.close())  # saves
    second = start(path)
    try:
        assert second.engine.export_state()[KEY]["fitted"] == 1234.0
        out = second.engine.outputs
        second.cycle(time.time_ns(), int(time.time()) * 10**9)
        assert out.names.index("W103.CALC.OPTIMUM_INJECTION") >= 0
    finally:
        asyncio.run(second.close())
