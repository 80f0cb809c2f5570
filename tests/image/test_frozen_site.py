"""The frozen acqd polls the simulated site, READY reaches the service manager, and the
frozen `wellgate tags` reads its ring — simulator, daemon and CLI all from the bundle,
no virtualenv (issue 15)."""

from __future__ import annotations

import json
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

TREE = Path(__file__).resolve().parents[2]
# The first test of a session builds the image (image/build.py; reused afterwards):
# longer than the suite's per-test timeout on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)

SITE = """\
[site]
name = "frozen-test"
seed = 5

[[device]]
name = "gw1"
model = "test_counter"
unit = 1
tcp_port = 0
"""

GATEWAY = """\
[gateway]
site = "frozen image test"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[scan.fast]
interval = 1.0

[[device]]
name = "gw1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {port}
unit = 1
timeout = 0.5

[service.acqd]
metrics_port = 0
"""

# The test slave (daemons/sim/testmodel.py): hr[i] = 1000 + i, ir[10] counts steps.
TAGMAP = """\
tag,device,table,address,type,scale,scan,units,access,min,max,well,role
G.HR0,gw1,hr,0,uint16,,,,,,,,
G.HR7,gw1,hr,7,uint16,,,,,,,,
G.COUNTER,gw1,ir,10,uint16,,,,,,,,
"""


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{detail}")


class NotifySocket:
    """What systemd listens on for sd_notify, with the sender's credentials."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.2)

    def messages(self) -> list[tuple[int, str]]:
        """(sender pid, text) of every datagram received so far."""
        out = []
        while True:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                return out
            pid = next((struct.unpack("iII", d[:12])[0] for level, kind, d in anc
                        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), -1)
            out.append((pid, data.decode()))


def test_frozen_acqd_polls_the_simulated_site_and_wellgate_tags_reads_it(image, tmp_path):
    (tmp_path / "site.toml").write_text(SITE)
    sim_log, acqd_log = tmp_path / "sim.log", tmp_path / "acqd.log"
    sim = image.start("wellgate-sim", "run", "--site", str(tmp_path / "site.toml"), "--dir",
                      str(tmp_path / "sim"), "--models", "daemons.sim.testmodel:MODELS",
                      "--isolated", home=tmp_path, log=sim_log)
    acqd = None
    try:
        port = wait_for(lambda: (m := re.search(r"gw1\s+tcp\s+127\.0\.0\.1:(\d+)",
                                                sim_log.read_text())) and int(m.group(1)),
                        60, "the frozen simulator's port", sim_log)
        config = tmp_path / "gateway.toml"
        config.write_text(GATEWAY.format(port=port))
        (tmp_path / "tagmaps").mkdir()
        (tmp_path / "frozen.csv").write_text(TAGMAP)
        applied = image.run("wellgate", "--config", str(config), "--lang", "en", "tagmap",
                            "apply", str(tmp_path / "frozen.csv"), "--note", "frozen test",
                            home=tmp_path)
        assert applied.returncode == 0, applied.stdout + applied.stderr

        notify = NotifySocket(tmp_path / "notify.sock")
        acqd = image.start("acqd", "--config", str(config), "--log-format", "json",
                           home=tmp_path, log=acqd_log, NOTIFY_SOCKET=str(notify.path))
        received: list[tuple[int, str]] = []

        def ready() -> bool:
            received.extend(notify.messages())
            assert acqd.poll() is None, acqd_log.read_text()
            return any("READY=1" in text for _, text in received)

        wait_for(ready, 60, "READY=1 from the frozen acqd", acqd_log)
        senders = {pid for pid, text in received if "READY=1" in text}
        # The pid that sent READY is the bootloader's or its Python child's: either way
        # it belongs to the process tree systemd started (NotifyAccess=all covers both).
        assert senders and all(pid > 0 for pid in senders)

        def rows() -> dict | None:
            done = image.run("wellgate", "--config", str(config), "--lang", "en", "tags",
                             "G.*", "--json", home=tmp_path)
            assert done.returncode in (0, 1), done.stderr
            if done.returncode != 0:
                return None
            table = {r["tag"]: r for r in json.loads(done.stdout)}
            good = all(r.get("quality", "").lower().startswith("good") for r in table.values())
            return table if len(table) == 3 and good else None

        table = wait_for(rows, 30, "good values in the ring through frozen `wellgate tags`",
                         acqd_log)
        assert table["G.HR0"]["value"] == 1000 and table["G.HR7"]["value"] == 1007
        first = table["G.COUNTER"]["value"]
        wait_for(lambda: (r := rows()) and r["G.COUNTER"]["value"] != first, 15,
                 "the counter to advance (acqd keeps polling)", acqd_log)
        assert stop(acqd) == 0, acqd_log.read_text()[-3000:]
        stopping = [text for _, text in notify.messages() if "STOPPING=1" in text]
        assert stopping, "STOPPING=1 was not sent"
    finally:
        if acqd is not None:
            stop(acqd)
        stop(sim)


WEB_GATEWAY = """\
[gateway]
site = "frozen web test"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[web]
bind = "127.0.0.1"
port = {port}

[service.webd]
metrics_port = 0
"""


def test_frozen_webd_serves_its_api(image, tmp_path):
    """Litestar and uvicorn load their parts dynamically: the frozen webd answers HTTP
    (the OpenAPI schema, and a refusal without a session), not only READY."""
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "gateway.toml"
    config.write_text(WEB_GATEWAY.format(port=port))
    (tmp_path / "tagmaps").mkdir()
    log = tmp_path / "webd.log"
    webd = image.start("webd", "--config", str(config), home=tmp_path, log=log)
    base = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only

    def schema() -> dict | None:
        assert webd.poll() is None, log.read_text()
        try:
            with direct.open(f"{base}/schema/openapi.json", timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            return None

    try:
        spec = wait_for(schema, 60, "the frozen webd's OpenAPI schema", log)
        assert "/api/status" in spec["paths"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            direct.open(f"{base}/api/status", timeout=5)
        assert refused.value.code == 401
        assert "log in first" in json.loads(refused.value.read())["error"]["en"]
        if (TREE / "daemons" / "webd" / "templates").is_dir():  # the HTML pages, once merged
            with direct.open(f"{base}/login", timeout=5) as page:
                assert page.status == 200 and b"<form" in page.read()
    finally:
        assert stop(webd) == 0, log.read_text()[-3000:]
