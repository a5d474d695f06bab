"""drt(): recovery of known distributions, solvers, λ choice, options and the result type."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from closed_form import FREQ, add_noise, rc, warburg_short, zarc
from scipy.optimize import nnls as scipy_nnls

import eisfit as ef
from eisfit.relaxation.problem import build_problem
from eisfit.relaxation.solver import solve_cvxpy
from eisfit.linear.solve import nnls as solve_nnls

# noise-free spectra legitimately push λ to the end of the grid (tested below)
pytestmark = pytest.mark.filterwarnings("ignore:λ chosen by:eisfit.EisfitWarning")

# -- ground truth: a single ZARC (issue 3 target) --------------------------------------


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("R, tau0, n", [(50.0, 1e-3, 0.9), (20.0, 1e-5, 0.8), (100.0, 0.3, 0.75)])
def test_single_zarc_tau_and_R_recovered(seed, R, tau0, n):
    Z = 10 + zarc(FREQ, R, tau0, n)
    res = ef.drt(ef.Spectrum(FREQ[::-1], add_noise(Z, seed)[::-1]))
    Z = Z[np.argsort(FREQ)]
    peaks = res.peaks()
    assert len(peaks) == 1
    assert abs(np.log10(peaks[0].tau / tau0)) < 0.03
    assert peaks[0].R == pytest.approx(R, rel=0.03)
    # the model is closer to the noise-free truth than the data are (0.5 % per part)
    assert np.max(np.abs(res.Z_fit - Z) / np.abs(Z)) < 0.01


def test_noise_free_zarc_gamma_close_to_exact():
    from eisfit.relaxation.analytic import zarc_gamma

    Z = 5 + zarc(FREQ, 10.0, 1e-3, 0.8)
    res = ef.drt(ef.Spectrum(FREQ, Z))
    inside = (res.tau > 1e-5) & (res.tau < 1e-1)
    exact = zarc_gamma(res.tau[inside], 10.0, 1e-3, 0.8)
    assert np.max(np.abs(res.gamma[inside] - exact)) < 0.1 * exact.max()
    assert res.R_pol + res.R_inf == pytest.approx(15.0, rel=2e-3)


@pytest.mark.parametrize("seed", range(5))
def test_four_rc_pouch_ladder_four_peaks(seed):
    # Table S4 "before cycling" values, τ ≈ 1e-5, 1e-4, 1e-2, 0.5 s
    taus = [1e-5, 1e-4, 1e-2, 0.5]
    Rs = [0.05, 0.14, 0.11, 0.38]
    Z = 0.15 + sum(rc(FREQ, R, t) for R, t in zip(Rs, taus))
    res = ef.drt(ef.Spectrum(FREQ, add_noise(Z, seed)))
    peaks = res.peaks()
    assert len(peaks) == 4
    for p, t, R in zip(peaks, taus, Rs):
        assert abs(np.log10(p.tau / t)) < 0.1
        assert p.R == pytest.approx(R, rel=0.1)


def test_gamma_non_negative_and_fit_close():
    Z = add_noise(3 + zarc(FREQ, 10, 1e-4, 0.85) + zarc(FREQ, 30, 0.1, 0.7), 1)
    res = ef.drt(ef.Spectrum(FREQ, Z))
    assert np.all(res.gamma >= 0)
    rel = np.abs(res.Z_fit - res.Z) / np.abs(res.Z)
    assert np.sqrt(np.mean(rel**2)) < 0.012  # noise is 0.5 % per part
    # residuals are the weighted difference data − model, parts weighted separately
    np.testing.assert_allclose(res.residuals, (res.Z - res.Z_fit) / np.abs(res.Z))


def test_pure_resistor_has_no_significant_peak():
    Z = add_noise(np.full(FREQ.size, 25.0 + 0j), 3)
    with pytest.warns(ef.EisfitWarning, match="end of the scanned grid"):
        res = ef.drt(ef.Spectrum(FREQ, Z))
    assert res.lam == res.lam_grid.max()
    assert res.peaks() == ()
    assert res.R_inf == pytest.approx(25.0, rel=0.01)


@pytest.mark.parametrize("weight", [{"sigma": 0.5}, {"weight": "modulus"}])
def test_pydrttools_two_zarc_reference_data(data_dir, weight):
    # R_inf = 10, two ZARCs R = 50 Ω, φ = 0.8 at τ = 1e-4 and 0.1 s, noise σ = 0.5 Ω
    df = pd.read_csv(data_dir / "2XZARCequal.csv")
    spec = ef.Spectrum(df["Freq"], df["Real"] + 1j * df["Imag"])
    res = ef.drt(spec, **weight)
    peaks = res.peaks()
    assert len(peaks) == 2
    (p1, p2) = peaks
    assert abs(np.log10(p1.tau / 1e-4)) < 0.05 and abs(np.log10(p2.tau / 0.1)) < 0.05
    assert p1.R == pytest.approx(50, rel=0.05) and p2.R == pytest.approx(50, rel=0.05)
    assert res.R_inf == pytest.approx(10, abs=1.0)


# -- solvers ---------------------------------------------------------------------------


def test_block_pivoting_nnls_matches_scipy_nnls():
    rng = np.random.default_rng(0)
    for _ in range(20):
        A = rng.standard_normal((40, 15))
        b = rng.standard_normal(40)
        x_ref, _ = scipy_nnls(A, b)
        sol = solve_nnls(A.T @ A, A.T @ b)
        np.testing.assert_allclose(sol.x, x_ref, atol=1e-9)
        np.testing.assert_array_equal(sol.free, x_ref > 0)


def test_warm_start_gives_same_solution():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((50, 20))
    b = rng.standard_normal(50)
    H, g = A.T @ A, A.T @ b
    cold = solve_nnls(H, g)
    warm = solve_nnls(H, g, free0=rng.random(20) < 0.5)
    np.testing.assert_allclose(warm.x, cold.x, atol=1e-10)


@pytest.mark.parametrize("lam", [1e-6, 1e-3, 1e-1])
def test_nnls_and_cvxpy_agree(lam):
    pytest.importorskip("cvxpy")
    Z = add_noise(5 + zarc(FREQ, 10, 1e-4, 0.85) + rc(FREQ, 20, 0.1), 2)
    prob = build_problem(FREQ[::-1], Z[::-1], ppd=6)
    M = prob.H + lam * prob.P
    fast = solve_nnls(M, prob.g)
    ref = solve_cvxpy(prob.A, prob.b, prob.P, lam)

    def obj(x):
        r = prob.A @ x - prob.b
        return r @ r + lam * x @ prob.P @ x

    assert obj(fast.x) <= obj(ref.x) * (1 + 1e-6)
    assert obj(fast.x) == pytest.approx(obj(ref.x), rel=1e-4)
    scale = np.abs(fast.x).max()
    np.testing.assert_allclose(fast.x, ref.x, atol=2e-3 * scale)


def test_drt_solver_cvxpy_option_agrees_with_default():
    pytest.importorskip("cvxpy")
    s = ef.Spectrum(FREQ, add_noise(5 + zarc(FREQ, 10, 1e-3, 0.9), 4))
    a = ef.drt(s, lam=1e-3, ppd=6)
    b = ef.drt(s, lam=1e-3, ppd=6, solver="cvxpy")
    np.testing.assert_allclose(b.gamma, a.gamma, atol=5e-3 * a.gamma.max())
    assert b.R_inf == pytest.approx(a.R_inf, rel=1e-3)


# -- λ choice --------------------------------------------------------------------------


@pytest.mark.parametrize("criterion", ["gcv", "lcurve", "evidence"])
def test_criteria_pick_a_minimum_of_their_curve(criterion):
    s = ef.Spectrum(FREQ, add_noise(5 + zarc(FREQ, 10, 1e-3, 0.85), 5))
    res = ef.drt(s, criterion=criterion)
    assert res.criterion == criterion
    curve = res.scores[criterion]
    assert curve.shape == res.lam_grid.shape
    # the choice is interior: neither end of the global grid
    assert res.lam_grid.min() < res.lam < res.lam_grid.max()
    # ground truth: at the chosen λ the ZARC's area (its resistance, 10 Ω) and the noise
    # level of the data (0.5 % per part) come out right
    assert res.R_pol == pytest.approx(10, rel=0.05)
    rms = np.sqrt(np.mean(np.abs(res.residuals) ** 2) / 2)
    assert rms == pytest.approx(0.005, rel=0.3)


def test_discrepancy_needs_noise_and_fits_to_noise_level():
    s = ef.Spectrum(FREQ, add_noise(5 + zarc(FREQ, 10, 1e-3, 0.85), 6))
    with pytest.raises(ValueError, match="noise"):
        ef.drt(s, criterion="discrepancy")
    res = ef.drt(s, criterion="discrepancy", noise=0.005)
    chi2_per_value = res.chi2 / (2 * len(FREQ))
    assert chi2_per_value == pytest.approx(0.005**2, rel=0.3)


def test_all_criteria_curves_kept():
    s = ef.Spectrum(FREQ, add_noise(5 + zarc(FREQ, 10, 1e-3, 0.85), 7))
    res = ef.drt(s, all_criteria=True, noise=0.005)
    assert set(res.scores) == {"gcv", "lcurve", "evidence", "discrepancy"}


def test_fixed_lambda():
    s = ef.Spectrum(FREQ, 5 + zarc(FREQ, 10, 1e-3, 0.85))
    res = ef.drt(s, lam=1e-4)
    assert res.lam == 1e-4 and res.criterion == "fixed" and res.lam_grid.size == 0
    smooth = ef.drt(s, lam=1.0)
    # more regularisation: smoother (smaller curvature) distribution
    assert np.sum(np.diff(smooth.gamma, 2) ** 2) < np.sum(np.diff(res.gamma, 2) ** 2)


# -- model options ---------------------------------------------------------------------


def test_series_inductance_recovered():
    L = 2e-7
    Z = 1 + 2j * np.pi * FREQ * L + zarc(FREQ, 10, 1e-3, 0.9)
    res = ef.drt(ef.Spectrum(FREQ, add_noise(Z, 8)))
    assert res.L == pytest.approx(L, rel=0.05)
    no_l = ef.drt(ef.Spectrum(FREQ, add_noise(Z, 8)), inductance=False)
    assert no_l.L == 0.0


def test_series_capacitance_for_blocking_electrode():
    C = 1e-3
    Z = 50 + zarc(FREQ, 200, 1e-5, 0.85) + 1 / (2j * np.pi * FREQ * C)
    res = ef.drt(ef.Spectrum(FREQ, add_noise(Z, 9)), series_capacitance=True)
    assert res.C == pytest.approx(C, rel=0.03)
    assert res.peaks()[0].R == pytest.approx(200, rel=0.05)
    assert ef.drt(ef.Spectrum(FREQ, add_noise(Z, 9))).C is None


def test_frequency_window_and_capacitive_only():
    Z = 1 + 2j * np.pi * FREQ * 1e-6 + zarc(FREQ, 10, 1e-3, 0.9)
    s = ef.Spectrum(FREQ, add_noise(Z, 10))
    win = ef.drt(s, fmin=0.1, fmax=6e3)
    assert win.freq.min() >= 0.1 and win.freq.max() <= 6e3
    assert win.freq.size == np.sum((FREQ >= 0.1) & (FREQ <= 6e3))
    cap = ef.drt(s, capacitive_only=True)
    assert np.all(cap.Z.imag <= 0)
    assert cap.freq.size == np.sum(s.Z.imag <= 0)


def test_mask_is_honoured():
    Z = add_noise(2 + zarc(FREQ, 10, 1e-3, 0.9), 11)
    Z_bad = Z.copy()
    Z_bad[5] = 1e6  # an outlier, masked out
    s = ef.Spectrum(FREQ, Z_bad).exclude(np.arange(FREQ.size) == 5)
    res = ef.drt(s)
    assert FREQ[5] not in res.freq
    assert res.peaks()[0].R == pytest.approx(10, rel=0.03)


def test_weighting_options():
    Z = add_noise(2 + zarc(FREQ, 10, 1e-3, 0.9), 12)
    s = ef.Spectrum(FREQ, Z)
    mod = ef.drt(s, lam=1e-3)
    unit = ef.drt(s, lam=1e-3, weight="unit")
    prop = ef.drt(s, lam=1e-3, weight="proportional")
    np.testing.assert_allclose(unit.weighted_residuals, s.sorted().Z - unit.Z_fit)
    np.testing.assert_allclose(unit.residuals, (s.sorted().Z - unit.Z_fit) / np.abs(s.sorted().Z))
    Zs = s.sorted().Z
    d = Zs - prop.Z_fit
    floor = 1e-3 * np.abs(Zs)
    np.testing.assert_allclose(
        prop.weighted_residuals,
        d.real / np.maximum(np.abs(Zs.real), floor) + 1j * d.imag / np.maximum(np.abs(Zs.imag), floor),
    )
    # σ = |Z| reproduces modulus weighting exactly; complex σ weights parts separately
    sig = ef.drt(s, lam=1e-3, sigma=np.abs(Z))
    np.testing.assert_allclose(sig.gamma, mod.gamma, rtol=1e-8, atol=1e-12)
    sig2 = ef.drt(s, lam=1e-3, sigma=np.abs(Z) + 1j * np.abs(Z))
    np.testing.assert_allclose(sig2.gamma, mod.gamma, rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError):
        ef.drt(s, sigma=np.ones(3))
    with pytest.raises(ValueError):
        ef.drt(s, weight="bogus")


def test_warburg_shows_as_main_peak_at_its_first_mode():
    R, T = 30.0, 10.0
    Z = 5 + zarc(FREQ, 20, 1e-4, 0.85) + warburg_short(FREQ, R, T)
    res = ef.drt(ef.Spectrum(FREQ, add_noise(Z, 13)))
    slow = max(res.peaks(), key=lambda p: p.R)
    assert abs(np.log10(slow.tau_mode / (4 * T / np.pi**2))) < 0.1


# -- the result object -----------------------------------------------------------------


def test_result_is_immutable_and_frames():
    res = ef.drt(ef.Spectrum(FREQ, 5 + zarc(FREQ, 10, 1e-3, 0.9)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.lam = 1.0
    with pytest.raises(ValueError):
        res.gamma[0] = 1.0
    df = res.to_frame()
    assert list(df.columns) == ["tau", "freq", "gamma", "gamma_std"]
    assert len(df) == res.tau.size
    pf = res.peaks_frame()
    assert len(pf) == 1 and {"tau", "R", "width", "significance"} <= set(pf.columns)
    assert '"peaks"' in res.to_json()
    assert "<table>" in res._repr_html_()
    np.testing.assert_allclose(res.impedance(res.freq), res.Z_fit, rtol=1e-12)


def test_plot_returns_axes():
    import matplotlib

    matplotlib.use("Agg")
    res = ef.drt(ef.Spectrum(FREQ, 5 + zarc(FREQ, 10, 1e-3, 0.9)))
    ax = res.plot()
    assert ax.get_xscale() == "log"
    assert len(ax.lines) >= 1


def test_bad_input():
    s = ef.Spectrum(FREQ, 5 + zarc(FREQ, 10, 1e-3, 0.9))
    with pytest.raises(ValueError, match="criterion"):
        ef.drt(s, criterion="aic")
    with pytest.raises(ValueError, match="lam"):
        ef.drt(s, lam=-1.0)
    with pytest.raises(ValueError, match="solver"):
        ef.drt(s, solver="magic")
    with pytest.raises(ef.EisfitError, match="Spectrum"):
        ef.drt((FREQ, s.Z))
    with pytest.raises(ef.EisfitError, match="at least 4"):
        ef.drt(s, fmin=6e5)
