"""The frozen image, built once per test session (image/build.py reuses an up-to-date
build in <tree>/build/image), and how to run its programs with no virtualenv at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TREE = Path(__file__).resolve().parents[2]
OUT = TREE / "build" / "image"
# What a technician's shell has on a gateway: system directories only — no virtualenv,
# no PYTHONPATH, no source tree.
BARE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": BARE_PATH, "HOME": str(home), "LANG": "C.UTF-8", **extra}


@dataclass(frozen=True)
class Image:
    dir: Path  # the onedir bundle
    info: dict

    def run(self, program: str, *args: str, home: Path, timeout: float = 60,
            **kw: object) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.dir / program), *args], capture_output=True,
                              text=True, timeout=timeout, env=bare_env(home),
                              cwd=home, **kw)  # type: ignore[call-overload]

    def start(self, program: str, *args: str, home: Path, log: Path,
              **env: str) -> subprocess.Popen:
        """A long-running program of the bundle, its output to `log`."""
        with log.open("ab") as out:
            return subprocess.Popen([str(self.dir / program), *args], stdout=out,
                                    stderr=subprocess.STDOUT, env=bare_env(home, **env),
                                    cwd=home)


def _build(what: str) -> None:
    if shutil.which("patchelf") is None or shutil.which("strip") is None:
        pytest.fail("patchelf and strip are needed to build the image (make test installs "
                    "them: apt-get install patchelf binutils)")
    done = subprocess.run([sys.executable, str(TREE / "image" / "build.py"), what,
                           "--out", str(OUT)], capture_output=True, text=True, timeout=600,
                          cwd=TREE, env={k: v for k, v in os.environ.items()
                                         if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)


@pytest.fixture(scope="session")
def image() -> Image:
    _build("bundle")
    bundle = OUT / "dist" / "wellgate"
    return Image(bundle, json.loads((bundle / "wellgate-build.json").read_text()))


@pytest.fixture(scope="session")
def deb(image: Image) -> Path:
    _build("deb")
    path = OUT / f"wellgate_{image.info['version']}_{image.info['arch']}.deb"
    assert path.is_file()
    return path
