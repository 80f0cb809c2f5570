"""`wellgate simulate …` (and `wellgate-sim …`): run the simulated site, inject faults.

Exit codes: 0 ok, 1 invalid input or simulator not running, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemons.core.problems import ValidationError
from daemons.sim import control
from daemons.sim.faults import KINDS, Fault

OK, FAILED, USAGE = 0, 1, 2


def _say(text: str) -> None:
    # Lines are laid out to fit 80 columns; only long paths may run over.
    print(text)


def _lang(args: argparse.Namespace) -> str:
    return getattr(args, "lang", None) or "en"


def _fail(args: argparse.Namespace, en: str, es: str | None = None) -> int:
    print(f"error: {es if es and _lang(args) == 'es' else en}", file=sys.stderr)
    return FAILED


def _send(args: argparse.Namespace, message: dict[str, Any]) -> dict[str, Any] | None:
    try:
        reply = control.request(Path(args.dir), message)
    except control.NotRunning:
        _fail(args, f"no simulator is running in {args.dir} (start: wellgate simulate run)",
              f"no hay un simulador en marcha en {args.dir} (inícielo: wellgate simulate run)")
        return None
    if not reply.get("ok"):
        lang = _lang(args)
        for err in reply.get("errors", []):
            print(f"error: {err.get(lang) or err.get('en')}", file=sys.stderr)
        return None
    return reply


def _load_models(spec: str | None) -> Mapping[str, type]:
    """The model registry: daemons.sim.devices.MODELS, or MODULE:NAME given by --models."""
    if spec is None:
        from daemons.sim.site import default_models

        return default_models()
    module, _, name = spec.partition(":")
    models = getattr(importlib.import_module(module), name or "MODELS", None)
    if not isinstance(models, Mapping):
        raise ImportError(f"{spec} is not a mapping of model key -> class")
    return models


def cmd_run(args: argparse.Namespace) -> int:
    from daemons.sim.site import SimError, SimSite
    from daemons.sim.sitefile import load_site

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        models = _load_models(args.models)
        site = load_site(Path(args.site), set(models))
        sim = SimSite(site, state_dir=Path(args.dir), models=models, isolated=args.isolated)
    except ValidationError as exc:
        print(exc.render(_lang(args)), file=sys.stderr)
        return FAILED
    except (OSError, ImportError) as exc:
        return _fail(args, str(exc))

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await sim.start()
        except SimError as exc:
            return _fail(args, str(exc))
        try:
            for line in _describe_ports(sim.ports_info()):
                _say(line)
            sys.stdout.flush()
            await stop.wait()
        finally:
            await sim.stop()
        return OK

    return asyncio.run(main())


def _describe_ports(info: dict[str, Any]) -> list[str]:
    lines = [f"site {info['site']} running (pid {info['pid']}); control {info['control']}"]
    for name, tcp in sorted(info["tcp"].items()):
        lines.append(f"  {name:<12} tcp  {tcp['host']}:{tcp['port']}  unit {tcp['unit']}")
    for name, bus in sorted(info["buses"].items()):
        units = ", ".join(f"{d}={u}" for d, u in sorted(bus["units"].items()))
        lines.append(f"  {name:<12} rtu  {bus['link']}  {bus['baud']} 8{bus['parity']}"
                     f"{bus['stop_bits']}  units {units}")
    return lines


def cmd_fault(args: argparse.Namespace) -> int:
    message: dict[str, Any] = {"cmd": "fault", "target": args.device, "kind": args.kind,
                               "unit": args.unit, "duration_s": args.duration,
                               "delay_ms": args.delay_ms, "code": args.code,
                               "probability": args.probability, "bytes": args.bytes}
    if args.range is not None:
        first, _, last = args.range.partition("-")
        try:
            message["first"] = int(first)
            message["last"] = int(last) if last else int(first)
        except ValueError:
            print("error: --range is START or START-END (0-based addresses)", file=sys.stderr)
            return USAGE
    reply = _send(args, message)
    if reply is None:
        return FAILED
    for fault in reply["faults"]:
        until = "until cleared" if fault["until"] is None else (
            f"for {fault['until'] - fault['started']:g} s")
        _say(f"{fault['device']}: {args.kind} fault {until}")
    return OK


def cmd_clear(args: argparse.Namespace) -> int:
    reply = _send(args, {"cmd": "clear", "target": args.device, "unit": args.unit})
    if reply is None:
        return FAILED
    cleared = reply["cleared"]
    _say(f"cleared {len(cleared)} fault(s)" + (": " + ", ".join(
        f"{f['device']} {f['kind']}" for f in cleared) if cleared else ""))
    return OK


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_event(args: argparse.Namespace) -> int:
    event_args: dict[str, Any] = {}
    for item in args.args:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"error: {item!r} is not key=value", file=sys.stderr)
            return USAGE
        event_args[key] = _parse_value(value)
    reply = _send(args, {"cmd": "event", "device": args.device, "event": args.event,
                         "args": event_args})
    if reply is None:
        return FAILED
    _say(f"{args.device}: {args.event} injected")
    return OK


def cmd_status(args: argparse.Namespace) -> int:
    reply = _send(args, {"cmd": "status"})
    if reply is None:
        return FAILED
    st = reply["status"]
    when = datetime.fromtimestamp(st["site_time"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    _say(f"site {st['site']} (pid {st['pid']}), site time {when}, "
         f"{st['physics_steps']} steps")
    _say(f"{'DEVICE':<12} {'MODEL':<22} {'WHERE':<22} {'UNIT':>4} {'SERVED':>8}")
    for d in st["devices"]:
        where = d["where"] if d["transport"] == "tcp" else f"rtu {d['where']}"
        _say(f"{d['name']:<12} {d['model'][:22]:<22} {where[:22]:<22} {d['unit']:>4} "
             f"{d['served']:>8}")
    for name, bus in sorted(st["buses"].items()):
        _say(f"bus {name} ({bus['baud']} 8{bus['parity']}{bus['stop_bits']}), link:")
        _say(f"  {bus['link']}")
    for link in st["links_down"]:
        _say(f"down: {link}")
    if not st["faults"]:
        _say("no faults")
    for f in st["faults"]:
        fault = Fault(**f)
        left = ("until cleared" if fault.until is None
                else f"{max(0.0, fault.until - datetime.now(UTC).timestamp()):.0f} s left")
        _say(f"fault {fault.device}: {fault.describe()} ({left})")
    return OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The run/fault/clear/event/status commands (shared by `wellgate simulate` and
    `wellgate-sim`)."""
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dir", required=True, help="simulator state directory")
        # SUPPRESS: do not override a --lang given to `wellgate` itself.
        p.add_argument("--lang", choices=("en", "es"), default=argparse.SUPPRESS,
                       help="language of messages (default en)")

    p = sub.add_parser("run", help="run a simulated site until SIGTERM/SIGINT")
    p.add_argument("--site", required=True, help="site file (TOML)")
    p.add_argument("--isolated", action="store_true",
                   help="free TCP ports and pty links inside --dir (tests, shared hosts)")
    p.add_argument("--models", metavar="MODULE:NAME",
                   help="device model registry (default daemons.sim.devices:MODELS)")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("fault", help="inject a communication fault")
    p.add_argument("device", help="device name (or bus name, with --unit)")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--unit", type=int)
    p.add_argument("--duration", type=float, help="seconds (default: until cleared)")
    p.add_argument("--delay-ms", type=float, help="slow: extra reply delay")
    p.add_argument("--code", type=int, help="exception: code (default 4)")
    p.add_argument("--range", help="exception: only addresses START[-END]")
    p.add_argument("--probability", type=float, help="drop: 0..1 (default 1)")
    p.add_argument("--bytes", type=int, help="garbage: bytes (default 8)")
    common(p)
    p.set_defaults(func=cmd_fault)

    p = sub.add_parser("clear", help="clear faults (all, or one device's)")
    p.add_argument("device", nargs="?")
    p.add_argument("--unit", type=int)
    common(p)
    p.set_defaults(func=cmd_clear)

    p = sub.add_parser("event", help="inject a scenario event (e.g. rig1 kick)")
    p.add_argument("device")
    p.add_argument("event")
    p.add_argument("args", nargs="*", metavar="key=value")
    common(p)
    p.set_defaults(func=cmd_event)

    p = sub.add_parser("status", help="show the running simulator")
    common(p)
    p.set_defaults(func=cmd_status)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `simulate` to the wellgate CLI."""
    parser = subparsers.add_parser("simulate", help="simulated well site (demo, tests)")
    add_commands(parser.add_subparsers(dest="simulate_command", required=True,
                                       metavar="COMMAND"))
