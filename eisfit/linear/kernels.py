"""DRT basis, τ grid and kernel matrices.

The distribution γ(ln τ) is expanded in piecewise-linear "hat" functions on a uniform
grid in ln τ (spacing ``h``); the coefficients are the values of γ at the nodes. The
impedance of one hat centred at ln τ_k, evaluated at angular frequency ω, depends only
on ``s = ln(ω τ_k)``:

.. math::

    g(s) = \\int \\mathrm{hat}_h(v - s) \\frac{dv}{1 + j e^{v}}
         = \\frac{G(s + h) - 2 G(s) + G(s - h)}{h}

where ``G`` is a second antiderivative of ``1 / (1 + j e^v)``, known in closed form:

* real part ``G_re(v) = -Li2(-e^{-2v}) / 4`` (dilogarithm),
* imaginary part ``G_im(v) = -Ti2(e^{v})`` (inverse-tangent integral).

``g`` is tabulated once per grid spacing on a fine 1-D grid of ``s`` and interpolated,
so building a kernel matrix costs one :func:`numpy.interp` per entry and no quadrature.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "derivative_matrix",
    "hat_kernel",
    "hat_kernel_exact",
    "kernel_matrix",
    "tau_grid",
]

_TABLE_STEP = 2.5e-4
_TABLE_HALF = 40.0  # |ln(ωτ)| beyond which the kernel equals its asymptote


def _li2_neg(x: np.ndarray) -> np.ndarray:
    """Li2(-x) for x >= 0 (``scipy.special.spence(z) = Li2(1 - z)``)."""
    from scipy.special import spence

    return spence(1.0 + x)


def _ti2(x: np.ndarray) -> np.ndarray:
    """Inverse-tangent integral Ti2(x) = ∫_0^x atan(t)/t dt for 0 <= x <= 1."""
    from scipy.special import spence

    return spence(1.0 - 1j * x).imag


def _G_re(v: np.ndarray) -> np.ndarray:
    """Second antiderivative of 1/(1+e^{2v}); stable for both signs of v."""
    v = np.asarray(v, float)
    out = np.empty_like(v)
    pos = v >= 0
    out[pos] = -0.25 * _li2_neg(np.exp(-2 * v[pos]))
    # Li2(-x) = -π²/6 - ln²(x)/2 - Li2(-1/x) for x > 0
    vn = v[~pos]
    out[~pos] = np.pi**2 / 24 + 0.5 * vn**2 + 0.25 * _li2_neg(np.exp(2 * vn))
    return out


def _G_im(v: np.ndarray) -> np.ndarray:
    """Second antiderivative of -e^v/(1+e^{2v}); stable for both signs of v."""
    v = np.asarray(v, float)
    out = np.empty_like(v)
    neg = v <= 0
    out[neg] = -_ti2(np.exp(v[neg]))
    # Ti2(x) = Ti2(1/x) + (π/2) ln x for x > 0
    vp = v[~neg]
    out[~neg] = -(_ti2(np.exp(-vp)) + 0.5 * np.pi * vp)
    return out


def hat_kernel_exact(s: np.ndarray, h: float) -> np.ndarray:
    """Closed-form impedance of a unit-height hat of half-width ``h`` at ``s = ln(ωτ_k)``.

    Parameters
    ----------
    s : array_like
        ln(ω τ_k), any shape.
    h : float
        Half-width of the hat (grid spacing in ln τ).

    Returns
    -------
    numpy.ndarray
        Complex kernel values, same shape as ``s``.

    Examples
    --------
    >>> import numpy as np
    >>> g = hat_kernel_exact(np.array([-30.0, 30.0]), 0.2)
    >>> bool(np.allclose(g, [0.2, 0.0], atol=1e-9))
    True
    """
    s = np.asarray(s, float)
    re = (_G_re(s + h) - 2 * _G_re(s) + _G_re(s - h)) / h
    im = (_G_im(s + h) - 2 * _G_im(s) + _G_im(s - h)) / h
    return re + 1j * im


@lru_cache(maxsize=16)
def _table(h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.arange(-_TABLE_HALF, _TABLE_HALF + _TABLE_STEP / 2, _TABLE_STEP)
    g = hat_kernel_exact(s, h)
    re, im = g.real.copy(), g.imag.copy()
    for a in (s, re, im):
        a.setflags(write=False)
    return s, re, im


def hat_kernel(s: np.ndarray, h: float) -> np.ndarray:
    """Hat kernel from the cached 1-D table (linear interpolation, error < 1e-8·h).

    Outside the table the asymptotes are used (``h`` for ωτ → 0, 0 for ωτ → ∞).
    """
    ts, tre, tim = _table(float(h))
    s = np.asarray(s, float)
    # uniform table: direct index arithmetic (no binary search)
    x = (np.clip(s, ts[0], ts[-1]) - ts[0]) / _TABLE_STEP
    i = np.minimum(x.astype(np.intp), ts.size - 2)
    w = x - i
    re = tre[i] * (1 - w) + tre[i + 1] * w
    im = tim[i] * (1 - w) + tim[i + 1] * w
    re = np.where(s < ts[0], h, np.where(s > ts[-1], 0.0, re))
    im = np.where((s < ts[0]) | (s > ts[-1]), 0.0, im)
    return re + 1j * im


def tau_grid(
    freq: np.ndarray, ppd: float = 10.0, extend: float = 1.0
) -> tuple[np.ndarray, float]:
    """A uniform grid in ln τ covering the measured window, extended on both sides.

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz) of the data.
    ppd : float
        Nodes per decade of τ.
    extend : float
        Decades added beyond 1/(2π f_max) and 1/(2π f_min).

    Returns
    -------
    tau : numpy.ndarray
        Node time constants (s), ascending.
    h : float
        Spacing in ln τ.
    """
    f = np.asarray(freq, float)
    lo = np.log10(1 / (2 * np.pi * f.max())) - extend
    hi = np.log10(1 / (2 * np.pi * f.min())) + extend
    # exactly ppd nodes per decade, the range widened evenly to a whole number of steps:
    # the spacing h is then the same for every spectrum, and so is the kernel table
    n = int(np.ceil((hi - lo) * ppd - 1e-9)) + 1
    lo -= 0.5 * ((n - 1) / ppd - (hi - lo))
    log_tau = lo + np.arange(n) / ppd
    return 10.0**log_tau, float(np.log(10) / ppd)


def kernel_matrix(freq: np.ndarray, tau: np.ndarray, h: float) -> np.ndarray:
    """Complex matrix ``K[i, k]`` = impedance at ``freq[i]`` of the hat at ``tau[k]``."""
    s = np.log(2 * np.pi * np.asarray(freq, float))[:, None] + np.log(np.asarray(tau))[None, :]
    return hat_kernel(s, h)


def derivative_matrix(m: int, order: int, h: float) -> np.ndarray:
    """Finite-difference matrix of the ``order``-th derivative w.r.t. ln τ on ``m`` nodes."""
    if order == 0:
        return np.eye(m)
    D = np.eye(m)
    for _ in range(order):
        D = np.diff(D, axis=0) / h
    return D
