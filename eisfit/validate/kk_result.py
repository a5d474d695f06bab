"""What :func:`eisfit.kk` returns: :class:`KKResult` and its :class:`KKTest` parts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import frozen_arrays

__all__ = ["KKResult", "KKTest"]


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

    @cached_property  # every fit judged against this reference reads it
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
