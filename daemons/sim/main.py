"""`wellgate-sim` (and `python -m daemons.sim`): the simulator's own command.

The same commands as `wellgate simulate`: run, fault, clear, event, status.
"""

from __future__ import annotations

import argparse
import sys

from daemons.sim.cli import USAGE, add_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wellgate-sim", description="Simulated well site: Modbus TCP/RTU devices.")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def entry(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        return USAGE
    return int(func(args))


if __name__ == "__main__":
    sys.exit(entry())
