"""Ground truth: the exact DRTs of SEEDS.md integrate back to the closed-form impedances."""

from __future__ import annotations

import numpy as np
import pytest
from closed_form import hn, rc, warburg_open, warburg_short, zarc
from scipy.integrate import quad

from eisfit.relaxation import analytic
from eisfit.linear.kernels import hat_kernel, hat_kernel_exact, kernel_matrix, tau_grid

FREQS = np.logspace(-3, 4, 15)


def _integrate(gamma, f):
    """Z(f) = ∫ γ(ln τ) / (1 + jωτ) d ln τ by adaptive quadrature (independent of eisfit)."""
    w = 2 * np.pi * f
    re = quad(lambda u: gamma(np.exp(u)) / (1 + (w * np.exp(u)) ** 2), -60, 60, limit=400,
              epsabs=1e-11, epsrel=1e-11)[0]
    im = quad(lambda u: -gamma(np.exp(u)) * w * np.exp(u) / (1 + (w * np.exp(u)) ** 2), -60, 60,
              limit=400, epsabs=1e-11, epsrel=1e-11)[0]
    return re + 1j * im


@pytest.mark.parametrize("R, tau0, n", [(10.0, 1e-3, 0.9), (3.0, 2.0, 0.6), (50.0, 1e-5, 0.99)])
def test_zarc_gamma_integrates_to_zarc(R, tau0, n):
    g = lambda t: analytic.zarc_gamma(t, R, tau0, n)
    for f in FREQS:
        assert abs(_integrate(g, f) - zarc(f, R, tau0, n)) < 1e-6 * R


@pytest.mark.parametrize(
    "R, tau0, a, b", [(10.0, 1e-2, 0.8, 0.7), (5.0, 1.0, 0.95, 0.4), (1.0, 1e-4, 0.6, 1.0)]
)
def test_hn_gamma_integrates_to_hn(R, tau0, a, b):
    g = lambda t: analytic.hn_gamma(t, R, tau0, a, b)
    for f in FREQS:
        assert abs(_integrate(g, f) - hn(f, R, tau0, a, b)) < 1e-6 * R


def test_zarc_peak_height_and_area():
    R, n = 7.0, 0.7
    assert analytic.zarc_gamma(1.0, R, 1.0, n) == pytest.approx(R / (2 * np.pi) * np.tan(n * np.pi / 2))
    area = quad(lambda u: analytic.zarc_gamma(np.exp(u), R, 1.0, n), -80, 80, limit=300)[0]
    assert area == pytest.approx(R, rel=1e-8)


def test_rc_is_one_delta():
    Rk, tk = analytic.rc_discrete(4.0, 1e-3)
    f = FREQS
    Z = (Rk[None, :] / (1 + 2j * np.pi * f[:, None] * tk[None, :])).sum(1)
    np.testing.assert_allclose(Z, rc(f, 4.0, 1e-3), rtol=0, atol=1e-12)


def _discrete_sum(Rk, tk, f, R_dc):
    """Σ R_k/(1+jωτ_k) plus the DC value of the truncated tail (exact identity for Σ R_k)."""
    Z = (Rk[None, :] / (1 + 2j * np.pi * f[:, None] * tk[None, :])).sum(1)
    return Z + (R_dc - Rk.sum())


def test_transmissive_warburg_discrete_drt():
    R, T = 30.0, 10.0
    Rk, tk = analytic.warburg_transmissive_discrete(R, T, kmax=4000)
    # Σ 8R/((2k-1)²π²) over all k is R (Σ 1/(2k-1)² = π²/8)
    Z = _discrete_sum(Rk, tk, FREQS, R)
    np.testing.assert_allclose(Z, warburg_short(FREQS, R, T), rtol=0, atol=1e-6 * R)
    assert Rk[0] / R == pytest.approx(8 / np.pi**2)


def test_reflective_warburg_discrete_drt():
    R, T = 12.0, 3.0
    C, Rk, tk = analytic.warburg_reflective_discrete(R, T, kmax=4000)
    # Σ 2R/(k²π²) over all k is R/3 (Σ 1/k² = π²/6)
    Z = _discrete_sum(Rk, tk, FREQS, R / 3) + 1 / (2j * np.pi * FREQS * C)
    np.testing.assert_allclose(Z, warburg_open(FREQS, R, T), rtol=0, atol=1e-6 * R)
    assert C == pytest.approx(T / R)


# -- the kernel used by drt() ----------------------------------------------------------
@pytest.mark.parametrize("s", [-38.0, -6.0, -1.3, -0.2, 0.0, 0.11, 0.7, 3.0, 9.0, 38.0])
def test_hat_kernel_matches_quadrature(s):
    h = np.log(10) / 10
    hat = lambda v: max(0.0, 1 - abs(v - s) / h)
    re = quad(lambda v: hat(v) / (1 + np.exp(2 * v)), s - h, s + h, epsabs=1e-14, points=[s])[0]
    im = quad(lambda v: -hat(v) * np.exp(v) / (1 + np.exp(2 * v)), s - h, s + h, epsabs=1e-14,
              points=[s])[0]
    assert abs(hat_kernel_exact(np.array([s]), h)[0] - (re + 1j * im)) < 1e-12
    assert abs(hat_kernel(np.array([s]), h)[0] - (re + 1j * im)) < 1e-9


def test_hat_kernel_asymptotes_beyond_table():
    h = 0.3
    np.testing.assert_allclose(hat_kernel(np.array([-80.0, 80.0]), h), [h, 0.0], atol=1e-15)


def test_kernel_times_exact_zarc_gamma_reproduces_zarc():
    # γ sampled at the nodes and interpolated linearly: error only from the linear
    # interpolation of a smooth γ (small at 20 nodes per decade)
    f = np.logspace(-2, 5, 40)
    tau, h = tau_grid(f, ppd=20, extend=3)
    K = kernel_matrix(f, tau, h)
    g = analytic.zarc_gamma(tau, 10.0, 1e-2, 0.8)
    np.testing.assert_allclose(K @ g, zarc(f, 10.0, 1e-2, 0.8), rtol=0, atol=2e-3)


def test_tau_grid_extends_window():
    f = np.logspace(5, -1, 30)
    tau, h = tau_grid(f, ppd=10, extend=1.0)
    assert tau[0] <= 1 / (2 * np.pi * 1e5) / 10 * 1.0001
    assert tau[-1] >= 1 / (2 * np.pi * 0.1) * 10 * 0.9999
    np.testing.assert_allclose(np.diff(np.log(tau)), h)


@pytest.mark.parametrize("fmax, fmin", [(1e5, 0.1), (7.3e5, 0.021), (2e6, 0.01), (1e4, 3.7)])
def test_tau_grid_spacing_is_the_same_for_every_window(fmax, fmin):
    """Exactly ppd nodes per decade whatever the window (one kernel table serves every
    spectrum), the window covered with at most one step to spare, split evenly."""
    f = np.logspace(np.log10(fmax), np.log10(fmin), 40)
    tau, h = tau_grid(f, ppd=10, extend=1.0)
    assert h == pytest.approx(np.log(10) / 10, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log10(tau)), 0.1, rtol=1e-9)
    lo, hi = np.log10(1 / (2 * np.pi * fmax)) - 1, np.log10(1 / (2 * np.pi * fmin)) + 1
    below, above = lo - np.log10(tau[0]), np.log10(tau[-1]) - hi
    assert below >= -1e-9 and above >= -1e-9 and below + above < 0.1
    assert below == pytest.approx(above, abs=1e-9)
