"""Step 1 of a batch run (:mod:`eisfit.batch.pipeline`): the plan.

Find the files and their metadata (file-name pattern, sidecar table, the file's own
columns), split them into cells and order each cell's sequence, and give every part of the
input its cache key and job. Nothing is fitted here, except the DRT model proposals of
``model="auto"`` (one per cell, through the run's executor).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EisfitWarning, InputError
from .cache import FitCache
from .inputs import discover_rooted, file_hash, natural_key
from .metadata import FilenamePattern, load_sidecar, order_value, sidecar_lookup
from .models import ModelPlan
from .worker import FileJob, RunOptions, picks, propose_task

__all__ = ["plan", "Plan", "Part", "CACHE_DIR", "MAX_CELLS"]

CACHE_DIR = ".eisfit-cache"
MAX_CELLS = 12  #: cells whose figures the report draws (the tables list all)


def _key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def _default_cell(path: str, rel: str, root: Path | None) -> str:
    """Cell of a file without metadata: its sub-folder, else the folder's (or file's) name."""
    if root is None:
        return Path(path).stem
    parent = Path(rel).parent.as_posix()
    return Path(os.path.abspath(root)).name if parent in ("", ".") else parent


# ---------------------------------------------------------------------------------------
# 1. plan
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Part:
    """The unit a task fits: a whole file, or a run of spectra of one cell in a file."""

    id: str
    path: str
    rel: str
    indices: tuple[int, ...] | None = None
    spectra: tuple | None = None  # the spectra, read in the planning process


@dataclass
class Plan:
    """What a run will do: files, metadata, cells in order, jobs and options."""

    roots: list[Path]
    files: list[tuple[str, str]]  # (path, relative name) in discovery order
    pre_meta: dict[str, dict]  # relative name → metadata known before reading
    defaults: dict[str, dict]  # relative name → fallback metadata (cell from the folder;
    #                            files of one folder share the dict: never mutate it)
    hashes: dict[str, str]
    chains: dict[str, list[str]]  # cell → part ids in sequence order
    parts: dict[str, "Part"]
    options: RunOptions
    groups: dict[str, tuple[str, ...]]
    out: Path | None
    cache: FitCache | None
    chunk_size: int
    jobs: dict[str, FileJob] = field(default_factory=dict)
    auto_text: dict[str, str] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def merged_meta(self, rel: str, header: Mapping[str, Any]) -> dict:
        """Metadata of a spectrum: folder default < file header < pattern and sidecar."""
        return {**self.defaults.get(rel, {}), **dict(header), **self.pre_meta.get(rel, {})}


def plan(paths, model, *, out=None, options: RunOptions | None = None, pattern=None, glob="*",
         recursive=True, sidecar=None, groups=None, chunk_size=50, incremental=True,
         cell_column=None, order_by=None) -> Plan:
    """Find the files and their metadata, and order each cell's spectra (see module).

    ``cell_column`` names the metadata field that says which cell a spectrum belongs to;
    when the file name or sidecar do not give it, the file is read here and its spectra
    are split by that field (a wide or long table, a multi-spectrum file) into runs of
    at most ``chunk_size`` spectra, fitted in parallel. ``order_by`` names the field that
    orders a cell's sequence (default: state, cycle, time, SOC).
    """
    mplan = ModelPlan.from_spec(model)
    options = options or RunOptions(plan=mplan)
    pat = FilenamePattern(pattern) if pattern else None
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    roots = [Path(p) for p in paths]
    if not roots:
        raise InputError("no input paths given")
    if int(chunk_size) < 1:
        raise InputError("chunk_size must be >= 1")
    out_dir = Path(out) if out is not None else None
    exclude = [p for p in (out_dir, sidecar) if p is not None]
    found = discover_rooted(roots, glob=glob, recursive=recursive, exclude=exclude)
    side = sidecar_lookup(load_sidecar(sidecar)) if sidecar is not None else None
    pre_meta: dict[str, dict] = {}
    defaults: dict[str, dict] = {}
    files: list[tuple[str, str]] = []
    shared: dict[str, dict] = {}  # one fallback dict per folder, shared by its files
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
            rel = Path(f).as_posix()
        pre_meta[rel] = meta
        cell = _default_cell(f, rel, root)
        defaults[rel] = shared.setdefault(cell, {"cell": cell})
        files.append((f, rel))
    if unmatched:
        warnings.warn(
            f"{len(unmatched)} file name(s) do not match pattern {pattern!r}, e.g. "
            f"{unmatched[0]!r}; their metadata comes from headers only",
            EisfitWarning, stacklevel=3,
        )
    hashes = {rel: file_hash(f) for f, rel in files}
    split = 10**9 if options.joint else int(chunk_size)  # a joint fit takes the whole cell
    chains, parts = _cells(files, pre_meta, defaults, hashes, cell_column, order_by, split)
    cache = None
    if out_dir is not None:
        cache = FitCache(out_dir / CACHE_DIR) if incremental else None
    return Plan(
        roots=roots, files=files, pre_meta=pre_meta, defaults=defaults,
        hashes=hashes, chains=chains, parts=parts, options=options,
        groups={k: tuple(v) for k, v in (groups or {}).items()}, out=out_dir, cache=cache,
        chunk_size=int(chunk_size),
    )


def _order_key(meta: Mapping[str, Any], order_by: str | None, tie) -> tuple:
    if order_by is not None:
        v = meta.get(order_by)
        try:
            return ((0, float(v)), tie)
        except (TypeError, ValueError):
            return ((1, str(v)), tie)
    return (order_value(meta), tie)


def _cells(files, pre_meta, defaults, hashes, cell_column, order_by, chunk):
    """Cells and their sequences of parts (files, or runs of spectra inside a file)."""
    from ..data.readers import read

    field = cell_column or "cell"
    chains: dict[str, list[tuple]] = {}
    parts: dict[str, Part] = {}
    for f, rel in files:
        meta = {**defaults[rel], **pre_meta[rel]}
        if cell_column is None or cell_column in pre_meta[rel]:
            cell = str(meta.get(field, defaults[rel]["cell"]))
            parts[rel] = Part(rel, f, rel)
            chains.setdefault(cell, []).append((_order_key(pre_meta[rel], order_by,
                                                           natural_key(rel)), rel))
            continue
        try:  # the cell is in the file's content: read it here and split it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spectra = read(f)
        except Exception:  # the worker records why (a file that cannot be read stays one part)
            parts[rel] = Part(rel, f, rel)
            chains.setdefault(str(defaults[rel]["cell"]), []).append(((), rel))
            continue
        by_cell: dict[str, list[tuple]] = {}
        for i, spec in enumerate(spectra):
            m = {**defaults[rel], **dict(spec.meta), **pre_meta[rel]}
            v = m.get(field, defaults[rel]["cell"])
            cell = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
            by_cell.setdefault(cell, []).append((_order_key(m, order_by, i), i, spec))
        for cell, items in by_cell.items():
            items.sort(key=lambda t: t[0])
            for s0 in range(0, len(items), chunk):
                run = items[s0 : s0 + chunk]
                pid = f"{rel}#{cell}#{s0}"
                parts[pid] = Part(pid, f, rel, tuple(i for _, i, _ in run),
                                  tuple(sp for _, _, sp in run))
                chains.setdefault(cell, []).append((run[0][0], pid))
    ordered = {}
    for cell in sorted(chains, key=natural_key):
        ordered[cell] = [pid for _, pid in sorted(chains[cell], key=lambda t: t[0])]
    return ordered, parts


def _auto_models(p: Plan, executor) -> dict[str, str]:
    """One DRT-proposed model per cell (from its first and last spectrum that can be read),
    cached."""
    todo, found = [], {}
    for cell, chain in p.chains.items():
        pts = [p.parts[q] for q in chain]
        front = tuple((pt.path, pt.indices[0] if pt.indices else 0) for pt in pts)
        back = tuple((pt.path, pt.indices[-1] if pt.indices else -1)
                     for pt in reversed(pts))
        items = (front, back)
        key = _key("auto", [(p.hashes[pt.rel], pt.indices) for pt in pts])
        hit = p.cache.get_any(key) if p.cache is not None else None
        if hit and hit.get("text"):
            found[cell] = hit["text"]
        else:
            todo.append(((cell, key), tuple(items)))
    for (cell, key), res, err in executor.map_unordered(propose_task, todo):
        if err is None and res.get("text"):
            found[cell] = res["text"]
            if p.cache is not None:
                p.cache.put_any(key, res)
        else:
            msg = res.get("error") if res else str(err)
            warnings.warn(f"no automatic model for cell {cell!r}: {msg}", EisfitWarning,
                          stacklevel=4)
    return found


def _jobs(p: Plan) -> None:
    """Cache keys and jobs; the report's spectra get their DRT in the worker."""
    fp = p.options.fingerprint()
    shown = set(list(p.chains)[:MAX_CELLS])
    for cell, chain in p.chains.items():
        drt_parts = {chain[i] for i in picks(len(chain))} if cell in shown else set()
        # a joint fit's result for one file depends on every file of its cell
        whole = [(p.hashes[p.parts[q].rel], p.parts[q].indices) for q in chain] \
            if p.options.joint else None
        for pid in chain:
            pt = p.parts[pid]
            state = p.pre_meta[pt.rel].get("state")
            auto = p.auto_text.get(cell)
            want_drt = pid in drt_parts and bool(p.settings.get("report"))
            key = _key(p.hashes[pt.rel], fp, auto, state, want_drt, pt.indices, whole)
            p.jobs[pid] = FileJob(pt.path, pt.rel, p.hashes[pt.rel], key,
                                  p.pre_meta[pt.rel], auto, want_drt, pt.indices, pt.spectra,
                                  pid)
