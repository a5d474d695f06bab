"""Weighting of complex residuals — the one place where real and imaginary parts are stacked.

For data Z and model Ẑ at N frequencies the residual vector handed to the least-squares
solver has 2N real entries::

    r = [ w'ₖ (Re Ẑₖ − Re Zₖ)  for k = 1..N ,  w''ₖ (Im Ẑₖ − Im Zₖ)  for k = 1..N ]

and the solver minimises Σ r² (the residual is *not* squared here). The weights are

========================  ==========================================================
``"unit"``                w' = w'' = 1
``"modulus"`` (default)   w' = w'' = 1/|Zₖ|
``"proportional"``        w' = 1/|Re Zₖ|, w'' = 1/|Im Zₖ| (each floored at 1e-3·|Zₖ|)
array σ (real)            w' = w'' = 1/σₖ (absolute: χ² is a true chi-square)
array σ (complex)         w' = 1/Re σₖ, w'' = 1/Im σₖ
========================  ==========================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FitError

__all__ = ["WEIGHTS", "residual_weights", "stack", "stack_columns", "stack_jacobian"]

WEIGHTS = ("unit", "modulus", "proportional")


def residual_weights(Z: np.ndarray, weight: Any = "modulus") -> tuple[np.ndarray, np.ndarray, bool]:
    """Weights ``(w_re, w_im, absolute)`` for data ``Z``.

    ``absolute`` is True when the weights are inverse standard deviations given by the
    user, so that χ² needs no rescaling.
    """
    Z = np.asarray(Z, dtype=complex)
    if isinstance(weight, str):
        mod = np.abs(Z)
        if weight == "unit":
            one = np.ones(Z.shape)
            return one, one, False
        if weight == "modulus":
            if np.any(mod == 0):
                raise FitError("modulus weighting needs |Z| > 0 at every point")
            w = 1.0 / mod
            return w, w, False
        if weight == "proportional":
            floor = 1e-3 * mod
            return (
                1.0 / np.maximum(np.abs(Z.real), floor),
                1.0 / np.maximum(np.abs(Z.imag), floor),
                False,
            )
        raise FitError(f"unknown weight {weight!r}; use one of {WEIGHTS} or an array of σ")
    sigma = np.asarray(weight)
    if sigma.shape != Z.shape:
        raise FitError(f"σ array must have one entry per point ({Z.size}), got shape {sigma.shape}")
    if np.iscomplexobj(sigma):
        s_re, s_im = sigma.real.astype(float), sigma.imag.astype(float)
    else:
        s_re = s_im = sigma.astype(float)
    if not (np.all(s_re > 0) and np.all(s_im > 0) and np.all(np.isfinite(s_re + s_im))):
        raise FitError("σ must be positive and finite")
    return 1.0 / s_re, 1.0 / s_im, True


def stack(dz: np.ndarray, w_re: np.ndarray, w_im: np.ndarray) -> np.ndarray:
    """Weighted real residual vector ``[w'·Re dz, w''·Im dz]`` (length 2N)."""
    return np.concatenate((w_re * dz.real, w_im * dz.imag))


def stack_columns(K: np.ndarray, w_re: np.ndarray, w_im: np.ndarray) -> np.ndarray:
    """Weighted real design matrix ``[w'·Re K; w''·Im K]`` (2N × p) of complex columns ``K`` (N × p)."""
    return np.vstack((K.real * w_re[:, None], K.imag * w_im[:, None]))


def stack_jacobian(J: np.ndarray, w_re: np.ndarray, w_im: np.ndarray) -> np.ndarray:
    """Real Jacobian of :func:`stack` for complex dZ/dθ rows ``J`` (p × N) → shape (2N, p)."""
    return stack_columns(J.T, w_re, w_im)
