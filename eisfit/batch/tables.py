"""Fit records → the tidy ``parameters`` table and the one-row-per-spectrum ``spectra`` table.

Derived quantities of the fit (τ, peak frequency f_peak and effective capacitance of each
arc, named like ``f_peak[R1|Q1]``) are rows with ``kind="derived"``.
Named groups (sums of resistances such as *total interfacial*) are added to the
``parameters`` table as rows with ``kind="group"``; their standard error is
propagated through the fit covariance, σ² = 1ᵀ C 1 over the members.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .inputs import natural_key
from .metadata import ORDER_FIELDS, state_rank
from .models import ModelChoice, resolve

__all__ = ["build_tables", "Compactor", "CompactRecord", "group_value", "default_groups", "PARAM_COLUMNS", "SPECTRA_COLUMNS"]

PARAM_COLUMNS = [
    "model", "success", "parameter", "kind", "role", "value", "stderr", "ci_low", "ci_high", "unit", "at_bound",
]
SPECTRA_COLUMNS = [
    "model", "status", "success", "chi2", "chi2_red", "aic", "bic", "n_points", "f_min", "f_max",
    "kk_passed", "kk_error", "warm_start", "flags", "stage", "error", "message", "warnings",
    "seconds",
    "hash",
]
_Z95 = 1.959963984540054
_NUMERIC = ("value", "stderr", "ci_low", "ci_high")
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
    has = rec["has_values"] if "has_values" in rec else bool(rec.get("values"))
    if has and not rec.get("error"):
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


class Compactor:
    """Turns worker records into compact ones as they arrive (memory per spectrum ~1 KB).

    Parameter dicts become numpy arrays aligned with a per-model tuple of names,
    repeated strings are interned, and named groups are evaluated at once so that the
    covariance matrix can be dropped.
    """

    def __init__(self, groups: Mapping[str, Iterable[str]] | None = None):
        self.extra = {k: tuple(v) for k, v in (groups or {}).items()}
        self._choices: dict[str, ModelChoice | None] = {}
        self._groups: dict[str, dict[str, tuple[str, ...]]] = {}
        self._shared: dict[tuple, tuple] = {}
        self._roles: dict[str, tuple] = {}

    def _share(self, t: tuple) -> tuple:
        return self._shared.setdefault(t, t)

    def groups_for(self, model: str | None) -> dict[str, tuple[str, ...]]:
        if model not in self._groups:
            choice = _choice(model, self._choices)
            g = default_groups(choice) if choice else {}
            g.update(self.extra)
            self._groups[model] = g
        return self._groups[model]

    def roles_for(self, model: str | None, names: tuple[str, ...]) -> tuple:
        key = (model, names)
        if key not in self._roles:
            choice = _choice(model, self._choices)
            self._roles[key] = tuple(choice.role_of(p) if choice else None for p in names)
        return self._roles[key]

    def __call__(self, rec: Mapping[str, Any]) -> CompactRecord:
        if isinstance(rec, CompactRecord):
            return rec
        out: dict[str, Any] = {k: rec.get(k) for k in _SCALAR_KEYS}
        for k in ("file", "hash", "model", "message", "stage", "error"):
            if isinstance(out.get(k), str):
                out[k] = sys.intern(out[k])
        out["header"] = self._share_header(rec.get("header") or {})
        out["flags"] = "; ".join(rec.get("flags") or [])
        out["warnings"] = "; ".join(rec.get("warnings") or [])
        names = self._share(tuple(sys.intern(n) for n in rec.get("param_names") or ()))
        vals = rec.get("values") or {}
        out["param_names"] = names
        out["has_values"] = bool(vals)
        nan2 = (math.nan, math.nan)
        out["arr"] = np.array(
            [[vals.get(p, math.nan), rec["stderr"].get(p, math.nan),
              rec["ci"].get(p, nan2)[0], rec["ci"].get(p, nan2)[1]] for p in names],
            dtype=float,
        ).reshape(len(names), 4)
        out["units"] = self._share(tuple(sys.intern(rec["units"].get(p, "")) for p in names))
        out["roles"] = self.roles_for(out["model"], names)
        at_bound = frozenset(rec.get("at_bound") or ())
        out["at_bound"] = tuple(p in at_bound for p in names)
        grows = []
        if vals:
            for gname, members in self.groups_for(out["model"]).items():
                gv = group_value(rec, members)
                if gv is not None:
                    grows.append((gname, gv[0], gv[1], bool(at_bound.intersection(members))))
        out["groups"] = tuple(grows)
        out["derived"] = tuple(
            (sys.intern(f"{q}[{el}]"), v, se, sys.intern(u))
            for el, q, v, se, u in (rec.get("derived") or ()) if vals
        )
        return CompactRecord(**out)

    def _share_header(self, header: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            key = ("header", *sorted(header.items()))
            hash(key)
        except TypeError:
            return dict(header)
        if key not in self._shared:
            self._shared[key] = {sys.intern(str(k)): v for k, v in header.items()}
        return self._shared[key]


_SCALAR_KEYS = ("file", "hash", "spectrum", "model", "success", "message", "error", "stage",
                "n_points", "f_min", "f_max", "chi2", "chi2_red", "aic", "bic", "kk_passed",
                "kk_error", "warm", "seconds")


class CompactRecord:
    """One spectrum's result in the main process (slots, arrays; read like a mapping)."""

    __slots__ = (*_SCALAR_KEYS, "header", "flags", "warnings", "param_names", "has_values",
                 "arr", "units", "roles", "at_bound", "groups", "derived")

    def __init__(self, **kw: Any):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.__slots__

    @property
    def values(self) -> dict[str, float]:
        """Fitted values by parameter name."""
        return dict(zip(self.param_names, self.arr[:, 0].tolist()))


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

    compact = Compactor(groups)
    records = [compact(r) for r in records]
    metas = []
    for rec in records:
        meta = {
            **dict((defaults or {}).get(rec["file"], {})),
            **rec.get("header", {}),
            **dict(pre_meta.get(rec["file"], {})),
        }
        metas.append(meta)
    meta_cols = _meta_columns(metas)
    spec_cols = ["file", "spectrum", *meta_cols, *SPECTRA_COLUMNS]
    spec_rows = _Columns(spec_cols)  # column lists: far less memory than row dicts
    for rec, meta in zip(records, metas):
        row = {"file": rec["file"], "spectrum": rec["spectrum"]}
        row.update({k: meta.get(k) for k in meta_cols})
        row.update(
            model=rec["model"],
            status=_status(rec),
            success=bool(rec["success"]),
            chi2=rec["chi2"],
            chi2_red=rec["chi2_red"],
            aic=rec["aic"],
            bic=rec["bic"],
            n_points=rec["n_points"],
            f_min=rec["f_min"],
            f_max=rec["f_max"],
            kk_passed=rec["kk_passed"],
            kk_error=rec.get("kk_error"),
            warm_start=bool(rec.get("warm")),
            flags=rec["flags"],
            stage=rec.get("stage"),
            error=rec["error"],
            message=rec["message"],
            warnings=rec["warnings"],
            seconds=rec.get("seconds", math.nan),
            hash=rec["hash"],
        )
        spec_rows.append(row)
    del metas
    spectra = pd.DataFrame(spec_rows.data, columns=spec_cols)
    del spec_rows
    spectra["_rec"] = np.arange(len(spectra))
    spectra = _sort(spectra, meta_cols)
    order = spectra.pop("_rec").to_numpy()
    spectra["spectrum"] = spectra["spectrum"].astype("Int64")

    # parameter rows: the spectrum's columns repeated, in the (sorted) spectrum order
    base_cols = ["file", "spectrum", *meta_cols, "model", "success"]
    rep: list[np.ndarray] = []
    blocks: list[np.ndarray] = []  # value, stderr, ci_low, ci_high
    cols: dict[str, list] = {k: [] for k in ("parameter", "kind", "role", "unit", "at_bound")}
    for pos, i in enumerate(order):
        rec = records[i]
        if not rec["has_values"]:
            continue
        names, arr, groups_ = rec["param_names"], rec["arr"], rec["groups"]
        derived = rec["derived"] or ()
        extra = [(v, se) for _, v, se, _ in groups_] + [(v, se) for _, v, se, _ in derived]
        if extra:
            g = np.array([[v, se, v - _Z95 * se, v + _Z95 * se] for v, se in extra])
            arr = np.vstack([arr, g])
        blocks.append(arr)
        rep.append(np.full(arr.shape[0], pos))
        nd = len(derived)
        cols["parameter"].extend([*names, *(g[0] for g in groups_), *(d[0] for d in derived)])
        cols["kind"].extend(["parameter"] * len(names) + ["group"] * len(groups_)
                            + ["derived"] * nd)
        cols["role"].extend([*rec["roles"], *(["group"] * len(groups_)), *([None] * nd)])
        cols["unit"].extend([*rec["units"], *(["Ω"] * len(groups_)), *(d[3] for d in derived)])
        cols["at_bound"].extend([*rec["at_bound"], *(g[3] for g in groups_), *([False] * nd)])
    idx = np.concatenate(rep) if rep else np.empty(0, int)
    base = spectra[base_cols]
    # repeated text (file, cell, model, ...) as categories: the table is ~15 rows per spectrum
    base = base.astype({c: "category" for c in base.columns if _is_text(base[c])})
    params = base.iloc[idx].reset_index(drop=True)
    num = np.vstack(blocks) if blocks else np.empty((0, 4))
    for k in ("parameter", "kind", "role"):
        params[k] = pd.Categorical(cols.pop(k))
    for j, k in enumerate(_NUMERIC):
        params[k] = num[:, j]
    params["unit"] = pd.Categorical(cols.pop("unit"))
    params["at_bound"] = np.asarray(cols.pop("at_bound"), dtype=bool)
    params = params[["file", "spectrum", *meta_cols, *PARAM_COLUMNS]]
    return params, spectra


def _is_text(col) -> bool:
    """True for a column of strings (and missing values) only."""
    import pandas as pd

    if pd.api.types.is_string_dtype(col.dtype) and not isinstance(col.dtype, pd.CategoricalDtype):
        return bool(col.map(lambda v: v is None or isinstance(v, str) or v != v).all())
    return False


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
