"""Growth statistics, arc ordering, jump flags and group uncertainty — against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import eisfit as ef
from eisfit.batch.trend import growth, line_fit
from eisfit.batch.models import ModelPlan, resolve


# ---- line_fit / growth ------------------------------------------------------------------
def test_line_fit_unweighted_matches_textbook_ols():
    rng = np.random.default_rng(1)
    x = np.arange(1.0, 21.0)
    y = 3.0 + 0.7 * x + rng.normal(0, 0.5, x.size)
    r = line_fit(x, y)
    ref = stats.linregress(x, y)
    assert r["slope"] == pytest.approx(ref.slope, rel=1e-10)
    assert r["slope_stderr"] == pytest.approx(ref.stderr, rel=1e-8)
    q = stats.t.ppf(0.975, x.size - 2)
    assert r["slope_ci_low"] == pytest.approx(ref.slope - q * ref.stderr, rel=1e-8)


def test_line_fit_weighted_exact_data_uses_fit_errors():
    x = np.array([0.0, 1.0, 2.0, 4.0])
    y = 1.0 + 2.0 * x
    se = np.array([0.1, 0.2, 0.1, 0.4])
    r = line_fit(x, y, se)
    assert r["slope"] == pytest.approx(2.0, rel=1e-12)
    # var(b) = S / (S Sxx - Sx²) with S = Σw, Sx = Σwx, Sxx = Σwx²
    w = 1 / se**2
    S, Sx, Sxx = w.sum(), (w * x).sum(), (w * x * x).sum()
    assert r["slope_stderr"] == pytest.approx(math.sqrt(S / (S * Sxx - Sx**2)), rel=1e-10)


@pytest.mark.parametrize("scale", [1e-160, 1e-100, 1.0, 1e100])
def test_line_fit_errors_at_any_scale(scale):
    """The errors of exact (simulated) data can be 1e-160 Ω: 1/se² overflows. The slope and
    its error still follow the closed form (which scales with se), without a warning."""
    import warnings

    x = np.array([0.0, 1.0, 2.0, 4.0])
    y = 1.0 + 2.0 * x
    se = scale * np.array([0.1, 0.2, 0.1, 0.4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = line_fit(x, y, se)
    w = 1 / np.array([0.1, 0.2, 0.1, 0.4]) ** 2
    S, Sx, Sxx = w.sum(), (w * x).sum(), (w * x * x).sum()
    assert r["slope"] == pytest.approx(2.0, rel=1e-12)
    assert r["slope_stderr"] == pytest.approx(scale * math.sqrt(S / (S * Sxx - Sx**2)),
                                              rel=1e-10)


def test_line_fit_of_values_beyond_float_range_is_undetermined():
    """A degenerate fit's resistance of 1e308 Ω: no line (NaN), and no overflow warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = line_fit(np.arange(4.0), np.array([1.0, 2.0, 1e308, 3.0]))
        # scatter of 1 Ω about the line with errors of 1e-200 Ω: an infinite χ², no warning
        q = line_fit(np.arange(4.0), np.array([0.0, 2.0, 1.0, 3.0]), np.full(4, 1e-200))
    assert all(math.isnan(v) for v in r.values())
    assert q["chi2_red"] == math.inf and q["slope"] == pytest.approx(0.8)


def test_line_fit_ci_coverage_on_noisy_lines():
    rng = np.random.default_rng(5)
    x = np.arange(10.0)
    hits = 0
    for _ in range(200):
        y = 5 + 0.3 * x + rng.normal(0, 0.2, x.size)
        r = line_fit(x, y, np.full(x.size, 0.2))
        hits += r["slope_ci_low"] <= 0.3 <= r["slope_ci_high"]
    assert 180 <= hits <= 200  # ≥ 95 % nominal (CI never narrower than the fit errors allow)


def test_growth_first_last_change_pct_and_area():
    df = pd.DataFrame(
        {
            "cell": ["A"] * 3 + ["B"] * 2,
            "cycle": [1, 5, 3, 1, 2],
            "area": [0.5] * 5,
            "parameter": ["R1"] * 5,
            "kind": "parameter",
            "unit": "Ω",
            "value": [10.0, 18.0, 14.0, 100.0, 90.0],
            "stderr": [0.3, 0.4, 0.35, 2.0, 2.0],
            "success": True,
        }
    )
    g = growth(df).set_index("cell")
    a = g.loc["A"]
    assert (a["first"], a["last"], a["x_first"], a["x_last"]) == (10.0, 18.0, 1, 5)  # sorted by cycle
    assert a["change"] == pytest.approx(8.0)
    assert a["change_stderr"] == pytest.approx(math.hypot(0.3, 0.4))
    assert a["change_pct"] == pytest.approx(80.0)
    assert a["change_pct_stderr"] == pytest.approx(100 * 1.8 * math.hypot(0.4 / 18, 0.3 / 10))
    assert a["slope"] == pytest.approx(2.0)
    assert a["first_ohm_cm2"] == pytest.approx(5.0) and a["slope_ohm_cm2"] == pytest.approx(1.0)
    b = g.loc["B"]
    assert b["change_pct"] == pytest.approx(-10.0)
    assert b["slope"] == pytest.approx(-10.0)
    assert b["slope_stderr"] == pytest.approx(math.hypot(2.0, 2.0))  # two points: propagated


def test_growth_skips_unsuccessful_fits_and_non_resistances():
    df = pd.DataFrame(
        {"cell": "A", "cycle": [1, 2, 3, 1], "parameter": ["R1", "R1", "R1", "Q1_n"],
         "kind": "parameter", "unit": ["Ω", "Ω", "Ω", ""], "value": [1.0, 2.0, 50.0, 0.9],
         "stderr": 0.1, "success": [True, True, False, True]}
    )
    g = growth(df)
    assert list(g["parameter"]) == ["R1"]
    assert g.loc[0, "last"] == 2.0 and g.loc[0, "n"] == 2


# ---- models -----------------------------------------------------------------------------
def test_model_plan_per_state_and_errors():
    plan = ModelPlan.from_spec({"before": "polymer_nmc_before", "*": "polymer_nmc_after"})
    assert plan.choice_for({"state": "before"}).label == "polymer_nmc_before"
    assert plan.choice_for({"state": "after"}).label == "polymer_nmc_after"
    assert plan.choice_for({}).groups()["interfacial"] == ("R_sei", "R_rs")
    with pytest.raises(ef.EisfitError, match="neither a preset"):
        ModelPlan.from_spec("R0 - (R1 |")
    with pytest.raises(ef.EisfitError, match="no model for state"):
        ModelPlan.from_spec({"before": "R0"}).choice_for({"state": "after"})


def test_resolve_preset_and_dsl():
    c = resolve("R0-(R1|Q1)")
    assert c.text == "R0 - (R1 | Q1)" and c.preset is None
    p = resolve("lili_symmetric")
    assert p.role("Q_int_Q") == "interface" and p.role("R_bulk") == "bulk"


def test_total_leaves_out_diffusion_elements():
    c = resolve("L0 - R0 - (R1 | Q1) - (R2 | Q2) - Wo3")
    assert c.groups() == {"total": ("R0", "R1", "R2")}


# ---- group rows: the fit covariance, not a second copy of it ----------------------------
def test_group_rows_propagate_the_fit_covariance():
    """interfacial = R1 + R2: σ² = var R1 + var R2 + 2 cov(R1, R2) from the fit itself."""
    from eisfit.batch.outcome import SpectrumOutcome
    from eisfit.batch.tables import parameter_fields

    model = "R0 - (R1 | Q1) - (R2 | Q2)"
    f = np.logspace(5, -1, 41)
    truth = dict(R0=10, R1=20, Q1_Q=2e-6, Q1_n=0.92, R2=60, Q2_Q=5e-3, Q2_n=0.85)
    fr = ef.fit(model, ef.simulate(model, f, truth, noise=0.003, seed=4))
    o = SpectrumOutcome(file="a.csv", hash="h", spectrum=0, model=model, fit=fr)
    rows = {r["parameter"]: r for r in parameter_fields(o, {"interfacial": ["R1", "R2"]}, {})}
    i, j = fr.parameter_names.index("R1"), fr.parameter_names.index("R2")
    C = fr.covariance
    expected = math.sqrt(C[i, i] + C[j, j] + 2 * C[i, j])
    assert rows["interfacial"]["value"] == pytest.approx(fr["R1"] + fr["R2"])
    assert rows["interfacial"]["stderr"] == pytest.approx(expected, rel=1e-12)
    assert rows["interfacial"]["kind"] == "group" and rows["R1"]["kind"] == "parameter"
    assert rows["total"]["value"] == pytest.approx(fr["R0"] + fr["R1"] + fr["R2"])
    assert rows["f_peak[R2|Q2]"]["kind"] == "derived"


def test_default_total_leaves_out_an_arc_beyond_the_band():
    """An arc at τ = 30 s measured down to 1 Hz (f = 5 mHz, far below the band) is
    extrapolated: the default total leaves it out and says so; its own row is flagged."""
    from eisfit.batch.outcome import SpectrumOutcome
    from eisfit.batch.tables import parameter_fields

    model = "R0 - (R1 | Q1) - (R2 | C2)"
    f = np.logspace(5, 0, 41)
    truth = dict(R0=10, R1=20, Q1_Q=2e-6, Q1_n=0.92, R2=60, C2=0.5)  # τ2 = 30 s
    fr = ef.fit(model, ef.simulate(model, f, truth, noise=0.002, seed=5))
    assert "R2" in fr.poorly_determined
    o = SpectrumOutcome(file="a.csv", hash="h", spectrum=0, model=model, fit=fr)
    rows = {r["parameter"]: r for r in parameter_fields(o, {}, {})}
    assert rows["total"]["value"] == pytest.approx(fr["R0"] + fr["R1"])
    assert "without R2" in rows["total"]["role"]
    assert rows["R2"]["poorly_determined"]
    asked = {r["parameter"]: r for r in parameter_fields(o, {"total": ["R0", "R1", "R2"]}, {})}
    assert asked["total"]["value"] == pytest.approx(fr["R0"] + fr["R1"] + fr["R2"])


def test_breakdown_keeps_the_ends_and_every_flag():
    """What a run keeps of a cell for the breakdown: the parameter rows of its first and last
    *successful* spectra, and a parameter flagged in any spectrum (here only in the middle
    one, which is not kept)."""
    from eisfit.batch.report import breakdown_rows

    rows = []
    for k, (ok, flag) in enumerate([(False, False), (True, False), (True, True), (True, False),
                                    (False, False)]):
        for p in ("R0", "R1", "R2"):
            rows.append({"file": f"f{k}", "spectrum": 0, "cell": "c", "parameter": p,
                         "kind": "parameter", "success": ok, "value": 1.0, "stderr": 0.1,
                         "poorly_determined": flag and p == "R2"})
        rows.append({"file": f"f{k}", "spectrum": 0, "cell": "c", "parameter": "total",
                     "kind": "group", "success": ok, "value": 3.0, "stderr": 0.2,
                     "poorly_determined": False})
    kept, left_out = breakdown_rows(pd.DataFrame(rows))
    assert sorted(set(kept["file"])) == ["f1", "f3"]
    assert set(kept["kind"]) == {"parameter"} and len(kept) == 6
    assert left_out == {"R2"}
