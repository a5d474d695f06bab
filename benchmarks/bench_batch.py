"""Benchmark of ``eisfit.batch`` with its default options (KK and report on, all cores).

Part (a) — a generated folder of spectra: 10 cells over cycling, every resistance growing
linearly with a known slope per cell, 0.5 % complex noise, one CSV file per spectrum
(``cell{k}_cycle{j}.csv``). 2-arc model ``R0 - (R1|Q1) - (R2|Q2)`` on 40 points
(100 kHz–0.1 Hz) at 1,000 / 2,500 / 10,000 files and the 3-arc model
``R0 - (R1|Q1) - (R2|Q2) - (R3|Q3)`` on 50 points (100 kHz–10 mHz) at 10,000 files.
Each measurement is one ``ef.batch.run(folder, model, out=..., pattern=...)`` call with the
library's defaults (``kk=True, report=True, n_jobs=None``) in a fresh Python process, so
imports and memory are clean; that process samples the RSS of itself and of its worker
processes (psutil, every 50 ms) and its user+sys CPU time (itself and its reaped
workers). Reported per run: wall time of the ``run`` call, spectra/s, CPU use, peak RSS
of the main process, of the largest worker and of the whole tree, the status counts, the
KK pass rate, and the slopes of the growth table against the truth (largest relative
error, share of 95 % CIs containing the true slope). Extra rows: "fits alone"
(``kk=False, report=False``, same folder), the same folder re-run unchanged (all from the
cache), and, at 1,000 files, KK on with the report off (where the time goes).

Part (b) — the Zhang et al. 2020 coin cells: ``data_eis_zhang2020.csv`` (one wide table,
1,343 spectra, 8 cells in ``seriesIdx``, ``cycle`` and capacity ``Q`` per row) run as one
file with ``cell_column="seriesIdx", order_by="cycle"``, the model
``L0 - R0 - (R1|Q1) - (R2|Q2) - (R3|Q3) - Ws4`` and ``groups={"interfacial": ["R1", "R2"]}``,
defaults otherwise: spectra/s, CPU use of the cores, and per cell Pearson's r between
the interfacial resistance R1+R2 and the capacity Q (which the reader takes from the
file's columns into each spectrum's metadata — checked in the tables).

Peers, in the same run, on a sample of the same generated spectra (the 10,000-file
folders), one process, same circuit:

* impedance.py ``CustomCircuit("R0-p(R1,CPE1)-p(R2,CPE2)", initial_guess=g).fit(f, Z,
  weight_by_modulus=True)``;
* pyimpspec ``fit_circuit(parse_cdc("R{R=..}(R{R=..}Q{Y=..,n=..})..."), DataSet(f, Z),
  method="least_squares", weight="modulus", num_procs=1)`` (its default ``method="auto",
  weight="auto"`` tries 9 methods × 4 weights, ≈ 8 s per spectrum here; it is timed on a
  few spectra in a separate row);
* both from the same start g: the true parameters times a log-uniform factor in
  [1/3, 3] (CPE exponents: truth ± 0.1), seeded — peers need a start, eisfit is given none;
* for reference ``ef.fit(model, spectrum)`` on the same spectra in one process, no start.

"ok" = every resistance within 5 % of the truth. The ratios are eisfit's batch wall time
per spectrum (default options, all cores, KK and report included) over the peer's
median fit time per spectrum.

Targets: default batch ≥ 400 spectra/s on 2 cores at 10,000 files (2- and 3-arc);
fits alone ≥ 1,500 spectra/s (the target assumes a stacked solver); peak memory flat
in the number of files (peak RSS at 10,000 files within 15 % of that at 1,000, main
process and largest worker).

Usage::

    python benchmarks/bench_batch.py all            # ≈ 15 min on 2 cores
    python benchmarks/bench_batch.py all --quick    # ≈ 1 min: 4 cells, 100/400 files, 30 Zhang spectra
    python benchmarks/bench_batch.py synthetic [--sizes 1000,2500,10000] [--no-3arc]
    python benchmarks/bench_batch.py zhang [--data PATH]
    options: --no-peers, --workdir DIR (keep the generated folders), --jobs N (default: the
    library's default, all cores)

Machine-readable results go to ``benchmarks/results/bench_batch_<what>.json`` and the slope
recovery to ``benchmarks/results/batch_growth_recovery_<k>arc.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ZHANG = DATA / "zhang2020_via_mrs-sp22-tutorial" / "data_eis_zhang2020.csv"

MODELS = {2: "R0 - (R1 | Q1) - (R2 | Q2)", 3: "R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3)"}
IMPY = {2: "R0-p(R1,CPE1)-p(R2,CPE2)", 3: "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"}
FREQS = {2: np.logspace(5, -1, 40), 3: np.logspace(5, -2, 50)}
NOISE = 0.005
CELLS = 10
PATTERN = "{cell}_cycle{cycle:d}"
ZHANG_MODEL = "L0 - R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3) - Ws4"
ZHANG_GROUPS = {"interfacial": ["R1", "R2"]}

TARGET_DEFAULT = 400.0  # spectra/s, default options, 2 cores, 10,000 files
TARGET_FITS = 1500.0  # spectra/s, fits alone (stacked solver)
TARGET_MEM_GROWTH = 0.15  # peak RSS at the largest size ≤ (1 + this) × at the smallest


# ---------------------------------------------------------------------------------------
# generated spectra with known growth
# ---------------------------------------------------------------------------------------
def truth_params(cell: int, cycle: np.ndarray, arcs: int = 2) -> dict[str, np.ndarray]:
    """Known linear growth per cell (Ω per cycle differ between cells)."""
    full = lambda v: np.full(np.shape(cycle), v, dtype=float)
    p = {
        "R0": 10.0 + cell + 0.002 * cycle,
        "R1": 20.0 + 2 * cell + (0.010 + 0.002 * cell) * cycle,
        "Q1_Q": full(2e-6),
        "Q1_n": full(0.92),
        "R2": 60.0 + (0.040 + 0.005 * cell) * cycle,
        "Q2_Q": full(1e-3 if arcs == 2 else 5e-4),
        "Q2_n": full(0.85),
    }
    if arcs == 3:  # a slow third arc (τ 1–3 s), e.g. a cathode surface layer
        p.update({"R3": 100.0 + (0.060 + 0.004 * cell) * cycle, "Q3_Q": full(1e-2),
                  "Q3_n": full(0.9)})
    # every arc stays inside the measured band over the whole sequence: an arc that drifts
    # out of the window is fitted with a bias the growth CI cannot know about
    return p


def true_slopes(arcs: int) -> dict:
    s = {
        "R0": lambda c: 0.002,
        "R1": lambda c: 0.010 + 0.002 * c,
        "R2": lambda c: 0.040 + 0.005 * c,
    }
    if arcs == 3:
        s["R3"] = lambda c: 0.060 + 0.004 * c
    parts = list(s.values())
    s["total"] = lambda c: sum(f(c) for f in parts)
    return s


def generate(folder: Path, n: int, cells: int = CELLS, seed: int = 0, arcs: int = 2) -> Path:
    """Write ``n`` spectra as ``cell{k}_cycle{j}.csv`` (cells × n/cells cycles); reused if complete."""
    import eisfit as ef

    per = n // cells
    stamp = folder / ".complete"
    if stamp.exists() and stamp.read_text() == f"{n},{cells},{seed},{arcs}":
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    circuit = ef.parse(MODELS[arcs])
    freq = FREQS[arcs]
    rng = np.random.default_rng(seed)
    header = "freq_Hz,z_real_ohm,z_imag_ohm\n"
    fcol = [f"{f:.8g}" for f in freq]
    for c in range(cells):
        cycles = np.arange(1, per + 1)
        P = truth_params(c, cycles, arcs)
        for j, cyc in enumerate(cycles):
            z = circuit.impedance(freq, {k: float(v[j]) for k, v in P.items()})
            z = z + NOISE * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
            body = "\n".join(f"{a},{b:.9g},{d:.9g}" for a, b, d in zip(fcol, z.real, z.imag))
            (folder / f"cell{c}_cycle{cyc}.csv").write_text(header + body + "\n")
    stamp.write_text(f"{n},{cells},{seed},{arcs}")
    return folder


def subfolder(full: Path, dest: Path, size: int, cells: int = CELLS) -> Path:
    """Hard links to the first ``size / cells`` cycles of every cell of ``full``."""
    if dest.exists() and sum(1 for _ in dest.glob("*.csv")) == size:
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    per = size // cells
    for f in full.glob("*.csv"):
        cyc = int(f.stem.split("cycle")[1])
        if cyc <= per and not (dest / f.name).exists():
            try:
                os.link(f, dest / f.name)
            except OSError:
                (dest / f.name).write_bytes(f.read_bytes())
    return dest


# ---------------------------------------------------------------------------------------
# one batch run in a fresh interpreter
# ---------------------------------------------------------------------------------------
_CHILD = r"""
import json, os, resource, sys, threading, time, warnings
t_imp = time.perf_counter()
import psutil
import eisfit as ef
t_imp = time.perf_counter() - t_imp
warnings.simplefilter("ignore")
args = json.loads(sys.argv[1])
proc = psutil.Process()
peak = {"main": 0, "worker": 0, "tree": 0}
pids = set()
stop = threading.Event()

def sample():
    while True:
        try:
            main = proc.memory_info().rss
        except psutil.Error:
            main = 0
        kids = []
        for k in proc.children(recursive=True):
            try:
                kids.append(k.memory_info().rss)
                pids.add(k.pid)
            except psutil.Error:
                pass
        peak["main"] = max(peak["main"], main)
        peak["worker"] = max([peak["worker"], *kids])
        peak["tree"] = max(peak["tree"], main + sum(kids))
        if stop.wait(0.05):
            return

def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime

th = threading.Thread(target=sample, daemon=True)
th.start()
c_self, c_kids = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
t = time.perf_counter()
res = ef.batch.run(args["paths"], args["model"], **args["kwargs"])
wall = time.perf_counter() - t
cpu_main = cpu(resource.RUSAGE_SELF) - c_self
cpu_workers = cpu(resource.RUSAGE_CHILDREN) - c_kids  # the pool is shut down: reaped
stop.set()
th.join()
s = res.spectra
st = s["status"].value_counts().to_dict() if len(s) else {}
kk = s["kk_passed"] if "kk_passed" in s else None
kk_n = int(kk.notna().sum()) if kk is not None else 0
print(json.dumps({
    "wall_s": wall, "elapsed_s": res.elapsed, "import_s": t_imp, "spectra": int(len(s)),
    "status": {str(k): int(v) for k, v in st.items()},
    "kk_tested": kk_n, "kk_passed": int((kk.astype(str) == "True").sum()) if kk_n else 0,
    "fitted_now": res.n_fitted, "cached": res.n_cached, "notes": res.notes,
    "executor": res.options.get("executor"), "n_jobs": res.options.get("n_jobs"),
    "workers_seen": len(pids), "cpu_main_s": cpu_main, "cpu_workers_s": cpu_workers,
    "median_fit_s": float(s["seconds"].median()) if "seconds" in s and len(s) else None,
    "peak_rss_main_mb": peak["main"] / 2**20, "peak_rss_worker_mb": peak["worker"] / 2**20,
    "peak_rss_tree_mb": peak["tree"] / 2**20,
    "maxrss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "maxrss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def run_child(paths, model: str, label: str, **kwargs) -> dict:
    """One ``ef.batch.run`` in a fresh interpreter; returns its measurements."""
    args = {"paths": str(paths), "model": model, "kwargs": {k: (str(v) if isinstance(v, Path) else v)
                                                            for k, v in kwargs.items()}}
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{label}: batch process failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - t
    out["label"] = label
    out["spectra_per_s"] = out["spectra"] / out["wall_s"] if out["wall_s"] > 0 else float("nan")
    out["cpu_cores"] = (out["cpu_main_s"] + out["cpu_workers_s"]) / out["wall_s"]
    out["cpu_ms_per_spectrum"] = (1e3 * (out["cpu_main_s"] + out["cpu_workers_s"]) / out["spectra"]
                                  if out["spectra"] else float("nan"))
    out["load_after"] = os.getloadavg()[0]
    return out


def slope_recovery(growth_csv: Path, arcs: int) -> pd.DataFrame:
    g = pd.read_csv(growth_csv)
    slopes = true_slopes(arcs)
    rows = []
    for _, r in g.iterrows():
        if r["parameter"] not in slopes:
            continue
        c = int(str(r["cell"]).replace("cell", ""))
        t = slopes[r["parameter"]](c)
        rows.append({"cell": r["cell"], "parameter": r["parameter"], "true_slope": t,
                     "slope": r["slope"], "rel_error": (r["slope"] - t) / t,
                     "ci_low": r["slope_ci_low"], "ci_high": r["slope_ci_high"],
                     "ci_contains_truth": bool(r["slope_ci_low"] <= t <= r["slope_ci_high"])})
    return pd.DataFrame(rows)


def fmt_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or ("l" + "r" * (len(headers) - 1))
    def line(r):
        return "  ".join(c.ljust(w[i]) if align[i] == "l" else c.rjust(w[i]) for i, c in enumerate(r))
    return "\n".join([line(cells[0]), "  ".join("-" * x for x in w)] + [line(r) for r in cells[1:]])


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("PASS" if ok else "MISS")


def _status_text(st: dict) -> str:
    return " ".join(f"{k} {v}" for k, v in sorted(st.items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------------------------------
# part (a)
# ---------------------------------------------------------------------------------------
def synthetic(work: Path, sizes: list[int], with3: bool, jobs: int | None, cells: int,
              quick: bool = False) -> dict:
    big = max(sizes)
    common = {"pattern": PATTERN} | ({"n_jobs": jobs} if jobs else {})
    folders = {}
    t = time.perf_counter()
    folders[2] = generate(work / f"spectra2_{big}_{cells}", big, cells=cells, arcs=2)
    if with3:
        folders[3] = generate(work / f"spectra3_{big}_{cells}", big, cells=cells, arcs=3)
    print(f"generated {big} files per model in {time.perf_counter() - t:.1f} s "
          f"({cells} cells × {big // cells} cycles, {NOISE:.1%} noise)", flush=True)

    runs: list[dict] = []

    def one(label, folder, arcs, size, tag, **kw):
        out = work / f"out_{tag}"
        if label != "unchanged re-run" and out.exists():  # a fresh run: no cache from before
            shutil.rmtree(out)
        r = run_child(folder, MODELS[arcs], label, out=out, **common, **kw)
        r.update(arcs=arcs, size=size, tag=tag, kind=label)
        if (out / "growth.csv").exists():
            rec = slope_recovery(out / "growth.csv", arcs)
            r["slopes"] = int(len(rec))
            r["slope_max_rel_err"] = float(rec["rel_error"].abs().max()) if len(rec) else float("nan")
            r["ci_coverage"] = float(rec["ci_contains_truth"].mean()) if len(rec) else float("nan")
            if size == big and label == "default":
                RESULTS.mkdir(exist_ok=True)
                rec.to_csv(RESULTS / f"batch_growth_recovery_{arcs}arc.csv", index=False)
        runs.append(r)
        print(f"  {arcs}-arc {size:6d} files {label:<22s} {r['wall_s']:7.1f} s "
              f"{r['spectra_per_s']:7.0f}/s  (load {r['load_after']:.2f})", flush=True)
        return r

    for size in sorted(sizes):
        folder = folders[2] if size == big else subfolder(folders[2], work / f"sub2_{size}_{cells}",
                                                           size, cells)
        one("default", folder, 2, size, f"2_{size}_default")
    one("fits alone", folders[2], 2, big, f"2_{big}_fits", kk=False, report=False)
    if not quick:  # all from the cache (the report is drawn again)
        one("unchanged re-run", folders[2], 2, big, f"2_{big}_default")
    small = min(sizes)
    small_folder = folders[2] if small == big else work / f"sub2_{small}_{cells}"
    one("KK on, report off", small_folder, 2, small, f"2_{small}_kknoreport", report=False)
    one("fits alone", small_folder, 2, small, f"2_{small}_fits", kk=False, report=False)
    if with3:
        one("default", folders[3], 3, big, f"3_{big}_default")
        one("fits alone", folders[3], 3, big, f"3_{big}_fits", kk=False, report=False)
    return {"folders": {k: str(v) for k, v in folders.items()}, "runs": runs, "sizes": sizes,
            "big": big, "cells": cells}


def print_synthetic(res: dict, cores: int) -> dict:
    runs = res["runs"]
    big = res["big"]
    print(f"\n(a) generated folders: {res['cells']} cells, 2-arc model {MODELS[2]!r} on 40 points "
          f"100 kHz–0.1 Hz, 3-arc model {MODELS[3]!r} on 50 points 100 kHz–10 mHz, "
          f"{NOISE:.1%} noise; one fresh process per row; {cores} cores\n")
    rows = []
    for r in runs:
        kk = f"{r['kk_passed']}/{r['kk_tested']}" if r["kk_tested"] else "off"
        slope = (f"{r['slope_max_rel_err']:.2%} / {r['ci_coverage']:.0%} of {r['slopes']}"
                 if r.get("slopes") else "—")
        rows.append([f"{r['arcs']}-arc", r["size"], r["kind"], f"{r['wall_s']:.1f}",
                     f"{r['spectra_per_s']:.0f}",
                     f"{r['cpu_cores']:.2f}", f"{r['cpu_ms_per_spectrum']:.1f}",
                     f"{r['peak_rss_main_mb']:.0f}",
                     f"{r['peak_rss_worker_mb']:.0f}", f"{r['peak_rss_tree_mb']:.0f}",
                     f"{r['fitted_now']}/{r['cached']}", _status_text(r["status"]), kk, slope])
    print(fmt_table(["model", "files", "run", "wall s", "spectra/s", "CPU cores", "CPU ms/spec",
                     "RSS main MB", "RSS worker MB", "RSS tree MB", "fitted/cached", "status",
                     "KK passed", "slope max err / CI cover"], rows, "lrlrrrrrrrrlrl"))
    print("\nwall s = the ef.batch.run call (imports excluded, ≈ "
          f"{np.median([r['import_s'] for r in runs]):.1f} s per process); CPU cores = user+sys "
          "of the main process and its workers / wall; CPU ms/spec = that CPU time / spectra "
          "(independent of other load on the machine); RSS sampled every 50 ms over the process "
          "tree; fitted/cached = files fitted now / taken from the cache.")

    # where the time goes (smallest size, same folder, three configurations)
    small = min(res["sizes"])
    by = {(r["arcs"], r["size"], r["kind"]): r for r in runs}
    d = by.get((2, small, "default"))
    k = by.get((2, small, "KK on, report off"))
    f = by.get((2, small, "fits alone"))
    if d and k and f:
        print(f"\nwhere the time goes, 2-arc, {small} files: fits alone {f['wall_s']:.1f} s; "
              f"+ KK {k['wall_s'] - f['wall_s']:+.1f} s; + report (figures, DRT of the spectra "
              f"drawn) {d['wall_s'] - k['wall_s']:+.1f} s = {d['wall_s']:.1f} s. Main-process CPU: "
              f"{f['cpu_main_s']:.1f} / {k['cpu_main_s']:.1f} / {d['cpu_main_s']:.1f} s, workers "
              f"{f['cpu_workers_s']:.1f} / {k['cpu_workers_s']:.1f} / {d['cpu_workers_s']:.1f} s; "
              f"median time per spectrum in the worker (spectra.csv 'seconds') "
              f"{1e3 * (f['median_fit_s'] or np.nan):.1f} / {1e3 * (k['median_fit_s'] or np.nan):.1f}"
              f" / {1e3 * (d['median_fit_s'] or np.nan):.1f} ms")

    # targets
    verdicts = {}
    trows = []
    for arcs in (2, 3):
        r = by.get((arcs, big, "default"))
        if r:
            ok = r["spectra_per_s"] >= TARGET_DEFAULT if big >= 10000 and cores == 2 else None
            verdicts[f"default_{arcs}arc"] = verdict(ok)
            trows.append([f"default batch (KK + report), {arcs}-arc, {big} files",
                          f"≥ {TARGET_DEFAULT:.0f}/s", f"{r['spectra_per_s']:.0f}/s "
                          f"(CPU bound ≤ {cores * 1e3 / r['cpu_ms_per_spectrum']:.0f}/s)",
                          verdict(ok)])
        r = by.get((arcs, big, "fits alone"))
        if r:
            ok = r["spectra_per_s"] >= TARGET_FITS if big >= 10000 and cores == 2 else None
            verdicts[f"fits_{arcs}arc"] = verdict(ok)
            trows.append([f"fits alone (kk=False, report=False), {arcs}-arc, {big} files",
                          f"≥ {TARGET_FITS:.0f}/s", f"{r['spectra_per_s']:.0f}/s "
                          f"(CPU bound ≤ {cores * 1e3 / r['cpu_ms_per_spectrum']:.0f}/s)",
                          verdict(ok)])
    defaults2 = sorted((r for r in runs if r["arcs"] == 2 and r["kind"] == "default"),
                       key=lambda r: r["size"])
    if len(defaults2) >= 2:
        a, b = defaults2[0], defaults2[-1]
        rel = lambda x, y: x / y - 1 if y > 0 else float("nan")
        gm = rel(b["peak_rss_main_mb"], a["peak_rss_main_mb"])
        gw = rel(b["peak_rss_worker_mb"], a["peak_rss_worker_mb"])
        per_k = (b["peak_rss_tree_mb"] - a["peak_rss_tree_mb"]) / ((b["size"] - a["size"]) / 1000)
        ok = bool(np.isfinite(gm) and np.isfinite(gw) and max(gm, gw) <= TARGET_MEM_GROWTH)
        verdicts["memory_flat"] = verdict(ok)
        trows.append([f"peak RSS flat in files ({a['size']} → {b['size']}, default runs)",
                      f"≤ +{TARGET_MEM_GROWTH:.0%}",
                      f"main {gm:+.0%}, worker {gw:+.0%} (tree {per_k:+.1f} MB per 1,000 files)",
                      verdict(ok)])
    print()
    print(fmt_table(["target", "goal", "measured", "verdict"], trows, "lllr"))
    if big < 10000 or cores != 2:
        print(f"(verdicts need 10,000 files on 2 cores; this run: {big} files, {cores} cores)")
    stacked = stacked_solver()
    print(f"CPU bound = {cores} cores / (CPU ms per spectrum): the rate if the run had the "
          "cores to itself and used them fully; the verdict is on the measured rate.")
    print(f"stacked solver: {stacked}")
    return verdicts


def stacked_solver() -> str:
    """The batch's default fitting mode (the rows above use the defaults)."""
    import inspect

    import eisfit as ef

    on = inspect.signature(ef.batch.run).parameters["stacked"].default
    return ("on by default (ef.batch.run(stacked=True): blocks of one model fitted by the "
            "stacked LM)" if on else "off by default (spectra fitted one by one)")


# ---------------------------------------------------------------------------------------
# peers on a sample of the generated spectra
# ---------------------------------------------------------------------------------------
def perturbed_start(truth: dict, rng) -> dict:
    out = {}
    for k, v in truth.items():
        if k.endswith("_n"):
            out[k] = float(np.clip(v + rng.uniform(-0.1, 0.1), 0.5, 1.0))
        else:
            out[k] = float(v * np.exp(rng.uniform(-np.log(3), np.log(3))))
    return out


def pyimpspec_cdc(arcs: int, p: dict) -> str:
    arc = lambda i: f"(R{{R={p[f'R{i}']:.6g}}}Q{{Y={p[f'Q{i}_Q']:.6g},n={p[f'Q{i}_n']:.6g}}})"
    return f"R{{R={p['R0']:.6g}}}" + "".join(arc(i) for i in range(1, arcs + 1))


def sample_spectra(folder: Path, arcs: int, k: int) -> list[tuple]:
    """``k`` files spread over cells and cycles: (freq, Z, truth)."""
    files = sorted(folder.glob("*.csv"))
    idx = np.linspace(0, len(files) - 1, k).round().astype(int)
    out = []
    for i in idx:
        f = files[i]
        d = np.loadtxt(f, delimiter=",", skiprows=1)
        cell = int(f.stem.split("_")[0].replace("cell", ""))
        cyc = int(f.stem.split("cycle")[1])
        truth = {n: float(v) for n, v in truth_params(cell, np.array(cyc), arcs).items()}
        out.append((d[:, 0], d[:, 1] + 1j * d[:, 2], truth))
    return out


def resist_ok(values: dict, truth: dict) -> bool:
    return all(k in values and abs(values[k] / truth[k] - 1) <= 0.05
               for k in truth if k.startswith("R"))


def peers(folders: dict, k: int, k_auto: int) -> dict:
    import eisfit as ef

    warnings.simplefilter("ignore")
    out = {}
    try:
        from impedance.models.circuits import CustomCircuit
    except ImportError:
        CustomCircuit = None
    try:
        import pyimpspec
    except ImportError:
        pyimpspec = None
    for arcs, folder in folders.items():
        sample = sample_spectra(Path(folder), arcs, k)
        rng = np.random.default_rng(1234 + arcs)
        starts = [perturbed_start(tr, rng) for _, _, tr in sample]
        names = list(ef.parse(MODELS[arcs]).parameters)
        res = {}
        # eisfit, one process, no start (reference)
        ef.fit(MODELS[arcs], ef.Spectrum(sample[0][0], sample[0][1]))  # warm-up
        ts, oks = [], []
        for f, Z, tr in sample:
            t = time.perf_counter()
            r = ef.fit(MODELS[arcs], ef.Spectrum(f, Z))
            ts.append(time.perf_counter() - t)
            oks.append(bool(r.success) and resist_ok(dict(r.values), tr))
        res["eisfit ef.fit (1 process, no start)"] = {"ms": 1e3 * float(np.median(ts)),
                                                     "ok": float(np.mean(oks)), "n": len(ts)}
        if CustomCircuit is None:
            res["impedance.py"] = {"status": "not installed"}
        else:
            ts, oks = [], []
            for (f, Z, tr), g in zip(sample, starts):
                cc = CustomCircuit(IMPY[arcs], initial_guess=[g[n] for n in names])
                t = time.perf_counter()
                try:
                    cc.fit(f, Z, weight_by_modulus=True)
                    ok = resist_ok(dict(zip(names, cc.parameters_)), tr)
                except Exception:  # a peer failing is a result
                    ok = False
                ts.append(time.perf_counter() - t)
                oks.append(ok)
            res["impedance.py"] = {"ms": 1e3 * float(np.median(ts)), "ok": float(np.mean(oks)),
                                   "n": len(ts)}
        if pyimpspec is None:
            res["pyimpspec"] = {"status": "not installed"}
        else:
            def pyi(f, Z, g, **kw):
                circ = pyimpspec.parse_cdc(pyimpspec_cdc(arcs, g))
                t = time.perf_counter()
                try:
                    fr = pyimpspec.fit_circuit(circ, pyimpspec.DataSet(f, Z), num_procs=1, **kw)
                    vals = [v for e in fr.circuit.get_elements() for v in e.get_values().values()]
                    ok = resist_ok(dict(zip(names, vals)), tr)
                except Exception:
                    ok = False
                return time.perf_counter() - t, ok
            pyi(sample[0][0], sample[0][1], starts[0], method="least_squares", weight="modulus")
            ts, oks = [], []
            for (f, Z, tr), g in zip(sample, starts):
                t, ok = pyi(f, Z, g, method="least_squares", weight="modulus")
                ts.append(t)
                oks.append(ok)
            res["pyimpspec"] = {"ms": 1e3 * float(np.median(ts)), "ok": float(np.mean(oks)),
                                "n": len(ts)}
            if k_auto and arcs == 2:
                ts, oks = [], []
                for (f, Z, tr), g in list(zip(sample, starts))[:k_auto]:
                    t, ok = pyi(f, Z, g)
                    ts.append(t)
                    oks.append(ok)
                res["pyimpspec (method/weight 'auto', its default)"] = {
                    "ms": 1e3 * float(np.median(ts)), "ok": float(np.mean(oks)), "n": len(ts)}
        out[arcs] = res
    return out


def print_peers(pres: dict, syn: dict) -> None:
    by = {(r["arcs"], r["size"], r["kind"]): r for r in syn["runs"]}
    big = syn["big"]
    print(f"\npeers: per-spectrum fit time on a sample of the {big}-file folders, one process, "
          "same circuit; peers from truth × log-uniform [1/3, 3] (n ± 0.1); ok = all "
          "resistances within 5 %")
    rows = []
    for arcs, res in pres.items():
        d = by.get((arcs, big, "default"))
        fa = by.get((arcs, big, "fits alone"))
        per_d = 1e3 / d["spectra_per_s"] if d else float("nan")
        per_f = 1e3 / fa["spectra_per_s"] if fa else float("nan")
        rows.append([f"{arcs}-arc", "eisfit batch, default (KK + report, all cores)",
                     "—", f"{per_d:.2f}", "—", "—", "—"])
        rows.append([f"{arcs}-arc", "eisfit batch, fits alone (all cores)", "—", f"{per_f:.2f}",
                     "—", "—", "—"])
        for tool, r in res.items():
            if "status" in r:
                rows.append([f"{arcs}-arc", tool, "—", r["status"], "—", "—", "—"])
                continue
            rows.append([f"{arcs}-arc", tool, r["n"], f"{r['ms']:.2f}", f"{r['ok']:.0%}",
                         f"{per_d / r['ms']:.3f}", f"{per_f / r['ms']:.3f}"])
    print(fmt_table(["model", "tool", "n", "ms/spectrum", "ok", "batch default / this",
                     "batch fits / this"], rows, "llrrrrr"))
    print("batch ms/spectrum = wall time of the run / spectra (wall, 2 workers); peers and "
          "ef.fit: median of single fits in this process. Ratio < 1: the eisfit batch takes "
          "less time per spectrum than the peer's fit alone.")


# ---------------------------------------------------------------------------------------
# part (b): Zhang 2020
# ---------------------------------------------------------------------------------------
def zhang(work: Path, data: Path, jobs: int | None, quick: bool, extra_jobs2: bool) -> dict:
    if not data.exists():
        print(f"\n(b) Zhang 2020: {data} not found — skipped")
        return {"skipped": str(data)}
    src = data
    if quick:  # the first 10 cycles of the first 3 cells, same layout
        df = pd.read_csv(data)
        df = df[df["seriesIdx"].isin(sorted(df["seriesIdx"].unique())[:3])]
        df = df[df["cycle"] <= df.groupby("seriesIdx")["cycle"].transform("min") + 9]
        src = work / "zhang_quick" / data.name
        src.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(src, index=False)
    kw = {"cell_column": "seriesIdx", "order_by": "cycle", "groups": ZHANG_GROUPS}
    runs = []
    for d in ("zhang_out", "zhang_out_j2"):  # fresh runs: no cache from before
        shutil.rmtree(work / d, ignore_errors=True)
    r = run_child(src, ZHANG_MODEL, "default", out=work / "zhang_out", **kw,
                  **({"n_jobs": jobs} if jobs else {}))
    runs.append(r)
    print(f"  Zhang default {r['wall_s']:.1f} s {r['spectra_per_s']:.0f}/s", flush=True)
    if extra_jobs2:
        r2 = run_child(src, ZHANG_MODEL, "n_jobs=2 (diagnostic)", out=work / "zhang_out_j2",
                       **kw, n_jobs=2)
        runs.append(r2)
        print(f"  Zhang n_jobs=2 {r2['wall_s']:.1f} s {r2['spectra_per_s']:.0f}/s", flush=True)
    p = pd.read_csv(work / "zhang_out" / "parameters.csv", low_memory=False)
    s = pd.read_csv(work / "zhang_out" / "spectra.csv", low_memory=False)
    meta_ok = {c: c in p.columns for c in ("Q", "q", "cycle", "seriesIdx")}
    corr = []
    if meta_ok["Q"]:
        sub = p[p["parameter"].isin(["interfacial", "R0", "R1", "R2", "R3"])]
        wide = sub.pivot_table(index=["cell", "cycle", "Q"], columns="parameter",
                               values="value").reset_index()
        st = s.groupby("cell")["status"].value_counts().unstack(fill_value=0)
        for cell, g in wide.groupby("cell"):
            g = g.sort_values("cycle")
            row = {"cell": str(cell), "n": int(len(g)),
                   "cycles": f"{int(g['cycle'].min())}–{int(g['cycle'].max())}",
                   "Q_first": float(g["Q"].iloc[0]), "Q_last": float(g["Q"].iloc[-1]),
                   "interfacial_first": float(g["interfacial"].iloc[0]),
                   "interfacial_last": float(g["interfacial"].iloc[-1]),
                   "ok": int(st.loc[cell].get("ok", 0)) if cell in st.index else 0}
            for prm in ("interfacial", "R0"):
                ok = g[[prm, "Q"]].dropna()
                row[f"r_{prm}"] = (float(np.corrcoef(ok[prm], ok["Q"])[0, 1])
                                   if len(ok) > 2 and ok[prm].std() > 0 and ok["Q"].std() > 0
                                   else float("nan"))
            corr.append(row)
        RESULTS.mkdir(exist_ok=True)
        pd.DataFrame(corr).to_csv(RESULTS / "zhang2020_resistance_vs_capacity.csv", index=False)
    return {"source": str(src), "runs": runs, "meta_columns": meta_ok, "cells": corr,
            "kk_passed": int((s["kk_passed"].astype(str) == "True").sum()) if "kk_passed" in s else 0}


def print_zhang(z: dict, cores: int) -> None:
    if "skipped" in z:
        return
    print(f"\n(b) Zhang 2020: {Path(z['source']).name}, one wide table, model {ZHANG_MODEL!r}, "
          "cell_column='seriesIdx', order_by='cycle', groups interfacial = R1 + R2\n")
    rows = []
    for r in z["runs"]:
        rows.append([r["label"], r["spectra"], f"{r['wall_s']:.1f}", f"{r['spectra_per_s']:.1f}",
                     f"{r['cpu_main_s']:.1f}", f"{r['cpu_workers_s']:.1f}",
                     f"{r['cpu_cores']:.2f} of {cores}", f"{r['workers_seen']}",
                     f"{r['peak_rss_main_mb']:.0f}", f"{r['peak_rss_worker_mb']:.0f}",
                     _status_text(r["status"]), f"{r['kk_passed']}/{r['kk_tested']}"])
    print(fmt_table(["run", "spectra", "wall s", "spectra/s", "CPU main s", "CPU workers s",
                     "CPU cores used", "worker procs", "RSS main MB", "RSS worker MB", "status",
                     "KK passed"], rows, "lrrrrrrrrrlr"))
    d = z["runs"][0]
    if d["workers_seen"] == 0:
        print(f"note: the default run used no worker process (executor {d['executor']!r}): "
              "ef.batch.run picks one process for ≤ 40 files, and this is one file of "
              f"{d['spectra']} spectra — one of {cores} cores does the work.")
    print("metadata columns in the tables: "
          + ", ".join(f"{k} {'yes' if v else 'MISSING'}" for k, v in z["meta_columns"].items()))
    if z["cells"]:
        rows = [[c["cell"], c["n"], c["cycles"], c["ok"], f"{c['Q_first']:.2f} → {c['Q_last']:.2f}",
                 f"{c['interfacial_first']:.3f} → {c['interfacial_last']:.3f}",
                 f"{c['r_interfacial']:+.2f}", f"{c['r_R0']:+.2f}"] for c in z["cells"]]
        print()
        print(fmt_table(["cell", "spectra", "cycles", "ok", "Q mAh first → last",
                         "R1+R2 Ω first → last", "r(R1+R2, Q)", "r(R0, Q)"], rows, "lrlrrrrr"))
        print("r = Pearson correlation over the cell's spectra (negative: resistance grows as "
              "capacity fades).")


# ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["synthetic", "zhang", "all"])
    ap.add_argument("--quick", action="store_true", help="4 cells, 100 and 400 files, 30 Zhang spectra (≈ 1 min)")
    ap.add_argument("--sizes", default=None, help="comma-separated folder sizes (default 1000,2500,10000)")
    ap.add_argument("--no-3arc", action="store_true", help="skip the 3-arc model")
    ap.add_argument("--jobs", type=int, default=None, help="n_jobs (default: the library's default)")
    ap.add_argument("--no-peers", action="store_true", help="skip impedance.py and pyimpspec")
    ap.add_argument("--peer-n", type=int, default=None, help="spectra per model for the peers")
    ap.add_argument("--data", type=Path, default=ZHANG)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="keep generated folders and outputs here (default: a temporary folder)")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if a.sizes:
        sizes = [int(s) for s in a.sizes.split(",")]
    else:
        sizes = [100, 400] if a.quick else [1000, 2500, 10000]
    cells = 4 if a.quick else CELLS
    with3 = not a.no_3arc and not a.quick
    peer_n = a.peer_n or (8 if a.quick else 40)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    t0 = time.perf_counter()
    print(f"bench_batch {a.what}{' --quick' if a.quick else ''}: {cores} cores, load average "
          f"{os.getloadavg()[0]:.2f} at the start", flush=True)
    results: dict = {"python": sys.version.split()[0], "cores": cores, "quick": a.quick}
    verdicts = {}
    with tempfile.TemporaryDirectory(prefix="eisfit-bench-batch-") as tmp:
        work = a.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        syn = z = pres = None
        if a.what in ("synthetic", "all"):
            syn = synthetic(work, sizes, with3, a.jobs, cells, a.quick)
            results["synthetic"] = syn
            if not a.no_peers:
                pres = peers({k: v for k, v in syn["folders"].items()}, peer_n,
                             0 if a.quick else 3)
                results["peers"] = {str(k): v for k, v in pres.items()}
        if a.what in ("zhang", "all"):
            z = zhang(work, a.data, a.jobs, a.quick, extra_jobs2=not a.quick and a.jobs is None)
            results["zhang2020"] = z
        RESULTS.mkdir(exist_ok=True)  # the measurements first, then the tables
        (RESULTS / f"bench_batch_{a.what}{'_quick' if a.quick else ''}.json").write_text(
            json.dumps(results, indent=2, default=str))
        if syn is not None:
            verdicts.update(print_synthetic(syn, cores))
            if pres is not None:
                print_peers(pres, syn)
            else:
                print("\npeers: skipped (--no-peers)")
        if z is not None:
            print_zhang(z, cores)
    results["verdicts"] = verdicts
    wall = time.perf_counter() - t0
    print(f"\ntotal wall time {wall:.0f} s; load average at the end {os.getloadavg()[0]:.2f} "
          f"(1 min), {os.getloadavg()[1]:.2f} (5 min) on {cores} cores")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench_batch_{a.what}{'_quick' if a.quick else ''}.json").write_text(
        json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
