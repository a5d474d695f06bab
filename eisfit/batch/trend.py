"""Resistance growth per cell: first vs last, change, and slope per cycle, with uncertainties.

For every cell and every resistance (unit Ω) or named group in a ``parameters``
table, :func:`growth` reports

* ``first``/``last`` values with their fit standard errors;
* ``change = last − first`` with σ = √(σ_first² + σ_last²), and ``change_pct``
  = 100·change/first with first-order propagated error;
* ``slope`` per unit of the ordering variable (cycle, else time, else state of
  charge, else sequence position) from a weighted least-squares line
  (weights 1/σ², covariance scaled by the reduced χ² of the line, Student-t CI);
* the same in Ω·cm² when the cell's ``area`` (cm²) is known.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"cell": "A", "cycle": [1, 2, 3], "parameter": "R1", "kind": "parameter",
...                    "unit": "Ω", "value": [10.0, 12.0, 14.0], "stderr": [0.1, 0.1, 0.1]})
>>> g = growth(df)
>>> float(g.loc[0, "slope"]), float(g.loc[0, "change"])
(2.0, 4.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .inputs import natural_key
from .metadata import ORDER_FIELDS

__all__ = ["growth", "line_fit"]


def line_fit(x: Any, y: Any, se: Any = None, level: float = 0.95) -> dict[str, float]:
    """Weighted straight line y = a + b·x.

    Parameters
    ----------
    x, y : array
    se : array, optional
        Standard errors of ``y`` (weights 1/se²); ignored unless all finite and > 0.
    level : float
        Confidence level of the slope interval.

    Returns
    -------
    dict
        ``slope``, ``slope_stderr``, ``slope_ci_low``, ``slope_ci_high``,
        ``intercept``, ``chi2_red`` (NaN where undetermined).
    """
    from scipy.special import ndtri, stdtrit  # lighter than importing scipy.stats

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    nan = {k: math.nan for k in ("slope", "slope_stderr", "slope_ci_low", "slope_ci_high",
                                 "intercept", "chi2_red")}
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    s = None if se is None else np.asarray(se, float)[ok]
    n = x.size
    if n < 2 or np.ptp(x) == 0:
        return nan
    weighted = s is not None and np.all(np.isfinite(s)) and np.all(s > 0)
    # weights relative to the best-known point (1/s² itself overflows for the errors of
    # exact data); the slope error is scaled back by s_min
    s0 = float(s.min()) if weighted else 1.0
    with np.errstate(over="ignore", under="ignore"):
        w = (s0 / s) ** 2 if weighted else np.ones(n)
    X = np.column_stack([np.ones(n), x])
    XtW = X.T * w
    A = XtW @ X
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            beta = np.linalg.solve(A, XtW @ y)
        var_b = float(np.linalg.inv(A)[1, 1])  # × s0²: the slope's variance
    except np.linalg.LinAlgError:  # all weight on one x: no line
        return nan
    if not np.all(np.isfinite(beta)):  # values beyond float range (a degenerate fit)
        return nan
    out = dict(nan)
    out["intercept"], out["slope"] = float(beta[0]), float(beta[1])
    if n == 2:
        if not weighted:
            return out
        q = float(ndtri(0.5 + level / 2))
    else:
        r = y - X @ beta
        with np.errstate(over="ignore"):  # errors of exact data: the scatter is "infinite"
            z = r / s if weighted else r
            chi2_red = float((z**2).sum() / (n - 2))
        out["chi2_red"] = chi2_red
        # scale by the scatter about the line (exact data still keeps the fit errors)
        var_b *= max(chi2_red, 1.0) if weighted else chi2_red
        q = float(stdtrit(n - 2, 0.5 + level / 2))
    se_b = s0 * math.sqrt(max(var_b, 0.0))
    out["slope_stderr"] = se_b
    out["slope_ci_low"] = out["slope"] - q * se_b
    out["slope_ci_high"] = out["slope"] + q * se_b
    return out


def cell_x(cell_df) -> str:
    """The x of a cell's growth (one per spectrum, shared by all its parameters): the first
    of :data:`ORDER_FIELDS` that is numeric and varies, else ``"index"``."""
    spectra = cell_df.drop_duplicates(["file", "spectrum"]) if "file" in cell_df.columns else cell_df
    return _x_for(spectra)[0]


def _x_for(cell_df) -> tuple[str, np.ndarray]:
    import pandas as pd

    for f in ORDER_FIELDS:
        if f in cell_df.columns:
            v = pd.to_numeric(cell_df[f], errors="coerce")
            if v.notna().all() and v.nunique() > 1:
                return f, v.to_numpy(float)
    return "index", np.arange(len(cell_df), dtype=float)


def growth(
    parameters,
    *,
    by: str = "cell",
    units: tuple[str, ...] = ("Ω",),
    level: float = 0.95,
    area_col: str = "area",
):
    """Growth table, one row per cell × resistance or group.

    Parameters
    ----------
    parameters : pandas.DataFrame
        Tidy table with at least ``parameter``, ``value``, ``stderr``, ``unit`` and the
        ``by`` column; rows with ``success == False`` (when that column exists) are
        left out.
    by : str
        Grouping column (``"cell"``); when absent the whole table is one group.
    units : tuple of str
        Units of the parameters to include (resistances by default).
    level : float
        Confidence level of the slope interval.
    area_col : str
        Metadata column with the electrode area (cm²) for Ω·cm² columns.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    if parameters is None or len(parameters) == 0:
        return pd.DataFrame()
    df = parameters[parameters["unit"].isin(units)]
    if "success" in df.columns:
        df = df[df["success"].astype(bool)]
    df = df.copy()
    if df.empty:
        return pd.DataFrame()
    if by not in df.columns:
        df[by] = "all"
    rows = []
    cells = sorted(df[by].astype(str).unique(), key=natural_key)
    for cell in cells:
        cdf = df[df[by].astype(str) == cell]
        xname = cell_x(cdf)
        params = list(dict.fromkeys(cdf["parameter"]))
        area = math.nan
        if area_col in cdf.columns:
            a = pd.to_numeric(cdf[area_col], errors="coerce").dropna().unique()
            if a.size == 1 and a[0] > 0:
                area = float(a[0])
        for p in params:
            pdf = cdf[cdf["parameter"] == p]
            if xname == "index":
                x = np.arange(len(pdf), dtype=float)
            else:
                x = pd.to_numeric(pdf[xname], errors="coerce").to_numpy(float)
            order = np.argsort(x, kind="stable")
            x = x[order]
            y = pdf["value"].to_numpy(float)[order]
            s = pdf["stderr"].to_numpy(float)[order]
            first, last = y[0], y[-1]
            sf, sl = s[0], s[-1]
            change = last - first
            sc = math.hypot(sf, sl)
            pct = 100.0 * change / first if first != 0 else math.nan
            spct = (
                100.0 * abs(last / first) * math.hypot(sl / last, sf / first)
                if first != 0 and last != 0
                else math.nan
            )
            row = {
                by: cell,
                "parameter": p,
                "kind": pdf["kind"].iloc[0] if "kind" in pdf else "parameter",
                "role": pdf["role"].iloc[0] if "role" in pdf else None,
                "unit": pdf["unit"].iloc[0],
                "n": int(len(y)),
                "x": xname,
                "x_first": x[0],
                "x_last": x[-1],
                "first": first,
                "first_stderr": sf,
                "last": last,
                "last_stderr": sl,
                "change": change,
                "change_stderr": sc,
                "change_pct": pct,
                "change_pct_stderr": spct,
                # flagged by the fit in any spectrum (beyond the band, CI wider than a decade)
                "poorly_determined": bool(pdf["poorly_determined"].fillna(False).astype(bool).any())
                if "poorly_determined" in pdf else False,
            }
            row.update(line_fit(x, y, s, level))
            row.pop("intercept", None)
            row["slope_chi2_red"] = row.pop("chi2_red")
            row["area_cm2"] = area
            if math.isfinite(area):
                for k in ("first", "first_stderr", "last", "last_stderr", "change",
                          "change_stderr", "slope", "slope_stderr", "slope_ci_low",
                          "slope_ci_high"):
                    row[f"{k}_ohm_cm2"] = row[k] * area
            rows.append(row)
    return pd.DataFrame(rows)
