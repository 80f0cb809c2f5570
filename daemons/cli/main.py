"""`wellgate`: the command line of field technicians (serial console or SSH).

Exit codes: 0 ok, 1 invalid input (or the thing asked about is missing), 2 usage.

Options go anywhere: before the command, after it, or after its arguments
(`wellgate history import --config gw.toml old.csv`).  argparse parses a command's
positionals in one go at their first appearance, so an option between two positionals
("import" and the file) left the second one unrecognized; commands without sub-commands
therefore parse intermixed (first the options, then the positionals).  Python 3.11's
parse_intermixed_args refuses parsers that have sub-commands, so it is used only on
the innermost parsers, which argparse invokes itself for the words after the command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from daemons.cli import (
    cmd_alarms,
    cmd_audit,
    cmd_calcs,
    cmd_cloud,
    cmd_config,
    cmd_demo,
    cmd_history,
    cmd_modbus,
    cmd_status,
    cmd_tagmap,
    cmd_tags,
    cmd_user,
    cmd_welltests,
    cmd_write,
)
from daemons.cli.common import CommandError, Console, pick_language
from daemons.core.service.logsetup import configure_logging


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose innermost commands take options between positionals.

    Sub-parsers are made of the parent's class, so every command of the tree is one.
    """

    _intermixing = False  # parse_known_intermixed_args calls parse_known_args itself

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def walk_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
                  ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree with the command words that reach it (the top one: ())."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # aliases map to the same parser
                    seen.add(id(sub))
                    yield from walk_commands(sub, (*path, name))


def _global_options(parser: argparse.ArgumentParser, **default: Any) -> None:
    """Add the global options a parser does not have yet (each parser its own actions:
    parents share action objects, and so would share defaults)."""
    have = parser._option_string_actions
    if "--config" not in have:
        parser.add_argument("--config", metavar="PATH", **default,
                            help="gateway configuration (default /etc/wellgate/gateway.toml)")
    if "--lang" not in have:
        parser.add_argument("--lang", choices=("es", "en"), **default,
                            help="language of messages (default: [gateway] language, "
                                 "else LANG)")


def build_parser() -> argparse.ArgumentParser:
    # --config and --lang are accepted before or after the command name.  The copies on
    # the sub-commands default to SUPPRESS so they never overwrite a value given earlier.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, default=argparse.SUPPRESS)
    parser = Parser(
        prog="wellgate",
        description="wellgate edge gateway: configuration, tag maps, live values, "
                    "commissioning and simulation.")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (cmd_config, cmd_tagmap, cmd_tags, cmd_status, cmd_write, cmd_modbus,
                   cmd_demo, cmd_history, cmd_user, cmd_audit, cmd_calcs, cmd_welltests,
                   cmd_alarms, cmd_cloud):
        module.register(sub, common)
    try:
        from daemons.sim.cli import register as register_sim
    except ImportError:  # the simulator is optional in a gateway image
        pass
    else:
        register_sim(sub)
    # Commands registered without the common options (the simulator's, shared with
    # wellgate-sim) get them here, so that every command takes them wherever it is.
    for _, p in walk_commands(parser):
        _global_options(p, default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Library log lines (drivers, simulator) would mix with the command's own output: the
    # CLI reports failures itself, so only errors go to stderr.
    configure_logging("console", "error", stream=sys.stderr)
    console = Console(pick_language(args))
    try:
        if getattr(args, "with_console", False):
            return int(args.func(args, console) or 0)
        return int(args.func(args) or 0)
    except CommandError as exc:
        console.warn(f"error: {exc.en}", f"error: {exc.es}")
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `wellgate tags | head`
        return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
