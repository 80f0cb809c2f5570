"""`wellgate write TAG VALUE --reason TEXT` and `wellgate commands`: writes through acqd.

Nothing writes to a device except acqd: this command asks it over its command socket,
and acqd checks, journals, writes, reads back and journals again.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from daemons.cli.common import EXIT_INVALID, EXIT_OK, CommandError, Console, fit, load_gateway
from daemons.core.commands import CommandProtocolError, request
from daemons.core.journal import read_journal


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    w = sub.add_parser("write", parents=[common],
                       help="write a tag's engineering value (through acqd)")
    w.add_argument("tag")
    w.add_argument("value", type=float)
    w.add_argument("--reason", required=True, help="why (kept in the command journal)")
    w.add_argument("--user", help="act for this gateway user, checked against their "
                   "permissions (root and the wellgate account only; default: your login)")
    w.set_defaults(func=write, with_console=True)
    c = sub.add_parser("commands", parents=[common], help="the last writes, from the journal")
    c.add_argument("--limit", type=int, default=20)
    c.set_defaults(func=commands, with_console=True)


def write(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    message = {"op": "write", "tag": args.tag, "value": args.value, "reason": args.reason,
               "source": "cli"}
    if args.user:
        message["user"] = args.user
    try:
        reply = request(cfg.paths.runtime_dir, message)
    except (OSError, CommandProtocolError) as exc:
        raise CommandError(f"acqd is not reachable ({exc}); is it running?",
                           f"no se puede contactar a acqd ({exc}); ¿está en marcha?") from exc
    if reply.get("ok"):
        console.say(f"command {reply['id']}: {args.tag} = {reply['readback']:g} confirmed "
                    "by read-back", f"orden {reply['id']}: {args.tag} = "
                    f"{reply['readback']:g} confirmada por lectura")
        return EXIT_OK
    err = reply.get("error") or {}
    raise CommandError(f"command {reply.get('id')} {reply.get('state')}: {err.get('en')}",
                       f"orden {reply.get('id')} {reply.get('state')}: {err.get('es')}")


def commands(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    records = read_journal(cfg.paths.state_dir, args.limit)
    if not records:
        console.say("no commands in the journal", "no hay órdenes en el registro")
        return EXIT_INVALID
    for r in records:
        when = datetime.fromtimestamp(r.requested_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
        value = "-" if r.value is None else f"{r.value:g}"
        line = f"{r.id:>5} {when} {r.user[:10]:<10} {r.tag[:18]:<18} {value:>9} {r.state}"
        console.say(fit(line, 80))
        console.say(fit(f"      {r.reason}" + (f" — {r.error}" if r.error else ""), 80))
    return EXIT_OK
