"""`wellgate welltests [--well W] [--json]`: completed well tests recorded by calcd."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from daemons.cli.common import EXIT_OK, CommandError, Console, fit, load_gateway
from daemons.core.store import StoreError
from daemons.core.welltests import WellTest, WellTestStore


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("welltests", parents=[common],
                       help="completed well tests (test separator), newest first")
    p.add_argument("--well", metavar="W", help="only this well")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N tests")
    p.add_argument("--json", action="store_true", help="one JSON array of objects")
    p.set_defaults(func=run, with_console=True)


def _iso(ns: int | None) -> str | None:
    if not ns:
        return None
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def _num(v: float | None, fmt: str = ".1f") -> str:
    return "—" if v is None else format(v, fmt)


def as_json(t: WellTest) -> dict:
    d = t.as_dict()
    for k in ("start_ns", "end_ns", "switched_ns", "recorded_ns", "approved_ns"):
        d[k.replace("_ns", "")] = _iso(d.pop(k))
    return d


def render(tests: list[WellTest], console: Console) -> str:
    head = console.tr(
        f"{'WELL':<8} {'START (UTC)':<20} {'HOURS':>5} {'OIL bbl/d':>10} {'WATER':>8} "
        f"{'GAS Mscf/d':>10} {'GOR':>7} {'WCUT %':>6} STATUS",
        f"{'POZO':<8} {'INICIO (UTC)':<20} {'HORAS':>5} {'PETR. bbl/d':>10} {'AGUA':>8} "
        f"{'GAS Mpcn/d':>10} {'RGP':>7} {'AyS %':>6} ESTADO")
    lines = [head]
    for t in tests:
        status = t.status + (f" ✓{t.approved_by}" if t.approved_by else "")
        lines.append(f"{fit(t.well, 8):<8} {(_iso(t.start_ns) or '')[:19]:<20} "
                     f"{_num(t.duration_h, '.2f'):>5} {_num(t.oil_bpd):>10} "
                     f"{_num(t.water_bpd):>8} {_num(t.gas_mscfd):>10} "
                     f"{_num(t.gor_scf_stb, '.0f'):>7} {_num(t.water_cut_pct):>6} {status}")
    return "\n".join(lines)


def run(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    try:
        store = WellTestStore(cfg.paths.state_dir, readonly=True)
    except StoreError as exc:
        if args.json:
            print("[]", file=console.out)
            return EXIT_OK
        raise CommandError("no well tests recorded yet:\n" + exc.render("en"),
                           "aún no hay pruebas de pozo registradas:\n" + exc.render("es")
                           ) from exc
    try:
        tests = store.list(args.well, args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([as_json(t) for t in tests], ensure_ascii=False), file=console.out)
    elif not tests:
        console.say("no well tests recorded", "no hay pruebas de pozo registradas")
    else:
        print(render(tests, console), file=console.out)
    return EXIT_OK
