"""`wellgate history`: trends from the history databases, CSV import and export.

    wellgate history TAG --start T --end T [--points N] [--method minmax|lttb] [--csv|--json]
    wellgate history import FILE.csv
    wellgate history export TAG... --start T --end T [-o FILE]

T is ISO 8601 (UTC unless it carries an offset) or relative to now: ``now``, ``-24h``,
``-7d``, ``-30m``, ``-90s``, ``-2w``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from daemons.cli.common import EXIT_INVALID, EXIT_OK, CommandError, Console, fit, load_gateway
from daemons.core.config.environment import terminal_width
from daemons.core.history.decimate import METHODS, Decimated
from daemons.core.history.importer import IMPORT_DB, ImportRejected, import_csv
from daemons.core.history.reader import HistoryReader, default_paths
from daemons.core.problems import ValidationError
from daemons.core.quality import Quality, detail, severity
from daemons.core.tagmap import TagMapContext, load_tagmaps, store

NS = 1_000_000_000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhdw])$")
# argparse takes "-24h" for an option unless it looks like a negative number; teach this
# parser that relative times are values too (so `--start -24h` works without '=').
_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d+(?:\.\d+)?[smhdw]$")
EXPORT_SLICE_NS = 86_400 * NS  # export a day at a time: bounded memory for months
_BARE = {int(Quality.GOOD): "good", int(Quality.UNCERTAIN): "uncertain",
         int(Quality.BAD): "bad"}


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "history", parents=[common],
        help="trend of a tag; 'history import FILE.csv'; 'history export TAG…'",
        description="wellgate history TAG [--points N] [--csv|--json] | "
                    "history import FILE.csv | history export TAG... [-o FILE]. "
                    "Times: ISO 8601 (UTC unless an offset is given) or now, -24h, -7d, "
                    "-30m, -90s, -2w.")
    p._negative_number_matcher = _NEGATIVE  # type: ignore[attr-defined]
    p.add_argument("words", nargs="+", metavar="TAG | import FILE | export TAG...")
    p.add_argument("--start", default="-24h", metavar="T", help="from (default -24h)")
    p.add_argument("--end", default="now", metavar="T", help="until, exclusive (default now)")
    p.add_argument("--points", type=int, metavar="N",
                   help="decimate to at most N points keeping the shape (default: raw)")
    p.add_argument("--method", choices=METHODS, default="minmax",
                   help="minmax keeps spikes (default); lttb for smooth lines")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV: tag,ts,value,quality")
    fmt.add_argument("--json", action="store_true", help="JSON array of {ts, value, quality}")
    p.add_argument("-o", "--output", metavar="FILE", help="export: write FILE (default stdout)")
    p.add_argument("--max-errors", type=int, default=20, metavar="N",
                   help="import: rejected rows listed in full (default 20)")
    p.set_defaults(func=run, with_console=True)


def parse_time(text: str, now_ns: int) -> int:
    """ISO 8601 or relative-to-now text → ns since the epoch (UTC)."""
    t = text.strip()
    if t.lower() == "now":
        return now_ns
    m = _RELATIVE.match(t)
    if m:
        return now_ns - int(float(m.group(1)) * _UNITS[m.group(2)] * NS)
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise CommandError(
            f"'{text}' is not a time: use ISO 8601 (2026-03-01T14:00Z) or -24h, -7d, now",
            f"'{text}' no es una hora: use ISO 8601 (2026-03-01T14:00Z) o -24h, -7d, now",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1000


def iso_times(ts: np.ndarray) -> list[str]:
    """ISO 8601 UTC texts with the fewest decimals that keep every timestamp exact."""
    if ts.size == 0:
        return []
    unit = next(u for u, step in (("s", NS), ("ms", NS // 1000), ("us", 1000), ("ns", 1))
                if not np.any(ts % step))
    text = np.datetime_as_string(ts.astype("datetime64[ns]"), unit=unit)
    return [f"{t}Z" for t in text.tolist()]


def quality_text(code: int) -> str:
    """What export writes: a word for the bare severities, else the exact OPC UA code."""
    return _BARE.get(int(code), f"0x{int(code):08X}")


def _number(v: float) -> str:
    # repr is the shortest text that reads back to the same float: exports round-trip.
    return "" if math.isnan(v) else repr(v)


def _range(args: argparse.Namespace) -> tuple[int, int]:
    now = time.time_ns()
    start, end = parse_time(args.start, now), parse_time(args.end, now)
    if end <= start:
        raise CommandError("--end must be after --start", "--end debe ser posterior a --start")
    return start, end


def run(args: argparse.Namespace, console: Console) -> int:
    words = args.words
    if words[0] == "import":
        if len(words) != 2:
            raise CommandError("usage: wellgate history import FILE.csv",
                               "uso: wellgate history import ARCHIVO.csv", code=2)
        return run_import(args, console, Path(words[1]))
    cfg = load_gateway(args, console)
    reader = HistoryReader(default_paths(cfg.paths.state_dir))
    try:
        if words[0] == "export":
            if len(words) < 2:
                raise CommandError("usage: wellgate history export TAG... [-o FILE]",
                                   "uso: wellgate history export ETIQUETA... [-o ARCHIVO]",
                                   code=2)
            return run_export(args, console, reader, words[1:])
        if len(words) != 1:
            raise CommandError("one tag at a time (use 'history export' for several)",
                               "una etiqueta a la vez (use 'history export' para varias)",
                               code=2)
        return show(args, console, reader, words[0])
    finally:
        reader.close()


def _known(reader: HistoryReader, tags: list[str]) -> None:
    missing = [t for t in tags if not reader.has(t)]
    if missing:
        names = ", ".join(missing)
        raise CommandError(f"no history for: {names}", f"no hay historia de: {names}")


def show(args: argparse.Namespace, console: Console, reader: HistoryReader, tag: str) -> int:
    start, end = _range(args)
    _known(reader, [tag])
    if args.points is not None and args.points < 1:
        raise CommandError("--points must be at least 1", "--points debe ser al menos 1")
    decimated = None
    if args.points:
        decimated = reader.decimated(tag, start, end, args.points, args.method)
        ts, values, quality = decimated.ts, decimated.value, decimated.quality
    else:
        ts, values, quality = reader.raw(tag, start, end)
    if args.json:
        print(json.dumps(_json_rows(ts, values, quality, decimated), ensure_ascii=False),
              file=console.out)
    elif args.csv:
        _write_csv(console.out, tag, ts, values, quality, decimated, header=True)
    else:
        info = next(s for s in reader.series() if s.tag == tag)
        _table(console, tag, info.units, ts, values, quality, decimated)
    return EXIT_OK


def _json_rows(ts: np.ndarray, values: np.ndarray, quality: np.ndarray,
               dec: Decimated | None) -> list[dict[str, Any]]:
    rows = []
    for i, (t, v, q) in enumerate(zip(iso_times(ts), values.tolist(), quality.tolist(),
                                      strict=True)):
        row: dict[str, Any] = {"ts": t, "value": None if math.isnan(v) else v,
                               "quality": severity(q), "quality_detail": detail(q)}
        if dec is not None:
            lo, hi = float(dec.min[i]), float(dec.max[i])
            row["min"] = None if math.isnan(lo) else lo
            row["max"] = None if math.isnan(hi) else hi
        rows.append(row)
    return rows


def _write_csv(out: TextIO, tag: str, ts: np.ndarray, values: np.ndarray,
               quality: np.ndarray, dec: Decimated | None, *, header: bool) -> None:
    if header:
        out.write("tag,ts,value,quality" + (",min,max" if dec is not None else "") + "\n")
    times = iso_times(ts)
    vals = [_number(v) for v in values.tolist()]
    quals = [quality_text(q) for q in quality.tolist()]
    if dec is None:
        out.writelines(f"{tag},{t},{v},{q}\n" for t, v, q in zip(times, vals, quals,
                                                                 strict=True))
        return
    mins = [_number(v) for v in dec.min.tolist()]
    maxs = [_number(v) for v in dec.max.tolist()]
    out.writelines(f"{tag},{t},{v},{q},{lo},{hi}\n"
                   for t, v, q, lo, hi in zip(times, vals, quals, mins, maxs, strict=True))


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "—"
    return f"{v:.6g}"


def _table(console: Console, tag: str, units: str, ts: np.ndarray, values: np.ndarray,
           quality: np.ndarray, dec: Decimated | None) -> None:
    width = terminal_width()
    where = f"{tag} ({units})" if units else tag
    if dec is not None:
        console.say(f"{where}: {len(ts)} points, decimated ({dec.source} data)",
                    f"{where}: {len(ts)} puntos, diezmados (datos {dec.source})")
    else:
        console.say(f"{where}: {len(ts)} samples", f"{where}: {len(ts)} muestras")
    if not len(ts):
        return
    band = dec is not None
    head = console.tr("TIME (UTC)", "HORA (UTC)")
    cols = f"{head:<23} {console.tr('VALUE', 'VALOR'):>13}"
    if band:
        cols += f" {'MIN':>12} {console.tr('MAX', 'MÁX'):>12}"
    cols += f" {console.tr('QUALITY', 'CALIDAD')}"
    lines = [fit(cols, width)]
    times = [t.replace("T", " ").rstrip("Z") for t in iso_times(ts)]
    for i, (t, v, q) in enumerate(zip(times, values.tolist(), quality.tolist(), strict=True)):
        sev = severity(q)
        qual = sev if q == 0 or q == _BARE_CODE.get(sev) else f"{sev}:{detail(q)}"
        line = f"{t:<23} {fit(_fmt(v), 13):>13}"
        if band:
            lo, hi = _fmt(float(dec.min[i])), _fmt(float(dec.max[i]))
            line += f" {fit(lo, 12):>12} {fit(hi, 12):>12}"
        line = fit(f"{line} {qual}", width)
        lines.append(line.replace(qual, console.quality(qual), 1))
    print("\n".join(lines), file=console.out)


_BARE_CODE = {v: k for k, v in _BARE.items()}


def _slices(start: int, end: int) -> Iterator[tuple[int, int]]:
    a = start
    while a < end:
        b = min(end, a + EXPORT_SLICE_NS)
        yield a, b
        a = b


def run_export(args: argparse.Namespace, console: Console, reader: HistoryReader,
               tags: list[str]) -> int:
    start, end = _range(args)
    _known(reader, tags)
    target = Path(args.output) if args.output else None
    tmp = target.with_name(target.name + ".part") if target else None
    out = open(tmp, "w", newline="") if tmp else console.out  # noqa: SIM115 - closed below
    rows = 0
    try:
        out.write("tag,ts,value,quality\n")
        for tag in tags:
            for a, b in _slices(start, end):
                ts, values, quality = reader.raw(tag, a, b)
                _write_csv(out, tag, ts, values, quality, None, header=False)
                rows += len(ts)
    except OSError as exc:
        raise CommandError(f"cannot write the export: {exc}",
                           f"no se puede escribir la exportación: {exc}") from exc
    finally:
        if tmp:
            out.close()
    if target and tmp:
        os.replace(tmp, target)  # a complete file or none: never half an export
        console.warn(f"exported {rows} rows to {target}", f"exportadas {rows} filas a {target}")
    return EXIT_OK


def run_import(args: argparse.Namespace, console: Console, path: Path) -> int:
    cfg = load_gateway(args, console)
    files = store.active_files(cfg.paths.tagmap_dir)
    if not files:
        raise CommandError(
            f"no tag maps installed in {cfg.paths.tagmap_dir}: imported tags must be in them",
            f"no hay mapas de etiquetas instalados en {cfg.paths.tagmap_dir}: las etiquetas "
            "importadas deben estar en ellos")
    try:
        tagmap = load_tagmaps(files, TagMapContext.from_config(cfg))
    except ValidationError as exc:
        raise CommandError("the installed tag maps are invalid:\n" + exc.render("en"),
                           "los mapas de etiquetas instalados no son válidos:\n"
                           + exc.render("es")) from exc
    db = cfg.paths.state_dir / IMPORT_DB
    started = time.perf_counter()
    try:
        result = import_csv(path, tagmap, db, max_shown=max(1, args.max_errors))
    except ImportRejected as exc:
        for problem in exc.problems:
            console.warn(problem.render("en"), problem.render("es"))
        raise CommandError(f"nothing imported: {exc.rejected} row(s) rejected",
                           f"no se importó nada: {exc.rejected} fila(s) rechazada(s)") from exc
    except ValidationError as exc:
        raise CommandError(exc.render("en"), exc.render("es")) from exc
    took = time.perf_counter() - started
    first, last = iso_times(np.array([result.first_ns, result.last_ns], np.int64))
    console.say(f"imported {result.rows} rows of {result.tags} tag(s), {first} to {last}, "
                f"in {took:.1f} s into {db}",
                f"importadas {result.rows} filas de {result.tags} etiqueta(s), {first} a "
                f"{last}, en {took:.1f} s en {db}")
    return EXIT_OK if result.rows else EXIT_INVALID
