"""Peaks of a DRT: position, area (= resistance), width and significance.

A peak is a local maximum of γ on the τ nodes; neighbouring maxima are separated at the
lowest node between them. Maxima that noise alone separates (prominence below
``MERGE_Z`` posterior sd: ripples, one process split in two) are merged first, least
distinct first. Each remaining peak gets two z-scores, each of which a spurious peak
fails in its own way:

* ``prominence_z``: the topographic prominence (height above the col towards the
  nearest taller peak; above the lower valley for a locally dominant peak) in posterior
  standard deviations (local means over ±1 node, since single nodes are strongly
  anti-correlated). Noise ripples have z ≈ 1.
* ``merge_z``: ``sqrt(Δχ²/σ²)`` when the problem is solved again at the same λ with γ
  forced to rise monotonically from the far valley of this peak to the nearest taller
  peak (the peak merged into that peak's flank; a lone peak is forced to zero instead,
  a locally dominant one is not tested). Side lobes that the regulariser itself creates (ringing next to a
  large, broad peak) are not needed by the data and have a small ``merge_z``, whatever
  their prominence.

``significance = min(merge_z, 1.5·prominence_z)`` (the local-mean prominence is
conservative when λ is small and the posterior wide). The area significance (area /
its posterior standard deviation) is reported too.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["Peak", "assign_basins", "find_peaks"]

SMOOTH = 1
#: Maxima separated from a neighbour by less than this many posterior sd are merged.
MERGE_Z = 1.0
#: The prominence z (local means, conservative at small λ where the posterior is wide)
#: enters the significance multiplied by this factor: ``min(merge_z, 1.5·prominence_z)``.
PROMINENCE_WEIGHT = 1.5


@dataclass(frozen=True)
class Peak:
    """One DRT peak.

    Attributes
    ----------
    tau : float
        Characteristic time (s): the τ that splits the peak's area in half (median of
        its γ mass). Equals τ0 for symmetric processes (RC, ZARC) and is far less
        sensitive to noise than the position of the maximum.
    freq : float
        ``1 / (2π τ)`` (Hz).
    tau_mode : float
        Position of the maximum of γ (s), refined by a least-squares parabola through
        the top of the peak.
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
        ``min(merge_z, 1.5·prominence_z)``: how many noise standard deviations separate this
        peak from "not a process of its own".
    prominence_z : float
        Topographic prominence in posterior standard deviations.
    merge_z : float
        ``sqrt(Δχ²/σ²)`` when the peak is merged into the nearest taller peak (or removed
        if alone) and the rest refitted (``inf`` if not computed: locally dominant peak,
        or ``1.5·prominence_z < 1``).
    area_significance : float
        ``R / R_std``.
    lo, hi : int
        Node indices of the bounding minima (of the basin the area was taken over).
    index : int
        Node index of the maximum.
    edge : bool
        True if the peak's characteristic time ``tau`` lies outside the measured τ
        window (on the grid extension).
    """

    tau: float
    freq: float
    tau_mode: float
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
    index: int = -1


def _median_log_tau(log_tau: np.ndarray, w: np.ndarray, g: np.ndarray) -> float:
    """log10 τ splitting the area ``Σ w g`` in half (each node's mass centred on it)."""
    mass = w * g
    total = mass.sum()
    nz = np.flatnonzero(w)
    if total <= 0 or nz.size == 0:
        return float("nan")
    c = np.cumsum(mass[nz]) - 0.5 * mass[nz]
    return float(np.interp(0.5 * total, c, log_tau[nz]))


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
    def lowest(a: int, b: int) -> int:
        # lowest node in [a, b]; for a run of equal minima (zeros) its middle
        return _lowest(g, a, b)

    def valleys(ci: int) -> tuple[int, int]:
        k = cand[ci]
        v_lo = lowest(cand[ci - 1] if ci > 0 else 0, k)
        v_hi = lowest(k, cand[ci + 1] if ci + 1 < len(cand) else m - 1)
        return v_lo, v_hi

    def taller(ci: int) -> tuple[int | None, int | None]:
        """(col node, index in cand) towards the nearest taller peak, through the
        higher of the two cols if there are taller peaks on both sides."""
        k = cand[ci]
        best = (None, None)
        for step in (-1, 1):
            j = ci + step
            while 0 <= j < len(cand) and g[cand[j]] <= g[k]:
                j += step
            if 0 <= j < len(cand):
                col = lowest(min(k, cand[j]), max(k, cand[j]))
                if best[0] is None or g[col] > g[best[0]]:
                    best = (col, j)
        return best

    def prominence_z(ci: int) -> float:
        # topographic prominence: height above the col towards the nearest taller peak
        # (or above the lower neighbouring valley for a locally dominant peak), in
        # posterior sd of local means over ±smooth nodes (single nodes are strongly
        # anti-correlated)
        if cov is None or not cov.size:
            return np.inf
        k = cand[ci]
        valley, _ = taller(ci)
        if valley is None:
            v_lo, v_hi = valleys(ci)
            valley = v_lo if g[v_lo] <= g[v_hi] else v_hi
        e = np.zeros(m)
        a, b_ = max(k - smooth, 0), min(k + smooth, m - 1)
        e[a : b_ + 1] += 1.0 / (b_ - a + 1)
        a, b_ = max(valley - smooth, 0), min(valley + smooth, m - 1)
        e[a : b_ + 1] -= 1.0 / (b_ - a + 1)
        nz = np.flatnonzero(e)
        var = float(e[nz] @ cov[np.ix_(nz, nz)] @ e[nz])
        return float(e @ g) / np.sqrt(var) if var > 0 else np.inf

    # merge maxima that noise alone separates (ripples, a process split in two) into
    # the nearest taller peak, least distinct first
    while len(cand) > 1:
        zs = [prominence_z(ci) for ci in range(len(cand))]
        ci = int(np.argmin(zs))
        if zs[ci] >= MERGE_Z:
            break
        del cand[ci]

    peaks: list[Peak] = []
    for ci, k in enumerate(cand):
        v_lo, v_hi = valleys(ci)
        lo, hi = v_lo, v_hi
        # area: exact for the hat basis; shared minima are split half-half
        wts = np.zeros(m)
        wts[lo : hi + 1] = h
        if ci > 0:
            wts[lo] *= 0.5
        if ci + 1 < len(cand):
            wts[hi] *= 0.5
        R = float(wts @ g)
        # position: vertex of a least-squares parabola through the contiguous nodes above
        # 60 % of the maximum (3 nodes at least): robust to noise on broad peaks,
        # unbiased for symmetric ones
        a_, b_ = k, k
        while a_ > lo and g[a_ - 1] >= 0.6 * g[k]:
            a_ -= 1
        while b_ < hi and g[b_ + 1] >= 0.6 * g[k]:
            b_ += 1
        a_, b_ = max(min(a_, k - 1), 0), min(max(b_, k + 1), m - 1)
        d = 0.0
        if b_ - a_ >= 2:
            u = np.arange(a_, b_ + 1) - k
            c2, c1, _ = np.polyfit(u, g[a_ : b_ + 1], 2)
            if c2 < 0:
                d = float(np.clip(-c1 / (2 * c2), -1.0, 1.0))
        lt = log_tau[k] + d * (log_tau[1] - log_tau[0])
        sig = prominence_z(ci)
        if cov is not None and cov.size:
            R_std = float(np.sqrt(max(float(wts @ cov @ wts), 0.0)))
            asig = R / R_std if R_std > 0 else np.inf
        else:
            asig, R_std = np.inf, 0.0
        dz = np.inf
        if refit is not None and PROMINENCE_WEIGHT * sig >= 1.0:
            _, j = taller(ci)
            if j is None:
                # locally dominant: is it needed at all?
                dz = float(refit(lo, hi, "zero"))
            elif j > ci:
                dz = float(refit(v_lo, cand[j], "up"))
            else:
                dz = float(refit(cand[j], v_hi, "down"))
        t_mode = 10.0**lt
        t = 10.0 ** _median_log_tau(log_tau, wts, g)
        edge = False
        if window is not None:
            edge = bool(t < window[0] or t > window[1])
        peaks.append(
            Peak(
                tau=float(t),
                freq=float(1 / (2 * np.pi * t)),
                tau_mode=float(t_mode),
                gamma=float(g[k]),
                R=R,
                R_std=R_std,
                width=_fwhm(log_tau, g, k, lo, hi),
                significance=float(dz if np.isfinite(dz) else PROMINENCE_WEIGHT * sig),
                prominence_z=float(sig),
                merge_z=float(dz),
                area_significance=float(asig),
                lo=int(lo),
                hi=int(hi),
                edge=edge,
                index=int(k),
            )
        )
    return peaks


def _lowest(g: np.ndarray, a: int, b: int) -> int:
    seg = g[a : b + 1]
    idx = np.flatnonzero(seg == seg.min())
    return int(a + idx[idx.size // 2])


def assign_basins(
    selected: list[Peak],
    all_peaks: list[Peak],
    tau: np.ndarray,
    gamma: np.ndarray,
    h: float,
    cov=None,
) -> list[Peak]:
    """Give every selected peak the whole basin between its selected neighbours.

    Sub-threshold maxima (ripples, regularisation side lobes) then count towards the
    process they belong to, so that a peak's area is the resistance of the process.
    The basins are split at the lowest node between consecutive selected peaks; the
    outermost basins run to the grid ends, or to the lowest node before an excluded
    edge peak.
    """
    if not selected:
        return []
    from dataclasses import replace

    g = np.asarray(gamma, float)
    m = g.size
    sel = sorted(selected, key=lambda p: p.index)
    ks = [p.index for p in sel]
    excluded_edges = [p.index for p in all_peaks if p.edge and p.index not in ks]
    below = [i for i in excluded_edges if i < ks[0]]
    above = [i for i in excluded_edges if i > ks[-1]]
    start = _lowest(g, max(below), ks[0]) if below else 0
    end = _lowest(g, ks[-1], min(above)) if above else m - 1
    cuts = [start] + [_lowest(g, a, b) for a, b in itertools.pairwise(ks)] + [end]
    out = []
    for i, p in enumerate(sel):
        lo, hi = cuts[i], cuts[i + 1]
        w = np.zeros(m)
        w[lo : hi + 1] = h
        if i > 0 or below:
            w[lo] *= 0.5
        if i < len(sel) - 1 or above:
            w[hi] *= 0.5
        R = float(w @ g)
        if cov is not None and np.size(cov):
            R_std = float(np.sqrt(max(float(w @ cov @ w), 0.0)))
        else:
            R_std = 0.0
        asig = R / R_std if R_std > 0 else np.inf
        t = 10.0 ** _median_log_tau(np.log10(tau), w, g)
        out.append(
            replace(
                p, tau=t, freq=1 / (2 * np.pi * t), R=R, R_std=R_std,
                area_significance=asig, lo=lo, hi=hi,
            )
        )
    return out

