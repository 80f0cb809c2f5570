"""`wellgate calcs [--json]`: every result calcd publishes, with units, inputs, method and
source — read from the calculations' own definitions (the same text as docs/calcs.md)."""

from __future__ import annotations

import argparse

from daemons.cli.common import EXIT_OK, CommandError, Console


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("calcs", parents=[common],
                       help="the calculated results (<WELL>.CALC.<NAME>) and how they are made")
    p.add_argument("--json", action="store_true", help="one JSON array, one object per result")
    p.set_defaults(func=run, with_console=True)


def run(args: argparse.Namespace, console: Console) -> int:
    # The catalogue is calcd's own code (its definitions are the documentation): imported
    # here only, lazily, and only its frozen definitions are read.
    try:
        from daemons.calcd import catalogue
    except ImportError as exc:  # an image built without calcd
        raise CommandError(f"calcd is not installed: {exc}",
                           f"calcd no está instalado: {exc}") from exc
    if args.json:
        print(catalogue.render_json(), file=console.out)
    else:
        print(catalogue.render_text(console.lang), file=console.out, end="")
    return EXIT_OK
