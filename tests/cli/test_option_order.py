"""Every `wellgate` command takes the global options anywhere (issue 8, part 4).

The commands are enumerated from the parser, so a new one is covered without editing
this file: its arguments are made up from its own definition (a placeholder for each
positional and required option) unless SAMPLES gives better ones.  Each command is parsed
and run with `--config GW --lang es` before the command, right after each command word,
between its positionals and after them: all must parse to the same arguments and end the
same way (exit code, output and messages), in Spanish, which the gateway file (language
en) would not give if an option were lost.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pytest

from daemons.cli.main import build_parser, main, walk_commands

# Commands whose made-up arguments would not end at once, or miss the case that matters.
# Each sample is (positionals, options); `{tmp}` is the test's directory.
SAMPLES: dict[tuple[str, ...], list[tuple[list[str], list[str]]]] = {
    # Prepare fails at once on a file where the demo directory should be (no daemons run).
    ("demo",): [([], ["--dir", "{tmp}/a-file"])],
    # The example, an export of two tags and a trend.
    ("history",): [(["import", "old.csv"], ["--max-errors", "3"]),
                   (["export", "W1.THP", "W1.CHP"], ["--start", "-1h"]),
                   (["W1.THP"], ["--start", "-2h", "--points", "10"])],
    ("tagmap", "diff"): [(["installed", "new.csv"], [])],
    ("write",): [(["W1.SP", "-5"], ["--reason", "test"])],
    ("simulate", "run"): [([], ["--site", "{tmp}/missing.toml", "--dir", "{tmp}/sim"])],
    ("simulate", "event"): [(["rpc1", "kick", "a=1", "b=2"], ["--dir", "{tmp}/sim"])],
    # Would write a key pair into the working directory (and then refuse to overwrite it).
    ("update", "keygen"): [(["k"], ["--dir", "{tmp}/missing"])],
    # Never the machine's own /opt/wellgate, nor its systemd.
    ("update", "apply"): [(["x.wgu"], ["--root", "{tmp}", "--service-manager", "none"])],
    ("update", "rollback"): [([], ["--root", "{tmp}", "--service-manager", "none"])],
    ("update", "status"): [([], ["--root", "{tmp}"])],
}


def placeholder(action: argparse.Action) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    return "1" if action.type in (int, float) else "x"


def made_up(parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    positionals, options = [], []
    for action in parser._actions:
        if not action.option_strings:
            positionals.append(placeholder(action))
        elif action.required:
            options += [action.option_strings[0], placeholder(action)]
    return positionals, options


def leaf_commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    return [(path, p) for path, p in walk_commands(build_parser())
            if path and p._subparsers is None]


def placements(path: tuple[str, ...], positionals: list[str], options: list[str],
               global_opts: list[str]) -> dict[str, list[str]]:
    """The command line with the global options in each place a user could put them."""
    words = list(path)
    out = {"before the command": [*global_opts, *words, *options, *positionals],
           "after the command": [*words, *global_opts, *options, *positionals],
           "after the positionals": [*words, *options, *positionals, *global_opts]}
    for i in range(1, len(words)):  # between `tagmap` and `diff`
        out[f"after {words[i - 1]!r}"] = [*words[:i], *global_opts, *words[i:], *options,
                                          *positionals]
    if len(positionals) > 1:  # `history import --config GW old.csv`
        out["between the positionals"] = [*words, *options, positionals[0], *global_opts,
                                          *positionals[1:]]
    return out


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def cases() -> list:
    found = []
    for path, parser in leaf_commands():
        for n, (positionals, options) in enumerate(SAMPLES.get(path) or [made_up(parser)]):
            found.append(pytest.param(path, positionals, options,
                                      id=" ".join(path) + (f"-{n}" if n else "")))
    return found


def test_every_command_is_covered():
    names = {" ".join(path) for path, _ in leaf_commands()}
    assert {"history", "tagmap import", "simulate fault", "write", "modbus read"} <= names
    assert set(SAMPLES) <= {path for path, _ in leaf_commands()}, "a sample names no command"


@pytest.mark.parametrize(("path", "positionals", "options"), cases())
def test_global_options_are_accepted_anywhere(gateway, monkeypatch, path, positionals,
                                              options):
    tmp: Path = gateway.root
    (tmp / "a-file").write_text("")
    (tmp / "old.csv").write_text("tag,ts,value\nW1.THP,2026-01-01T00:00:00Z,1\n")
    monkeypatch.chdir(tmp)
    for name in ("NO_COLOR", "COLUMNS"):
        monkeypatch.setenv(name, "1" if name == "NO_COLOR" else "80")
    positionals = [p.format(tmp=tmp) for p in positionals]
    options = [o.format(tmp=tmp) for o in options]
    global_opts = ["--config", str(gateway.config), "--lang", "es"]
    lines = placements(path, positionals, options, global_opts)
    parser = build_parser()
    parsed = {where: vars(parser.parse_args(argv)) for where, argv in lines.items()}
    first = parsed["before the command"]
    assert first["config"] == str(gateway.config) and first["lang"] == "es"
    for where, ns in parsed.items():
        assert ns == first, f"{where}: {lines[where]}"
    results = {where: run(argv) for where, argv in lines.items()}
    code, out, err = results["before the command"]
    assert code in (0, 1, 2) and "unrecognized" not in err, err
    for where, result in results.items():
        assert result == (code, out, err), f"{where}: {lines[where]}"
