"""The unit of work of a batch: fit a run of consecutive files of one cell.

Everything here runs inside a worker process (local pool or Dask) and must be picklable
both ways. A :class:`Task` carries the files in sequence order and the warm-start values
of the spectrum before them; :func:`run_task` reads each file, fits each spectrum starting
from its predecessor's result, and returns :class:`~eisfit.batch.outcome.SpectrumOutcome`
objects holding the library's own results. Nothing raises out of :func:`run_task`: a file
that cannot be read or a fit that fails becomes an outcome with the error message.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..circuit.arcs import jump_flags
from ..data.readers import read
from ..errors import FitError, ReaderError
from ..fitting import FitOptions, fit
from ..fitting.fitter import reference
from ..fitting.stacked import stacked_results
from ..relaxation import drt
from ..selection import propose
from .metadata import clean_header_meta
from .models import ModelPlan
from .outcome import OUTCOME_VERSION, SpectrumOutcome
from .tables import outcome_rows

__all__ = ["RunOptions", "FileJob", "Task", "run_task", "propose_task", "MAX_CURVES", "picks",
           "STACK_BLOCK"]

#: Spectra of a cell whose DRT the report draws.
MAX_CURVES = 6
#: Spectra fitted together by the stacked solver (``RunOptions.stacked``); a block's
#: Kramers–Kronig references must stay in the fitter's cache (64) until its outcomes are built.
STACK_BLOCK = 16


def picks(n: int, k: int = MAX_CURVES) -> list[int]:
    """``k`` evenly spaced indices of ``n`` (first and last included)."""
    if n <= k:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, k).round().astype(int).tolist()))


@dataclass(frozen=True)
class RunOptions:
    """Options that change a batch's results (they are part of the cache key).

    Attributes
    ----------
    plan : ModelPlan
        Model per state.
    fit : FitOptions
        How each spectrum is fitted (the same object :func:`eisfit.fit` takes).
    fmin, fmax : float or None
        Frequency window (Hz) applied before fitting.
    kk : bool
        Record the Kramers–Kronig test of every spectrum.
    warm_start : bool
        Start each fit from its predecessor's values.
    stacked : bool
        Fit the spectra of a task after its first in blocks of :data:`STACK_BLOCK` by
        stacked solves (:func:`eisfit.fitting.stacked.stacked_results` with ``chain``: each
        spectrum still starts from its predecessor's result); a spectrum the block does not
        fit as ``ef.fit`` would accept is fitted one by one as without it. Needs
        ``warm_start``.
    jump_factor : float
        Flag resistances that change by more than this factor between neighbours.
    groups : tuple of (name, members)
        Extra named sums of resistances for the tables.
    """

    plan: ModelPlan
    fit: FitOptions = field(default_factory=FitOptions)
    fmin: float | None = None
    fmax: float | None = None
    kk: bool = True
    warm_start: bool = True
    stacked: bool = False
    jump_factor: float = 2.0
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def fingerprint(self) -> str:
        blob = json.dumps(
            [OUTCOME_VERSION, self.plan.fingerprint(), self.fit.fingerprint(), self.fmin,
             self.fmax, self.kk, self.warm_start, self.jump_factor, self.groups]
            + (["stacked"] if self.stacked else []),
            sort_keys=True, default=str,
        )
        return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class FileJob:
    """One part of the input: a file, or a run of spectra of one cell in a file.

    ``drt``: compute the DRT curve of the spectra the report will draw. ``indices`` and
    ``spectra``: the part's spectra (already read, with their positions in the file);
    ``None``: the whole file, read by the worker.
    """

    path: str
    rel: str
    hash: str
    key: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    auto_text: str | None = None
    drt: bool = False
    indices: tuple[int, ...] | None = None
    spectra: tuple | None = None
    part: str = ""  # the plan's id of this part (the file name for a whole file)


@dataclass(frozen=True)
class Task:
    """Consecutive files of one cell, fitted in order with warm starts."""

    jobs: tuple[FileJob, ...]
    options: RunOptions
    init: Mapping[str, float] | None = None


def _err(e: BaseException) -> str:
    msg = str(e).strip() or type(e).__name__
    return f"{type(e).__name__}: {msg}"


def _fit_options(base: FitOptions, circuit, bounds: Mapping[str, tuple[float, float]]):
    """The batch's options restricted to the parameters of this circuit."""
    names = set(circuit.parameters)
    fixed = base.fixed
    if isinstance(fixed, Mapping):
        fixed = {k: v for k, v in fixed.items() if k in names} or None
    elif fixed:
        fixed = tuple(k for k in fixed if k in names) or None
    b = {**bounds, **{k: v for k, v in (base.bounds or {}).items() if k in names}}
    tie = {k: v for k, v in (base.tie or {}).items() if k in names and v in names} or None
    return replace(base, fixed=fixed, bounds=b or None, tie=tie)


def fit_spectrum(spec, job: FileJob, index: int, options: RunOptions, prev, with_drt: bool,
                 state: dict | None = None) -> SpectrumOutcome:
    """Fit one spectrum; never raises (errors become the outcome's ``error``).

    ``prev``: the previous good values (warm start). ``state["M"]``: the number of elements
    of the previous spectrum's Kramers–Kronig test, where this one's search starts (the
    verdict is the same, the search shorter). Warnings raised while fitting are collected
    into the outcome (a batch of thousands of fits must not flood the terminal).
    """
    state = {} if state is None else state
    t0 = time.perf_counter()
    got: dict[str, Any] = {}
    stage = "model"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            meta = {**clean_header_meta(spec.meta), **dict(job.meta)}
            got["meta"] = meta
            if options.fmin is not None or options.fmax is not None:
                spec = spec.crop(options.fmin, options.fmax)
            choice = options.plan.choice_for(meta, job.auto_text)
            got["model"] = choice.label
            circuit = choice.circuit
            n_active = int(spec.use.sum())
            if n_active <= len(circuit.parameters) // 2:
                raise FitError(
                    f"{n_active} points cannot determine {len(circuit.parameters)} parameters"
                )
            stage = "fit"
            f_act, z_act = spec.active()
            order = np.argsort(f_act)
            ref = reference(f_act[order], z_act[order], M_start=state.get("M"))
            if ref is not None:
                state["M"] = ref.M
            opts = _fit_options(options.fit, circuit, choice.bounds)
            prev_values = None if prev is None else dict(prev)
            init = prev_values if options.warm_start else None
            if init is not None and not set(circuit.parameters) <= set(init):
                init = None  # a different model (e.g. another state): start from the data
            elif init is not None:
                init = {k: init[k] for k in circuit.parameters}
            res = _stacked_fit(state, job, index, options, circuit, opts, init)
            if res is None:
                res = fit(circuit, spec, init=init, options=opts)
            warm = init is not None
            if warm and not res.success:  # a bad start should not sink a good spectrum
                cold = fit(circuit, spec, options=opts)
                if cold.success or cold.chi2 < res.chi2:
                    res, warm = cold, False
            got.update(fit=res, warm=warm)
            got["flags"] = tuple(jump_flags(circuit, prev_values, res.values,
                                            options.jump_factor))
            if options.kk:
                stage = "kk"
                if ref is not None:
                    got.update(kk_passed=bool(ref.passed), kk_reason=ref.reason or None,
                               kk_noise=float(ref.noise))
                    if with_drt:
                        got["kk"] = ref
            if with_drt:
                stage = "drt"
                d = drt(spec)
                got.update(drt_tau=d.tau, drt_gamma=d.gamma)
            stage = None
        except Exception as e:  # record it, the batch goes on
            got["error"] = _err(e)
    return SpectrumOutcome(
        file=job.rel, hash=job.hash, spectrum=index, stage=stage,
        warnings=tuple(sorted({f"{w.category.__name__}: {w.message}" for w in caught})[:10]),
        seconds=time.perf_counter() - t0, **got,
    )


def _stacking(task: Task) -> dict:
    """The state of a task with ``options.stacked``: its files read ahead (a block may span
    files) and the spectra after its first, in order (``{}`` without stacking)."""
    if not (task.options.stacked and task.options.warm_start):
        return {}
    ahead, queue = {}, []
    for job in task.jobs:
        if job.spectra is not None:
            items = list(zip(job.indices, job.spectra))
        else:
            try:
                items = ahead[job.key] = list(enumerate(read(job.path)))
            except Exception:  # run_file reads it again and records why
                continue
        queue += [(job, i, spec) for i, spec in items]
    queue = queue[1:]  # the first spectrum is fitted as without stacking
    return {"read": ahead, "queue": queue, "fitted": {},
            "at": {(job.key, i): k for k, (job, i, _) in enumerate(queue)}}


def _stacked_fit(state, job: FileJob, index: int, options: RunOptions, circuit, opts, init):
    """This spectrum's result from its stacked block (fitted when first needed), or ``None``:
    no stacking, no warm start, or a run ``ef.fit`` would not accept as its first."""
    if state is None or "queue" not in state or init is None:
        return None
    key = (job.key, index)
    fitted = state["fitted"]
    if key not in fitted and key in state["at"]:
        members = []
        M = state.get("M")
        pos = state["at"][key]
        for jb, i, sp in state["queue"][pos:pos + STACK_BLOCK]:
            try:  # the spectra fit_spectrum would give this model and these options
                meta = {**clean_header_meta(sp.meta), **dict(jb.meta)}
                if options.fmin is not None or options.fmax is not None:
                    sp = sp.crop(options.fmin, options.fmax)
                choice = options.plan.choice_for(meta, jb.auto_text)
                if (choice.circuit != circuit or int(sp.use.sum()) <= len(circuit.parameters) // 2
                        or _fit_options(options.fit, circuit, choice.bounds) != opts):
                    break  # the block ends where the model changes
                f_act, z_act = sp.active()
                order = np.argsort(f_act)
                ref = reference(f_act[order], z_act[order], M_start=M)
                M = ref.M if ref is not None else M
            except Exception:  # fit_spectrum will record it
                break
            members.append(((jb.key, i), sp, ref))
        try:
            got = stacked_results(circuit, [m[1] for m in members], init, opts, chain=True,
                                  refs=[m[2] for m in members])
        except Exception:  # the spectra are fitted one by one
            got = [None] * len(members)
        # the chain holds up to the first spectrum fitted again one by one (or not ok): the
        # ones after it start from that spectrum's outcome, in a block of their own
        j = next((i for i, r in enumerate(got) if r is None or not r.success), len(got))
        fitted.update((m[0], r) for m, r in zip(members[:j + 1], got[:j + 1]))
    return fitted.pop(key, None)


def run_file(job: FileJob, options: RunOptions, prev, state: dict | None = None
             ) -> list[SpectrumOutcome]:
    """Read one file and fit all its spectra in order. ``prev``: the last good values."""
    try:
        if job.spectra is not None:
            items = list(zip(job.indices, job.spectra))
        else:
            items = (state or {}).get("read", {}).pop(job.key, None) or list(
                enumerate(read(job.path)))
        if not items:
            raise ReaderError("the file holds no spectrum", job.path)
    except Exception as e:
        return [SpectrumOutcome(file=job.rel, hash=job.hash, spectrum=None, meta=dict(job.meta),
                                error=_err(e), stage="read")]
    want = {items[k][0] for k in picks(len(items))} if job.drt else set()
    out = []
    for i, spec in items:
        o = fit_spectrum(spec, job, i, options, prev, i in want, state)
        out.append(o)
        if o.status == "ok":
            prev = o.fit.values
    return out


def run_task(task: Task) -> list[tuple[str, list[SpectrumOutcome], list[dict]]]:
    """Run a :class:`Task`: ``[(cache key, outcomes, table rows), ...]`` per file, in order.

    The table rows are computed here, beside the fit, so the main process only writes
    them; the full outcomes come back too (cached as JSON, drawn by the report).
    """
    prev = dict(task.init) if task.init else None
    state: dict = _stacking(task)
    groups = dict(task.options.groups)
    choices: dict = {}
    out = []
    for job in task.jobs:
        outcomes = run_file(job, task.options, prev, state)
        for o in outcomes:
            if o.status == "ok":
                prev = o.fit.values
        out.append((job.key, outcomes, [outcome_rows(o, groups, choices) for o in outcomes]))
    return out


def propose_task(items: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    """DRT model proposal for one cell: the adequate proposal with most arcs over the
    spectra ``(path, index in file)`` (its first and last).

    Returns ``{"text": circuit text or None, "n_arcs": int, "error": str or None}``.
    """
    best: dict[str, Any] = {"text": None, "n_arcs": -1, "adequate": False, "error": None}
    errors = []
    for p, index in items:
        try:
            prop = propose(read(p)[index])
            key = (prop.adequate, prop.n_arcs)
            if best["text"] is None or key > (best["adequate"], best["n_arcs"]):
                best.update(text=str(prop.circuit), n_arcs=int(prop.n_arcs),
                            adequate=bool(prop.adequate))
        except Exception as e:
            errors.append(f"{p}: {_err(e)}")
    if best["text"] is None:
        best["error"] = "; ".join(errors) or "no proposal"
    return best
