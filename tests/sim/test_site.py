"""The site runner in-process: ports file, truth file, control socket, events, demo site."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pymodbus.client import ModbusSerialClient, ModbusTcpClient

from daemons.sim import control
from daemons.sim.background import SiteThread
from daemons.sim.site import PORTS_FILE, TRUTH_FILE, SimError
from daemons.sim.sitefile import load_site

from .conftest import HR_BASE, MODELS, make_site, wait_for

REPO = Path(__file__).resolve().parents[2]


def _truth(state_dir: Path) -> dict:
    return json.loads((state_dir / TRUTH_FILE).read_text())


def test_ports_file_tells_the_actual_ports_and_links(runner, site, tmp_path):
    info = json.loads((tmp_path / PORTS_FILE).read_text())
    assert {name: t["port"] for name, t in info["tcp"].items()} == site.tcp_ports
    assert info["tcp"]["gw2"]["unit"] == 2
    bus = info["buses"]["rs485-1"]
    assert bus["link"] == str(tmp_path / "ttyRS485-1")  # isolated: links inside the dir
    assert Path(bus["link"]).is_symlink()
    assert bus["units"] == {"rtu1": 1, "rtu2": 2}
    assert info["control"] == str(tmp_path / "sim.sock")


def test_truth_file_is_rewritten_with_site_time_and_model_truth(runner, site, tmp_path):
    first = wait_for(lambda: (tmp_path / TRUTH_FILE).exists() and _truth(tmp_path))
    assert set(first["devices"]) == {"rtu1", "rtu2", "gw1", "gw2", "solo"}
    assert first["devices"]["rtu2"]["model"] == "test_counter"
    assert first["devices"]["rtu2"]["wells"] == []
    later = wait_for(lambda: (t := _truth(tmp_path))["site_time"] > first["site_time"] and t)
    assert later["devices"]["gw1"]["truth"]["steps"] > first["devices"]["gw1"]["truth"]["steps"]
    assert abs(later["site_time"] - time.time()) < 30


def test_faults_and_events_are_recorded_in_the_truth_file(runner, site, tmp_path):
    before = time.time()
    runner.call(site.fault("gw1", "slow", delay_ms=50, duration_s=0.2))
    runner.call(site.event("solo", "bump", {"to": 77}))
    truth = _truth(tmp_path)  # rewritten at once, not on the next period
    kinds = [(e["type"], e.get("device"), e.get("kind") or e.get("event")) for e in
             truth["events"]]
    assert ("fault", "gw1", "slow") in kinds and ("event", "solo", "bump") in kinds
    assert all(e["time"] >= before for e in truth["events"])
    assert truth["devices"]["solo"]["truth"]["events"] == ["bump"]
    ended = wait_for(lambda: [e for e in _truth(tmp_path)["events"]
                              if e["type"] == "fault_end" and e["reason"] == "expired"])
    assert ended[0]["device"] == "gw1"
    assert _truth(tmp_path)["faults"] == []


def test_event_reaches_the_model_and_bad_events_are_refused(runner, site):
    runner.call(site.event("gw1", "bump", {"to": 4242}))
    client = ModbusTcpClient("127.0.0.1", port=site.tcp_ports["gw1"], timeout=1, retries=0)
    client.connect()
    try:
        assert client.read_holding_registers(0, count=1, device_id=1).registers == [4242]
        assert client.read_holding_registers(0, count=1, device_id=2).registers == [
            HR_BASE + 100]
    finally:
        client.close()
    reply = control.request(site.state_dir, {"cmd": "event", "device": "gw1",
                                             "event": "meteor", "args": {}})
    assert reply["ok"] is False
    assert "meteor" in reply["errors"][0]["en"] and "meteor" in reply["errors"][0]["es"]


def test_control_socket_status_fault_clear(runner, site):
    status = control.request(site.state_dir, {"cmd": "status"})
    assert status["ok"] and status["status"]["site"] == "test"
    names = {d["name"]: d for d in status["status"]["devices"]}
    assert names["rtu1"]["where"] == "rs485-1" and names["gw1"]["transport"] == "tcp"
    reply = control.request(site.state_dir, {"cmd": "fault", "target": "rs485-1",
                                             "kind": "drop", "unit": 2, "probability": 1})
    assert reply["ok"] and [f["device"] for f in reply["faults"]] == ["rtu2"]
    serial = ModbusSerialClient(str(site.pty_links["rs485-1"]), timeout=0.3, retries=0)
    serial.connect()
    try:
        assert not serial.read_holding_registers(0, count=1, device_id=1).isError()
        with pytest.raises(Exception):  # noqa: B017 - pymodbus raises ModbusIOException
            serial.read_holding_registers(0, count=1, device_id=2)
        reply = control.request(site.state_dir, {"cmd": "clear", "target": "rtu2"})
        assert [f["kind"] for f in reply["cleared"]] == ["drop"]
        assert wait_for(lambda: not serial.read_holding_registers(
            0, count=1, device_id=2).isError())
    finally:
        serial.close()


@pytest.mark.parametrize(("request_", "needle"), [
    ({"cmd": "fault", "target": "nope", "kind": "drop"}, "nope"),
    ({"cmd": "fault", "target": "gw1", "kind": "melt"}, "melt"),
    ({"cmd": "fault", "target": "gw1", "kind": "drop", "probability": 2}, "probability"),
    ({"cmd": "fault", "target": "gw1", "kind": "slow"}, "delay_ms"),
    ({"cmd": "fault", "target": "rtu1", "kind": "drop", "unit": 2}, "unit 1"),
    ({"cmd": "dance"}, "dance"),
    ("just a string", "cmd"),
])
def test_control_socket_rejects_bad_requests_in_both_languages(site, request_, needle):
    reply = control.request(site.state_dir, request_)
    assert reply["ok"] is False
    assert any(needle in e["en"] for e in reply["errors"]), reply
    assert all(e["es"] and e["es"] != e["en"] for e in reply["errors"])
    assert control.request(site.state_dir, {"cmd": "status"})["ok"]  # still serving


def test_truth_file_is_never_seen_half_written(runner, site, tmp_path):
    stop = threading.Event()

    def churn() -> None:  # every fault/clear rewrites the truth file at once
        while not stop.is_set():
            runner.call(site.fault("solo", "garbage", bytes=3))
            runner.call(site.clear("solo"))

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        reads = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            json.loads((tmp_path / TRUTH_FILE).read_text())  # raises if torn
            reads += 1
    finally:
        stop.set()
        worker.join()
    assert reads > 10


def test_a_second_simulator_in_the_same_dir_is_refused(runner, tmp_path):
    second = SiteThread(make_site(), state_dir=tmp_path, models=MODELS, isolated=True)
    with pytest.raises(SimError, match="already running"), second:
        pass
    assert control.request(tmp_path, {"cmd": "status"})["ok"]  # the first one is unharmed


def test_stop_removes_links_socket_and_ports_file(tmp_path, need_socat):
    with SiteThread(make_site(), state_dir=tmp_path, models=MODELS, isolated=True) as site:
        link = site.pty_links["rs485-1"]
        socat_pid = site.buses["rs485-1"].pair.pid
        assert link.exists() and (tmp_path / "sim.sock").exists()
    assert not link.exists() and not link.is_symlink()
    assert not (tmp_path / "sim.sock").exists()
    assert not (tmp_path / PORTS_FILE).exists()
    assert not Path(f"/proc/{socat_pid}").exists()
    assert _truth(tmp_path)["devices"]  # the truth stays for whoever measures against it


def test_demo_site_runs_and_every_device_answers(tmp_path, need_socat):
    devices = pytest.importorskip("daemons.sim.devices")
    site = load_site(REPO / "config" / "sim-site.toml")
    missing = sorted({d.model for d in site.devices} - set(devices.MODELS))
    if len(missing) == len({d.model for d in site.devices}):
        pytest.skip("no device model is written yet")
    # Run the devices whose models exist (all of them once daemons/sim/devices is done).
    from dataclasses import replace

    site = replace(site, devices=tuple(d for d in site.devices if d.model in devices.MODELS))
    with SiteThread(site, state_dir=tmp_path, isolated=True) as sim:
        time.sleep(1.5)  # let the physics run a few steps
        serial = ModbusSerialClient(str(sim.pty_links["rs485-1"]), baudrate=19200, timeout=2,
                                    retries=1)
        serial.connect()
        try:
            for name, dev in sim.devices.items():
                table = "hr" if dev.bank.valid["hr"].any() else "ir"
                address = int(np.flatnonzero(dev.bank.valid[table])[0])
                if dev.transport == "rtu":
                    client = serial
                else:
                    client = ModbusTcpClient("127.0.0.1", port=sim.tcp_ports[name], timeout=2)
                    client.connect()
                read = (client.read_holding_registers if table == "hr"
                        else client.read_input_registers)
                rr = read(address, count=1, device_id=dev.config.unit)
                assert not rr.isError(), (name, rr)
                assert len(rr.registers) == 1
                if client is not serial:
                    client.close()
        finally:
            serial.close()
        truth = wait_for(lambda: (t := _truth(tmp_path))["steps"] > 5 and t)
        assert set(truth["devices"]) == set(sim.devices)
        assert all("error" not in d["truth"] for d in truth["devices"].values())


def test_simsite_as_an_async_context_manager(tmp_path, need_socat):
    import asyncio

    from pymodbus.client import AsyncModbusTcpClient

    from daemons.sim.site import SimSite

    async def scenario() -> tuple[list[int], list[int], bool]:
        async with SimSite(make_site(), state_dir=tmp_path, models=MODELS,
                           isolated=True) as sim:
            client = AsyncModbusTcpClient("127.0.0.1", port=sim.tcp_ports["gw2"], timeout=1)
            await client.connect()
            try:
                rr = await client.read_holding_registers(5, count=2, device_id=2)
                await sim.fault("gw2", "exception", code=3)
                bad = await client.read_holding_registers(5, count=2, device_id=2)
                await sim.clear()
                again = await client.read_holding_registers(5, count=1, device_id=2)
            finally:
                client.close()
            return rr.registers, again.registers, bad.isError() and bad.exception_code == 3

    registers, again, refused = asyncio.run(scenario())
    assert registers == [HR_BASE + 105, HR_BASE + 106] and again == [HR_BASE + 105]
    assert refused
    assert not (tmp_path / "ttyRS485-1").exists()
