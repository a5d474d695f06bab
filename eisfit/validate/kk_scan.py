"""The Kramers–Kronig test circuit of :func:`eisfit.kk` fitted for M = 1, 2, …, and the
choice of M (Schönleber's μ, and the noise plateau)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from ..linear.basis import series_columns, voigt_design
from ..linear.weights import stack, stack_columns


# ---------------------------------------------------------------------------------------
# the test circuit and the choice of M
# ---------------------------------------------------------------------------------------
@dataclass
class _Fit:
    M: int
    A: np.ndarray | None  # weighted, column-scaled design (2N × p), once chosen
    x: np.ndarray  # coefficients (physical columns)
    r: np.ndarray | None  # weighted residual of the fitted immittance (2N,), once chosen
    s2: float
    mu: float
    tau: np.ndarray
    V: np.ndarray | None = None
    xs: np.ndarray | None = None


def median(x: np.ndarray) -> float:
    """``np.median`` of a 1-d array, without its overhead (called for every M scanned);
    NaN when any value is NaN, as ``np.median``."""
    if np.isnan(x).any():
        return float("nan")
    k = x.size // 2
    if x.size % 2:
        return float(np.partition(x, k)[k])
    p = np.partition(x, (k - 1, k))
    return float((p[k - 1] + p[k]) / 2)


def _mu(R: np.ndarray) -> float:
    pos = np.abs(R[R >= 0]).sum()
    neg = np.abs(R[R < 0]).sum()
    return float(1.0 - neg / pos) if pos > 0 else -np.inf


class _Scan:
    """Fits of one representation for M = 1, 2, … (normal equations)."""

    def __init__(self, f, Z, admittance, capacitance, inductance, extend):
        self.f = f
        self.admittance = admittance
        self.y = 1.0 / Z if admittance else Z
        self.w = 1.0 / np.abs(self.y)
        self.b = stack(self.y, self.w, self.w)
        self.bb = float(self.b @ self.b)
        self.extras = series_columns(
            f, inductance=inductance, capacitance=capacitance, admittance=admittance
        )
        E = stack_columns(self.extras.K, self.w, self.w)
        self.e_scale = np.linalg.norm(E, axis=0)
        self.E = E / self.e_scale
        self.omega = 2 * np.pi * f
        self.lo = np.log10(1.0 / self.omega.max()) - extend
        self.hi = np.log10(1.0 / self.omega.min()) + extend
        self.fits: dict[int, _Fit] = {}

    def _tau(self, M: int) -> np.ndarray:
        if M == 1:
            return np.array([10.0 ** (0.5 * (self.lo + self.hi))])
        return 10.0 ** (self.lo + (self.hi - self.lo) * np.arange(M) / (M - 1))

    def fit(self, M: int) -> _Fit:
        """The least-squares fit with M elements (columns scaled to unit norm)."""
        if M in self.fits:
            return self.fits[M]
        tau = self._tau(M)
        ne = self.E.shape[1]
        A = np.empty((self.b.size, ne + M))
        A[:, :ne] = self.E
        A[:, ne:] = voigt_design(self.omega, tau, self.w, self.admittance)
        norms = np.sqrt(np.einsum("ij,ij->j", A, A))
        norms[:ne] = 1.0
        A /= norms
        G = A.T @ A
        rhs = A.T @ self.b
        G.flat[:: ne + M + 1] += 1e-12
        xs, info = lapack.dposv(G, rhs)[1:]  # Cholesky: G is positive definite
        if info != 0:  # numerically singular: least squares on A itself
            xs = np.linalg.lstsq(A, self.b, rcond=None)[0]
        rr = max(self.bb - float(xs @ rhs), 0.0)  # G xs = rhs
        dof = max(self.b.size - ne - M, 1)
        norms[:ne] = self.e_scale
        coef = xs / norms
        ft = _Fit(M, A, coef, None, rr / dof, _mu(coef[ne:]), tau)
        ft.xs = xs
        self.fits[M] = ft
        return ft

    def finish(self, ft: _Fit) -> _Fit:
        """Design matrix and residual vector of a chosen fit."""
        if ft.r is None:
            ft.r = self.b - ft.A @ ft.xs
            ft.s2 = float(ft.r @ ft.r) / max(ft.r.size - ft.A.shape[1], 1)
        return ft

    def noise_like(self, ft: _Fit, noise_floor: float) -> bool:
        """Residuals as small as the noise seen in differences of neighbouring residuals."""
        r = self.b - ft.A @ ft.xs
        d = r[1:] - r[:-1]
        d[self.f.size - 1] = 0.0  # not a neighbour: last real and first imaginary point
        s2_diff = (median(np.abs(d)) / 0.6744897501960817) ** 2 / 2.0
        return ft.s2 <= 1.5 * max(s2_diff, (0.1 * noise_floor) ** 2)

    def first_mu(self, c: float, max_M: int) -> _Fit:
        """Schönleber's choice: the first M > 1 with μ ≤ c (or max_M)."""
        for M in range(2, max_M + 1):
            ft = self.fit(M)
            if ft.mu <= c:
                return self.finish(ft)
        return self.finish(self.fit(max_M))

    def choose(self, c: float, max_M: int, noise_floor: float, patience: int = 4,
               start: int | None = None) -> _Fit:
        """Schönleber's M if it reaches the noise plateau, else the first M on it.

        ``M`` is scanned in steps of 30 % — up from ``start`` (default: half the number of
        measured decades), or down when ``start`` is already noise-like — until the
        residuals change between "still structured" and "look like noise" (``s²`` within
        50 % of the noise variance seen in differences of neighbouring residuals); the
        first noise-like ``M`` is found by bisection, and ``patience`` more are fitted.
        The plateau is ``s²`` within one standard error of the smallest ``s²`` found;
        Schönleber's ``M`` (the first with ``μ ≤ c``) is kept if it lies on the plateau.
        """
        if start is None:
            start = int(np.log10(self.omega.max() / self.omega.min()) // 2)
        start = min(max(2, int(start)), max_M)

        def like(M: int) -> bool | None:
            ft = self.fit(M)
            if np.sqrt(ft.s2) < 0.1 * noise_floor:
                return None  # exact data: nothing more to describe
            return self.noise_like(ft, noise_floor)

        lo = hi = None
        state = like(start)
        if state is None:
            return self.finish(self.fits[start])
        if state:  # already noise-like: step down to a structured M
            hi = start
            while hi > 2:
                nxt = max(2, min(hi - 1, int(hi / 1.3)))
                st = like(nxt)
                if st is None:
                    return self.finish(self.fits[nxt])
                if not st:
                    lo = nxt
                    break
                hi = nxt
            lo = lo if lo is not None else hi
        else:  # step up to a noise-like M
            M = start
            while M < max_M:
                nxt = min(max_M, max(M + 1, int(round(M * 1.3))))
                st = like(nxt)
                if st is None:
                    return self.finish(self.fits[nxt])
                if st:
                    lo, hi = M, nxt
                    break
                M = nxt
        if hi is None:  # never noise-like: refine around the best M scanned
            best = min(self.fits.values(), key=lambda t: t.s2).M
            for M in range(max(2, int(best / 1.3)), min(best + patience, max_M) + 1):
                self.fit(M)
        else:  # the first noise-like M lies in (lo, hi]: bisect
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if like(mid):
                    hi = mid
                else:
                    lo = mid
            for M in range(hi, min(hi + patience, max_M) + 1):
                self.fit(M)
        n = self.b.size
        best = min(self.fits.values(), key=lambda t: t.s2)
        thr = best.s2 * (1.0 + np.sqrt(2.0 / max(n - self.E.shape[1] - best.M, 1)))
        ordered = [self.fits[M] for M in sorted(self.fits)]
        m_mu = next((ft for ft in ordered if ft.M > 1 and ft.mu <= c), None)
        if m_mu is not None and m_mu.s2 <= thr:
            return self.finish(m_mu)
        return self.finish(next(ft for ft in ordered if ft.s2 <= thr))
