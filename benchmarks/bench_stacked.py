"""Stacked fits vs one spectrum at a time: throughput, success and agreement.

Part (a) — the fitter. 500 simulated spectra of ``R0 - (R1|Q1) - (R2|Q2)`` on one grid
(40 points, 100 kHz–0.1 Hz, 0.5 % complex noise relative to |Z|): a cell ageing along the
sequence (R0 +20 %, R1 ×2, R2 ×3 from first to last, time constants fixed), in order.

* serial: ``ef.fit(model, s, init=prev)`` in order, ``prev`` the last successful result
  (the first cold), and a cold ``ef.fit`` for a spectrum whose warm fit fails (what a batch
  does);
* stacked: the first cold, then ``ef.fitting.fit_stacked`` in blocks of B spectra (B = 16,
  the batch's block, and B = 500), each block started from the last result before it;
  "chain" (what the batch uses): each spectrum from its predecessor's result, solved by
  stacked passes (the serial sequence's results); without: every spectrum of a block from
  the block's start.

Both include everything ``ef.fit`` does (the Kramers–Kronig reference the verdict needs, the
result with its uncertainties); the reference cache is emptied before each method. Reported:
fits/s (best of ``--repeat``; also per CPU second of this process, less sensitive to other
load on the machine), success rate, resistances within 5 % of the truth, and the
largest |stacked − serial| / stderr over all parameters. A second rate, "solver + result",
has the references computed beforehand and looked up (a batch computes them for its KK
column anyway).

Part (b) — the batch. The same 500 spectra as CSV files (5 cells × 100 cycles, one file per
spectrum), ``ef.batch.run(folder, model, pattern=..., report=False)`` with and without
``stacked=True``, KK on, on all cores (``--jobs``), fresh output folder per run, best of
``--repeat``: spectra/s and status counts.

Usage::

    python benchmarks/bench_stacked.py [--n 500] [--repeat 2] [--jobs N] [--no-batch] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's eisfit

import eisfit as ef  # noqa: E402
from eisfit.fitting import fitter, verdict  # noqa: E402
from eisfit.fitting.stacked import fit_stacked  # noqa: E402

MODEL = ef.parse("R0 - (R1 | Q1) - (R2 | Q2)")
F = np.logspace(5, -1, 40)


def truth(k: int, n: int) -> dict[str, float]:
    a = k / max(n - 1, 1)
    r0, r1, r2 = 10 * (1 + 0.2 * a), 50 * (1 + a), 120 * (1 + 2 * a)
    return dict(R0=r0, R1=r1, Q1_Q=1e-4**0.9 / r1, Q1_n=0.9, R2=r2, Q2_Q=0.1**0.8 / r2,
                Q2_n=0.8)


def spectra(n: int) -> list[ef.Spectrum]:
    return [ef.simulate(MODEL, F, truth(k, n), noise=0.005, seed=k) for k in range(n)]


def serial(specs) -> list:
    out, prev = [], None
    for s in specs:
        r = ef.fit(MODEL, s, init=prev)
        if prev is not None and not r.success:
            cold = ef.fit(MODEL, s)
            if cold.success or cold.chi2 < r.chi2:
                r = cold
        out.append(r)
        if r.success:
            prev = r
    return out


def stacked(specs, block: int, chain: bool) -> list:
    first = ef.fit(MODEL, specs[0])
    out, prev = [first], first
    for b in range(1, len(specs), block):
        got = fit_stacked(MODEL, specs[b:b + block], prev, chain=chain)
        out += got
        prev = next((r for r in reversed(got) if r.success), prev)
    return out


def timed(fn, specs, repeat: int, refs_first: bool) -> tuple[float, float, list]:
    """Best wall time and best CPU time of ``fn(specs)``; with ``refs_first`` the
    Kramers–Kronig references are computed beforehand (untimed) and looked up."""
    from eisfit.fitting import stacked as stacked_module

    best, best_cpu, res = np.inf, np.inf, None
    for _ in range(repeat):
        verdict._REFERENCES.clear()
        real = fitter.reference
        if refs_first:
            table = {}
            for s in specs:
                f, z = fitter._as_data(s)[:2]
                table[f.tobytes(), z.tobytes()] = real(f, z)
            lookup = lambda f, z, M_start=None: table[f.tobytes(), z.tobytes()]  # noqa: E731
            fitter.reference = stacked_module.reference = lookup
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            res = fn(specs)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        finally:
            fitter.reference = stacked_module.reference = real
    return best, best_cpu, res


def quality(res, n) -> tuple[float, float]:
    ok = np.mean([r.success for r in res])
    close = np.mean([all(abs(r.values[p] / truth(k, n)[p] - 1) < 0.05 for p in ("R0", "R1", "R2"))
                     for k, r in enumerate(res)])
    return float(ok), float(close)


def agreement(a, b) -> float:
    worst = 0.0
    for x, y in zip(a, b):
        for p in x.parameter_names:
            se = x.stderr[p]
            if np.isfinite(se) and se > 0:
                worst = max(worst, abs(x.values[p] - y.values[p]) / se)
    return worst


def table(rows, head) -> str:
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).rjust(w[i]) if i else str(c).ljust(w[i])  # noqa: E731
                               for i, c in enumerate(r))
    return "\n".join([line(head), line(["-" * x for x in w])] + [line(r) for r in rows])


def part_a(n: int, repeat: int) -> None:
    specs = spectra(n)
    serial(specs[:20])  # warm up imports and caches
    methods = [("serial ef.fit, warm", serial)]
    methods += [(f"fit_stacked, blocks of {b}{', chain' if c else ''}",
                 (lambda s, b=b, c=c: stacked(s, b, c)))
                for b, c in ((16, True), (n, True), (16, False), (n, False))]
    rows, base = [], None
    for name, fn in methods:
        t_all, c_all, res = timed(fn, specs, repeat, refs_first=False)
        t_fit, c_fit, res2 = timed(fn, specs, repeat, refs_first=True)
        assert agreement(res, res2) == 0.0  # the lookup changes nothing but the time
        ok, close = quality(res, n)
        base = base or res
        rows.append([name, f"{n / t_all:.0f}", f"{n / c_all:.0f}", f"{n / t_fit:.0f}",
                     f"{n / c_fit:.0f}", f"{ok:.1%}", f"{close:.1%}",
                     f"{agreement(base, res):.1e}" if res is not base else "—"])
    print(f"(a) the fitter: {n} spectra, 2 arcs, 40 points, one grid, ageing along the sequence")
    print(table(rows, ["method", "fits/s", "per CPU-s", "solver+result fits/s", "per CPU-s",
                       "success", "R within 5 %", "max |Δ|/stderr vs serial"]))


def part_b(n: int, repeat: int, jobs: int | None) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench_stacked_"))
    try:
        data = root / "data"
        data.mkdir()
        cells = 5
        per = n // cells
        for c in range(cells):
            for k, s in enumerate(spectra(per)):
                z = s.Z * (1 + 0.05 * c)
                lines = ["freq_Hz,z_real_ohm,z_imag_ohm"]
                lines += [f"{f:.10g},{v.real:.10g},{v.imag:.10g}" for f, v in zip(s.freq, z)]
                (data / f"cell{c}_cycle{k + 1}.csv").write_text("\n".join(lines) + "\n")
        kw = dict(pattern="{cell}_cycle{cycle:d}", report=False, n_jobs=jobs)
        ef.batch.run(data, str(MODEL), out=root / "warmup", **kw)
        best: dict[bool, tuple[float, dict]] = {}
        runs = 0
        for _ in range(repeat):
            for st in (False, True):
                runs += 1
                t0 = time.perf_counter()
                r = ef.batch.run(data, str(MODEL), out=root / f"o{runs}", stacked=st, **kw)
                t = time.perf_counter() - t0
                counts = r.spectra["status"].value_counts().to_dict()
                if st not in best or t < best[st][0]:
                    best[st] = (t, counts)
        import inspect

        default = inspect.signature(ef.batch.run).parameters["stacked"].default
        rows = [[f"stacked={st}" + (" (default)" if st == default else ""), f"{n / t:.0f}",
                 f"{t:.2f}", str(counts)] for st, (t, counts) in best.items()]
        print()
        print(f"(b) ef.batch.run: {n} CSV files ({cells} cells), KK on, report off, "
              f"n_jobs={jobs or 'default'}")
        print(table(rows, ["batch", "spectra/s", "wall s", "status"]))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--no-batch", action="store_true")
    ap.add_argument("--quick", action="store_true", help="100 spectra, one repeat")
    a = ap.parse_args()
    if a.quick:
        a.n, a.repeat = 100, 1
    warnings.simplefilter("ignore")
    part_a(a.n, a.repeat)
    if not a.no_batch:
        part_b(a.n, a.repeat, a.jobs)


if __name__ == "__main__":
    main()
