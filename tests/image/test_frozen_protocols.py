"""The frozen opcuad and forwardd talk to real peers: asyncua and protobuf load their parts
dynamically (generated classes, crypto back ends), so READY alone proves little.

opcuad serves its endpoint to an asyncua client (security None and anonymous enabled
read-only, as in the demo); forwardd publishes its NBIRTH to our own mosquitto, decoded
with the venv's Sparkplug codec.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec

from .test_frozen_site import stop, wait_for

GATEWAY = """\
[gateway]
site = "frozen protocols"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[opcua]
bind = "127.0.0.1"
port = {opcua}
allow_none = true
anonymous = true

[mqtt]
enabled = true
servers = ["mqtt://127.0.0.1:{mqtt}"]
group_id = "FROZEN"
edge_node_id = "gw1"

[service.opcuad]
metrics_port = 0

[service.forwardd]
metrics_port = 0
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(tmp_path: Path):
    ports = {"opcua": free_port(), "mqtt": free_port()}
    (tmp_path / "tagmaps").mkdir()
    (tmp_path / "run").mkdir()
    config = tmp_path / "gateway.toml"
    config.write_text(GATEWAY.format(**ports))
    ring = RingWriter.create(tmp_path / "run" / "calc.ring",
                             [SlotSpec("W101.CALC.FILLAGE", units="%")], tagmap_version=0,
                             history_depth=16)
    ring.write_batch(ring.indices(["W101.CALC.FILLAGE"]), np.array([87.5]), time.time_ns(),
                     int(Quality.GOOD))
    yield config, ports
    ring.close()


def test_frozen_opcuad_serves_an_asyncua_client(image, site, tmp_path):
    from asyncua import Client

    config, ports = site
    log = tmp_path / "opcuad.log"
    proc = image.start("opcuad", "--config", str(config), home=tmp_path, log=log)
    url = f"opc.tcp://127.0.0.1:{ports['opcua']}/wellgate"

    async def namespaces() -> list[str] | None:
        client = Client(url, timeout=5)
        try:
            await client.connect()
        except (TimeoutError, OSError):
            return None
        try:
            return await client.get_namespace_array()
        finally:
            await client.disconnect()

    try:
        found = wait_for(lambda: proc.poll() is None and asyncio.run(namespaces()), 60,
                         "the frozen opcuad's endpoint", log)
        assert "urn:wellgate:frozen protocols" in found
        # The standard nodes come from the node file `make image` put into the bundle:
        # no build at the first start, none in memory.
        text = log.read_text()
        listening = next(line for line in text.splitlines() if '"listening"' in line)
        bundled = image.dir / "_internal" / "daemons" / "opcuad" / "standard-nodes"
        assert f'"standard_space": "{bundled}/opcua-standard-nodes-' in listening, listening
        assert "file built" not in text and "building it in memory" not in text
        assert not list((tmp_path / "state").glob("opcua-standard-nodes-*"))
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]


def test_frozen_opcuad_builds_the_node_file_when_the_images_is_damaged(image, site, tmp_path):
    """A forked child of the frozen program builds it (no `python -m` in the bundle)."""
    config, _ = site
    bundled = image.dir / "_internal" / "daemons" / "opcuad" / "standard-nodes"
    copy = tmp_path / "image"
    shutil.copytree(image.dir, copy, symlinks=True)
    node_file = next((copy / bundled.relative_to(image.dir)).glob("*.bin"))
    node_file.write_bytes(node_file.read_bytes()[:1000])  # truncated
    log = tmp_path / "opcuad.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([str(copy / "opcuad"), "--config", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=tmp_path,
                                env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        wait_for(lambda: proc.poll() is None and '"listening"' in log.read_text(), 60,
                 "the frozen opcuad", log)
        text = log.read_text()
        assert "the image's OPC-UA standard address space file is not usable" in text
        assert "OPC-UA standard address space file built" in text, text[-3000:]
        assert list((tmp_path / "state").glob("opcua-standard-nodes-*.bin"))
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]


def test_frozen_forwardd_publishes_its_birth(image, site, tmp_path):
    import paho.mqtt.client as mqtt

    from daemons.core.sparkplug import decode_payload

    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    config, ports = site
    broker = subprocess.Popen([mosquitto, "-p", str(ports["mqtt"])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    births: list[tuple[str, bytes]] = []
    sub = mqtt.Client()  # paho 1.x and 2.x (pysparkplug's dependency)
    sub.on_message = lambda _c, _u, msg: births.append((msg.topic, msg.payload))
    log = tmp_path / "forwardd.log"
    proc = None
    try:
        wait_for(lambda: _listening(ports["mqtt"]), 15, "mosquitto")
        sub.connect("127.0.0.1", ports["mqtt"])
        sub.subscribe("spBv1.0/FROZEN/#")
        sub.loop_start()
        time.sleep(0.3)  # the subscription is in place before forwardd's first birth
        proc = image.start("forwardd", "--config", str(config), home=tmp_path, log=log)
        wait_for(lambda: proc.poll() is None and any(
            t == "spBv1.0/FROZEN/NBIRTH/gw1" for t, _ in births), 60,
            "the frozen forwardd's NBIRTH", log)
        payload = decode_payload(next(p for t, p in births if t.endswith("/NBIRTH/gw1")))
        names = {m.name for m in payload.metrics}
        assert "bdSeq" in names and "Node Control/Rebirth" in names
    finally:
        code = stop(proc) if proc is not None else 0
        sub.loop_stop()
        broker.terminate()
        broker.wait(10)
    assert code == 0, log.read_text()[-3000:]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
