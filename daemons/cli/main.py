"""`wellgate`: the command line of field technicians (serial console or SSH).

Exit codes: 0 ok, 1 invalid input (or the thing asked about is missing), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daemons.cli import (
    cmd_calcs,
    cmd_config,
    cmd_demo,
    cmd_history,
    cmd_modbus,
    cmd_status,
    cmd_tagmap,
    cmd_tags,
    cmd_welltests,
    cmd_write,
)
from daemons.cli.common import CommandError, Console, pick_language
from daemons.core.service.logsetup import configure_logging


def build_parser() -> argparse.ArgumentParser:
    # --config and --lang are accepted before or after the command name.  The copies on
    # the sub-commands default to SUPPRESS so they never overwrite a value given earlier.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="gateway configuration (default /etc/wellgate/gateway.toml)")
    common.add_argument("--lang", choices=("es", "en"), default=argparse.SUPPRESS,
                        help="language of messages (default: [gateway] language, else LANG)")
    parser = argparse.ArgumentParser(
        prog="wellgate",
        description="wellgate edge gateway: configuration, tag maps, live values, "
                    "commissioning and simulation.")
    # Separate actions (parents share action objects, and so would share defaults).
    parser.add_argument("--config", metavar="PATH",
                        help="gateway configuration (default /etc/wellgate/gateway.toml)")
    parser.add_argument("--lang", choices=("es", "en"),
                        help="language of messages (default: [gateway] language, else LANG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (cmd_config, cmd_tagmap, cmd_tags, cmd_status, cmd_write, cmd_modbus,
                   cmd_demo, cmd_history, cmd_calcs, cmd_welltests):
        module.register(sub, common)
    try:
        from daemons.sim.cli import register as register_sim
    except ImportError:  # the simulator is optional in a gateway image
        pass
    else:
        register_sim(sub)
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
