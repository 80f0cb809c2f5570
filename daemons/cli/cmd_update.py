"""`wellgate update …`: signed image updates with automatic rollback (docs/image.md).

    wellgate update keygen NAME [--dir D]            NAME.key (private) + NAME.pub
    wellgate update build TREE --key NAME.key -o FILE [--version V] [--arch A]
    wellgate update apply FILE [--root /] [--service-manager S] [--timeout 120]
    wellgate update rollback [--root /] [--service-manager S]
    wellgate update status [--root /] [--json]
    wellgate update migrate-config CONFIG --out FILE  (run by apply, from the new version)

Exit codes: 0 done and healthy; 1 refused (nothing changed), or not healthy and rolled
back; 2 usage.  apply and rollback need the `system`/`execute` permission (root and
the service user act as the system) and audit every step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from daemons.cli.access_common import SyslogJSON, require
from daemons.cli.common import EXIT_INVALID, EXIT_OK, CommandError, Console
from daemons.core.access.audit import AuditLog
from daemons.core.access.writes import unix_name
from daemons.core.config import load_config
from daemons.core.problems import ValidationError
from daemons.core.update import UpdateError
from daemons.core.update import bundle as bundle_file
from daemons.core.update.apply import Health, Updater
from daemons.core.update.keys import generate
from daemons.core.update.layout import Layout, machine_arch
from daemons.core.update.migrate import migrate
from daemons.core.update.services import manager_from


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("update", parents=[common],
                       help="signed image updates: build, apply, rollback, status")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    k = inner.add_parser("keygen", parents=[common], help="make an Ed25519 signing key pair")
    k.add_argument("name", help="file name stem: NAME.key (private, 0600) and NAME.pub")
    k.add_argument("--dir", default=".", help="where to write them (default: here)")
    b = inner.add_parser("build", parents=[common],
                         help="pack and sign an image tree (on the build machine)")
    b.add_argument("tree", help="the built bundle (build/image/dist/wellgate)")
    b.add_argument("--key", required=True, help="the private signing key (NAME.key)")
    b.add_argument("-o", "--output", required=True, help="the update file to write")
    b.add_argument("--version", help="default: the tree's wellgate-build.json")
    b.add_argument("--arch", help="default: the tree's wellgate-build.json")
    a = inner.add_parser("apply", parents=[common], help="verify, install and switch to an "
                         "update; roll back if the daemons are not healthy")
    a.add_argument("file", help="the update file")
    r = inner.add_parser("rollback", parents=[common], help="go back to the previous version")
    s = inner.add_parser("status", parents=[common], help="installed versions, keys, last "
                         "operation")
    s.add_argument("--json", action="store_true")
    for q in (a, r, s):
        q.add_argument("--root", default="/", help="install root (default /; a scratch "
                       "directory to prepare or test an install)")
    for q in (a, r):
        q.add_argument("--service-manager", metavar="S", help="systemctl, command:HOOK or "
                       "none (default: systemctl when systemd runs)")
        q.add_argument("--timeout", type=float, default=120.0, metavar="S",
                       help="seconds for every daemon to be READY (default 120)")
        q.add_argument("--settle", type=float, default=10.0, metavar="S",
                       help="seconds they must then stay up (default 10)")
    m = inner.add_parser("migrate-config", parents=[common],
                         help="write this version's migration of a configuration file")
    m.add_argument("source", help="the configuration to migrate")
    m.add_argument("--out", required=True, help="where to write the result")
    for q in (k, b, a, r, s, m):
        q.set_defaults(func=run, with_console=True)


def _error(exc: UpdateError) -> CommandError:
    return CommandError(exc.en, exc.es)


def run(args: argparse.Namespace, console: Console) -> int:
    try:
        if args.action == "keygen":
            return _keygen(args, console)
        if args.action == "build":
            return _build(args, console)
        if args.action == "migrate-config":
            return _migrate_config(args)
        layout = Layout(Path(args.root))
        if args.action == "status":
            return _status(args, console, layout)
        return _change(args, console, layout)
    except UpdateError as exc:
        raise _error(exc) from exc
    except OSError as exc:  # a root that is not writable, a file that vanished …
        raise CommandError(f"update {args.action}: {exc}",
                           f"update {args.action}: {exc}") from exc


def _keygen(args: argparse.Namespace, console: Console) -> int:
    folder = Path(args.dir)
    private, public = folder / f"{args.name}.key", folder / f"{args.name}.pub"
    try:
        kid = generate(private, public)
    except FileExistsError as exc:
        raise CommandError(f"{private} exists; not overwritten", f"{private} ya existe; no "
                           "se sobrescribe") from exc
    except OSError as exc:
        raise CommandError(f"cannot write {private}: {exc}",
                           f"no se puede escribir {private}: {exc}") from exc
    console.say(f"key {kid}: keep {private} secret (build machine only); install {public} "
                "in /etc/wellgate/update-keys/ on the gateways",
                f"clave {kid}: guarde {private} en secreto (solo en la máquina de compilación); "
                f"instale {public} en /etc/wellgate/update-keys/ de los gateways")
    return EXIT_OK


def _build(args: argparse.Namespace, console: Console) -> int:
    out = Path(args.output)
    manifest = bundle_file.build(Path(args.tree), out, Path(args.key), version=args.version,
                                 arch=args.arch)
    console.say(f"{out}: version {manifest['version']} for {manifest['arch']}, "
                f"{len(manifest['files'])} files, signed by key {manifest['key_id']}",
                f"{out}: versión {manifest['version']} para {manifest['arch']}, "
                f"{len(manifest['files'])} archivos, firmada con la clave {manifest['key_id']}")
    return EXIT_OK


def _migrate_config(args: argparse.Namespace) -> int:
    source, out = Path(args.source), Path(args.out)
    try:
        text = source.read_text(encoding="utf-8")
        out.write_text(migrate(text), encoding="utf-8")
        os.chmod(out, source.stat().st_mode & 0o777)
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot migrate {source}: {exc}",
                           f"no se puede migrar {source}: {exc}") from exc
    return EXIT_OK


def _config_path(args: argparse.Namespace, layout: Layout) -> Path:
    return Path(args.config) if getattr(args, "config", None) else layout.config


def _audit_sink(state_dir: Path) -> Any:
    unix = unix_name(os.getuid())

    def record(action: str, obj: str, details: dict[str, Any]) -> None:
        log = AuditLog(state_dir, log=SyslogJSON())
        try:
            log.append(unix, "cli", action, obj, {**details, "unix_user": unix})
        finally:
            log.close()

    return record


def _change(args: argparse.Namespace, console: Console, layout: Layout) -> int:
    config = _config_path(args, layout)
    try:
        cfg = load_config(config)
    except ValidationError as exc:
        raise CommandError("the running configuration is invalid; fix it first:\n"
                           + exc.render("en"), "la configuración actual no es válida; "
                           "corríjala primero:\n" + exc.render("es")) from exc
    action = f"update.{args.action}"
    require(cfg, console, "system", "execute", action, getattr(args, "file", "") or "")
    updater = Updater(layout, _audit_sink(cfg.paths.state_dir), arch=machine_arch(),
                      manager=manager_from(args.service_manager), config=config,
                      health=Health(timeout_s=args.timeout, settle_s=args.settle))
    outcome = updater.apply(Path(args.file)) if args.action == "apply" else updater.rollback()
    if outcome.ok:
        console.say(outcome.en, outcome.es)
        return EXIT_OK
    console.warn(f"error: {outcome.en}", f"error: {outcome.es}")
    return EXIT_INVALID


def _status(args: argparse.Namespace, console: Console, layout: Layout) -> int:
    info = Updater(layout, lambda *a: None, arch=machine_arch(), manager=None).status()
    if args.json:
        json.dump(info, sys.stdout, indent=1)
        print()
        return EXIT_OK
    last = info["last"] or {}
    lines = [
        (f"running: {info['current'] or '-'}   previous: {info['previous'] or '-'}   "
         f"arch: {info['arch']}",
         f"en uso: {info['current'] or '-'}   anterior: {info['previous'] or '-'}   "
         f"arquitectura: {info['arch']}"),
        (f"installed: {', '.join(info['installed']) or '-'}",
         f"instaladas: {', '.join(info['installed']) or '-'}"),
        (f"trusted keys: {', '.join(info['trusted_keys']) or 'none'}",
         f"claves de confianza: {', '.join(info['trusted_keys']) or 'ninguna'}"),
    ]
    if last:
        problem = f" ({last['problem']})" if last.get("problem") else ""
        lines.append((f"last: {last['op']} {last['version']} {last['result']} at "
                      f"{last['at']}{problem}", f"última: {last['op']} {last['version']} "
                      f"{last['result']} el {last['at']}{problem}"))
    for en, es in lines:
        console.say(en, es)
    return EXIT_OK
