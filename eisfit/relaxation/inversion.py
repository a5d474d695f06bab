"""The :func:`drt` entry point."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..data.spectrum import Spectrum
from ..errors import EisfitWarning, FitError
from .peaks import find_peaks
from .problem import build_problem
from .regularization import CRITERIA, ScanPoint, choose, evaluate, posterior_std
from .result import DRTResult
from ..linear.solve import QPSolution, nnls as solve_nnls
from .solver import solve_cvxpy

__all__ = ["DEFAULT_LAM_GRID", "drt"]

#: λ grid scanned by default (λ is relative: the penalty is normalised to the data).
DEFAULT_LAM_GRID = np.logspace(-9, 1, 11)


def _select(spectrum: Spectrum, fmin, fmax, capacitive_only: bool):
    if not isinstance(spectrum, Spectrum):
        raise FitError(f"drt() needs an eisfit.Spectrum, got {type(spectrum).__name__}")
    s = spectrum
    if fmin is not None or fmax is not None:
        s = s.crop(fmin, fmax)
    if capacitive_only:
        s = s.capacitive_only()
    f, Z = s.active()
    if f.size < 4:
        raise FitError(f"DRT needs at least 4 active points, {f.size} left after selection")
    order = np.argsort(f)
    return f[order], Z[order]


def drt(
    spectrum: Spectrum,
    *,
    lam: float | None = None,
    criterion: str = "evidence",
    weight: str = "modulus",
    sigma: Any = None,
    fmin: float | None = None,
    fmax: float | None = None,
    capacitive_only: bool = False,
    inductance: bool = True,
    series_capacitance: bool = False,
    ppd: float = 10.0,
    extend: float = 1.0,
    order: int = 2,
    lam_grid: Any = None,
    noise: float | None = None,
    solver: str = "nnls",
    all_criteria: bool = False,
) -> DRTResult:
    """Distribution of relaxation times by non-negative Tikhonov regularisation.

    Model: ``Z = R∞ + jωL [+ 1/(jωC)] + ∫ γ(ln τ) / (1 + jωτ) d ln τ`` with γ ≥ 0,
    γ piecewise linear on a uniform ln τ grid that extends ``extend`` decades beyond the
    measured window. Real and imaginary parts are fitted jointly.

    Parameters
    ----------
    spectrum : Spectrum
        The data (only the points in use).
    lam : float, optional
        Fixed regularisation strength. By default λ is chosen by ``criterion``.
    criterion : {"gcv", "lcurve", "evidence", "discrepancy"}
        How λ is chosen (see :mod:`eisfit.relaxation.regularization`); scored on the
        constrained solution over ``lam_grid``.
    weight : {"modulus", "unit", "proportional"}
        Residual weighting, as in :func:`eisfit.fitting`. ``modulus``: residual / |Z|.
    sigma : array_like, optional
        Per-point standard deviations (complex: separate for Z' and Z''); overrides
        ``weight``.
    fmin, fmax : float, optional
        Use only frequencies in this window (Hz), e.g. drop noisy high frequencies.
    capacitive_only : bool
        Drop inductive points (Z'' > 0).
    inductance : bool
        Fit a series inductance (L ≥ 0).
    series_capacitance : bool
        Fit a series capacitance (blocking electrodes).
    ppd : float
        τ nodes per decade.
    extend : float
        Decades of τ added beyond the measured window on each side.
    order : {0, 1, 2}
        Derivative order of the smoothness penalty.
    lam_grid : array_like, optional
        λ values to scan (default :data:`DEFAULT_LAM_GRID`).
    noise : float, optional
        Known relative noise level, needed by ``criterion="discrepancy"``.
    solver : {"nnls", "cvxpy"}
        ``"nnls"``: fast warm-started block-pivoting NNLS (default). ``"cvxpy"``: the
        final solution (at the λ chosen by the fast scan, or the fixed ``lam``) is
        computed by the same problem written in cvxpy — the reference implementation,
        the place to add constraints (needs the ``cvxpy`` extra).
    all_criteria : bool
        Keep the curves of every criterion in ``result.scores`` (costs a little more);
        by default only the one used.

    Returns
    -------
    DRTResult

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> f = np.logspace(5, -2, 71); w = 2 * np.pi * f
    >>> Z = 10 + 50 / (1 + (1j * w * 1e-3) ** 0.9)        # one ZARC, τ0 = 1e-3 s
    >>> Z = Z + 0.005 * abs(Z) * np.random.default_rng(0).standard_normal(71)
    >>> res = ef.drt(ef.Spectrum(f, Z))
    >>> p = res.peaks()[0]
    >>> round(float(np.log10(p.tau)), 1), round(p.R / 50, 2)
    (-3.0, 1.0)
    """
    if solver not in ("nnls", "cvxpy"):
        raise FitError(f"unknown solver {solver!r}; use 'nnls' or 'cvxpy'")
    if lam is None and criterion not in CRITERIA:
        raise FitError(f"unknown criterion {criterion!r}; use one of {CRITERIA}")
    if lam is not None and not (np.isfinite(lam) and lam > 0):
        raise FitError(f"lam must be positive and finite, got {lam!r}")
    f, Z = _select(spectrum, fmin, fmax, capacitive_only)
    prob = build_problem(
        f,
        Z,
        weight=weight,
        sigma=None if sigma is None else _aligned_sigma(spectrum, sigma, fmin, fmax, capacitive_only),
        ppd=ppd,
        extend=extend,
        inductance=inductance,
        series_capacitance=series_capacitance,
        order=order,
    )
    grid = DEFAULT_LAM_GRID if lam_grid is None else np.asarray(lam_grid, float)
    if lam is not None:
        point = evaluate(prob, float(lam))
        lams, scores, crit = np.array([]), {}, "fixed"
    else:
        point, lams, scores = choose(prob, grid, criterion, noise, all_criteria=all_criteria)
        crit = criterion
        if point.lam in (lams.min(), lams.max()):
            warnings.warn(
                f"λ chosen by {criterion} is at the end of the scanned grid ({point.lam:.2g}); "
                "consider widening lam_grid",
                EisfitWarning,
                stacklevel=2,
            )
    if solver == "cvxpy":
        sol = solve_cvxpy(prob.A, prob.b, prob.P, point.lam)
        point = _as_point(prob, point.lam, sol)
    return _result(prob, point, crit, lams, scores, weight if sigma is None else "sigma")


def _aligned_sigma(spectrum: Spectrum, sigma, fmin, fmax, capacitive_only):
    """Apply the same selection to a per-point sigma as to the data."""
    s = np.asarray(sigma)
    if s.ndim == 0:
        return s
    if s.shape != spectrum.freq.shape:
        raise FitError(f"sigma must have {len(spectrum)} values, got {s.size}")
    keep = spectrum.use.copy()
    f = spectrum.freq
    if fmin is not None:
        keep &= f >= fmin
    if fmax is not None:
        keep &= f <= fmax
    if capacitive_only:
        keep &= spectrum.Z.imag <= 0
    fs, ss = f[keep], s[keep]
    return ss[np.argsort(fs)]


def _as_point(prob, lam: float, sol: QPSolution) -> ScanPoint:
    """Criterion inputs for an externally computed solution (e.g. from cvxpy)."""
    # the free set of the external solution warm-starts the exact pivoting solver,
    # which returns the factorisation needed for posterior spreads; x is kept external
    ref = evaluate(prob, lam, sol.free)
    r = prob.A @ sol.x - prob.b
    return ScanPoint(
        lam, QPSolution(sol.x, ref.sol.free, ref.sol.chol, 0), float(r @ r),
        float(sol.x @ prob.P @ sol.x), ref.dof, ref.logdet, ref.logdet_p, ref.n_pen_free,
    )


def _result(prob, point: ScanPoint, crit: str, lams, scores, weight: str) -> DRTResult:
    ne = prob.n_extra
    xphys = point.sol.x * prob.col_scale
    extras = dict(zip(prob.names, xphys[:ne]))
    gamma = xphys[ne:]
    cov, F, sigma2 = posterior_std(prob, point)
    m = prob.tau.size
    cov_g = np.zeros((m, m))
    Fg = F[F >= ne] - ne
    if Fg.size:
        idx = np.flatnonzero(F >= ne)
        cov_g[np.ix_(Fg, Fg)] = cov[np.ix_(idx, idx)]
    Z_fit = prob.K @ point.sol.x
    wres = (prob.Z.real - Z_fit.real) * prob.w_re + 1j * (prob.Z.imag - Z_fit.imag) * prob.w_im
    window = (1 / (2 * np.pi * prob.freq.max()), 1 / (2 * np.pi * prob.freq.min()))
    peaks = find_peaks(
        prob.tau, gamma, prob.h, cov_g, window, refit=_refit_test(prob, point, sigma2)
    )
    c_inv = extras.get("C_inv")
    C = None if "C_inv" not in extras else (np.inf if c_inv == 0 else 1.0 / c_inv)
    return DRTResult(
        tau=prob.tau,
        gamma=gamma,
        gamma_std=np.sqrt(np.clip(np.diag(cov_g), 0, None)),
        R_inf=float(extras["R_inf"]),
        L=float(extras.get("L", 0.0)),
        C=None if C is None else float(C),
        lam=float(point.lam),
        criterion=crit,
        lam_grid=lams,
        scores=dict(scores),
        freq=prob.freq,
        Z=prob.Z,
        Z_fit=Z_fit,
        residuals=(prob.Z - Z_fit) / np.abs(prob.Z),
        weighted_residuals=wres,
        weight=weight,
        h=float(prob.h),
        sigma2=float(sigma2),
        _cov=cov_g,
        _peaks=tuple(peaks),
    )


def _refit_test(prob, point: ScanPoint, sigma2: float):
    """``z(a, b, mode)``: how much worse the data fit when γ on nodes a..b is forced to be
    zero (``"zero"``), non-decreasing (``"up"``) or non-increasing (``"down"``)."""
    ne = prob.n_extra
    M = prob.H + point.lam * prob.P
    mt = prob.g.size

    def z(a: int, b: int, mode: str) -> float:
        a, b = ne + a, ne + b
        if mode == "zero":
            keep = np.ones(mt, bool)
            keep[a : b + 1] = False
            idx = np.flatnonzero(keep)
            sol = solve_nnls(M[np.ix_(idx, idx)], prob.g[idx], point.sol.free[idx])
            x = np.zeros(mt)
            x[idx] = sol.x
        else:
            # x[a..b] = T e with e >= 0 (cumulative sums): x monotone and non-negative.
            # T is the identity outside a..b, so M' = Tᵀ M T is built with cumsums.
            def apply_t_transpose(X):  # Tᵀ X (rows)
                X = X.copy()
                blk = X[a : b + 1]
                X[a : b + 1] = (
                    np.cumsum(blk[::-1], axis=0)[::-1] if mode == "up" else np.cumsum(blk, axis=0)
                )
                return X

            Mp = apply_t_transpose(apply_t_transpose(M).T).T
            gp = apply_t_transpose(prob.g[:, None])[:, 0]
            # warm start: increments where the unconstrained solution already moves the
            # right way
            free0 = point.sol.free.copy()
            xr = point.sol.x[a : b + 1]
            inc = np.diff(xr, prepend=0.0) if mode == "up" else -np.diff(xr, append=0.0)
            free0[a : b + 1] = inc > 0
            sol = solve_nnls(Mp, gp, free0, max_iter=0)
            e = sol.x
            x = e.copy()
            x[a : b + 1] = (
                np.cumsum(e[a : b + 1]) if mode == "up" else np.cumsum(e[a : b + 1][::-1])[::-1]
            )
        r = prob.A @ x - prob.b
        d = float(r @ r) - point.res2
        return float(np.sqrt(max(d, 0.0) / max(sigma2, 1e-300)))

    return z
