"""Starting values of a joint sequence fit: warm-started independent fits that keep arc
identities by continuity, and robust trends through them.

Two arcs of the same structure are interchangeable in a single spectrum; along a sequence
they are not — each is one physical process. :func:`eisfit.fit` with ``keep_order=True``
labels arcs by time-constant rank, which swaps the labels wherever one arc overtakes the
other. Here every fit after the first is warm-started from the previous healthy one
(``keep_order=False``) and then relabelled by the permutation closest to the *trend* of
the previous fits (:func:`follow`), so identity comes from continuity, never from τ rank.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..circuit import Circuit
from ..circuit.arcs import arcs, signature, time_constants
from ..errors import FitError
from ..linear.weights import residual_weights
from .fitter import fit
from .verdict import reference
from .params import ParamSetup
from .result import FitResult

__all__ = ["chain_indices", "warm_chain", "Chain", "follow", "predict", "healthy", "robust_lines",
           "interchangeable"]

#: At most this many spectra are fitted one by one for the starting values of a penalised
#: joint fit (evenly spaced; the joint fit starts from trends through them).
CHAIN_MAX = 30
#: A fit whose arc relaxes further than this factor outside the measured band is degenerate.
HEALTHY_TAU_FACTOR = 10.0
#: History (healthy fits) from which the next values are extrapolated to keep arc identities.
TREND_WINDOW = 4


# -- arc identity ----------------------------------------------------------------------
def interchangeable(circuit: Circuit, setup: ParamSetup) -> list[list[list[str]]]:
    """Groups of interchangeable arcs (same structure, no fixed or tied parameter), each
    arc as the list of its parameter names."""
    locked = set(setup.fixed) | set(setup.ties) | set(setup.ties.values())
    groups: dict[object, list[list[str]]] = {}
    for a in arcs(circuit):
        params = [p for e in a.elements for p in e.param_names]
        if not locked.intersection(params):
            groups.setdefault(signature(a), []).append(params)
    return [g for g in groups.values() if len(g) > 1]


def to_x(setup: ParamSetup, values: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    idx = [setup.names.index(n) for n in names]
    v = np.array([values[n] for n in names], float)
    return np.where(setup.log[idx], np.log(np.maximum(v, 1e-300)), v)


def follow(groups, setup: ParamSetup, values: dict[str, float],
           predicted: Mapping[str, float]) -> dict[str, float]:
    """Relabel interchangeable arcs so that they continue the predicted values.

    The impedance does not change (series blocks commute); among the permutations of each
    group the one closest to the prediction (in the optimiser's coordinates) is kept, so
    an arc that overtakes another in time constant keeps its label.
    """
    out = dict(values)
    for group in groups:
        names = [p for arc in group for p in arc]
        target = to_x(setup, predicted, names)
        best, best_d = None, np.inf
        for perm in itertools.permutations(range(len(group))):
            moved = {d: values[s] for dst, src in zip(group, (group[i] for i in perm))
                     for d, s in zip(dst, src)}
            idx = [setup.names.index(n) for n in moved]
            if not all(setup.lo[i] <= moved[n] <= setup.hi[i] for i, n in zip(idx, moved)):
                continue
            dist = float(np.sum((to_x(setup, moved, names) - target) ** 2))
            if dist < best_d:
                best, best_d = moved, dist
        if best is not None:
            out.update(best)
    return out


def predict(setup: ParamSetup, history: list[dict[str, float]], t_hist: list[float],
            t: float) -> dict[str, float]:
    """Values at ``t`` extrapolated linearly (in optimiser coordinates) from the last spectra."""
    if len(history) == 1:
        return dict(history[-1])
    names = setup.names
    X = np.array([to_x(setup, h, names) for h in history[-TREND_WINDOW:]])
    tt = np.asarray(t_hist[-TREND_WINDOW:], float)
    A = np.vstack((np.ones_like(tt), tt - tt[-1])).T
    coef = np.linalg.lstsq(A, X, rcond=None)[0]
    x = coef[0] + coef[1] * (t - tt[-1])
    v = np.where(setup.log, np.exp(np.minimum(x, 700.0)), x)
    return dict(zip(names, v))


def healthy(res: FitResult, setup: ParamSetup, reference_rms: float | None = None) -> bool:
    """A fit worth continuing from and drawing trends through.

    No parameter sits on a bound, every positive free parameter is determined to better
    than a factor e^0.5 (one standard error), every arc relaxes within a decade of the measured band,
    and the fit either passes its verdict or its residual is within twice that of the
    last healthy fit (``reference_rms``; real data that no model of the family describes
    perfectly still give usable trends). A degenerate fit (an arc collapsed onto R0, a
    resistance running off to infinity) fits the data as well but fails these tests, and
    a warm start from it would stay degenerate.
    """
    if res.at_bound or not np.all(np.isfinite(res._values)):
        return False
    if not res.success and reference_rms is not None and not res.rms <= 2 * reference_rms:
        return False
    v, se = res.values, res.stderr
    for n in res.free:
        if setup.log[setup.names.index(n)] and not (v[n] > 0 and se[n] / v[n] < 0.5):
            return False
    f = np.asarray(res.freq)
    lo_tau, hi_tau = 1 / (2 * np.pi * f.max()), 1 / (2 * np.pi * f.min())
    taus = np.array(list(time_constants(res.circuit, v).values()), float)
    return bool(np.all((taus > lo_tau / HEALTHY_TAU_FACTOR) & (taus < hi_tau * HEALTHY_TAU_FACTOR)))


def chain_indices(K: int, all_spectra: bool) -> np.ndarray:
    """Spectra fitted one by one for the starting values: all of them, or at most
    :data:`CHAIN_MAX` evenly spaced ones (first and last included)."""
    if all_spectra or K <= CHAIN_MAX:
        return np.arange(K)
    return np.unique(np.round(np.linspace(0, K - 1, CHAIN_MAX)).astype(int))


def warm_chain(circuit, setup, data, t, idx, init, weights, bounds, tie) -> Chain:
    """Independent fits of the spectra ``idx`` along the sequence, each warm-started from
    the last healthy one (:func:`healthy`) and relabelled to continue the trend of the
    healthy ones before it (:func:`follow`)."""
    per_spectrum = isinstance(init, (list, tuple))
    if per_spectrum and len(init) != len(data):
        raise FitError(f"init: {len(init)} starting values for {len(data)} spectra")
    groups = interchangeable(circuit, setup)
    values, s2, refs, ok = [], [], {}, []
    hist, t_hist, rms_hist = [], [], []  # healthy fits: the trend that arcs must continue
    for n, k in enumerate(idx):
        f, Z, _ = data[k]
        if per_spectrum:
            start, keep = init[k], False
        elif n == 0:
            start, keep = init, init is None
        else:  # the last healthy fit, else the previous one
            start, keep = (hist[-1] if hist else values[-1]), False
        res = fit(circuit, (f, Z), init=start, weight=weights[k], bounds=bounds,
                  fixed=dict(setup.fixed), tie=tie, keep_order=keep,
                  multistart=8 if n == 0 else 1)
        v = res.values
        if hist and not per_spectrum and groups:
            v = follow(groups, setup, v, predict(setup, hist, t_hist, t[k]))
        good = healthy(res, setup, rms_hist[-1] if rms_hist else None)
        if good:
            hist.append(v)
            t_hist.append(t[k])
            rms_hist.append(res.rms)
        values.append(v)
        ok.append(good)
        refs[int(k)] = reference(f, Z)  # computed by fit just now: a cache hit
        absolute = residual_weights(Z, weights[k])[2]
        s2.append(1.0 if absolute else (res.chi2 / res.dof if res.dof > 0 else np.nan))
    return Chain(np.asarray(idx), values, np.asarray(s2, float), np.array(ok, bool), refs)


@dataclass
class Chain:
    """The warm-started independent fits: spectra ``idx``, their values (relabelled),
    reduced χ², health, and the Kramers–Kronig references computed on the way."""

    idx: np.ndarray
    values: list[dict[str, float]]
    s2: np.ndarray
    healthy: np.ndarray
    refs: dict[int, Any]

    def noise(self, K: int) -> np.ndarray:
        """σₖ² for every spectrum: the chain's reduced χ², interpolated (in log) between
        the spectra it fitted; floored at 1e-6 of the median."""
        s2 = self.s2
        good = np.isfinite(s2) & (s2 > 0)
        if not good.any():
            return np.ones(K)
        out = np.exp(np.interp(np.arange(K), self.idx[good], np.log(s2[good])))
        return np.maximum(out, 1e-6 * float(np.median(s2[good])))


def robust_lines(X: np.ndarray, t: np.ndarray, use: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    """Straight lines in ``t`` through the columns of ``X`` (rows flagged in ``use``),
    refitted without points more than 3 robust standard deviations away, evaluated at
    ``t_out``. Where fewer than 3 rows are usable, their median."""
    out = np.empty((t_out.size, X.shape[1]))
    for j in range(X.shape[1]):
        ok = use & np.isfinite(X[:, j])
        if ok.sum() < 3:
            out[:, j] = np.median(X[ok, j]) if ok.any() else np.median(X[:, j])
            continue
        keep = ok.copy()
        for _ in range(4):
            A = np.vstack((np.ones(keep.sum()), t[keep])).T
            c = np.linalg.lstsq(A, X[keep, j], rcond=None)[0]
            res = X[:, j] - (c[0] + c[1] * t)
            scale = 1.4826 * np.median(np.abs(res[keep])) + 1e-12
            new = ok & (np.abs(res) <= 3 * scale)
            if new.sum() < 3 or np.array_equal(new, keep):
                break
            keep = new
        out[:, j] = c[0] + c[1] * t_out
    return out


