"""`wellgate user …`: gateway users, their roles and scope, passwords and API keys.

    wellgate user add NAME --role ROLE [--role …] [--scope FIELD[/WELL] …] [--password-stdin]
    wellgate user passwd NAME [--password-stdin]
    wellgate user role NAME ROLE [ROLE …]
    wellgate user scope NAME (FIELD[/WELL] … | --all)
    wellgate user disable|enable NAME
    wellgate user list [--json]
    wellgate user apikey NAME

Without --password-stdin a one-time password is made and printed once (the user is asked
to change it at the first login).  Every change is checked with `authorize(…, "users",
"write")` and recorded in the audit log.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from daemons.cli.access_common import accounts
from daemons.cli.common import EXIT_OK, CommandError, Console, fit
from daemons.core.access.accounts import AccessError, Accounts
from daemons.core.access.model import ROLES, User

SOURCE = "cli"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("user", parents=[common],
                       help="gateway users: add, passwd, role, scope, disable, enable, "
                            "list, apikey")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    roles = ", ".join(ROLES)
    a = inner.add_parser("add", parents=[common], help="create a user")
    a.add_argument("name")
    a.add_argument("--role", action="append", required=True, metavar="ROLE",
                   help=f"one of: {roles} (repeat for several)")
    a.add_argument("--scope", action="append", default=[], metavar="FIELD[/WELL]",
                   help="limit to a field or a well (repeat; default: the whole gateway)")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (default: a one-time one)")
    a.add_argument("--display-name", default="", metavar="TEXT")
    a.add_argument("--language", choices=("es", "en"), default="es")
    w = inner.add_parser("passwd", parents=[common], help="set a user's password")
    w.add_argument("name")
    w.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (default: a one-time one)")
    r = inner.add_parser("role", parents=[common], help="replace a user's roles")
    r.add_argument("name")
    r.add_argument("roles", nargs="+", metavar="ROLE", help=roles)
    s = inner.add_parser("scope", parents=[common], help="replace a user's field/well scope")
    s.add_argument("name")
    s.add_argument("items", nargs="*", metavar="FIELD[/WELL]")
    s.add_argument("--all", action="store_true", help="the whole gateway (no limit)")
    for action, text in (("disable", "stop a user from logging in or writing"),
                         ("enable", "let a disabled user back in")):
        d = inner.add_parser(action, parents=[common], help=text)
        d.add_argument("name")
    li = inner.add_parser("list", parents=[common], help="list the users")
    li.add_argument("--json", action="store_true")
    k = inner.add_parser("apikey", parents=[common],
                         help="make a new API key for a machine client (shown once)")
    k.add_argument("name")
    for parser in (a, w, r, s, li, k, *(inner.choices[x] for x in ("disable", "enable"))):
        parser.set_defaults(func=run, with_console=True)


def _password(args: argparse.Namespace) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def run(args: argparse.Namespace, console: Console) -> int:
    service, by, _cfg = accounts(args, console)
    try:
        return _run(args, console, service, by)
    except AccessError as exc:
        raise CommandError(exc.en, exc.es) from exc
    finally:
        service.users.close()
        service.audit.close()


def _run(args: argparse.Namespace, console: Console, service: Accounts, by: User) -> int:
    name = getattr(args, "name", "")
    if args.action == "add":
        secret = service.add(by, SOURCE, name, args.role, args.scope, _password(args),
                             display_name=args.display_name, language=args.language)
        console.say(f"user '{name}' created", f"usuario '{name}' creado")
        _show_once(console, secret)
    elif args.action == "passwd":
        _show_once(console, service.set_password(by, SOURCE, name, _password(args)))
        console.say(f"password of '{name}' changed", f"contraseña de '{name}' cambiada")
    elif args.action == "role":
        service.set_roles(by, SOURCE, name, args.roles)
        console.say(f"roles of '{name}': {' '.join(args.roles)}",
                    f"roles de '{name}': {' '.join(args.roles)}")
    elif args.action == "scope":
        if bool(args.items) == bool(args.all):
            raise CommandError("give FIELD or FIELD/WELL items, or --all",
                               "indique elementos CAMPO o CAMPO/POZO, o --all", code=2)
        service.set_scope(by, SOURCE, name, args.items)
        console.say(f"scope of '{name}' changed", f"alcance de '{name}' cambiado")
    elif args.action in ("disable", "enable"):
        service.set_enabled(by, SOURCE, name, args.action == "enable")
        console.say(f"user '{name}' {args.action}d", f"usuario '{name}' "
                    + ("habilitado" if args.action == "enable" else "deshabilitado"))
    elif args.action == "apikey":
        key = service.new_api_key(by, SOURCE, name)
        console.say(f"API key of '{name}' (shown once; it replaces any earlier key):",
                    f"clave API de '{name}' (se muestra una sola vez; reemplaza la anterior):")
        console.say(key)
    else:
        return _list(args, console, service, by)
    return EXIT_OK


def _show_once(console: Console, secret: str | None) -> None:
    if secret:
        console.say(f"one-time password (shown once, to be changed at first login): {secret}",
                    f"contraseña de un solo uso (se muestra una vez; cámbiela al entrar): "
                    f"{secret}")


def _when(ns: int | None) -> str:
    if not ns:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M")


def _list(args: argparse.Namespace, console: Console, service: Accounts, by: User) -> int:
    decision = service.policy.authorize(by, "users", "read")
    if not decision:
        raise CommandError(decision.en, decision.es)
    records = service.users.all()
    if args.json:
        print(json.dumps([{
            "name": r.name, "display_name": r.display_name, "language": r.language,
            "roles": list(r.roles), "scope": list(r.scope), "enabled": r.enabled,
            "api_key": r.api_key_id is not None, "must_change_password": r.must_change,
            "locked_until": None if r.locked_until_ns <= service.clock() else
            datetime.fromtimestamp(r.locked_until_ns / 1e9, UTC).isoformat(),
            "created": _when(r.created_ns), "changed": _when(r.changed_ns),
            "last_login": _when(r.last_login_ns)} for r in records], ensure_ascii=False,
            indent=1))
        return EXIT_OK
    if not records:
        console.say("no users yet: wellgate user add NAME --role administrator",
                    "aún no hay usuarios: wellgate user add NOMBRE --role administrator")
        return EXIT_OK
    console.say(f"{'USER':<14} {'ROLES':<30} {'SCOPE':<20} STATE",
                f"{'USUARIO':<14} {'ROLES':<30} {'ALCANCE':<20} ESTADO")
    for r in records:
        state = console.tr("on", "activo") if r.enabled else console.tr("off", "inactivo")
        if r.locked_until_ns > service.clock():
            state = console.tr("locked", "bloqueado")
        scope = " ".join(r.scope) or console.tr("(all)", "(todo)")
        console.say(fit(f"{fit(r.name, 14):<14} {fit(' '.join(r.roles), 30):<30} "
                        f"{fit(scope, 20):<20} {state}", 80))
    return EXIT_OK
