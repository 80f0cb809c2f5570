"""`wellgate history`: import, trends (table, CSV, JSON), export round trip — as a user runs it."""

import json
import time

import numpy as np

TAGMAP = """\
tag,device,table,address,type,scale,offset,units
W1.THP,plc1,hr,0,int16,0.1,0,psi
W1.TEMP,plc1,hr,1,uint16,0.5,-40,degF
W1.RATE,plc1,ir,0,float32,1,0,bbl/d
"""
NS = 1_000_000_000


def _install(gateway):
    (gateway.root / "tagmaps").mkdir(exist_ok=True)
    (gateway.root / "tagmaps" / "plc1.csv").write_text(TAGMAP)


def _iso(ts_ns):
    return str(np.datetime64(int(ts_ns), "ns").astype("datetime64[ms]")) + "Z"


def _recent_csv(gateway, n=3_600, spike_at=1_234):
    """An hour of 1 Hz THP ending a minute ago (so relative times find it)."""
    end = (time.time_ns() // NS - 60) * NS
    ts = end - np.arange(n)[::-1] * NS
    raw = (1000 + 100 * np.sin(np.arange(n) / 300)).astype(int)
    raw[spike_at] = 3000
    lines = ["tag,ts,value,quality"]
    lines += [f"W1.THP,{_iso(t)},{r / 10:.1f},good" for t, r in zip(ts, raw, strict=True)]
    lines += [f"W1.RATE,{_iso(t)},{100 + i * 0.25},uncertain" for i, t in enumerate(ts[:10])]
    return gateway.write("in.csv", "\n".join(lines) + "\n"), ts, raw


def test_import_then_trend_as_table_json_and_csv(gateway):
    _install(gateway)
    path, ts, raw = _recent_csv(gateway)
    proc = gateway.run("history", "import", str(path), check=True)
    assert "imported 3610 rows of 2 tag(s)" in proc.stdout
    assert (gateway.root / "state" / "import-history.db").exists()

    table = gateway.run("history", "W1.THP", "--start", "-2h", "--points", "100", check=True)
    lines = table.stdout.splitlines()
    assert lines[0].startswith("W1.THP (psi): ") and "decimated" in lines[0]
    assert all(len(line) <= 80 for line in lines)
    assert "300" in table.stdout  # the spike, 3000 raw * 0.1

    js = json.loads(gateway.run("history", "W1.THP", "--start", "-2h", "--end", "now",
                                "--points", "100", "--json", check=True).stdout)
    assert 2 < len(js) <= 100
    assert max(p["value"] for p in js) == 300.0
    assert {"ts", "value", "quality", "min", "max"} <= set(js[0])
    assert all(p["min"] <= p["value"] <= p["max"] for p in js)

    raw_js = json.loads(gateway.run("history", "W1.THP", "--start", _iso(ts[10]),
                                    "--end", _iso(ts[20]), "--json", check=True).stdout)
    assert [p["ts"] for p in raw_js] == [_iso(t).replace(".000", "") for t in ts[10:20]]
    assert [p["value"] for p in raw_js] == [r / 10 for r in raw[10:20]]
    assert "min" not in raw_js[0]

    csv_out = gateway.run("history", "W1.RATE", "--start=-1d", "--csv", check=True).stdout
    rows = csv_out.splitlines()
    assert rows[0] == "tag,ts,value,quality"
    assert rows[1].endswith(",100.0,uncertain") and len(rows) == 11


def test_malformed_import_reports_rows_and_imports_nothing(gateway):
    _install(gateway)
    bad = gateway.write("bad.csv", "tag,ts,value,quality\n"
                                   "W1.THP,2026-05-01T00:00:00Z,1.0,good\n"
                                   "W9.X,2026-05-01T00:00:01Z,1.0,good\n"
                                   "W1.THP,not-a-time,1.0,good\n"
                                   "W1.THP,2026-05-01T00:00:03Z,uno,good\n"
                                   "W1.THP,2026-05-01T00:00:04Z,1.0,regular\n")
    proc = gateway.run("history", "import", str(bad), lang="es")
    assert proc.returncode == 1
    err = proc.stderr
    assert "bad.csv:3:1: la etiqueta 'W9.X' no está" in err
    assert "bad.csv:4:2:" in err and "bad.csv:5:3:" in err and "bad.csv:6:4:" in err
    assert "no se importó nada: 4 fila(s) rechazada(s)" in err
    proc = gateway.run("history", "W1.THP", "--start", "2026-04-30", "--end", "2026-05-02")
    assert proc.returncode == 1 and "no history for: W1.THP" in proc.stderr

    empty = gateway.write("empty.csv", "")
    proc = gateway.run("history", "import", str(empty))
    assert proc.returncode == 1 and "the file is empty" in proc.stderr
    missing = gateway.write("cols.csv", "tag,time,value\nW1.THP,2026-05-01T00:00:00Z,1\n")
    proc = gateway.run("history", "import", str(missing))
    assert proc.returncode == 1 and "missing column 'ts'" in proc.stderr


def test_export_round_trip(gateway, tmp_path):
    _install(gateway)
    t0 = 1_780_000_000 * NS
    rng = np.random.default_rng(2)
    lines = ["tag,ts,value,quality"]
    for i in range(2_000):
        lines.append(f"W1.THP,{_iso(t0 + i * NS)},{int(rng.integers(-500, 500)) / 10},good")
    lines.append(f"W1.TEMP,{_iso(t0)},72.5,0x80310000")
    lines.append(f"W1.RATE,2026-05-28T20:26:40.0015Z,{rng.normal():.17g},bad")
    source = gateway.write("src.csv", "\n".join(lines) + "\n")
    gateway.run("history", "import", str(source), check=True)
    out = tmp_path / "export.csv"
    proc = gateway.run("history", "export", "W1.THP", "W1.TEMP", "W1.RATE",
                       "--start", "2026-05-01T00:00:00Z", "--end", "2026-06-30", "-o", str(out),
                       check=True)
    assert "exported 2002 rows" in proc.stderr
    exported = out.read_text().splitlines()
    assert exported[0] == "tag,ts,value,quality"
    assert exported[2001] == f"W1.TEMP,{_iso(t0).replace('.000', '')},72.5,0x80310000"
    assert exported[2002].startswith("W1.RATE,2026-05-28T20:26:40.001500Z,")
    # Import the export into a second gateway: every sample comes back identical.
    other = type(gateway)(tmp_path / "second", tmp_path / "second" / "gateway.toml")
    other.root.mkdir()
    other.config.write_text(gateway.config.read_text())
    _install(other)
    other.run("history", "import", str(out), check=True)
    again = tmp_path / "again.csv"
    other.run("history", "export", "W1.THP", "W1.TEMP", "W1.RATE", "--start", "2026-05-01",
              "--end", "2026-06-30", "-o", str(again), check=True)
    assert again.read_text() == out.read_text()
    # To stdout as well.
    proc = gateway.run("history", "export", "W1.TEMP", "--start", "2026-05-01",
                       "--end", "2026-06-30", check=True)
    assert proc.stdout.splitlines()[1:] == [exported[2001]]


def test_usage_errors(gateway):
    _install(gateway)
    proc = gateway.run("history", "W1.THP", "--start", "yesterday")
    assert proc.returncode == 1 and "not a time" in proc.stderr
    proc = gateway.run("history", "W1.THP", "--start", "now", "--end", "-1h")
    assert proc.returncode == 1 and "--end must be after --start" in proc.stderr
    proc = gateway.run("history", "NOPE")
    assert proc.returncode == 1 and "no history for: NOPE" in proc.stderr
    proc = gateway.run("history", "import")
    assert proc.returncode == 2
    proc = gateway.run("history", "import", "x.csv", "--points", "5")
    assert proc.returncode == 1  # the file does not exist
