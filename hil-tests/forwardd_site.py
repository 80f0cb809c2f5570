"""Test harness for forwardd: a private mosquitto, a fake site writing rings, forwardd.

`Broker` runs its own mosquitto on a free loopback port (so a test may stop and start it);
`FakeSite` writes acq.ring (a field device ``pump1`` with its acqd health tag), calc.ring
and alarm.ring at 1 Hz on whole seconds, with values that change every sample, so every
sample must reach the cloud; `start_forwardd` runs ``python -m daemons.forwardd``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec

TREE = Path(__file__).resolve().parents[1]
GROUP, NODE, DEVICE = "G1", "edge1", "pump1"
ACQ_TAGS = ("P1.PRESS", "P1.TEMP", "P1.SPEED_SET", "_sys.pump1.1.comm")
CALC_TAGS = ("W1.RATE",)
ALARM_TAGS = ("P1.PRESS.ALARM.HI",)
CARD_TAG, CARD_POINTS = "W1.CARD", 8
TAGMAP = """\
tag,device,unit,table,address,type,order,scale,offset,units,scan,deadband,access,min,max,\
well,role,description
P1.PRESS,pump1,1,hr,0,float32,,1,0,psi,fast,0,r,0,5000,,,Discharge pressure
P1.TEMP,pump1,1,hr,2,float32,,1,0,degF,fast,0,r,0,400,,,Discharge temperature
P1.SPEED_SET,pump1,1,hr,4,float32,,1,0,spm,fast,0,rw,0,20,,,Speed setpoint
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.conf = root / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Broker:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class FakeSite:
    """Writes every tag once a second on the whole second; value = f(tag, second)."""

    def __init__(self, run_dir: Path, card: bool = False) -> None:
        """*card*: calc.ring also holds a card (`CARD_TAG`), a new one every 3 s."""
        run_dir.mkdir(parents=True, exist_ok=True)
        self.card = card
        self.acq = RingWriter.create(run_dir / "acq.ring", [SlotSpec(t) for t in ACQ_TAGS],
                                     tagmap_version=0, history_depth=600)
        self.calc = RingWriter.create(run_dir / "calc.ring", [SlotSpec(t) for t in CALC_TAGS]
                                      + ([SlotSpec(CARD_TAG, CARD_POINTS)] if card else []),
                                      tagmap_version=0, history_depth=600)
        self.alarm = RingWriter.create(run_dir / "alarm.ring",
                                       [SlotSpec(t) for t in ALARM_TAGS], tagmap_version=0,
                                       history_depth=600)
        self.written: dict[str, dict[int, Any]] = {t: {} for t in
                                                   (*ACQ_TAGS, *CALC_TAGS, *ALARM_TAGS,
                                                    CARD_TAG)}
        self.comm = 1.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def value(tag: str, second: int) -> float:
        return float(hash(tag) % 1000) + (second % 100000) * 0.5

    def write_once(self, second: int) -> None:
        ts = second * 1_000_000_000
        for ring, tags in ((self.acq, ACQ_TAGS), (self.calc, CALC_TAGS),
                           (self.alarm, ALARM_TAGS)):
            values = []
            for t in tags:
                v = self.comm if t.endswith(".comm") else (
                    float(second % 2) if ".ALARM." in t else self.value(t, second))
                values.append(v)
                if not t.endswith(".comm"):
                    self.written[t][second * 1000] = v
            ring.write_batch(ring.indices(list(tags)), np.array(values), ts,
                             int(Quality.GOOD))
        if self.card and second % 3 == 0:
            # float32-exact points, different for every card
            card = [float(second % 1000) + k * 0.25 for k in range(CARD_POINTS)]
            self.calc.write_array(self.calc.indices([CARD_TAG])[0], np.array(card), ts,
                                  int(Quality.GOOD))
            self.written[CARD_TAG][second * 1000] = card

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            second = int(now) + 1
            if self._stop.wait(second - now):
                return
            self.write_once(second)

    def start(self) -> FakeSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for r in (self.acq, self.calc, self.alarm):
            r.close()


def write_config(root: Path, port: int, **mqtt: object) -> Path:
    (root / "tagmaps").mkdir(parents=True, exist_ok=True)
    (root / "tagmaps" / "pump1.csv").write_text(TAGMAP)
    # every sample must reach the cloud: no heartbeats, and no relative deadband for the
    # calc tag (W1.RATE has no tag-map row; its 0.5 steps are below 0.1 % of its value)
    opts = {"enabled": True, "host": "127.0.0.1", "port": port, "keepalive": 5,
            "heartbeat": 0, "deadband_percent": 0, **mqtt}
    lines = []
    for k, v in opts.items():
        if isinstance(v, bool):
            lines.append(f"{k} = {'true' if v else 'false'}")
        elif isinstance(v, (int, float)):
            lines.append(f"{k} = {v}")
        elif isinstance(v, (list, tuple)):
            lines.append(f"{k} = [{', '.join(repr(x).replace(chr(39), chr(34)) for x in v)}]")
        else:
            lines.append(f'{k} = "{v}"')
    text = f"""[gateway]
site = "test"
group_id = "{GROUP}"
edge_node_id = "{NODE}"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[scan.fast]
interval = 1.0

[[device]]
name = "pump1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = 5020
unit = 1

[mqtt]
{chr(10).join(lines)}

[service.forwardd]
metrics_port = 0
"""
    path = root / "gateway.toml"
    path.write_text(text)
    return path


def start_forwardd(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(TREE), "NO_COLOR": "1"}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen([sys.executable, "-m", "daemons.forwardd", "--config", str(config)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env,
                            cwd=str(config.parent))


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(20)
