"""A compact bounded Levenberg–Marquardt solver for small dense problems.

Why not :func:`scipy.optimize.least_squares`? For circuits (≤ 20 parameters, ≤ a few
hundred residuals) its per-iteration Python overhead dominates; this loop costs one
model+Jacobian evaluation and one small linear solve per iteration. Bounds are handled
by projection with an active set (variables sitting on a bound with the gradient
pushing outward are frozen for the step). Damping follows Nielsen's update with
Moré's scaling by the largest diagonal of JᵀJ seen so far.

:func:`levenberg_marquardt_stacked` runs the *same* iteration (same damping, acceptance,
bound handling and stopping tests, problem by problem) for K problems at once: a 2-arc
circuit on 40 points needs a handful of iterations of microseconds of numpy work each, so
one model + Jacobian evaluation of the whole block and one batched solve of the (K, p, p)
normal equations per iteration cost little more than one problem's. Each problem keeps
its own damping; a problem that has stopped is no longer evaluated or moved. Stacked fits
of many spectra (:mod:`eisfit.fitting.stacked`) and the starts of a multi-start fit use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["LMResult", "levenberg_marquardt", "levenberg_marquardt_stacked"]


@dataclass
class LMResult:
    x: np.ndarray
    r: np.ndarray
    J: np.ndarray
    cost: float  # Σ r²
    nfev: int
    converged: bool
    message: str


def levenberg_marquardt(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    max_nfev: int = 400,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-12,
) -> LMResult:
    """Minimise ``Σ r(x)²`` subject to ``lo ≤ x ≤ hi``.

    ``fun(x)`` returns the residual vector ``r`` (m,) and its Jacobian (m, n).
    """
    x = np.clip(np.asarray(x0, float), lo, hi)
    r, J = fun(x)
    nfev = 1
    if not np.all(np.isfinite(r)) or not np.all(np.isfinite(J)):
        return LMResult(x, r, J, np.inf, nfev, False, "model is not finite at the starting point")
    cost = float(r @ r)
    A = J.T @ J
    g = J.T @ r
    D = np.maximum(np.diag(A).copy(), 1e-300)
    mu = 1e-3
    nu = 2.0
    n = x.size
    message = "iteration limit reached"
    converged = False
    while nfev < max_nfev:
        at_lo = (x <= lo) & (g > 0)
        at_hi = (x >= hi) & (g < 0)
        act = ~(at_lo | at_hi)
        if not act.any() or np.max(np.abs(g[act])) <= gtol * max(cost, 1e-300):
            converged, message = True, "gradient vanished"
            break
        h = np.zeros(n)
        if act.all():
            M = A + mu * np.diag(D)
        else:
            M = A[np.ix_(act, act)] + mu * np.diag(D[act])
        try:
            h[act] = np.linalg.solve(M, -g[act])
        except np.linalg.LinAlgError:
            mu *= nu
            nu *= 2
            continue
        x_new = np.clip(x + h, lo, hi)
        step = x_new - x
        pred = -(2 * step @ g + step @ A @ step)
        r_new, J_new = fun(x_new)
        nfev += 1
        cost_new = float(r_new @ r_new) if np.all(np.isfinite(r_new)) else np.inf
        if cost_new < cost and np.all(np.isfinite(J_new)):
            rho = (cost - cost_new) / pred if pred > 0 else 0.0
            small_x = np.linalg.norm(step) <= xtol * (np.linalg.norm(x) + xtol)
            x, r, J, cost = x_new, r_new, J_new, cost_new
            A = J.T @ J
            g = J.T @ r
            D = np.maximum(D, np.diag(A))
            mu *= max(1 / 3, 1 - (2 * rho - 1) ** 3)
            nu = 2.0
            if small_x or _gauss_newton_decrease(A, g, D, x, lo, hi) <= ftol * cost:
                converged, message = True, "converged"
                break
        else:
            if np.linalg.norm(step) <= xtol * (np.linalg.norm(x) + xtol):
                converged, message = True, "converged (no further decrease possible)"
                break
            mu *= nu
            nu *= 2
            if mu > 1e30:
                converged, message = True, "converged (damping saturated)"
                break
    return LMResult(x, r, J, cost, nfev, converged, message)


def _gauss_newton_decrease(A, g, D, x, lo, hi) -> float:
    """Decrease of Σ r² an undamped Gauss–Newton step would still promise (free variables)."""
    act = ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))
    if not act.any():
        return 0.0
    ga = g[act]
    Aa = A if act.all() else A[np.ix_(act, act)]
    try:
        h = np.linalg.solve(Aa + 1e-12 * np.diag(D[act]), ga)
    except np.linalg.LinAlgError:
        return np.inf
    return float(abs(ga @ h))


# ---------------------------------------------------------------------------------------
# the same iteration for K independent problems at once
# ---------------------------------------------------------------------------------------
_MESSAGES = (
    "iteration limit reached",
    "gradient vanished",
    "converged",
    "converged (no further decrease possible)",
    "converged (damping saturated)",
    "model is not finite at the starting point",
)
_RUNNING, _GRADIENT, _CONVERGED, _NO_DECREASE, _SATURATED, _NOT_FINITE = range(6)


def _normal(J: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JᵀJ (k, n, n) and Jᵀr (k, n) of Jacobians (k, m, n) and residuals (k, m)."""
    Jt = J.transpose(0, 2, 1)
    return Jt @ J, (Jt @ r[:, :, None])[:, :, 0]


def _free(x, g, lo, hi) -> np.ndarray:
    """Variables not held by a bound (the gradient does not push them outward)."""
    return ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))


def _solve_masked(M: np.ndarray, b: np.ndarray, act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``M[act, act] h[act] = b[act]`` for each problem (``h = 0`` elsewhere).

    Frozen variables get identity rows, so one batched solve serves all problems.
    Returns ``(h, ok)``; ``ok`` is False where the system is singular.
    """
    k, n = b.shape
    both = act[:, :, None] & act[:, None, :]
    Mm = np.where(both, M, np.eye(n))
    bm = np.where(act, b, 0.0)
    ok = np.ones(k, bool)
    try:
        return np.linalg.solve(Mm, bm[:, :, None])[:, :, 0], ok
    except np.linalg.LinAlgError:  # find the singular ones, solve the others
        h = np.zeros((k, n))
        for i in range(k):
            try:
                h[i] = np.linalg.solve(Mm[i], bm[i])
            except np.linalg.LinAlgError:
                ok[i] = False
        return h, ok


def _gauss_newton_decrease_stacked(A, g, D, x, lo, hi) -> np.ndarray:
    """Per problem: the decrease of Σ r² an undamped Gauss–Newton step would still promise."""
    act = _free(x, g, lo, hi)
    h, ok = _solve_masked(A + 1e-12 * (D[:, :, None] * np.eye(D.shape[1])), g, act)
    out = np.abs(np.sum(np.where(act, g, 0.0) * h, axis=1))
    return np.where(ok, out, np.inf)


def levenberg_marquardt_stacked(
    fun: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    max_nfev: int = 400,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-12,
) -> list[LMResult]:
    """Minimise ``Σ r_k(x_k)²`` subject to ``lo ≤ x_k ≤ hi`` for K independent problems.

    The iteration of :func:`eisfit.fitting.lm.levenberg_marquardt`, problem by problem,
    with the evaluations and linear solves of all running problems done together.

    Parameters
    ----------
    fun : callable
        ``fun(X, rows)`` returns the residuals (k, m) and Jacobians (k, m, n) of the
        problems ``rows`` (indices into the K problems) at their coordinates ``X`` (k, n).
        Padded residual rows must be zero (zero weight).
    x0 : array (K, n)
    lo, hi : array (n,) or (K, n)
    max_nfev, ftol, xtol, gtol
        As :func:`~eisfit.fitting.lm.levenberg_marquardt`, for each problem.

    Returns
    -------
    list of LMResult, one per problem (``r`` and ``J`` with any padding rows).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 20)
    >>> rate = np.array([1.0, 3.0])            # two problems: y = exp(-rate t)
    >>> y = np.exp(-rate[:, None] * t)
    >>> def fun(X, rows):
    ...     e = np.exp(-X[:, :1] * t)
    ...     return e - y[rows], (-t * e)[:, :, None]
    >>> res = levenberg_marquardt_stacked(fun, np.ones((2, 1)) * 2, np.zeros(1), np.full(1, 10.0))
    >>> [round(float(r.x[0]), 6) for r in res], all(r.converged for r in res)
    ([1.0, 3.0], True)
    """
    x = np.array(x0, dtype=float, ndmin=2)
    K, n = x.shape
    lo = np.broadcast_to(np.asarray(lo, float), (K, n))
    hi = np.broadcast_to(np.asarray(hi, float), (K, n))
    x = np.clip(x, lo, hi)
    r, J = fun(x, np.arange(K))
    r, J = np.array(r, float), np.array(J, float)
    nfev = np.ones(K, dtype=int)
    status = np.full(K, _RUNNING)
    finite = np.isfinite(r).all(axis=1) & np.isfinite(J).all(axis=(1, 2))
    status[~finite] = _NOT_FINITE
    cost = np.where(finite, np.einsum("km,km->k", r, r), np.inf)
    A, g = _normal(np.where(finite[:, None, None], J, 0.0), np.where(finite[:, None], r, 0.0))
    D = np.maximum(np.diagonal(A, axis1=1, axis2=2).copy(), 1e-300)
    mu = np.full(K, 1e-3)
    nu = np.full(K, 2.0)
    while True:
        run = np.flatnonzero((status == _RUNNING) & (nfev < max_nfev))
        if run.size == 0:
            break
        act = _free(x[run], g[run], lo[run], hi[run])
        gmax = np.max(np.where(act, np.abs(g[run]), 0.0), axis=1)
        vanished = ~act.any(axis=1) | (gmax <= gtol * np.maximum(cost[run], 1e-300))
        status[run[vanished]] = _GRADIENT
        run, act = run[~vanished], act[~vanished]
        if run.size == 0:
            continue
        M = A[run] + mu[run, None, None] * (D[run][:, :, None] * np.eye(n))
        h, ok = _solve_masked(M, -g[run], act)
        bad = run[~ok]  # singular: more damping, no evaluation (as the serial solver)
        mu[bad] *= nu[bad]
        nu[bad] *= 2
        run, h = run[ok], h[ok]
        if run.size == 0:
            continue
        x_old = x[run]
        x_new = np.clip(x_old + h, lo[run], hi[run])
        step = x_new - x_old
        pred = -(2 * np.einsum("ki,ki->k", step, g[run])
                 + np.einsum("ki,kij,kj->k", step, A[run], step))
        r_new, J_new = fun(x_new, run)
        nfev[run] += 1
        cost_new = np.where(np.isfinite(r_new).all(axis=1),
                            np.einsum("km,km->k", r_new, r_new), np.inf)
        better = (cost_new < cost[run]) & np.isfinite(J_new).all(axis=(1, 2))
        small = (np.linalg.norm(step, axis=1)
                 <= xtol * (np.linalg.norm(x_old, axis=1) + xtol))
        # accepted steps
        a, sel = run[better], np.flatnonzero(better)
        if a.size:
            p = pred[sel]
            rho = np.where(p > 0, (cost[a] - cost_new[sel]) / np.where(p > 0, p, 1.0), 0.0)
            x[a], r[a], J[a], cost[a] = x_new[sel], r_new[sel], J_new[sel], cost_new[sel]
            A[a], g[a] = _normal(J[a], r[a])
            D[a] = np.maximum(D[a], np.diagonal(A[a], axis1=1, axis2=2))
            mu[a] *= np.maximum(1 / 3, 1 - (2 * rho - 1) ** 3)
            nu[a] = 2.0
            done = small[sel] | (_gauss_newton_decrease_stacked(A[a], g[a], D[a], x[a], lo[a], hi[a])
                                 <= ftol * cost[a])
            status[a[done]] = _CONVERGED
        # rejected steps
        b, sel = run[~better], np.flatnonzero(~better)
        if b.size:
            stuck = small[sel]
            status[b[stuck]] = _NO_DECREASE
            b = b[~stuck]
            mu[b] *= nu[b]
            nu[b] *= 2
            status[b[mu[b] > 1e30]] = _SATURATED
    conv = (status != _RUNNING) & (status != _NOT_FINITE)
    return [LMResult(x[k].copy(), r[k], J[k], float(cost[k]), int(nfev[k]), bool(conv[k]),
                     _MESSAGES[status[k]]) for k in range(K)]
