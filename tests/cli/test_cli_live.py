"""`wellgate tags` against a real ring file, and `wellgate status` against status files."""

import json
import math
import time

import numpy as np

from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec
from daemons.core.service.status import StatusWriter


def make_ring(gateway, tagmap_version=1):
    run = gateway.root / "run"
    run.mkdir(exist_ok=True)
    slots = [SlotSpec("W1.THP", 0, "psi"), SlotSpec("W1.CHP", 0, "psi"),
             SlotSpec("W1.CARD_LOAD", 4, "lbf"), SlotSpec("W2.THP", 0, "psi")]
    return RingWriter.create(run / "acq.ring", slots, tagmap_version=tagmap_version)


def test_tags_json_has_the_documented_shape(gateway):
    ring = make_ring(gateway)
    ts = 1_764_000_000_123_000_000
    ring.write_batch(np.array([0, 1]), np.array([812.5, 95.0]), ts,
                     np.array([Quality.GOOD, Quality.BAD_NO_COMMUNICATION], dtype=np.uint32))
    ring.write_array(2, np.array([1.0, 2.0, 3.0, 4.0]), ts, int(Quality.GOOD))
    out = gateway.run("tags", "W1.*", "--json", check=True).stdout
    rows = {r["tag"]: r for r in json.loads(out)}
    assert set(rows) == {"W1.THP", "W1.CHP", "W1.CARD_LOAD"}
    assert rows["W1.THP"] == {"tag": "W1.THP", "value": 812.5, "units": "psi",
                              "quality": "good", "quality_detail": "good",
                              "ts": "2025-11-24T16:00:00.123Z"}
    assert rows["W1.CHP"]["quality"] == "bad"
    assert rows["W1.CHP"]["quality_detail"] == "no-communication"
    assert rows["W1.CARD_LOAD"]["value"] == [1.0, 2.0, 3.0, 4.0]
    table = gateway.run("tags", "W1.CHP", check=True).stdout
    assert "bad no-comm" in table and "95" in table
    ring.close()


def test_tags_never_written_are_null_and_waiting(gateway):
    ring = make_ring(gateway)
    rows = json.loads(gateway.run("tags", "W2.THP", "--json", check=True).stdout)
    assert rows[0]["value"] is None or math.isnan(rows[0]["value"])
    assert rows[0]["quality"] == "bad"
    ring.close()


def test_tags_table_fits_80_columns_and_filters(gateway):
    ring = make_ring(gateway)
    ring.write_batch(np.array([0, 3]), np.array([812.5, 1234.5678]), time.time_ns(),
                     int(Quality.GOOD))
    out = gateway.run("tags", "thp", check=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith("TAG") and len(lines) == 3
    assert all(len(line) <= 80 for line in lines)
    assert "812.5" in out and "1234.57" in out and "W1.CHP" not in out
    es = gateway.run("tags", "thp", lang="es", check=True).stdout
    assert es.startswith("ETIQUETA")
    none = gateway.run("tags", "nothing-like-this")
    assert none.returncode == 1
    ring.close()


def test_tags_without_any_ring_is_a_clear_error(gateway):
    proc = gateway.run("tags")
    assert proc.returncode == 1 and "no live values" in proc.stderr


def test_status_shows_running_and_dead_daemons(gateway):
    run = gateway.root / "run"
    alive = StatusWriter(run, "acqd", config_file=gateway.config, version="test")
    alive.set_state("ready")
    alive.loop()
    alive.write()
    out = gateway.run("status", check=True).stdout
    assert "acqd" in out and "ready" in out
    data = json.loads(gateway.run("status", "--json", check=True).stdout)
    assert data[0]["name"] == "acqd" and data[0]["alive"] is True
    # A status file left by a process that is gone shows as dead.
    status_file = run / "status" / "acqd.json"
    content = json.loads(status_file.read_text())
    content["pid"] = 2 ** 22 + 12345  # above pid_max: cannot be running
    status_file.write_text(json.dumps(content))
    assert "dead" in gateway.run("status", check=True).stdout
    alive.remove()
    assert gateway.run("status").returncode == 1
