"""Uplink bytes per tag-hour measured on the running demo site (bench/sparkplug.py prints it).

    .venv/bin/python bench/sparkplug_site.py [--seconds N] [--profile satellite|default|both]

Two forwardd settings are measured, each on its own run of the site:
- ``satellite``: ``batch_seconds = 60`` and ``compression = "DEFLATE"`` (what a satellite
  or metered cellular link should use: live field data up to a minute late, alarm states
  and cards at once; docs/sparkplug.md);
- ``default``: as shipped (every tick, no compression): the bytes a 1 s live feed costs.

The demo stack of `wellgate demo --mqtt …` (the simulated field devices, acqd, calcd,
alarmd and forwardd; webd and opcuad are left out, they send nothing upstream) runs
against a private mosquitto on a free port.  A subscriber on ``spBv1.0/#`` (the
conformance checker's recorder, QoS 1 so it sees each message at the QoS it was
published with) counts the wire bytes of every MQTT PUBLISH forwardd sends after a
warm-up: fixed header + remaining length + topic length + topic (+ packet id at QoS 1)
+ payload.  Births during the window are counted too.

The JSON baselines carry exactly the samples forwardd sent (same report by exception,
same heartbeats), so the ratio is the encoding alone, not the deadbands:
- ``json_per_tag``: one message per tag change, ``{"tag","value","ts","quality"}`` on
  ``wellgate/<group>/<node>/<device>`` (compact separators, shortest float text; a card
  is a JSON array of numbers);
- ``json_per_device``: one message per device per timestamp,
  ``{"ts":…,"values":{"<tag>":value,…}}`` with ``"quality"`` only for a non-good tag (what
  batching gateways such as Kepware's IoT Gateway send): the stronger baseline;
- ``json_batched_deflate`` (satellite profile): those per-device documents gathered per
  device and batch period into one JSON array and DEFLATE-compressed, the same batching
  and compression as forwardd's: how much Sparkplug itself still saves.
For the default profile, DEFLATE is also estimated on the same messages: each received
payload compressed as forwardd's ``compression = "DEFLATE"`` does, kept plain where that
would not shrink it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

TREE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TREE))
sys.path.insert(0, str(TREE / "hil-tests"))

from sparkplug_checker import Recorder  # noqa: E402

from daemons.core.sparkplug import (  # noqa: E402
    DataType,
    compress,
    decode_payload,
    parse_topic,
    read_metric,
)

SITE_DAEMONS = ("sim", "acqd", "calcd", "alarmd", "forwardd")
PROFILES: dict[str, dict[str, Any]] = {
    "satellite": {"batch_seconds": 60.0, "compression": "DEFLATE"},
    "default": {},
}


def publish_wire_bytes(topic: str, payload_len: int, qos: int = 0) -> int:
    """Bytes of an MQTT 3.1.1 PUBLISH packet: fixed header byte, remaining length
    (1–4 bytes), topic length (2) + topic, packet id (2, QoS > 0), payload."""
    remaining = 2 + len(topic.encode()) + (2 if qos else 0) + payload_len
    size_len = 1
    while remaining >= 128 ** size_len:
        size_len += 1
    return 1 + size_len + remaining


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _json_value(datatype: int, value: Any) -> Any:
    """The value as a JSON gateway writes it: shortest text that round-trips the
    register's precision (float32 values are not padded to 17 digits)."""
    if isinstance(value, bool) or value is None:
        return value
    if datatype == DataType.Float:
        return float(str(np.float32(value)))
    if datatype == DataType.FloatArray:
        return [float(str(np.float32(v))) for v in value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def _start_mosquitto(root: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    conf = root / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("mosquitto did not start")


def _start_site(root: Path, port: int, mqtt: dict[str, Any]) -> list[subprocess.Popen]:
    import tomllib

    from daemons.cli import cmd_demo

    layout = cmd_demo.prepare(root, mqtt=f"mqtt://127.0.0.1:{port}", http_port=_free_port())
    if mqtt:
        gw = tomllib.loads(layout.gateway.read_text())
        gw["mqtt"].update(mqtt)
        layout.gateway.write_text(tomli_w.dumps(gw))
    cmd_demo.install_tagmaps(layout)
    cmd_demo.install_alarms(layout)
    env = {**os.environ, "PYTHONPATH": str(TREE), "NO_COLOR": "1"}
    env.pop("NOTIFY_SOCKET", None)
    procs = []
    for prog in cmd_demo.programs(layout):
        if prog.name in SITE_DAEMONS:
            procs.append(subprocess.Popen(list(prog.argv), cwd=str(root), env=env,
                                          stdout=prog.log.open("ab"),
                                          stderr=subprocess.STDOUT))
    return procs


def measure(messages: list[Any], window: tuple[float, float], batch_s: float = 0.0
            ) -> dict[str, Any]:
    """Wire bytes of the recorded messages whose arrival lies in *window*, against the
    JSON baselines of the same samples (*batch_s*: the batch period of
    ``json_batched_deflate``)."""
    births: dict[int, tuple[str, str, int]] = {}  # alias → (device, name, datatype)
    node_metrics: set[tuple[str, str]] = set()
    out: dict[str, Any] = defaultdict(int)
    per_device: dict[tuple[str, str, int], dict[str, Any]] = defaultdict(dict)
    for msg in messages:
        try:
            t = parse_topic(msg.topic)
        except Exception:
            continue
        if t.message_type in ("STATE", "NCMD", "DCMD"):
            continue
        device = t.device_id or "node"
        payload = decode_payload(msg.payload)
        counted = window[0] <= msg.at < window[1]
        for m in payload.metrics:
            if m.HasField("name") and m.HasField("alias"):
                births[m.alias] = (device, m.name, m.datatype)
                node_metrics.add((device, m.name))
        if not counted:
            continue
        raw = len(msg.payload)
        out["sparkplug"] += publish_wire_bytes(msg.topic, raw, msg.qos)
        seq = payload.seq if payload.HasField("seq") else None
        ts = payload.timestamp if payload.HasField("timestamp") else None
        deflated = min(raw, len(compress(msg.payload, "DEFLATE", seq=seq, timestamp_ms=ts)))
        out["sparkplug_deflate"] += publish_wire_bytes(msg.topic, deflated, msg.qos)
        out["messages"] += 1
        out[f"bytes_{t.message_type}"] += publish_wire_bytes(msg.topic, raw, msg.qos)
        if t.message_type not in ("NBIRTH", "DBIRTH", "NDATA", "DDATA"):
            continue
        topic = f"wellgate/{t.group_id}/{t.edge_node_id}/{device}"
        for m in payload.metrics:
            known = births.get(m.alias)
            if known is None or m.is_null:
                continue
            _, name, datatype = known
            mv = read_metric(m, datatype)
            if mv.value is None or isinstance(mv.value, bytes):
                continue
            quality = mv.properties.get("Quality", 192)
            qtext = {192: "good", 500: "uncertain"}.get(quality, "bad")
            value = _json_value(datatype, mv.value)
            doc = {"tag": name, "value": value, "ts": mv.timestamp_ms, "quality": qtext}
            out["json_per_tag"] += publish_wire_bytes(
                topic, len(json.dumps(doc, separators=(",", ":"))))
            batch = per_device[(topic, "", mv.timestamp_ms or 0)]
            batch[name] = value if qtext == "good" else {"value": value, "quality": qtext}
            out["samples"] += 1
    batches: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for (topic, _, ts), values in per_device.items():
        doc = {"ts": ts, "values": values}
        out["json_per_device"] += publish_wire_bytes(
            topic, len(json.dumps(doc, separators=(",", ":"))))
        batches[(topic, int(ts // (batch_s * 1000)) if batch_s else ts)].append(doc)
    for (topic, _), docs in batches.items():
        body = json.dumps(docs, separators=(",", ":")).encode()
        out["json_batched_deflate"] += publish_wire_bytes(
            topic, min(len(body), len(zlib.compress(body, 9))))
    out["tags"] = len(node_metrics)
    return dict(out)


def site_uplink(seconds: float = 180.0, warmup: float = 25.0, profile: str = "default"
                ) -> dict[str, Any]:
    """Run the demo site with forwardd's *profile* settings for warmup + seconds; bytes
    per tag-hour of each encoding."""
    mqtt = PROFILES[profile]
    batch_s = float(mqtt.get("batch_seconds", 0.0))
    with tempfile.TemporaryDirectory(prefix="wellgate-uplink-") as tmp:
        root = Path(tmp)
        broker, port = _start_mosquitto(root)
        procs: list[subprocess.Popen] = []
        rec = None
        try:
            rec = Recorder("127.0.0.1", port).start()
            procs = _start_site(root, port, mqtt)
            time.sleep(warmup)
            start = time.monotonic()
            time.sleep(seconds)
            end = time.monotonic()
            messages = rec.snapshot()
        finally:
            for p in reversed(procs):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
            if rec is not None:
                rec.stop()
            broker.terminate()
            broker.wait(10)
    out = measure(messages, (start, end), batch_s)
    out["profile"], out["settings"] = profile, mqtt
    if not out.get("tags") or not out.get("samples"):
        raise RuntimeError("forwardd sent no births or data: see the demo logs")
    hours = (end - start) / 3600
    for key in ("sparkplug", "sparkplug_deflate", "json_per_tag", "json_per_device",
                "json_batched_deflate"):
        out[f"{key}_per_tag_hour"] = out[key] / out["tags"] / hours
    out["seconds"] = end - start
    out["samples_per_tag_hour"] = out["samples"] / out["tags"] / hours
    return out


def print_site_uplink(up: dict[str, Any]) -> None:
    sp, per_tag = up["sparkplug_per_tag_hour"], up["json_per_tag_per_tag_hour"]
    settings = ", ".join(f"{k} = {v}" for k, v in up["settings"].items()) or "as shipped"
    print(f"uplink on the demo site, forwardd {up['profile']} ({settings}): "
          f"{sp:.0f} wire bytes per tag-hour = {per_tag / sp:.1f}x fewer than plain JSON "
          f"(one message per tag change), {up['json_per_device_per_tag_hour'] / sp:.1f}x "
          "fewer than JSON per device and time")
    print(f"  ({up['tags']} metrics, {up['seconds']:.0f} s, {up['samples_per_tag_hour']:.0f} "
          f"samples per tag-hour after report by exception, {up['messages']} Sparkplug "
          "messages)")
    print(f"  JSON, one message per tag change     {per_tag:9.0f}")
    print(f"  JSON, one message per device & time  {up['json_per_device_per_tag_hour']:9.0f}")
    if up["settings"].get("batch_seconds"):
        jb = up["json_batched_deflate_per_tag_hour"]
        print(f"  JSON per device, same batches+DEFLATE{jb:9.0f}   (Sparkplug "
              f"{jb / sp:.1f}x fewer)")
        print(f"  Sparkplug B, as sent                 {sp:9.0f}")
    else:
        print(f"  Sparkplug B, as sent                 {sp:9.0f}")
        d = up["sparkplug_deflate_per_tag_hour"]
        print(f"  Sparkplug B + DEFLATE (estimated)    {d:9.0f}   {per_tag / d:5.1f}x fewer "
              "than per-tag JSON")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--profile", choices=(*PROFILES, "both"), default="both")
    args = ap.parse_args()
    for profile in PROFILES if args.profile == "both" else (args.profile,):
        print_site_uplink(site_uplink(args.seconds, profile=profile))


if __name__ == "__main__":
    main()
