"""``eisfit.batch.run``: a folder of spectra in, parameter tables and resistance growth out.

The run has four steps, each a function of its own:

1. :func:`eisfit.batch.planning.plan` — find the files, their metadata (file-name pattern, sidecar table), the
   cells and the order within each cell, the cache keys and the tasks;
2. :func:`execute` — fit (in this process, local processes or a Dask cluster); every
   file's outcomes go to the cache the moment they arrive, so a killed run resumes;
3. :func:`tabulate` — stream the outcomes, cell by cell in sequence order, into the
   ``spectra`` and ``parameters`` tables and collect what growth and the report need;
4. :func:`eisfit.batch.output.write` — the CSV tables first, then the optional outputs
   (Parquet, report), each failure recorded, never a traceback.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EisfitWarning
from ..fitting import FitOptions
from .cache import FitCache
from .execute import make_executor
from .inputs import natural_key
from .models import ModelPlan
from .outcome import SpectrumOutcome, document_from_json, outcomes_to_json
from .report import breakdown_rows, cell_figures, render_figure, warm_plotting
from .result import BatchResult
from .tables import (
    PARAM_COLUMNS, SPECTRA_COLUMNS, CsvSink, MemorySink, meta_columns, outcome_rows,
)
from .trend import growth as growth_table
from .planning import CACHE_DIR, MAX_CELLS, Plan, _auto_models, _jobs, plan
from .worker import FileJob, RunOptions, Task, picks, run_task_documents

__all__ = ["run", "plan", "execute", "tabulate", "Plan", "CACHE_DIR", "MAX_CELLS"]

_SMALL = 40  # runs with at most this many spectra (or files) default to a single process


# ---------------------------------------------------------------------------------------
# 2. execute
# ---------------------------------------------------------------------------------------
class _Store:
    """Each file's table rows and outcomes: in the cache folder (bounded memory) or in memory.

    As outcomes arrive it also notes which metadata columns the tables will need.
    """

    def __init__(self, cache: FitCache | None, merged):
        self.cache = cache
        self.mem: dict[str, tuple[str | None, list[dict]]] = {}  # rel → (document, rows)
        self.keys: dict[str, str] = {}
        self.merged = merged  # (file, header metadata) → metadata of the row
        self.meta_values: dict[str, set] = {}  # metadata column → values seen (≤ 50)
        self.n_spectra: dict[str, int] = {}

    def put(self, rel: str, key: str, doc: str | None, rows: list[dict], persist: bool) -> None:
        """``doc``: the outcomes' cache document (JSON text), None for a cache hit."""
        self.keys[rel] = key
        self.n_spectra[rel] = sum(1 for r in rows if r["spectrum"] is not None)
        for r in rows:  # which metadata columns the tables will need, and their kinds
            for k, v in self.merged(r["file"], r["meta"]).items():
                vals = self.meta_values.setdefault(k, set())
                if v is not None and len(vals) < 50:
                    vals.add(v if isinstance(v, (bool, int, float, str)) else str(v))
        if self.cache is not None and persist:
            try:
                self.cache.put(key, doc)
                return
            except Exception as e:  # a cache that cannot be written must not lose results
                warnings.warn(f"{rel}: not cached ({type(e).__name__}: {e})", EisfitWarning,
                              stacklevel=3)
                self.mem[rel] = (doc, rows)
        elif self.cache is None:
            self.mem[rel] = (doc, rows)

    def rows(self, rel: str) -> list[dict]:
        if rel in self.mem:
            return self.mem[rel][1]
        if self.cache is not None:
            doc = self.cache.get(self.keys[rel], outcomes=False)
            return doc["rows"] if doc else []
        return []

    def outcome(self, rel: str, index: int) -> SpectrumOutcome | None:
        if rel in self.mem:
            doc = document_from_json(self.mem[rel][0]) if self.mem[rel][0] else None
        else:
            doc = self.cache.get(self.keys[rel]) if self.cache is not None else None
        for d in (doc or {"outcomes": []})["outcomes"]:
            if d["spectrum"] == index:
                return SpectrumOutcome.from_dict(d)
        return None


def _last_values(rows: list[dict]) -> dict[str, float] | None:
    """Fitted values of the last well-fitted spectrum of a file (a warm start)."""
    for r in reversed(rows):
        if r["fields"].get("status") == "ok":
            return {q["parameter"]: q["value"] for q in r["params"] if q["kind"] == "parameter"}
    return None


def execute(p: Plan, executor, store: _Store, progress: bool = False) -> dict[str, str]:
    """Run the tasks; returns each file's status (``fitted``, ``cached``, ``failed``)."""
    status: dict[str, str] = {}
    tasks: list[tuple[tuple[str, ...], Task]] = []
    for cell, chain in p.chains.items():
        if p.options.joint:  # one task per cell: all its files cached, or all fitted again
            hits = [p.cache.get(p.jobs[q].key, outcomes=False) if p.cache is not None else None
                    for q in chain]
            if all(h is not None for h in hits):
                for q, hit in zip(chain, hits):
                    store.put(q, p.jobs[q].key, None, hit["rows"], persist=False)
                    status[q] = "cached"
            else:
                tasks.append((tuple(chain), Task(tuple(p.jobs[q] for q in chain), p.options)))
            continue
        step = 1 if p.parts[chain[0]].spectra is not None else p.chunk_size
        for s in range(0, len(chain), step):
            prev_ok = None
            pending: list[FileJob] = []
            for rel in chain[s : s + step]:  # part ids
                job = p.jobs[rel]
                hit = p.cache.get(job.key, outcomes=False) if p.cache is not None else None
                if hit is not None:
                    if pending:
                        tasks.append((tuple(j.part for j in pending), Task(tuple(pending), p.options, prev_ok)))
                        pending = []
                    prev_ok = _last_values(hit["rows"]) or prev_ok
                    store.put(rel, job.key, None, hit["rows"], persist=False)
                    status[rel] = "cached"
                else:
                    pending.append(job)
            if pending:
                tasks.append((tuple(j.part for j in pending), Task(tuple(pending), p.options, prev_ok)))
    bar = _progress(progress, sum(len(t.jobs) for _, t in tasks))
    try:
        for rels, res, err in executor.map_unordered(run_task_documents, tasks):
            if err is not None:
                for rel in rels:
                    job = p.jobs[rel]
                    o = SpectrumOutcome(file=job.rel, hash=job.hash, spectrum=None, meta=dict(job.meta),
                                        error=f"task failed: {type(err).__name__}: {err}",
                                        stage="task")
                    rows = [outcome_rows(o, {}, {})]
                    store.put(rel, job.key, outcomes_to_json([o], rows), rows, persist=False)
                    status[rel] = "failed"
            else:
                for (key, doc, rows), rel in zip(res, rels):
                    store.put(rel, key, doc, rows, persist=True)
                    status[rel] = "fitted"
            if bar is not None:
                bar.update(len(rels))
    finally:
        if bar is not None:
            bar.close()
    return status


def _progress(enabled: bool, total: int):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("progress bar needs tqdm: pip install 'eisfit-battery[progress]'",
                      EisfitWarning, stacklevel=3)
        return None
    return tqdm(total=total, unit="file", desc="eisfit batch")


# ---------------------------------------------------------------------------------------
# 3. tabulate
# ---------------------------------------------------------------------------------------
@dataclass
class Tabulated:
    parameters: Any  # DataFrame or Path
    spectra: Any
    growth: Any
    failures: Any
    ends: Any  # resistances of each cell's first and last good spectrum (the breakdown)
    left_out: tuple[str, ...]  # resistances the data do not determine in some spectrum
    n_cells: int  # cells with resistances
    shown: dict[str, list[SpectrumOutcome]]  # cell → outcomes the report draws
    # shown cell → its figures, file name → (builder, args) of report.cell_figures; None
    # once handed to ``on_cell`` (drawn elsewhere: the cell's rows are not kept)
    figures: dict[str, dict[str, tuple | None]]
    meta_kinds: dict[str, str]
    counts: dict[str, int]


def _kind(values: set) -> str:
    types = {type(v) for v in values}
    if not types:
        return "string"
    if types <= {bool}:
        return "bool"
    if types <= {int, float} and bool not in types:
        return "float"
    return "string"


def tabulate(p: Plan, store: _Store, on_cell=None) -> Tabulated:
    """Stream the outcomes, cell by cell in order, into the tables (see module).

    ``on_cell(figures)`` is called as each shown cell is done, with its report figures
    (:func:`~eisfit.batch.report.cell_figures`): a run starts drawing them while the next
    cells are tabulated, and their data is not kept here."""
    import pandas as pd

    seen = store.meta_values  # collected while the outcomes arrived
    meta_cols = meta_columns(seen)
    kinds = {k: _kind(v) for k, v in seen.items() if k in meta_cols}
    spec_cols = ["file", "spectrum", *meta_cols, *SPECTRA_COLUMNS]
    par_cols = ["file", "spectrum", *meta_cols, *PARAM_COLUMNS]
    if p.out is not None:
        spectra_sink = CsvSink(p.out / "spectra.csv", spec_cols)
        param_sink = CsvSink(p.out / "parameters.csv", par_cols)
    else:
        spectra_sink, param_sink = MemorySink(spec_cols), MemorySink(par_cols)
    failures = []
    growth_parts, ends, left_out = [], [], set()  # per cell: no table of every spectrum kept
    refs: dict[str, list[tuple[str, int, bool]]] = {}
    counts = {"spectra": 0, "failed": 0, "poor_fits": 0}
    shown: dict[str, list[SpectrumOutcome]] = {}
    figures: dict[str, dict[str, tuple | None]] = {}
    try:
        for cell, chain in p.chains.items():
            trend_rows = []
            for pid in chain:
                for r in store.rows(pid):
                    rel = r["file"]
                    head = {"file": rel, "spectrum": r["spectrum"],
                            **p.merged_meta(rel, r["meta"]), "cell": cell}
                    srow = {**head, **r["fields"]}
                    spectra_sink.write([srow])
                    counts["spectra"] += 1
                    st = r["fields"].get("status")
                    if st == "failed":
                        counts["failed"] += 1
                        failures.append({k: srow.get(k) for k in spec_cols})
                    elif st == "poor_fit":
                        counts["poor_fits"] += 1
                    prows = [{**head, **q} for q in r["params"]]
                    param_sink.write(prows)
                    trend_rows += [[q.get(c) for c in par_cols] for q in prows  # lists: ⅓ of a dict
                                   if q["unit"] == "Ω" and q["kind"] != "derived"]
                    if r["drawable"]:
                        refs.setdefault(cell, []).append((pid, r["spectrum"], r["drt"]))
            cdf = pd.DataFrame(trend_rows, columns=par_cols) if trend_rows else None
            if cell in refs and len(shown) < MAX_CELLS:
                cand = refs[cell]
                with_drt = [x for x in cand if x[2]]
                sel = with_drt if with_drt else [cand[i] for i in picks(len(cand))]
                shown[cell] = [o for o in (store.outcome(rel, idx) for rel, idx, _ in sel)
                               if o is not None]
                figs = cell_figures(cell, shown[cell], cdf)
                if on_cell is not None:
                    on_cell(figs)
                    figs = dict.fromkeys(figs)
                figures[cell] = figs
            if cdf is not None:
                growth_parts.append((natural_key(str(cell)), growth_table(cdf)))
                rows, out = breakdown_rows(cdf)
                ends.append(rows)
                left_out |= out
    except BaseException:
        for s in (spectra_sink, param_sink):
            if isinstance(s, CsvSink):
                s.abort()
        raise
    spectra = spectra_sink.close()
    parameters = param_sink.close()
    parts = [g for _, g in sorted(growth_parts, key=lambda t: t[0]) if len(g)]
    grow = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    ends = [e for e in ends if len(e)]  # (pandas drops the columns of empty frames)
    ends_df = pd.concat(ends, ignore_index=True) if ends else pd.DataFrame(columns=par_cols)
    return Tabulated(parameters, spectra, grow, pd.DataFrame(failures, columns=spec_cols),
                     ends_df, tuple(sorted(left_out)), len(growth_parts), shown, figures,
                     kinds, counts)


# ---------------------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------------------
def _names(names: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    return tuple(str(n) for n in names)


def _files_table(p: Plan, store: _Store, status: dict[str, str]):
    """One row per input file: hash, size, status (failed / fitted / cached), spectra."""
    import pandas as pd

    by_file: dict[str, list[str]] = {}
    for pid, pt in p.parts.items():
        by_file.setdefault(pt.rel, []).append(pid)

    def file_status(rel: str) -> str:
        st = {status.get(pid, "failed") for pid in by_file.get(rel, [])}
        return "failed" if "failed" in st else "fitted" if "fitted" in st else "cached"

    return pd.DataFrame(
        [{"file": rel, "path": f, "hash": p.hashes[rel], "size": os.stat(f).st_size,
          "status": file_status(rel),
          "n_spectra": sum(store.n_spectra.get(pid, 0) for pid in by_file.get(rel, []))}
         for f, rel in p.files],
        columns=["file", "path", "hash", "size", "status", "n_spectra"],
    )


def run(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    model: str | Mapping[str, str] = "auto",
    *,
    out: str | os.PathLike | None = None,
    options: FitOptions | Mapping[str, Any] | None = None,
    pattern: str | None = None,
    glob: str = "*",
    recursive: bool = True,
    sidecar: str | os.PathLike | None = None,
    groups: Mapping[str, Iterable[str]] | None = None,
    fmin: float | None = None,
    fmax: float | None = None,
    kk: bool = True,
    warm_start: bool = True,
    stacked: bool = True,
    jump_factor: float = 2.0,
    n_jobs: int | None = None,
    scheduler: Any = None,
    chunk_size: int = 50,
    incremental: bool = True,
    progress: bool = False,
    report: bool = True,
    cell_column: str | None = None,
    order_by: str | None = None,
    weight: str | None = None,
    fixed: Mapping[str, float] | None = None,
    keep_order: bool | None = None,
    joint: bool = False,
    shared: Iterable[str] | None = None,
) -> BatchResult:
    """Fit every spectrum in a folder and tabulate resistance growth per cell.

    Parameters
    ----------
    paths : path or iterable of paths
        Folders (searched) and/or files.
    model : str or mapping
        Preset name, circuit text, ``"auto"`` (DRT proposal per cell, one common model
        per cell), or ``{state: model}`` with ``"*"`` as the default.
    out : path, optional
        Output folder for tables, report and the fit cache (``OUT/.eisfit-cache``, one
        JSON entry per input file keyed by its content hash and the options). Without it
        nothing is written and nothing is cached.
    options : FitOptions, optional
        How every spectrum is fitted — the same object :func:`eisfit.fit` takes.
        ``weight``, ``fixed`` and ``keep_order`` override it (shortcuts).
    pattern : str, optional
        File-name template for metadata, e.g. ``"{cell}_cycle{cycle:d}"``.
    glob : str
        Only files matching this pattern (``"*.mpt"``).
    recursive : bool
        Search sub-folders.
    sidecar : path, optional
        CSV/TSV/Excel table with a ``cell`` or ``file`` column and metadata columns
        (``area`` cm², ``thickness`` cm, ``temperature``, ``state``, ...).
    groups : mapping, optional
        Extra named sums of resistances, ``{"interfacial": ["R1", "R2"]}``.
    fmin, fmax : float, optional
        Frequency window (Hz).
    kk : bool
        Record the Kramers–Kronig test of every spectrum (the fit's own reference).
    warm_start : bool
        Start each fit from the previous spectrum of the same cell.
    stacked : bool
        Fit the spectra of each chunk after its first together, in stacked blocks
        (:attr:`RunOptions.stacked`), each spectrum still warm-started from its
        predecessor: the results of fitting one by one, faster on smooth sequences. A
        chunk whose warm starts often fail (blocks cut short, see
        :data:`~eisfit.batch.worker.STACK_KEPT`) goes on one spectrum at a time. Not with
        ``joint``.
    jump_factor : float
        Flag resistances that change by more than this factor between neighbours.
    n_jobs : int, optional
        Local worker processes (default: all cores, or this process alone for at most
        40 spectra — a file holding many spectra counts each; 1 = in this process).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead of local processes.
    chunk_size : int
        Files per task. Each task starts cold and warm-starts within itself, so
        results do not depend on the number of workers.
    incremental : bool
        Reuse cached fits of unchanged files (needs ``out``).
    progress : bool
        Show a progress bar (needs ``tqdm``).
    report : bool
        Write ``report.html`` and figures (needs ``out``).
    cell_column : str, optional
        Metadata field naming the cell of each spectrum (from the file name pattern, the
        sidecar or the file itself, e.g. ``seriesIdx`` of a wide table). A file whose
        spectra belong to several cells is split, and each cell's run of spectra is
        fitted in chunks of ``chunk_size`` spectra in parallel.
    order_by : str, optional
        Metadata field ordering each cell's sequence (default: state, then cycle, time,
        state of charge).
    joint : bool
        Fit each cell's sequence jointly (:func:`eisfit.fit_sequence`): the ``shared``
        parameters take one value per cell, the others a smoothness penalty along the
        sequence whose strength is chosen by evidence. One task per cell (cells run in
        parallel); runs of fewer than three spectra with one model are fitted one by one.
    shared : iterable of str, optional
        With ``joint``: the parameters shared by a cell's spectra (names absent from a
        model, fixed or tied are skipped). Default: every model's shape exponents and
        inductances (:func:`eisfit.fitting.sequence.default_shared`).

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        Usage errors only (a ``ValueError``; a missing folder is a ``FileNotFoundError``) (no such folder, bad model or pattern). Unreadable files
        and failed fits are recorded in the result, never raised.

    Examples
    --------
    >>> import eisfit as ef
    >>> folder, sidecar = ef.batch.example_folder()
    >>> res = ef.batch.run(folder, "L0 - R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3) - Ws4",
    ...                    pattern="{cell}_cycle{cycle:d}", sidecar=sidecar,
    ...                    groups={"interfacial": ["R1", "R2"]}, n_jobs=1)
    >>> g = res.growth.set_index(["cell", "parameter"])
    >>> bool(g.loc[("25C05", "interfacial"), "change"] > 0)   # grows as capacity fades
    True
    """
    from .output import write

    t0 = time.perf_counter()
    fit_opts = FitOptions.coerce(options).replace(weight=weight, keep_order=keep_order,
                                                  fixed=fixed)
    run_opts = RunOptions(plan=ModelPlan.from_spec(model), fit=fit_opts, fmin=fmin, fmax=fmax,
                          kk=kk, warm_start=warm_start, stacked=bool(stacked),
                          jump_factor=float(jump_factor),
                          groups=tuple((k, tuple(v)) for k, v in (groups or {}).items()),
                          joint=bool(joint),
                          shared=None if shared is None else _names(shared))
    p = plan(paths, model, out=out, options=run_opts, pattern=pattern, glob=glob,
             recursive=recursive, sidecar=sidecar, groups=groups, chunk_size=chunk_size,
             incremental=incremental, cell_column=cell_column, order_by=order_by)
    p.settings.update(report=bool(report and out is not None))
    n_known = sum(len(pt.indices) if pt.indices else 1 for pt in p.parts.values())
    if n_jobs is None and scheduler is None and n_known <= _SMALL:
        n_jobs = 1  # starting worker processes costs more than a few fits
    scratch = None
    if p.out is not None and p.cache is None:  # --no-cache: outcomes in a scratch folder
        p.out.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".eisfit-run-", dir=p.out))
    store = _Store(p.cache if scratch is None else FitCache(scratch), p.merged_meta)
    executor = make_executor(n_jobs, scheduler)
    try:  # the executor stays open for the report's figures
        if p.options.plan.uses_auto:
            p.auto_text = _auto_models(p, executor)
        _jobs(p)
        status = execute(p, executor, store, progress)
        started: dict = {}  # figures the workers draw while this process tabulates

        def draw(figures):
            for name, job in figures.items():
                started[name] = executor.submit(render_figure, job)

        early = p.settings["report"] and executor.workers > 1  # pool or cluster: warm, submit
        if early:
            executor.warm(warm_plotting)
        tab = tabulate(p, store, draw if early else None)
        files_df = _files_table(p, store, status)
        settings = {
            "paths": [str(r) for r in p.roots],
            "model": model if isinstance(model, str) else dict(model),
            "auto_models": p.auto_text,
            "fit_options": fit_opts.to_dict(),
            "pattern": pattern, "glob": glob, "recursive": recursive,
            "sidecar": None if sidecar is None else str(sidecar),
            "groups": {k: list(v) for k, v in p.groups.items()} or None,
            "fmin": fmin, "fmax": fmax, "kk": kk, "warm_start": warm_start, "stacked": bool(stacked),
            "jump_factor": jump_factor, "n_jobs": n_jobs,
            "scheduler": None if scheduler is None else str(scheduler),
            "executor": executor.name, "chunk_size": chunk_size, "incremental": incremental,
            "cell_column": cell_column, "order_by": order_by,
            "joint": bool(joint), "shared": None if shared is None else list(_names(shared)),
            "counts": tab.counts,
        }
        in_memory = p.out is None
        result = BatchResult(
            parameters=tab.parameters if in_memory else None,
            spectra=tab.spectra if in_memory else None,
            growth=tab.growth, files=files_df, failures=tab.failures, options=settings,
            out=p.out, elapsed=time.perf_counter() - t0,
        )
        if p.out is not None:
            try:
                write(result, tab, report=report, executor=executor, started=started)
            finally:
                if scratch is not None:
                    shutil.rmtree(scratch, ignore_errors=True)
            result.elapsed = time.perf_counter() - t0
        return result
    finally:
        executor.close()
