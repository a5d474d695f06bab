"""Plot helpers: Nyquist, Bode and DRT (matplotlib, imported on first use).

When no display is available the non-interactive Agg backend is selected, so the
helpers work on servers and in worker processes.

Examples
--------
>>> import numpy as np, eisfit as ef
>>> spec = ef.Spectrum(np.logspace(4, -1, 20), 1 + 10 / (1 + 1j * np.logspace(4, -1, 20) / 10))
>>> ax = ef.plot.nyquist(spec)
>>> ax.get_xlabel()
"Z' (Ω)"
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["nyquist", "bode", "drt", "pyplot"]


def pyplot():
    """``matplotlib.pyplot``, with the Agg backend when there is no display."""
    import matplotlib

    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover - backend already fixed by the user
            pass
    import matplotlib.pyplot as plt

    return plt


def _fit_curve(fit: Any) -> tuple[np.ndarray, np.ndarray] | None:
    if fit is None:
        return None
    if hasattr(fit, "Z_fit"):
        return np.asarray(fit.freq), np.asarray(fit.Z_fit)
    if isinstance(fit, tuple) and len(fit) == 2:
        return np.asarray(fit[0], float), np.asarray(fit[1], complex)
    z = np.asarray(fit, complex)
    return np.full(z.shape, np.nan), z


def nyquist(spec: Any, fit: Any = None, ax: Any = None, *, label: str | None = None,
            color: Any = None, equal: bool = True, **kw: Any):
    """Nyquist plot (−Z'' against Z') of a spectrum, with an optional fitted curve.

    Parameters
    ----------
    spec : Spectrum
        Measured spectrum (points not in use are drawn hollow).
    fit : FitResult, (freq, Z) tuple or complex array, optional
        Fitted or model impedance, drawn as a line.
    ax : matplotlib Axes, optional
    label, color : optional
        Legend label and colour of the data.
    equal : bool
        Equal axis scales (true semicircles look round).
    **kw
        Passed to ``ax.plot`` for the data markers.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = pyplot().subplots(figsize=(5, 4))
    z = np.asarray(spec.Z)
    m = np.asarray(spec.use)
    kw.setdefault("marker", "o")
    kw.setdefault("ms", 3)
    kw.setdefault("ls", "none")
    (line,) = ax.plot(z.real[m], -z.imag[m], color=color, label=label, **kw)
    if (~m).any():
        ax.plot(z.real[~m], -z.imag[~m], marker="o", ms=3, ls="none", mfc="none",
                color=line.get_color())
    curve = _fit_curve(fit)
    if curve is not None:
        ax.plot(curve[1].real, -curve[1].imag, "-", lw=1.2, color=line.get_color())
    ax.set_xlabel("Z' (Ω)")
    ax.set_ylabel("−Z'' (Ω)")
    if equal:
        ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    return ax


def bode(spec: Any, fit: Any = None, axes: Any = None, *, label: str | None = None,
         color: Any = None):
    """Bode plot: |Z| and phase against frequency, with an optional fit.

    Returns
    -------
    tuple of matplotlib Axes
        ``(ax_modulus, ax_phase)``.
    """
    if axes is None:
        _, axes = pyplot().subplots(2, 1, sharex=True, figsize=(5, 5))
    a1, a2 = axes
    f = np.asarray(spec.freq)
    z = np.asarray(spec.Z)
    (l1,) = a1.loglog(f, np.abs(z), "o", ms=3, color=color, label=label)
    a2.semilogx(f, -np.degrees(np.angle(z)), "o", ms=3, color=l1.get_color())
    curve = _fit_curve(fit)
    if curve is not None and np.isfinite(curve[0]).all():
        a1.loglog(curve[0], np.abs(curve[1]), "-", color=l1.get_color())
        a2.semilogx(curve[0], -np.degrees(np.angle(curve[1])), "-", color=l1.get_color())
    a1.set_ylabel("|Z| (Ω)")
    a2.set_ylabel("−phase (°)")
    a2.set_xlabel("frequency (Hz)")
    for a in axes:
        a.grid(True, which="both", alpha=0.3)
    return a1, a2


def drt(result: Any, ax: Any = None, *, label: str | None = None, color: Any = None,
        x: str = "tau"):
    """Plot a DRT: γ against τ (``x="tau"``) or against f = 1/(2πτ) (``x="freq"``).

    Parameters
    ----------
    result : DRTResult
        Anything with ``tau`` and ``gamma`` arrays.
    """
    if ax is None:
        _, ax = pyplot().subplots(figsize=(5, 3.5))
    tau = np.asarray(result.tau, float)
    gamma = np.asarray(result.gamma, float)
    xs = tau if x == "tau" else 1.0 / (2 * np.pi * tau)
    ax.semilogx(xs, gamma, "-", label=label, color=color)
    ax.set_xlabel("τ (s)" if x == "tau" else "f (Hz)")
    ax.set_ylabel("γ (Ω)")
    ax.grid(True, which="major", alpha=0.3)
    return ax
