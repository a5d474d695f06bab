"""``eisfit.batch.run``: a folder of spectra in, parameter tables and resistance growth out."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import EisfitError, EisfitWarning
from .cache import FitCache, write_frame, write_text
from .inputs import discover_rooted, file_hash, natural_key
from .execute import make_executor
from .trend import growth as _growth
from .metadata import FilenamePattern, load_sidecar, order_value, sidecar_lookup
from .models import ModelPlan
from .tables import Compactor, build_tables
from .worker import FileJob, FitOptions, Task, propose_task, run_task

__all__ = ["run", "BatchResult", "CACHE_DIR"]

CACHE_DIR = ".eisfit-cache"
_SMALL = 40  # runs with at most this many files default to a single process


@dataclass(frozen=True)
class BatchResult:
    """Everything a batch run produced.

    Attributes
    ----------
    parameters : pandas.DataFrame
        Tidy: one row per spectrum × parameter, named group (``kind="group"``) and
        derived quantity (``kind="derived"``: τ, f_peak, C_eff per arc), with metadata.
        Repeated text columns (file, cell, model, parameter, unit, ...) are categorical.
    spectra : pandas.DataFrame
        One row per spectrum (or per unreadable file): model, success, χ², KK, error.
    growth : pandas.DataFrame
        One row per cell × resistance/group: first, last, change, slope with CIs.
    files : pandas.DataFrame
        One row per input file: hash and whether it was fitted now or taken from cache.
    options : dict
        The options of the run (as written to ``run.json``).
    out : Path or None
        Output folder, if one was written.
    """

    parameters: Any
    spectra: Any
    growth: Any
    files: Any
    options: dict = field(default_factory=dict)
    out: Path | None = None
    elapsed: float = math.nan

    @property
    def failures(self):
        """Rows of :attr:`spectra` with no fitted parameters (unreadable file, error)."""
        return self.spectra[self.spectra["status"] == "failed"]

    @property
    def poor_fits(self):
        """Rows of :attr:`spectra` fitted, but judged poor by the fitter (see ``message``)."""
        return self.spectra[self.spectra["status"] == "poor_fit"]

    @property
    def n_fitted(self) -> int:
        """Files fitted in this run (the rest came from the cache)."""
        return int((self.files["status"] == "fitted").sum()) if len(self.files) else 0

    @property
    def n_cached(self) -> int:
        return int((self.files["status"] == "cached").sum()) if len(self.files) else 0

    def summary(self) -> str:
        """A few lines for a terminal."""
        n = len(self.spectra)
        bad, poor = len(self.failures), len(self.poor_fits)
        lines = [
            f"{len(self.files)} files, {n} spectra: {n - bad - poor} good fits, {poor} poor fits, "
            f"{bad} failed ({self.n_fitted} files fitted now, {self.n_cached} from cache) "
            f"in {self.elapsed:.1f} s"
        ]
        for _, r in self.failures.head(20).iterrows():
            where = "" if str(r["spectrum"]) in ("<NA>", "None", "nan") else f"[{r['spectrum']}]"
            lines.append(f"  FAILED {r['file']}{where}: {r['error']}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more (see spectra.csv)")
        if self.out is not None:
            lines.append(f"outputs in {self.out}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return (f"<pre>{self.summary()}</pre>"
                + (self.growth.to_html(max_rows=30) if len(self.growth) else ""))


def _key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def _default_cell(path: Path, rel: str, root: Path | None) -> str:
    """Cell of a file without metadata: its sub-folder, else the folder's (or file's) name."""
    if root is None:
        return path.stem
    parent = Path(rel).parent.as_posix()
    return Path(os.path.abspath(root)).name if parent in ("", ".") else parent


def run(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    model: str | Mapping[str, str] = "auto",
    *,
    out: str | os.PathLike | None = None,
    pattern: str | None = None,
    glob: str = "*",
    recursive: bool = True,
    sidecar: str | os.PathLike | None = None,
    groups: Mapping[str, Iterable[str]] | None = None,
    weight: str = "modulus",
    fmin: float | None = None,
    fmax: float | None = None,
    kk: bool = True,
    keep_order: bool = True,
    warm_start: bool = True,
    jump_factor: float = 2.0,
    fixed: Mapping[str, float] | None = None,
    n_jobs: int | None = None,
    scheduler: Any = None,
    chunk_size: int = 50,
    incremental: bool = True,
    progress: bool = False,
    report: bool = True,
) -> BatchResult:
    """Fit every spectrum in a folder and tabulate resistance growth per cell.

    Parameters
    ----------
    paths : path or iterable of paths
        Folders (searched, recursively by default) and/or files.
    model : str or mapping
        Preset name, circuit text, ``"auto"`` (DRT proposal per cell, one common model
        per cell), or ``{state: model}`` with ``"*"`` as the default.
    out : path, optional
        Output folder for tables, report and the fit cache (``OUT/.eisfit-cache``, one
        entry per input file keyed by its content hash and the fit options). Without it
        nothing is written and nothing is cached.
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
    weight, fixed : optional
        Passed to :func:`eisfit.fitting`.
    fmin, fmax : float, optional
        Frequency window (Hz).
    kk : bool
        Kramers–Kronig check of every spectrum (verdict in ``spectra``).
    keep_order : bool
        Relabel same-shape series arcs so arc 1 is always the fastest.
    warm_start : bool
        Start each fit from the previous spectrum of the same cell.
    jump_factor : float
        Flag resistances that change by more than this factor between neighbours.
    n_jobs : int, optional
        Local worker processes (default: all cores, or this process alone for at most
        40 files; 1 = in this process).
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

    Returns
    -------
    BatchResult

    Raises
    ------
    EisfitError
        Usage errors only (no such folder, bad model or pattern). Unreadable files
        and failed fits are recorded in the result, never raised.

    Examples
    --------
    >>> import eisfit as ef
    >>> folder, sidecar = ef.batch.example_folder()
    >>> res = ef.batch.run(folder, "L0 - R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3)",
    ...                    pattern="{cell}_cycle{cycle:d}", sidecar=sidecar,
    ...                    groups={"interfacial": ["R1", "R2"]}, n_jobs=1, kk=False)
    >>> g = res.growth.set_index(["cell", "parameter"])
    >>> bool(g.loc[("25C05", "interfacial"), "change"] > 0)   # grows as capacity fades
    True
    """
    t_start = time.perf_counter()
    import pandas as pd

    plan = ModelPlan.from_spec(model)
    pat = FilenamePattern(pattern) if pattern else None
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    roots = [Path(p) for p in paths]
    if not roots:
        raise EisfitError("no input paths given")
    if int(chunk_size) < 1:
        raise EisfitError("chunk_size must be >= 1")
    out_dir = Path(out) if out is not None else None
    exclude = [p for p in (out_dir, sidecar) if p is not None]
    found = discover_rooted(roots, glob=glob, recursive=recursive, exclude=exclude)
    files = [f for f, _, _ in found]
    side = sidecar_lookup(load_sidecar(sidecar)) if sidecar is not None else None

    # ---- metadata known before reading ---------------------------------------------------
    pre_meta: dict[str, dict] = {}
    defaults: dict[str, dict] = {}
    jobs_meta = []
    unmatched = []
    for f, rel, root in found:
        meta: dict[str, Any] = {}
        if pat is not None:
            m = pat.match_path(rel)
            if m is None:
                unmatched.append(rel)
            else:
                meta.update(m)
        if side is not None:
            fmeta = side.for_file(rel)
            cell = fmeta.get("cell", meta.get("cell"))
            if cell is not None:
                meta = {**side.for_cell(cell), **meta}
            meta.update(fmeta)
        if rel in pre_meta:  # the same relative name under two roots
            rel = f.as_posix()
        pre_meta[rel] = meta
        defaults[rel] = {"cell": _default_cell(f, rel, root)}
        jobs_meta.append((f, rel))
    if unmatched:
        warnings.warn(
            f"{len(unmatched)} file name(s) do not match pattern {pattern!r}, e.g. "
            f"{unmatched[0]!r}; their metadata comes from headers only",
            EisfitWarning,
            stacklevel=2,
        )

    options = FitOptions(
        plan=plan,
        weight=weight,
        fmin=fmin,
        fmax=fmax,
        kk=kk,
        keep_order=keep_order,
        jump_factor=float(jump_factor),
        fixed=tuple(sorted((fixed or {}).items())),
        warm_start=warm_start,
    )
    hashes = {rel: file_hash(f) for f, rel in jobs_meta}

    # ---- chains: files of one cell in sequence order ------------------------------------
    chains: dict[str, list[tuple[Path, str]]] = {}
    for f, rel in jobs_meta:
        cell = str(pre_meta[rel].get("cell", defaults[rel]["cell"]))
        chains.setdefault(cell, []).append((f, rel))
    for cell in chains:
        chains[cell].sort(key=lambda fr: (order_value(pre_meta[fr[1]]), natural_key(fr[1])))

    cache = FitCache(out_dir / CACHE_DIR) if (out_dir is not None and incremental) else None
    if n_jobs is None and scheduler is None and len(files) <= _SMALL:
        n_jobs = 1  # starting worker processes costs more than a few fits
    executor = make_executor(n_jobs, scheduler)
    bar = _progress(progress)
    try:
        auto_text = _auto_models(plan, chains, hashes, cache, executor) if plan.uses_auto else {}
        jobs: dict[str, FileJob] = {}
        for cell, chain in chains.items():
            for f, rel in chain:
                state = pre_meta[rel].get("state")
                key = _key(hashes[rel], options.fingerprint(), auto_text.get(cell), state)
                jobs[rel] = FileJob(str(f), rel, hashes[rel], key, pre_meta[rel], auto_text.get(cell))

        results: dict[str, list[dict]] = {}
        status: dict[str, str] = {}
        compact = Compactor(groups)  # keeps the main process small as results arrive
        tasks: list[tuple[Any, Task]] = []
        for cell, chain in chains.items():
            for s in range(0, len(chain), int(chunk_size)):
                segment = [jobs[rel] for _, rel in chain[s : s + int(chunk_size)]]
                prev_ok = None
                run_: list[FileJob] = []
                for job in segment:
                    hit = cache.get(job.key) if cache is not None else None
                    if hit is not None:
                        if run_:
                            tasks.append((tuple(j.rel for j in run_), Task(tuple(run_), options, prev_ok)))
                            run_ = []
                        ok = [r for r in hit if r["success"] and r["values"]]
                        if ok:
                            prev_ok = dict(ok[-1]["values"])
                        results[job.rel] = [compact(r) for r in hit]
                        status[job.rel] = "cached"
                    else:
                        run_.append(job)
                if run_:
                    tasks.append((tuple(j.rel for j in run_), Task(tuple(run_), options, prev_ok)))
        if bar is not None:
            bar.reset(total=sum(len(t.jobs) for _, t in tasks))
        for rels, res, err in executor.map_unordered(run_task, tasks):
            if err is not None:
                for rel in rels:
                    results[rel] = [compact(_task_failure(jobs[rel], err))]
                    status[rel] = "failed"
            else:
                for (key, recs), rel in zip(res, rels):
                    if cache is not None:
                        cache.put(key, recs)
                    results[rel] = [compact(r) for r in recs]
                    status[rel] = "fitted"
            if bar is not None:
                bar.update(len(rels))
    finally:
        if bar is not None:
            bar.close()
        executor.close()

    # ---- tables --------------------------------------------------------------------------
    files_df = pd.DataFrame(
        [
            {
                "file": rel,
                "path": str(f),
                "hash": hashes[rel],
                "size": f.stat().st_size,
                "status": status.get(rel, "failed"),
                "n_spectra": len(results.get(rel, [])),
                "error": "; ".join(
                    sorted({r["error"] for r in results.get(rel, []) if r.get("error")})
                ) or None,
            }
            for f, rel in jobs_meta
        ],
        columns=["file", "path", "hash", "size", "status", "n_spectra", "error"],
    )
    records = [r for _, rel in jobs_meta for r in results.get(rel, [])]
    del results, jobs  # let the tables reuse this memory
    parameters, spectra = build_tables(records, pre_meta, groups, defaults=defaults)
    del records
    grow = _growth(parameters) if len(parameters) else pd.DataFrame()
    opts = {
        "paths": [str(p) for p in roots],
        "model": model if isinstance(model, str) else dict(model),
        "auto_models": auto_text,
        "pattern": pattern,
        "glob": glob,
        "recursive": recursive,
        "sidecar": None if sidecar is None else str(sidecar),
        "groups": None if groups is None else {k: list(v) for k, v in groups.items()},
        "weight": weight,
        "fmin": fmin,
        "fmax": fmax,
        "kk": kk,
        "keep_order": keep_order,
        "warm_start": warm_start,
        "jump_factor": jump_factor,
        "fixed": dict(fixed or {}),
        "n_jobs": n_jobs,
        "scheduler": None if scheduler is None else str(scheduler),
        "executor": executor.name,
        "chunk_size": chunk_size,
        "incremental": incremental,
    }
    result = BatchResult(parameters, spectra, grow, files_df, opts, out_dir,
                         time.perf_counter() - t_start)
    if out_dir is not None:
        result = write_outputs(result, report=report)
        result = replace(result, elapsed=time.perf_counter() - t_start)
    return result


def _progress(enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn(
            "progress bar needs tqdm: pip install 'eisfit-battery[progress]'",
            EisfitWarning,
            stacklevel=3,
        )
        return None
    return tqdm(total=0, unit="file", desc="eisfit batch")


def _task_failure(job: FileJob, err: BaseException) -> dict:
    from .worker import _base_record, _err

    rec = _base_record(job, None)
    rec["error"] = "task failed: " + _err(err)
    rec["message"] = rec["error"]
    rec["stage"] = "task"
    return rec


def _auto_models(plan, chains, hashes, cache, executor) -> dict[str, str]:
    """One DRT-proposed model per cell (from its first and last file), cached."""
    todo, found = [], {}
    for cell, chain in chains.items():
        picks = [chain[0]] if len(chain) == 1 else [chain[0], chain[-1]]
        key = _key("auto", [hashes[rel] for _, rel in picks])
        hit = cache.get(key) if cache is not None else None
        if hit is not None and hit.get("text"):
            found[cell] = hit["text"]
        else:
            todo.append(((cell, key), tuple(str(f) for f, _ in picks)))
    for (cell, key), res, err in executor.map_unordered(propose_task, todo):
        if err is None and res.get("text"):
            found[cell] = res["text"]
            if cache is not None:
                cache.put(key, res)
        else:
            msg = res.get("error") if res else str(err)
            warnings.warn(f"no automatic model for cell {cell!r}: {msg}", EisfitWarning,
                          stacklevel=3)
    return found


def _parquet_writer(df, path, chunk: int = 20000):
    """Parquet via pyarrow, written in row groups of ``chunk`` rows (bounded memory).

    Mixed-type object columns (metadata of several kinds) are written as text.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    mixed = [c for c in df.columns if df[c].dtype == object]
    if mixed:
        df = df.assign(**{c: df[c].map(lambda v: v if v is None or isinstance(v, (bool, str))
                                        else str(v)) for c in mixed})
    writer = None
    try:
        for start in range(0, max(len(df), 1), chunk):
            table = pa.Table.from_pandas(df.iloc[start : start + chunk], preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()


def write_outputs(result: BatchResult, *, report: bool = True) -> BatchResult:
    """Write the tables, ``run.json`` and (optionally) the report into ``result.out``."""
    from .. import __version__

    out = Path(result.out)
    out.mkdir(parents=True, exist_ok=True)
    notes = []
    write_frame(out / "parameters.csv", result.parameters)
    try:
        import pyarrow  # noqa: F401

        write_frame(out / "parameters.parquet", result.parameters, _parquet_writer)
    except ImportError:
        notes.append("parameters.parquet not written: pip install 'eisfit-battery[parquet]'")
        warnings.warn(notes[-1], EisfitWarning, stacklevel=2)
    write_frame(out / "spectra.csv", result.spectra)
    write_frame(out / "growth.csv", result.growth)
    write_frame(out / "failures.csv", result.failures)
    if report:
        try:
            from .report import write_report

            write_report(result, out)
        except Exception as e:  # the tables are the product; a broken figure must not lose them
            notes.append(f"report not written: {type(e).__name__}: {e}")
            warnings.warn(notes[-1], EisfitWarning, stacklevel=2)
    import platform

    import numpy as np

    run_info = {
        "eisfit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "elapsed_s": round(result.elapsed, 3),
        "options": result.options,
        "counts": {
            "files": int(len(result.files)),
            "spectra": int(len(result.spectra)),
            "failed": int(len(result.failures)),
            "fitted_now": result.n_fitted,
            "from_cache": result.n_cached,
        },
        "notes": notes,
        "inputs": result.files.to_dict("records"),
    }
    write_text(out / "run.json", json.dumps(run_info, indent=2, default=str, ensure_ascii=False))
    return result
