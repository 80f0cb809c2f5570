"""`wellgate status`: each daemon's state, from the status files in the runtime dir."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from daemons.cli.common import EXIT_INVALID, EXIT_OK, Console, fit, load_gateway
from daemons.core.service.status import read_statuses


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("status", parents=[common], help="state of each daemon")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run, with_console=True)


def run(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    statuses = read_statuses(cfg.paths.runtime_dir)
    if args.json:
        print(json.dumps([asdict(s) for s in statuses], default=str), file=console.out)
        return EXIT_OK if statuses else EXIT_INVALID
    if not statuses:
        console.say(f"no daemon is running (no status in {cfg.paths.runtime_dir}/status)",
                    f"ningún demonio en marcha (sin estado en {cfg.paths.runtime_dir}/status)")
        return EXIT_INVALID
    console.say(console.tr(
        "DAEMON    PID      STATE      LAST LOOP (UTC)      LOOPS    ERRORS  NOTE",
        "DEMONIO   PID      ESTADO     ÚLTIMO CICLO (UTC)   CICLOS   ERRORES NOTA"))
    for s in statuses:
        state = s.state if s.alive else console.tr("dead", "muerto")
        if s.alive and s.stale:
            state += "?"
        note = s.last_error or ""
        line = (f"{s.name:<9} {s.pid:<8} {state:<10} {(s.last_loop or '-')[:19]:<20} "
                f"{s.loops:<8} {s.errors:<7} {note}")
        console.say(fit(line, 80))
    return EXIT_OK
