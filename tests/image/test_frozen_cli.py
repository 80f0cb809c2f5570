"""The frozen bundle's programs, run with no virtualenv (issue 15)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

TREE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TREE / "image"))
import multicall  # noqa: E402  image/multicall.py, the bundle's entry

# The first test of a session builds the image (image/build.py; reused afterwards):
# longer than the suite's per-test timeout on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)


def test_help_from_the_bundle(image, tmp_path):
    done = image.run("wellgate", "--help", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "usage: wellgate" in done.stdout
    for command in ("config", "tagmap", "tags", "update", "alarms"):
        assert command in done.stdout


def test_config_validate_from_the_bundle(image, tmp_path):
    done = image.run("wellgate", "--lang", "en", "config", "validate",
                     str(TREE / "config" / "gateway.toml"), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "OK — site 'Campo Lagunillas" in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[gateway]\nsite = "x"\nlanguaje = "es"\n')
    done = image.run("wellgate", "--lang", "en", "config", "validate", str(bad), home=tmp_path)
    assert done.returncode == 1
    assert f"{bad}:3" in done.stdout and "languaje" in done.stdout


def test_every_program_of_the_tree_is_bundled_once_behind_one_executable(image):
    expected = sorted(name for name, module in multicall.PROGRAMS.items()
                      if importlib.util.find_spec(module.rsplit(".", 1)[0]) is not None)
    assert image.info["programs"] == expected
    assert {"wellgate", "wellgate-sim", "acqd", "calcd", "alarmd", "webd"} <= set(expected)
    for name in expected:
        path = image.dir / name
        if name == "wellgate":
            assert path.is_file() and not path.is_symlink()
        else:
            assert path.is_symlink() and path.readlink() == Path("wellgate")
    version = tomllib.loads((TREE / "pyproject.toml").read_text())["project"]["version"]
    assert image.info["version"] == version


def test_each_link_runs_its_own_program(image, tmp_path):
    for name in ("acqd", "calcd", "alarmd", "webd"):
        done = image.run(name, "--help", home=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"usage: wellgate-{name}" in done.stdout
    done = image.run("wellgate-sim", "--help", home=tmp_path)
    assert done.returncode == 0 and "run" in done.stdout


def test_a_program_not_in_the_build_says_so(image, tmp_path):
    """A link named after a program whose module was not bundled (or not a program)."""
    missing = [n for n in multicall.PROGRAMS if n not in image.info["programs"]]
    for name in [*missing, "hostd"]:
        link = tmp_path / name
        link.symlink_to(image.dir / "wellgate")
        done = subprocess_run(link, tmp_path)
        if name == "hostd":
            assert done.returncode == multicall.EXIT_USAGE
            assert "'hostd' is not a wellgate program" in done.stderr
        else:
            assert done.returncode == multicall.EXIT_NOT_BUNDLED
            assert f"{name}: not part of this wellgate build" in done.stderr


def subprocess_run(path: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(path)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home)})


def test_numba_and_test_tools_are_not_in_the_image(image):
    internal = image.dir / "_internal"
    for absent in ("numba", "llvmlite", "pytest", "hypothesis", "PyInstaller"):
        assert not (internal / absent).exists(), absent
    assert image.info["numba"] is False


def test_reference_files_are_bundled(image):
    internal = image.dir / "_internal"
    for folder in ("config", "tagmaps", "alarms"):
        shipped = sorted(p.name for p in (TREE / folder).iterdir() if p.is_file())
        assert sorted(p.name for p in (internal / folder).iterdir()) == shipped
    assert (internal / "daemons" / "core" / "access" / "common-passwords.txt").is_file()
    for folder in ("static", "templates"):  # the web HMI's files (uPlot in static/vendor)
        src = TREE / "daemons" / "webd" / folder
        if src.is_dir():
            have = {p.relative_to(src) for p in src.rglob("*") if p.is_file()
                    and "__pycache__" not in p.parts}
            bundled = internal / "daemons" / "webd" / folder
            assert {p.relative_to(bundled) for p in bundled.rglob("*") if p.is_file()} == have


def test_multicall_table_unit():
    """The entry's choice, in-process: by the link's own name, a clear refusal for a
    program whose package is absent and for a name that is no program."""
    assert multicall.program_of("/usr/bin/acqd") == "acqd"
    code = multicall.run(["/x/ghostd"], {"ghostd": "daemons.ghostd.main"})
    assert code == multicall.EXIT_NOT_BUNDLED
    assert multicall.run(["/x/nobody"], {"ghostd": "daemons.ghostd.main"}) == \
        multicall.EXIT_USAGE
