"""Assembly of the weighted, real-stacked DRT least-squares problem.

Variables, in order: R∞, ω_max·L (if ``inductance``), 1/(C·ω_min) (if
``series_capacitance``), then γ at the τ nodes. Scaling the L and C variables by the
frequency range keeps all columns of comparable size, so one penalty scale and one
λ grid suit every spectrum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FitError
from ..linear.basis import series_columns
from ..linear.kernels import derivative_matrix, kernel_matrix, tau_grid
from ..linear.weights import residual_weights, stack, stack_columns

__all__ = ["WEIGHTS", "DRTProblem", "build_problem", "weights_for"]

WEIGHTS = ("modulus", "unit", "proportional")

#: Extra ridge penalty (relative to the normalised smoothness penalty, whose diagonal is
#: ≈ 1/m) on γ at τ < 1/ω_max, where γ and R∞ are indistinguishable.
HF_RIDGE = 1.0


def weights_for(Z: np.ndarray, weight: str | None = "modulus", sigma=None) -> tuple:
    """Per-point weights ``(w_re, w_im)``, exactly those of :func:`eisfit.fitting`.

    Parameters
    ----------
    Z : numpy.ndarray
        Measured impedance.
    weight : {"modulus", "unit", "proportional"}
        ``"modulus"``: residual / |Z| (default); ``"unit"``: no weighting;
        ``"proportional"``: real residual / |Z'|, imaginary residual / |Z''| (each
        floored at 1e-3·|Z|).
    sigma : array_like, optional
        Standard deviations; overrides ``weight``. Real → same for both parts; complex →
        ``sigma.real`` for Z', ``sigma.imag`` for Z''. A scalar applies to every point.
    """
    if sigma is not None:
        s = np.asarray(sigma)
        if s.ndim == 0:
            s = np.full(Z.shape, s.item())
        w_re, w_im, _ = residual_weights(Z, s)
    else:
        w_re, w_im, _ = residual_weights(Z, "unit" if weight is None else weight)
    return w_re, w_im


@dataclass(frozen=True)
class DRTProblem:
    """Everything the solvers and criteria need (arrays are not copied; do not mutate)."""

    freq: np.ndarray
    Z: np.ndarray
    tau: np.ndarray
    h: float
    K: np.ndarray  # complex design matrix (n, m_total), unweighted
    A: np.ndarray  # weighted real design matrix (2n, m_total)
    b: np.ndarray  # weighted real data (2n,)
    H: np.ndarray  # AᵀA
    g: np.ndarray  # Aᵀb
    P: np.ndarray  # penalty (normalised to trace(H_γγ))
    n_extra: int  # number of non-γ variables in front
    names: tuple  # names of the non-γ variables
    col_scale: np.ndarray  # physical value = x * col_scale
    w_re: np.ndarray
    w_im: np.ndarray

    @property
    def n_data(self) -> int:
        return self.b.size


def build_problem(
    freq: np.ndarray,
    Z: np.ndarray,
    *,
    weight: str | None = "modulus",
    sigma=None,
    ppd: float = 10.0,
    extend: float = 1.0,
    inductance: bool = True,
    series_capacitance: bool = False,
    order: int = 2,
) -> DRTProblem:
    """Build the DRT problem for the (already windowed) data."""
    freq = np.asarray(freq, float)
    Z = np.asarray(Z, complex)
    if freq.size < 4:
        raise FitError(f"DRT needs at least 4 points, got {freq.size}")
    if order not in (0, 1, 2):
        raise FitError(f"penalty order must be 0, 1 or 2, got {order}")
    tau, h = tau_grid(freq, ppd=ppd, extend=extend)
    w = 2 * np.pi * freq
    extras = series_columns(freq, inductance=inductance, capacitance=series_capacitance)
    names = extras.names
    K = np.column_stack([extras.K, kernel_matrix(freq, tau, h)])
    w_re, w_im = weights_for(Z, weight, sigma)
    A = stack_columns(K, w_re, w_im)
    b = stack(Z, w_re, w_im)
    H = A.T @ A
    g = A.T @ b
    ne = len(names)
    m = tau.size
    D = derivative_matrix(m, order, h)
    Pg = D.T @ D
    Pg = Pg / np.trace(Pg) + 1e-6 * np.eye(m) / m
    # nodes faster than the fastest measured point act on the data like a series
    # resistance: a ridge there hands that mass to R∞ instead of an edge artefact
    hf = tau < 1 / w.max()
    Pg[hf, hf] += HF_RIDGE
    if series_capacitance:
        # likewise, nodes slower than the slowest point act like the series capacitance
        lf = tau > 1 / w.min()
        Pg[lf, lf] += HF_RIDGE
    Pg *= np.trace(H[ne:, ne:])
    P = np.zeros((ne + m, ne + m))
    P[ne:, ne:] = Pg
    scales_arr = np.concatenate([extras.scale, np.ones(m)])
    return DRTProblem(
        freq=freq,
        Z=Z,
        tau=tau,
        h=h,
        K=K,
        A=A,
        b=b,
        H=H,
        g=g,
        P=P,
        n_extra=ne,
        names=tuple(names),
        col_scale=scales_arr,
        w_re=w_re,
        w_im=w_im,
    )
