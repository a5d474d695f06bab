"""Solvers for the regularised non-negative least-squares DRT problem.

The problem, for a fixed regularisation strength λ, is

.. math::

    \\min_{x \\ge 0} \\; \\lVert A x - b \\rVert^2 + \\lambda\\, x^T P x

with ``A`` the weighted (real-stacked) kernel matrix and ``P`` a positive semi-definite
penalty (zero on unpenalised variables such as R∞ and L). It is solved on the normal
equations ``H = AᵀA``, ``g = Aᵀb`` by block principal pivoting (Kim & Park, 2011), which
can be warm-started from the free set of a neighbouring λ: a scan over a λ grid then
costs about one Cholesky factorisation per grid point.

:func:`solve_cvxpy` writes exactly the same problem in cvxpy; it is the reference
implementation (slow, but extra constraints are one line there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, solve_triangular

__all__ = ["QPSolution", "solve_cvxpy", "solve_nnls"]


@dataclass(frozen=True)
class QPSolution:
    """Solution of one regularised NNLS problem.

    Attributes
    ----------
    x : numpy.ndarray
        The solution (non-negative).
    free : numpy.ndarray
        Boolean mask of variables not held at zero by the constraint.
    chol : tuple or None
        Cholesky factor of ``(H + λP)`` restricted to ``free`` (for criteria and
        posterior spreads); ``None`` from the cvxpy solver.
    iterations : int
        Pivoting iterations used.
    """

    x: np.ndarray
    free: np.ndarray
    chol: tuple | None
    iterations: int


def _factor(M: np.ndarray) -> tuple:
    try:
        return cho_factor(M, lower=False, check_finite=False)
    except LinAlgError:
        jitter = 1e-12 * max(float(np.trace(M)) / max(M.shape[0], 1), 1e-300)
        return cho_factor(M + jitter * np.eye(M.shape[0]), lower=False, check_finite=False)


def solve_nnls(
    H: np.ndarray,
    g: np.ndarray,
    free0: np.ndarray | None = None,
    max_iter: int = 40,
) -> QPSolution:
    """Minimise ``½ xᵀHx − gᵀx`` subject to ``x ≥ 0`` (``H`` positive definite).

    Parameters
    ----------
    H : numpy.ndarray
        Symmetric positive-definite matrix (``AᵀA + λP``), shape (m, m).
    g : numpy.ndarray
        Linear term ``Aᵀb``, shape (m,).
    free0 : numpy.ndarray of bool, optional
        Initial guess of the free (positive) set, e.g. from a neighbouring λ.
    max_iter : int
        Safety cap on pivoting iterations.

    Returns
    -------
    QPSolution

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[2.0, 0.0], [0.0, 1.0]]); g = np.array([2.0, -1.0])
    >>> solve_nnls(H, g).x
    array([1., 0.])
    """
    m = g.size
    if max_iter <= 0:
        return _lawson_hanson(H, g)
    free = np.zeros(m, bool) if free0 is None else np.asarray(free0, bool).copy()
    best = m + 1
    budget = 3
    scale = float(np.max(np.abs(g))) if m else 1.0
    tol = 1e-12 * max(scale, 1e-300)
    x = np.zeros(m)
    chol = None
    it = 0
    for it in range(1, max_iter + 1):
        x = np.zeros(m)
        if free.any():
            chol = _factor(H[np.ix_(free, free)])
            x[free] = cho_solve(chol, g[free], check_finite=False)
        else:
            chol = None
        y = H @ x - g
        bad = (free & (x < -tol)) | (~free & (y < -tol))
        nbad = int(bad.sum())
        if nbad == 0:
            break
        if nbad < best:
            best, budget = nbad, 3
            free ^= bad
        elif budget > 0:
            budget -= 1
            free ^= bad
        else:  # backup rule: flip only the last infeasible index (guarantees termination)
            k = int(np.flatnonzero(bad)[-1])
            free[k] = not free[k]
    else:
        return _lawson_hanson(H, g)
    x = np.where(free, np.maximum(x, 0.0), 0.0)
    x.setflags(write=False)
    free.setflags(write=False)
    return QPSolution(x=x, free=free, chol=chol, iterations=it)


def _lawson_hanson(H: np.ndarray, g: np.ndarray) -> QPSolution:
    """Fallback when pivoting cycles (very ill-conditioned H): classical active set."""
    from scipy.optimize import nnls

    c, _low = _factor(H)
    U = np.triu(c)
    d = solve_triangular(U, g, trans="T", lower=False, check_finite=False)
    x, _ = nnls(U, d, maxiter=50 * g.size)
    free = x > 0
    chol = _factor(H[np.ix_(free, free)]) if free.any() else None
    x.setflags(write=False)
    free.setflags(write=False)
    return QPSolution(x=x, free=free, chol=chol, iterations=-1)


def solve_cvxpy(
    A: np.ndarray, b: np.ndarray, P: np.ndarray, lam: float, solver: str | None = None
) -> QPSolution:
    """The same problem written in cvxpy (reference implementation).

    Parameters
    ----------
    A, b : numpy.ndarray
        Weighted real design matrix (N, m) and data (N,).
    P : numpy.ndarray
        Penalty matrix (m, m), positive semi-definite.
    lam : float
        Regularisation strength.
    solver : str, optional
        cvxpy solver name (default: cvxpy's choice).

    Raises
    ------
    ImportError
        If cvxpy is not installed (``pip install eisfit-battery[cvxpy]``).
    """
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "solver='cvxpy' needs cvxpy: pip install 'eisfit-battery[cvxpy]'"
        ) from exc
    m = A.shape[1]
    # P = LᵀL through an eigendecomposition (P may be singular on unpenalised variables)
    w, V = np.linalg.eigh(0.5 * (P + P.T))
    L = (V * np.sqrt(np.clip(w, 0, None))).T
    # scale the problem so that solver tolerances are meaningful
    s = float(np.linalg.norm(b)) or 1.0
    x = cp.Variable(m)
    objective = cp.Minimize(cp.sum_squares(A @ x - b / s) + lam * cp.sum_squares(L @ x))
    prob = cp.Problem(objective, [x >= 0])
    if solver is None and "CLARABEL" in cp.installed_solvers():
        # tight tolerances: the reference must be more accurate than what it checks
        prob.solve(
            solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12,
            max_iter=500,
        )
    else:
        prob.solve(**({"solver": solver} if solver else {}))
    if x.value is None:
        raise RuntimeError(f"cvxpy did not solve the DRT problem (status {prob.status})")
    xv = np.clip(np.asarray(x.value, float), 0, None) * s
    free = xv > 1e-9 * max(float(xv.max()), 1e-300)
    xv.setflags(write=False)
    free.setflags(write=False)
    return QPSolution(x=xv, free=free, chol=None, iterations=0)
