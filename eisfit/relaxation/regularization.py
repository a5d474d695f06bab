"""Choice of the regularisation strength λ.

λ is scanned over a global log-grid, each point warm-started from its neighbour, and
every criterion is evaluated on the **constrained** (non-negative) solution: the
influence matrix and the evidence use only the free variables, i.e. the model the data
actually fit. Criteria (all "lower is better"):

``"gcv"``
    Generalised cross-validation, ``N‖r‖² / (N − tr S)²``.
``"lcurve"``
    Minus the curvature of (log ‖r‖², log xᵀPx) along the grid; the corner wins.
``"evidence"``
    Minus the Bayesian log-evidence of a Gaussian smoothness prior, with the noise
    variance profiled out (MacKay). Noise-aware: it needs no noise level.
``"discrepancy"``
    ``|log(‖r‖² / (N ε²))|`` for a known relative noise level ε (``noise=``): the
    largest smoothing that fits the data to within the noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FitError
from .problem import DRTProblem
from ..linear.solve import QPSolution, cho_factor, cho_solve
from ..linear.solve import nnls as solve_nnls

__all__ = ["CRITERIA", "ScanPoint", "choose", "evaluate", "scan"]

CRITERIA = ("gcv", "lcurve", "evidence", "discrepancy")

#: With ``criterion="evidence"`` the largest λ whose log-evidence is within this many
#: nats of the maximum is used (differences of ~1 nat carry no real weight).
EVIDENCE_TOL = 1.0

#: Block-pivoting iterations before falling back to Lawson–Hanson in the scan.
SCAN_MAX_ITER = 12


@dataclass(frozen=True)
class ScanPoint:
    """One λ of the scan: solution and the quantities the criteria need."""

    lam: float
    sol: QPSolution
    res2: float  # ‖A x − b‖²
    pen: float  # xᵀ P x
    dof: float  # trace of the influence matrix (free variables only)
    logdet: float  # log det (H + λP) over the free set
    logdet_p: float  # log det P over the free penalised variables
    n_pen_free: int


def evaluate(
    prob: DRTProblem, lam: float, free0: np.ndarray | None = None, dof: bool = True
) -> ScanPoint:
    """Solve at one λ (warm-started from ``free0``) and compute the criterion inputs.

    ``dof=False`` skips the trace of the influence matrix (the costliest part; only GCV
    and the final point need it) and stores NaN instead.
    """
    M = prob.H + lam * prob.P
    sol = solve_nnls(M, prob.g, free0, max_iter=SCAN_MAX_ITER)
    x = sol.x
    r = prob.A @ x - prob.b
    res2 = float(r @ r)
    pen = float(x @ prob.P @ x)
    F = np.flatnonzero(sol.free)
    if F.size and sol.chol is not None:
        c, low = sol.chol
        logdet = 2.0 * float(np.sum(np.log(np.abs(np.diag(c)))))
        if dof:
            HFF = prob.H[np.ix_(F, F)]
            dof_v = float(np.trace(cho_solve((c, low), HFF)))
        else:
            dof_v = float("nan")
    else:
        dof_v, logdet = 0.0, 0.0
    Fp = F[F >= prob.n_extra]
    if Fp.size:
        cp_ = cho_factor(prob.P[np.ix_(Fp, Fp)])[0]
        logdet_p = 2.0 * float(np.sum(np.log(np.abs(np.diag(cp_)))))
    else:
        logdet_p = 0.0
    return ScanPoint(lam, sol, res2, pen, dof_v, logdet, logdet_p, int(Fp.size))


def _scores(points: list[ScanPoint], n: int, criterion: str, noise: float | None) -> np.ndarray:
    res2 = np.array([p.res2 for p in points])
    if criterion == "gcv":
        dof = np.array([p.dof for p in points])
        return n * res2 / np.maximum(n - dof, 1e-3) ** 2
    if criterion == "evidence":
        out = []
        for p in points:
            S = p.res2 + p.lam * p.pen
            log_e = (
                -0.5 * n * np.log(max(S, 1e-300))
                - 0.5 * p.logdet
                + 0.5 * p.n_pen_free * np.log(p.lam)
                + 0.5 * p.logdet_p
            )
            out.append(-log_e)
        return np.array(out)
    if criterion == "discrepancy":
        if noise is None or not noise > 0:
            raise FitError("criterion 'discrepancy' needs the relative noise level: noise=0.005")
        return np.abs(np.log(np.maximum(res2, 1e-300) / (n * noise**2)))
    if criterion == "lcurve":
        lam = np.log([p.lam for p in points])
        rho = np.log(np.maximum(res2, 1e-300))
        eta = np.log(np.maximum([p.pen for p in points], 1e-300))
        if len(points) < 3:
            return np.zeros(len(points))
        d_rho, d_eta = np.gradient(rho, lam), np.gradient(eta, lam)
        dd_rho, dd_eta = np.gradient(d_rho, lam), np.gradient(d_eta, lam)
        kappa = (d_rho * dd_eta - dd_rho * d_eta) / np.maximum(
            (d_rho**2 + d_eta**2) ** 1.5, 1e-300
        )
        kappa[[0, -1]] = -np.inf  # a corner needs neighbours on both sides
        return -kappa
    raise FitError(f"unknown criterion {criterion!r}; use one of {CRITERIA}")


def scan(prob: DRTProblem, grid: np.ndarray, dof: bool = True) -> list[ScanPoint]:
    """Solve along ``grid``, warm-starting each λ from its neighbour.

    The scan runs from the largest λ (best conditioned) down; points are returned in
    ascending λ.
    """
    points: list[ScanPoint] = []
    free = None
    for lam in np.sort(np.asarray(grid, float))[::-1]:
        p = evaluate(prob, float(lam), free, dof)
        free = p.sol.free
        points.append(p)
    return points[::-1]


def choose(
    prob: DRTProblem,
    grid: np.ndarray,
    criterion: str = "gcv",
    noise: float | None = None,
    refine: int = 3,
    all_criteria: bool = False,
) -> tuple[ScanPoint, np.ndarray, dict[str, np.ndarray]]:
    """Scan ``grid``, score every point and refine around the best one.

    Returns
    -------
    best : ScanPoint
    lams : numpy.ndarray
        All λ evaluated (grid plus refinement points), ascending.
    scores : dict
        Criterion name → score array aligned with ``lams``: the chosen criterion, or every
        criterion that can be computed if ``all_criteria``.
    """
    if criterion not in CRITERIA:
        raise FitError(f"unknown criterion {criterion!r}; use one of {CRITERIA}")
    need_dof = all_criteria or criterion == "gcv"
    points = scan(prob, np.sort(np.asarray(grid, float)), need_dof)
    n = prob.n_data
    if criterion != "lcurve":
        step = np.log(points[1].lam / points[0].lam) if len(points) > 1 else 1.0
        for _ in range(refine):
            s = _scores(points, n, criterion, noise)
            i = int(np.nanargmin(s))
            step /= 2
            base = points[i]
            for lam in (base.lam * np.exp(-step), base.lam * np.exp(step)):
                points.append(evaluate(prob, float(lam), base.sol.free, need_dof))
            points.sort(key=lambda p: p.lam)
    if all_criteria:
        names = ["gcv", "lcurve", "evidence"] + (["discrepancy"] if noise else [])
    else:
        names = [criterion]
    # the L-curve curvature needs a uniform grid: evaluate it on the grid points only
    scores: dict[str, np.ndarray] = {}
    grid_set = set(np.round(np.log(np.asarray(grid, float)), 12))
    on_grid = np.array([np.round(np.log(p.lam), 12) in grid_set for p in points])
    for name in names:
        if name == "lcurve":
            sc = np.full(len(points), np.nan)
            sub = [p for p, g in zip(points, on_grid) if g]
            sc[on_grid] = _scores(sub, n, "lcurve", noise)
        else:
            sc = _scores(points, n, name, noise)
        scores[name] = sc
    chosen = scores[criterion]
    i = int(np.nanargmin(np.where(np.isfinite(chosen), chosen, np.nan)))
    if criterion == "evidence" and EVIDENCE_TOL > 0:
        # λ values whose evidence is within EVIDENCE_TOL nats of the best are equally
        # supported by the data: take the smoothest of them (fewer spurious ripples)
        ok = np.flatnonzero(chosen <= chosen[i] + EVIDENCE_TOL)
        i = int(max(ok, key=lambda j: points[j].lam))
    lams = np.array([p.lam for p in points])
    best = points[i]
    if not np.isfinite(best.dof):
        best = evaluate(prob, best.lam, best.sol.free, True)
    return best, lams, scores


def posterior_std(prob: DRTProblem, point: ScanPoint) -> tuple[np.ndarray, np.ndarray, float]:
    """Posterior covariance of the free variables (zero elsewhere) and the noise variance.

    Returns ``(cov, free_idx, sigma2)`` with ``cov`` the covariance of ``x[free_idx]``.
    """
    F = np.flatnonzero(point.sol.free)
    n = prob.n_data
    sigma2 = point.res2 / max(n - point.dof, 1.0)
    if not F.size or point.sol.chol is None:
        return np.zeros((0, 0)), F, sigma2
    from scipy.linalg import solve_triangular

    c, _low = point.sol.chol
    # (UᵀU)⁻¹ = U⁻¹ U⁻ᵀ with U upper triangular
    Uinv = solve_triangular(c, np.eye(F.size), lower=False, check_finite=False)
    cov = sigma2 * (Uinv @ Uinv.T)
    return cov, F, sigma2
