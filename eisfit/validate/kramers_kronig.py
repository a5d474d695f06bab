"""Linear Kramers–Kronig test (Schönleber et al., Electrochim. Acta 131 (2014) 20–27)
with a verdict that can fail.

**Test circuit.** The spectrum is fitted, by |Z|-weighted *linear* least squares, with a
KK-consistent circuit (:mod:`eisfit.linear`): in the impedance representation R∞, a series
inductance and capacitance and ``M`` Voigt (R‖C) elements with time constants spread
log-uniformly over ``[1/ω_max, 1/ω_min]``; in the admittance representation G∞, a parallel
capacitance and inductance and ``M`` series R–C branches. The admittance form suits
spectra whose impedance diverges at low frequency (blocking electrodes, a series
capacitance); with ``representation="auto"`` it is tried when the impedance form does not
describe the data, and the better description is kept.

**Number of elements.** For each ``M`` the noise variance is estimated as
``s²(M) = χ²/(2N − p)``. ``M`` is Schönleber's choice (the first ``M`` at which
``μ = 1 − Σ|Rₖ<0| / Σ|Rₖ≥0|`` falls to ``c``) when that fit already reaches the noise
plateau (``s²`` within two standard errors of the smallest ``s²`` of the scan); otherwise —
narrow relaxations, a series capacitance, an inductor or an R‖L make μ collapse at tiny
``M`` — the smallest ``M`` on the plateau.

**Verdict.** The residuals ``r = (Z − Z_fit)/|Z|`` of a consistent spectrum are the
measurement noise after a known linear projection ``I − QQᵀ`` (Q from the test circuit's
design), so every statistic below has an exact null mean and variance, and none of them
judges the residuals against a noise level estimated from their own size:

- the noise level ``noise`` is estimated from *differences* of neighbouring residuals
  (robust median, calibrated through the projection), which smooth systematic deviations
  barely touch;
- ``serial``: the lag-1 autocorrelation of the residuals along frequency, as a z-score
  (Durbin–Watson moments) — drift, a missing process or an instrument artefact make
  neighbouring residuals alike;
- ``lf_end`` / ``hf_end``: the residual energy of the 3, 6 and 10 lowest (highest)
  frequencies against ``noise`` — drift during the slow low-frequency points and
  instrument limits show at the ends of the band first;
- ``outliers``: single points beyond a Bonferroni bound;
- ``size`` (only with a stated ``sigma``): χ² of all residuals against the stated noise;
- ``noise_limit``: the spectrum is too noisy to be validated at all
  (``noise > max_noise``, default 2 % of |Z|).

The spectrum fails when any test rejects at level ``alpha`` (each test family, corrected
for the number of tests in it). Systematic deviations smaller than ``noise_floor`` (0.01 %
of |Z|, round-off and the discretisation of the test circuit) are not counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..data.spectrum import Spectrum
from ..errors import InputError, InputTypeError
from ..linear.basis import series_columns, voigt_design
from ..linear.weights import stack, stack_columns
from ..results import frozen_arrays

__all__ = ["kk", "KKResult", "KKTest", "END_WINDOWS"]

#: Numbers of lowest/highest frequencies whose residual energy is tested.
END_WINDOWS = (3, 6, 10)


@dataclass(frozen=True)
class KKTest:
    """One statistic of the verdict: its value, the limit it is compared with, and why."""

    name: str
    value: float
    limit: float
    failed: bool
    detail: str


@dataclass(frozen=True)
class KKResult:
    """Outcome of :func:`kk`. Arrays cover the active points in ascending frequency.

    Attributes
    ----------
    passed : bool
        No test of the verdict rejected (see :mod:`eisfit.validate.kramers_kronig`).
    reason : str
        Why it failed ('' when passed).
    statistic : float
        The largest z-score among the tests (how far the worst test is from "consistent").
    tests : tuple of KKTest
        Every statistic with its limit.
    noise : float
        Estimated noise level σ (relative to |Z|), from differences of neighbouring
        residuals.
    sigma : float or None
        The stated noise level (median, relative to |Z|) the verdict used, if any.
    rms : float
        Relative RMS residual ``sqrt(mean(|Z − Z_fit|² / |Z|²))``.
    freq, Z, Z_fit : ndarray
        Frequencies, measured and fitted impedance.
    residuals_real, residuals_imag : ndarray
        ``(Z' − Z'_fit)/|Z|`` and ``(Z'' − Z''_fit)/|Z|`` (data minus model, like every
        residual in eisfit).
    inconsistent : ndarray of bool
        Points that are outliers or belong to a failed end window.
    M, mu, c : int, float, float
        Number of RC elements, μ at that ``M``, and the μ threshold.
    representation : str
        ``"impedance"`` or ``"admittance"``.
    tau, R : ndarray
        Time constants and coefficients of the RC elements (Ω for the impedance form,
        S for the admittance form).
    R0, L, C : float
        Impedance form: series resistance, inductance (0 if not fitted), capacitance
        (inf if not fitted). Admittance form: 1/G∞, parallel inductance, parallel
        capacitance.
    dof : float
        Degrees of freedom of the residuals (2N − number of fitted coefficients).
    """

    passed: bool
    reason: str
    statistic: float
    tests: tuple[KKTest, ...]
    noise: float
    sigma: float | None
    rms: float
    freq: np.ndarray
    Z: np.ndarray
    Z_fit: np.ndarray
    residuals_real: np.ndarray
    residuals_imag: np.ndarray
    inconsistent: np.ndarray
    M: int
    mu: float
    c: float
    representation: str
    tau: np.ndarray
    R: np.ndarray
    R0: float
    L: float
    C: float
    dof: float

    def __post_init__(self):
        frozen_arrays(self)

    @property
    def residuals(self) -> np.ndarray:
        """Complex relative residual ``(Z − Z_fit)/|Z|``."""
        return self.residuals_real + 1j * self.residuals_imag

    @property
    def n_points(self) -> int:
        """Number of frequencies tested."""
        return int(self.freq.size)

    @property
    def s(self) -> float:
        """Residual standard deviation corrected for the fitted coefficients."""
        return float(np.sqrt(np.sum(np.abs(self.residuals) ** 2) / max(self.dof, 1.0)))

    @property
    def message(self) -> str:
        """One-line summary: verdict, noise, M and, if it failed, why."""
        head = "passed" if self.passed else f"FAILED: {self.reason}"
        return (f"{head} (M={self.M}, mu={self.mu:.2f}, {self.representation}, noise "
                f"{100 * self.noise:.2g} % of |Z|, residual RMS {100 * self.rms:.2g} %)")

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
        """JSON text of the whole result; :meth:`from_json` rebuilds an equal one."""

        def num(v):
            return None if v is None or not np.isfinite(v) else float(v)

        def cplx(a):
            return [np.asarray(a).real.tolist(), np.asarray(a).imag.tolist()]

        return json.dumps(
            {
                "eisfit_kk_result": 1,
                "passed": self.passed,
                "reason": self.reason,
                "statistic": num(self.statistic),
                "tests": [{**t.__dict__, "value": num(t.value), "limit": num(t.limit)}
                          for t in self.tests],
                "noise": self.noise,
                "sigma": self.sigma,
                "rms": self.rms,
                "representation": self.representation,
                "M": self.M,
                "mu": num(self.mu),
                "c": self.c,
                "R0": num(self.R0),
                "L": num(self.L),
                "C": num(self.C),
                "dof": self.dof,
                "tau": self.tau.tolist(),
                "R": self.R.tolist(),
                "freq": self.freq.tolist(),
                "Z": cplx(self.Z),
                "Z_fit": cplx(self.Z_fit),
                "residuals_real": self.residuals_real.tolist(),
                "residuals_imag": self.residuals_imag.tolist(),
                "inconsistent": self.inconsistent.tolist(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "KKResult":
        """The result written by :meth:`to_json`."""
        d = json.loads(text)
        if d.get("eisfit_kk_result") != 1:
            raise InputError("not an eisfit KKResult JSON document")

        def num(v, default=float("nan")):
            return default if v is None else float(v)

        def cplx(p):
            return np.asarray(p[0], float) + 1j * np.asarray(p[1], float)

        return cls(
            passed=bool(d["passed"]),
            reason=d["reason"],
            statistic=num(d["statistic"]),
            tests=tuple(KKTest(t["name"], num(t["value"]), num(t["limit"]), bool(t["failed"]),
                               t["detail"]) for t in d["tests"]),
            noise=float(d["noise"]),
            sigma=d["sigma"],
            rms=float(d["rms"]),
            freq=np.asarray(d["freq"], float),
            Z=cplx(d["Z"]),
            Z_fit=cplx(d["Z_fit"]),
            residuals_real=np.asarray(d["residuals_real"], float),
            residuals_imag=np.asarray(d["residuals_imag"], float),
            inconsistent=np.asarray(d["inconsistent"], bool),
            M=int(d["M"]),
            mu=num(d["mu"]),
            c=float(d["c"]),
            representation=d["representation"],
            tau=np.asarray(d["tau"], float),
            R=np.asarray(d["R"], float),
            R0=num(d["R0"]),
            L=num(d["L"], 0.0),
            C=num(d["C"], float("inf")),
            dof=float(d["dof"]),
        )

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"KKResult({verdict}, M={self.M}, {self.representation}, noise={self.noise:.2e}, "
            f"statistic={self.statistic:.2f}, {int(self.inconsistent.sum())}/{self.freq.size} "
            "inconsistent)"
        )

    def _repr_html_(self) -> str:
        import html

        verdict = "passed" if self.passed else f"<b style='color:#b00'>failed</b>: {html.escape(self.reason)}"
        rows = "".join(
            f"<tr><td>{html.escape(t.name)}</td><td>{t.value:.3g}</td><td>{t.limit:.3g}</td>"
            f"<td>{'FAIL' if t.failed else ''}</td></tr>"
            for t in self.tests
        )
        return (
            "<table><caption>Lin-KK test</caption>"
            f"<tr><td>verdict</td><td colspan=3>{verdict}</td></tr>"
            f"<tr><td>M, representation</td><td colspan=3>{self.M}, {self.representation}</td></tr>"
            f"<tr><td>noise (rel. to |Z|)</td><td colspan=3>{self.noise:.2e}</td></tr>"
            f"<tr><th>test</th><th>value</th><th>limit</th><th></th></tr>{rows}</table>"
        )

    def plot(self, ax: Any = None):
        """Residuals vs frequency with the ±3σ noise band (matplotlib, imported lazily)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.semilogx(self.freq, 100 * self.residuals_real, "o-", ms=3, label="Δ real")
        ax.semilogx(self.freq, 100 * self.residuals_imag, "s-", ms=3, label="Δ imag")
        band = 300 * (self.sigma if self.sigma is not None else self.noise)
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
        ax.set_title("Kramers–Kronig residuals: " + ("passed" if self.passed else "failed"))
        ax.legend()
        return ax


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


def _mu(R: np.ndarray) -> float:
    pos = np.abs(R[R >= 0]).sum()
    neg = np.abs(R[R < 0]).sum()
    return float(1.0 - neg / pos) if pos > 0 else -np.inf


class _Scan:
    """Fits of one representation for M = 1, 2, … (normal equations, series blocks reused)."""

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
        self.E = E / np.linalg.norm(E, axis=0)
        self.e_scale = np.linalg.norm(E, axis=0)
        self.EE = self.E.T @ self.E
        self.Eb = self.E.T @ self.b
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
        try:
            xs = np.linalg.solve(G, rhs)
        except np.linalg.LinAlgError:
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
        s2_diff = (np.median(np.abs(d)) / 0.6744897501960817) ** 2 / 2.0
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


# ---------------------------------------------------------------------------------------
# statistics under "consistent": r = (I − QQᵀ) ε
# ---------------------------------------------------------------------------------------
def _z_upper(p: float) -> float:
    from statistics import NormalDist  # on first use: import eisfit stays light

    return NormalDist().inv_cdf(1.0 - p)


def _chi2_z(T: float, mean: float, var: float) -> float:
    """z-score of a positive quadratic form T (Wilson–Hilferty for a scaled χ²)."""
    if mean <= 0 or var <= 0:
        return 0.0
    a = var / (2 * mean)
    b = 2 * mean * mean / var
    x = max(T / (a * b), 0.0)
    return float((x ** (1 / 3) - (1 - 2 / (9 * b))) / np.sqrt(2 / (9 * b)))


class _Null:
    """Moments of residual statistics under "consistent", from the fit's projection."""

    def __init__(self, A: np.ndarray, n_half: int):
        self.Q = np.linalg.qr(A / np.maximum(np.linalg.norm(A, axis=0), 1e-300))[0]
        self.n = A.shape[0]
        self.half = n_half
        self.nu = self.n - self.Q.shape[1]

    def shift(self, X: np.ndarray) -> np.ndarray:
        """(S X) with S the symmetric lag-1 adjacency within the real and imaginary halves, /2."""
        out = np.zeros_like(X)
        h = self.half
        for a in (0, h):
            blk = X[a:a + h]
            out[a:a + h - 1] += blk[1:]
            out[a + 1:a + h] += blk[:-1]
        return 0.5 * out

    def serial(self, r: np.ndarray) -> float:
        """z-score of the lag-1 autocorrelation (Durbin–Watson moments under the projection)."""
        rr = float(r @ r)
        if rr <= 0 or self.nu < 3:
            return 0.0
        d = float(r @ self.shift(r[:, None])[:, 0]) / rr
        SQ = self.shift(self.Q)
        B = self.Q.T @ SQ
        tr_ma = -np.trace(B)  # tr(S) = 0
        tr_s2 = float(self.half - 1)  # tr(S²) = Σ Sᵢⱼ²: 2(h−1) entries of ½ in each half
        tr_mama = tr_s2 - 2 * float(np.sum(SQ * SQ)) + float(np.sum(B * B))
        nu = self.nu
        mean = tr_ma / nu
        var = 2 * (nu * tr_mama - tr_ma**2) / (nu**2 * (nu + 2))
        return float((d - mean) / np.sqrt(var)) if var > 0 else 0.0

    def diff_noise(self, r: np.ndarray) -> float:
        """Noise σ from differences of neighbouring residuals (robust, calibrated)."""
        h = self.half
        idx = np.concatenate((np.arange(h - 1), np.arange(h, 2 * h - 1)))
        d = r[idx + 1] - r[idx]
        DQ = self.Q[idx + 1] - self.Q[idx]
        v = np.clip(2.0 - np.sum(DQ * DQ, axis=1), 1e-3, None)
        return float(np.median(np.abs(d) / np.sqrt(v)) / 0.6744897501960817)

    def leverage(self) -> np.ndarray:
        return np.clip(1.0 - np.sum(self.Q * self.Q, axis=1), 1e-6, None)

    def window(self, idx: np.ndarray) -> tuple[float, float]:
        """Null mean and variance of Σ_{i∈idx} ε-residual² / σ² (M_ww = I − Q_w Q_wᵀ)."""
        Qw = self.Q[idx]
        q2 = float(np.sum(Qw * Qw))
        G = Qw.T @ Qw
        return idx.size - q2, 2.0 * (idx.size - 2.0 * q2 + float(np.sum(G * G)))


def _sigma_rel(sigma: Any, f: np.ndarray, Z: np.ndarray, order: np.ndarray):
    """Stated noise as relative (re, im) arrays in ascending-frequency order."""
    if sigma is None:
        return None
    if callable(sigma):
        sigma = sigma(f, Z)
    s = np.asarray(sigma)
    mod = np.abs(Z[order])
    if s.ndim == 0:
        v = float(s.real)
        if not v > 0:
            raise InputError(f"sigma must be positive, got {sigma!r}")
        return np.full(f.size, v), np.full(f.size, v)
    if s.shape != f.shape:
        raise InputError(f"sigma must be a number or one value per active point ({f.size}), got shape {s.shape}")
    s = s[order]
    s_re, s_im = (s.real, s.imag) if np.iscomplexobj(s) else (s, s)
    if not (np.all(s_re > 0) and np.all(s_im > 0)):
        raise InputError("sigma must be positive at every point")
    return s_re / mod, s_im / mod


def kk(
    spectrum: Spectrum,
    *,
    sigma: Any = None,
    representation: Literal["auto", "impedance", "admittance"] = "auto",
    c: float = 0.85,
    M: int | None = None,
    max_M: int | None = None,
    criterion: Literal["auto", "mu"] = "auto",
    M_start: int | None = None,
    extend: float = 0.5,
    capacitance: bool = True,
    inductance: bool = True,
    alpha: float = 1e-3,
    tolerance: float = 1e-3,
    noise_floor: float = 1e-4,
    max_noise: float = 0.02,
) -> KKResult:
    """Linear Kramers–Kronig test of a spectrum, with a verdict that can fail.

    Parameters
    ----------
    spectrum : Spectrum
        The data; only the points in use are tested.
    sigma : float, array or callable, optional
        The measurement noise if known: a float is a relative level (fraction of |Z|, the
        same for both parts); an array gives the absolute standard deviation (Ω) of each
        active point (complex: separate for Z' and Z''); a callable ``sigma(freq, Z)``
        returns such an array (an instrument error model). With it, the size of the
        residuals is tested too.
    representation : {"auto", "impedance", "admittance"}
        Test circuit in impedance or admittance form; ``"auto"`` tries the admittance
        form when the impedance form does not describe the data, and keeps the better.
    c : float
        μ threshold of Schönleber's choice of ``M`` (0.85).
    M : int, optional
        Use this many RC elements instead of choosing.
    max_M : int, optional
        Largest ``M`` tried (default: the number of points minus the series elements).
    criterion : {"auto", "mu"}
        ``"auto"``: Schönleber's ``M`` when it reaches the noise plateau, else the first
        ``M`` on the plateau (see the module docstring). ``"mu"``: Schönleber's choice
        alone (the first ``M`` with ``μ ≤ c``), as in the literature and impedance.py.
    M_start : int, optional
        Where the search for ``M`` starts (e.g. the ``M`` of the previous spectrum of a
        sequence: the search then takes a few fits); the choice does not depend on it
        beyond the bisection's resolution.
    extend : float
        Decades by which the time constants extend beyond ``[1/ω_max, 1/ω_min]`` (a
        process just outside the measured band still shapes its ends; 0 is Schönleber's
        original range).
    capacitance, inductance : bool
        Include the series capacitance / inductance (their parallel counterparts in the
        admittance form).
    alpha : float
        Significance level of each test family.
    tolerance : float
        Systematic deviations smaller than this (relative to |Z|; 0.1 % is the accuracy
        instruments quote over most of their range) are not counted, however
        significant statistically.
    noise_floor : float
        Lower bound of the estimated noise level (relative to |Z|), so that exact data
        are not judged against round-off.
    max_noise : float
        A spectrum noisier than this (relative to |Z|) cannot be validated and fails.

    Returns
    -------
    KKResult

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> f = np.logspace(5, -2, 71)
    >>> Z = 1 + 10 / (1 + 2j * np.pi * f * 1e-2)
    >>> e = np.random.default_rng(0).standard_normal((2, 71))
    >>> Z = Z + 0.002 * abs(Z) * (e[0] + 1j * e[1])
    >>> r = ef.kk(ef.Spectrum(f, Z))
    >>> r.passed, round(r.noise, 3)
    (True, 0.002)
    >>> drift = Z * (1 + 0.03 * np.linspace(0, 1, 71) ** 3)   # the cell changes as f falls
    >>> ef.kk(ef.Spectrum(f, drift)).passed
    False
    """
    if not isinstance(spectrum, Spectrum):
        raise InputTypeError(f"kk expects a Spectrum, got {type(spectrum).__name__}")
    if representation not in ("auto", "impedance", "admittance"):
        raise InputError(
            f"representation must be 'auto', 'impedance' or 'admittance', got {representation!r}"
        )
    f0, Z0 = spectrum.active()
    order = np.argsort(f0, kind="stable")
    f, Z = f0[order], Z0[order]
    N = f.size
    if N < 5:
        raise InputError(f"the KK test needs at least 5 active points, got {N}")
    if np.any(np.abs(Z) == 0):
        raise InputError("the KK test needs |Z| > 0 at every active point")
    sig = _sigma_rel(sigma, f0, Z0, order)
    n_extra = 1 + int(capacitance) + int(inductance)
    limit = N - n_extra if max_M is None else min(int(max_M), N - n_extra)
    limit = max(limit, 1)
    if M is not None and not 1 <= M <= limit:
        raise InputError(f"M must be between 1 and {limit}, got {M}")
    if criterion not in ("auto", "mu"):
        raise InputError(f"criterion must be 'auto' or 'mu', got {criterion!r}")
    reps = ["admittance"] if representation == "admittance" else ["impedance"]
    results = []
    for rep in reps + (["admittance"] if representation == "auto" else []):
        if results and results[0].passed:
            break  # the impedance form describes the data: nothing to gain
        scan = _Scan(f, Z, rep == "admittance", capacitance, inductance, extend)
        if M is not None:
            ft = scan.finish(scan.fit(M))
        elif criterion == "mu":
            ft = scan.first_mu(c, limit)
        else:
            ft = scan.choose(c, limit, noise_floor, start=M_start)
        results.append(
            _verdict(scan, ft, f, Z, sig, c, alpha, tolerance, noise_floor, max_noise)
        )
    return min(results, key=lambda r: (not r.passed, r.s)) if len(results) > 1 else results[0]


def _verdict(scan: _Scan, ft: _Fit, f, Z, sig, c, alpha, tolerance, noise_floor,
             max_noise) -> KKResult:
    N = f.size
    null = _Null(ft.A, N)
    r = ft.r
    # the fitted immittance's residual, and the same in impedance terms for reporting
    y_fit = scan.y - (r[:N] + 1j * r[N:]) / scan.w
    Z_fit = 1.0 / y_fit if scan.admittance else y_fit
    res = (Z - Z_fit) / np.abs(Z)
    noise_est = null.diff_noise(r)
    noise = max(noise_est, noise_floor)
    if sig is not None:
        ref = np.concatenate(sig)
        sigma_med = float(np.median(ref))
    else:
        ref = np.full(2 * N, noise)
        sigma_med = None
    u = r / ref  # residuals in noise units
    s2 = float(r @ r) / max(null.nu, 1)
    base2 = noise**2 if sig is None else float(np.mean(ref**2))

    def excess(idx) -> float:
        """RMS of the residuals beyond the noise (relative to |Z|)."""
        return float(np.sqrt(max(float(np.mean(r[idx] ** 2)) - base2, 0.0)))

    matters = np.sqrt(max(s2 - base2, 0.0)) > tolerance
    tests: list[KKTest] = []
    flagged = np.zeros(2 * N, bool)

    z_serial = null.serial(r)
    lim = _z_upper(alpha)
    tests.append(KKTest("serial", z_serial, lim, bool(matters and z_serial > lim),
                        f"lag-1 autocorrelation of the residuals, z = {z_serial:.1f}"))
    lim_w = _z_upper(alpha / (2 * len(END_WINDOWS)))
    for end, name in ((0, "lf_end"), (1, "hf_end")):
        worst = None
        for k in END_WINDOWS:
            if 2 * k > N:
                continue
            pts = np.arange(k) if end == 0 else np.arange(N - k, N)
            idx = np.concatenate((pts, pts + N))
            mean, var = null.window(idx)
            z = _chi2_z(float(u[idx] @ u[idx]), mean, var)
            if worst is None or z > worst[0]:
                worst = (z, k, idx)
        if worst is None:
            continue
        z, k, idx = worst
        band = f[idx[:k]]
        failed = bool(z > lim_w and excess(idx) > tolerance)
        if failed:
            flagged[idx] = True
        tests.append(KKTest(name, z, lim_w, failed,
                            f"residual energy of the {k} {'lowest' if end == 0 else 'highest'} "
                            f"frequencies ({band.min():.3g}–{band.max():.3g} Hz), z = {z:.1f}"))
    lim_o = _z_upper(alpha / (2 * 2 * N))
    zo = np.abs(u) / np.sqrt(null.leverage())
    out = (zo > lim_o) & (np.abs(r) > tolerance)
    flagged |= out
    worst_o = float(zo.max()) if zo.size else 0.0
    tests.append(KKTest("outliers", worst_o, lim_o, bool(out.any()),
                        f"{int(out.sum())} point(s) beyond {lim_o:.1f} σ"))
    if sig is not None:
        # can a test circuit reach the stated noise at all? The best of the fits scanned
        # (the M chosen sits on the s² plateau, up to one standard error above its floor)
        z, chi2_nu, m_best = np.inf, np.nan, ft.M
        for other in scan.fits.values():
            A_m = other.A if other.A is not None else ft.A
            u_m = (scan.b - A_m @ other.xs) / ref if other.xs is not None else u
            nu_m = max(u_m.size - A_m.shape[1], 1)
            z_m = _chi2_z(float(u_m @ u_m), float(nu_m), 2.0 * nu_m)
            if z_m < z:
                z, chi2_nu, m_best = z_m, float(u_m @ u_m) / nu_m, other.M
        tests.append(KKTest("size", z, lim, bool(z > lim and matters),
                            f"χ²/ν = {chi2_nu:.2f} against the stated noise (best of the "
                            f"test circuits scanned, M = {m_best})"))
    tests.append(KKTest("noise_limit", noise_est, max_noise, bool(noise_est > max_noise),
                        f"noise {100 * noise_est:.2g} % of |Z| exceeds {100 * max_noise:.2g} %"))
    failed = [t for t in tests if t.failed]
    stat = max(t.value for t in tests if t.name != "noise_limit")
    inconsistent = flagged[:N] | flagged[N:]
    ne = scan.extras.n
    coef = dict(zip(scan.extras.names, ft.x[:ne] * scan.extras.scale))
    if scan.admittance:
        g_inf = coef.get("G_inf", 0.0)
        R0 = 1.0 / g_inf if g_inf else np.inf
        L = 1.0 / coef["L_inv"] if coef.get("L_inv") else np.inf
        C = coef.get("C", 0.0)
    else:
        R0 = coef.get("R_inf", 0.0)
        L = coef.get("L", 0.0)
        C = 1.0 / coef["C_inv"] if coef.get("C_inv") else np.inf
    return KKResult(
        passed=not failed,
        reason="; ".join(t.detail for t in failed),
        statistic=float(stat),
        tests=tuple(tests),
        noise=float(noise_est),
        sigma=sigma_med,
        rms=float(np.sqrt(np.mean(np.abs(res) ** 2))),
        freq=f,
        Z=Z,
        Z_fit=Z_fit,
        residuals_real=res.real,
        residuals_imag=res.imag,
        inconsistent=inconsistent,
        M=int(ft.M),
        mu=float(ft.mu),
        c=float(c),
        representation="admittance" if scan.admittance else "impedance",
        tau=ft.tau,
        R=ft.x[ne:],
        R0=float(R0),
        L=float(L),
        C=float(C),
        dof=float(null.nu),
    )
