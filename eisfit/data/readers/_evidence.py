"""Evidence from the values for :mod:`.columns`: what a column is, how columns relate.

Private helper of the column-role detector (:func:`.columns.resolve` is the one entry
point); nothing here looks at names.
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

import numpy as np

_SAMPLE = 400  # rows used to screen candidate relations (verified on all rows after)
_MAG_TOL = 1e-3  # relative tolerance |Z| vs hypot(Z', Z'') (4 printed digits)
_DEG_TOL = 0.06  # absolute phase tolerance in degrees (1 printed decimal)
_RAD_TOL = 1e-3
_MATCH = 0.95  # fraction of rows that must satisfy a relation
_MAX_SEARCH = 32  # at most this many columns are searched for relations


# --------------------------------------------------------------------------------------
# column tests
# --------------------------------------------------------------------------------------
def _finite(col: np.ndarray) -> np.ndarray:
    return col[np.isfinite(col)]


def _sweep_bounds(freq: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges of the monotone runs of a positive column (restart = jump back)."""
    lf = np.log10(freq)
    d = np.diff(lf)
    nz = d[d != 0]
    if nz.size == 0:
        return [(0, freq.size)]
    direction = 1.0 if np.sum(nz > 0) >= np.sum(nz < 0) else -1.0
    cuts = np.flatnonzero(d * direction < 0) + 1
    bounds = [0, *cuts.tolist(), freq.size]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def is_frequency(col: np.ndarray) -> bool:
    """True when ``col`` looks like measured frequencies: see the module docstring.

    Every value positive and finite, each sweep strictly monotone in one common
    direction, at least 4 points and more than one decade per sweep on average, at
    most 200 points per decade, and log steps of comparable size.
    """
    v = np.asarray(col, float)
    if v.size < 4 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        return False
    runs = _sweep_bounds(v)
    if v.size / len(runs) < 4:
        return False
    lf = np.log10(v)
    spans, steps = [], []
    for a, b in runs:
        seg = lf[a:b]
        if b - a < 2:
            return False
        d = np.diff(seg)
        if np.any(d == 0) and np.mean(d == 0) > 0.05:
            return False
        spans.append(abs(seg[-1] - seg[0]))
        steps.append(np.abs(d[d != 0]))
    if np.median(spans) < 1.0:
        return False
    if (v.size / len(runs)) / max(np.median(spans), 1e-12) > 200:
        return False
    s = np.concatenate(steps)
    lo, hi = np.percentile(s, [10, 90])
    return bool(lo > 0 and hi / lo < 8)


def _is_time(col: np.ndarray) -> bool:
    v = _finite(col)
    return v.size >= 3 and v.size == col.size and bool(np.all(np.diff(v) >= 0)) and v[-1] > v[0]


def _is_counter(col: np.ndarray) -> bool:
    """Cycle/loop numbers: integers, non-decreasing, piecewise constant."""
    v = _finite(col)
    if v.size < 3 or v.size != col.size or not np.all(v == np.round(v)):
        return False
    d = np.diff(v)
    return bool(np.all(d >= 0) and np.mean(d == 0) >= 0.5)


def _is_row_counter(col: np.ndarray) -> bool:
    """0, 1, 2, ... or 1, 2, 3, ...: a row number, not a measured quantity."""
    return col.size >= 2 and bool(np.all(np.diff(col) == 1)) and col[0] in (0, 1)


def _period_ok(time: np.ndarray, freq: np.ndarray) -> bool:
    """Each point of a sweep takes at least one period: Δtime >= 1/f between points."""
    if not _is_time(time):
        return False
    same = np.ones(freq.size - 1, bool)
    for a, b in _sweep_bounds(freq):
        if a > 0:
            same[a - 1] = False
    dt = np.diff(time)[same]
    per = 1.0 / freq[1:][same]
    return dt.size >= 3 and bool(np.mean(dt >= 0.9 * per) >= _MATCH)


def _drop_time_lookalikes(t: np.ndarray, freq: list[int]) -> list[int]:
    """Of several frequency candidates, drop those that behave as the time of another.

    A measurement at frequency f lasts at least one period, so the time column steps
    by at least 1/f; a frequency column does not step by 1/time. Only a one-sided
    verdict counts.
    """
    time_like = set()
    for a in freq:
        for b in freq:
            if a != b and _period_ok(t[:, a], t[:, b]) and not _period_ok(t[:, b], t[:, a]):
                time_like.add(a)
    left = [k for k in freq if k not in time_like]
    return left if len(left) == 1 else freq


def _rows(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, _SAMPLE)).astype(int))


def _magnitude_ok(t: np.ndarray, a: int, b: int, c: int, rows: Any = slice(None)) -> bool:
    """Column ``c`` equals hypot(a, b), and both are needed for that (not just |a| or |b|)."""
    x, y, m = t[rows, a], t[rows, b], t[rows, c]
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(m) & (m > 0)
    if ok.sum() < 3 or ok.mean() < _MATCH:
        return False
    x, y, m = x[ok], y[ok], m[ok]
    r1 = np.abs(np.hypot(x, y) - m) / m
    if np.mean(r1 <= _MAG_TOL) < _MATCH:
        return False
    for alone in (x, y):  # each of a and b must be needed: neither |a| nor |b| is |Z|
        r0 = np.abs(np.abs(alone) - m) / m
        if not (np.median(r1) * 10 < np.median(r0) or np.mean(r0 <= _MAG_TOL) < _MATCH):
            return False
    return True


_UNITS = {"deg": (180 / np.pi, _DEG_TOL), "rad": (1.0, _RAD_TOL)}


def _fit_frac(x: np.ndarray, y: np.ndarray, ph: np.ndarray, s: int, unit: str) -> float:
    """Fraction of rows where ``ph`` equals atan2(s·y, x) in ``unit`` within tolerance."""
    scale, tol = _UNITS[unit]
    pred = np.arctan2(s * y, x) * scale
    return float(np.mean(_angle_diff(ph, pred, scale) <= tol + 1e-3 * np.abs(pred)))


def _finite_rows(t: np.ndarray, cols: tuple[int, ...], rows: Any = slice(None)):
    v = [t[rows, k] for k in cols]
    ok = np.logical_and.reduce([np.isfinite(c) for c in v])
    if ok.sum() < 3 or ok.mean() < _MATCH:
        return None
    return [c[ok] for c in v]


def _phase_fit(
    t: np.ndarray, re: int, im: int, p: int, rows: Any = slice(None), *, guard: bool = True
) -> list[tuple[int, str]]:
    """Signs ``s`` and units for which column ``p`` equals atan2(s·im, re).

    With ``guard`` a phase column of ~0 everywhere confirms nothing and gives no fit;
    without it every relation that holds is returned (to find competing readings).
    """
    v = _finite_rows(t, (re, im, p), rows)
    if v is None:
        return []
    x, y, ph = v
    out = []
    for unit, (_, tol) in _UNITS.items():
        if guard and np.max(np.abs(ph)) <= 10 * tol:  # a phase of ~0 confirms nothing
            continue
        for s in (1, -1):
            if _fit_frac(x, y, ph, s, unit) >= _MATCH:
                out.append((s, unit))
    return out


def _constant_phase(t: np.ndarray, p: int, unit: str) -> bool:
    """Column ``p`` is one angle on (nearly) every row, within the tolerance.

    A constant phase only says that two columns are proportional: any proportional
    pair (Z' and Z'', Z' and |Z|, a Z'' and a phase of a small-angle spectrum, ...)
    fits it, and so does any column that happens to hold that angle.
    """
    v = _finite(t[:, p])
    if v.size < 3:
        return True
    scale, tol = _UNITS[unit]
    # twice the tolerance of a fit: a phase that a fit cannot tell from a constant one
    within = _angle_diff(v, np.median(v), scale) <= 2 * (tol + 1e-3 * np.abs(v))
    return bool(np.mean(within) >= _MATCH)


def _pins_real_part(t: np.ndarray, re: int, im: int, s: int, p: int, unit: str) -> bool:
    """The phase relation fails with Z' twice or half as large: it tells which column is Z'.

    Near 0° (Z'' ≈ 0) or ±90° (Z' ≈ 0) the phase hardly depends on Z', and any column
    of about the right size would fit as well as ``re``.
    """
    v = _finite_rows(t, (re, im, p))
    if v is None:
        return False
    x, y, ph = v
    return all(_fit_frac(k * x, y, ph, s, unit) < _MATCH for k in (2.0, 0.5))


def _small_angle(t: np.ndarray, re: int, im: int, s: int, unit: str) -> bool:
    """atan2(s·im, re) equals s·im/re within the tolerance on (nearly) every row.

    The relation is then the product phase·Z' ∝ Z'', which the same columns satisfy in
    other arrangements (Z'' and phase exchanged, with another column as Z', ...).
    """
    v = _finite_rows(t, (re, im))
    if v is None:
        return False
    x, y = v
    scale, tol = _UNITS[unit]
    with np.errstate(invalid="ignore", divide="ignore"):
        exact = np.arctan2(s * y, x) * scale
        lin = np.where(x > 0, s * y / x * scale, np.inf)
    return bool(np.mean(np.abs(exact - lin) <= tol + 1e-3 * np.abs(exact)) >= _MATCH)


def _rereadings(
    t: np.ndarray, hyp: tuple[int, int, int, int, str], usable: list[int]
) -> list[tuple[int, int, int]]:
    """Other (Z', Z'', phase) readings of a small-angle relation's columns that fit too.

    ``hyp`` is ``(re, im, s, p, unit)``. Only for a small-angle relation (see
    :func:`_small_angle`): arrangements that reuse at least two of its three columns,
    with any usable column as the third, in either sign and unit; the ~0 guard is off
    only where the phase moves to the Z' or Z'' column. A relation with large phases
    is not a product and has no such twins.
    """
    re, im, s, p, unit = hyp
    if not _small_angle(t, re, im, s, unit):
        return []
    own = {re, im, p}
    rows = _rows(t.shape[0])
    seen: set[tuple[int, int, int]] = set()
    out = []
    for extra in [None, *usable]:
        pool = sorted(own | ({extra} if extra is not None else set()))
        for tri in permutations(pool, 3):
            if tri in seen or len(own & set(tri)) < 2:
                continue
            seen.add(tri)
            skip = {(s, unit)} if tri == (re, im, p) else set()
            # the questions are which of its columns is the phase and (phase·Z' = k·Z''
            # with k = 180/π or 1) what size Z' has: no guard where the phase moves to
            # Z' or Z'', nor where Z'' and the phase stay and only Z' or the unit change;
            # elsewhere a column of ~0 everywhere as the phase confirms nothing, as always
            guard = tri[2] not in (re, im) and tri[1:] != (im, p)
            if set(_phase_fit(t, *tri, rows, guard=guard)) - skip:
                if set(_phase_fit(t, *tri, guard=guard)) - skip:
                    out.append(tri)
    return out


def _angle_diff(a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    full = 2 * np.pi * scale
    d = np.abs(a - b) % full
    return np.minimum(d, full - d)


def _candidates(t: np.ndarray, usable: list[int]) -> dict[str, Any]:
    """Relations among ``usable`` columns: |Z| triples and phase orientations.

    Screened on a sample of rows with one vectorised comparison per column pair, then
    verified on every row.
    """
    rows = _rows(t.shape[0])
    s = t[rows]
    fin = np.isfinite(s)
    pos = [k for k in usable if fin[:, k].all() and np.all(s[:, k] > 0)]
    ang = [k for k in usable if fin[:, k].all() and np.max(np.abs(s[:, k])) <= 180 + 1e-6]
    triples: list[tuple[int, int, int]] = []
    oriented: list[tuple[int, int, int, int, str]] = []
    P = s[:, pos] if pos else None
    A = s[:, ang] if ang else None
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for i, a in enumerate(usable):
            for b in usable:
                if b == a:
                    continue
                if P is not None and b > a:
                    h = np.hypot(s[:, a], s[:, b])
                    frac = np.mean(np.abs(h[:, None] - P) <= _MAG_TOL * P, axis=0)
                    for j in np.flatnonzero(frac >= _MATCH):
                        c = pos[j]
                        if c not in (a, b) and _magnitude_ok(t, a, b, c):
                            triples.append((a, b, c))
                if A is None:
                    continue
                for sg in (1, -1):
                    base = np.arctan2(sg * s[:, b], s[:, a])
                    for unit, scale, tol in (
                        ("deg", 180 / np.pi, _DEG_TOL),
                        ("rad", 1.0, _RAD_TOL),
                    ):
                        pred = base * scale
                        d = _angle_diff(A, pred[:, None], scale)
                        frac = np.mean(d <= tol + 1e-3 * np.abs(pred[:, None]), axis=0)
                        for j in np.flatnonzero(frac >= _MATCH):
                            p = ang[j]
                            if p in (a, b):
                                continue
                            if (sg, unit) in _phase_fit(t, a, b, p):
                                oriented.append((a, b, sg, p, unit))
    return {"triples": triples, "oriented": oriented}
