"""Tests of eisfit.echem against closed forms and the SEEDS.md numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from eisfit import EisfitError, echem

KB = 8.617333262e-5


# ---- conductivity and area normalisation ---------------------------------------------
def test_conductivity_closed_form():
    # 200 µm electrolyte, 1 cm², 80 Ω  ->  0.02 / 80 = 2.5e-4 S/cm
    assert echem.conductivity(R=80.0, L=0.02, A=1.0) == pytest.approx(2.5e-4, rel=1e-12)


def test_conductivity_seed_value_and_error():
    # SEEDS §2: 2.5e-5 S/cm at 25 °C. A 100 µm film on 1.5394 cm² then has R = L/(σA).
    L, A = 0.01, 1.5394
    R = L / (2.5e-5 * A)  # 259.84 Ω
    sigma, err = echem.conductivity(R, L, A, R_err=0.02 * R)
    assert sigma == pytest.approx(2.5e-5, rel=1e-12)
    assert err == pytest.approx(0.02 * 2.5e-5, rel=1e-12)  # 2 % in R -> 2 % in σ


def test_conductivity_vectorised_and_rejects_bad_input():
    s = echem.conductivity(np.array([10.0, 20.0]), 0.1, 2.0)
    np.testing.assert_allclose(s, [0.005, 0.0025])
    with pytest.raises(EisfitError):
        echem.conductivity(-1.0, 0.1, 1.0)
    with pytest.raises(EisfitError, match="A must be > 0"):
        echem.conductivity(1.0, 0.1, 0.0)


def test_interface_resistance_seed_symmetric_cell():
    # SEEDS §2: R_int,Li = R2·A/2 = 18 Ω·cm² with A = 1.5394 cm²  ->  R2 = 36/1.5394 Ω
    A = 1.5394
    R2 = 36.0 / A
    assert echem.interface_resistance(R2, A) == pytest.approx(18.0, rel=1e-12)
    val, err = echem.interface_resistance(R2, A, R_err=1.0)
    assert err == pytest.approx(A / 2)
    # R3 = 6 Ω is quoted as ≈10 Ω·cm² (R·A = 9.24, i.e. not halved: one internal interface)
    assert echem.area_specific(6.0, A) == pytest.approx(9.2364, rel=1e-4)
    assert echem.interface_resistance(6.0, A, electrodes=1) == pytest.approx(9.2364, rel=1e-4)


def test_area_specific_seed_polymer_cell():
    # SEEDS §1: cathode 0.97 cm²; xPEO after cycling total 2570 Ω
    assert echem.area_specific(2570.0, 0.97) == pytest.approx(2492.9, rel=1e-12)


# ---- transference numbers ---------------------------------------------------------------
def test_bruce_vincent_by_hand():
    dE, I0, Iss, R0, Rss = 0.010, 2.0e-5, 1.2e-5, 150.0, 180.0
    expected = (1.2e-5 * (0.010 - 2.0e-5 * 150.0)) / (2.0e-5 * (0.010 - 1.2e-5 * 180.0))
    assert expected == pytest.approx(0.5357142857, rel=1e-9)
    assert echem.transference_bruce_vincent(I0, Iss, R0, Rss, dE) == pytest.approx(expected)


def test_bruce_vincent_reduces_to_current_ratio_without_interfaces():
    assert echem.transference_bruce_vincent(1e-5, 4e-6, 0.0, 0.0) == pytest.approx(0.4)


def test_watanabe_by_hand_and_error_propagation():
    # T+ = Rl / (dE/Iss - Rss) = 200 / (0.01/2e-5 - 100) = 200/400
    assert echem.transference_watanabe(200.0, 2e-5, 100.0) == pytest.approx(0.5)
    t, err = echem.transference_watanabe(200.0, 2e-5, 100.0, errors={"Rl": 4.0})
    assert err == pytest.approx(4.0 / 400.0, rel=1e-6)  # ∂T/∂Rl = 1/400
    t, err = echem.transference_watanabe(200.0, 2e-5, 100.0, errors={"Rss": 10.0})
    assert err == pytest.approx(200.0 / 400.0**2 * 10.0, rel=1e-5)
    with pytest.raises(EisfitError):
        echem.transference_watanabe(200.0, 2e-5, 100.0, errors={"nope": 1.0})


def test_bruce_vincent_error_matches_analytic_derivative():
    I0, Iss, R0, Rss, dE = 2e-5, 1.2e-5, 150.0, 180.0, 0.01
    # ∂T/∂R0 = -Iss I0 / (I0 (dE - Iss Rss)) = -Iss / (dE - Iss Rss)
    d = -Iss / (dE - Iss * Rss)
    _, err = echem.transference_bruce_vincent(I0, Iss, R0, Rss, dE, errors={"R0": 5.0})
    assert err == pytest.approx(abs(d) * 5.0, rel=1e-5)


# ---- Arrhenius / VTF -------------------------------------------------------------------
def test_arrhenius_two_seed_points_closed_form():
    # SEEDS §2: 2.5e-5 S/cm at 25 °C and 1.9e-4 S/cm at 60 °C
    T1, T2 = 298.15, 333.15
    Ea = KB * math.log(1.9e-4 / 2.5e-5) / (1 / T1 - 1 / T2)
    r = echem.arrhenius([25, 60], [2.5e-5, 1.9e-4], T_unit="C")
    assert r.Ea == pytest.approx(Ea, rel=1e-9)
    assert r.Ea == pytest.approx(0.4958, abs=1e-3)
    assert r.Ea_kJ == pytest.approx(Ea * 96.4853, rel=1e-5)
    np.testing.assert_allclose(r.predict([T1, T2]), [2.5e-5, 1.9e-4], rtol=1e-9)


def test_arrhenius_recovers_truth_with_noise_and_ci_covers():
    rng = np.random.default_rng(3)
    T = np.linspace(293, 353, 13)
    Ea, lnA = 0.45, 5.0
    hits = 0
    for _ in range(40):
        s = np.exp(lnA - Ea / (KB * T)) * np.exp(rng.normal(0, 0.03, T.size))
        r = echem.arrhenius(T, s)
        lo, hi = r.ci()["Ea"]
        hits += lo <= Ea <= hi
    assert r.Ea == pytest.approx(Ea, rel=0.05)
    assert 34 <= hits <= 40  # ≈95 % coverage


def test_arrhenius_weighted_uses_sigma_err():
    T = np.array([290.0, 310, 330, 350])
    s = np.exp(2.0 - 0.3 / (KB * T))
    r = echem.arrhenius(T, s, sigma_err=0.01 * s)
    assert r.Ea == pytest.approx(0.3, rel=1e-9)
    # exact data, known var(ln σ) = 1e-4: covariance from the weights alone, not from residuals
    X = np.column_stack([np.ones(4), -1 / (KB * T)]) / 0.01
    se = np.sqrt(np.linalg.inv(X.T @ X)[1, 1])
    assert r.stderr["Ea"] == pytest.approx(se, rel=1e-6)


def test_arrhenius_sigmaT_form():
    T = np.array([280.0, 300, 320, 340])
    s = np.exp(8.0 - 0.5 / (KB * T)) / T
    r = echem.arrhenius(T, s, form="sigmaT")
    assert r.Ea == pytest.approx(0.5, rel=1e-9)
    np.testing.assert_allclose(r.predict(T), s, rtol=1e-9)


def test_vtf_recovers_parameters_and_beats_arrhenius_on_curved_data():
    rng = np.random.default_rng(7)
    T = np.linspace(293.15, 353.15, 7)  # 20–80 °C as in SEEDS §2
    B, T0, lnA = 0.08, 200.0, 1.5
    s = np.exp(lnA - B / (KB * (T - T0))) * np.exp(rng.normal(0, 0.005, T.size))
    v = echem.vtf(T, s)
    assert v.params["B"] == pytest.approx(B, rel=0.15)
    assert v.params["T0"] == pytest.approx(T0, abs=12)
    lo, hi = v.ci()["T0"]
    assert lo <= T0 <= hi
    a = echem.arrhenius(T, s)
    assert v.aic < a.aic  # ln σ vs 1/T is curved: VTF wins
    np.testing.assert_allclose(v.predict(T), s, rtol=0.02)


def test_vtf_with_sqrt_prefactor_exact():
    T = np.linspace(280, 360, 9)
    s = np.exp(3.0 - 0.5 * np.log(T) - 0.06 / (KB * (T - 220.0)))
    v = echem.vtf(T, s, p=0.5)
    assert v.params["T0"] == pytest.approx(220.0, abs=0.5)
    assert v.params["B"] == pytest.approx(0.06, rel=0.01)


def test_vtf_needs_three_points_and_kelvin_check():
    with pytest.raises(EisfitError):
        echem.vtf([300, 310], [1e-4, 2e-4])
    with pytest.raises(EisfitError):
        echem.arrhenius([-300, 10], [1e-4, 2e-4], T_unit="C")


# ---- from a batch table -----------------------------------------------------------------
def test_conductivity_table_from_tidy_parameters():
    df = pd.DataFrame(
        {
            "file": ["a", "a", "b", "b"],
            "parameter": ["R0", "R1", "R0", "R1"],
            "value": [100.0, 5.0, 50.0, 7.0],
            "stderr": [1.0, 0.1, 1.0, 0.1],
            "thickness": [0.01, 0.01, 0.02, 0.02],
            "area": [2.0, 2.0, 1.0, 1.0],
        }
    )
    out = echem.conductivity_table(df, resistance="R0")
    np.testing.assert_allclose(out["sigma"], [0.01 / 200, 0.02 / 50])
    np.testing.assert_allclose(out["sigma_err"], [0.01 / 200 / 100, 0.02 / 50 / 50])
    with pytest.raises(EisfitError):
        echem.conductivity_table(df.drop(columns="area"), resistance="R0")


def test_conductivity_and_arrhenius_from_a_batch_of_blocking_cells(tmp_path):
    """Temperature series of SS‖electrolyte‖SS spectra → batch → σ = L/(R·A) → Ea."""
    import eisfit as ef

    L, A, Ea, lnA = 0.02, 1.5394, 0.45, 9.0  # cm, cm², eV
    folder = tmp_path / "blocking"
    folder.mkdir()
    f = np.logspace(6, -1, 50)
    temps = [20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0]
    for i, T in enumerate(temps):
        sigma = np.exp(lnA - Ea / (KB * (T + 273.15)))
        R = L / (sigma * A)
        vals = {"R_bulk": R, "Q_geo_Q": 1e-10, "Q_geo_n": 0.95, "Q_dl_Q": 5e-6, "Q_dl_n": 0.9}
        s = ef.simulate(ef.preset("blocking_cell").circuit, f, vals, noise=0.002, seed=i)
        (folder / f"ss_T{T:g}.csv").write_text("freq_Hz,z_real_ohm,z_imag_ohm\n" + "\n".join(
            f"{float(a)!r},{float(z.real)!r},{float(z.imag)!r}" for a, z in zip(s.freq, s.Z)))
    side = tmp_path / "cells.csv"
    side.write_text(f"cell,area,thickness\nss,{A},{L}\n")
    res = ef.batch.run(folder, "blocking_cell", pattern="{cell}_T{temperature:f}", sidecar=side,
                       n_jobs=1, kk=False, report=False)
    assert (res.spectra["status"] == "ok").all()
    table = echem.conductivity_table(res.parameters, resistance="R_bulk")
    table = table.sort_values("temperature")
    expected = np.exp(lnA - Ea / (KB * (np.array(temps) + 273.15)))
    np.testing.assert_allclose(table["sigma"], expected, rtol=0.02)
    fit = echem.arrhenius(table["temperature"], table["sigma"], sigma_err=table["sigma_err"],
                          T_unit="C")
    assert fit.Ea == pytest.approx(Ea, rel=0.02)
    lo, hi = fit.ci()["Ea"]
    assert lo < Ea < hi


def test_unknown_error_propagates_as_nan():
    """A fit parameter whose standard error is undetermined (NaN) gives a NaN error, not a crash."""
    from eisfit import echem

    val, err = echem.interface_resistance(10.0, 1.5394, R_err=float("nan"))
    assert val == pytest.approx(10.0 * 1.5394 / 2) and np.isnan(err)


def test_weighted_arrhenius_error_grows_when_the_law_misfits():
    """σ(T) that follows VTF, fitted by Arrhenius with tiny stated errors: the Ea error must
    reflect the misfit (χ²_red ≫ 1), not only the stated σ errors."""
    from eisfit import echem

    T = np.linspace(293.0, 353.0, 7)
    sigma = 10.0 * np.exp(-0.06 / (8.617333262e-5 * (T - 200.0)))  # VTF, T0 = 200 K
    res = echem.arrhenius(T, sigma, sigma_err=1e-3 * sigma)
    resid = np.log(sigma) - (res.params["ln_A"] - res.params["Ea"] / (8.617333262e-5 * T))
    plain = echem.arrhenius(T, sigma)  # unweighted: error from the scatter alone
    assert res.stderr["Ea"] == pytest.approx(plain.stderr["Ea"], rel=0.05)
    assert np.max(np.abs(resid)) > 0.01
