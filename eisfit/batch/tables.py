"""Fit records → the tidy ``parameters`` table and the one-row-per-spectrum ``spectra`` table.

Named groups (sums of resistances such as *total interfacial*) are added to the
``parameters`` table as rows with ``kind="group"``; their standard error is
propagated through the fit covariance, σ² = 1ᵀ C 1 over the members.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .discover import natural_key
from .metadata import ORDER_FIELDS, state_rank
from .models import ModelChoice, resolve

__all__ = ["build_tables", "group_value", "default_groups", "PARAM_COLUMNS", "SPECTRA_COLUMNS"]

PARAM_COLUMNS = [
    "model", "success", "parameter", "kind", "role", "value", "stderr", "ci_low", "ci_high", "unit", "at_bound",
]
SPECTRA_COLUMNS = [
    "model", "status", "success", "chi2", "chi2_red", "aic", "bic", "n_points", "f_min", "f_max",
    "kk_passed", "warm_start", "flags", "stage", "error", "message", "warnings", "seconds",
    "hash",
]
_Z95 = 1.959963984540054
_NO_DC = ("Wo", "W")  # elements whose resistance is not a DC resistance


def group_value(
    rec: Mapping[str, Any], members: Iterable[str]
) -> tuple[float, float] | None:
    """Sum of the members present in a record and its propagated standard error.

    Members absent from the model count as zero (an arc that does not exist yet has
    no resistance); returns None when none is present.
    """
    vals = rec["values"]
    present = [m for m in members if m in vals]
    if not present:
        return None
    total = float(sum(vals[m] for m in present))
    cov = rec.get("covariance")
    names = list(rec.get("param_names") or [])
    var = math.nan
    if cov is not None and all(m in names for m in present):
        idx = [names.index(m) for m in present]
        sub = np.asarray(cov, float)[np.ix_(idx, idx)]
        if np.all(np.isfinite(sub)):
            var = float(sub.sum())
    if not math.isfinite(var):
        se = [rec["stderr"].get(m, math.nan) for m in present]
        var = float(np.sum(np.square(se)))
    return total, math.sqrt(var) if var >= 0 else math.nan


def _status(rec: Mapping[str, Any]) -> str:
    """``ok``; ``poor_fit`` (parameters exist but the fitter judged the fit poor);
    ``failed`` (no parameters: unreadable file, error, or no convergence)."""
    if rec.get("values") and not rec.get("error"):
        return "ok" if rec.get("success") else "poor_fit"
    return "failed"


def default_groups(choice: ModelChoice) -> dict[str, tuple[str, ...]]:
    """The model's named groups, plus ``total`` (sum of DC resistances) if it has none."""
    groups = {k: tuple(v) for k, v in choice.groups.items()}
    if "total" not in groups:
        c = choice.circuit()
        members = tuple(
            p
            for e in c.elements
            if e.kind not in _NO_DC
            for p in e.param_names
            if c.units.get(p) == "Ω"
        )
        if len(members) > 1:
            groups["total"] = members
    return groups


def _choice(label: str | None, cache: dict) -> ModelChoice | None:
    if not label:
        return None
    if label not in cache:
        try:
            cache[label] = resolve(label)
        except Exception:
            cache[label] = None
    return cache[label]


def _meta_columns(rows: list[dict]) -> list[str]:
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    first = [k for k in ("cell", "state", *ORDER_FIELDS) if k in keys]
    return first + sorted(k for k in keys if k not in first)


def build_tables(
    records: list[dict],
    pre_meta: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Iterable[str]] | None = None,
    *,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
):
    """Build ``(parameters, spectra)`` DataFrames.

    Parameters
    ----------
    records : list of dict
        Worker records (see :mod:`eisfit.batch.worker`).
    pre_meta : mapping
        Metadata known before reading (file-name pattern, sidecar), by relative file
        name; it takes precedence over the file header.
    groups : mapping, optional
        Extra named groups ``{name: [parameter, ...]}``.
    defaults : mapping, optional
        Fallback metadata by file (e.g. the cell from the folder name), overridden by
        the file header and by ``pre_meta``.
    """
    import pandas as pd

    metas = []
    cache: dict[str, ModelChoice | None] = {}
    roles: dict[tuple[str, str], Any] = {}
    model_groups: dict[str, dict[str, tuple[str, ...]]] = {}
    for rec in records:
        meta = {
            **dict((defaults or {}).get(rec["file"], {})),
            **rec.get("header", {}),
            **dict(pre_meta.get(rec["file"], {})),
        }
        metas.append(meta)
    meta_cols = _meta_columns(metas)
    spec_cols = ["file", "spectrum", *meta_cols, *SPECTRA_COLUMNS]
    par_cols = ["file", "spectrum", *meta_cols, *PARAM_COLUMNS]
    spec_rows = _Columns(spec_cols)  # column lists: far less memory than row dicts
    par_rows = _Columns(par_cols)
    for rec, meta in zip(records, metas):
        base = {"file": rec["file"], "spectrum": rec["spectrum"]}
        base.update({k: meta.get(k) for k in meta_cols})
        spec_rows.append(
            {
                **base,
                "model": rec["model"],
                "status": _status(rec),
                "success": bool(rec["success"]),
                "chi2": rec["chi2"],
                "chi2_red": rec["chi2_red"],
                "aic": rec["aic"],
                "bic": rec["bic"],
                "n_points": rec["n_points"],
                "f_min": rec["f_min"],
                "f_max": rec["f_max"],
                "kk_passed": rec["kk_passed"],
                "warm_start": rec.get("warm", False),
                "flags": "; ".join(rec.get("flags") or []),
                "stage": rec.get("stage"),
                "error": rec["error"],
                "message": rec["message"],
                "warnings": "; ".join(rec.get("warnings") or []),
                "seconds": rec.get("seconds", math.nan),
                "hash": rec["hash"],
            }
        )
        if not rec["values"]:
            continue
        choice = _choice(rec["model"], cache)
        at_bound = set(rec.get("at_bound") or [])
        model = rec["model"]
        if model not in model_groups:
            g = default_groups(choice) if choice else {}
            g.update({k: tuple(v) for k, v in (groups or {}).items()})
            model_groups[model] = g
        names = list(rec["param_names"])
        for p in names:
            if (model, p) not in roles:
                roles[(model, p)] = choice.role_of(p) if choice else None
        vals, errs, cis, units = rec["values"], rec["stderr"], rec["ci"], rec["units"]
        cols = {
            "parameter": list(names),
            "kind": ["parameter"] * len(names),
            "role": [roles[(model, p)] for p in names],
            "value": [vals.get(p, math.nan) for p in names],
            "stderr": [errs.get(p, math.nan) for p in names],
            "ci_low": [cis.get(p, (math.nan, math.nan))[0] for p in names],
            "ci_high": [cis.get(p, (math.nan, math.nan))[1] for p in names],
            "unit": [units.get(p, "") for p in names],
            "at_bound": [p in at_bound for p in names],
        }
        for gname, members in model_groups[model].items():
            gv = group_value(rec, members)
            if gv is None:
                continue
            v, se = gv
            for k, x in (("parameter", gname), ("kind", "group"), ("role", "group"),
                         ("value", v), ("stderr", se), ("ci_low", v - _Z95 * se),
                         ("ci_high", v + _Z95 * se), ("unit", "Ω"),
                         ("at_bound", bool(at_bound.intersection(members)))):
                cols[k].append(x)
        n = len(cols["parameter"])
        per_spec = {**base, "model": model, "success": bool(rec["success"])}
        for k, col in par_rows.data.items():
            if k in cols:
                col.extend(cols[k])
            else:
                col.extend([per_spec.get(k)] * n)
    spectra = pd.DataFrame(spec_rows.data, columns=spec_cols)
    params = pd.DataFrame(par_rows.data, columns=par_cols)
    del spec_rows, par_rows
    spectra = _sort(spectra, meta_cols)
    params = _sort(params, meta_cols)
    spectra["spectrum"] = spectra["spectrum"].astype("Int64")
    params["spectrum"] = params["spectrum"].astype("Int64")
    return params, spectra


class _Columns:
    """Accumulates rows as one list per column."""

    def __init__(self, names: list[str]):
        self.data: dict[str, list] = {n: [] for n in names}

    def append(self, row: Mapping[str, Any]) -> None:
        for n, col in self.data.items():
            col.append(row.get(n))


def _rank(series):
    """Natural-order rank of each value (computed on the unique values only)."""
    uniq = sorted(series.astype(str).unique(), key=natural_key)
    pos = {u: i for i, u in enumerate(uniq)}
    return series.astype(str).map(pos)


def _sort(df, meta_cols):
    """Order rows by cell, cycle/time/soc, file and spectrum (stable within a spectrum)."""
    import pandas as pd

    if df.empty:
        return df.reset_index(drop=True)
    keys = pd.DataFrame(index=df.index)
    if "cell" in meta_cols:
        keys["_cell"] = _rank(df["cell"])
    if "state" in meta_cols:
        keys["_state"] = df["state"].map(state_rank)
    for f in ORDER_FIELDS:
        if f in meta_cols:
            keys["_" + f] = pd.to_numeric(df[f], errors="coerce")
    keys["_file"] = _rank(df["file"])
    keys["_spec"] = pd.to_numeric(df["spectrum"], errors="coerce").fillna(-1)
    order = keys.sort_values(list(keys.columns), kind="stable", na_position="last").index
    return df.loc[order].reset_index(drop=True)
