"""`wellgate audit …`: check, export the head of, list and prune the audit chain.

    wellgate audit verify [--head SEQ:HASH | --head FILE]
    wellgate audit head [--json]
    wellgate audit list [--since 24h] [--actor A] [--action X] [--limit N] [--json]
    wellgate audit prune [--months N]

`verify` exits 0 with the entry count and head hash when the chain is whole, 1 naming the
first entry that was edited, removed, inserted or reordered.  Given a head exported
earlier, it also tells a tail cut off or a whole-file rewrite.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from daemons.cli.access_common import invoker, open_stores, policy_of
from daemons.cli.cmd_history import parse_time
from daemons.cli.common import EXIT_INVALID, EXIT_OK, CommandError, Console, fit, load_gateway
from daemons.core.access.audit import DB_NAME, AuditReader, entry_json, iso
from daemons.core.access.chain import Head
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError

_BARE_AGE = re.compile(r"^\d+(?:\.\d+)?[smhdw]$")  # `--since 24h` as well as `-24h`


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("audit", parents=[common],
                       help="the audit log: verify, head, list, prune")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = inner.add_parser("verify", parents=[common], help="check the whole hash chain")
    v.add_argument("--head", metavar="SEQ:HASH|FILE",
                   help="also compare with a head exported earlier by 'audit head'")
    h = inner.add_parser("head", parents=[common],
                         help="print the newest entry's number and hash, to keep elsewhere")
    h.add_argument("--json", action="store_true")
    li = inner.add_parser("list", parents=[common], help="list entries, oldest first")
    li.add_argument("--since", metavar="T", help="24h, 7d, -30m or ISO 8601 (default: all)")
    li.add_argument("--actor", metavar="USER")
    li.add_argument("--action", metavar="ACTION", help="e.g. login, tag.write, user")
    li.add_argument("--limit", type=int, metavar="N", help="only the newest N")
    li.add_argument("--json", action="store_true")
    pr = inner.add_parser("prune", parents=[common],
                          help="apply retention now (the daemons also do it daily)")
    pr.add_argument("--months", type=int, metavar="N",
                    help="keep N months (default: [access] audit_retention_months)")
    for parser in (v, h, li, pr):
        parser.set_defaults(func=run, with_console=True)


def _reader(cfg: GatewayConfig) -> AuditReader:
    path = cfg.paths.state_dir / DB_NAME
    if not path.exists():
        raise CommandError(f"no audit log yet ({path})", f"aún no hay registro de auditoría "
                           f"({path})")
    try:
        return AuditReader(cfg.paths.state_dir)
    except ValidationError as exc:
        raise CommandError(exc.render("en"), exc.render("es")) from exc


def run(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    if args.action == "prune":
        return _prune(args, console, cfg)
    reader = _reader(cfg)
    try:
        if args.action == "verify":
            return _verify(args, console, reader)
        if args.action == "head":
            return _head(args, console, reader)
        return _list(args, console, reader)
    finally:
        reader.close()


def _exported(text: str) -> Head:
    path = Path(text)
    source = text
    if not Head.parse(text) and path.is_file():
        source = path.read_text(encoding="utf-8", errors="replace")
        try:  # the --json form of `audit head`
            data = json.loads(source)
            source = f"{data['seq']}:{data['hash']}"
        except (ValueError, KeyError, TypeError):
            pass
    head = Head.parse(source)
    if head is None:
        raise CommandError(f"'{text}' is neither SEQ:HASH nor a file holding one",
                           f"'{text}' no es SEQ:HASH ni un archivo que lo contenga", code=2)
    return head


def _verify(args: argparse.Namespace, console: Console, reader: AuditReader) -> int:
    exported = _exported(args.head) if args.head else None
    verdict = reader.verify(exported)
    if verdict.problem is not None:
        p = verdict.problem
        console.say(f"audit chain BROKEN at entry {p.seq} ({p.kind}): {p.en}",
                    f"cadena de auditoría ROTA en la entrada {p.seq} ({p.kind}): {p.es}")
        return EXIT_INVALID
    head = verdict.head.text() if verdict.head else "-"
    since = (console.tr(f" (kept since entry {verdict.anchor.seq + 1}; older ones pruned)",
                        f" (desde la entrada {verdict.anchor.seq + 1}; las anteriores se "
                        "depuraron)") if verdict.anchor else "")
    console.say(f"audit chain OK: {verdict.count} entries{since}, head {head}",
                f"cadena de auditoría correcta: {verdict.count} entradas{since}, "
                f"cabeza {head}")
    if exported is not None:
        console.say(f"the exported head {exported.seq} matches",
                    f"la cabeza exportada {exported.seq} coincide")
    return EXIT_OK


def _head(args: argparse.Namespace, console: Console, reader: AuditReader) -> int:
    head = reader.head()
    if head is None:
        raise CommandError("the audit log is empty", "el registro de auditoría está vacío")
    if args.json:
        print(json.dumps({"seq": head.seq, "hash": head.hash, "ts": iso(head.ts_ns)}))
    else:
        print(f"{head.seq}:{head.hash} {iso(head.ts_ns)}")
    return EXIT_OK


def _list(args: argparse.Namespace, console: Console, reader: AuditReader) -> int:
    since = None
    if args.since:
        text = args.since.strip()
        since = parse_time(f"-{text}" if _BARE_AGE.match(text) else text, time.time_ns())
        since = max(-(2**63), min(since, 2**63 - 1))  # SQLite integers are 64-bit
    entries = reader.entries(since_ns=since, actor=args.actor, action=args.action,
                             limit=args.limit)
    if args.json:
        print(json.dumps([entry_json(e) for e in entries], ensure_ascii=False, indent=1))
        return EXIT_OK
    if not entries:
        console.say("no entries", "no hay entradas")
        return EXIT_OK
    for e in entries:
        when = iso(e.ts_ns)[:19].replace("T", " ")
        console.say(fit(f"{e.seq:>6} {when} {fit(e.actor, 12):<12} {e.source:<9} "
                        f"{e.action} {e.object}", 80))
        details = e.details_dict()
        if details:
            text = ", ".join(f"{k}={v}" for k, v in details.items())
            console.say(fit(f"       {text}", 80))
    return EXIT_OK


def _prune(args: argparse.Namespace, console: Console, cfg: GatewayConfig) -> int:
    months = cfg.access.audit_retention_months if args.months is None else args.months
    if months < 1:
        raise CommandError("retention must be at least 1 month (0 in the configuration "
                           "keeps everything)", "la retención debe ser de al menos 1 mes",
                           code=2)
    users, audit = open_stores(cfg)
    try:
        by = invoker(users)
        decision = policy_of(cfg).authorize(by, "system", "execute")
        if not decision:
            audit.append(by.name, "cli", "audit.prune.denied", DB_NAME,
                         {"reason": decision.en})
            raise CommandError(decision.en, decision.es)
        removed = audit.prune_months(months, by.name)
    finally:
        users.close()
        audit.close()
    console.say(f"{removed} entries older than {months} months removed; the chain keeps an "
                "anchor", f"{removed} entradas de más de {months} meses eliminadas; la cadena "
                "conserva un ancla")
    return EXIT_OK
