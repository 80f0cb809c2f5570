"""`wellgate tagmap validate | diff | apply | rollback | list`."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from daemons.cli.access_common import record, require
from daemons.cli.cmd_import import add_import_parser
from daemons.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    CommandError,
    Console,
    fit,
    load_gateway,
    problems_error,
    tell_daemons,
)
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError
from daemons.core.tagmap import (
    TagMap,
    TagMapContext,
    diff_tagmaps,
    load_tagmaps,
    render_diff,
    store,
)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("tagmap", parents=[common], help="check, compare and install tag maps")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = inner.add_parser("validate", parents=[common],
                         help="check tag maps as they would be installed")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--alone", action="store_true",
                   help="check only these files, not together with the installed ones")
    v.set_defaults(func=validate, with_console=True)
    d = inner.add_parser("diff", parents=[common], help="added, removed and changed tags")
    d.add_argument("old", metavar="OLD", help="a CSV file, or 'installed'")
    d.add_argument("new", metavar="NEW", nargs="+", help="CSV file(s)")
    d.set_defaults(func=diff, with_console=True)
    a = inner.add_parser("apply", parents=[common],
                         help="validate and install tag maps, then tell daemons to reload")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--note", default="", help="why (kept in the history)")
    a.add_argument("--dry-run", action="store_true", help="check and show the diff only")
    a.set_defaults(func=apply, with_console=True)
    r = inner.add_parser("rollback", parents=[common], help="reinstall an earlier version")
    r.add_argument("version", nargs="?", type=int, help="version (default: the previous one)")
    r.set_defaults(func=rollback, with_console=True)
    ls = inner.add_parser("list", parents=[common], help="installed files and versions")
    ls.set_defaults(func=list_versions, with_console=True)
    c = inner.add_parser("check", parents=[common],
                         help="dry run: read every tag of FILE once from the live devices")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(func=check, with_console=True)
    add_import_parser(inner, common)


def _load(files: list[Path], cfg: GatewayConfig, console: Console, version: int = 0) -> TagMap:
    try:
        return load_tagmaps(files, TagMapContext.from_config(cfg), version=version)
    except ValidationError as exc:
        raise _problems(exc, console) from exc


def _proposed(tagmap_dir: Path, files: list[str], console: Console) -> dict[str, Path]:
    """The installed set with `files` in it; a missing or non-CSV file is reported like
    any other tag-map problem (it was a traceback)."""
    try:
        return store.proposed_set(tagmap_dir, [Path(f) for f in files])
    except ValidationError as exc:
        raise _problems(exc, console) from exc


def _problems(exc: ValidationError, console: Console) -> CommandError:
    return problems_error(exc, console, "the tag maps", "los mapas de etiquetas")


def _summary(tm: TagMap, console: Console) -> None:
    devices = Counter(t.device for t in tm.tags)
    per = ", ".join(f"{d} {n}" for d, n in sorted(devices.items()))
    console.say(f"OK: {len(tm)} tags in {len(tm.files)} file(s) ({per})",
                f"correcto: {len(tm)} etiquetas en {len(tm.files)} archivo(s) ({per})")


def validate(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    files = [Path(f) for f in args.files]
    if not args.alone:
        files = list(_proposed(cfg.paths.tagmap_dir, args.files, console).values())
    _summary(_load(files, cfg, console), console)
    return EXIT_OK


def diff(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    if args.old == "installed":
        old_files = store.active_files(cfg.paths.tagmap_dir)
        new_files = list(_proposed(cfg.paths.tagmap_dir, args.new, console).values())
    else:
        old_files, new_files = [Path(args.old)], [Path(f) for f in args.new]
    changes = diff_tagmaps(_load(old_files, cfg, console), _load(new_files, cfg, console))
    print(render_diff(changes, console.lang), file=console.out)
    return EXIT_OK


def apply(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    tagmap_dir = cfg.paths.tagmap_dir
    proposed = _proposed(tagmap_dir, args.files, console)
    new = _load(list(proposed.values()), cfg, console)
    old_files = store.active_files(tagmap_dir)
    if old_files:
        try:
            old = load_tagmaps(old_files, TagMapContext.from_config(cfg))
            print(render_diff(diff_tagmaps(old, new), console.lang), file=console.out)
        except ValidationError:
            console.say("(the installed tag maps are invalid under the current configuration)",
                        "(los mapas instalados no son válidos con la configuración actual)")
    if args.dry_run:
        _summary(new, console)
        return EXIT_OK
    require(cfg, console, "configuration", "write", "tagmap.apply", ", ".join(sorted(proposed)))
    version = store.apply(tagmap_dir, proposed, args.note)
    record(cfg, console, "tagmap.apply", f"version {version}",
           {"files": sorted(proposed), "tags": len(new), "note": args.note})
    _summary(new, console)
    console.say(f"installed as version {version}", f"instalado como versión {version}")
    tell_daemons(cfg, console)
    return EXIT_OK


def rollback(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    tagmap_dir = cfg.paths.tagmap_dir
    target = args.version
    if target is None:
        older = [v.version for v in store.list_versions(tagmap_dir)
                 if v.version < store.current_version(tagmap_dir)]
        target = older[-1] if older else 0
    folder = tagmap_dir / store.VERSIONS / f"{target:04d}"
    if target and folder.is_dir():
        _load(sorted(folder.glob("*.csv")), cfg, console)  # still valid under today's config?
    require(cfg, console, "configuration", "write", "tagmap.rollback", f"version {target}")
    try:
        version = store.rollback(tagmap_dir, args.version)
    except ValidationError as exc:
        raise CommandError(exc.render("en"), exc.render("es")) from exc
    record(cfg, console, "tagmap.rollback", f"version {version}", {"from_version": target})
    console.say(f"version {target} reinstalled as version {version}",
                f"versión {target} reinstalada como versión {version}")
    tell_daemons(cfg, console)
    return EXIT_OK


def list_versions(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    tagmap_dir = cfg.paths.tagmap_dir
    current = store.current_version(tagmap_dir)
    files = store.active_files(tagmap_dir)
    console.say("tag-map directory:", "directorio de mapas:")
    console.say(f"  {tagmap_dir}")
    console.say(f"active version: {current or '(hand-installed)'}",
                f"versión activa: {current or '(instalada a mano)'}")
    for f in files:
        rows = sum(1 for line in f.read_text(encoding="utf-8", errors="replace").splitlines()
                   if line.strip() and not line.lstrip().startswith("#")) - 1
        console.say(f"  {f.name:<40} {max(rows, 0):>6} rows", f"  {f.name:<40} "
                    f"{max(rows, 0):>6} filas")
    versions = store.list_versions(tagmap_dir)
    if not versions:
        console.say("no versions installed with `wellgate tagmap apply` yet",
                    "aún no hay versiones instaladas con `wellgate tagmap apply`")
        return EXIT_OK if files else EXIT_INVALID
    console.say(console.tr("  ver  applied (UTC)        user       action   files  note",
                           "  ver  aplicada (UTC)       usuario    acción   arch.  nota"))
    for v in versions:
        mark = "*" if v.version == current else " "
        line = (f"{mark}{v.version:>4}  {v.applied_at[:19].replace('T', ' '):<19}  "
                f"{v.user[:10]:<10} {v.action:<8} {len(v.files):>5}  {v.note}")
        console.say(fit(line, 80))
    return EXIT_OK


def check(args: argparse.Namespace, console: Console) -> int:
    import asyncio

    from daemons.cli.commission import check_tags, format_value

    cfg = load_gateway(args, console)
    tm = _load([Path(f) for f in args.files], cfg, console)
    results = asyncio.run(check_tags(cfg, tm.tags))
    console.say(console.tr(f"{'TAG':<24} {'VALUE':>24} {'UNITS':<8} QUALITY",
                           f"{'ETIQUETA':<24} {'VALOR':>24} {'UNIDAD':<8} CALIDAD"))
    for r in results:
        line = (f"{fit(r.tag.name, 24):<24} {format_value(r.value):>24} "
                f"{fit(r.tag.units, 8):<8} {r.quality}")
        console.say(fit(line, 80))
    bad = [r for r in results if not r.ok]
    console.say(f"{len(results) - len(bad)} of {len(results)} tags read good",
                f"{len(results) - len(bad)} de {len(results)} etiquetas leídas bien")
    return EXIT_OK if not bad else EXIT_INVALID
