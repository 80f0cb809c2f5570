"""`wellgate alarms [list] | ack | shelve | unshelve | disable | enable | history` and
`wellgate alarms validate | apply | rollback | versions` (alarm definition files).

Operations go to alarmd's command socket, which identifies the caller, authorizes and
audits them; definitions are files:

Validated like the tag maps (file:line:column, es/en) and installed with the tag maps'
store (versions, atomic `current` symlink, rollback) in the alarm directory beside the
tag-map directory.  Tags are checked against the installed tag maps and the calculated
tags `<WELL>.CALC.<NAME>` of configured wells.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from daemons.cli.access_common import record, require
from daemons.cli.common import (
    EXIT_OK,
    CommandError,
    Console,
    fit,
    load_gateway,
    problems_error,
    tell_daemons,
)
from daemons.core.alarms import AlarmSet, alarm_dir, load_alarms
from daemons.core.alarms.definitions import KnownTag
from daemons.core.config import GatewayConfig
from daemons.core.problems import Problem, ValidationError
from daemons.core.tagmap import TagMapContext, load_tagmaps, store

# Tags of configured wells that no tag map lists: calcd's results and alarmd's own
# planned-downtime flag.
_CALC = re.compile(r"^(?P<well>[A-Za-z0-9_]+)\.(CALC\.[A-Z0-9_]+|DOWNTIME)$")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("alarms", parents=[common],
                       help="active alarms, acknowledge, shelve; alarm definition files")
    _list_options(p)
    p.set_defaults(func=list_alarms, with_console=True)
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=False)
    ls = inner.add_parser("list", parents=[common], help="active alarms (default action)")
    _list_options(ls)
    ls.set_defaults(func=list_alarms, with_console=True)
    for name, help_text in (("ack", "acknowledge an alarm (or every alarm of a tag)"),
                            ("shelve", "shelve an alarm for a while"),
                            ("unshelve", "end an alarm's shelving"),
                            ("disable", "take an alarm out of service"),
                            ("enable", "return an alarm to service")):
        op = inner.add_parser(name, parents=[common], help=help_text)
        op.add_argument("id", metavar="ID|TAG")
        op.add_argument("--comment", "--reason", dest="comment", default="",
                        help="why (kept in the journal and the audit log)")
        if name == "shelve":
            # Not required=True: one of the two is checked in operate() (exit 2 all the same).
            how = op.add_mutually_exclusive_group()
            how.add_argument("--for", dest="duration", metavar="DURATION",
                             help="e.g. 30m, 2h, 1d")
            how.add_argument("--minutes", type=float, help="minutes")
        op.set_defaults(func=operate, op=name, with_console=True)
    dt = inner.add_parser("downtime", parents=[common],
                          help="a well's planned downtime: its alarms whose suppress_when "
                               "names WELL.DOWNTIME are suppressed")
    dt.add_argument("id", metavar="WELL")
    how = dt.add_mutually_exclusive_group()
    how.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 4h, 2d")
    how.add_argument("--end", action="store_true", help="end the downtime now")
    dt.add_argument("--comment", "--reason", dest="comment", default="",
                    help="why (kept in the journal and the audit log)")
    dt.set_defaults(func=operate, op="downtime", minutes=None, with_console=True)
    h = inner.add_parser("history", parents=[common], help="the alarm journal")
    h.add_argument("--since", default="24h", help="e.g. 30m, 24h, 7d (default 24h)")
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=history, with_console=True)
    rp = inner.add_parser("report", parents=[common],
                          help="alarm-system performance (ISA-18.2 / EEMUA 191)")
    rp.add_argument("--since", default="7d", help="e.g. 24h, 7d (default 7d)")
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=report, with_console=True)
    v = inner.add_parser("validate", parents=[common], help="check alarm files")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.set_defaults(func=validate, with_console=True)
    a = inner.add_parser("apply", parents=[common],
                         help="validate and install alarm files, then tell alarmd to reload")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--note", default="", help="why (kept in the history)")
    a.set_defaults(func=apply, with_console=True)
    r = inner.add_parser("rollback", parents=[common], help="reinstall an earlier version")
    r.add_argument("version", nargs="?", type=int, help="version (default: the previous one)")
    r.set_defaults(func=rollback, with_console=True)
    ls = inner.add_parser("versions", parents=[common], help="installed alarm-file versions")
    ls.set_defaults(func=versions, with_console=True)


def known_tags(cfg: GatewayConfig, console: Console) -> KnownTag | None:
    """Installed tags and configured wells' calc tags; None (no check) without tag maps."""
    files = store.active_files(cfg.paths.tagmap_dir)
    try:
        tags = {t.name.casefold() for t in
                load_tagmaps(files, TagMapContext.from_config(cfg)).tags} if files else None
    except ValidationError:
        tags = None
    if tags is None:
        console.warn("(no valid installed tag maps: tag names are not checked)",
                     "(no hay mapas instalados válidos: no se comprueban los nombres)")
        return None
    wells = {w.casefold() for w in cfg.wells}

    def known(tag: str) -> bool:
        m = _CALC.match(tag)
        return tag.casefold() in tags or (m is not None and m["well"].casefold() in wells)

    return known


def _load(files: list[Path], cfg: GatewayConfig, console: Console) -> AlarmSet:
    for f in files:
        if f.suffix.lower() != ".csv":
            raise _problems(ValidationError([Problem(
                str(f), 0, 0, en="an alarm file must be a .csv file",
                es="un archivo de alarmas debe ser un archivo .csv")]), console)
    try:
        return load_alarms(files, known_tags(cfg, console))
    except ValidationError as exc:
        raise _problems(exc, console) from exc


def _problems(exc: ValidationError, console: Console) -> CommandError:
    return problems_error(exc, console, "the alarm files", "los archivos de alarmas")


def _summary(alarms: AlarmSet, console: Console) -> None:
    per = ", ".join(f"{p} {n}" for p, n in sorted(Counter(a.priority for a in
                                                          alarms.alarms).items()))
    console.say(f"OK: {len(alarms)} alarms in {len(alarms.files)} file(s) ({per})",
                f"correcto: {len(alarms)} alarmas en {len(alarms.files)} archivo(s) ({per})")


def validate(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    _summary(_load([Path(f) for f in args.files], cfg, console), console)
    return EXIT_OK


def apply(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    folder = alarm_dir(cfg.paths.tagmap_dir)
    try:
        proposed = store.proposed_set(folder, [Path(f) for f in args.files])
    except ValidationError as exc:
        raise _problems(exc, console) from exc
    alarms = _load(list(proposed.values()), cfg, console)
    require(cfg, console, "configuration", "write", "alarms.apply", ", ".join(sorted(proposed)))
    version = store.apply(folder, proposed, args.note)
    record(cfg, console, "alarms.apply", f"version {version}",
           {"files": sorted(proposed), "alarms": len(alarms), "note": args.note})
    _summary(alarms, console)
    console.say(f"installed as version {version}", f"instalado como versión {version}")
    tell_daemons(cfg, console)
    return EXIT_OK


def rollback(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    folder = alarm_dir(cfg.paths.tagmap_dir)
    now = store.current_version(folder)
    target = args.version
    if target is None:
        older = [v.version for v in store.list_versions(folder) if v.version < now]
        if not older:
            raise CommandError("no earlier alarm-file version to roll back to",
                               "no hay una versión anterior de los archivos de alarmas")
        target = older[-1]
    source = folder / store.VERSIONS / f"{target:04d}"
    if not source.is_dir():
        raise CommandError(f"alarm-file version {target} does not exist",
                           f"la versión {target} de los archivos de alarmas no existe")
    _load(sorted(source.glob("*.csv")), cfg, console)  # still valid with today's tag maps?
    require(cfg, console, "configuration", "write", "alarms.rollback", f"version {target}")
    version = store.rollback(folder, target)
    record(cfg, console, "alarms.rollback", f"version {version}", {"from_version": target})
    console.say(f"version {target} reinstalled as version {version}",
                f"versión {target} reinstalada como versión {version}")
    tell_daemons(cfg, console)
    return EXIT_OK


def versions(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    folder = alarm_dir(cfg.paths.tagmap_dir)
    current = store.current_version(folder)
    console.say(f"alarm directory: {folder}", f"directorio de alarmas: {folder}")
    console.say(f"active version: {current or '(none)'}",
                f"versión activa: {current or '(ninguna)'}")
    for v in store.list_versions(folder):
        mark = "*" if v.version == current else " "
        console.say(fit(f"{mark}{v.version:>4}  {v.applied_at[:19].replace('T', ' '):<19}  "
                        f"{v.user[:10]:<10} {v.action:<8} {len(v.files):>5}  {v.note}", 80))
    return EXIT_OK


# --- operations through alarmd ----------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _list_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.add_argument("--all", action="store_true", help="also the alarms in normal state")


def seconds(text: str) -> float:
    """'90s', '30m', '2h', '1d' or a number of minutes; CommandError (exit 2) otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not m:
        raise CommandError(f"'{text}' is not a duration (e.g. 30m, 2h, 1d)",
                           f"'{text}' no es una duración (p. ej. 30m, 2h, 1d)", code=2)
    return float(m[1]) * _UNITS[m[2] or "m"]


def _ask(cfg: GatewayConfig, message: dict) -> dict:
    from daemons.alarmd.commands import request

    try:
        reply = request(cfg.paths.runtime_dir, {**message, "source": "cli"})
    except OSError as exc:
        raise CommandError(f"alarmd is not answering ({exc}); is it running?",
                           f"alarmd no responde ({exc}); ¿está en marcha?") from exc
    if not reply.get("ok"):
        err = reply.get("error") or {}
        raise CommandError(str(err.get("en", "refused")), str(err.get("es", "rechazado")))
    return reply


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) if ts else ""


def list_alarms(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    alarms = _ask(cfg, {"op": "list"})["alarms"]
    if not getattr(args, "all", False):
        alarms = [a for a in alarms if a["state"] != "normal"]
    keys = ("id", "tag", "well", "type", "priority", "state", "value", "limit", "message",
            "since", "acked_by")
    if getattr(args, "json", False):
        print(json.dumps([{k: (a["message_es"] if k == "message" and console.lang == "es"
                               else a["message_en"] if k == "message" else a[k])
                           for k in keys} for a in alarms], ensure_ascii=False),
              file=console.out)
        return EXIT_OK
    if not alarms:
        console.say("no active alarms", "no hay alarmas activas")
        return EXIT_OK
    console.say(console.tr("ID                         PRIORITY STATE              SINCE (UTC)",
                           "ID                         PRIORIDAD ESTADO            DESDE (UTC)"))
    for a in alarms:
        message = a["message_es"] if console.lang == "es" else a["message_en"]
        first = "*" if a.get("first_out") else " "
        console.say(fit(f"{fit(a['id'], 26):<26}{first}{a['priority']:<9}{a['state']:<19}"
                        f"{_when(a['since'])}", 80))
        console.say(fit(f"    {message}", 80))
    return EXIT_OK


def operate(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    message: dict = {"op": args.op, "id": args.id, "comment": args.comment}
    if args.op == "shelve":
        if args.duration is None and args.minutes is None:
            raise CommandError("shelve needs --for DURATION (e.g. 2h) or --minutes N",
                               "archivar requiere --for DURACIÓN (p. ej. 2h) o --minutes N",
                               code=2)
        message["seconds"] = seconds(args.duration) if args.duration else args.minutes * 60
    if args.op == "downtime":
        if args.duration is None and not args.end:
            raise CommandError("downtime needs --for DURATION (e.g. 4h) or --end",
                               "el paro requiere --for DURACIÓN (p. ej. 4h) o --end", code=2)
        message["seconds"] = 0 if args.end else seconds(args.duration)
    changed = _ask(cfg, message)["changed"]
    if changed:
        console.say(f"{args.op}: {', '.join(changed)}", f"{args.op}: {', '.join(changed)}")
    else:
        console.say(f"{args.id}: nothing to {args.op}", f"{args.id}: nada que hacer")
    return EXIT_OK


def history(args: argparse.Namespace, console: Console) -> int:
    from daemons.alarmd.journal import history as read_history

    cfg = load_gateway(args, console)
    since = time.time() - seconds(args.since)
    try:
        rows = read_history(cfg.paths.state_dir, since)
    except ValidationError as exc:
        raise CommandError(exc.render("en"), exc.render("es")) from exc
    if args.json:
        print(json.dumps(rows, ensure_ascii=False), file=console.out)
        return EXIT_OK
    for r in rows:
        who = f" {r['user']}" if r["user"] else ""
        console.say(fit(f"{_when(r['at'])} {r['alarm_id']:<26} {r['old']} -> {r['new']} "
                        f"({r['action']}{who}) {r['comment']}", 80))
    return EXIT_OK


def report(args: argparse.Namespace, console: Console) -> int:
    from daemons.alarmd.journal import history as read_history
    from daemons.alarmd.report import report as figures

    cfg = load_gateway(args, console)
    now = time.time()
    try:
        rows = read_history(cfg.paths.state_dir, 0.0, limit=10_000_000)
    except ValidationError as exc:
        raise CommandError(exc.render("en"), exc.render("es")) from exc
    r = figures(rows, now - seconds(args.since), now)
    if args.json:
        print(json.dumps(r, ensure_ascii=False), file=console.out)
        return EXIT_OK
    p10, ph = r["per_10_minutes"], r["per_hour"]
    console.say(f"activations since {_when(r['since'])} UTC: {r['activations']}",
                f"activaciones desde {_when(r['since'])} UTC: {r['activations']}")
    console.say(f"per 10 min: average {p10['average']}, max {p10['max']}; per hour: average "
                f"{ph['average']}, max {ph['max']}",
                f"por 10 min: promedio {p10['average']}, máx. {p10['max']}; por hora: promedio "
                f"{ph['average']}, máx. {ph['max']}")
    console.say(f"flood periods (>10 in 10 min): {len(r['flood_periods'])}, "
                f"{r['time_in_flood_pct']} % of the time",
                f"periodos de avalancha (>10 en 10 min): {len(r['flood_periods'])}, "
                f"{r['time_in_flood_pct']} % del tiempo")
    for f in r["flood_periods"]:
        console.say(f"  {_when(f['start'])} - {_when(f['end'])}  {f['alarms']}")
    console.say(f"standing (active > 24 h): {len(r['standing'])}",
                f"permanentes (activas > 24 h): {len(r['standing'])}")
    for x in r["standing"]:
        console.say(f"  {x['id']:<30} {x['hours']} h")
    console.say(f"chattering (>= 3 per minute): {len(r['chattering'])}",
                f"intermitentes (>= 3 por minuto): {len(r['chattering'])}")
    for x in r["chattering"]:
        console.say(f"  {x['id']:<30} {x['activations_in_a_minute']}")
    console.say("top 10 bad actors:", "las 10 alarmas más frecuentes:")
    for x in r["bad_actors"]:
        console.say(f"  {x['id']:<30} {x['activations']}")
    return EXIT_OK
