"""A compact bounded Levenberg–Marquardt solver for small dense problems.

Why not :func:`scipy.optimize.least_squares`? For circuits (≤ 20 parameters, ≤ a few
hundred residuals) its per-iteration Python overhead dominates; this loop costs one
model+Jacobian evaluation and one small linear solve per iteration. Bounds are handled
by projection with an active set (variables sitting on a bound with the gradient
pushing outward are frozen for the step). Damping follows Nielsen's update with
Moré's scaling by the largest diagonal of JᵀJ seen so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["LMResult", "levenberg_marquardt"]


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
