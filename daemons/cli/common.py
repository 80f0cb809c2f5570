"""What every `wellgate` command shares: language, configuration, output, exit codes."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from daemons.core.config import DEFAULT_PATH, GatewayConfig, load_config
from daemons.core.config.environment import colour_allowed, env_language
from daemons.core.problems import ValidationError

EXIT_OK = 0
EXIT_INVALID = 1  # invalid input, or the thing asked about is not there
EXIT_USAGE = 2  # argparse's own code for bad usage


class CommandError(Exception):
    """A failure to report in the user's language, then exit with `code`."""

    def __init__(self, en: str, es: str, code: int = EXIT_INVALID) -> None:
        super().__init__(en)
        self.en, self.es, self.code = en, es, code


@dataclass
class Console:
    """Plain text for serial consoles: 80 columns, colour only on a capable TTY."""

    lang: str
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr

    def tr(self, en: str, es: str) -> str:
        return es if self.lang == "es" else en

    def say(self, en: str, es: str | None = None) -> None:
        print(self.tr(en, es if es is not None else en), file=self.out)

    def warn(self, en: str, es: str) -> None:
        print(self.tr(en, es), file=self.err)

    def colour(self, text: str, code: str) -> str:
        if not colour_allowed(self.out):
            return text
        return f"\033[{code}m{text}\033[0m"

    def quality(self, sev: str) -> str:
        return self.colour(sev, {"good": "32", "uncertain": "33", "bad": "31"}.get(sev, "0"))


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config) if args.config else DEFAULT_PATH


def load_gateway(args: argparse.Namespace, console: Console) -> GatewayConfig:
    """The gateway configuration, or a CommandError listing its problems."""
    loaded = getattr(args, "gateway_config", None)  # already read to pick the language
    if loaded is not None:
        return loaded
    try:
        return load_config(config_path(args))
    except ValidationError as exc:
        raise CommandError(
            "the gateway configuration is invalid:\n" + exc.render("en"),
            "la configuración del gateway no es válida:\n" + exc.render("es")) from exc


def pick_language(args: argparse.Namespace) -> str:
    """--lang, else [gateway] language, else LANG, else Spanish (our field users)."""
    if getattr(args, "lang", None):
        return args.lang
    path = config_path(args)
    if path.is_file():
        try:
            args.gateway_config = load_config(path)
            return args.gateway_config.gateway.language
        except ValidationError:
            pass
    return env_language() or "es"


def fit(text: str, width: int) -> str:
    """Cut a cell to `width` characters, marking the cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def problems_error(exc: ValidationError, console: Console, what_en: str,
                   what_es: str) -> CommandError:
    """Print every problem of a validation (file:line:column) and the error that ends the
    command: "N problem(s) in <what>" (tag maps, alarm files, …)."""
    for problem in exc.problems:
        console.say(problem.render("en"), problem.render("es"))
    n = len(exc.problems)
    return CommandError(f"{n} problem(s) in {what_en}", f"{n} problema(s) en {what_es}")


def tell_daemons(cfg: GatewayConfig, console: Console) -> None:
    """SIGHUP every running daemon after installing new tag maps or alarm files."""
    import signal

    from daemons.core.service.status import SignalPermissionError, signal_daemons

    try:
        told = signal_daemons(cfg.paths.runtime_dir, signal.SIGHUP)
    except SignalPermissionError as exc:
        told = exc.reached
        console.warn(f"not allowed to tell {', '.join(exc.denied)} to reload: run as root or "
                     "as the wellgate user, or: systemctl reload wellgate.target",
                     f"sin permiso para avisar a {', '.join(exc.denied)}: ejecute como root o "
                     "como el usuario wellgate, o: systemctl reload wellgate.target")
    if told:
        console.say(f"told to reload: {', '.join(told)}", f"avisados para recargar: "
                    f"{', '.join(told)}")
    else:
        console.say("no running daemon to tell (they load the new maps when they start)",
                    "ningún demonio en marcha (cargarán los mapas nuevos al iniciar)")

