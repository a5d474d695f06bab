"""Linear KK test: consistent spectra pass, their drifting twins fail, the statistics are
calibrated, and the numbers agree with independent implementations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from closed_form import hn, plain_linkk_rms, warburg_open, warburg_short, zarc

import eisfit as ef
from eisfit.validate import KKResult, kk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
F71 = np.logspace(5, -2, 71)
W71 = 2 * np.pi * F71


def noisy(Z, sigma, seed):
    rng = np.random.default_rng(seed)
    return Z + sigma * np.abs(Z) * (rng.standard_normal(Z.size) + 1j * rng.standard_normal(Z.size))


# consistent circuits in plain numpy, including the ones that make Schönleber's μ collapse
# (series C, series L, R‖L, transmission lines, Warburgs)
def _tlm(ri, zs):
    return np.sqrt(ri * zs) / np.tanh(np.sqrt(ri / zs))


def _cpe(q, n):
    return 1 / (q * (1j * W71) ** n)


TOPOLOGIES = {
    "RC": 1 + zarc(F71, 10, 1e-2, 1.0),
    "2 ZARC": 5 + zarc(F71, 20, 1e-4, 0.9) + zarc(F71, 50, 1e-1, 0.8),
    "3 RC battery": 0.02 + zarc(F71, 0.01, 1e-4, 1) + zarc(F71, 0.03, 0.1, 1) + zarc(F71, 0.05, 50, 1),
    "Randles + W": 10 + 1 / (1 / (40 + 20 * np.sqrt(2) / np.sqrt(1j * W71)) + 1 / _cpe(2e-5, 0.9)),
    "ZARC + Wo": 10 + zarc(F71, 40, 1e-3, 0.9) + warburg_open(F71, 30, 5.0),
    "ZARC + Ws": 10 + zarc(F71, 40, 1e-3, 0.9) + warburg_short(F71, 30, 5.0),
    "blocking (series C)": 100 + zarc(F71, 1e3, 1e-6, 0.9) + 1 / (1j * W71 * 1e-6),
    "series CPE": 100 + zarc(F71, 1e3, 1e-6, 0.9) + _cpe(1e-6, 0.85),
    "series L": 1j * W71 * 1e-6 + 0.05 + zarc(F71, 0.02, 1e-5, 0.9) + zarc(F71, 0.03, 0.3, 0.8),
    "R‖L loop": 1 + 1 / (1 / 2 + 1 / (1j * W71 * 1e-4)) + zarc(F71, 10, 1e-2, 0.85),
    "TLM blocking": 5 + _tlm(20, _cpe(1e-3, 0.9)),
    "TLM faradaic": 5 + _tlm(20, 1 / (1 / 50 + 1 / _cpe(1e-3, 0.9))),
    "Havriliak–Negami": 5 + hn(F71, 30, 1e-3, 0.8, 0.6),
}


def _measurement_time(f):
    """Fraction of the sweep elapsed at each point (high → low frequency, 2 periods or 0.5 s)."""
    dt = np.maximum(2 / f, 0.5)
    order = np.argsort(-f)
    t = np.empty_like(f)
    t[order] = np.cumsum(dt[order])
    return t / t.max()


def _drifting_ladder(drift):
    """5 + ZARC(20) + ZARC(50) whose slow resistance grows linearly in measurement time."""
    R2 = 50 * (1 + drift * _measurement_time(F71))
    return 5 + zarc(F71, 20, 1e-4, 0.9) + R2 / (1 + (1j * W71 * 1e-1 * R2 / 50) ** 0.8)


@pytest.mark.parametrize("name", list(TOPOLOGIES))
@pytest.mark.parametrize("sigma", [0.0, 2e-3, 1e-2])
def test_consistent_spectra_pass(name, sigma):
    Z = noisy(TOPOLOGIES[name], sigma, seed=len(name))
    r = kk(ef.Spectrum(F71, Z))
    assert r.passed, f"{name}: {r.reason}"
    assert r.M > 2  # μ collapsing at M = 2 is not accepted as the choice
    if sigma:
        # the residual is the noise the fit leaves: σ·sqrt(2N − p)/sqrt(2N) per part
        assert r.noise == pytest.approx(sigma, rel=0.25)
        assert r.rms == pytest.approx(np.sqrt(2) * sigma * np.sqrt(r.dof / 142), rel=0.25)
    else:
        assert r.rms < 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_drifting_twin_fails(seed):
    """Same circuit, same noise; the slow resistance grows 10 % during the sweep."""
    sigma = 1e-3
    drift = _drifting_ladder(0.10)
    # ground truth: an independent lin-KK with enough elements for the clean twin sees the
    # drift well above the noise
    clean = _drifting_ladder(0.0)
    M = next(m for m in range(2, 60) if plain_linkk_rms(F71, clean, m) < 1e-4)
    assert plain_linkk_rms(F71, drift, M) > 2.5 * sigma
    r_clean = kk(ef.Spectrum(F71, noisy(clean, sigma, seed)))
    r_drift = kk(ef.Spectrum(F71, noisy(drift, sigma, seed)))
    assert r_clean.passed, r_clean.reason
    assert not r_drift.passed
    assert r_drift.reason
    # the low-frequency points (measured last) are where it shows
    assert r_drift.freq[r_drift.inconsistent].min() < 0.1 or "serial" in [
        t.name for t in r_drift.tests if t.failed
    ]


@pytest.mark.parametrize("seed", range(3))
def test_stated_sigma_detects_smaller_drift(seed):
    """A drift whose own KK residual is 1.5–2.5× the noise fails once σ is stated; the
    clean twin passes with the right σ, and fails with one 10× too small."""
    sigma = 2e-3
    M = next(m for m in range(2, 60) if plain_linkk_rms(F71, _drifting_ladder(0.0), m) < 1e-4)
    assert 1.5 * sigma < plain_linkk_rms(F71, _drifting_ladder(0.15), M) < 2.5 * sigma
    clean = ef.Spectrum(F71, noisy(_drifting_ladder(0.0), sigma, seed))
    drift = ef.Spectrum(F71, noisy(_drifting_ladder(0.15), sigma, seed))
    assert kk(clean, sigma=sigma).passed
    assert not kk(drift, sigma=sigma).passed
    small = kk(clean, sigma=sigma / 10)
    assert not small.passed and "stated noise" in small.reason
    # absolute per-point σ (Ω) and an instrument error model give the same verdicts
    absolute = sigma * np.abs(clean.Z)
    assert kk(clean, sigma=absolute).passed
    assert kk(clean, sigma=lambda f, Z: sigma * np.abs(Z)).passed


@pytest.mark.parametrize("topo", ["ZARC + Wo", "Randles + W", "TLM blocking"])
def test_size_test_is_calibrated_against_the_stated_sigma(topo):
    """Clean spectra with the true σ stated: the size test (α = 1e-3) raises at most one
    false alarm in 40; with σ stated 0.7× too small (χ²/ν ≈ 2) it fails nearly always."""
    sigma = 5e-3
    false_alarm = caught = 0
    for seed in range(40):
        spec = ef.Spectrum(F71, noisy(TOPOLOGIES[topo], sigma, 100 + seed))
        for stated, hit in ((sigma, False), (0.7 * sigma, True)):
            size = next(t for t in kk(spec, sigma=stated).tests if t.name == "size")
            if hit:
                caught += size.failed
            else:
                false_alarm += size.failed
    assert false_alarm <= 1
    assert caught >= 36


def test_erratic_spectrum_fails_on_size():
    """Residuals of ~30 % of |Z| are white (no structure) but far too large to validate."""
    Z = noisy(TOPOLOGIES["2 ZARC"], 0.3, seed=5)
    r = kk(ef.Spectrum(F71, Z))
    assert not r.passed
    assert "noise_limit" in [t.name for t in r.tests if t.failed]
    assert r.noise > 0.1


def test_outlier_is_flagged_at_its_frequency():
    Z = noisy(TOPOLOGIES["2 ZARC"], 1e-3, seed=6)
    Z[40] *= 1.03
    r = kk(ef.Spectrum(F71, Z))
    assert not r.passed
    at = int(np.flatnonzero(r.freq == F71[40])[0])
    flagged = np.flatnonzero(r.inconsistent)
    # the smooth test circuit pulls towards the outlier, so a neighbour may deviate too
    assert at in flagged and np.all(np.abs(flagged - at) <= 2)


def test_null_statistics_are_calibrated():
    """On consistent data the serial z-score is ≈ N(0, 1) and the noise estimate unbiased."""
    exact = ef.Spectrum(F71, TOPOLOGIES["2 ZARC"])
    M = next(m for m in range(5, 60) if kk(exact, M=m).rms < 5e-5)  # no systematic misfit
    zs, ratios = [], []
    for seed in range(120):
        Z = noisy(TOPOLOGIES["2 ZARC"], 5e-3, seed=1000 + seed)
        r = kk(ef.Spectrum(F71, Z), M=M)
        zs.append(next(t.value for t in r.tests if t.name == "serial"))
        ratios.append(r.noise / 5e-3)
    assert abs(np.mean(zs)) < 0.3 and 0.7 < np.std(zs) < 1.3
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)


def test_fit_equals_plain_numpy_least_squares():
    """At a fixed M the test circuit is ordinary least squares on documented columns."""
    Z = noisy(TOPOLOGIES["2 ZARC"], 5e-3, seed=7)
    r = kk(ef.Spectrum(F71, Z), M=15, extend=0.0, representation="impedance")
    w = 2 * np.pi * r.freq
    tau = np.logspace(np.log10(1 / w.max()), np.log10(1 / w.min()), 15)
    K = np.column_stack([np.ones(w.size), 1j * w, 1 / (1j * w), 1 / (1 + 1j * np.outer(w, tau))])
    wt = 1 / np.abs(r.Z)
    A = np.vstack([K.real * wt[:, None], K.imag * wt[:, None]])
    x = np.linalg.lstsq(A, np.concatenate([r.Z.real * wt, r.Z.imag * wt]), rcond=None)[0]
    np.testing.assert_allclose(r.Z_fit, K @ x, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(r.tau, tau)
    assert r.R0 == pytest.approx(x[0], rel=1e-6) and r.L == pytest.approx(x[1], rel=1e-5)


def test_admittance_form_describes_a_blocking_cell():
    Z = noisy(TOPOLOGIES["blocking (series C)"], 1e-3, seed=8)
    r = kk(ef.Spectrum(F71, Z), representation="admittance")
    assert r.passed and r.representation == "admittance"
    np.testing.assert_allclose(r.Z_fit, r.Z, rtol=1e-2)


def test_reference_value_from_impedance_py_docs():
    """impedance.py validation example: exampleData.csv, f < 1 kHz, c=0.5, max_M=100,
    add_cap=True -> M = 26, mu = 0.31 (documented output of an independent implementation,
    Schönleber's criterion on the measured τ range)."""
    s = ef.read(FIXTURES / "exampleData.csv")[0]
    s = s.exclude(s.freq >= 1000)
    r = kk(s, c=0.5, max_M=100, criterion="mu", extend=0.0, representation="impedance")
    assert r.M == 26
    assert r.mu == pytest.approx(0.31, abs=0.005)


def test_masked_points_are_left_out():
    Z = noisy(TOPOLOGIES["RC"], 1e-3, seed=9)
    Z[-3:] *= 1.5  # corrupt three points, then mask them
    s = ef.Spectrum(F71, Z).exclude(np.arange(71) >= 68)
    assert kk(s).freq.size == 68 and kk(s).passed
    assert not kk(ef.Spectrum(F71, Z)).passed


def test_result_api_and_immutability():
    Z = noisy(TOPOLOGIES["RC"], 1e-3, seed=10)
    r = kk(ef.Spectrum(F71[::-1], Z[::-1]), M=20)
    assert np.all(np.diff(r.freq) > 0)  # ascending, whatever the input order
    assert r.M == 20 and r.tau.size == 20 and r.R.size == 20 and r.n_points == 71
    df = r.to_frame()
    np.testing.assert_allclose(df["res_real"] + 1j * df["res_imag"], (r.Z - r.Z_fit) / np.abs(r.Z))
    d = json.loads(r.to_json())
    assert d["M"] == 20 and d["passed"] is r.passed and len(d["residuals_real"]) == 71
    back = KKResult.from_json(r.to_json())
    assert back.passed == r.passed and back.M == r.M and back.tests == r.tests
    np.testing.assert_array_equal(back.Z_fit, r.Z_fit)
    np.testing.assert_array_equal(back.inconsistent, r.inconsistent)
    assert {t["name"] for t in d["tests"]} >= {"serial", "lf_end", "hf_end", "outliers"}
    with pytest.raises(ValueError, match="read-only"):
        r.residuals_real[0] = 1.0
    with pytest.raises(AttributeError):
        r.passed = False  # frozen
    assert "Lin-KK" in r._repr_html_()


def test_failed_result_says_why():
    import matplotlib

    matplotlib.use("Agg")
    r = kk(ef.Spectrum(F71, noisy(_drifting_ladder(0.1), 1e-3, 11)))
    assert not r.passed and "FAILED" in repr(r) and r.reason in r.message
    assert r.statistic == max(t.value for t in r.tests if t.name != "noise_limit")
    ax = r.plot()
    assert ax.get_xscale() == "log" and "failed" in ax.get_title()


def test_bad_input():
    with pytest.raises(ef.EisfitError):
        kk(ef.Spectrum([1, 2, 3], [1, 1, 1]))
    with pytest.raises(ef.EisfitError):
        kk(ef.Spectrum(F71, TOPOLOGIES["RC"]), representation="both")
    with pytest.raises(ef.EisfitError):
        kk(ef.Spectrum(F71, TOPOLOGIES["RC"]), sigma=-1.0)
    with pytest.raises(ef.EisfitError):
        kk(ef.Spectrum(F71, TOPOLOGIES["RC"]), sigma=np.ones(3))
    with pytest.raises(ef.EisfitError):
        kk("not a spectrum")


def test_public_api():
    assert ef.kk is kk and ef.KKResult is KKResult


def test_scan_median_equals_numpy_median():
    """The M scan's fast median against np.median: odd and even sizes, ties, one value,
    and NaN (np.median's answer is NaN; a partition alone would hide it)."""
    from eisfit.validate.kk_scan import median

    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 4, 71, 141, 142):
        for _ in range(20):
            x = np.abs(rng.standard_normal(n))
            assert median(x) == np.median(x)
    ties = np.array([2.0, 1.0, 2.0, 1.0])
    assert median(ties) == np.median(ties) == 1.5
    with_nan = np.array([1.0, np.nan, 3.0, 2.0, 5.0])
    assert np.isnan(np.median(with_nan)) and np.isnan(median(with_nan))
