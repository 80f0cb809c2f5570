"""CSV history import: exact values, all-or-nothing rejection with clear reasons, speed."""

import sqlite3
import time

import numpy as np
import pytest

from daemons.core.history.importer import ImportRejected, import_csv, import_lock
from daemons.core.history.reader import HistoryReader
from daemons.core.history.writer import HistoryWriter
from daemons.core.problems import ValidationError
from daemons.core.quality import Quality
from daemons.core.tagmap.model import TagDef, TagMap

NS = 1_000_000_000
T0 = 1_780_000_000 * NS  # 2026-05-28T20:26:40Z

TAGS = TagMap((
    TagDef("W1.THP", "plc1", 1, "hr", 0, "int16", scale=0.1, units="psi"),
    TagDef("W1.TEMP", "plc1", 1, "hr", 1, "uint16", scale=0.5, offset=-40.0, units="degF"),
    TagDef("W1.RATE", "plc1", 1, "ir", 0, "float32", units="bbl/d"),
    TagDef("W1.CARD", "plc1", 1, "ir", 10, "float32", count=200),
))


def _write(tmp_path, text, name="in.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _rejected(tmp_path, text):
    db = tmp_path / "import-history.db"
    with pytest.raises(ImportRejected) as info:
        import_csv(_write(tmp_path, text), TAGS, db)
    if db.exists():  # nothing partial: no samples stored at all
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM staging").fetchone()[0] == 0
        conn.close()
    return info.value


def test_import_round_trip_exact(tmp_path):
    db = tmp_path / "import-history.db"
    text = ("Tag,TS,Value,Quality\n"
            "W1.THP,2026-05-28T20:26:40Z,123.4,good\n"
            "W1.THP,2026-05-28T20:26:41.000Z,123.5,\n"
            "W1.THP,2026-05-28T22:26:42+02:00,0,bad\n"     # offset: 20:26:42Z
            "W1.THP,2026-05-28T20:26:43,-0.1,0x40900000\n"  # no offset = UTC
            "\n"
            "W1.TEMP,2026-05-28 20:26:40,72.5,uncertain\n"
            "W1.TEMP,2026-05-28 20:26:41,,bad\n"  # Bad without a value: NaN, so floats
            "W1.RATE,2026-05-28T20:26:40Z,1234.56789,2155413504\n")  # 0x80790000 decimal
    result = import_csv(_write(tmp_path, text), TAGS, db)
    assert (result.rows, result.tags) == (7, 3)
    with HistoryReader([db]) as r:
        info = {s.tag: s for s in r.series()}
        assert info["W1.THP"].kind == "int" and info["W1.THP"].scale == 0.1
        assert info["W1.RATE"].kind == "float"
        ts, v, q = r.raw("W1.THP", T0, T0 + 10 * NS)
        assert list(ts) == [T0, T0 + NS, T0 + 2 * NS, T0 + 3 * NS]
        assert v[0] == 123.4 and v[1] == 123.5 and v[3] == -0.1  # to the bit
        assert list(q) == [0, 0, Quality.BAD, Quality.UNCERTAIN_LAST_USABLE]
        assert info["W1.TEMP"].kind == "float"
        _, v, q = r.raw("W1.TEMP", T0, T0 + 2 * NS)
        assert v[0] == 72.5 and np.isnan(v[1]) and q.tolist() == [Quality.UNCERTAIN, Quality.BAD]
        assert r.raw("W1.RATE", T0, T0 + NS)[1].tolist() == [1234.56789]
        assert r.raw("W1.RATE", T0, T0 + NS)[2].tolist() == [0x80790000]


def test_values_off_the_register_resolution_are_kept_exactly(tmp_path):
    db = tmp_path / "import-history.db"
    text = "tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,123.456\n"
    import_csv(_write(tmp_path, text), TAGS, db)
    with HistoryReader([db]) as r:
        assert r.series()[0].kind == "float"
        assert r.raw("W1.THP", T0, T0 + NS)[1].tolist() == [123.456]


@pytest.mark.parametrize(("text", "line", "column", "words"), [
    ("tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,1\nW1.THP,yesterday,2\n", 3, 2, "ISO 8601"),
    ("tag,ts,value\nW1.THP,2026-02-30T00:00:00Z,1\n", 2, 2, "ISO 8601"),
    ("tag,ts,value\nW9.NOPE,2026-05-28T20:26:40Z,1\n", 2, 1, "not in the installed"),
    ("tag,ts,value\nW1.CARD,2026-05-28T20:26:40Z,1\n", 2, 1, "array"),
    ("tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,12,5\n", 2, 0, "decimal comma"),
    ("tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,abc\n", 2, 3, "not a number"),
    ("tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,\n", 2, 3, "no value"),
    ("tag,ts,value,quality\nW1.THP,2026-05-28T20:26:40Z,1,meh\n", 2, 4, "quality 'meh'"),
    ("tag,ts,value,quality\nW1.THP,2026-05-28T20:26:40Z,1,0x1FFFFFFFF\n", 2, 4, "quality"),
    ("tag,ts,value\nW1.THP,2026-05-28T20:26:40Z\n", 2, 0, "expected 3 fields"),
    ("tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,1\n\"W1.THP\",2026-05-28T20:26:40Z,2\n",
     3, 2, "same tag and time"),
    ("tag,value\nW1.THP,1\n", 1, 0, "missing column 'ts'"),
    ("tag,ts,value,ts\nW1.THP,2026-05-28T20:26:40Z,1,x\n", 1, 4, "appears twice"),
    ("", 0, 0, "empty"),
    ("tag,ts,value\n", 2, 0, "no data rows"),
])
def test_malformed_csv_is_rejected_whole(tmp_path, text, line, column, words):
    # A good row first: it must not be imported either.
    exc = _rejected(tmp_path, text)
    first = exc.problems[0]
    assert (first.line, first.column) == (line, column), exc.render()
    assert words in first.en
    assert first.es and first.es != first.en


def test_quoted_multiline_field_keeps_line_numbers_right(tmp_path):
    text = ('tag,ts,value,quality\n'
            'W1.THP,2026-05-28T20:26:40Z,1,"good"\n'
            '"W1.\nTHP",2026-05-28T20:26:41Z,1,good\n'
            'W1.THP,2026-05-28T20:26:42Z,x,good\n')
    exc = _rejected(tmp_path, text)
    assert [(p.line, p.column) for p in exc.problems] == [(4, 1), (5, 3)]


def test_many_bad_rows_are_listed_first_n_then_counted(tmp_path):
    rows = "".join(f"W1.THP,2026-05-28T20:{i // 60:02d}:{i % 60:02d}Z,oops\n"
                   for i in range(500))
    exc = _rejected(tmp_path, "tag,ts,value\n" + rows)
    assert exc.rejected == 500
    assert len(exc.problems) == 21
    assert [p.line for p in exc.problems[:20]] == list(range(2, 22))
    assert "480 more" in exc.problems[-1].en and "480" in exc.problems[-1].es


def test_reimport_of_the_same_rows_is_refused(tmp_path):
    db = tmp_path / "import-history.db"
    text = "tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,1\n"
    import_csv(_write(tmp_path, text), TAGS, db)
    with pytest.raises(ImportRejected, match="already has imported samples"):
        import_csv(_write(tmp_path, text), TAGS, db)
    # New times for the same tag are fine, and join the earlier import.
    import_csv(_write(tmp_path, "tag,ts,value\nW1.THP,2026-05-28T20:26:41Z,2\n"), TAGS, db)
    with HistoryReader([db]) as r:
        assert r.raw("W1.THP", T0, T0 + 2 * NS)[1].tolist() == [1.0, 2.0]


def test_two_imports_do_not_run_at_once(tmp_path):
    db = tmp_path / "import-history.db"
    path = _write(tmp_path, "tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,1\n")
    with import_lock(db), pytest.raises(ValidationError, match="another history import"):
        import_csv(path, TAGS, db)
    import_csv(path, TAGS, db)  # the lock is released with its holder


def test_import_a_million_rows(tmp_path):
    n_tags, per_tag = 10, 100_000
    rng = np.random.default_rng(5)
    base = np.datetime64(T0, "ns")
    times = np.datetime_as_string(base + np.arange(per_tag) * np.timedelta64(1, "s"),
                                  unit="s")
    path = tmp_path / "big.csv"
    tags = TagMap(tuple(TagDef(f"T{i}", "plc1", 1, "hr", i, "int16", scale=0.1)
                        for i in range(n_tags)))
    raw = rng.integers(-3000, 3000, (n_tags, per_tag))
    with open(path, "w") as fh:
        fh.write("tag,ts,value,quality\n")
        for i in range(n_tags):
            values = [f"{x / 10:.1f}" for x in raw[i].tolist()]
            fh.writelines(f"T{i},{t}Z,{v},good\n" for t, v in zip(times, values, strict=True))
    db = tmp_path / "import-history.db"
    t = time.perf_counter()
    result = import_csv(path, tags, db)
    took = time.perf_counter() - t
    print(f"\nimported {result.rows} rows in {took:.2f} s "
          f"({result.rows / took / 1e6:.2f} M rows/s), "
          f"{db.stat().st_size / result.rows:.2f} bytes/row on disk")
    assert result.rows == 1_000_000
    with HistoryReader([db]) as r:
        ts, v, _ = r.raw("T7", T0, T0 + per_tag * NS)
        assert ts.size == per_tag
        assert np.allclose(v, raw[7] * 0.1)


def test_a_failed_import_leaves_no_series_and_no_samples(tmp_path, monkeypatch):
    path = _write(tmp_path, "tag,ts,value\nW1.THP,2026-05-28T20:26:40Z,100.5\n"
                            "W1.RATE,2026-05-28T20:26:41Z,12.25\n")
    db = tmp_path / "import-history.db"

    def broken(self, window_ns, block):  # the disk fills up in the middle of the write
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(HistoryWriter, "_fold_group", broken)
    with pytest.raises(sqlite3.OperationalError):
        import_csv(path, TAGS, db)
    monkeypatch.undo()
    conn = sqlite3.connect(db)
    assert [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("series", "chunks", "staging")] == [0, 0, 0]
    conn.close()
    result = import_csv(path, TAGS, db)  # the same file imports cleanly afterwards
    assert result.rows == 2
