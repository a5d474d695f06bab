"""What ``success`` means: the fit verdict's reference and its tests.

A fit is judged against something it did not estimate from itself: the linear
Kramers–Kronig test circuit fitted to the same data (:func:`reference`, cached per
spectrum). The residual as a whole (:data:`NOISE_RATIO_LIMIT`, :data:`NOISE_FLOOR`), every
band of :data:`BAND_POINTS` neighbouring frequencies (:func:`missed_bands`) and the noise
level itself (:data:`MAX_NOISE`) are compared with it; :func:`identifiability` names what
the data cannot determine. :func:`eisfit.fitting.fitter._build_result` turns these into
``FitResult.success``, ``message`` and ``warnings``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..circuit import Circuit
from ..circuit.arcs import beyond_band
from ..data.spectrum import Spectrum
from ..validate.kramers_kronig import KKResult, kk
from .params import ParamSetup

__all__ = ["reference", "missed_bands", "band_hint", "params_at_bound", "identifiability",
           "relative_s", "NOISE_RATIO_LIMIT", "NOISE_FLOOR", "BAND_POINTS", "BAND_FLOOR",
           "MAX_NOISE", "MIN_REFERENCE_POINTS", "REFERENCE_CACHE"]

#: A fit is successful when its residual is within this multiple of the residual of the
#: linear Kramers–Kronig test circuit fitted to the same data (both corrected for their
#: fitted parameters) …
NOISE_RATIO_LIMIT = 2.5
#: … or when its relative RMS residual is below this floor (0.5 % of |Z|); a systematic
#: misfit below the floor is only warned about. Every frequency band is judged too (a model
#: that misses the inductive high-frequency end or a low-frequency tail fails there even if
#: the overall residual is small), against :data:`BAND_FLOOR`.
NOISE_FLOOR = 5e-3
#: Consecutive points of a band checked by the verdict, and the residual below which a
#: band is never called missed (1 % of |Z|: the accuracy instruments quote at the ends of
#: their range, where bands are usually missed).
BAND_POINTS = 5
BAND_FLOOR = 1e-2
#: Noise (relative to |Z|, as the Kramers–Kronig reference estimates it) above which no fit
#: is called a success: a spectrum this noisy holds no structure a circuit could be judged
#: on — white noise is "described" by any model as well as by the reference (10 %: five
#: times the limit of :func:`eisfit.kk`; instruments quote well under 1 %).
MAX_NOISE = 0.10


#: Fewest points on which the fit verdict uses a Kramers–Kronig reference.
MIN_REFERENCE_POINTS = 5


#: Spectra whose reference is kept (first in, first out). A sequence fit judges each
#: spectrum twice (its starting fit, then the joint result): the cache must hold a whole
#: sequence of a few hundred spectra (a reference is a few kB).
REFERENCE_CACHE = 1024
_REFERENCES: dict[tuple[bytes, bytes], KKResult | None] = {}


def reference(freq: np.ndarray, Z: np.ndarray, M_start: int | None = None) -> KKResult | None:
    """The Kramers–Kronig test of the data a fit is judged against (cached per spectrum).

    :func:`fit` compares its residual with this test circuit's residual on the same
    points; fitting several models to one spectrum computes it once. ``None`` for fewer
    than :data:`MIN_REFERENCE_POINTS` points (the verdict then rests on the 0.5 % floor).
    ``M_start`` starts the test's search for its number of elements (see :func:`kk`).
    """
    f = np.ascontiguousarray(freq, float)
    z = np.ascontiguousarray(Z, complex)
    key = (f.tobytes(), z.tobytes())
    if key not in _REFERENCES:
        if f.size < MIN_REFERENCE_POINTS or np.any(z == 0):
            ref = None
        else:
            ref = kk(Spectrum(f, z, _checked=True), M_start=M_start)
        if len(_REFERENCES) >= REFERENCE_CACHE:  # the spectra being fitted now
            _REFERENCES.pop(next(iter(_REFERENCES)))
        _REFERENCES[key] = ref
    return _REFERENCES[key]


def relative_s(zfit: np.ndarray, Z: np.ndarray, p: int) -> float:
    """Relative residual standard deviation, corrected for ``p`` fitted parameters."""
    d = (Z - zfit) / np.abs(Z)
    return float(np.sqrt(np.sum(d.real**2 + d.imag**2) / max(2 * Z.size - p, 1)))


def missed_bands(f: np.ndarray, res: np.ndarray, ref: KKResult) -> list[tuple[float, float, float, float]]:
    """Frequency bands the model misses: ``(f_lo, f_hi, rms there, multiple of reference)``.

    Every run of :data:`BAND_POINTS` consecutive points is compared with the reference
    residual (the larger of its overall level and its level in that run); failing runs
    that touch are merged.
    """
    n = f.size
    k = min(BAND_POINTS, n)
    e2 = np.abs(res) ** 2
    r2 = np.abs(ref.residuals) ** 2
    c = np.concatenate(([0.0], np.cumsum(e2)))
    cr = np.concatenate(([0.0], np.cumsum(r2)))
    fit_w = np.sqrt((c[k:] - c[:-k]) / k)
    ref_w = np.maximum(np.sqrt((cr[k:] - cr[:-k]) / k), ref.s)
    bad = (fit_w > NOISE_RATIO_LIMIT * ref_w) & (fit_w > BAND_FLOOR)
    out = []
    i = 0
    while i < bad.size:
        if not bad[i]:
            i += 1
            continue
        j = i
        while j + 1 < bad.size and bad[j + 1]:
            j += 1
        lo, hi = i, j + k - 1
        e = float(np.sqrt(np.mean(e2[lo:hi + 1])))
        out.append((float(f[lo]), float(f[hi]), e, e / max(float(ref_w[i:j + 1].min()), 1e-300)))
        i = j + 1
    return out


def band_hint(f: np.ndarray, Z: np.ndarray, lo: float, hi: float) -> str:
    sel = (f >= lo) & (f <= hi)
    if lo <= f.min() and hi >= f.max():
        return ""
    if hi >= f.max() and np.median(Z.imag[sel]) > 0:
        return ": the inductive high-frequency part (add L or La)"
    if hi >= f.max():
        return ": the high-frequency end"
    if lo <= f.min():
        return ": the low-frequency tail (a diffusion element or a CPE?)"
    return ""


def params_at_bound(setup: ParamSetup, theta: np.ndarray) -> set[str]:
    out = set()
    for i, n in enumerate(setup.names):
        if setup.column[i] < 0:
            continue
        lo, hi = setup.lo[i], setup.hi[i]
        tol = 1e-6 * max(abs(lo), abs(hi) if np.isfinite(hi) else 0, 1e-300)
        if (np.isfinite(lo) and theta[i] - lo <= max(tol, 1e-9 * abs(theta[i]))) or (
            np.isfinite(hi) and hi - theta[i] <= max(tol, 1e-9 * abs(theta[i]))
        ):
            if not (setup.log[i] and lo == 0):
                out.add(n)
    return out



def identifiability(circuit: Circuit, values: Mapping[str, float], se: np.ndarray,
                    setup: ParamSetup, f: np.ndarray) -> tuple[list[str], list[str]]:
    """Warnings and the names of the parameters the data cannot pin down.

    - an arc or diffusion element whose time constant lies more than
      :data:`~eisfit.circuit.arcs.TAU_BAND_FACTOR` beyond the measured band ``[1/(2π f_max), 1/(2π f_min)]``:
      its resistance is extrapolated, not measured;
    - a free positive parameter whose 95 % confidence interval spans more than a decade.
    """
    out: list[str] = []
    poor: list[str] = []
    hi_tau = 1 / (2 * np.pi * f.min())
    for label, tau in beyond_band(circuit, values, f).items():
        side = "below the lowest" if tau > hi_tau else "above the highest"
        out.append(
            f"{label}: time constant {tau:.3g} s lies {side} measured frequency "
            f"(f = {1 / (2 * np.pi * tau):.3g} Hz, band {f.min():.3g}–{f.max():.3g} Hz); "
            "its resistance is extrapolated, not measured"
        )
        for el in label.split("|"):
            poor += [p for e in circuit.elements if e.name == el for p in e.param_names]
    wide = [n for i, n in enumerate(setup.names)
            if setup.column[i] >= 0 and setup.log[i] and np.isfinite(se[i])
            and values[n] > 0 and 2 * 1.96 * se[i] / values[n] > np.log(10)]
    if wide:
        out.append(f"confidence interval wider than a decade: {', '.join(wide)}")
    poor += [n for n in wide if n not in poor]
    return out, poor
