"""The immutable result of :func:`eisfit.drt`: :class:`DRTResult`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..linear.kernels import kernel_matrix
from ..results import frozen_arrays
from .peaks import Peak, assign_basins, find_peaks

__all__ = ["DRTResult", "WEAK_SIGNIFICANCE"]

#: Maxima at least this significant are candidates for parametric confirmation.
WEAK_SIGNIFICANCE = 1.0


@dataclass(frozen=True, eq=False)
class DRTResult:
    """A distribution of relaxation times and how it was obtained.

    Attributes
    ----------
    tau : numpy.ndarray
        Node time constants (s), ascending, uniform in ln τ.
    gamma : numpy.ndarray
        γ(ln τ) at the nodes (Ω); piecewise linear in between.
    gamma_std : numpy.ndarray
        Posterior standard deviation of ``gamma`` (0 on nodes held at zero).
    R_inf : float
        Series (high-frequency) resistance (Ω).
    L : float
        Series inductance (H); 0 if not fitted.
    C : float or None
        Series capacitance (F) if requested (blocking electrodes), else ``None``.
    lam : float
        Regularisation strength used.
    criterion : str
        How ``lam`` was chosen (``"gcv"``, ``"lcurve"``, ``"evidence"``,
        ``"discrepancy"`` or ``"fixed"``).
    lam_grid : numpy.ndarray
        λ values evaluated in the scan (empty if λ was fixed).
    scores : Mapping[str, numpy.ndarray]
        Criterion curves along ``lam_grid`` (lower is better).
    freq, Z : numpy.ndarray
        The data that were fitted (after windowing and masking).
    Z_fit : numpy.ndarray
        Model impedance at ``freq``.
    residuals : numpy.ndarray
        ``(Z − Z_fit)/|Z|``: data minus model, relative, like every residual in eisfit.
    weighted_residuals : numpy.ndarray
        ``(Z − Z_fit)·w`` with the DRT's own weights (real and imaginary parts weighted
        separately): what the regularised fit minimised.
    weight : str
        Weighting used.
    h : float
        Grid spacing in ln τ.
    sigma2 : float
        Estimated variance of the weighted residuals.
    """

    tau: np.ndarray
    gamma: np.ndarray
    gamma_std: np.ndarray
    R_inf: float
    L: float
    C: float | None
    lam: float
    criterion: str
    lam_grid: np.ndarray
    scores: Mapping[str, np.ndarray]
    freq: np.ndarray
    Z: np.ndarray
    Z_fit: np.ndarray
    residuals: np.ndarray
    weighted_residuals: np.ndarray
    weight: str
    h: float
    sigma2: float
    _cov: np.ndarray = field(repr=False)
    _peaks: tuple = field(repr=False, default=())
    _selected: dict = field(repr=False, default_factory=dict, compare=False)

    def __post_init__(self):
        frozen_arrays(self)

    # -- derived quantities -----------------------------------------------------------
    @property
    def R_pol(self) -> float:
        """Total polarisation resistance ∫ γ d ln τ (Ω) (each hat has area h)."""
        return float(self.h * np.sum(self.gamma))

    @property
    def chi2(self) -> float:
        """Sum of squared weighted residuals."""
        r = self.weighted_residuals
        return float(np.sum(r.real**2 + r.imag**2))

    @property
    def n_points(self) -> int:
        """Number of frequencies the DRT was fitted to."""
        return int(self.freq.size)

    @property
    def window(self) -> tuple[float, float]:
        """τ range probed by the data: (1/(2π f_max), 1/(2π f_min))."""
        return (1 / (2 * np.pi * self.freq.max()), 1 / (2 * np.pi * self.freq.min()))

    def all_peaks(self) -> tuple[Peak, ...]:
        """Every local maximum of γ, whatever its significance."""
        if self._peaks:
            return self._peaks
        return tuple(find_peaks(self.tau, self.gamma, self.h, self._cov, self.window))

    def peaks(
        self, min_significance: float = 3.0, include_edge: bool = False, confirm: bool = True
    ) -> tuple[Peak, ...]:
        """The peaks of the DRT, one entry per process, ascending in τ.

        Parameters
        ----------
        min_significance : float
            Keep peaks whose significance (see :class:`~eisfit.relaxation.peaks.Peak`) reaches
            this many noise standard deviations.
        include_edge : bool
            Also keep peaks on the grid extension beyond the measured window.
        confirm : bool
            Weaker maxima (significance from :data:`WEAK_SIGNIFICANCE` up to
            ``min_significance``, holding at least 1 % of R_pol) are kept when a fit of
            the spectrum with one arc per peak says the data need them
            (:mod:`eisfit.relaxation.confirm`): a broad process on a neighbour's flank has
            low DRT significance but is plain to a parametric fit.

        Returns
        -------
        tuple of Peak
            Each peak's ``R`` is the area of its whole basin (up to the lowest point
            towards the next kept peak), so sub-threshold side lobes and ripples count
            towards the process they belong to.

        Examples
        --------
        >>> import numpy as np, eisfit as ef
        >>> f = np.logspace(5, -2, 71); w = 2 * np.pi * f
        >>> Z = 10 + 50 / (1 + (1j * w * 1e-3) ** 0.9)
        >>> Z = Z + 0.005 * abs(Z) * np.random.default_rng(0).standard_normal(71)
        >>> [round(float(np.log10(p.tau)), 1) for p in ef.drt(ef.Spectrum(f, Z)).peaks()]
        [-3.0]
        """
        key = (float(min_significance), bool(include_edge), bool(confirm))
        if key in self._selected:
            return self._selected[key]
        allp = self.all_peaks()
        out = [
            p
            for p in allp
            if p.significance >= min_significance and (include_edge or not p.edge)
        ]
        if confirm and out:
            weak = [p for p in allp if WEAK_SIGNIFICANCE <= p.significance < min_significance
                    and not p.edge and p.R > 0.01 * self.R_pol]
            if weak:
                from .confirm import confirm_weak_peaks

                out = confirm_weak_peaks(self.freq, self.Z, self.R_inf, self.L, out, weak)
                out.sort(key=lambda p: p.index)
        sel = tuple(assign_basins(out, list(allp), self.tau, self.gamma, self.h, self._cov))
        self._selected[key] = sel
        return sel

    def gamma_at(self, tau: Any) -> np.ndarray:
        """γ at arbitrary τ (linear interpolation in ln τ; 0 outside the grid)."""
        lt = np.log(np.asarray(tau, float))
        return np.interp(lt, np.log(self.tau), self.gamma, left=0.0, right=0.0)

    def impedance(self, freq: Any) -> np.ndarray:
        """Model impedance at arbitrary frequencies (Hz)."""
        f = np.asarray(freq, float)
        w = 2 * np.pi * f
        Z = self.R_inf + 1j * w * self.L + kernel_matrix(f, self.tau, self.h) @ self.gamma
        if self.C is not None:
            Z = Z + 1 / (1j * w * self.C)
        return Z

    # -- interop ----------------------------------------------------------------------
    def to_frame(self):
        """γ(τ) as a pandas DataFrame (columns tau, freq, gamma, gamma_std)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "tau": self.tau,
                "freq": 1 / (2 * np.pi * self.tau),
                "gamma": self.gamma,
                "gamma_std": self.gamma_std,
            }
        )

    def peaks_frame(self, min_significance: float = 3.0, include_edge: bool = False):
        """The peaks as a pandas DataFrame."""
        from dataclasses import asdict

        import pandas as pd

        rows = [asdict(p) for p in self.peaks(min_significance, include_edge)]
        return pd.DataFrame(rows, columns=list(Peak.__dataclass_fields__))

    def to_json(self) -> str:
        """A JSON document with the scalars, γ(τ) and the peaks."""
        doc = {
            "R_inf": self.R_inf,
            "L": self.L,
            "C": self.C,
            "lam": self.lam,
            "criterion": self.criterion,
            "weight": self.weight,
            "tau": self.tau.tolist(),
            "gamma": self.gamma.tolist(),
            "peaks": [
                {"tau": p.tau, "R": p.R, "width": p.width, "significance": p.significance}
                for p in self.peaks()
            ],
        }
        return json.dumps(doc)

    def plot(self, ax=None, show_peaks: bool = True, band: bool = True):
        """Plot γ against τ (matplotlib, imported on first use). Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.semilogx(self.tau, self.gamma, "-", label=f"γ (λ={self.lam:.2g}, {self.criterion})")
        if band:
            ax.fill_between(
                self.tau,
                np.maximum(self.gamma - 2 * self.gamma_std, 0),
                self.gamma + 2 * self.gamma_std,
                alpha=0.25,
                lw=0,
            )
        if show_peaks:
            for p in self.peaks():
                ax.axvline(p.tau, ls=":", lw=0.8)
        lo, hi = self.window
        ax.axvspan(self.tau[0], lo, color="0.9", zorder=0)
        ax.axvspan(hi, self.tau[-1], color="0.9", zorder=0)
        ax.set_xlabel("τ / s")
        ax.set_ylabel("γ / Ω")
        ax.legend(loc="best")
        return ax

    def __repr__(self) -> str:
        n = len(self.peaks())
        return (
            f"DRTResult({self.tau.size} nodes, R_inf={self.R_inf:.4g} Ω, "
            f"R_pol={self.R_pol:.4g} Ω, λ={self.lam:.3g} ({self.criterion}), {n} peak(s))"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{p.tau:.3g}</td><td>{p.R:.4g}</td><td>{p.width:.2f}</td>"
            f"<td>{p.significance:.1f}</td></tr>"
            for p in self.peaks()
        )
        return (
            f"<p>{self!r}</p><table><tr><th>τ / s</th><th>R / Ω</th>"
            f"<th>FWHM / dec</th><th>significance</th></tr>{rows}</table>"
        )
