"""Timing of ``ef.kk`` per 71-point spectrum, side by side with impedance.py's ``linKK``.

Run from the repository root::

    python benchmarks/bench_kk.py [--repeat 30]

Prints a table (median wall time per spectrum, chosen M and verdict for both tools, and the
ratio). impedance.py 1.7.1's ``linKK`` raises ``NameError`` under NumPy 2; that failure is
caught and reported in the table instead of a time.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

import eisfit as ef

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
F71 = np.logspace(5, -2, 71)


def _rc_ladder(R0, pairs, noise=0.0, seed=None) -> ef.Spectrum:
    """R0 - (R1|C1) - … on the 71-point grid, simulated with eisfit (modulus noise)."""
    values = {"R0": R0}
    for k, (R, C) in enumerate(pairs, start=1):
        values[f"R{k}"], values[f"C{k}"] = R, C
    return ef.simulate(ef.ladder(len(pairs), "RC"), F71, values, noise=noise, seed=seed)


def spectra() -> list[tuple[str, ef.Spectrum]]:
    out = [
        (
            "R-(RC)-(RC), 0.1 % noise",
            _rc_ladder(0.1, [(0.2, 0.025), (0.5, 4.0)], 1e-3, 1),
        ),
        (
            "R-(RC)x3 battery, 0.5 % noise",
            _rc_ladder(0.02, [(0.01, 0.01), (0.03, 3.3), (0.05, 1e3)], 5e-3, 2),
        ),
        ("R-(RC)-(RC), exact", _rc_ladder(0.1, [(0.2, 0.025), (0.5, 4.0)])),
    ]
    real = SHARED / "hybrid-drt_solid-state" / "tutorials" / "EISGALV_EISTest3.DTA"
    if real.is_file():
        out.append(("Gamry GALVEIS (real, 71 pts)", ef.read(real)[0]))
    return out


def _median_time(fn, repeat: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args(argv)
    try:
        from impedance.validation import linKK
    except ImportError:  # pragma: no cover
        linKK = None

    rows = []
    for name, s in spectra():
        f, Z = s.active()
        t_ef = _median_time(lambda s=s: ef.kk(s), args.repeat)
        r = ef.kk(s)
        ef_cell = f"{1e3 * t_ef:8.2f} ms  M={r.M:<3d} {'pass' if r.passed else 'FAIL'}"
        if linKK is None:
            imp_cell, ratio = "not installed", "n/a"
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    M_imp, mu_imp, *_ = linKK(
                        f, Z, c=0.5, max_M=100, fit_type="complex", add_cap=True
                    )
                    t_imp = _median_time(
                        lambda f=f, Z=Z: linKK(
                            f, Z, c=0.5, max_M=100, fit_type="complex", add_cap=True
                        ),
                        max(3, args.repeat // 5),
                    )
                imp_cell = f"{1e3 * t_imp:8.2f} ms  M={M_imp:<3d}"
                ratio = f"{t_imp / t_ef:6.1f}x"
            except Exception as exc:  # impedance 1.7.1 + NumPy 2: NameError inside linKK
                imp_cell = f"fails: {type(exc).__name__}: {exc}"[:44]
                ratio = "n/a"
        rows.append((name, len(f), ef_cell, imp_cell, ratio))

    head = ("spectrum", "pts", "eisfit kk (median)", "impedance.py linKK (median)", "ratio")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(5)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(
        f"numpy {np.__version__}; eisfit kk: c=0.5 (default); linKK: c=0.5, max_M=100, add_cap=True"
    )
    print(line.format(*head))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))


if __name__ == "__main__":
    main()
