"""The unit of work of a batch: fit a run of consecutive files of one cell.

Everything here runs inside a worker process (local pool or Dask) and must be
picklable both ways. A :class:`Task` carries the files in sequence order and the
warm-start values of the spectrum before them; :func:`run_task` reads each file,
fits each spectrum starting from its predecessor's result, and returns plain-dict
records. Nothing raises out of :func:`run_task`: a file that cannot be read or a fit
that fails becomes a record with ``success=False`` and the error message.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metadata import clean_header_meta
from .models import ModelPlan, jump_flags, order_arcs, rename_result

__all__ = ["FitOptions", "FileJob", "Task", "run_task", "propose_task", "RECORD_VERSION"]

#: Bumped when the record layout changes (invalidates caches).
RECORD_VERSION = 2


@dataclass(frozen=True)
class FitOptions:
    """Options that change fit results (they are part of the cache key).

    Attributes
    ----------
    plan : ModelPlan
        Model per state.
    weight : str
        Weighting passed to :func:`eisfit.fitting`.
    fmin, fmax : float or None
        Frequency window (Hz) applied before fitting.
    kk : bool
        Run the Kramers–Kronig test on every spectrum.
    keep_order : bool
        Relabel same-shape series arcs so that arc 1 is the fastest.
    jump_factor : float
        Flag resistances that change by more than this factor between neighbours.
    fixed : mapping or None
        Parameter values held fixed in every fit.
    warm_start : bool
        Start each fit from its predecessor's values.
    """

    plan: ModelPlan
    weight: str = "modulus"
    fmin: float | None = None
    fmax: float | None = None
    kk: bool = True
    keep_order: bool = True
    jump_factor: float = 2.0
    fixed: tuple[tuple[str, float], ...] = ()
    warm_start: bool = True

    def fingerprint(self) -> str:
        blob = json.dumps(
            [
                RECORD_VERSION,
                self.plan.fingerprint(),
                self.weight,
                self.fmin,
                self.fmax,
                self.kk,
                self.keep_order,
                self.jump_factor,
                list(self.fixed),
                self.warm_start,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class FileJob:
    """One input file: where it is, its content hash, cache key and pre-read metadata."""

    path: str
    rel: str
    hash: str
    key: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    auto_text: str | None = None


@dataclass(frozen=True)
class Task:
    """Consecutive files of one cell, fitted in order with warm starts."""

    jobs: tuple[FileJob, ...]
    options: FitOptions
    init: Mapping[str, float] | None = None


def _err(e: BaseException) -> str:
    msg = str(e).strip() or type(e).__name__
    return f"{type(e).__name__}: {msg}"


def _base_record(job: FileJob, index: int | None) -> dict[str, Any]:
    return {
        "file": job.rel,
        "hash": job.hash,
        "spectrum": index,
        "header": {},
        "model": None,
        "success": False,
        "message": "",
        "error": None,
        "stage": None,
        "n_points": 0,
        "f_min": math.nan,
        "f_max": math.nan,
        "chi2": math.nan,
        "chi2_red": math.nan,
        "aic": math.nan,
        "bic": math.nan,
        "kk_passed": None,
        "kk_error": None,
        "values": {},
        "stderr": {},
        "ci": {},
        "units": {},
        "at_bound": [],
        "param_names": [],
        "covariance": None,
        "flags": [],
        "derived": [],
        "warm": False,
        "warnings": [],
        "seconds": 0.0,
    }


def _as_float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _fill_from_result(rec: dict, res: Any, circuit: Any) -> None:
    names = list(getattr(res, "parameter_names", None) or circuit.parameters)
    rec["param_names"] = names
    rec["values"] = {k: _as_float(v) for k, v in dict(res.values).items()}
    se = getattr(res, "stderr", None) or {}
    rec["stderr"] = {k: _as_float(se.get(k, math.nan)) for k in names}
    ci = getattr(res, "ci", None) or {}
    rec["ci"] = {
        k: (_as_float(ci[k][0]), _as_float(ci[k][1])) if k in ci else (math.nan, math.nan)
        for k in names
    }
    units = dict(getattr(res, "units", None) or circuit.units)
    rec["units"] = {k: str(units.get(k, "")) for k in names}
    rec["at_bound"] = sorted(getattr(res, "at_bound", None) or [])
    cov = getattr(res, "covariance", None)
    rec["covariance"] = None if cov is None else np.asarray(cov, float)
    rec["success"] = bool(getattr(res, "success", True))
    rec["message"] = str(getattr(res, "message", ""))
    for k in ("chi2", "chi2_red", "aic", "bic"):
        rec[k] = _as_float(getattr(res, k, math.nan))
    rec["derived"] = [
        (str(d.element), str(d.quantity), _as_float(d.value), _as_float(d.stderr), str(d.unit))
        for d in (getattr(res, "derived", None) or ())
    ]


def _fit_one(spec, circuit, choice, options: FitOptions, init):
    from .. import fit as _fit  # the public names (lazy imports, wherever they live)

    kw: dict[str, Any] = {"weight": options.weight}
    if choice.bounds:
        kw["bounds"] = dict(choice.bounds)
    fixed = {k: v for k, v in options.fixed if k in circuit.parameters}
    if fixed:
        kw["fixed"] = fixed
    start = None
    if init:
        start = {k: float(v) for k, v in init.items() if k in circuit.parameters and k not in fixed}
        start = start or None
    res = _fit(circuit, spec, init=start, **kw)
    warm = start is not None
    if warm and not getattr(res, "success", True):
        cold = _fit(circuit, spec, init=None, **kw)  # a bad start should not sink a good spectrum
        if getattr(cold, "success", True) or _as_float(cold.chi2) < _as_float(res.chi2):
            res, warm = cold, False
    return res, warm


def _kk(spec, rec: dict) -> None:
    try:
        from .. import kk

        r = kk(spec)
        rec["kk_passed"] = bool(r.passed)
    except Exception as e:  # an optional step: record and go on
        rec["kk_error"] = _err(e)


def fit_spectrum(spec, job: FileJob, index: int, options: FitOptions, prev: dict | None) -> dict:
    """Fit one spectrum; returns its record (never raises).

    Warnings raised while fitting are collected into ``record["warnings"]`` (a batch
    of thousands of fits must not flood the terminal).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = _fit_spectrum(spec, job, index, options, prev)
    rec["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})[:10]
    return rec


def _fit_spectrum(spec, job, index, options, prev) -> dict:
    t0 = time.perf_counter()
    rec = _base_record(job, index)
    try:
        header = clean_header_meta(spec.meta)
        rec["header"] = header
        meta = {**header, **dict(job.meta)}
        if options.fmin is not None or options.fmax is not None:
            spec = spec.crop(options.fmin, options.fmax)
        f, _ = spec.active()
        rec["n_points"] = int(f.size)
        if f.size:
            rec["f_min"], rec["f_max"] = float(f.min()), float(f.max())
        rec["stage"] = "model"
        choice = options.plan.choice_for(meta, job.auto_text)
        rec["model"] = choice.label
        circuit = choice.circuit()
        if f.size <= len(circuit.parameters) // 2:
            raise ValueError(
                f"{f.size} points cannot determine {len(circuit.parameters)} parameters"
            )
        rec["stage"] = "fit"
        init = prev["values"] if (options.warm_start and prev) else None
        res, rec["warm"] = _fit_one(spec, circuit, choice, options, init)
        _fill_from_result(rec, res, circuit)
        if options.keep_order:
            rename = order_arcs(choice.text, rec["values"])
            if rename:
                rename_result(rec, rename)
                rec["derived"] = []  # element labels of derived quantities are stale
        resist = [k for k, u in rec["units"].items() if u == "Ω"]
        rec["flags"] = jump_flags(
            choice.text, prev["values"] if prev else None, rec["values"], resist,
            options.jump_factor,
        )
        if options.kk:
            rec["stage"] = "kk"
            _kk(spec, rec)
        rec["stage"] = None
    except Exception as e:  # record it, the batch goes on
        rec["success"] = False
        rec["error"] = _err(e)
        rec["message"] = rec["message"] or rec["error"]
    rec["seconds"] = time.perf_counter() - t0
    return rec


def _read(path: str):
    from .. import read

    return read(path)


def run_file(job: FileJob, options: FitOptions, prev: dict | None) -> list[dict]:
    """Read one file and fit all its spectra in order. ``prev`` is the last good record."""
    try:
        spectra = _read(job.path)
        if not spectra:
            raise ValueError("the file holds no spectrum")
    except Exception as e:
        rec = _base_record(job, None)
        rec["error"] = _err(e)
        rec["message"] = rec["error"]
        rec["stage"] = "read"
        return [rec]
    out = []
    for i, spec in enumerate(spectra):
        rec = fit_spectrum(spec, job, i, options, prev)
        out.append(rec)
        if rec["success"] and rec["values"]:
            prev = rec
    return out


def run_task(task: Task) -> list[tuple[str, list[dict]]]:
    """Run a :class:`Task`: ``[(cache key, records of that file), ...]`` in task order."""
    prev = {"values": dict(task.init)} if task.init else None
    out = []
    for job in task.jobs:
        try:
            recs = run_file(job, task.options, prev)
        except Exception as e:  # pragma: no cover - run_file already catches
            rec = _base_record(job, None)
            rec["error"] = _err(e) + "\n" + traceback.format_exc(limit=3)
            recs = [rec]
        for r in recs:
            if r["success"] and r["values"]:
                prev = r
        out.append((job.key, recs))
    return out


def propose_task(paths: tuple[str, ...]) -> dict[str, Any]:
    """DRT model proposal for one cell: the proposal with most arcs over ``paths``.

    Returns ``{"text": circuit text or None, "n_arcs": int, "error": str or None}``.
    """
    best: dict[str, Any] = {"text": None, "n_arcs": -1, "error": None}
    errors = []
    for p in paths:
        try:
            from .. import propose  # the public name, wherever the DRT package lives

            spec = _read(p)[0]
            prop = propose(spec)
            n = int(getattr(prop, "n_arcs", 0))
            if n > best["n_arcs"]:
                best.update(text=str(prop.circuit), n_arcs=n)
        except Exception as e:
            errors.append(f"{p}: {_err(e)}")
    if best["text"] is None:
        best["error"] = "; ".join(errors) or "no proposal"
    return best
