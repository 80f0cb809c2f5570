"""Material balance.

Checks: a volumetric hand calculation; algebraic identities of the Havlena–Odeh terms
(the Bt form of Dake, ch. 3); recovery of N and m from a synthetic reservoir built with
the library's own PVT correlations; and an end-to-end gas tank — a fixed pore volume
emptied step by step, its pressure found by solving V = (G - Gp) Bg(p) with the z-factor
— whose p/z line must return the gas it started with.
"""

import numpy as np
import pytest

from daemons.petroleum import matbal, pvt


def test_ooip_volumetric_hand_calc():
    # 7758.37 bbl/acre-ft * 1000 acres * 50 ft * 0.20 * (1 - 0.25) / 1.25 = 46.55 MMSTB
    n = matbal.ooip_volumetric(area_acres=1000.0, h=50.0, phi=0.20, sw=0.25, boi=1.25)
    assert n == pytest.approx(7758.37 * 1000 * 50 * 0.2 * 0.75 / 1.25, rel=1e-6)
    assert abs(matbal.BBL_PER_ACRE_FT - 7758.37) < 0.01


def _pvt_table(p):
    """Black-oil properties from Standing's correlations (pb ~ 2500 psia)."""
    t, api, sg = 180.0, 35.0, 0.75
    pb = 2500.0
    rs = pvt.standing_rs(p=np.minimum(p, pb), t=t, api=api, gas_sg=sg)
    bo = pvt.standing_bo(rs=rs, t=t, api=api, gas_sg=sg)
    tpc, ppc = pvt.sutton_pseudocritical(gas_sg=sg)
    z = pvt.z_factor(ppr=p / ppc, tpr=(t + 459.67) / tpc)
    bg = pvt.gas_fvf(z=z, t=t, p=p) / matbal.RCF_PER_BBL  # rb/scf
    return rs, bo, bg


def test_havlena_odeh_terms_match_the_two_phase_fvf_form():
    p = np.array([2500.0, 2300.0, 2100.0, 1900.0])
    rs, bo, bg = _pvt_table(p)
    np_, rp = np.array([0.0, 1e6, 2.5e6, 4e6]), np.array([0.0, 700.0, 900.0, 1100.0])
    terms = matbal.havlena_odeh_terms(
        np_=np_, rp=rp, bo=bo, rs=rs, bg=bg, boi=bo[0], rsi=rs[0], bgi=bg[0], p=p, p_i=p[0]
    )
    # Dake's two-phase FVF Bt = Bo + (Rsi - Rs) Bg:  F = Np [Bt + (Rp - Rsi) Bg],
    # Eo = Bt - Bti.
    bt = bo + (rs[0] - rs) * bg
    np.testing.assert_allclose(terms.f, np_ * (bt + (rp - rs[0]) * bg), rtol=1e-12)
    np.testing.assert_allclose(terms.eo, bt - bt[0], rtol=1e-12, atol=1e-15)
    assert terms.eo[0] == 0.0 and terms.eg[0] == 0.0 and terms.efw[0] == 0.0


def test_undersaturated_hand_calc():
    # Above pb, Rs = Rsi = Rp: F = Np Bo, Eo = Bo - Boi.  Np = 1e6, Bo 1.2528 vs Boi 1.25:
    # N = 1e6 * 1.2528 / 0.0028 = 447.43e6 STB (no rock/water term).
    t = matbal.havlena_odeh_terms(
        np_=1e6, rp=600.0, bo=1.2528, rs=600.0, bg=8e-4, boi=1.25, rsi=600.0, bgi=8e-4,
        p=3500.0, p_i=4000.0,
    )  # fmt: skip
    assert t.f == pytest.approx(1.2528e6)
    assert matbal.havlena_odeh_fit(F=[t.f], Eo=[t.eo]).n == pytest.approx(447.4286e6, rel=1e-6)
    # Rock and water expansion: Efw = Boi (cw Swi + cf)/(1 - Swi) Δp
    #   = 1.25 * (3e-6*0.2 + 4e-6)/0.8 * 500 = 3.59375e-3 rb/STB
    t2 = matbal.havlena_odeh_terms(
        np_=1e6, rp=600.0, bo=1.2528, rs=600.0, bg=8e-4, boi=1.25, rsi=600.0, bgi=8e-4,
        p=3500.0, p_i=4000.0, swi=0.2, cw=3e-6, cf=4e-6,
    )  # fmt: skip
    assert t2.efw == pytest.approx(3.59375e-3)


def test_havlena_odeh_fit_recovers_n_and_m():
    n_true, m_true = 120e6, 0.45
    p = np.linspace(2500.0, 1700.0, 7)
    rs, bo, bg = _pvt_table(p)
    terms = matbal.havlena_odeh_terms(
        np_=np.zeros_like(p), rp=np.zeros_like(p), bo=bo, rs=rs, bg=bg,
        boi=bo[0], rsi=rs[0], bgi=bg[0], p=p, p_i=p[0], swi=0.2, cw=3e-6, cf=5e-6,
    )  # fmt: skip
    f_true = n_true * (terms.eo + m_true * terms.eg + (1 + m_true) * terms.efw)
    # With noise, N and m trade off against each other (the ill-conditioning Dake warns
    # about), so assert the least-squares property instead of closeness: the fitted line
    # explains the observations at least as well as the truth does.
    rng = np.random.default_rng(3)
    f_obs = f_true * (1 + rng.normal(0, 0.002, p.size))
    fit = matbal.havlena_odeh_fit(F=f_obs, Eo=terms.eo, Eg=terms.eg, Efw=terms.efw)

    def sse(n, m):
        model = n * (terms.eo + terms.efw) + n * m * (terms.eg + terms.efw)
        return float(np.sum((f_obs - model) ** 2))

    assert sse(fit.n, fit.m) <= sse(n_true, m_true)
    assert sse(fit.n, fit.m) < 0.999 * sse(fit.n * 1.01, fit.m)
    exact = matbal.havlena_odeh_fit(F=f_true, Eo=terms.eo, Eg=terms.eg, Efw=terms.efw)
    assert exact.n == pytest.approx(n_true, rel=1e-9)
    assert exact.m == pytest.approx(m_true, rel=1e-9)
    no_cap = matbal.havlena_odeh_fit(F=n_true * terms.eo, Eo=terms.eo)
    assert no_cap.n == pytest.approx(n_true) and no_cap.m is None


def _tank_pressure(v_res, moles_scf, t_f, sg):
    """Pressure where the tank volume holds `moles_scf` of gas: V = n Bg(p) (bisection)."""
    tpc, ppc = pvt.sutton_pseudocritical(gas_sg=sg)
    lo, hi = 15.0, 20_000.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        z = pvt.z_factor(ppr=mid / ppc, tpr=(t_f + 459.67) / tpc)
        if moles_scf * pvt.gas_fvf(z=z, t=t_f, p=mid) > v_res:
            lo = mid
        else:
            hi = mid
    return mid, z


def test_gas_pz_recovers_tank_gas_in_place():
    t_f, sg, v_res = 200.0, 0.65, 5.0e7  # rcf of pore space
    p_i = 4000.0
    tpc, ppc = pvt.sutton_pseudocritical(gas_sg=sg)
    z_i = pvt.z_factor(ppr=p_i / ppc, tpr=(t_f + 459.67) / tpc)
    g = v_res / pvt.gas_fvf(z=z_i, t=t_f, p=p_i)  # scf initially in place
    gp = np.array([0.0, 0.1, 0.2, 0.3, 0.4]) * g
    ps, zs = zip(*(_tank_pressure(v_res, g - x, t_f, sg) for x in gp), strict=True)
    fit = matbal.gas_pz_ogip(p=np.array(ps), gp=gp, z=np.array(zs))
    assert fit.ogip == pytest.approx(g, rel=1e-6)
    assert fit.pz_i == pytest.approx(p_i / z_i, rel=1e-6)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: matbal.ooip_volumetric(area_acres=10, h=10, phi=1.2, sw=0.2, boi=1.2), "phi"),
        (lambda: matbal.ooip_volumetric(area_acres=10, h=10, phi=0.2, sw=0.2, boi=0), "boi"),
        (lambda: matbal.gas_pz_ogip(p=[3000, 2900], gp=[0, 0], z=[0.9, 0.9]), "gp"),
        (lambda: matbal.gas_pz_ogip(p=[3000, 3100], gp=[0, 1e9], z=[0.9, 0.9]), "p"),
        (lambda: matbal.havlena_odeh_fit(F=[1.0, 2.0], Eo=[0.0, 0.0]), "Eo"),
        (lambda: matbal.havlena_odeh_fit(F=[1.0, 2.0], Eo=[1.0]), "F"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(arg + ":")
