"""Basis columns: an immittance as a linear combination of fixed functions of frequency.

Impedance representation (``admittance=False``)::

    Z(ω) = R∞ + jωL + 1/(jωC) + Σₖ Rₖ / (1 + jωτₖ)        (Voigt elements)
         = R∞ + jωL + 1/(jωC) + ∫ γ(ln τ) / (1 + jωτ) d ln τ  (hat functions, see kernels)

Admittance representation (``admittance=True``)::

    Y(ω) = G∞ + jωC + 1/(jωL) + Σₖ gₖ · jωτₖ / (1 + jωτₖ)

Series columns are scaled by the frequency range (``jω/ω_max``, ``ω_min/(jω)``), so that
all columns have comparable size and one penalty scale suits every spectrum; the physical
coefficient is ``x · scale``.

Examples
--------
>>> import numpy as np
>>> f = np.logspace(3, -1, 5)
>>> cols = series_columns(f, inductance=True, capacitance=True)
>>> cols.names
('R_inf', 'L', 'C_inv')
>>> voigt_columns(f, voigt_tau(f, 3)).shape
(5, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Columns", "series_columns", "voigt_columns", "voigt_design", "voigt_tau"]


@dataclass(frozen=True)
class Columns:
    """Complex basis columns ``K`` (N × p), their names and physical scales."""

    K: np.ndarray
    names: tuple[str, ...]
    scale: np.ndarray

    @property
    def n(self) -> int:
        return len(self.names)


def series_columns(
    freq: np.ndarray,
    *,
    resistance: bool = True,
    inductance: bool = True,
    capacitance: bool = False,
    admittance: bool = False,
) -> Columns:
    """The non-relaxing columns: a constant, a ``jω`` term and a ``1/(jω)`` term.

    In the impedance representation they are R∞ (``"R_inf"``), a series inductance
    (``"L"``) and a series capacitance (``"C_inv"``, coefficient 1/C); in the admittance
    representation G∞ (``"G_inf"``), a parallel capacitance (``"C"``) and a parallel
    inductance (``"L_inv"``, coefficient 1/L).
    """
    w = 2 * np.pi * np.asarray(freq, float)
    wmax, wmin = float(w.max()), float(w.min())
    cols, names, scales = [], [], []
    if resistance:
        cols.append(np.ones(w.size, complex))
        names.append("G_inf" if admittance else "R_inf")
        scales.append(1.0)
    if inductance:  # Z: jωL;  Y: 1/(jωL)
        if admittance:
            cols.append(wmin / (1j * w))
            names.append("L_inv")
            scales.append(wmin)
        else:
            cols.append(1j * w / wmax)
            names.append("L")
            scales.append(1.0 / wmax)
    if capacitance:  # Z: 1/(jωC);  Y: jωC
        if admittance:
            cols.append(1j * w / wmax)
            names.append("C")
            scales.append(1.0 / wmax)
        else:
            cols.append(wmin / (1j * w))
            names.append("C_inv")
            scales.append(wmin)
    K = np.column_stack(cols) if cols else np.zeros((w.size, 0), complex)
    return Columns(K, tuple(names), np.asarray(scales, float))


def voigt_tau(freq: np.ndarray, M: int, extend: float = 0.0) -> np.ndarray:
    """``M`` time constants spread log-uniformly over ``[1/ω_max, 1/ω_min]``.

    ``extend`` widens the range by that many decades on each side.
    """
    w = 2 * np.pi * np.asarray(freq, float)
    lo = np.log10(1.0 / w.max()) - extend
    hi = np.log10(1.0 / w.min()) + extend
    if M == 1:
        return np.array([10.0 ** (0.5 * (lo + hi))])
    return np.logspace(lo, hi, M)


def voigt_columns(freq: np.ndarray, tau: np.ndarray, admittance: bool = False) -> np.ndarray:
    """Columns ``1/(1 + jωτₖ)`` (impedance) or ``jωτₖ/(1 + jωτₖ)`` (admittance), N × M."""
    x = np.multiply.outer(2 * np.pi * np.asarray(freq, float), np.asarray(tau, float))
    d = 1.0 / (1.0 + x * x)
    if admittance:  # jx/(1+jx) = (x² + jx)/(1+x²)
        return (x * x * d) + 1j * (x * d)
    return d - 1j * (x * d)


def voigt_design(
    omega: np.ndarray, tau: np.ndarray, w: np.ndarray, admittance: bool = False
) -> np.ndarray:
    """The Voigt columns already weighted by ``w`` and stacked (real rows, then imaginary).

    Equal to ``stack_columns(voigt_columns(f, tau, admittance), w, w)`` for
    ``omega = 2πf``, built without complex intermediates (the Kramers–Kronig scan builds
    one per number of elements).
    """
    x = np.multiply.outer(omega, tau)
    d = w[:, None] / (1.0 + x * x)
    n = omega.size
    V = np.empty((2 * n, x.shape[1]))
    if admittance:  # jx/(1+jx) = (x² + jx)/(1+x²)
        V[:n] = x * x * d
        V[n:] = x * d
    else:  # 1/(1+jx) = (1 − jx)/(1+x²)
        V[:n] = d
        V[n:] = -x * d
    return V
