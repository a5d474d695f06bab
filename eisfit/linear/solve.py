"""Linear least squares and non-negative least squares, column-scaled, on small dense systems.

Everything eisfit solves linearly goes through here: the Kramers–Kronig fits
(:func:`lstsq`), the quick DRT behind the starting values and the regularised DRT
(:func:`nnls`, on the normal equations ``H = AᵀA (+ λP)``, ``g = Aᵀb``).

:func:`nnls` minimises ``½ xᵀHx − gᵀx`` subject to ``x ≥ 0`` by block principal pivoting (Kim & Park, 2011). It can be warm-started
from the free set of a neighbouring problem (a λ scan then costs about one Cholesky
factorisation per point) and falls back to the classical Lawson–Hanson active set when
pivoting cycles.

scipy is imported on first use (``import eisfit`` stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QPSolution", "lstsq", "nnls", "nnls_lsq", "cho_factor", "cho_solve"]


def cho_factor(M: np.ndarray) -> tuple:
    """Upper Cholesky factor of a symmetric positive-definite matrix (scipy's layout).

    A tiny relative jitter is added when the matrix is numerically singular.
    """
    from scipy.linalg import LinAlgError
    from scipy.linalg import cho_factor as _cho

    try:
        return _cho(M, lower=False, check_finite=False)
    except LinAlgError:
        jitter = 1e-12 * max(float(np.trace(M)) / max(M.shape[0], 1), 1e-300)
        return _cho(M + jitter * np.eye(M.shape[0]), lower=False, check_finite=False)


def cho_solve(factor: tuple, b: np.ndarray) -> np.ndarray:
    """Solve with a factor from :func:`cho_factor`."""
    from scipy.linalg import cho_solve as _solve

    return _solve(factor, b, check_finite=False)


def lstsq(A: np.ndarray, b: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """Least squares ``min ‖Ax − b‖² (+ ridge·‖Dx‖²)`` via column-scaled normal equations.

    Columns are scaled to unit norm first (``D`` is that scaling), so the problem does not
    care about the units of its columns. The systems here are small and tall, where this
    is several times faster than an SVD; when nearly collinear columns make the Gram
    matrix numerically singular a relative ridge of 1e-12, then 1e-9, is added (its effect
    on the residuals is far below any measurement noise), and an SVD is the last resort.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]); x = np.array([3.0, -1.0])
    >>> bool(np.allclose(lstsq(A, A @ x), x))
    True
    """
    norms = np.sqrt(np.einsum("ij,ij->j", A, A))
    norms[norms == 0] = 1.0
    As = A / norms
    G = As.T @ As
    rhs = As.T @ b
    p = G.shape[0]
    for extra in (0.0, 1e-12, 1e-9):
        r = ridge + extra
        try:
            L = np.linalg.cholesky(G + r * np.eye(p) if r else G)
        except np.linalg.LinAlgError:
            continue
        y = np.linalg.solve(L, rhs)
        x = np.linalg.solve(L.T, y)
        if np.all(np.isfinite(x)):
            return x / norms
    return np.linalg.lstsq(As, b, rcond=None)[0] / norms


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


def nnls(
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
    >>> nnls(H, g).x
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
            chol = cho_factor(H[np.ix_(free, free)])
            x[free] = cho_solve(chol, g[free])
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


def nnls_lsq(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``min ‖Ax − b‖`` subject to ``x ≥ 0`` for a small tall ``A`` (Lawson–Hanson).

    The classical active-set method on the design itself; cheaper than the normal
    equations when the problem is solved once (no λ scan to warm-start).
    """
    from scipy.optimize import nnls as active_set

    return active_set(A, b, maxiter=50 * A.shape[1])[0]


def _lawson_hanson(H: np.ndarray, g: np.ndarray) -> QPSolution:
    """Fallback when pivoting cycles (very ill-conditioned H): classical active set."""
    from scipy.linalg import solve_triangular
    from scipy.optimize import nnls as active_set

    c, _low = cho_factor(H)
    U = np.triu(c)
    d = solve_triangular(U, g, trans="T", lower=False, check_finite=False)
    x, _ = active_set(U, d, maxiter=50 * g.size)
    free = x > 0
    chol = cho_factor(H[np.ix_(free, free)]) if free.any() else None
    x.setflags(write=False)
    free.setflags(write=False)
    return QPSolution(x=x, free=free, chol=chol, iterations=-1)
