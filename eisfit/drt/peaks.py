"""Peaks of a DRT: position, area (= resistance), width and significance.

A peak is a local maximum of γ on the τ nodes, bounded by the nearest minima on each
side. Its **significance** is the smaller of two z-scores, each of which a spurious peak
fails in its own way:

* ``prominence_z``: the prominence over the higher neighbouring minimum in posterior
  standard deviations (local means over ±1 node, since single nodes are strongly
  anti-correlated). Noise ripples and a split of one process into two have z ≈ 1.
* ``merge_z``: ``sqrt(Δχ²/σ²)`` when the problem is solved again at the same λ with γ
  forced to rise monotonically from the far valley of this peak to its taller neighbour
  (the peak merged into that neighbour's flank; a peak without neighbours is forced to
  zero instead). Side lobes that the regulariser itself creates (ringing next to a
  large, broad peak) are not needed by the data and have a small ``merge_z``, whatever
  their posterior spread.

The area significance (area / its posterior standard deviation) is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Peak", "find_peaks"]

SMOOTH = 1


@dataclass(frozen=True)
class Peak:
    """One DRT peak.

    Attributes
    ----------
    tau : float
        Peak position (s), refined by a parabola through the top three nodes.
    freq : float
        ``1 / (2π τ)`` (Hz).
    gamma : float
        Height of γ at the peak (Ω).
    R : float
        Area of the peak (Ω): the resistance of the process.
    R_std : float
        Posterior standard deviation of ``R``.
    width : float
        Full width at half maximum in decades of τ (an RC gives the narrowest peak
        the regularisation allows; a CPE with exponent n gives ≈ 1.14·(1/n)·… wider).
    significance : float
        ``min(prominence_z, merge_z)``: how many noise standard deviations separate this
        peak from "not a process of its own".
    prominence_z : float
        Prominence over the higher neighbouring minimum in posterior standard deviations.
    merge_z : float
        ``sqrt(Δχ²/σ²)`` when the peak is merged into its taller neighbour (or removed if
        alone) and the rest refitted (``inf`` if not computed: ``prominence_z < 1``).
    area_significance : float
        ``R / R_std``.
    lo, hi : int
        Node indices of the bounding minima.
    edge : bool
        True if the peak lies outside the measured τ window (on the grid extension).
    """

    tau: float
    freq: float
    gamma: float
    R: float
    R_std: float
    width: float
    significance: float
    prominence_z: float
    merge_z: float
    area_significance: float
    lo: int
    hi: int
    edge: bool


def _fwhm(log_tau: np.ndarray, gam: np.ndarray, k: int, lo: int, hi: int) -> float:
    half = 0.5 * gam[k]

    def cross(rng):
        prev = k
        for j in rng:
            if gam[j] <= half:
                # linear interpolation between prev and j
                g0, g1 = gam[prev], gam[j]
                t = (g0 - half) / (g0 - g1) if g0 != g1 else 0.0
                return log_tau[prev] + t * (log_tau[j] - log_tau[prev])
            prev = j
        return log_tau[rng[-1]] if len(rng) else log_tau[k]

    left = cross(list(range(k - 1, lo - 1, -1)))
    right = cross(list(range(k + 1, hi + 1)))
    return float(right - left)


def find_peaks(
    tau: np.ndarray,
    gamma: np.ndarray,
    h: float,
    cov: np.ndarray | None = None,
    window: tuple[float, float] | None = None,
    rel_floor: float = 1e-3,
    smooth: int = SMOOTH,
    refit=None,
) -> list[Peak]:
    """All local maxima of ``gamma`` with their areas, widths and significances.

    Parameters
    ----------
    tau, gamma : numpy.ndarray
        Node time constants (uniform in ln τ, spacing ``h``) and γ at the nodes.
    h : float
        Grid spacing in ln τ.
    cov : numpy.ndarray, optional
        Posterior covariance of ``gamma`` (m × m). Without it, significances are ``inf``.
    window : (float, float), optional
        τ range of the data (1/(2π f_max), 1/(2π f_min)); peaks outside are ``edge``.
    refit : callable, optional
        ``refit(a, b, mode) -> z`` with mode ``"zero"``, ``"up"`` (γ non-decreasing on
        nodes a..b) or ``"down"`` (non-increasing); see ``merge_z``.
    rel_floor : float
        Maxima lower than ``rel_floor · max(gamma)`` are ignored (numerical dust).
    """
    g = np.asarray(gamma, float)
    m = g.size
    if m < 3 or not np.any(g > 0):
        return []
    log_tau = np.log10(tau)
    floor = rel_floor * g.max()
    # local maxima with plateau handling: strictly greater than the left, >= right
    cand = []
    i = 0
    while i < m:
        j = i
        while j + 1 < m and g[j + 1] == g[i]:
            j += 1
        left_ok = i == 0 or g[i - 1] < g[i]
        right_ok = j == m - 1 or g[j + 1] < g[j]
        if left_ok and right_ok and g[i] > floor:
            cand.append((i + j) // 2)
        i = j + 1
    peaks: list[Peak] = []
    def lowest(a: int, b: int) -> int:
        # lowest node in [a, b]; for a run of equal minima (zeros) its middle
        seg = g[a : b + 1]
        idx = np.flatnonzero(seg == seg.min())
        return int(a + idx[idx.size // 2])

    for ci, k in enumerate(cand):
        v_lo = lowest(cand[ci - 1] if ci > 0 else 0, k)
        v_hi = lowest(k, cand[ci + 1] if ci + 1 < len(cand) else m - 1)
        # walk down to the nearest minimum; a run of zeros ends the walk at its first node
        lo = k
        while lo > 0 and g[lo] > 0 and g[lo - 1] <= g[lo]:
            lo -= 1
        hi = k
        while hi < m - 1 and g[hi] > 0 and g[hi + 1] <= g[hi]:
            hi += 1
        # area: trapezoid-exact for the hat basis; shared minima are split half-half
        wts = np.zeros(m)
        wts[lo : hi + 1] = h
        if lo > 0:
            wts[lo] *= 0.5
        if hi < m - 1:
            wts[hi] *= 0.5
        if lo == 0 or hi == m - 1:
            pass
        R = float(wts @ g)
        # parabolic refinement of the position
        if 0 < k < m - 1:
            y0, y1, y2 = g[k - 1], g[k], g[k + 1]
            den = y0 - 2 * y1 + y2
            d = 0.5 * (y0 - y2) / den if den < 0 else 0.0
            d = float(np.clip(d, -0.5, 0.5))
        else:
            d = 0.0
        lt = log_tau[k] + d * (log_tau[1] - log_tau[0])
        valley = v_lo if g[v_lo] >= g[v_hi] else v_hi
        if cov is not None and cov.size:
            # local means over ±smooth nodes: single nodes are strongly anti-correlated
            e = np.zeros(m)
            a, b_ = max(k - smooth, 0), min(k + smooth, m - 1)
            e[a : b_ + 1] += 1.0 / (b_ - a + 1)
            a, b_ = max(valley - smooth, 0), min(valley + smooth, m - 1)
            e[a : b_ + 1] -= 1.0 / (b_ - a + 1)
            var = float(e @ cov @ e)
            diff = float(e @ g)
            sig = diff / np.sqrt(var) if var > 0 else np.inf
            var_r = float(wts @ cov @ wts)
            R_std = float(np.sqrt(max(var_r, 0.0)))
            asig = R / R_std if R_std > 0 else np.inf
        else:
            sig, asig, R_std = np.inf, np.inf, 0.0
        dz = np.inf
        if refit is not None and sig >= 1.0:
            left = cand[ci - 1] if ci > 0 else None
            right = cand[ci + 1] if ci + 1 < len(cand) else None
            if left is None and right is None:
                dz = float(refit(lo, hi, "zero"))
            elif right is not None and (left is None or g[right] >= g[left]):
                dz = float(refit(v_lo, right, "up"))
            else:
                dz = float(refit(left, v_hi, "down"))
        t = 10.0**lt
        edge = False
        if window is not None:
            edge = bool(t < window[0] or t > window[1])
        peaks.append(
            Peak(
                tau=float(t),
                freq=float(1 / (2 * np.pi * t)),
                gamma=float(g[k]),
                R=R,
                R_std=R_std,
                width=_fwhm(log_tau, g, k, lo, hi),
                significance=float(min(sig, dz)),
                prominence_z=float(sig),
                merge_z=float(dz),
                area_significance=float(asig),
                lo=int(lo),
                hi=int(hi),
                edge=edge,
            )
        )
    return peaks
