"""Linear KK test: consistent ladders pass, drift fails, independent reference values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import eisfit as ef
from eisfit.validate import KKResult, kk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
F71 = np.logspace(5, -2, 71)


def ladder(f, R0, pairs, L=0.0):
    """Closed-form R0 - (R1|C1) - (R2|C2) ... (+ series L) in plain numpy."""
    w = 2 * np.pi * f
    Z = R0 + 1j * w * L
    for R, C in pairs:
        Z = Z + R / (1 + 1j * w * R * C)
    return Z


def noisy(Z, sigma, seed):
    rng = np.random.default_rng(seed)
    return Z + sigma * np.abs(Z) * (rng.standard_normal(Z.size) + 1j * rng.standard_normal(Z.size))


LADDERS = {
    "1RC": (1.0, [(10.0, 1e-3)]),
    "2RC": (0.1, [(0.2, 5e-3), (0.5, 2.0)]),
    "3RC_battery": (0.02, [(0.01, 1e-4), (0.03, 0.1), (0.05, 50.0)]),
}


@pytest.mark.parametrize("name", list(LADDERS))
@pytest.mark.parametrize("sigma", [0.0, 1e-3, 5e-3])
@pytest.mark.parametrize("method", ["complex", "real"])
def test_consistent_ladders_pass(name, sigma, method):
    R0, pairs = LADDERS[name]
    Z = noisy(ladder(F71, R0, pairs), sigma, seed=7)
    r = kk(ef.Spectrum(F71, Z), method=method)
    assert isinstance(r, KKResult)
    assert r.passed, r
    assert not r.inconsistent.any()
    # residuals are at the noise level (or tiny for exact data)
    assert np.max(np.abs(r.residuals_real)) < max(4 * r.noise, 1e-3) * 1.0001
    if sigma:
        assert r.noise == pytest.approx(sigma, rel=0.5)


@pytest.mark.parametrize("name", ["1RC", "2RC"])
def test_imaginary_part_test_on_exact_ladders(name):
    """The imag-only variant predicts Z' from Z''; close on noise-free ladders. (With noise
    its predicted Z' degrades at the band edges; see the kk docstring.)"""
    R0, pairs = LADDERS[name]
    Z = ladder(F71, R0, pairs)
    r = kk(ef.Spectrum(F71, Z), method="imag")
    assert r.passed
    assert np.max(np.abs(r.residuals_imag)) < 1e-4  # the fitted part
    assert np.max(np.abs(r.residuals_real)) < 2e-3  # the predicted part (worst at the edge)
    assert r.R0 == pytest.approx(R0, rel=1e-2)


def test_inductive_tail_passes():
    Z = noisy(ladder(F71, 0.05, [(0.1, 1e-2)], L=1e-7), 1e-3, seed=3)
    r = kk(ef.Spectrum(F71, Z))
    assert r.passed
    assert r.L == pytest.approx(1e-7, rel=0.2)


def _drifting(f, frac, seed):
    """R2 grows linearly in measurement time (HF -> LF sweep, 3 periods per point)."""
    t = np.cumsum(3 / f)
    w = 2 * np.pi * f
    R2 = 0.5 * (1 + frac * t / t[-1])
    Z = 0.1 + 0.2 / (1 + 1j * w * 1e-3) + R2 / (1 + 1j * w * 1.0)
    return noisy(Z, 1e-3, seed)


@pytest.mark.parametrize("seed", range(5))
def test_low_frequency_drift_fails_and_is_located(seed):
    r = kk(ef.Spectrum(F71, _drifting(F71, 0.2, seed)))
    assert not r.passed
    bad = r.freq[r.inconsistent]
    assert bad.size >= 2
    assert bad.max() < 1.0  # the flagged points are the late, low-frequency ones


def test_end_run_rule_catches_more_small_drifts_without_false_alarms():
    """5 % drift over 20 seeds: the end-run rule detects more; 20 clean spectra: no more
    false alarms than without it."""
    drift = [ef.Spectrum(F71, _drifting(F71, 0.05, 100 + k)) for k in range(20)]
    clean = [ef.Spectrum(F71, _drifting(F71, 0.0, 200 + k)) for k in range(20)]
    det_with = sum(not kk(s).passed for s in drift)
    det_without = sum(not kk(s, end_run=0).passed for s in drift)
    assert det_with > det_without
    fa_with = sum(not kk(s).passed for s in clean)
    fa_without = sum(not kk(s, end_run=0).passed for s in clean)
    assert fa_with == fa_without <= 1


def test_drift_vs_no_drift_same_noise():
    clean = kk(ef.Spectrum(F71, _drifting(F71, 0.0, 11)))
    drift = kk(ef.Spectrum(F71, _drifting(F71, 0.3, 11)))
    assert clean.passed and not drift.passed


def test_reference_value_from_impedance_py_docs():
    """impedance.py validation example: exampleData.csv, f < 1 kHz, c=0.5, max_M=100,
    add_cap=True -> M = 26, mu = 0.31 (documented output of an independent implementation)."""
    s = ef.read(FIXTURES / "exampleData.csv")[0]
    s = s.masked(s.freq >= 1000)
    r = kk(s, c=0.5, max_M=100, capacitance=True, inductance=True)
    assert r.M == 26
    assert r.mu == pytest.approx(0.31, abs=0.005)


def test_masked_points_are_left_out():
    Z = ladder(F71, 1.0, [(10.0, 1e-3)])
    Z[-3:] *= 1.5  # corrupt three points, then mask them
    s = ef.Spectrum(F71, Z).masked(np.arange(71) >= 68)
    r = kk(s)
    assert r.freq.size == 68 and r.passed
    assert not kk(ef.Spectrum(F71, Z)).passed


def test_fixed_M_and_result_api():
    Z = ladder(F71, 1.0, [(10.0, 1e-3)])
    r = kk(ef.Spectrum(F71, Z), M=20)
    assert r.M == 20 and r.tau.size == 20 and r.R.size == 20
    df = r.to_frame()
    assert list(df.columns[:3]) == ["freq", "z_real", "z_imag"] and len(df) == 71
    np.testing.assert_allclose(df["res_real"] + 1j * df["res_imag"], (Z - r.Z_fit) / np.abs(Z))
    assert "Lin-KK" in r._repr_html_()
    import json

    d = json.loads(r.to_json())
    assert d["M"] == 20 and d["passed"] is r.passed and len(d["residuals_real"]) == 71
    with pytest.raises(ValueError, match="read-only"):
        r.residuals_real[0] = 1.0
    with pytest.raises(AttributeError):
        r.passed = False  # frozen


def test_real_part_test_predicts_imaginary_part():
    """The real-part variant never sees Z''; with consistent data it predicts it anyway."""
    Z = ladder(F71, 0.1, [(0.2, 5e-3), (0.5, 2.0)])
    r = kk(ef.Spectrum(F71, Z), method="real")
    assert np.max(np.abs(r.residuals_imag)) < 5e-3


def test_bad_input():
    with pytest.raises(ef.EisfitError):
        kk(ef.Spectrum([1, 2, 3], [1, 1, 1]))
    with pytest.raises(ef.EisfitError):
        kk(ef.Spectrum(F71, ladder(F71, 1, [(1, 1)])), method="both")
    with pytest.raises(ef.EisfitError):
        kk("not a spectrum")


def test_public_api():
    assert ef.kk is kk and ef.KKResult is KKResult


def test_plot_and_repr():
    import matplotlib

    matplotlib.use("Agg")
    r = kk(ef.Spectrum(F71, _drifting(F71, 0.3, 1)))
    ax = r.plot()
    assert ax.get_xscale() == "log"
    assert len(ax.lines) == 3  # real, imag, inconsistent markers
    assert "FAILED" in repr(r)
    bad = r.freq[r.inconsistent]
    assert f"{bad.size} inconsistent point(s) at {bad.min():.3g}" in r.message
