"""A scratch install root, trusted keys and small image trees for the update tests.

The trees stand in for built images: their `wellgate` is a script that runs this
tree's real CLI (so `update migrate-config` and `config validate` are the real code),
the daemons are links to it as in the frozen bundle, and a tree can be made to reject
the configuration or to have daemons that crash at start.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daemons.core.update.apply import Health, Updater
from daemons.core.update.bundle import build
from daemons.core.update.keys import generate
from daemons.core.update.layout import Layout
from daemons.core.update.services import UnitState

TREE = Path(__file__).resolve().parents[2]
HOOK = Path(__file__).with_name("fake_service_manager.py")
PROGRAMS = ("wellgate", "acqd", "calcd", "alarmd", "webd")
ARCH = "amd64"

# The running configuration inside the root: relative paths, so state and audit stay
# in the scratch root.
GATEWAY = """\
[gateway]
site = "Update test pad"
language = "en"

[paths]
runtime_dir = "../../run/wellgate"
state_dir = "../../var/lib/wellgate"
tagmap_dir = "tagmaps"
"""

WELLGATE = """#!{python}
# A stand-in image's `wellgate`: its daemons are links to it; the two commands an update
# runs on the new version use this tree's real code (without the CLI's imports, which
# would cost a second per call), anything else this tree's CLI.
import os, sys
sys.path.insert(0, {tree!r})
name = os.path.basename(sys.argv[0])
if name != "wellgate":
    # A daemon: the fake service manager starts it once; 0 = it reached READY.
    print(f"{{name}} {version} READY" if {daemons_ok} else f"{{name}} {version} crashed")
    sys.exit(0 if {daemons_ok} else 70)
args = sys.argv[1:]
if args[:2] == ["update", "migrate-config"]:
    from daemons.core.update.migrate import migrate
    with open(args[2]) as src, open(args[4], "w") as out:
        out.write(migrate(src.read()))
    sys.exit(0)
if args[:4] == ["--lang", "en", "config", "validate"]:
    if {rejects}:
        print("gateway.toml:2:1: unknown key 'site' (this version renamed it)",
              file=sys.stderr)
        sys.exit(1)
    from daemons.core.config import load_config
    from daemons.core.problems import ValidationError
    try:
        load_config(args[4])
    except ValidationError as exc:
        print(exc.render("en"), file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
from daemons.cli.main import main
sys.exit(main())
"""


def make_tree(folder: Path, version: str, *, daemons_ok: bool = True,
              rejects_config: bool = False, extra: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True)
    program = folder / "wellgate"
    program.write_text(WELLGATE.format(python=sys.executable, tree=str(TREE), version=version,
                                       daemons_ok=daemons_ok, rejects=rejects_config))
    program.chmod(0o755)
    for name in PROGRAMS[1:]:
        (folder / name).symlink_to("wellgate")
    internal = folder / "_internal"
    internal.mkdir()
    (internal / "library.bin").write_bytes(bytes(range(256)) * 64 + version.encode())
    for rel, data in (extra or {}).items():
        (folder / rel).write_bytes(data)
    (folder / "wellgate-build.json").write_text(json.dumps(
        {"version": version, "arch": ARCH, "programs": sorted(PROGRAMS)}))
    return folder


@dataclass
class Site:
    root: Path
    layout: Layout
    key: Path  # private signing key (build machine)
    other_key: Path  # a key the gateway does not trust
    work: Path
    audit: list[tuple[str, str, dict]] = field(default_factory=list)

    def install_first(self, version: str = "1.0.0") -> None:
        """What the .deb leaves: a version and `current` pointing at it."""
        make_tree(self.layout.version_dir(version), version)
        self.layout.switch(version)

    def tree(self, version: str, **kw: object) -> Path:
        return make_tree(self.work / f"tree-{version}", version, **kw)  # type: ignore[arg-type]

    def bundle(self, version: str, *, key: Path | None = None, arch: str = ARCH,
               **kw: object) -> Path:
        """A signed update file of a stand-in image of `version`."""
        out = self.work / f"wellgate-{version}-{arch}.wgu"
        build(self.tree(version, **kw), out, key or self.key, arch=arch)
        return out

    def manager(self, crashing: dict[str, str] | None = None) -> FakeManager:
        return FakeManager(self.layout, crashing)

    def updater(self, manager: object, **health: float) -> Updater:
        return Updater(self.layout, self.record, arch=ARCH, manager=manager,  # type: ignore[arg-type]
                       health=Health(**{"timeout_s": 5.0, "settle_s": 0.3, "poll_s": 0.05,
                                        **health}))

    def record(self, action: str, obj: str, details: dict) -> None:
        self.audit.append((action, obj, details))

    def actions(self) -> list[str]:
        return [a for a, _, _ in self.audit]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    root = tmp_path / "root"
    layout = Layout(root)
    layout.install_dir.mkdir(parents=True)
    layout.keys_dir.mkdir(parents=True)
    work = tmp_path / "build"
    work.mkdir()
    generate(work / "release.key", layout.keys_dir / "release.pub")
    generate(work / "rogue.key", work / "rogue.pub")
    layout.config.write_text(GATEWAY)
    (layout.config.parent / "tagmaps").mkdir()
    return Site(root, layout, work / "release.key", work / "rogue.key", work)


class FakeManager:
    """systemd stand-in for the in-process tests: a restart of the target "starts" the
    daemons of whatever version `current` names; the ones listed in `crashing` (by
    version) fail, or go active and restart once after READY."""

    def __init__(self, layout: Layout, crashing: dict[str, str] | None = None) -> None:
        self.layout = layout
        self.crashing = crashing or {}
        self.restarts: list[tuple[str, str | None]] = []
        self.polls = 0

    def restart(self, unit: str) -> None:
        self.restarts.append((unit, self.layout.current()))
        self.polls = 0

    def states(self, units: list[str]) -> list[UnitState]:
        self.polls += 1
        how = self.crashing.get(self.layout.current() or "")
        out = []
        for unit in units:
            if how == "fails" and unit == "wellgate-acqd.service":
                out.append(UnitState(unit, "failed", 0))
            elif how == "never-ready" and unit == "wellgate-calcd.service":
                out.append(UnitState(unit, "activating", 0))
            elif how == "flaps" and unit == "wellgate-webd.service":
                out.append(UnitState(unit, "active", 0 if self.polls < 3 else 1))
            else:
                out.append(UnitState(unit, "active", 0))
        return out
