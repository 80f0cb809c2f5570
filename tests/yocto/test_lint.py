"""Every recipe, include and configuration file of the layer passes oelint-adv.

oelint-adv (from PyPI) checks recipes against the OpenEmbedded style guide and the
variables of a given release without a Yocto host. The layer must have no error and no
warning; "info" findings (suggestions such as BUGTRACKER or BBCLASSEXTEND) are allowed.

Suppressed rules (also listed in yocto-layer/README.md):
- oelint.vars.homepageping: fetches every HOMEPAGE over the network; this machine and CI
  have none, so it would warn on every recipe (and hang where DNS is slow).
- oelint.var.mandatoryvar.HOMEPAGE, for wellgate_git.bb only: wellgate is proprietary
  and has no public home page; every other recipe must still have one.
Inline suppressions in the recipes carry their reason next to them (`# nooelint:`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "yocto-layer"
RELEASE = "wrynose"
SUPPRESSED = ["oelint.vars.homepageping"]
SUPPRESSED_FOR = {"wellgate_git.bb": ["oelint.var.mandatoryvar.HOMEPAGE"]}


def lint(files: list[Path], suppressed: list[str] = SUPPRESSED) -> list[tuple[str, str, str]]:
    """(file:line, severity, rule+message) for each finding oelint-adv reports."""
    command = [sys.executable, "-m", "oelint_adv", "--release", RELEASE, "--quiet",
               "--jobs", "1", "--exit-zero"]
    for rule in suppressed:
        command += ["--suppress", rule]
    result = subprocess.run(command + [str(f) for f in files], capture_output=True,
                            text=True, timeout=60, check=True)
    findings = []
    for line in (result.stdout + result.stderr).splitlines():
        parts = line.split(":", 4)
        if len(parts) == 5 and parts[2] in ("info", "warning", "error"):
            findings.append((f"{parts[0]}:{parts[1]}", parts[2], f"{parts[3]}: {parts[4]}"))
    return findings


def layer_files() -> list[Path]:
    files = sorted(LAYER.glob("recipes-*/*/*.bb")) + sorted(LAYER.glob("recipes-*/*/*.inc"))
    return [*files, LAYER / "conf" / "layer.conf"]


def test_layer_has_recipes_to_lint():
    names = {p.name for p in layer_files()}
    assert {"wellgate_git.bb", "packagegroup-wellgate.bb", "wellgate-image.bb",
            "layer.conf"} <= names


def test_oelint_finds_no_error_or_warning():
    files = layer_files()
    findings = lint([f for f in files if f.name not in SUPPRESSED_FOR])
    for name, rules in SUPPRESSED_FOR.items():
        findings += lint([f for f in files if f.name == name], SUPPRESSED + rules)
    bad = [f"{where} {severity} {what}" for where, severity, what in findings
           if severity in ("error", "warning")]
    assert not bad, "oelint-adv:\n" + "\n".join(bad)


def test_oelint_reports_a_broken_recipe(tmp_path):
    """The check above can fail: a recipe without LICENSE and with a bad SRC_URI."""
    broken = tmp_path / "python3-broken_1.0.bb"
    broken.write_text('SUMMARY = "broken"\nSRC_URI = "http://example.invalid/x.tar.gz"\n'
                      'inherit python_setuptools_build_meta\n')
    severities = {severity for _, severity, _ in lint([broken])}
    assert "error" in severities
