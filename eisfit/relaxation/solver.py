"""The DRT problem written in cvxpy: the reference implementation.

For a fixed regularisation strength λ the DRT solves

.. math::

    \\min_{x \\ge 0} \\; \\lVert A x - b \\rVert^2 + \\lambda\\, x^T P x

The fast path solves it on the normal equations with :func:`eisfit.linear.solve.nnls`;
:func:`solve_cvxpy` states exactly the same problem in cvxpy (slow, but extra constraints
are one line there) and the tests check that both agree.
"""

from __future__ import annotations

import numpy as np

from ..errors import SolverError, require
from ..linear.solve import QPSolution

__all__ = ["solve_cvxpy"]


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
    MissingDependencyError
        If cvxpy is not installed (an ``ImportError``).
    SolverError
        If cvxpy returns no solution (a ``RuntimeError``).
    """
    cp = require("cvxpy", "cvxpy", "solver='cvxpy'")
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
        raise SolverError(f"cvxpy did not solve the DRT problem (status {prob.status})")
    xv = np.clip(np.asarray(x.value, float), 0, None) * s
    free = xv > 1e-9 * max(float(xv.max()), 1e-300)
    xv.setflags(write=False)
    free.setflags(write=False)
    return QPSolution(x=xv, free=free, chol=None, iterations=0)
