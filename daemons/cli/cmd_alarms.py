"""`wellgate alarms validate | apply | rollback | versions`: alarm definition files.

Validated like the tag maps (file:line:column, es/en) and installed with the tag maps'
store (versions, atomic `current` symlink, rollback) in the alarm directory beside the
tag-map directory.  Tags are checked against the installed tag maps and the calculated
tags `<WELL>.CALC.<NAME>` of configured wells.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from daemons.cli.access_common import record, require
from daemons.cli.cmd_tagmap import _tell_daemons
from daemons.cli.common import EXIT_OK, CommandError, Console, fit, load_gateway
from daemons.core.alarms import AlarmSet, alarm_dir, load_alarms
from daemons.core.alarms.definitions import KnownTag
from daemons.core.config import GatewayConfig
from daemons.core.problems import Problem, ValidationError
from daemons.core.tagmap import TagMapContext, load_tagmaps, store

_CALC = re.compile(r"^(?P<well>[A-Za-z0-9_]+)\.CALC\.[A-Z0-9_]+$")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("alarms", parents=[common], help="check and install alarm definitions")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
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
    for problem in exc.problems:
        console.say(problem.render("en"), problem.render("es"))
    return CommandError(f"{len(exc.problems)} problem(s) in the alarm files",
                        f"{len(exc.problems)} problema(s) en los archivos de alarmas")


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
    _tell_daemons(cfg, console)
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
    _tell_daemons(cfg, console)
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
