"""Parametric confirmation of weak DRT peaks.

A regularised DRT cannot tell a separate broad process from a shoulder on its neighbour's
flank: the merged alternative (γ monotone from the valley to the taller peak) fits nearly
as well, so the DRT-only significance of such a peak is low (z ≈ 1–3) — and noise ripples
reach the same values. Written as arcs, the data decide: the spectrum is fitted with R∞
(and L when the DRT has one) plus one R‖CPE arc per candidate peak, started from the
peaks' time constants, areas and widths, and again without each weak candidate. A weak
candidate is a process of its own when dropping it costs more than the Bayesian
information criterion charges for its three parameters::

    ΔBIC = m · ln(χ²_without / χ²_with) − 3 · ln m  >  0      (m = 2N residuals)

A finite-length diffusion element shows in the DRT as a train of peaks (its modes at
τ/9, τ/25 … or τ/4, τ/9 …); arcs alone would confirm them. So a weak peak where those
modes would lie must also be needed when the slowest process is a finite Warburg.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..circuit import parse
from ..data.spectrum import Spectrum
from ..errors import EisfitError, EisfitWarning
from .peaks import Peak

__all__ = ["confirm_weak_peaks"]


def _zarc_n(width_dec: float) -> float:
    """CPE exponent of a ZARC whose DRT has this FWHM (decades), clipped to [0.6, 0.98]."""
    ns = np.linspace(0.5, 0.999, 200)
    widths = 2 * np.arccosh(2 + np.cos(ns * np.pi)) / ns / np.log(10.0)
    return float(np.clip(np.interp(width_dec, widths[::-1], ns[::-1]), 0.6, 0.98))


def _arcs_fit(data: Spectrum, peaks: list[Peak], R_inf: float, L: float | None,
              tail: tuple[str, Peak] | None = None):
    """Fit R∞ (+L) + one R‖CPE arc per peak (+ a Warburg for ``tail = (kind, peak)``)."""
    from ..fitting import fit

    parts = (["L0"] if L is not None else []) + ["R0"]
    init = {"R0": max(R_inf, 1e-9)}
    if L is not None:
        init["L0"] = max(L, 1e-12)
    arcs = sorted(peaks, key=lambda p: p.tau)
    for i, p in enumerate(arcs, start=1):
        parts.append(f"(R{i} | Q{i})")
        n = _zarc_n(p.width)
        R = max(p.R, 1e-12)
        init.update({f"R{i}": R, f"Q{i}_Q": p.tau**n / R, f"Q{i}_n": n})
    if tail is not None:
        kind, p = tail
        k = len(arcs) + 1
        parts.append(f"{kind}{k}")
        if kind == "Ws":  # main mode 8R/π² at 4T/π²
            init.update({f"Ws{k}_R": max(p.R, 1e-12) * np.pi**2 / 8, f"Ws{k}_tau": p.tau * np.pi**2 / 4})
        else:  # main mode 2R/π² at T/π²
            init.update({f"Wo{k}_R": max(p.R, 1e-12) * np.pi**2 / 2, f"Wo{k}_tau": p.tau * np.pi**2})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", EisfitWarning)
        try:
            return fit(parse(" - ".join(parts)), data, init=init, multistart=1, max_nfev=150)
        except (EisfitError, np.linalg.LinAlgError, FloatingPointError):
            return None


def confirm_weak_peaks(freq, Z, R_inf: float, L: float, strong: list[Peak],
                       weak: list[Peak]) -> list[Peak]:
    """The strong peaks plus the weak ones the data need as processes (see module).

    A weak peak where a finite Warburg's higher modes would lie (up to two decades faster
    than the slowest strong peak, at most half its area) must be needed both with arcs
    only and with that slowest process described as a transmissive or reflective Warburg
    (whichever fits better).
    """
    if not weak or not strong:
        return list(strong)
    data = Spectrum(freq, Z, _checked=True)
    wmax = 2 * np.pi * float(np.max(freq))
    use_L = L if L * wmax > 0.01 * float(np.min(np.abs(Z))) else None
    slow = max(strong, key=lambda p: p.tau)

    def satellite(p: Peak) -> bool:  # where a Warburg's higher modes would lie
        return p.tau < slow.tau <= 100 * p.tau and p.R <= 0.5 * slow.R

    variants: list[tuple[str, Peak] | None] = [None]
    if any(satellite(p) for p in weak):
        variants.append(("Ws", slow))
        variants.append(("Wo", slow))
    fulls = {}
    for tail in variants:
        arcs = [p for p in strong + weak if tail is None or p is not tail[1]]
        fr = _arcs_fit(data, arcs, R_inf, use_L, tail)
        if fr is not None and np.isfinite(fr.chi2) and fr.chi2 > 0:
            fulls[tail] = (fr, arcs)
    if None not in fulls:
        return list(strong)
    tails = [t for t in fulls if t is not None]
    tested = [None] + ([min(tails, key=lambda t: fulls[t][0].bic)] if tails else [])
    keep = list(strong)
    for p in weak:
        needed = True
        for tail in tested:
            if tail is not None and not satellite(p):
                continue
            full, arcs = fulls[tail]
            rest = [q for q in arcs if q is not p]
            drop = _arcs_fit(data, rest, R_inf, use_L, tail) if (rest or tail) else None
            if drop is None:
                needed = False
                break
            m = full.n_residuals
            if m * np.log(max(drop.chi2, 1e-300) / full.chi2) - 3 * np.log(m) <= 0:
                needed = False
                break
        if needed:
            keep.append(p)
    return keep
