"""`wellgate tagmap import --from kepware FILE.csv`: a vendor's tag export -> our tag map.

The conversion itself is daemons/cli/kepware.py (pure); this module reads the file, checks
the options against the gateway configuration, runs the converted map through the same
validation `tagmap validate` uses, writes it and reports on stderr (80 columns, Spanish or
English): every row that could not be converted and why, and every note.

Exit codes: 0 every row converted, 1 some rows skipped (the output holds the rest) or the
file unusable, 2 usage (including an option the gateway configuration contradicts).
"""

from __future__ import annotations

import argparse
import csv
import io
import textwrap
from dataclasses import replace
from pathlib import Path

from daemons.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Console,
    load_gateway,
)
from daemons.cli.kepware import (
    Finding,
    ImportResult,
    ImportSettings,
    convert_kepware,
    valid_prefix,
)
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError
from daemons.core.tagmap import (
    ORDERS,
    TagDef,
    TagMapContext,
    parse_tagmap_bytes,
    unit_range,
    write_tagmap_csv,
)

WIDTH = 80
SOURCES = ("kepware",)


def add_import_parser(inner: argparse._SubParsersAction,
                      common: argparse.ArgumentParser) -> None:
    """Add `import` to the `tagmap` sub-commands."""
    p = inner.add_parser(
        "import", parents=[common], help="convert a Kepware tag export (CSV) into a tag map",
        description="Convert a Kepware (KEPServerEX / Kepware Edge) Modbus tag export into "
                    "a wellgate tag map, reporting every row that cannot be converted.")
    p.add_argument("file", metavar="FILE.csv", help="the Kepware CSV export")
    p.add_argument("--from", dest="source", required=True, choices=SOURCES,
                   help="the format of FILE (only kepware for now)")
    p.add_argument("--device", required=True, help="the [[device]] of the gateway config")
    p.add_argument("--unit", type=int, help="Modbus unit id (default: the device's unit)")
    p.add_argument("--well", help="well id for the well column")
    p.add_argument("--order", default="ABCD", type=str.upper, choices=ORDERS,
                   help="the Kepware device's word/byte order for 32- and 64-bit values "
                        "(default ABCD; 'first word low' is CDAB)")
    p.add_argument("--prefix", default="", help="prepended to every tag name, e.g. W101.")
    p.add_argument("--no-zero-based", dest="zero_based", action="store_false",
                   help="the Kepware device had 'Zero-Based Addressing' off: 400001 is "
                        "register 1, not 0")
    p.add_argument("--bits-from-1", dest="zero_based_bits", action="store_false",
                   help="the Kepware device had 'Zero-Based Bit Addressing' off: .1 is the "
                        "least significant bit")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="write here (default: stdout)")
    p.set_defaults(func=run_import, with_console=True)


def _usage(en: str, es: str) -> CommandError:
    return CommandError(en, es, code=EXIT_USAGE)


def _resolve(value: str, names: list[str]) -> str | None:
    if value in names:
        return value
    folded = [n for n in names if n.casefold() == value.casefold()]
    return folded[0] if len(folded) == 1 else None


def settings_from_args(args: argparse.Namespace, cfg: GatewayConfig) -> ImportSettings:
    """The options checked against the gateway configuration (CommandError code 2)."""
    ctx = TagMapContext.from_config(cfg)
    name = _resolve(args.device, list(ctx.devices))
    if name is None:
        known = ", ".join(ctx.devices) or "—"
        raise _usage(f"unknown device '{args.device}'; devices in the gateway config: {known}",
                     f"equipo desconocido '{args.device}'; equipos en la configuración: "
                     f"{known}")
    device = ctx.devices[name]
    unit = args.unit if args.unit is not None else device.unit
    if unit is None:
        raise _usage(f"device '{name}' has no unit in the gateway config: give --unit",
                     f"el equipo '{name}' no tiene unit en la configuración: indique --unit")
    lo, hi = unit_range(device.protocol)
    if not lo <= unit <= hi:
        raise _usage(f"--unit {unit} is outside {lo}-{hi} for {device.protocol} device "
                     f"'{name}'", f"--unit {unit} está fuera de {lo}-{hi} para el equipo "
                     f"{device.protocol} '{name}'")
    well = None
    if args.well:
        well = _resolve(args.well, list(ctx.wells))
        if well is None:
            known = ", ".join(ctx.wells) or "—"
            raise _usage(f"unknown well '{args.well}'; wells in the gateway config: {known}",
                         f"pozo desconocido '{args.well}'; pozos en la configuración: {known}")
    if not valid_prefix(args.prefix):
        raise _usage(f"--prefix '{args.prefix}' cannot start a tag name (a letter, then "
                     "letters, digits, '_' and dots, e.g. W101.)",
                     f"--prefix '{args.prefix}' no puede iniciar un nombre de etiqueta (una "
                     "letra, luego letras, dígitos, '_' y puntos, p. ej. W101.)")
    scans = tuple((s.name, s.interval)
                  for s in sorted(cfg.scans.values(), key=lambda s: s.interval))
    return ImportSettings(device=device, unit=unit, scans=scans, order=args.order, well=well,
                          prefix=args.prefix, zero_based=args.zero_based,
                          zero_based_bits=args.zero_based_bits)


def _record_starts(text: str) -> list[int]:
    """The line each CSV record of `text` starts on (a quoted field may span lines)."""
    starts, previous = [], 0
    reader = csv.reader(io.StringIO(text, newline=""))
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    return starts


def validate(result: ImportResult, ctx: TagMapContext, name: str) -> ImportResult:
    """Run the converted tags through the tag-map parser; rows it rejects become skipped.

    The converter already refuses what our format cannot hold, so this normally finds
    nothing; it is the proof that the output will load, with the parser's own words if not.
    """
    tags, extra = list(result.tags), []
    while tags:
        out = io.StringIO()
        write_tagmap_csv(tags, out)
        text = out.getvalue()
        _, problems = parse_tagmap_bytes(text.encode("utf-8"), name, ctx)
        if not problems:
            break
        index = {line: i - 1 for i, line in enumerate(_record_starts(text)) if i}
        bad: dict[int, TagDef] = {}
        for p in problems:
            if p.line not in index:  # not a row: the converter wrote something unreadable
                raise CommandError("the converted map does not load:\n" + p.render("en"),
                                   "el mapa convertido no carga:\n" + p.render("es"))
            t = tags[index[p.line]]
            if index[p.line] not in bad:
                bad[index[p.line]] = t
                extra.append(Finding(t.line, t.name, f"rejected by the tag-map check: {p.en}",
                                     f"rechazada por la validación del mapa: {p.es}"))
        tags = [t for i, t in enumerate(tags) if i not in bad]
    skipped = sorted((*result.skipped, *extra), key=lambda f: f.line)
    return replace(result, tags=tuple(tags), skipped=tuple(skipped))


def _entry(f: Finding, lang: str) -> list[str]:
    text = f.es if lang == "es" else f.en
    if f.tag:
        text = f"{f.tag}: {text}"
    return textwrap.wrap(text, WIDTH, initial_indent=f"{f.line:>6}  ",
                         subsequent_indent=" " * 8, break_on_hyphens=False)


def render_report(result: ImportResult, file: str, settings: ImportSettings,
                  output: str | None, lang: str) -> str:
    """The stderr report: counts, then skipped rows and notes, one wrapped entry each."""
    def tr(en: str, es: str) -> str:
        return es if lang == "es" else en

    n, k = len(result.tags), len(result.skipped)
    lines = textwrap.wrap(tr(
        f"Kepware export {file}: {result.rows} rows; converted {n}, skipped {k}.",
        f"Exportación de Kepware {file}: {result.rows} filas; convertidas {n}, "
        f"omitidas {k}."), WIDTH)
    where = [tr(f"Device {settings.device.name} unit {settings.unit}",
                f"Equipo {settings.device.name} unidad {settings.unit}"),
             tr(f"word order {settings.order}", f"orden {settings.order}")]
    if settings.well:
        where.append(tr(f"well {settings.well}", f"pozo {settings.well}"))
    if settings.prefix:
        where.append(tr(f"prefix '{settings.prefix}'", f"prefijo '{settings.prefix}'"))
    lines += textwrap.wrap(", ".join(where) + ".", WIDTH)
    for title, items in ((tr("Not converted (row, tag: reason):",
                             "No convertidas (fila, etiqueta: motivo):"), result.skipped),
                         (tr("Notes (row, tag: note):", "Notas (fila, etiqueta: nota):"),
                          result.notes)):
        if items:
            lines += ["", title]
            for f in items:
                lines += _entry(f, lang)
    lines.append("")
    target = output or tr("standard output", "la salida estándar")
    if not n:
        lines += textwrap.wrap(tr(f"No tag was converted; {target} holds the header only.",
                                  f"No se convirtió ninguna etiqueta; {target} solo tiene el "
                                  "encabezado."), WIDTH)
        return "\n".join(lines)
    lines += textwrap.wrap(tr(
        f"The {n} converted tags pass the tag-map check against the gateway configuration; "
        f"written to {target}.",
        f"Las {n} etiquetas convertidas pasan la validación del mapa contra la configuración "
        f"del gateway; escritas en {target}."), WIDTH)
    return "\n".join(lines)


def run_import(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    settings = settings_from_args(args, cfg)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:  # the one place the OS error becomes a technician's message
        reason = exc.strerror or type(exc).__name__
        raise CommandError(f"{args.file}: cannot read the file: {reason}",
                           f"{args.file}: no se puede leer el archivo: {reason}") from exc
    try:
        result = convert_kepware(data, args.file, settings)
    except ValidationError as exc:
        for problem in exc.problems:
            print(textwrap.fill(problem.render(console.lang), WIDTH, subsequent_indent="  "),
                  file=console.err)
        raise CommandError("nothing converted", "no se convirtió nada") from exc
    result = validate(result, TagMapContext.from_config(cfg), args.output or "<stdout>")
    if args.output:
        try:
            write_tagmap_csv(result.tags, Path(args.output))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CommandError(f"{args.output}: cannot write the file: {reason}",
                               f"{args.output}: no se puede escribir el archivo: "
                               f"{reason}") from exc
    else:
        write_tagmap_csv(result.tags, console.out)
        console.out.flush()
    print(render_report(result, args.file, settings, args.output, console.lang),
          file=console.err)
    return EXIT_INVALID if result.skipped else EXIT_OK
