"""What `wellgate user` and `wellgate audit` share: who is running the command, the
accounts service, and a copy of each audit entry to the system log.

The CLI acts as the system when run by root or the service user (that is how the first
administrator is created on a gateway); any other Unix user acts as the gateway user of
the same name and passes the same `authorize` as the HMI.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from logging.handlers import SysLogHandler
from pathlib import Path
from typing import Any

from daemons.cli.common import CommandError, Console, load_gateway
from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import User, system_user
from daemons.core.access.policy import Policy, load_policy
from daemons.core.access.users import UserStore
from daemons.core.access.writes import service_uids, unix_name
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError

DEV_LOG = Path("/dev/log")


class SyslogJSON:
    """The CLI's stand-in for a daemon's journal: each audit entry as one JSON line to
    syslog (journald reads /dev/log), the same fields the daemons log.  Silent where
    there is no /dev/log (containers, tests)."""

    def __init__(self, address: Path = DEV_LOG) -> None:
        self.handler: SysLogHandler | None = None
        if address.exists():
            try:
                self.handler = SysLogHandler(address=str(address),
                                             facility=SysLogHandler.LOG_AUTHPRIV)
                self.handler.ident = "wellgate: "
            except OSError:
                self.handler = None

    def info(self, event: str, **fields: Any) -> None:
        if self.handler is None:
            return
        text = json.dumps({"event": event, **fields}, ensure_ascii=False, default=str)
        record = logging.LogRecord("wellgate.audit", logging.INFO, "", 0, text, None, None)
        try:
            self.handler.emit(record)
        except OSError:
            pass

    def close(self) -> None:
        if self.handler is not None:
            self.handler.close()


def policy_of(cfg: GatewayConfig) -> Policy:
    try:
        return load_policy(cfg)
    except ValidationError as exc:
        raise CommandError("the permission matrix is invalid:\n" + exc.render("en"),
                           "la matriz de permisos no es válida:\n" + exc.render("es")) from exc


def open_stores(cfg: GatewayConfig) -> tuple[UserStore, AuditLog]:
    try:
        return (UserStore(cfg.paths.state_dir),
                AuditLog(cfg.paths.state_dir, log=SyslogJSON()))
    except ValidationError as exc:
        raise CommandError(exc.render("en"), exc.render("es")) from exc


def invoker(users: UserStore) -> User:
    """Who runs this command, as a gateway identity."""
    uid = os.getuid()
    name = unix_name(uid)
    if uid in service_uids(include_self=False):
        return system_user(name)
    rec = users.get(name)
    if rec is None:
        raise CommandError(f"Unix user '{name}' has no gateway user; ask an administrator, "
                           "or run this as root on the gateway",
                           f"el usuario Unix '{name}' no tiene usuario en el gateway; pida "
                           "uno a un administrador, o ejecute esto como root en el gateway")
    return rec.user()


def accounts(args: Any, console: Console) -> tuple[Accounts, User, GatewayConfig]:
    cfg = load_gateway(args, console)
    policy = policy_of(cfg)
    users, audit = open_stores(cfg)
    return Accounts(users, audit, policy, cfg.access), invoker(users), cfg


def record(cfg: GatewayConfig, console: Console, action: str, obj: str,
           details: dict[str, Any]) -> None:
    """Audit a change the CLI made outside the user commands (tag maps).  The change is
    done already: a log that cannot be written is reported, not turned into a failure."""
    unix = unix_name(os.getuid())
    try:
        log = AuditLog(cfg.paths.state_dir, log=SyslogJSON())
        try:
            log.append(unix, "cli", action, obj, {**details, "unix_user": unix})
        finally:
            log.close()
    except (ValidationError, OSError, sqlite3.Error) as exc:
        console.warn(f"warning: not recorded in the audit log: {exc}",
                     f"aviso: no quedó en el registro de auditoría: {exc}")


def require(cfg: GatewayConfig, console: Console, module: str, operation: str,
            action: str, obj: str) -> str:
    """Refuse (exit 1, audited as ``<action>.denied``) unless whoever runs the command may
    do ``operation`` on ``module`` — the same `authorize` as every other interface.
    Returns the gateway user's name for the audit entry of the change itself."""
    users, audit = open_stores(cfg)
    try:
        user = invoker(users)
        decision = policy_of(cfg).authorize(user, module, operation)
        if not decision:
            audit.append(user.name, "cli", f"{action}.denied", obj,
                         {"reason": decision.en, "unix_user": unix_name(os.getuid())})
            raise CommandError(decision.en, decision.es)
        return user.name
    finally:
        users.close()
        audit.close()

