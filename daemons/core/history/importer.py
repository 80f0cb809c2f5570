"""Bulk import of history from another system (CSV: tag, ts, value[, quality]).

All or nothing: the whole file is parsed and checked first; one bad row and nothing is
written, and the user gets every rejected row (line, column, why, in Spanish and English).
Only then does one `HistoryWriter` transaction store it, into ``import-history.db`` — its
own database, because each history database has exactly one writer (acqd keeps writing
``history.db`` meanwhile); readers merge the two.

Speed: the csv module does the tokenising; everything after is numpy over whole columns
(numpy parses ISO 8601 and floats in C), with per-row Python only on the error path to find
which rows are bad.  A million rows take a few seconds, most of it in the csv module.
"""

from __future__ import annotations

import csv
import fcntl
import itertools
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..problems import Problem, ValidationError
from ..quality import Quality
from ..tagmap.model import TagDef, TagMap
from .reader import HistoryReader, SeriesInfo
from .writer import HistoryWriter

IMPORT_DB = "import-history.db"
COLUMNS = ("tag", "ts", "value", "quality")
REQUIRED = ("tag", "ts", "value")
BLOCK_ROWS = 100_000  # rows parsed per step: bounds memory on a 1 GB gateway
MAX_SHOWN = 20  # rejected rows listed in full; the rest are counted
INT_TYPES = frozenset({"bool", "bit", "int16", "uint16", "int32", "uint32", "int64", "uint64"})
_NAT = np.iinfo(np.int64).min
_QUALITY_WORDS = {
    "": Quality.GOOD, "good": Quality.GOOD, "buena": Quality.GOOD, "bueno": Quality.GOOD,
    "uncertain": Quality.UNCERTAIN, "incierta": Quality.UNCERTAIN,
    "incierto": Quality.UNCERTAIN, "bad": Quality.BAD, "mala": Quality.BAD, "malo": Quality.BAD,
}


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int
    tags: int
    first_ns: int
    last_ns: int


class ImportRejected(ValidationError):
    """Nothing was imported; ``problems`` lists the first rejected rows, ``rejected`` all."""

    def __init__(self, problems: Sequence[Problem], rejected: int) -> None:
        super().__init__(problems)
        self.rejected = rejected


@dataclass
class _Columns:
    """Parsed rows accumulated block by block (index = data row number, 0-based)."""

    tag: list[np.ndarray]
    ts: list[np.ndarray]
    value: list[np.ndarray]
    quality: list[np.ndarray]


class _Errors:
    """Rejected rows by data-row index; line numbers are found only if there are any."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[int, str, str]] = {}  # row -> (column, en, es)

    def add(self, rows: np.ndarray, column: int, en: str, es: str) -> None:
        for r in rows.tolist():
            self.rows.setdefault(int(r), (column, en, es))


@contextmanager
def import_lock(db_path: Path) -> Iterator[None]:
    """One import at a time per database (a second `wellgate history import` is refused)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(db_path.with_name(db_path.name + ".lock"), "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ValidationError([Problem(
                str(db_path), 0, 0, en="another history import is running; try again later",
                es="hay otra importación de historia en curso; reintente más tarde")]) from exc
        yield


def _parse_ts(col: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """ISO 8601 texts → (ns since the epoch UTC, ok).  No offset means UTC."""
    stripped = [s.strip() for s in col]
    stripped = [s[:-1] if s[-1:] in ("Z", "z") else s for s in stripped]
    try:
        with warnings.catch_warnings():
            # numpy warns on an offset (+02:00) and would apply it silently: take the slow,
            # explicit path for those instead.
            warnings.simplefilter("error")
            ns = np.array(stripped, dtype="datetime64[ns]").astype(np.int64)
        return ns, ns != _NAT
    except (ValueError, UserWarning, OverflowError):
        pass
    ns = np.full(len(col), _NAT, np.int64)
    for i, s in enumerate(stripped):
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
        ns[i] = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    return ns, ns != _NAT


def _parse_values(col: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Texts → (float64, parsed); an empty cell parses as NaN (allowed only if Bad)."""
    try:
        v = np.array(col, dtype=np.float64)
        return v, np.ones(len(col), bool)
    except ValueError:
        pass
    v = np.full(len(col), np.nan)
    ok = np.zeros(len(col), bool)
    for i, s in enumerate(col):
        text = s.strip()
        if not text:
            ok[i] = True
            continue
        try:
            v[i] = float(text)
            ok[i] = True
        except ValueError:
            pass
    return v, ok


def _quality_code(text: str) -> int | None:
    word = text.strip().lower()
    if word in _QUALITY_WORDS:
        return int(_QUALITY_WORDS[word])
    try:
        code = int(word, 0)
    except ValueError:
        return None
    return code if 0 <= code <= 0xFFFFFFFF else None


def _header(path: Path, first: list[str] | None) -> tuple[dict[str, int], list[Problem]]:
    name = str(path)
    if first is None:
        return {}, [Problem(name, 0, 0, en="the file is empty (expected a header: "
                            "tag,ts,value[,quality])", es="el archivo está vacío (se esperaba "
                            "un encabezado: tag,ts,value[,quality])")]
    cols: dict[str, int] = {}
    problems = []
    for i, raw in enumerate(first):
        key = raw.strip().lower()
        if key in cols:
            problems.append(Problem(name, 1, i + 1, en=f"column '{key}' appears twice",
                                    es=f"la columna '{key}' aparece dos veces"))
        cols.setdefault(key, i)
    for need in REQUIRED:
        if need not in cols:
            problems.append(Problem(
                name, 1, 0, en=f"missing column '{need}' (columns: tag,ts,value[,quality])",
                es=f"falta la columna '{need}' (columnas: tag,ts,value[,quality])"))
    return cols, problems


def _check_block(block: list[list[str]], base: int, cols: dict[str, int], tagmap: TagMap,
                 errors: _Errors, out: _Columns, tag_ids: dict[str, int]) -> None:
    width = len(cols)
    lengths = np.fromiter(map(len, block), np.int64, len(block))
    wrong = np.flatnonzero(lengths != width)
    if wrong.size:
        # Too many fields is usually a decimal comma (12,5) in a comma-separated file.
        for r in wrong.tolist():
            errors.add(np.array([base + r]), 0,
                       f"expected {width} fields, found {lengths[r]} (a decimal comma? use "
                       "a point, or quote the value)",
                       f"se esperaban {width} campos, hay {lengths[r]} (¿coma decimal? use "
                       "punto, o ponga el valor entre comillas)")
        filler = [""] * width
        block = [row if len(row) == width else filler for row in block]
    rows = base + np.arange(len(block))
    it, its, iv = cols["tag"], cols["ts"], cols["value"]
    tags = np.array([row[it].strip() for row in block])
    uniq, inverse = np.unique(tags, return_inverse=True)
    ids = np.empty(uniq.size, np.int64)
    for k, name in enumerate(uniq.tolist()):
        tag = tagmap.get(name)
        if tag is None or tag.is_array or tag.type == "string":
            ids[k] = -1
            bad = rows[(inverse == k)]
            if tag is None:
                errors.add(bad, it + 1, f"tag '{name}' is not in the installed tag maps",
                           f"la etiqueta '{name}' no está en los mapas de etiquetas instalados")
            else:
                errors.add(bad, it + 1, f"tag '{name}' is an array or text: no history",
                           f"la etiqueta '{name}' es un arreglo o texto: no tiene historia")
        else:
            ids[k] = tag_ids.setdefault(name, len(tag_ids))
    ts, ts_ok = _parse_ts([row[its] for row in block])
    errors.add(rows[~ts_ok], its + 1,
               "not an ISO 8601 time (e.g. 2026-03-01T14:00:00Z)",
               "no es una hora ISO 8601 (p. ej. 2026-03-01T14:00:00Z)")
    value, v_ok = _parse_values([row[iv] for row in block])
    errors.add(rows[~v_ok], iv + 1, "the value is not a number (use a decimal point)",
               "el valor no es un número (use punto decimal)")
    quality = np.zeros(len(block), np.uint32)
    if "quality" in cols:
        iq = cols["quality"]
        qtext = np.array([row[iq] for row in block])
        quniq, qinv = np.unique(qtext, return_inverse=True)
        for k, text in enumerate(quniq.tolist()):
            code = _quality_code(text)
            if code is None:
                errors.add(rows[qinv == k], iq + 1,
                           f"quality '{text}' is not good, uncertain, bad or an OPC UA code",
                           f"la calidad '{text}' no es good, uncertain, bad ni un código OPC UA")
            else:
                quality[qinv == k] = code
    # A missing value is only acceptable where the source said the value was Bad.
    usable_q = (quality.astype(np.int64) & 0xC0000000) < 0x80000000
    missing = v_ok & ~np.isfinite(value) & usable_q
    errors.add(rows[missing], iv + 1,
               "no value (empty, NaN or infinite) with a quality that is not bad",
               "sin valor (vacío, NaN o infinito) con una calidad que no es mala")
    out.tag.append(ids[inverse])
    out.ts.append(ts)
    out.value.append(value)
    out.quality.append(quality)


def _line_numbers(path: Path, delimiter: str, wanted: set[int]) -> dict[int, int]:
    """Data-row index → line in the file (only on the error path: a second read)."""
    found = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        row = -1
        for fields in reader:
            if not fields:
                continue
            row += 1
            if row in wanted:
                found[row] = reader.line_num
    return found


def _sniff(path: Path) -> str:
    with open(path, encoding="utf-8-sig") as fh:
        first = fh.readline()
    return ";" if first.count(";") > first.count(",") else ","


def parse_csv(path: Path, tagmap: TagMap, *, max_shown: int = MAX_SHOWN
              ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read and check a whole file: (tag names, tag index, ts ns, value, quality).

    Raises `ImportRejected` naming the bad rows if any row is bad.
    """
    path = Path(path)
    name = str(path)
    try:
        delimiter = _sniff(path)
        fh = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRejected([Problem(name, 0, 0, en=f"cannot read the file: {exc}",
                                      es=f"no se puede leer el archivo: {exc}")], 1) from exc
    errors = _Errors()
    out = _Columns([], [], [], [])
    tag_ids: dict[str, int] = {}
    try:
        with fh:
            reader = csv.reader(fh, delimiter=delimiter)
            cols, problems = _header(path, next(reader, None))
            if problems:
                raise ImportRejected(problems, len(problems))
            rows = filter(None, reader)  # blank lines (empty lists) are not rows
            base = 0
            while block := list(itertools.islice(rows, BLOCK_ROWS)):
                _check_block(block, base, cols, tagmap, errors, out, tag_ids)
                base += len(block)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportRejected([Problem(name, 0, 0, en=f"not a readable CSV file: {exc}",
                                      es=f"no es un archivo CSV legible: {exc}")], 1) from exc
    if base == 0:
        raise ImportRejected([Problem(name, 2, 0, en="no data rows after the header",
                                      es="no hay filas de datos después del encabezado")], 1)
    tag_idx = np.concatenate(out.tag)
    ts = np.concatenate(out.ts)
    value = np.concatenate(out.value)
    quality = np.concatenate(out.quality)
    ok_rows = np.flatnonzero((tag_idx >= 0) & (ts != _NAT))
    _check_duplicates(tag_idx, ts, ok_rows, cols, errors)
    if errors.rows:
        raise _rejection(path, delimiter, errors, max_shown)
    names = sorted(tag_ids, key=tag_ids.__getitem__)
    return names, tag_idx, ts, value, quality


def _check_duplicates(tag_idx: np.ndarray, ts: np.ndarray, ok_rows: np.ndarray,
                      cols: dict[str, int], errors: _Errors) -> None:
    order = ok_rows[np.lexsort((ok_rows, ts[ok_rows], tag_idx[ok_rows]))]
    dup = (tag_idx[order][1:] == tag_idx[order][:-1]) & (ts[order][1:] == ts[order][:-1])
    errors.add(order[1:][dup], cols["ts"] + 1,
               "a second value for the same tag and time",
               "un segundo valor para la misma etiqueta y hora")


def _rejection(path: Path, delimiter: str, errors: _Errors, max_shown: int) -> ImportRejected:
    rows = sorted(errors.rows)
    shown = rows[:max_shown]
    lines = _line_numbers(path, delimiter, set(shown))
    problems = [Problem(str(path), lines.get(r, r + 2), errors.rows[r][0],
                        en=errors.rows[r][1], es=errors.rows[r][2]) for r in shown]
    if len(rows) > len(shown):
        more = len(rows) - len(shown)
        problems.append(Problem(str(path), 0, 0, en=f"… and {more} more rejected rows",
                                es=f"… y {more} filas rechazadas más"))
    return ImportRejected(problems, len(rows))


def _on_grid(eng: np.ndarray, scale: float, offset: float) -> np.ndarray | None:
    """Raw integers whose ``raw * scale + offset`` gives back ``eng`` to the bit, or None."""
    if scale == 0 or not np.isfinite(eng).all():
        return None
    raw = np.rint((eng - offset) / scale)
    if not np.all(np.abs(raw) < 2**53) or not np.array_equal(raw * scale + offset, eng):
        return None
    return raw.astype(np.int64)


def _storage(tag: TagDef, eng: np.ndarray) -> tuple[str, np.ndarray]:
    """('int', raw integers) when every value sits on the tag's register resolution, else
    ('float', engineering values): lossless either way, compact in the usual case."""
    raw = _on_grid(eng, tag.scale, tag.offset) if tag.type in INT_TYPES else None
    return ("float", eng) if raw is None else ("int", raw)


def import_csv(path: Path, tagmap: TagMap, db_path: Path, *,
               max_shown: int = MAX_SHOWN) -> ImportResult:
    """Check the whole file, then store it in one durable transaction (or store nothing)."""
    with import_lock(db_path):
        names, tag_idx, ts, value, quality = parse_csv(path, tagmap, max_shown=max_shown)
        order = np.lexsort((ts, tag_idx))
        tag_idx, ts, value, quality = tag_idx[order], ts[order], value[order], quality[order]
        starts = np.flatnonzero(np.r_[True, tag_idx[1:] != tag_idx[:-1]])
        bounds = [*starts.tolist(), tag_idx.size]
        groups = []
        with HistoryReader([db_path]) as existing:
            stored = {s.tag: s for s in existing.series()}
            for a, b in itertools.pairwise(bounds):
                tag = tagmap[names[int(tag_idx[a])]]
                kind, vals = _storage(tag, value[a:b])
                old = stored.get(tag.name)
                if old is not None:
                    kind, vals = _fit_existing(path, old, value[a:b], kind, vals)
                    before, _, _ = existing.raw(tag.name, int(ts[a]), int(ts[b - 1]) + 1)
                    if np.isin(ts[a:b], before).any():
                        raise ImportRejected([Problem(
                            str(path), 0, 0,
                            en=f"tag '{tag.name}' already has imported samples at some of "
                               "these times (was this file imported before?)",
                            es=f"la etiqueta '{tag.name}' ya tiene muestras importadas en "
                               "algunas de estas horas (¿ya se importó este archivo?)")], 1)
                groups.append((tag, kind, a, b, vals))
        writer = HistoryWriter(db_path)
        try:
            # New series are stored with their samples, in fold_open's one durable
            # transaction: all rows or none, and no empty series left by a failure.
            sids = writer.ensure_series([(t.name, k, t.scale if k == "int" else 1.0,
                                          t.offset if k == "int" else 0.0, t.units)
                                         for t, k, *_ in groups])
            for sid, (_tag, _kind, a, b, vals) in zip(sids.tolist(), groups, strict=True):
                writer.append(np.full(b - a, sid, np.int64), ts[a:b], vals, quality[a:b])
            writer.fold_open()
        except BaseException:
            writer.abort()
            raise
        writer.close()
        return ImportResult(int(ts.size), len(groups), int(ts.min()), int(ts.max()))


def _fit_existing(path: Path, old: SeriesInfo, eng: np.ndarray, kind: str,
                  vals: np.ndarray) -> tuple[str, np.ndarray]:
    """A series imported before keeps its kind, scale and offset: floats always fit;
    integers must sit on the stored resolution (the tag map may have changed since)."""
    if old.kind == "float":
        return "float", eng
    raw = _on_grid(eng, old.scale, old.offset)
    if raw is not None:
        return "int", raw
    raise ImportRejected([Problem(
        str(path), 0, 0,
        en=f"tag '{old.tag}' was imported before at register resolution {old.scale:g}; "
           "these values are not on it",
        es=f"la etiqueta '{old.tag}' se importó antes con resolución de registro "
           f"{old.scale:g}; estos valores no la respetan")], 1)
