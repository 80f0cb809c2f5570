"""meta-wellgate (yocto-layer/) agrees with the project it packages.

There is no Yocto host here, so nothing is built: these tests read the layer and hold it
to the facts a build would trip over hours in — the release series, the Python
dependencies of pyproject.toml, the units in systemd/, the files do_install copies, and
the layers the kas file brings in.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "yocto-layer"
RECIPE = LAYER / "recipes-wellgate" / "wellgate" / "wellgate_git.bb"
# The release the layer is written for: Yocto Project 6.0 "wrynose", the LTS release
# since April 2026 (5.0 "scarthgap" is the previous one).
RELEASE = "wrynose"

# Recipes the layer relies on from oe-core, meta-oe and meta-python at the wrynose
# branch (read from those repositories' wrynose branches when the layer was written),
# with their versions where a pyproject.toml range applies; python3-<module> packages
# split from Python's standard library are the python3 recipe's (python3-manifest.json).
UPSTREAM_VERSIONS = {
    "python3-anyio": "4.13.0", "python3-cffi": "2.0.0", "python3-click": "8.3.1",
    "python3-cryptography": "46.0.5", "python3-dateutil": "2.9.0", "python3-faker": "40.14.1",
    "python3-gmqtt": "0.7.0", "python3-httpx": "0.28.1", "python3-jinja2": "3.1.6",
    "python3-msgpack": "1.1.2",
    "python3-multidict": "6.7.1", "python3-numpy": "2.4.3", "python3-pip": "26.0.1",
    "python3-pluggy": "1.6.0", "python3-protobuf": "6.33.6", "python3-psycopg": "3.3.3",
    "python3-pymodbus": "3.13.0", "python3-pyserial": "3.5", "python3-pytz": "2026.1",
    "python3-pyyaml": "6.0.3", "python3-rich": "15.0.0", "python3-sniffio": "1.3.1",
    "python3-sortedcontainers": "2.4.0", "python3-tabulate": "0.10.0",
    "python3-tomli-w": "1.2.0", "python3-typing-extensions": "4.15.0",
    "python3-uvicorn": "0.44.0", "python3-zstandard": "0.25.0",
    "python3-hatch-fancy-pypi-readme": None, "python3-hatch-vcs": None,
    "python3-setuptools-scm": None, "sqlite3": None, "tzdata": None,
}
PYTHON_STDLIB_PACKAGES = {
    "python3-asyncio", "python3-datetime", "python3-json", "python3-logging",
    "python3-modules", "python3-netserver", "python3-sqlite3", "python3-threading",
}


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def recipe_for(requirement: Requirement) -> str:
    """The OpenEmbedded name of a PyPI distribution: python3-<normalized name>."""
    return f"python3-{canonicalize_name(requirement.name)}"


def test_layer_conf_is_compatible_with_the_current_lts(layer, recipe_var):
    conf = layer / "conf" / "layer.conf"
    assert recipe_var(conf, "LAYERSERIES_COMPAT_wellgate") == [RELEASE]
    assert recipe_var(conf, "BBFILE_COLLECTIONS") == ["wellgate"]
    assert set(recipe_var(conf, "LAYERDEPENDS_wellgate")) == {
        "core", "openembedded-layer", "meta-python"}


def test_every_pyproject_dependency_is_a_runtime_dependency(recipe_var):
    rdepends = set(recipe_var(RECIPE, "RDEPENDS:${PN}"))
    missing = [str(r) for r in pyproject_requirements() if recipe_for(r) not in rdepends]
    assert not missing, f"pyproject.toml dependencies without an RDEPENDS entry: {missing}"


def test_pyproject_list_in_the_recipe_has_no_stale_entries(recipe_var):
    """WELLGATE_PYPROJECT_RDEPENDS is exactly [project] dependencies, in both directions."""
    listed = set(recipe_var(RECIPE, "WELLGATE_PYPROJECT_RDEPENDS"))
    assert listed == {recipe_for(r) for r in pyproject_requirements()}


def test_every_dependency_has_a_recipe(recipes, recipe_var):
    """Each name in RDEPENDS/DEPENDS of the layer is a recipe here or upstream at wrynose."""
    unknown = {}
    for pn, path in recipes.items():
        for var in ("RDEPENDS:${PN}", "RDEPENDS:${PN}-hostd", "DEPENDS", "IMAGE_INSTALL"):
            for name in recipe_var(path, var):
                if name.startswith("${") or "(" in name or name[0].isdigit():
                    continue
                base = name.removesuffix("-native")
                if (base not in recipes and base not in UPSTREAM_VERSIONS
                        and base not in PYTHON_STDLIB_PACKAGES):
                    unknown.setdefault(pn, []).append(name)
    assert not unknown, f"names that are no recipe at {RELEASE}: {unknown}"


def test_recipe_versions_satisfy_pyproject_ranges(recipes, layer):
    """The version each recipe builds is one pyproject.toml accepts (e.g. pymodbus>=3.8).

    meta-python's recipe wins over this layer's (lower priority) unless the kas
    configuration sets a PREFERRED_VERSION for it, naming this layer's recipe."""
    ours = {pn: path.stem.split("_")[1] for pn, path in recipes.items() if "_" in path.stem}
    versions = dict(ours)
    versions.update({pn: v for pn, v in UPSTREAM_VERSIONS.items() if v})
    kas = (layer / "kas" / "wellgate-qemuarm64.yml").read_text()
    for pn, version in ours.items():
        preferred = re.findall(rf'PREFERRED_VERSION_{re.escape(pn)} = "([^"]+)"', kas)
        if preferred:
            assert preferred == [version], f"kas prefers {preferred} of {pn}, ours is {version}"
            versions[pn] = version
    wrong = []
    for requirement in pyproject_requirements():
        version = versions.get(recipe_for(requirement))
        assert version, f"no version known for {recipe_for(requirement)}"
        if not requirement.specifier.contains(Version(version), prereleases=True):
            wrong.append(f"{requirement} but {recipe_for(requirement)} is {version}")
    assert not wrong, wrong


def unit_files() -> set[str]:
    return {p.name for p in (REPO / "systemd").iterdir() if p.suffix in (".service", ".target")}


def test_the_recipe_installs_exactly_the_units_in_systemd(recipe_var):
    gateway = recipe_var(RECIPE, "WELLGATE_GATEWAY_UNITS")
    cloud = recipe_var(RECIPE, "WELLGATE_CLOUD_UNITS")
    assert set(gateway) | set(cloud) == unit_files()
    assert not set(gateway) & set(cloud)
    # Every installed unit is registered with the systemd class in one package.
    assert set(recipe_var(RECIPE, "SYSTEMD_SERVICE:${PN}")) == set(gateway)
    assert set(recipe_var(RECIPE, "SYSTEMD_SERVICE:${PN}-hostd")) == set(cloud)
    assert recipe_var(RECIPE, "SYSTEMD_AUTO_ENABLE:${PN}") == ["enable"]


def test_gateway_units_are_the_ones_the_target_wants(recipe_var):
    target = (REPO / "systemd" / "wellgate.target").read_text()
    wanted = set(re.findall(r"^Wants=(\S+)", target, re.MULTILINE))
    gateway = set(recipe_var(RECIPE, "WELLGATE_GATEWAY_UNITS"))
    assert gateway == wanted | {"wellgate.target"}


def test_files_do_install_copies_exist_in_the_source_tree():
    body = RECIPE.read_text().split("do_install:append() {", 1)[1].split("\n}\n", 1)[0]
    sources = re.findall(r"\$\{S\}/(\S+)", body)
    assert sources, "do_install copies nothing from ${S}"
    for source in sources:
        if source.startswith("systemd/$unit"):
            continue  # the unit loop: covered by the units test
        assert list(REPO.glob(source)), f"do_install copies {source}, which does not exist"


def test_bundled_uplot_is_the_version_make_web_installs(recipe_var):
    """webd's vendored uPlot: the recipe fetches the tag of the version npm pins."""
    lock = json.loads((REPO / "web" / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/uplot"]["version"]
    assert recipe_var(RECIPE, "UPLOT_VERSION") == [pinned]
    assert any(f"tag={pinned}" in word for word in recipe_var(RECIPE, "SRC_URI"))


def test_user_and_configuration(recipe_var):
    sysusers = (REPO / "systemd" / "wellgate.sysusers.conf").read_text()
    user = re.search(r"^u\s+(\S+)", sysusers, re.MULTILINE)[1]
    assert recipe_var(RECIPE, "USERADD_PARAM:${PN}")[-1] == user
    assert recipe_var(RECIPE, "GROUPADD_PARAM:${PN}")[-1] == user
    assert recipe_var(RECIPE, "CONFFILES:${PN}") == ["${sysconfdir}/wellgate/gateway.toml"]


def test_built_with_the_pep517_setuptools_class():
    inherits = re.findall(r"^inherit\s+(.+)$", RECIPE.read_text(), re.MULTILINE)
    classes = {c for line in inherits for c in line.split()}
    assert {"python_setuptools_build_meta", "systemd", "useradd"} <= classes
    backend = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]
    assert backend["build-backend"] == "setuptools.build_meta"


KAS_FILES = sorted((LAYER / "kas").glob("*.yml"))


@pytest.fixture(scope="module")
def load_kas(tmp_path_factory):
    """kas's own loader: a kas file merged over its includes, as `kas build` reads it.

    kas resolves a local include relative to the root of the git repository holding the
    file, so this also proves the include paths right. Its loader needs kas's global
    context, which is built from the command line's arguments: none are needed here.
    """
    from kas.context import create_global_context
    from kas.includehandler import IncludeHandler

    class NoArguments:
        def __getattr__(self, name: str) -> None:
            return None

    saved = os.environ.get("KAS_WORK_DIR")
    os.environ["KAS_WORK_DIR"] = str(tmp_path_factory.mktemp("kas"))
    create_global_context(NoArguments())

    def load(path: Path) -> dict:
        config, missing_repos = IncludeHandler([str(path)], use_lock=False).get_config()
        assert not missing_repos
        return config

    yield load
    if saved is None:
        del os.environ["KAS_WORK_DIR"]
    else:
        os.environ["KAS_WORK_DIR"] = saved


@pytest.mark.parametrize("kas_file", KAS_FILES, ids=lambda p: p.name)
def test_kas_file_is_valid_for_kas(kas_file):
    """PyYAML parses it and it follows kas's own JSON schema (format version 14)."""
    from jsonschema import validate
    from kas.configschema import CONFIGSCHEMA

    validate(yaml.safe_load(kas_file.read_text()), CONFIGSCHEMA)


def test_reference_kas_file_is_for_qemuarm64(load_kas):
    assert load_kas(LAYER / "kas" / "wellgate-qemuarm64.yml")["machine"] == "qemuarm64"


@pytest.mark.parametrize("kas_file", KAS_FILES, ids=lambda p: p.name)
def test_kas_file_names_the_layers_it_needs(kas_file, recipes, load_kas):
    config = load_kas(kas_file)
    assert config["header"]["version"] >= 14
    assert kas_file.stem == f"wellgate-{config['machine']}"
    assert config["target"] in recipes, "the kas target is no image recipe of the layer"
    repos = config["repos"]
    layers = {f"{name}/{layer}" for name, repo in repos.items()
              for layer in (repo or {}).get("layers", {})
              if (repo["layers"][layer] or "") != "disabled"}
    # This checkout's layer, plus every layer LAYERDEPENDS_wellgate names.
    assert {"wellgate/yocto-layer", "openembedded-core/meta", "meta-openembedded/meta-oe",
            "meta-openembedded/meta-python"} <= layers
    if config["machine"].startswith("generic"):
        assert "meta-yocto/meta-yocto-bsp" in layers, "generic* machines are meta-yocto-bsp's"
    assert "url" not in repos["wellgate"], "the layer must come from this checkout"
    for name, repo in repos.items():
        if "url" in repo:
            expected = "2.18" if name == "bitbake" else RELEASE
            assert str(repo.get("branch")) == expected, f"{name} is not on {expected}"
    assert 'INIT_MANAGER = "systemd"' in config["local_conf_header"]["wellgate"]
