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
from ..fitting.verdict import reference
from ..fitting.stacked import stacked_results
from ..relaxation import drt
from ..selection import propose
from .metadata import clean_header_meta
from .models import ModelPlan
from .outcome import OUTCOME_VERSION, SpectrumOutcome, outcomes_to_json
from .tables import outcome_rows

__all__ = ["RunOptions", "FileJob", "Task", "run_task", "run_task_documents", "propose_task",
           "MAX_CURVES", "MIN_JOINT", "picks", "STACK_BLOCK", "STACK_KEPT"]

#: Spectra of a cell whose DRT the report draws.
MAX_CURVES = 6
#: Spectra fitted together by the stacked solver (``RunOptions.stacked``); a block's
#: Kramers–Kronig references must stay in the fitter's cache
#: (:data:`~eisfit.fitting.verdict.REFERENCE_CACHE`) until its outcomes are built.
STACK_BLOCK = 16
#: Least share of a task's stacked spectra its blocks must keep for stacking to go on: a
#: block is cut at its first spectrum that is refitted one by one (or not a success), and
#: the stacked solves of the spectra after the cut are done again.
STACK_KEPT = 0.5


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
        fit as ``ef.fit`` would accept is fitted one by one as without it, and a task whose
        blocks keep less than :data:`STACK_KEPT` of their spectra goes on one by one. Needs
        ``warm_start``.
    jump_factor : float
        Flag resistances that change by more than this factor between neighbours.
    groups : tuple of (name, members)
        Extra named sums of resistances for the tables.
    joint : bool
        Fit each cell's spectra as one sequence (:func:`eisfit.fit_sequence`) instead of
        one at a time.
    shared : tuple of str or None
        With ``joint``: parameters that take one value per cell. ``None``: the parameters
        of its inductive elements (see
        :func:`eisfit.fitting.sequence.default_shared`).
    """

    plan: ModelPlan
    fit: FitOptions = field(default_factory=FitOptions)
    fmin: float | None = None
    fmax: float | None = None
    kk: bool = True
    warm_start: bool = True
    stacked: bool = True
    jump_factor: float = 2.0
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    joint: bool = False
    shared: tuple[str, ...] | None = None

    def fingerprint(self) -> str:
        blob = json.dumps(
            [OUTCOME_VERSION, self.plan.fingerprint(), self.fit.fingerprint(), self.fmin,
             self.fmax, self.kk, self.warm_start, self.jump_factor, self.groups,
             self.joint, self.shared] + (["stacked"] if self.stacked else []),
            sort_keys=True, default=str,
        )
        return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
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


def _prepare(spec, job: FileJob, options: RunOptions):
    """The spectrum cropped to the run's window, and its model choice."""
    meta = {**clean_header_meta(spec.meta), **dict(job.meta)}
    if options.fmin is not None or options.fmax is not None:
        spec = spec.crop(options.fmin, options.fmax)
    choice = options.plan.choice_for(meta, job.auto_text)
    n_active = int(spec.use.sum())
    if n_active <= len(choice.circuit.parameters) // 2:
        raise FitError(
            f"{n_active} points cannot determine {len(choice.circuit.parameters)} parameters"
        )
    return spec, choice


def fit_spectrum(spec, job: FileJob, index: int, options: RunOptions, prev, with_drt: bool,
                 state: dict | None = None, given=None) -> SpectrumOutcome:
    """Fit one spectrum; never raises (errors become the outcome's ``error``).

    ``prev``: the previous good values (warm start). ``state["M"]``: the number of elements
    of the previous spectrum's Kramers–Kronig test, where this one's search starts (the
    verdict is the same, the search shorter). ``given``: the spectrum's FitResult from a
    joint fit of its cell (then only the checks run here). Warnings raised while fitting
    are collected into the outcome (a batch of thousands of fits must not flood the
    terminal).
    """
    state = {} if state is None else state
    t0 = time.perf_counter()
    got: dict[str, Any] = {}
    stage = "model"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got["meta"] = {**clean_header_meta(spec.meta), **dict(job.meta)}
            spec, choice = _prepare(spec, job, options)
            got["model"] = choice.label
            circuit = choice.circuit
            stage = "fit"
            f_act, z_act = spec.active()
            order = np.argsort(f_act)
            ref = reference(f_act[order], z_act[order], M_start=state.get("M"))
            if ref is not None:
                state["M"] = ref.M
            prev_values = None if prev is None else dict(prev)
            if given is not None:
                res, warm = given, False
            else:
                res, warm = _fit_one(circuit, spec, options, choice, prev_values,
                                     lambda opts, init: _stacked_fit(state, job, index, options,
                                                                     circuit, opts, init))
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
        seconds=(time.perf_counter() - t0 - state.pop("block_spent", 0.0)
                 + state.get("share", {}).pop((job.key, index), 0.0)), **got,
    )


def _fit_one(circuit, spec, options: RunOptions, choice, prev_values, stacked=None):
    """``ef.fit`` of one spectrum, warm-started from ``prev_values`` when they fit the model.
    ``stacked(opts, init)``: the spectrum's result from a stacked block, or None."""
    opts = _fit_options(options.fit, circuit, choice.bounds)
    init = prev_values if options.warm_start else None
    if init is not None and not set(circuit.parameters) <= set(init):
        init = None  # a different model (e.g. another state): start from the data
    elif init is not None:
        init = {k: init[k] for k in circuit.parameters}
    res = None if stacked is None else stacked(opts, init)
    if res is None:
        res = fit(circuit, spec, init=init, options=opts)
    warm = init is not None
    if warm and not res.success:  # a bad start should not sink a good spectrum
        cold = fit(circuit, spec, options=opts)
        if cold.success or cold.chi2 < res.chi2:
            res, warm = cold, False
    return res, warm


def _items(job: FileJob) -> list:
    """``[(index in file, Spectrum), ...]`` of a job (read here unless the plan read it)."""
    if job.spectra is not None:
        return list(zip(job.indices, job.spectra))
    items = list(enumerate(read(job.path)))
    if not items:
        raise ReaderError("the file holds no spectrum", job.path)
    return items


def _read_failure(job: FileJob, e: BaseException) -> SpectrumOutcome:
    return SpectrumOutcome(file=job.rel, hash=job.hash, spectrum=None, meta=dict(job.meta),
                           error=_err(e), stage="read")


def _stacking(task: Task) -> dict:
    """The state of a task with ``options.stacked``: its files read ahead (a block may span
    files) and the spectra after its first, in order (``{}`` without stacking)."""
    if not (task.options.stacked and task.options.warm_start) or task.options.joint:
        return {}
    ahead, queue = {}, []
    for job in task.jobs:
        try:
            items = ahead[job.key] = _items(job)
        except Exception:  # run_file reads it again and records why
            continue
        queue += [(job, i, spec) for i, spec in items]
    queue = queue[1:]  # the first spectrum is fitted as without stacking
    return {"read": ahead, "queue": queue, "fitted": {}, "kept": 0, "solved": 0,
            "at": {(job.key, i): k for k, (job, i, _) in enumerate(queue)}}


def _stacked_fit(state, job: FileJob, index: int, options: RunOptions, circuit, opts, init):
    """This spectrum's result from its stacked block (fitted when first needed), or ``None``:
    no stacking, no warm start, or a run ``ef.fit`` would not accept as its first."""
    if state is None or "queue" not in state or init is None:
        return None
    key = (job.key, index)
    fitted = state["fitted"]
    on = state["kept"] >= STACK_KEPT * state["solved"]  # blocks keep enough of their spectra
    if key not in fitted and key in state["at"] and on:
        t0 = time.perf_counter()
        members = []
        M = state.get("M")
        pos = state["at"][key]
        for jb, i, sp in state["queue"][pos:pos + STACK_BLOCK]:
            try:  # the spectra fit_spectrum would give this model and these options
                sp, choice = _prepare(sp, jb, options)
                if (choice.circuit != circuit
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
        # each spectrum's 'seconds' gets its share of the block (its outcomes are made here)
        spent = time.perf_counter() - t0
        state["block_spent"] = spent
        charged = members[:j + 1]  # the block's outcomes (the one cut at is refitted here)
        state["share"] = {m[0]: spent / len(charged) for m in charged}
        # the solves after the cut are lost: where blocks keep under STACK_KEPT of their
        # spectra (warm starts ef.fit would not accept, spectra that are not a success),
        # the rest of the task is fitted one by one, which is then the faster
        state["kept"] += j
        state["solved"] += len(members)
    return fitted.pop(key, None)


def run_file(job: FileJob, options: RunOptions, prev, state: dict | None = None
             ) -> list[SpectrumOutcome]:
    """Read one file and fit all its spectra in order. ``prev``: the last good values."""
    try:
        items = (state or {}).get("read", {}).pop(job.key, None) or _items(job)
    except Exception as e:
        return [_read_failure(job, e)]
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
    groups = dict(task.options.groups)
    choices: dict = {}
    if task.options.joint:
        per_job = _run_joint(task)
    else:
        prev = dict(task.init) if task.init else None
        state: dict = _stacking(task)
        per_job = []
        for job in task.jobs:
            outcomes = run_file(job, task.options, prev, state)
            for o in outcomes:
                if o.status == "ok":
                    prev = o.fit.values
            per_job.append(outcomes)
    return [(job.key, outcomes, [outcome_rows(o, groups, choices) for o in outcomes])
            for job, outcomes in zip(task.jobs, per_job)]


def run_task_documents(task: Task) -> list[tuple[str, str, list[dict]]]:
    """:func:`run_task` with each file's outcomes already as their cache document (JSON
    text): the serialising happens in the worker, beside the fit, and the main process only
    writes the text (for a file of 1,343 spectra that was 10 s of the main process's time)."""
    return [(key, outcomes_to_json(outcomes, rows), rows) for key, outcomes, rows in run_task(task)]


#: Fewest consecutive spectra of one model for a joint fit; shorter runs are fitted one by one.
MIN_JOINT = 3


def _run_joint(task: Task) -> list[list[SpectrumOutcome]]:
    """All spectra of one cell (a task holds the whole cell): each run of consecutive
    spectra with the same model is fitted as one sequence (:func:`eisfit.fit_sequence`);
    the per-spectrum FitResults then go through the same checks as independent fits.
    A sequence that cannot be fitted jointly falls back to independent fits, and says so
    in each outcome's warnings."""
    from ..fitting.sequence import default_shared, fit_sequence

    options = task.options
    read_out: list[list | SpectrumOutcome] = []
    flat = []  # (job no., index in file, spectrum, model label or None, choice, cropped)
    for j, job in enumerate(task.jobs):
        try:
            items = _items(job)
        except Exception as e:
            read_out.append(_read_failure(job, e))
            continue
        read_out.append(items)
        for i, spec in items:
            try:
                cropped, choice = _prepare(spec, job, options)
                flat.append((j, i, spec, choice.label, choice, cropped))
            except Exception:  # fit_spectrum records why
                flat.append((j, i, spec, None, None, None))
    given: dict[tuple[int, int], Any] = {}
    notes: dict[tuple[int, int], str] = {}
    k = 0
    while k < len(flat):
        end = k
        while end < len(flat) and flat[end][3] is not None and flat[end][3] == flat[k][3]:
            end += 1
        run = flat[k:end]
        k = max(end, k + 1)
        if len(run) < MIN_JOINT:
            continue
        choice = run[0][4]
        circuit = choice.circuit
        opts = _fit_options(options.fit, circuit, choice.bounds)
        held = set(opts.fixed or ()) | set(opts.tie or {})
        wanted = default_shared(circuit) if options.shared is None else options.shared
        shared = [n for n in wanted if n in circuit.parameters and n not in held]
        try:
            seq = fit_sequence(circuit, [t[5] for t in run], shared=shared, weight=opts.weight,
                               bounds=opts.bounds, fixed=opts.fixed, tie=opts.tie)
        except Exception as e:
            for t in run:
                notes[t[:2]] = (f"EisfitWarning: joint fit of {len(run)} spectra failed "
                                f"({_err(e)}); fitted one by one")
            continue
        for t, r in zip(run, seq.fits):
            given[t[:2]] = r
    out: list[list[SpectrumOutcome]] = []
    prev, state = None, {}
    for j, job in enumerate(task.jobs):
        items = read_out[j]
        if isinstance(items, SpectrumOutcome):
            out.append([items])
            continue
        want = {items[q][0] for q in picks(len(items))} if job.drt else set()
        outcomes = []
        for i, spec in items:
            o = fit_spectrum(spec, job, i, options, prev, i in want, state, given.get((j, i)))
            if (j, i) in notes:
                o = replace(o, warnings=(notes[(j, i)],) + o.warnings)
            outcomes.append(o)
            if o.status == "ok":
                prev = o.fit.values
        out.append(outcomes)
    return out


def propose_task(ends: tuple[tuple[tuple[str, int], ...], ...]) -> dict[str, Any]:
    """DRT model proposal for one cell: the adequate proposal with most arcs over its first
    and its last spectrum.

    ``ends``: for each end, the candidates ``(path, index in file)`` from that end inwards
    (index -1: the file's last spectrum); at each end the first spectrum that can be read
    is proposed for — a settings file, a licence or a GCPL file at the start of a folder
    does not leave the whole cell without a model. A proposal that fails ends the search
    at that end (a proposal costs a DRT and several fits: a cell of spectra none of which
    can be proposed for must not be tried spectrum by spectrum).

    Returns ``{"text": circuit text or None, "n_arcs": int, "adequate": bool,
    "error": str or None}``.
    """
    best: dict[str, Any] = {"text": None, "n_arcs": -1, "adequate": False, "error": None}
    errors, done = [], set()
    for candidates in ends:
        for p, index in candidates:
            try:
                spectra = read(p)
                spec, where = spectra[index], (p, index % len(spectra))
            except Exception as e:  # not a spectrum: go on inwards
                errors.append(f"{p}: {_err(e)}")
                continue
            if where not in done:
                done.add(where)
                try:
                    prop = propose(spec)
                except Exception as e:
                    errors.append(f"{p}: {_err(e)}")
                    break
                key = (prop.adequate, prop.n_arcs)
                if best["text"] is None or key > (best["adequate"], best["n_arcs"]):
                    best.update(text=str(prop.circuit), n_arcs=int(prop.n_arcs),
                                adequate=bool(prop.adequate))
            break
    if best["text"] is None:
        best["error"] = "; ".join(dict.fromkeys(errors)) or "no proposal"  # each file once
    return best
