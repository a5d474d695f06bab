"""Linear Kramers–Kronig test (Schönleber et al., Electrochim. Acta 131 (2014) 20–27).

The spectrum is fitted, by weighted *linear* least squares, with a series resistance,
``M`` Voigt (R‖C) elements with fixed time constants spread log-uniformly over
``[1/ω_max, 1/ω_min]``, and optionally a series inductance and capacitance. Any such
circuit is KK-consistent, so large, systematic residuals mean the data are not.
``M`` is chosen automatically: the smallest ``M`` at which negative fitted resistances
appear in earnest, ``μ = 1 − Σ|R_k<0| / Σ|R_k≥0| ≤ c`` (over-fitting starts when μ
drops), or earlier when the fit is already 10× below the noise floor (noise-free data).
The default ``c = 0.5`` (impedance.py's validation example uses it too): Schönleber's 0.85
stops too early on spectra made of narrow (Debye-like) relaxations, whose discretisation
on the fixed τ grid already produces some negative R_k.

The one-part variants (``method="real"``/``"imag"``) fit one part and predict the other;
``M`` is chosen on the complex fit. They are more fragile than the complex test: with noisy
data the predicted part deviates at the edges of the frequency band (the KK transforms are
ill-conditioned there), so use them for insight rather than as the verdict.

The verdict compares the residuals with the noise: the noise level ``σ`` is estimated
robustly (median absolute deviation of the relative residuals, corrected for the fitted
degrees of freedom, never below ``noise_floor``); points whose residual exceeds
``n_sigma · σ``, and runs of ``end_run`` points beyond 2σ at either end of the band, are
*inconsistent*; the test passes when there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from ..errors import EisfitError
from ..data.spectrum import Spectrum

__all__ = ["kk", "KKResult"]


@dataclass(frozen=True)
class KKResult:
    """Outcome of :func:`kk` (arrays cover the spectrum's *active* points, in its order).

    Attributes
    ----------
    passed : bool
        No point deviates by more than ``n_sigma`` noise levels.
    freq, Z, Z_fit : ndarray
        Frequencies, measured and fitted impedance.
    residuals_real, residuals_imag : ndarray
        ``(Z' − Z'_fit)/|Z|`` and ``(Z'' − Z''_fit)/|Z|``.
    M : int
        Number of RC elements chosen.
    mu : float
        μ at the chosen ``M``.
    noise : float
        Estimated noise level σ (relative to |Z|) used for the verdict.
    inconsistent : ndarray of bool
        Points whose residual exceeds ``n_sigma · noise``.
    tau, R : ndarray
        Time constants and resistances of the RC elements.
    R0, L, C : float
        Series resistance, inductance (0 if not fitted), capacitance (inf if not fitted).
    method : str
        ``"complex"``, ``"real"`` or ``"imag"``.
    """

    passed: bool
    freq: np.ndarray
    Z: np.ndarray
    Z_fit: np.ndarray
    residuals_real: np.ndarray
    residuals_imag: np.ndarray
    M: int
    mu: float
    noise: float
    inconsistent: np.ndarray
    tau: np.ndarray
    R: np.ndarray
    R0: float
    L: float
    C: float
    method: str
    n_sigma: float
    c: float
    chi2_ps: float = field(default=0.0)

    def __post_init__(self):
        for name in (
            "freq",
            "Z",
            "Z_fit",
            "residuals_real",
            "residuals_imag",
            "inconsistent",
            "tau",
            "R",
        ):
            arr = np.array(getattr(self, name), copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def residuals(self) -> np.ndarray:
        """Complex relative residual ``(Z − Z_fit)/|Z|``."""
        return self.residuals_real + 1j * self.residuals_imag

    @property
    def message(self) -> str:
        """One-line summary: M, μ, noise and where the inconsistent points are."""
        bad = self.freq[self.inconsistent]
        where = (
            f"; {bad.size} inconsistent point(s) at {bad.min():.3g}–{bad.max():.3g} Hz"
            if bad.size
            else ""
        )
        return f"(M={self.M}, mu={self.mu:.2f}, noise {100 * self.noise:.2g} % of |Z|{where})"

    def to_frame(self):
        """Per-point table: freq, Z, fit, residuals and the inconsistency flag."""
        import pandas as pd

        return pd.DataFrame(
            {
                "freq": self.freq,
                "z_real": self.Z.real,
                "z_imag": self.Z.imag,
                "fit_real": self.Z_fit.real,
                "fit_imag": self.Z_fit.imag,
                "res_real": self.residuals_real,
                "res_imag": self.residuals_imag,
                "inconsistent": self.inconsistent,
            }
        )

    def to_json(self) -> str:
        """JSON text of the verdict, the chosen circuit and the per-point residuals."""
        import json

        return json.dumps(
            {
                "passed": self.passed,
                "method": self.method,
                "M": self.M,
                "mu": self.mu,
                "c": self.c,
                "noise": self.noise,
                "n_sigma": self.n_sigma,
                "R0": self.R0,
                "L": self.L,
                "C": None if not np.isfinite(self.C) else self.C,
                "tau": self.tau.tolist(),
                "R": self.R.tolist(),
                "freq": self.freq.tolist(),
                "residuals_real": self.residuals_real.tolist(),
                "residuals_imag": self.residuals_imag.tolist(),
                "inconsistent": self.inconsistent.tolist(),
            }
        )

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"KKResult({verdict}, M={self.M}, mu={self.mu:.3f}, noise={self.noise:.2e}, "
            f"{int(self.inconsistent.sum())}/{self.freq.size} inconsistent, method={self.method!r})"
        )

    def _repr_html_(self) -> str:
        verdict = "passed" if self.passed else "<b style='color:#b00'>failed</b>"
        bad = self.freq[self.inconsistent]
        where = ", ".join(f"{f:.3g}" for f in bad[:10]) + (" …" if bad.size > 10 else "")
        return (
            "<table><caption>Lin-KK test</caption>"
            f"<tr><td>verdict</td><td>{verdict}</td></tr>"
            f"<tr><td>M (RC elements)</td><td>{self.M}</td></tr>"
            f"<tr><td>μ</td><td>{self.mu:.3f} (c = {self.c})</td></tr>"
            f"<tr><td>noise σ (rel. to |Z|)</td><td>{self.noise:.2e}</td></tr>"
            f"<tr><td>max |residual|</td><td>{np.max(np.abs(self.residuals)):.2e}</td></tr>"
            f"<tr><td>inconsistent points (Hz)</td><td>{where or 'none'}</td></tr></table>"
        )

    def plot(self, ax: Any = None):
        """Residuals vs frequency with the ±n_sigma·σ band (matplotlib, imported lazily)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.semilogx(self.freq, 100 * self.residuals_real, "o-", ms=3, label="Δ real")
        ax.semilogx(self.freq, 100 * self.residuals_imag, "s-", ms=3, label="Δ imag")
        band = 100 * self.n_sigma * self.noise
        ax.axhspan(-band, band, color="0.9", zorder=0)
        if self.inconsistent.any():
            ax.semilogx(
                self.freq[self.inconsistent],
                100 * self.residuals_real[self.inconsistent],
                "rx",
                label="inconsistent",
            )
        ax.set_xlabel("frequency / Hz")
        ax.set_ylabel("residual / % of |Z|")
        ax.legend()
        return ax


def _taus(omega: np.ndarray, M: int) -> np.ndarray:
    lo, hi = 1.0 / omega.max(), 1.0 / omega.min()
    if M == 1:
        return np.array([np.sqrt(lo * hi)])
    return np.geomspace(lo, hi, M)


def _mu(R: np.ndarray) -> float:
    pos = np.abs(R[R >= 0]).sum()
    neg = np.abs(R[R < 0]).sum()
    return 1.0 - neg / pos if pos > 0 else -np.inf


def _lsq(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares via column-scaled normal equations and Cholesky.

    These systems are small and tall, so this is several times faster than an SVD. When
    many nearly collinear RC columns make the Gram matrix numerically singular, a ridge of
    1e-12 (relative to the unit diagonal) is added; its effect on the residuals is far below
    any measurement noise.
    """
    norms = np.sqrt(np.einsum("ij,ij->j", X, X))
    norms[norms == 0] = 1.0
    Xs = X / norms
    G = Xs.T @ Xs
    rhs = Xs.T @ y
    for ridge in (0.0, 1e-12, 1e-9):
        try:
            cf = cho_factor(G + ridge * np.eye(G.shape[0]) if ridge else G, check_finite=False)
        except np.linalg.LinAlgError:
            continue
        p = cho_solve(cf, rhs, check_finite=False)
        if np.all(np.isfinite(p)):
            return p / norms
    return np.linalg.lstsq(Xs, y, rcond=None)[0] / norms


def _design(omega: np.ndarray, w: np.ndarray, tau: np.ndarray, cap: bool, ind: bool):
    """Weighted real design blocks (N × p) for the real and imaginary parts.

    Columns: R0, the M RC elements ``1/(1 + jωτ)``, then L (``jω``) and 1/C (``-j/ω``).
    """
    N, M = omega.size, tau.size
    p = 1 + M + int(ind) + int(cap)
    Xr = np.zeros((N, p))
    Xi = np.zeros((N, p))
    x = np.multiply.outer(omega, tau)
    d = 1.0 / (1.0 + x * x)
    Xr[:, 0] = 1.0
    Xr[:, 1 : 1 + M] = d
    Xi[:, 1 : 1 + M] = -x * d
    k = 1 + M
    if ind:
        Xi[:, k] = omega
        k += 1
    if cap:
        Xi[:, k] = -1.0 / omega
    Xr *= w[:, None]
    Xi *= w[:, None]
    return Xr, Xi


def _fit(omega, Z, w, M, method, cap, ind):
    """One linear fit for a given M: returns (params, Z_fit, R, tau)."""
    tau = _taus(omega, M)
    Xr, Xi = _design(omega, w, tau, cap, ind)
    zr, zi = Z.real * w, Z.imag * w
    if method == "complex":
        p = _lsq(np.vstack([Xr, Xi]), np.concatenate([zr, zi]))
    elif method == "real":
        nre = 1 + M
        p = np.zeros(Xr.shape[1])
        p[:nre] = _lsq(Xr[:, :nre], zr)
        if Xr.shape[1] > nre:  # L and/or C from the imaginary residual
            p[nre:] = _lsq(Xi[:, nre:], zi - Xi[:, :nre] @ p[:nre])
    else:  # imag
        p = np.zeros(Xr.shape[1])
        p[1:] = _lsq(Xi[:, 1:], zi)
        resid = zr - Xr[:, 1:] @ p[1:]  # weighted real residual without R0
        p[0] = np.sum(w * resid) / np.sum(w * w)
    Zf = (Xr @ p + 1j * (Xi @ p)) / w
    return p, Zf, p[1 : 1 + M], tau


def kk(
    spectrum: Spectrum,
    *,
    method: Literal["complex", "real", "imag"] = "complex",
    c: float = 0.5,
    max_M: int | None = None,
    M: int | None = None,
    capacitance: bool = True,
    inductance: bool = True,
    n_sigma: float = 4.0,
    noise_floor: float = 5e-4,
    end_run: int = 3,
) -> KKResult:
    """Linear Kramers–Kronig test of a spectrum.

    Parameters
    ----------
    spectrum : Spectrum
        The data; masked points are left out.
    method : {"complex", "real", "imag"}
        Fit both parts, only the real part (the imaginary part is then predicted), or only
        the imaginary part.
    c : float
        μ threshold for choosing ``M`` (Schönleber: 0.85).
    max_M : int, optional
        Largest ``M`` tried (default: the number of points).
    M : int, optional
        Use this many RC elements instead of choosing automatically.
    capacitance, inductance : bool
        Add a series capacitance / inductance to the test circuit.
    n_sigma : float
        Points with a residual above ``n_sigma`` noise levels are inconsistent.
    noise_floor : float
        Lower bound of the noise level (relative to |Z|), so that noise-free data are
        not failed for round-off-sized residuals.
    end_run : int
        If the ``end_run`` lowest (or highest) frequencies *all* deviate by more than 2σ,
        they are inconsistent too: drift during the slow low-frequency points shows as
        such a run before any single point passes ``n_sigma``. 0 disables.

    Returns
    -------
    KKResult

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> f = np.logspace(5, -2, 71)
    >>> Z = 1 + 10 / (1 + 2j * np.pi * f * 1e-2)
    >>> ef.kk(ef.Spectrum(f, Z)).passed
    True
    """
    if not isinstance(spectrum, Spectrum):
        raise EisfitError(f"kk expects a Spectrum, got {type(spectrum).__name__}")
    if method not in ("complex", "real", "imag"):
        raise EisfitError(f"method must be 'complex', 'real' or 'imag', got {method!r}")
    f, Z = spectrum.active()
    N = f.size
    if N < 5:
        raise EisfitError(f"the KK test needs at least 5 active points, got {N}")
    omega = 2 * np.pi * f
    absZ = np.abs(Z)
    if np.any(absZ == 0):
        raise EisfitError("the KK test needs |Z| > 0 at every active point")
    w = 1.0 / absZ
    n_extra = int(capacitance) + int(inductance) + 1
    limit = N if max_M is None else int(max_M)
    limit = max(1, min(limit, N - n_extra))
    if M is not None:
        if not 1 <= M <= limit:
            raise EisfitError(f"M must be between 1 and {limit}, got {M}")
        p, Zf, R, tau = _fit(omega, Z, w, M, method, capacitance, inductance)
        mu = _mu(R)
    else:
        # M is chosen on the complex fit (the one-part fits turn μ negative too early,
        # since one part alone constrains the RC elements poorly), then used for `method`
        best = None
        for m in range(1, limit + 1):
            p, Zf, R, tau = _fit(omega, Z, w, m, "complex", capacitance, inductance)
            mu = _mu(R)
            best = (m, p, Zf, R, tau, mu)
            if mu <= c and m > 1:
                break
            # noise-free data: once every residual is far below the noise floor no larger
            # M can change the verdict, so stop (saves the scan up to M ≈ N)
            if np.max(np.abs(Z - Zf) * w) < 0.1 * noise_floor:
                break
        M, p, Zf, R, tau, mu = best  # type: ignore[misc]
        if method != "complex":
            p, Zf, R, tau = _fit(omega, Z, w, M, method, capacitance, inductance)
            mu = _mu(R)
    res_re = (Z.real - Zf.real) * w
    res_im = (Z.imag - Zf.imag) * w
    both = np.concatenate([res_re, res_im])
    # robust noise level (median absolute deviation: a few drifting points do not inflate
    # it), corrected for the degrees of freedom absorbed by the fit
    n_obs = both.size
    dof = max(n_obs - (M + n_extra), 1)
    mad = 1.4826 * np.median(np.abs(both - np.median(both)))
    noise = float(max(mad * np.sqrt(n_obs / dof), noise_floor))
    worst = np.maximum(np.abs(res_re), np.abs(res_im))
    inconsistent = worst > n_sigma * noise
    if end_run and N >= 2 * end_run:
        # drift and instrument limits show first at the ends of the band as a run of
        # same-side deviations; k consecutive points beyond 2σ there are flagged too
        order = np.argsort(f)
        for idx_end in (order[:end_run], order[-end_run:]):
            if np.all(worst[idx_end] > 2.0 * noise):
                inconsistent[idx_end] = True
    idx = 1 + M
    L = float(p[idx]) if inductance else 0.0
    C = (
        float(1.0 / p[idx + int(inductance)])
        if capacitance and p[idx + int(inductance)] != 0
        else np.inf
    )
    return KKResult(
        passed=bool(not inconsistent.any()),
        freq=f,
        Z=Z,
        Z_fit=Zf,
        residuals_real=res_re,
        residuals_imag=res_im,
        M=int(M),
        mu=float(mu),
        noise=noise,
        inconsistent=inconsistent,
        tau=tau,
        R=R,
        R0=float(p[0]),
        L=L,
        C=C,
        method=method,
        n_sigma=float(n_sigma),
        c=float(c),
        chi2_ps=float(np.sum(res_re**2 + res_im**2)),
    )
