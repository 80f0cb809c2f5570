"""Sparkplug B benchmarks (forwardd's part; hostd's insert rate is added beside it).

    .venv/bin/python bench/sparkplug.py [--quick]

- uplink bytes per tag-hour measured on the running demo site (bench/sparkplug_site.py:
  the demo stack with forwardd against a private mosquitto, every PUBLISH counted) against
  JSON over MQTT of the same samples — printed first, for forwardd's satellite-link
  settings (batch_seconds = 60, DEFLATE) and for the defaults (every tick, plain);
- the same from synthetic 1 Hz signals through the demo's tag maps and forwardd's encoder,
  against JSON sending every sample (no report by exception);
- forwardd's CPU (share of one core) at 10,000 and 100,000 metric changes per second,
  measured on a real forwardd process publishing to the local mosquitto (127.0.0.1:1883);
- replay rate of a backlog against real time.
Each part is a function so hostd's part can sit beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TREE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TREE))

from daemons.core.config import load_config  # noqa: E402
from daemons.core.quality import Quality  # noqa: E402
from daemons.core.ring import RingWriter, SlotSpec  # noqa: E402
from daemons.core.tagmap import TagMapContext, load_tagmaps  # noqa: E402
from daemons.forwardd.catalog import build_catalog, to_value  # noqa: E402
from daemons.forwardd.forward import Rbe  # noqa: E402
from daemons.forwardd.outbox import Outbox  # noqa: E402
from daemons.forwardd.session import EdgeSession  # noqa: E402

MQTT_OVERHEAD = 5  # fixed header + topic length + (QoS 0: no packet id), roughly


def _signal(rng: random.Random, tag: object, n: int) -> list[float]:
    """A plausible 1 Hz field signal, chosen before measuring: a level with a slow random
    drift (0.02 %/s) and transmitter noise (0.1 % of the level, 1 sigma), quantised to the
    register's resolution (its scale; float32 registers keep 3 decimals); booleans flip
    about once every 10 minutes."""
    kind, scale = getattr(tag, "type", "float32"), getattr(tag, "scale", 1.0) or 1.0
    if kind in ("bool", "bit"):
        out, v = [], 0.0
        for _ in range(n):
            if rng.random() < 1 / 600:
                v = 1.0 - v
            out.append(v)
        return out
    step = 0.001 if kind.startswith("float") else abs(scale)
    level, out = rng.uniform(50, 3000), []
    for _ in range(n):
        level += rng.gauss(0, level * 0.0002)
        out.append(round((level + rng.gauss(0, level * 0.001)) / step) * step)
    return out


def uplink_bytes_per_tag_hour(seconds: int = 600) -> dict[str, float]:
    """Bytes per tag-hour: every tag of the demo site at 1 Hz for `seconds`, through the
    tag maps' deadbands (report by exception) and forwardd's encoder; JSON sends every
    sample (what a plain JSON-over-MQTT gateway does)."""
    cfg = load_config(TREE / "config" / "gateway.toml")
    tagmap = load_tagmaps(sorted((TREE / "tagmaps").glob("*.csv")),
                          TagMapContext.from_config(cfg))
    tags = [t for t in tagmap if not t.is_array]
    rng = random.Random(14)
    series = np.array([_signal(rng, t, seconds) for t in tags])
    entries = [(t.name, "acq", t.units, False) for t in tags]
    catalog = build_catalog(entries, tagmap, cfg.mqtt, tuple(cfg.devices))
    order = np.array([catalog.by_name[t.name] for t in tags])
    results = {}
    for label, compression in (("sparkplug", None), ("sparkplug_deflate", "DEFLATE")):
        session = EdgeSession("G", "edge", catalog, compression=compression)
        rbe = Rbe(np.array([m.deadband for m in catalog.metrics]),
                  np.array([m.heartbeat for m in catalog.metrics]),
                  relative=np.array([m.relative for m in catalog.metrics]))
        total = 0
        t0 = 1_733_000_000
        for s in range(seconds):
            values = np.empty(len(tags))
            values[order] = series[:, s]
            ts = np.full(len(tags), (t0 + s) * 1_000_000_000, dtype=np.int64)
            idx = rbe.select(values, ts, np.zeros(len(tags), dtype=np.uint32), float(s))
            by_dev: dict[str, list] = {}
            for i in idx.tolist():
                m = catalog.metrics[i]
                by_dev.setdefault(m.device, []).append(
                    (i, (t0 + s) * 1000, to_value(m.datatype, values[i]), 0, False))
            for dev, items in by_dev.items():
                topic, payload = session.data(dev, items, (t0 + s) * 1000)
                total += len(topic) + len(payload) + MQTT_OVERHEAD
        results[label] = total / len(tags) / (seconds / 3600)
    total = 0
    for i, t in enumerate(tags):
        topic = f"wellgate/edge/{t.device}/{t.name}"
        for s in range(seconds):
            doc = {"ts": (1_733_000_000 + s) * 1000, "value": float(series[i, s]),
                   "quality": "good"}
            total += len(topic) + len(json.dumps(doc)) + MQTT_OVERHEAD
    results["json"] = total / len(tags) / (seconds / 3600)
    results["tags"] = len(tags)
    return results


def _config(root: Path, port: int) -> Path:
    (root / "tagmaps").mkdir(parents=True, exist_ok=True)
    path = root / "gateway.toml"
    path.write_text(f"""[gateway]
site = "bench"
[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"
[mqtt]
enabled = true
host = "127.0.0.1"
port = {port}
group_id = "bench"
edge_node_id = "bench-{os.getpid()}-{port}-{time.monotonic_ns() % 100000}"
keepalive = 30
heartbeat = 0
deadband_percent = 0
[service.forwardd]
metrics_port = 0
""")
    return path


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def forwardd_cpu(changes_per_s: int, seconds: float = 20.0, port: int = 1883) -> float:
    """Share of one core forwardd uses while `changes_per_s` tags change once a second."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = _config(root, port)
        (root / "run").mkdir()
        ring = RingWriter.create(root / "run" / "acq.ring",
                                 [SlotSpec(f"T{i:06d}") for i in range(changes_per_s)],
                                 tagmap_version=0, history_depth=4)
        idx = np.arange(changes_per_s)
        env = {**os.environ, "PYTHONPATH": str(TREE)}
        env.pop("NOTIFY_SOCKET", None)
        proc = subprocess.Popen([sys.executable, "-m", "daemons.forwardd", "--config",
                                 str(config)], env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            base = np.random.default_rng(1).uniform(0, 1000, changes_per_s)
            second = int(time.time()) + 1
            start_cpu = start_wall = None
            warm = 12  # births of 100,000 metrics take a few seconds: measure after
            while True:
                time.sleep(max(0.0, second - time.time()))
                ring.write_batch(idx, base + second % 1000, second * 1_000_000_000,
                                 int(Quality.GOOD))
                if second - int(start_wall or second) >= seconds and start_wall:
                    break
                warm -= 1
                if warm == 0:
                    start_cpu, start_wall = _cpu_s(proc.pid), time.time()
                second += 1
            used = _cpu_s(proc.pid) - start_cpu
            return used / (time.time() - start_wall)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            ring.close()


def replay_rate(tags: int = 300, hours: float = 1.0, port: int = 1883) -> dict[str, float]:
    """A backlog of `hours` of 1 Hz data of `tags` tags: how fast forwardd sends it while
    the same tags keep changing once a second (live data goes first)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = _config(root, port)
        (root / "run").mkdir()
        names = [f"T{i:04d}" for i in range(tags)]
        ring = RingWriter.create(root / "run" / "acq.ring", [SlotSpec(n) for n in names],
                                 tagmap_version=0, history_depth=4)
        ring.write_batch(np.arange(tags), np.zeros(tags), time.time_ns(), int(Quality.GOOD))
        box = Outbox(root / "state", 1 << 34)
        t0 = int(time.time() - hours * 3600) * 1000
        seconds = int(hours * 3600)
        for s0 in range(0, seconds, 60):
            box.append([(2, n, t0 + s * 1000, float(s), 0) for s in range(s0, s0 + 60)
                        for n in names])
        depth = box.depth
        box.close()
        env = {**os.environ, "PYTHONPATH": str(TREE)}
        env.pop("NOTIFY_SOCKET", None)
        started = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "daemons.forwardd", "--config",
                                 str(config)], env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            status = root / "run" / "status" / "forwardd-cloud.json"
            tick = 0
            while time.time() - started < 600:
                time.sleep(0.5)
                tick += 1
                if tick % 2 == 0:  # live data keeps coming at 1 Hz during the replay
                    ring.write_batch(np.arange(tags), np.full(tags, float(tick)),
                                     time.time_ns(), int(Quality.GOOD))
                try:
                    doc = json.loads(status.read_text())
                except (OSError, ValueError):
                    continue
                # every row sent once (rows then wait out the rolling window in the outbox)
                if doc["connected"] and doc["outbox"]["depth"] == doc["outbox"]["inflight"]:
                    break
            took = time.time() - started
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            ring.close()
        return {"samples": depth, "seconds": took, "samples_per_s": depth / took,
                "x_real_time": seconds / took}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    ap.add_argument("--port", type=int, default=1883, help="local mosquitto port")
    ap.add_argument("--site-seconds", type=float, default=None,
                    help="how long the demo site is measured per profile (default 240, "
                    "--quick 120)")
    args = ap.parse_args()
    from sparkplug_site import PROFILES, print_site_uplink, site_uplink

    for profile in PROFILES:
        print_site_uplink(site_uplink(args.site_seconds or (120 if args.quick else 240),
                                      profile=profile))
    up = uplink_bytes_per_tag_hour(120 if args.quick else 600)
    print(f"uplink, synthetic signals, {up['tags']} demo tags at 1 Hz, bytes per tag-hour "
          "(JSON: every sample):")
    print(f"  plain JSON over MQTT      {up['json']:10.0f}")
    print(f"  Sparkplug B (RBE)         {up['sparkplug']:10.0f}   "
          f"{up['json'] / up['sparkplug']:.1f}x fewer")
    print(f"  Sparkplug B + DEFLATE     {up['sparkplug_deflate']:10.0f}   "
          f"{up['json'] / up['sparkplug_deflate']:.1f}x fewer")
    for rate in (10_000, 100_000):
        share = forwardd_cpu(rate, 10 if args.quick else 20, args.port)
        print(f"forwardd CPU at {rate:,} metric changes/s: {share * 100:.1f} % of one core")
    r = replay_rate(300, 0.25 if args.quick else 1.0, port=args.port)
    print(f"replay: {r['samples']:,} samples in {r['seconds']:.1f} s = "
          f"{r['samples_per_s']:,.0f} samples/s, {r['x_real_time']:.0f}x real time "
          f"(300 tags at 1 Hz)")
    # hostd's insert rate (all figures: bench/hostd.py)
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_hostd", TREE / "bench" / "hostd.py")
    bench_hostd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_hostd)
    h = bench_hostd.insert_rate(args.quick)
    print(f"hostd insert rate into PostgreSQL: {h['pipeline']:,.0f} samples/s from Sparkplug "
          f"bytes (hostd {h['hostd_us']:.1f} µs + PostgreSQL {h['postgresql_us']:.1f} µs CPU "
          f"per sample), {h['mqtt']:,.0f} samples/s behind mosquitto (target ≥ 100,000)")


if __name__ == "__main__":
    main()
