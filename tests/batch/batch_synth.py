"""Simulated spectra with known, linearly growing resistances (helpers for the batch tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import eisfit as ef

MODEL = "R0 - (R1 | Q1) - (R2 | Q2)"
PATTERN = "{cell}_cycle{cycle:d}"
FREQ = np.logspace(5, -1, 41)


def truth(cell: int, cycle: int) -> dict[str, float]:
    """Known parameters: R1 grows 1.5 Ω/cycle, R2 4 Ω/cycle, R0 0.05 Ω/cycle."""
    return {
        "R0": 10.0 + 0.05 * cycle + cell,
        "R1": 20.0 + 1.5 * cycle + 3 * cell,
        "Q1_Q": 2e-6,
        "Q1_n": 0.92,
        "R2": 60.0 + 4.0 * cycle,
        "Q2_Q": 5e-3,
        "Q2_n": 0.85,
    }


def write_spectrum(path: Path, spec: ef.Spectrum) -> Path:
    """CSV with a header the table reader recognises (standard sign of Im Z)."""
    lines = ["freq_Hz,z_real_ohm,z_imag_ohm"]
    lines += [f"{f:.10g},{z.real:.10g},{z.imag:.10g}" for f, z in zip(spec.freq, spec.Z)]
    path.write_text("\n".join(lines) + "\n")
    return path


def make_folder(root: Path, cells=2, cycles=6, noise=0.003, seed=0, model=MODEL) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for c in range(cells):
        for k in range(1, cycles + 1):
            spec = ef.simulate(model, FREQ, truth(c, k), noise=noise, seed=seed + 100 * c + k)
            write_spectrum(root / f"cell{c}_cycle{k}.csv", spec)
    return root




def run_batch(folder, out, **kw):
    """``ef.batch.run`` of a ``make_folder`` folder: its pattern, one process, no report."""
    kw.setdefault("pattern", PATTERN)
    kw.setdefault("n_jobs", 1)
    kw.setdefault("report", False)
    return ef.batch.run(folder, MODEL, out=out, **kw)
