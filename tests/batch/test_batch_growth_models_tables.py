"""Growth statistics, arc ordering, jump flags and group uncertainty — against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import eisfit as ef
from eisfit.batch.trend import growth, line_fit
from eisfit.batch.models import ModelPlan, jump_flags, order_arcs, rename_result, resolve
from eisfit.batch.tables import group_value


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
    assert plan.choice_for({"state": "before"}).preset == "polymer_nmc_before"
    assert plan.choice_for({"state": "after"}).preset == "polymer_nmc_after"
    assert plan.choice_for({}).groups["interfacial"] == ("R_sei", "R_rs")
    with pytest.raises(ef.EisfitError, match="neither a preset"):
        ModelPlan.from_spec("R0 - (R1 |")
    with pytest.raises(ef.EisfitError, match="no model for state"):
        ModelPlan.from_spec({"before": "R0"}).choice_for({"state": "after"})


def test_order_arcs_sorts_by_tau_and_keeps_impedance():
    text = "R0 - (R1 | Q1) - (R2 | Q2) - Wo1"
    vals = {"R0": 1.0, "R1": 50.0, "Q1_Q": 1e-2, "Q1_n": 0.8, "R2": 10.0, "Q2_Q": 1e-6,
            "Q2_n": 0.9, "Wo1_R": 5.0, "Wo1_tau": 10.0}
    rename = order_arcs(text, vals)
    assert rename["R1"] == "R2" and rename["Q2_Q"] == "Q1_Q" and "R0" not in rename
    new = {rename.get(k, k): v for k, v in vals.items()}
    f = np.logspace(5, -2, 30)
    c = ef.parse(text)
    np.testing.assert_allclose(c.impedance(f, new), c.impedance(f, vals), rtol=1e-12)
    tau = lambda r, q, n: (r * q) ** (1 / n)
    assert tau(new["R1"], new["Q1_Q"], new["Q1_n"]) < tau(new["R2"], new["Q2_Q"], new["Q2_n"])
    assert order_arcs(text, new) == {}


def test_rename_result_permutes_covariance():
    names = ["R1", "Q1_Q", "Q1_n", "R2", "Q2_Q", "Q2_n"]
    cov = np.diag([1.0, 2, 3, 4, 5, 6])
    cov[0, 3] = cov[3, 0] = 0.5  # R1–R2
    cov[0, 1] = cov[1, 0] = 0.25  # R1–Q1_Q
    rec = {"values": dict(zip(names, range(6))), "stderr": {}, "ci": {}, "at_bound": ["Q1_n"],
           "param_names": names, "covariance": cov}
    swap = {"R1": "R2", "Q1_Q": "Q2_Q", "Q1_n": "Q2_n", "R2": "R1", "Q2_Q": "Q1_Q", "Q2_n": "Q1_n"}
    rename_result(rec, swap)
    assert rec["values"]["R2"] == 0 and rec["values"]["R1"] == 3
    assert rec["at_bound"] == ["Q2_n"]
    c = rec["covariance"]
    assert c[0, 0] == 4 and c[3, 3] == 1  # var(new R1) = var(old R2)
    assert c[3, 4] == 0.25 and c[0, 3] == 0.5  # R1–Q1_Q pair moved with its arc


def test_jump_flags_detect_swap_and_jump():
    text = "R0 - (R1 | Q1) - (R2 | Q2)"
    prev = {"R0": 10.0, "R1": 20.0, "R2": 100.0}
    assert jump_flags(text, prev, {"R0": 10.5, "R1": 21.0, "R2": 104.0}, ["R0", "R1", "R2"]) == []
    assert jump_flags(text, prev, {"R0": 10.0, "R1": 99.0, "R2": 21.0}, ["R0", "R1", "R2"]) == [
        "swap?R1<->R2"
    ]
    assert jump_flags(text, prev, {"R0": 30.0, "R1": 20.0, "R2": 100.0}, ["R0", "R1", "R2"]) == [
        "jump:R0"
    ]
    assert jump_flags(text, None, prev, ["R0"]) == []


def test_resolve_preset_and_dsl():
    c = resolve("R0-(R1|Q1)")
    assert c.text == "R0 - (R1 | Q1)" and c.preset is None
    p = resolve("lili_symmetric")
    assert p.role_of("Q_int_Q") == "interface" and p.role_of("R_bulk") == "bulk"


# ---- group uncertainty -----------------------------------------------------------------
def test_group_value_propagates_covariance():
    names = ["R0", "R1", "R2"]
    cov = np.array([[1.0, 0.0, 0.0], [0.0, 4.0, -1.5], [0.0, -1.5, 9.0]])
    rec = {"values": {"R0": 1.0, "R1": 2.0, "R2": 3.0}, "stderr": {"R0": 1, "R1": 2, "R2": 3},
           "param_names": names, "covariance": cov}
    v, se = group_value(rec, ["R1", "R2"])
    assert v == 5.0 and se == pytest.approx(math.sqrt(4 + 9 - 3))
    # a member missing from the model (arc not present yet) counts as zero resistance
    v, se = group_value(rec, ["R1", "R_rs"])
    assert v == 2.0 and se == pytest.approx(2.0)
    assert group_value(rec, ["R_rs"]) is None
    rec["covariance"] = None
    assert group_value(rec, ["R1", "R2"])[1] == pytest.approx(math.sqrt(13))
