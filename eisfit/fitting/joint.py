"""The joint least-squares problem of a sequence of spectra and its Levenberg–Marquardt solver.

Unknowns: per spectrum ``k`` the *local* free parameters ``x[k, j]`` (optimiser coordinates
of :mod:`eisfit.fitting.params`: ``ln θ`` for positive parameters, ``θ`` for exponents)
and one vector ``s`` of *shared* free parameters. The objective is ::

    F(x, s) = Σₖ ‖rₖ(x[k], s)‖² / σₖ²  +  Σⱼ λⱼ ‖D x[:, j]‖²

with ``rₖ`` the weighted residuals of :func:`eisfit.fitting.weights.stack` of spectrum
``k``, ``σₖ`` its noise level and ``D`` the second-difference operator along the
sequence coordinate. All spectra are evaluated in one vectorised pass: their frequency
grids are padded to a common length (weights zero on the padding), and the compiled
circuit takes one parameter value per point. The Gauss–Newton normal matrix is a
:class:`~eisfit.fitting.arrowhead.Arrowhead` (spectrum-major band of half-width
``2·p_local`` plus the shared rows), factorised without ever forming a dense matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrowhead import Arrowhead, ArrowFactor
from .params import ParamSetup

__all__ = ["JointProblem", "second_difference", "JointState", "levenberg_marquardt_joint",
           "Posterior", "posterior", "penalty_apply", "spectrum_blocks", "spectrum_edf"]


def second_difference(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Bands ``(d0, d1, d2)`` of ``DᵀD`` and ``rank(D)`` for second differences at ``t``.

    Row ``k`` of ``D`` is the divided second difference at ``t[k+1]`` scaled by
    ``√((h₁ + h₂)/2)``, so that ``‖D x‖² ≈ ∫ x''(t)² dt`` on an uneven grid; with unit
    spacing the rows are ``(1, −2, 1)``.
    """
    from scipy import sparse

    K = t.size
    if K < 3:
        return np.zeros(K), np.zeros(max(K - 1, 0)), np.zeros(max(K - 2, 0)), 0
    h1, h2 = np.diff(t)[:-1], np.diff(t)[1:]
    c = 2.0 / (h1 + h2) * np.sqrt((h1 + h2) / 2.0)
    D = sparse.diags([c / h1, -c * (1 / h1 + 1 / h2), c / h2], [0, 1, 2], shape=(K - 2, K))
    P = (D.T @ D).todia()
    return P.diagonal(0), P.diagonal(1), P.diagonal(2), K - 2


def penalty_apply(d: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``DᵀD @ x`` along axis 0 of ``x`` (shape (K, …))."""
    d0, d1, d2 = d
    y = d0.reshape(-1, *[1] * (x.ndim - 1)) * x
    if x.shape[0] > 1:
        e1 = d1.reshape(-1, *[1] * (x.ndim - 1))
        y[:-1] += e1 * x[1:]
        y[1:] += e1 * x[:-1]
    if x.shape[0] > 2:
        e2 = d2.reshape(-1, *[1] * (x.ndim - 1))
        y[:-2] += e2 * x[2:]
        y[2:] += e2 * x[:-2]
    return y


@dataclass
class JointProblem:
    """Data and structure of one joint fit (see the module docstring)."""

    compiled: object
    setup: ParamSetup
    f: np.ndarray  # (K, N) padded frequency grids
    Z: np.ndarray  # (K, N) data (1 on the padding)
    w_re: np.ndarray  # (K, N) weight / σₖ, zero on the padding
    w_im: np.ndarray
    local: np.ndarray  # indices into setup.free of the per-spectrum parameters
    shared: np.ndarray  # indices into setup.free of the shared ones
    pen: tuple[np.ndarray, np.ndarray, np.ndarray]  # bands of DᵀD
    rank: int  # rank of D
    xlo: np.ndarray  # bounds of the free coordinates (setup.free order)
    xhi: np.ndarray

    def __post_init__(self):
        s = self.setup
        self._rows = s.free_index  # the parameter that carries each free column
        # tied parameters add their derivative to the column of their source
        self._ties = [(i, int(c)) for i, c in enumerate(s.column) if c >= 0 and i not in self._rows]
        self._f_flat = np.ascontiguousarray(self.f.ravel())

    @property
    def K(self) -> int:
        return self.f.shape[0]

    @property
    def p_local(self) -> int:
        return self.local.size

    @property
    def p_shared(self) -> int:
        return self.shared.size

    @property
    def n_residuals(self) -> int:
        return 2 * int(np.count_nonzero(self.w_re))

    def with_noise(self, sigma: np.ndarray) -> "JointProblem":
        """The same problem with each spectrum's weights rescaled by ``1/sigma[k]``
        relative to the current ones."""
        from dataclasses import replace

        return replace(self, w_re=self.w_re / sigma[:, None], w_im=self.w_im / sigma[:, None])

    def free_matrix(self, XL: np.ndarray, XS: np.ndarray) -> np.ndarray:
        """Free coordinates per spectrum (K, n_free) in ``setup.free`` order."""
        X = np.empty((self.K, self.setup.n_free))
        X[:, self.local] = XL
        X[:, self.shared] = XS
        return X

    def thetas(self, X: np.ndarray) -> np.ndarray:
        """Natural parameter values per spectrum (K, n_params)."""
        s = self.setup
        th = np.broadcast_to(s.fixed_values, (self.K, len(s.names))).copy()
        free = s.column >= 0
        xv = X[:, s.column[free]]
        th[:, free] = np.where(s.log[free], np.exp(np.minimum(xv, 700.0)), xv)
        return th

    def evaluate(self, XL, XS, jac: bool = True):
        """Residuals (K, 2N) and, with ``jac``, their Jacobian (K, n_free, 2N)."""
        th = self.thetas(self.free_matrix(XL, XS))
        K, N = self.f.shape
        per_point = np.repeat(th.T, N, axis=1)
        if jac:
            z, J = self.compiled.z_jac(per_point, self._f_flat)
        else:
            z, J = self.compiled.z(per_point, self._f_flat), None
        dz = z.reshape(K, N) - self.Z
        r = np.concatenate((self.w_re * dz.real, self.w_im * dz.imag), axis=1)
        if not jac:
            return r, None
        scale = np.where(self.setup.log, th, 1.0)  # dθ/dx
        Jt = J.reshape(-1, K, N) * scale.T[:, :, None]
        Jf = Jt[self._rows]
        for i, c in self._ties:
            Jf[c] += Jt[i]
        Jx = np.concatenate((Jf.real * self.w_re, Jf.imag * self.w_im), axis=2)  # (c, K, 2N)
        Jx = np.ascontiguousarray(Jx.transpose(1, 0, 2))
        return r, Jx

    def penalty(self, XL: np.ndarray, lam: np.ndarray) -> float:
        if not lam.any():
            return 0.0
        return float(np.sum(lam * XL * penalty_apply(self.pen, XL)))

    def normal(self, XL, XS, r, Jx, lam) -> tuple[Arrowhead, np.ndarray, np.ndarray]:
        """Gauss–Newton matrix and gradient (halved) of the objective."""
        K, pL, pS = self.K, self.p_local, self.p_shared
        A = Jx @ Jx.transpose(0, 2, 1)  # (K, n_free, n_free)
        g = (Jx @ r[:, :, None])[:, :, 0]
        loc, sh = self.local, self.shared
        B = A[:, loc][:, :, loc]
        u = 2 * pL if lam.any() else max(pL - 1, 0)
        n = K * pL
        band = np.zeros((u + 1, n))
        band[0] = np.einsum("kjj->kj", B).ravel()
        for d in range(1, min(pL, u + 1)):
            band[d].reshape(K, pL)[:, : pL - d] = np.diagonal(B, offset=-d, axis1=1, axis2=2)
        gL = g[:, loc]
        if lam.any():
            d0, d1, d2 = self.pen
            band[0] += (d0[:, None] * lam[None, :]).ravel()
            band[pL].reshape(K, pL)[: K - 1] = d1[:, None] * lam[None, :]
            band[2 * pL].reshape(K, pL)[: K - 2] = d2[:, None] * lam[None, :]
            gL = gL + lam * penalty_apply(self.pen, XL)
        C = A[:, loc][:, :, sh].reshape(n, pS)
        E = A[:, sh][:, :, sh].sum(axis=0)
        gS = g[:, sh].sum(axis=0)
        return Arrowhead(band, C, E), gL.ravel(), gS

    def quad(self, Jx, hL, hS, lam) -> float:
        """``hᵀ M h`` (Gauss–Newton) without forming ``M``."""
        h = self.free_matrix(hL, hS)
        Jh = (h[:, None, :] @ Jx)[:, 0, :]
        return float(np.sum(Jh * Jh)) + self.penalty(hL, lam)


@dataclass
class JointState:
    XL: np.ndarray
    XS: np.ndarray
    r: np.ndarray
    Jx: np.ndarray
    cost: float
    nfev: int
    converged: bool
    message: str
    mu: float = 1e-3  # damping at the end (a warm restart continues from it)


def levenberg_marquardt_joint(
    prob: JointProblem,
    XL: np.ndarray,
    XS: np.ndarray,
    lam: np.ndarray,
    *,
    max_iter: int = 200,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    mu: float = 1e-3,
) -> JointState:
    """Minimise the joint objective from ``(XL, XS)`` with bounds (projected LM).

    The loop of :func:`eisfit.fitting.lm.levenberg_marquardt` (Nielsen's damping, Moré's
    scaling, an active set for variables on a bound), with the normal equations of the
    whole sequence solved by :class:`~eisfit.fitting.arrowhead.ArrowFactor`.
    """
    K, pL = prob.K, prob.p_local
    loL, hiL = prob.xlo[prob.local], prob.xhi[prob.local]
    loS, hiS = prob.xlo[prob.shared], prob.xhi[prob.shared]
    XL = np.clip(XL, loL, hiL)
    XS = np.clip(XS, loS, hiS)
    r, Jx = prob.evaluate(XL, XS)
    nfev = 1
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(Jx))):
        return JointState(XL, XS, r, Jx, np.inf, nfev, False,
                          "model is not finite at the starting point")
    cost = float(np.sum(r * r)) + prob.penalty(XL, lam)
    M, gL, gS = prob.normal(XL, XS, r, Jx, lam)
    dL, dS = (np.maximum(d, 1e-300) for d in M.diagonal())
    nu = 2.0
    message, converged = "iteration limit reached", False
    flatL = lambda a: np.broadcast_to(a, (K, pL)).ravel()  # noqa: E731
    loLf, hiLf = flatL(loL), flatL(hiL)
    while nfev < max_iter:
        xL = XL.ravel()
        fL = ((xL <= loLf) & (gL > 0)) | ((xL >= hiLf) & (gL < 0))
        fS = ((XS <= loS) & (gS > 0)) | ((XS >= hiS) & (gS < 0))
        gmax = max(np.max(np.abs(gL[~fL]), initial=0.0), np.max(np.abs(gS[~fS]), initial=0.0))
        if gmax <= 1e-14 * max(cost, 1e-300):
            converged, message = True, "gradient vanished"
            break
        try:
            fac = ArrowFactor(M.add_diagonal(mu * dL, mu * dS).freeze(fL, fS))
        except np.linalg.LinAlgError:
            mu *= nu
            nu *= 2
            continue
        hL, hS = fac.solve(np.where(fL, 0.0, -gL), np.where(fS, 0.0, -gS))
        XL_new = np.clip(XL + hL.reshape(K, pL), loL, hiL)
        XS_new = np.clip(XS + hS, loS, hiS)
        sL, sS = (XL_new - XL).ravel(), XS_new - XS
        pred = -(2 * (sL @ gL + sS @ gS) + prob.quad(Jx, sL.reshape(K, pL), sS, lam))
        r_new, J_new = prob.evaluate(XL_new, XS_new)
        nfev += 1
        ok = np.all(np.isfinite(r_new)) and np.all(np.isfinite(J_new))
        cost_new = float(np.sum(r_new * r_new)) + prob.penalty(XL_new, lam) if ok else np.inf
        step_norm = np.sqrt(sL @ sL + sS @ sS)
        x_norm = np.sqrt(np.sum(XL * XL) + XS @ XS)
        if cost_new < cost:
            rho = (cost - cost_new) / pred if pred > 0 else 0.0
            decrease = cost - cost_new
            XL, XS, r, Jx, cost = XL_new, XS_new, r_new, J_new, cost_new
            M, gL, gS = prob.normal(XL, XS, r, Jx, lam)
            d_new = M.diagonal()
            dL, dS = np.maximum(dL, d_new[0]), np.maximum(dS, d_new[1])
            mu *= max(1 / 3, 1 - (2 * rho - 1) ** 3)
            nu = 2.0
            if step_norm <= xtol * (x_norm + xtol) or (
                decrease <= ftol * cost and _gauss_newton_decrease(M, gL, gS, dL, dS) <= ftol * cost
            ):
                converged, message = True, "converged"
                break
        else:
            if step_norm <= xtol * (x_norm + xtol) or (0 <= pred <= ftol * cost and mu < 1e-3):
                converged, message = True, "converged (no further decrease possible)"
                break
            mu *= nu
            nu *= 2
            if mu > 1e30:
                converged, message = True, "converged (damping saturated)"
                break
    return JointState(XL, XS, r, Jx, cost, nfev, converged, message, mu)


def _gauss_newton_decrease(M: Arrowhead, gL, gS, dL, dS) -> float:
    """Decrease of the objective an undamped Gauss–Newton step would still promise."""
    try:
        fac = ArrowFactor(M.add_diagonal(1e-12 * dL, 1e-12 * dS))
    except np.linalg.LinAlgError:
        return np.inf
    hL, hS = fac.solve(gL, gS)
    return float(abs(gL @ hL + gS @ hS))


@dataclass
class Posterior:
    """Laplace approximation at a joint optimum: selected entries of ``Σ = M⁻¹`` and the
    quantities of the evidence (marginal likelihood) for the smoothness strengths."""

    band: np.ndarray  # Σ inside the band of the local block (see ArrowFactor.selected_inverse)
    cross: np.ndarray  # Σ local × shared
    shared: np.ndarray  # Σ shared × shared
    traces: np.ndarray  # tr(Σ Pⱼ) per local parameter (Pⱼ = DᵀD acting on parameter j)
    edf: float  # effective number of parameters, n − Σ λⱼ tr(Σ Pⱼ)
    phi: float  # residual variance factor χ² / (m − edf) (1 for absolute weights)
    singular: bool  # M needed a ridge to be factorised
    inflation: np.ndarray  # Σᵢᵢ·Mᵢᵢ per unknown (local flattened, then shared)
    log_evidence: float  # Laplace log marginal likelihood (up to a constant), see `posterior`


def posterior(prob: JointProblem, XL, XS, r, Jx, lam, absolute: bool) -> Posterior:
    """Selected inversion of the Gauss–Newton matrix at ``(XL, XS)``."""
    M, _, _ = prob.normal(XL, XS, r, Jx, lam)
    dL, dS = M.diagonal()
    singular = False
    try:
        fac = ArrowFactor(M)
    except np.linalg.LinAlgError:
        singular = True
        top = max(float(np.max(dL, initial=0.0)), float(np.max(dS, initial=0.0)), 1e-300)
        ridge = 1e-12 * top
        fac = ArrowFactor(M.add_diagonal(np.full_like(dL, ridge), np.full_like(dS, ridge)))
    band, cross, ss = fac.selected_inverse(block=prob.p_local)
    K, pL = prob.K, prob.p_local
    traces = np.zeros(pL)
    if lam.any() and K >= 3:
        d0, d1, d2 = prob.pen
        traces = (
            np.sum(d0[:, None] * band[0].reshape(K, pL), axis=0)
            + 2 * np.sum(d1[:, None] * band[pL].reshape(K, pL)[: K - 1], axis=0)
            + 2 * np.sum(d2[:, None] * band[2 * pL].reshape(K, pL)[: K - 2], axis=0)
        )
    n = K * pL + prob.p_shared
    edf = float(n - np.sum(lam * traces))
    m = prob.n_residuals
    chi2 = float(np.sum(r * r))
    phi = 1.0 if absolute else (chi2 / (m - edf) if m > edf else np.nan)
    inflation = np.concatenate((band[0] * dL, np.diag(ss) * dS))
    # log evidence, noise scale profiled out (REML form): the prior on the second differences
    # of parameter j has precision λⱼ/φ; shared parameters and the penalty's null space are
    # flat. −½(m − Mₚ) log φ̂ + ½ Σ rⱼ log λⱼ − ½ log det M, φ̂ = (χ² + penalty)/(m − Mₚ).
    pen = prob.penalty(XL, lam)
    on = lam > 0
    n_flat = n - prob.rank * int(on.sum())
    logdet = fac.logdet()
    if absolute:
        log_ev = -0.5 * (chi2 + pen)
    else:
        dof = max(m - n_flat, 1)
        log_ev = -0.5 * dof * np.log(max(chi2 + pen, 1e-300) / dof)
    log_ev += 0.5 * prob.rank * float(np.sum(np.log(lam[on]))) - 0.5 * logdet
    return Posterior(band, cross, ss, traces, edf, phi, singular, inflation, float(log_ev))


def spectrum_blocks(prob: JointProblem, post: Posterior) -> np.ndarray:
    """``Σ`` restricted to each spectrum's free parameters, (K, n_free, n_free) in
    ``setup.free`` order (local block, local × shared, shared block)."""
    K, pL, pS = prob.K, prob.p_local, prob.p_shared
    loc, sh = prob.local, prob.shared
    out = np.empty((K, pL + pS, pL + pS))
    blocks = np.empty((K, pL, pL))
    for d in range(pL):  # Σ[(k, a), (k, a + d)] = band[d, k·pL + a]
        v = post.band[d].reshape(K, pL)[:, : pL - d]
        i = np.arange(pL - d)
        blocks[:, i, i + d] = v
        blocks[:, i + d, i] = v
    cross = post.cross.reshape(K, pL, pS)
    out[:, loc[:, None], loc[None, :]] = blocks
    out[:, loc[:, None], sh[None, :]] = cross
    out[:, sh[:, None], loc[None, :]] = cross.transpose(0, 2, 1)
    out[:, sh[:, None], sh[None, :]] = post.shared
    return out


def spectrum_edf(prob: JointProblem, post: Posterior, Jx: np.ndarray) -> np.ndarray:
    """Effective number of parameters spent on each spectrum, ``tr(Σ Aₖ)`` with ``Aₖ`` its
    Gauss–Newton contribution: p for an independent fit, less where the penalty and the
    shared parameters pool information. They sum to the joint ``edf``."""
    A = Jx @ Jx.transpose(0, 2, 1)
    return np.einsum("kab,kab->k", spectrum_blocks(prob, post), A)
