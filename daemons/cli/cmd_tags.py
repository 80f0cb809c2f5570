"""`wellgate tags [PATTERN] [--json] [--watch]`: live values from the shared ring."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from daemons.cli.common import EXIT_INVALID, EXIT_OK, CommandError, Console, fit, load_gateway
from daemons.core.config.environment import terminal_width
from daemons.core.ring import RingDirectory, RingError
from daemons.core.ring.rows import collect


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("tags", parents=[common], help="live values (PATTERN: W101.* or THP)")
    p.add_argument("pattern", nargs="?", default="*",
                   help="glob on tag names, case-insensitive (default: all)")
    p.add_argument("--json", action="store_true", help="one JSON array of objects")
    p.add_argument("--watch", nargs="?", const=1.0, type=float, metavar="SECONDS",
                   help="refresh every SECONDS (default 1) until Ctrl-C")
    p.set_defaults(func=run, with_console=True)


def _fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return f"[{len(value)} values]"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


# Short forms for the 80-column table (JSON keeps the full names).
SHORT_DETAIL = {
    "no-communication": "no-comm", "waiting-for-initial-data": "no-data-yet",
    "device-failure": "dev-failure", "last-usable": "stale", "sensor-failure": "sensor-fail",
    "eu-exceeded": "out-of-range",
}


def quality_text(severity_name: str, detail_name: str) -> str:
    if severity_name == "good":
        return "good"
    return f"{severity_name} {SHORT_DETAIL.get(detail_name, detail_name)}"


def render_table(rows: list[dict[str, Any]], console: Console) -> str:
    width = terminal_width()
    name_w = max(12, min(24, max((len(r["tag"]) for r in rows), default=12)))
    head = console.tr(f"{'TAG':<{name_w}} {'VALUE':>12} {'UNITS':<8} {'QUALITY':<20} TIME (UTC)",
                      f"{'ETIQUETA':<{name_w}} {'VALOR':>12} {'UNIDAD':<8} {'CALIDAD':<20} "
                      f"HORA (UTC)")
    lines = [fit(head, width)]
    for r in rows:
        qual = quality_text(r["quality"], r["quality_detail"])
        ts = (r["ts"] or "")[11:23]
        line = (f"{fit(r['tag'], name_w):<{name_w}} {fit(_fmt_value(r['value']), 12):>12} "
                f"{fit(r['units'], 8):<8} {fit(qual, 20):<20} {ts}")
        line = fit(line, width)
        lines.append(line.replace(qual, console.quality(qual), 1) if qual else line)
    return "\n".join(lines)


def run(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    try:
        rings = RingDirectory(cfg.paths.runtime_dir)
        rows = collect(rings, args.pattern)
    except RingError as exc:
        raise CommandError(f"no live values: {exc}", f"no hay valores en vivo: {exc}") from exc
    if args.json:
        print(json.dumps(rows, ensure_ascii=False), file=console.out)
        return EXIT_OK if rows else EXIT_INVALID
    if not args.watch:
        if not rows:
            console.warn(f"no tag matches '{args.pattern}'",
                         f"ninguna etiqueta coincide con '{args.pattern}'")
            return EXIT_INVALID
        print(render_table(rows, console), file=console.out)
        return EXIT_OK
    try:
        while True:
            table = render_table(collect(rings, args.pattern), console)
            clear = "\033[H\033[2J" if console.out.isatty() else ""
            print(clear + table + "\n", file=console.out, flush=True)
            time.sleep(max(0.2, args.watch))
    except KeyboardInterrupt:
        return EXIT_OK
