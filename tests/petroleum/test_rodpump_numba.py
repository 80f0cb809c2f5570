"""The optional numba engine of `rodpump.downhole_card` against the numpy engine.

The numpy engine's physics is tested in test_rodpump.py; here the question is only whether
the compiled kernel (daemons/petroleum/_rodpump_numba.py) computes the same card — on
uniform and tapered strings, with and without damping, fast and slow strokes, open and
closed cards — and whether numba stays optional: without it "auto" falls back to numpy,
and without a writable cache directory the kernel is compiled in memory.  Tests that
need numba are skipped, with the reason, when it is not installed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.petroleum import rodpump as rp

ROOT = Path(__file__).resolve().parents[2]
KERNEL_SRC = ROOT / "daemons" / "petroleum" / "_rodpump_numba.py"
RTOL = 1e-9  # the brief's "identical within 1e-9 relative"

needs_numba = pytest.mark.skipif(
    not rp.NUMBA_AVAILABLE,
    reason="numba is not installed (pip install 'wellgate[fast]', also in the test extra); "
           "only the numpy engine can be checked",
)

STEEL = (30.5e6, 490.0)
# Fibreglass rods (E ≈ 7.2e6 psi, ρ ≈ 150 lbm/ft³, typical published values) over steel:
# a wave speed very different from steel's, so each taper gets its own Δx.
FIBREGLASS = (7.2e6, 150.0)
STRINGS = {
    "uniform": [rp.RodTaper(5000.0, 0.875, *STEEL)],
    "three_steel": [rp.RodTaper(2000.0, 1.0, *STEEL), rp.RodTaper(2200.0, 0.875, *STEEL),
                    rp.RodTaper(2300.0, 0.75, *STEEL)],
    "fibreglass_over_steel": [rp.RodTaper(4500.0, 1.25, *FIBREGLASS),
                              rp.RodTaper(1500.0, 1.0, *STEEL)],
    "short_rigid": [rp.RodTaper(10.0, 1.0, *STEEL)],  # one space step per taper
    "four_mappings": [dict(length_ft=1200.0, diameter_in=1.0, modulus_psi=STEEL[0],
                           density_lbm_ft3=STEEL[1]),
                      dict(length_ft=1500.0, diameter_in=0.875, modulus_psi=STEEL[0],
                           density_lbm_ft3=STEEL[1]),
                      dict(length_ft=1800.0, diameter_in=0.75, modulus_psi=STEEL[0],
                           density_lbm_ft3=STEEL[1]),
                      dict(length_ft=900.0, diameter_in=1.5, modulus_psi=STEEL[0],
                           density_lbm_ft3=STEEL[1])],  # sinker bars at the bottom
}


def _surface_card(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Conventional-unit-like card: 100-in stroke, fluid load picked up and released,
    odd harmonics and noise, so every Fourier mode the recurrence can carry is excited."""
    ph = 2.0 * math.pi * np.arange(n) / n
    pos = 50.0 * (1.0 - np.cos(ph)) + 4.0 * np.sin(2.0 * ph)
    load = 9000.0 + 5000.0 * np.tanh(4.0 * np.sin(ph)) + 800.0 * np.sin(3.0 * ph)
    load += np.random.default_rng(seed).normal(0.0, 30.0, n)
    return pos, load


def _both(pos, load, **kw) -> tuple[rp.PumpCard, rp.PumpCard]:
    args = dict(surface_position=pos, surface_load=load, **kw)
    return rp.downhole_card(**args, engine="numpy"), rp.downhole_card(**args, engine="numba")


def _assert_same(a: rp.PumpCard, b: rp.PumpCard) -> None:
    # Relative to each array's scale: the pump load crosses 0 on the downstroke, where an
    # element-wise relative tolerance would be meaningless.
    for name, x, y in (("position", a.position, b.position), ("load", a.load, b.load)):
        assert x.shape == y.shape, name
        scale = float(np.max(np.abs(x)))
        np.testing.assert_allclose(y, x, rtol=RTOL, atol=RTOL * scale, err_msg=name)


@needs_numba
@pytest.mark.parametrize("string", sorted(STRINGS))
@pytest.mark.parametrize(("spm", "damping"), [(2.0, 0.0), (8.0, 0.05), (15.0, 0.3)])
def test_numba_matches_numpy(string, spm, damping):
    pos, load = _surface_card(200)
    a, b = _both(pos, load, spm=spm, rods=STRINGS[string], damping=damping, fluid_sg=1.05)
    _assert_same(a, b)
    # Not a vacuous comparison: the card moved through the string (load changed).
    assert np.ptp(b.load) > 1000.0


@needs_numba
@pytest.mark.parametrize("n", [16, 57, 400])
def test_numba_matches_numpy_any_length_and_closed_cards(n):
    pos, load = _surface_card(n, seed=n)
    closed_pos, closed_load = np.append(pos, pos[0]), np.append(load, load[0])
    for p, q in ((pos, load), (closed_pos, closed_load)):
        a, b = _both(p, q, spm=6.5, rods=STRINGS["three_steel"], damping=0.12)
        _assert_same(a, b)
        assert b.position.size == p.size
    # A closed card comes back closed (the repeated sample restored), as with numpy.
    assert b.position[0] == b.position[-1] and b.load[0] == b.load[-1]


@needs_numba
@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.floats(50.0, 4000.0), min_size=1, max_size=4),
    diameter=st.floats(0.625, 1.5),
    modulus=st.floats(5e6, 31e6),
    density=st.floats(120.0, 500.0),
    spm=st.floats(1.0, 20.0),
    damping=st.floats(0.0, 0.5),
    n=st.integers(16, 300),
)
def test_numba_matches_numpy_property(lengths, diameter, modulus, density, spm, damping, n):
    rods = [rp.RodTaper(length, diameter * (1.0 - 0.1 * i), modulus, density)
            for i, length in enumerate(lengths)]
    pos, load = _surface_card(n)
    a, b = _both(pos, load, spm=spm, rods=rods, damping=damping)
    _assert_same(a, b)


@needs_numba
def test_auto_uses_numba_when_installed():
    assert rp._resolve_engine("auto") == "numba"
    pos, load = _surface_card(200)
    kw = dict(surface_position=pos, surface_load=load, spm=8.0, rods=STRINGS["three_steel"])
    auto, numba_card = rp.downhole_card(**kw), rp.downhole_card(**kw, engine="numba")
    np.testing.assert_array_equal(auto.load, numba_card.load)


def test_unknown_engine_is_refused():
    pos, load = _surface_card(64)
    with pytest.raises(ValueError, match=r"^engine: must be one of auto, numpy, numba"):
        rp.downhole_card(surface_position=pos, surface_load=load, spm=8.0,
                         rods=STRINGS["uniform"], engine="cuda")


_WITHOUT_NUMBA = """
import json, sys
sys.modules["numba"] = None  # what an image without the `fast` extra looks like
import numpy as np
from daemons.petroleum import rodpump as rp
pos, load = (np.array(x) for x in json.loads(sys.stdin.read()))
rods = [rp.RodTaper.steel(2000.0, 1.0), rp.RodTaper.steel(2500.0, 0.875)]
card = rp.downhole_card(surface_position=pos, surface_load=load, spm=8.0, rods=rods)
try:
    rp.downhole_card(surface_position=pos, surface_load=load, spm=8.0, rods=rods,
                     engine="numba")
    refused = ""
except ValueError as exc:
    refused = str(exc)
print(json.dumps({"available": rp.NUMBA_AVAILABLE, "load": card.load.tolist(),
                  "refused": refused}))
"""


def test_without_numba_auto_falls_back_to_numpy():
    """A real interpreter in which `import numba` fails: rodpump still imports, "auto"
    computes with numpy, and asking for numba explicitly says it is not installed."""
    pos, load = _surface_card(120)
    out = subprocess.run(
        [sys.executable, "-B", "-c", _WITHOUT_NUMBA], cwd=ROOT, input=json.dumps(
            [pos.tolist(), load.tolist()]), capture_output=True, text=True, timeout=60,
        check=True)
    got = json.loads(out.stdout)
    assert got["available"] is False
    rods = [rp.RodTaper.steel(2000.0, 1.0), rp.RodTaper.steel(2500.0, 0.875)]
    expect = rp.downhole_card(surface_position=pos, surface_load=load, spm=8.0, rods=rods,
                              engine="numpy")
    np.testing.assert_array_equal(np.array(got["load"]), expect.load)
    assert got["refused"].startswith("engine: numba is not installed")


_KERNEL_ALONE = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import _rodpump_numba as nb
with open(sys.argv[2]) as f:
    w0, t0, steps, coef = json.load(f)
k = nb.kernel()
w, t = nb.march(np.array(w0), np.array(t0), steps, coef)
hits = sum(k.march.stats.cache_hits.values()) if k.cached else 0
print(json.dumps({"cached": k.cached, "hits": hits, "w": w.tolist(), "t": t.tolist()}))
"""


def _kernel_case() -> tuple[list, ...]:
    pos, load = _surface_card(100)
    dt, k = 60.0 / 8.0 / 100, 0.01
    rows = [rp._taper_step(t, dt, k) for t in STRINGS["three_steel"]]
    return ((pos / 12.0).tolist(), (load - 8000.0).tolist(),
            [r.steps for r in rows], [list(r[1:]) for r in rows])


def _start_kernel_copy(tmp: Path, name: str, env: dict[str, str], case: tuple
                       ) -> subprocess.Popen:
    """Start a copy of the kernel module, alone (it imports only numba and numpy), in a
    fresh interpreter with its own cache environment."""
    moddir = tmp / name
    moddir.mkdir(exist_ok=True)
    shutil.copy(KERNEL_SRC, moddir / "_rodpump_numba.py")
    (tmp / "case.json").write_text(json.dumps(case))
    return subprocess.Popen(
        [sys.executable, "-B", "-c", _KERNEL_ALONE, str(moddir), str(tmp / "case.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


def _result(proc: subprocess.Popen) -> dict:
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    return json.loads(out)


@needs_numba
def test_cache_used_when_writable_and_skipped_when_not(tmp_path):
    case = _kernel_case()
    from daemons.petroleum import _rodpump_numba as nb

    w, t = nb.march(np.array(case[0]), np.array(case[1]), case[2], case[3])

    # No writable place at all: the in-tree __pycache__ and the user-provided and
    # user-wide cache directories sit under regular files (root ignores permission bits,
    # so a file in the way is what reliably makes mkdir fail here).
    blocked = tmp_path / "blocked"
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "__pycache__").write_text("a file, not a directory")
    blocked.write_text("a file, not a directory")
    env_blocked = {"NUMBA_CACHE_DIR": str(blocked / "numba"),
                   "XDG_CACHE_HOME": str(blocked / "x"), "HOME": str(blocked / "home")}
    # A writable cache directory: the first process compiles and writes the cache, the
    # next one loads it (numba counts the hit).  The two compiling runs go in parallel.
    env_rw = {"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    procs = [_start_kernel_copy(tmp_path, "ro", env_blocked, case),
             _start_kernel_copy(tmp_path, "rw", env_rw, case)]
    got, first = (_result(p) for p in procs)

    assert got["cached"] is False
    np.testing.assert_array_equal(got["w"], w)
    np.testing.assert_array_equal(got["t"], t)

    assert first["cached"] is True and first["hits"] == 0
    assert list((tmp_path / "numba-cache").rglob("*.nbi"))
    second = _result(_start_kernel_copy(tmp_path, "rw", env_rw, case))
    assert second["hits"] == 1
    np.testing.assert_array_equal(second["t"], t)
