"""`wellgate config validate FILE`."""

from __future__ import annotations

import argparse
from pathlib import Path

from daemons.cli.common import EXIT_INVALID, EXIT_OK, Console
from daemons.core.access.policy import load_policy
from daemons.core.config import load_config
from daemons.core.problems import ValidationError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("config", parents=[common], help="check the gateway configuration")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = inner.add_parser("validate", parents=[common], help="check a configuration file")
    v.add_argument("file", nargs="?", help="file to check (default: --config)")
    v.set_defaults(func=validate, with_console=True)


def validate(args: argparse.Namespace, console: Console) -> int:
    path = Path(args.file or args.config or "/etc/wellgate/gateway.toml")
    try:
        cfg = load_config(path)
        load_policy(cfg)  # the site's permission rows, when [access] permissions names them
    except ValidationError as exc:
        for problem in exc.problems:
            console.say(problem.render("en"), problem.render("es"))
        n = len(exc.problems)
        console.warn(f"{n} problem(s) found in {path}", f"{n} problema(s) en {path}")
        return EXIT_INVALID
    console.say(
        f"{path}: OK — site '{cfg.gateway.site}', {len(cfg.devices)} device(s), "
        f"{len(cfg.wells)} well(s), scan classes: {', '.join(cfg.scans)}",
        f"{path}: correcto — sitio '{cfg.gateway.site}', {len(cfg.devices)} equipo(s), "
        f"{len(cfg.wells)} pozo(s), clases de escaneo: {', '.join(cfg.scans)}")
    return EXIT_OK
