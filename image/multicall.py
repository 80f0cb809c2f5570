"""The one executable of the frozen build: which program runs is chosen by the name it
was started under (argv[0]), like busybox.

The onedir bundle holds a single PyInstaller executable, `wellgate`, and one symlink per
program beside it (`acqd -> wellgate`, …), so the Python runtime, numpy and every library
are in the image once, not once per daemon.  The table below is the list of programs the
image may hold; the spec bundles every one whose module exists in the tree it builds
from (forwardd and opcuad join as soon as their packages are merged), and the build
links only those.  A name whose module is not in the build exits with a clear message
and EXIT_NOT_BUNDLED, which the frozen units list in RestartPreventExitStatus= so that
systemd does not restart a program that cannot run.

This file is also importable from the source tree (tests, the spec): nothing runs at
import.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence

# program name (argv[0] basename) -> module with an `entry()` (the [project.scripts]).
PROGRAMS: Mapping[str, str] = {
    "wellgate": "daemons.cli.main",
    "wellgate-sim": "daemons.sim.main",
    "acqd": "daemons.acqd.main",
    "calcd": "daemons.calcd.main",
    "alarmd": "daemons.alarmd.main",
    "forwardd": "daemons.forwardd.main",
    "opcuad": "daemons.opcuad.main",
    "webd": "daemons.webd.main",
}
ENTRY = "entry"
# sysexits.h EX_UNAVAILABLE: the program is not in this build (not a crash, not bad input).
EXIT_NOT_BUNDLED = 69
EXIT_USAGE = 2


def program_of(argv0: str) -> str:
    """The program a path names: `/usr/bin/acqd` → acqd (symlinks are not resolved:
    the link's own name is the choice)."""
    return os.path.basename(argv0.rstrip("/")) or argv0


def _missing(exc: ModuleNotFoundError, module: str) -> bool:
    """True when the program's own package is absent (not one of its imports failing)."""
    return exc.name is not None and (module == exc.name or module.startswith(exc.name + "."))


def run(argv: Sequence[str], programs: Mapping[str, str] = PROGRAMS) -> int:
    """Run the program named by argv[0] with argv[1:]; its exit code."""
    name = program_of(argv[0]) if argv else "wellgate"
    module_name = programs.get(name)
    if module_name is None:
        print(f"wellgate: '{name}' is not a wellgate program; this executable runs "
              f"{', '.join(programs)} through a link of that name beside it",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not _missing(exc, module_name):
            raise
        print(f"{name}: not part of this wellgate build (its module {module_name} was not "
              "bundled); install an image that includes it", file=sys.stderr)
        return EXIT_NOT_BUNDLED
    entry = getattr(module, ENTRY)
    sys.argv = [name, *argv[1:]]
    try:
        result = entry()
    except SystemExit as stop:
        code = stop.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return int(result or 0)


def main() -> None:
    if getattr(sys, "frozen", False):
        # The bootloader's interpreter ignores PYTHON* variables, PYTHONFAULTHANDLER among
        # them (the units set it): a watchdog SIGABRT must still dump every thread's stack.
        import faulthandler

        faulthandler.enable()
    sys.exit(run(list(sys.argv)))


if __name__ == "__main__":
    main()
