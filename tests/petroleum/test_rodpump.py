"""Tests of daemons.petroleum.rodpump.

The downhole card is checked against physics that does not depend on the finite-difference
method (rigid rod, d'Alembert wave speed, static stretch) and by a round trip through an
independent forward model written here: a lumped-mass spring chain integrated in time by
central differences, the polished-rod motion imposed at the top and a known pump load at
the bottom.  Its errors are not the Everitt–Jennings recurrence's errors, so agreement means
both solve the same damped wave equation.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.petroleum import rodpump as rp

G_C = 32.174
STEEL = (30.5e6, 490.0)
THREE_TAPERS = [
    rp.RodTaper(2000.0, 1.0, *STEEL),
    rp.RodTaper(2200.0, 0.875, *STEEL),
    rp.RodTaper(2300.0, 0.75, *STEEL),
]


def _smoothstep(z: float) -> float:
    z = min(max(z, 0.0), 1.0)
    return z * z * (3.0 - 2.0 * z)


def _forward_lumped(rods, spm, n_out, surface_w, pump_load, c, *, h_max=40.0, strokes=10):
    """Independent forward model: surface card (ft up, lbf dynamic) and pump position (ft).

    Rod = chain of point masses (half of each adjacent segment's mass) joined by springs
    EA/h; node 0 follows surface_w(t), the bottom node is pulled down by
    pump_load(t, x, v) (plunger position and velocity, ft and ft/s, for a valve model);
    every node feels the viscous force −c·m·v.  Central differences in time with
    Δt ≤ 0.9 h/a (the explicit stability limit).  Starts from the static state under the
    initial pump load and runs `strokes` periods so that the start-up transient decays; the
    last period is sampled at n_out instants.  Loads are dynamic (the rods' weight is added
    back by the caller).
    """
    hs, ks, ms, speeds = [], [], [], []
    for r in rods:
        m = max(1, math.ceil(r.length_ft / h_max))
        h = r.length_ft / m
        area = math.pi / 4.0 * r.diameter_in**2
        for _ in range(m):
            hs.append(h)
            ks.append(r.modulus_psi * area / h)
            ms.append(r.density_lbm_ft3 * area / 144.0 * h / G_C)  # slug
            speeds.append(math.sqrt(144.0 * G_C * r.modulus_psi / r.density_lbm_ft3))
    hs, ks, ms, speeds = map(np.array, (hs, ks, ms, speeds))
    period = 60.0 / spm
    per_sample = math.ceil(period / (0.9 * np.min(hs / speeds)) / n_out)
    dt = period / (per_sample * n_out)
    mass = np.zeros(ks.size + 1)
    mass[:-1] += ms / 2.0
    mass[1:] += ms / 2.0
    w = np.empty(ks.size + 1)
    w[0] = surface_w(0.0)
    w[1:] = w[0] - np.cumsum(pump_load(0.0, 0.0, 0.0) / ks)
    w_prev = w.copy()
    first = (strokes - 1) * per_sample * n_out
    rec_w, rec_f, rec_p = [], [], []
    for s in range(strokes * per_sample * n_out):
        t = s * dt
        tension = ks * (w[:-1] - w[1:])
        force = np.zeros_like(w)
        force[:-1] -= tension
        force[1:] += tension
        force[-1] -= pump_load(t, w[-1], (w[-1] - w_prev[-1]) / dt)
        w_next = np.empty_like(w)
        w_next[1:] = (2.0 * w[1:] - w_prev[1:] * (1.0 - c * dt / 2.0)
                      + dt * dt * force[1:] / mass[1:]) / (1.0 + c * dt / 2.0)
        w_next[0] = surface_w(t + dt)
        if s >= first:
            acc0 = (w_next[0] - 2.0 * w[0] + w_prev[0]) / dt**2
            vel0 = (w_next[0] - w_prev[0]) / (2.0 * dt)
            rec_f.append(tension[0] + mass[0] * (acc0 + c * vel0))
            rec_w.append(w[0])
            rec_p.append(w[-1])
        w_prev, w = w, w_next
    # A dynamometer samples through an anti-alias filter: keep the harmonics below a
    # quarter of the output rate (ideal low-pass over the periodic record), then sample.
    return tuple(_band_limit(np.array(x), n_out) for x in (rec_w, rec_f, rec_p))


def _band_limit(x, n_out):
    spec = np.fft.rfft(x)[: n_out // 4 + 1]
    full = np.zeros(n_out // 2 + 1, dtype=complex)
    full[: spec.size] = spec
    return np.fft.irfft(full, n_out) * n_out / x.size


def _pumping_case(spm, n, fo=8000.0, drop_at=0.5):
    """Surface motion (ft) with a second harmonic, and a smooth trapezoid pump load."""
    period = 60.0 / spm
    stroke_ft = 100.0 / 12.0

    def surface_w(t):
        ph = 2.0 * math.pi * t / period
        return stroke_ft / 2.0 * (1.0 - math.cos(ph)) + 0.05 * stroke_ft * math.sin(2.0 * ph)

    def pump_load(t, _x=0.0, _v=0.0):
        x = (t / period) % 1.0
        return fo * (_smoothstep((x - 0.02) / 0.12) - _smoothstep((x - drop_at) / 0.06))

    return surface_w, pump_load


# --- round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("spm,nu", [(6.0, 0.1), (10.0, 0.3)])
def test_round_trip_against_independent_forward_model(spm, nu):
    # Tolerances: pump load within 1 % of Fo, pump position within 0.5 % of the stroke
    # (measured errors are about 0.15 % and 0.1 %: the two discretisations differ).
    n, fo = 200, 8000.0
    surface_w, pump_load = _pumping_case(spm, n, fo)
    c = rp.damping_coefficient(damping=nu, rods=THREE_TAPERS)
    w, f_dyn, p = _forward_lumped(THREE_TAPERS, spm, n, surface_w, pump_load, c)
    w_rf = rp.buoyant_rod_weight(rods=THREE_TAPERS, fluid_sg=1.0)
    card = rp.downhole_card(surface_position=12.0 * w, surface_load=f_dyn + w_rf, spm=spm,
                            rods=THREE_TAPERS, damping=nu, fluid_sg=1.0)
    t = np.arange(n) * 60.0 / spm / n
    true_load = np.array([pump_load(x) for x in t])
    true_pos = 12.0 * (p - p.min())
    assert np.max(np.abs(card.load - true_load)) < 0.01 * fo
    assert np.max(np.abs(card.position - true_pos)) < 0.005 * np.ptp(true_pos)
    # The dynamics matter here: the surface card is far from the pump card.
    assert np.max(np.abs(f_dyn - true_load)) > 0.3 * fo


@pytest.mark.parametrize("drop_at", [0.7, 0.8])
def test_fillage_end_to_end_from_a_surface_card(drop_at):
    # Fluid pound in the independent forward model: the load is released late on the
    # plunger's downstroke.  The fillage of the inverted pump card must match (a) the
    # fillage of the forward model's own pump card and (b) the plunger position, in the
    # forward model, at the instant the load is half released.
    spm, n, nu = 6.0, 200, 0.2
    surface_w, pump_load = _pumping_case(spm, n, fo=6000.0, drop_at=drop_at)
    c = rp.damping_coefficient(damping=nu, rods=THREE_TAPERS)
    w, f_dyn, p = _forward_lumped(THREE_TAPERS, spm, n, surface_w, pump_load, c, strokes=8)
    card = rp.downhole_card(surface_position=12 * w,
                            surface_load=f_dyn + rp.buoyant_rod_weight(rods=THREE_TAPERS),
                            spm=spm, rods=THREE_TAPERS, damping=nu)
    t = np.arange(n) * 60.0 / spm / n
    x = 12.0 * (p - p.min())
    true_card = rp.fillage(pump_position=x, pump_load=np.array([pump_load(q) for q in t]))
    at_release = float(np.interp((drop_at + 0.03) * 60.0 / spm, t, x)) / np.ptp(x)
    got = rp.fillage(pump_position=card.position, pump_load=card.load)
    assert 0.1 < at_release < 0.7
    assert got == pytest.approx(true_card, abs=0.01)
    assert got == pytest.approx(at_release, abs=0.02)


# --- physics that needs no finite differences ----------------------------------------------


def _sine_card(n, stroke_in, low, high):
    ph = 2.0 * math.pi * np.arange(n) / n
    pos = stroke_in / 2.0 * (1.0 - np.cos(ph))
    # Load picked up early in the upstroke, released early in the downstroke.
    frac = np.arange(n) / n
    load = low + (high - low) * np.array(
        [_smoothstep((x - 0.02) / 0.1) - _smoothstep((x - 0.52) / 0.1) for x in frac])
    return pos, load


def test_short_rigid_rod_returns_surface_card_minus_buoyant_weight():
    rods = [rp.RodTaper.steel(10.0, 1.0)]
    pos, load = _sine_card(200, 100.0, 3000.0, 9000.0)
    # Undamped: the dimensionless ν is scaled by the travel time, so on a 10-ft rod any
    # ν > 0 is an enormous Gibbs c (see test_damping_factor_definition).
    card = rp.downhole_card(surface_position=pos, surface_load=load, spm=10.0, rods=rods,
                            damping=0.0, fluid_sg=1.05)
    w_rf = (490.0 - 62.4 * 1.05) * (math.pi / 4.0) / 144.0 * 10.0  # 23.1 lbf
    assert rp.buoyant_rod_weight(rods=rods, fluid_sg=1.05) == pytest.approx(w_rf)
    # 10 ft of 1-in rod weighs 27 lbm: its inertia is a few lbf at most.
    assert np.max(np.abs(card.load - (load - w_rf))) < 5.0
    # Stretch of 10 ft of rod under 9000 lbf is 0.045 in.
    assert np.max(np.abs(card.position - (pos - pos.min()))) < 0.1


def test_wave_speed_of_steel():
    a = rp.wave_speed(modulus_psi=30.5e6, density_lbm_ft3=490.0)
    assert a == pytest.approx(math.sqrt(144 * G_C * 30.5e6 / 490.0))
    # DESIGN.md / API RP 11L's N0 = 245,000/L ⇒ a = 4·245,000/60 ≈ 16,300 ft/s with
    # couplings; bare steel is a little faster.
    assert 16000.0 < a < 17000.0


@pytest.mark.parametrize("nodes_exact", [True, False])
def test_load_pulse_travels_at_wave_speed_and_splits_in_halves(nodes_exact):
    # d'Alembert for an undamped uniform rod: a load pulse at the surface with no surface
    # motion reaches the pump as two half pulses at t0 − L/a and t0 + L/a.  The method is
    # linear, so (card with pulse) − (card without) isolates that response.
    a = rp.wave_speed(modulus_psi=30.5e6, density_lbm_ft3=490.0)
    n, spm = 2000, 6.0
    dt = 60.0 / spm / n
    length = 5000.0 if not nodes_exact else round(5000.0 / (a * dt)) * a * dt
    rods = [rp.RodTaper.steel(length, 0.875)]
    pos, load = _sine_card(n, 100.0, 4000.0, 9000.0)
    j = np.arange(n)
    pulse = 1000.0 * np.exp(-0.5 * ((j - n / 2) / 4.0) ** 2)
    base = rp.downhole_card(surface_position=pos, surface_load=load, spm=spm, rods=rods,
                            damping=0.0)
    kicked = rp.downhole_card(surface_position=pos, surface_load=load + pulse, spm=spm,
                              rods=rods, damping=0.0)
    resp = kicked.load - base.load
    early, late = resp[: n // 2], resp[n // 2:]
    t_early = np.sum(j[: n // 2] * early) / np.sum(early)
    t_late = np.sum(j[n // 2:] * late) / np.sum(late)
    tau = (t_late - t_early) / 2.0 * dt
    assert length / tau == pytest.approx(a, rel=0.01)
    assert np.sum(early) == pytest.approx(0.5 * np.sum(pulse), rel=0.02)
    assert np.sum(late) == pytest.approx(0.5 * np.sum(pulse), rel=0.02)


@pytest.mark.parametrize("nu", [0.0, 0.2])
def test_static_stretch_of_a_tapered_string(nu):
    # At a very low speed the rods act as springs in series (Hooke's law): at every
    # instant the pump sits below the polished rod by (F − W_rf) · Σ L/(E A), 12 in/ft.
    fo, w_rf = 6000.0, rp.buoyant_rod_weight(rods=THREE_TAPERS)
    pos, load = _sine_card(200, 100.0, w_rf, w_rf + fo)
    card = rp.downhole_card(surface_position=pos, surface_load=load, spm=0.05,
                            rods=THREE_TAPERS, damping=nu)
    compliance = sum(r.length_ft / (r.modulus_psi * r.area_in2) for r in THREE_TAPERS)
    stretch_in = 12.0 * (load - w_rf) * compliance  # up to 6000 · 3.75e-4 · 12 = 27 in
    assert np.ptp(stretch_in) > 25.0
    assert np.ptp(card.position - (pos - stretch_in)) < 0.05
    assert np.max(np.abs(card.load - (load - w_rf))) < 0.002 * fo
    # The textbook card: the load is picked up while the polished rod rises by the full
    # stretch and let go while it falls by it, the plunger standing still meanwhile; the
    # pump stroke is the surface stroke less the stretch (API RP 11L's stroke loss).
    full = 12.0 * fo * compliance
    upstroke = np.arange(200) < 100
    lift = np.where(upstroke, np.minimum(pos, full), np.clip(pos - (100.0 - full), 0, full))
    card = rp.downhole_card(surface_position=pos, surface_load=w_rf + lift / full * fo,
                            spm=0.05, rods=THREE_TAPERS, damping=nu)
    assert np.ptp(card.position) == pytest.approx(100.0 - full, abs=0.05)


# --- behaviour of the implementation -----------------------------------------------------


def test_closed_card_keeps_shape_and_mappings_are_accepted():
    pos, load = _sine_card(200, 86.0, 5000.0, 11000.0)
    rods = [{"length_ft": 3000.0, "diameter_in": 0.875, "modulus_psi": 30.5e6,
             "density_lbm_ft3": 490.0, "grade": "D"},
            {"length_ft": 2500.0, "diameter_in": 0.75, "modulus_psi": 30.5e6,
             "density_lbm_ft3": 490.0}]
    open_card = rp.downhole_card(surface_position=pos, surface_load=load, spm=9, rods=rods)
    closed = rp.downhole_card(surface_position=np.append(pos, pos[0]),
                              surface_load=np.append(load, load[0]), spm=9, rods=rods)
    assert closed.position.shape == (201,)
    np.testing.assert_allclose(closed.load[:-1], open_card.load)
    assert closed.load[-1] == closed.load[0]
    pump_pos, pump_load = open_card  # unpacks as a tuple
    assert pump_pos.min() == 0.0 and pump_load.shape == (200,)


def test_noise_is_not_amplified():
    pos, load = _sine_card(200, 100.0, 5000.0, 12000.0)
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 50.0, 200)
    clean = rp.downhole_card(surface_position=pos, surface_load=load, spm=8,
                             rods=THREE_TAPERS, damping=0.1)
    noisy = rp.downhole_card(surface_position=pos, surface_load=load + noise, spm=8,
                             rods=THREE_TAPERS, damping=0.1)
    assert np.std(noisy.load - clean.load) < 50.0


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"spm": 0.0}, "spm"),
        ({"damping": -0.1}, "damping"),
        ({"surface_load": np.full(200, np.nan)}, "surface_load"),
        ({"surface_position": np.zeros(200)}, "surface_position"),
        ({"surface_position": np.arange(10.0), "surface_load": np.arange(10.0)},
         "surface_position"),
        ({"rods": [rp.RodTaper(-5.0, 0.75, *STEEL)]}, "rods[0].length_ft"),
        ({"rods": [{"length_ft": 100.0, "diameter_in": 0.75}]}, "rods"),
        ({"rods": []}, "rods"),
        ({"fluid_sg": -1.0}, "fluid_sg"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    pos, load = _sine_card(200, 100.0, 5000.0, 12000.0)
    args = {"surface_position": pos, "surface_load": load, "spm": 8.0,
            "rods": THREE_TAPERS, "damping": 0.1}
    args.update(kwargs)
    with pytest.raises(ValueError, match="^" + re.escape(name)):
        rp.downhole_card(**args)


def test_length_mismatch_is_rejected():
    with pytest.raises(ValueError, match="surface_position"):
        rp.downhole_card(surface_position=np.arange(20.0), surface_load=np.arange(21.0),
                         spm=5, rods=THREE_TAPERS)


def test_damping_factor_definition():
    # c = π a ν / (2 L) for a uniform string.
    rods = [rp.RodTaper.steel(5000.0, 0.875)]
    a = rp.wave_speed(modulus_psi=30.5e6, density_lbm_ft3=490.0)
    assert rp.damping_coefficient(damping=0.2, rods=rods) == pytest.approx(
        math.pi * a * 0.2 / (2 * 5000.0))


# --- fillage -----------------------------------------------------------------------------


def _pump_card(n, fill, fo=5000.0, stroke=100.0, drop_travel=0.04):
    """Synthetic pump card: plunger goes up (load Fo after pick-up) and down; on the way
    down the load stays at Fo until the plunger meets liquid at fill·stroke, then falls to
    0 over drop_travel·stroke.  Returns (pos, load, expected fillage at mid-drop)."""
    ph = 2.0 * math.pi * np.arange(n) / n
    pos = stroke / 2.0 * (1.0 - np.cos(ph))
    load = np.empty(n)
    top = fill * stroke
    for i, (x, p) in enumerate(zip(ph, pos, strict=True)):
        if x <= math.pi:  # upstroke: pick up Fo in the first 5 % of the travel
            load[i] = fo * min(1.0, p / (0.05 * stroke))
        else:
            load[i] = fo * min(1.0, max(0.0, (p - (top - drop_travel * stroke))
                                        / (drop_travel * stroke)))
    return pos, load, fill - drop_travel / 2.0


@pytest.mark.parametrize("fill", [0.3, 0.55, 0.8, 1.0])
def test_fillage_of_clean_cards(fill):
    pos, load, expected = _pump_card(200, fill)
    assert rp.fillage(pump_position=pos, pump_load=load) == pytest.approx(expected, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(fill=st.floats(0.2, 1.0), noise=st.floats(0.0, 0.05), seed=st.integers(0, 2**16),
       shift=st.integers(0, 199))
def test_fillage_is_robust_to_noise_spikes_and_start_point(fill, noise, seed, shift):
    pos, load, expected = _pump_card(200, fill)
    rng = np.random.default_rng(seed)
    noisy = load + rng.normal(0.0, noise * 5000.0, load.size)
    spikes = rng.choice(load.size, 3, replace=False)
    noisy[spikes] += rng.choice([-1.0, 1.0], 3) * 3000.0  # single-sample glitches
    got = rp.fillage(pump_position=np.roll(pos, shift), pump_load=np.roll(noisy, shift))
    assert got == pytest.approx(expected, abs=0.03)


@pytest.mark.parametrize("fill", [0.4, 0.8, 1.0])
def test_card_analysis_gives_fluid_load_and_net_stroke(fill):
    pos, load, expected = _pump_card(200, fill, fo=6000.0, stroke=80.0)
    a = rp.pump_card_analysis(pump_position=pos, pump_load=load - 300.0)
    assert a.fillage == rp.fillage(pump_position=pos, pump_load=load - 300.0)
    assert a.fillage == pytest.approx(expected, abs=0.01)
    assert a.upper_load == pytest.approx(5700.0, abs=1.0)
    assert a.lower_load == pytest.approx(-300.0, abs=1.0)
    assert a.fluid_load == pytest.approx(6000.0, abs=2.0)
    assert a.gross_stroke == pytest.approx(80.0, rel=1e-3)
    assert a.net_stroke == pytest.approx(a.fillage * a.gross_stroke)


def test_circular_smooth_is_the_running_median_then_mean():
    rng = np.random.default_rng(4)
    for n in (8, 17, 200):
        x = rng.normal(size=n)
        pad = np.concatenate([x[-2:], x, x[:2]])
        med = np.array([np.median(pad[i:i + 5]) for i in range(n)])
        want = (np.roll(med, 1) + med + np.roll(med, -1)) / 3.0
        np.testing.assert_allclose(rp._circular_smooth(x), want, rtol=0, atol=1e-12)


def test_fillage_without_load_transfer_is_undetermined():
    pos, _, _ = _pump_card(200, 0.5)
    assert math.isnan(rp.fillage(pump_position=pos, pump_load=np.full(200, 1234.0)))


def test_fillage_bad_input():
    with pytest.raises(ValueError, match="pump_position"):
        rp.fillage(pump_position=np.zeros(50), pump_load=np.arange(50.0))
    with pytest.raises(ValueError, match="pump_load"):
        rp.fillage(pump_position=np.arange(50.0), pump_load=[np.inf] * 50)


# --- loads and displacement --------------------------------------------------------------


def test_fluid_load_matches_api_rp_11l_constant():
    # API RP 11L: Fo = 0.340 · G · D² · H.  1.75-in plunger, 5000 ft net lift, G = 1:
    # 0.340 · 3.0625 · 5000 = 5206 lbf (the constant is rounded; exact 0.34034 → 5211).
    fo = rp.fluid_load(plunger_diameter=1.75, depth=5000.0, sg=1.0)
    assert fo == pytest.approx(0.340 * 1.75**2 * 5000.0, rel=0.002)
    arr = rp.fluid_load(plunger_diameter=np.array([1.25, 1.5]), depth=4000.0, sg=0.9)
    assert arr.shape == (2,)


def test_pump_displacement_first_principles():
    # 1.5-in plunger, 100-in stroke, 10 spm: (π/4)·2.25·100 = 176.7 in³/stroke,
    # × 14,400 strokes/d / 9702 in³/bbl = 262.3 bbl/d; 0.1166·S·N·D² = 262.4.
    pd = rp.pump_displacement(stroke=100.0, spm=10.0, plunger_diameter=1.5)
    assert pd == pytest.approx(262.29, abs=0.05)
    assert pd == pytest.approx(0.1166 * 100 * 10 * 2.25, rel=0.001)
    with pytest.raises(ValueError, match="plunger_diameter"):
        rp.pump_displacement(stroke=100.0, spm=10.0, plunger_diameter=0.0)
    with pytest.raises(ValueError, match="depth"):
        rp.fluid_load(plunger_diameter=1.5, depth=-1.0, sg=1.0)
