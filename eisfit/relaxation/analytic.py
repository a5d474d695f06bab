"""Exact DRTs of common elements (ground truth for tests and for judging a DRT).

Convention: ``Z = ∫ γ(ln τ) / (1 + jωτ) d ln τ`` (+ a series capacitance where noted).
Continuous distributions are returned as γ values; discrete ones as ``(R_k, τ_k)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = [
    "exact_gamma",
    "hn_gamma",
    "rc_discrete",
    "warburg_reflective_discrete",
    "warburg_transmissive_discrete",
    "zarc_gamma",
]


def zarc_gamma(tau, R: float, tau0: float, n: float) -> np.ndarray:
    """γ of a ZARC ``R / (1 + (jωτ0)^n)``: ``(R/2π) sin nπ / (cosh(n ln(τ/τ0)) + cos nπ)``.

    Examples
    --------
    >>> round(float(zarc_gamma(1.0, 2 * np.pi, 1.0, 0.5)), 6)   # (R/2π) tan(nπ/2)
    1.0
    """
    u = np.log(np.asarray(tau, float) / tau0)
    return R / (2 * np.pi) * np.sin(n * np.pi) / (np.cosh(n * u) + np.cos(n * np.pi))


def hn_gamma(tau, R: float, tau0: float, alpha: float, beta: float) -> np.ndarray:
    """γ of a Havriliak–Negami element ``R / (1 + (jωτ0)^α)^β``."""
    x = (np.asarray(tau, float) / tau0) ** alpha
    theta = np.arctan2(np.sin(alpha * np.pi), x + np.cos(alpha * np.pi))
    return (
        R
        / np.pi
        * x**beta
        * np.sin(beta * theta)
        / (1 + 2 * x * np.cos(alpha * np.pi) + x**2) ** (beta / 2)
    )


def rc_discrete(R: float, tau0: float) -> tuple[np.ndarray, np.ndarray]:
    """An RC element is one delta: ``(R_k, τ_k) = ([R], [τ0])``."""
    return np.array([float(R)]), np.array([float(tau0)])


def warburg_transmissive_discrete(R: float, T: float, kmax: int = 2000):
    """Transmissive finite Warburg ``R tanh√(jωT)/√(jωT)`` as a series of RC deltas.

    ``R_k = 8R/((2k−1)²π²)``, ``τ_k = 4T/((2k−1)²π²)``, k = 1 … kmax.
    """
    k = np.arange(1, kmax + 1)
    d = (2 * k - 1) ** 2 * np.pi**2
    return 8 * R / d, 4 * T / d


def warburg_reflective_discrete(R: float, T: float, kmax: int = 2000):
    """Reflective finite Warburg ``R coth√(jωT)/√(jωT)``: series capacitance and RC deltas.

    Returns ``(C, R_k, τ_k)`` with ``C = T/R``, ``R_k = 2R/(k²π²)``, ``τ_k = T/(k²π²)``.
    """
    k = np.arange(1, kmax + 1)
    d = k**2 * np.pi**2
    return T / R, 2 * R / d, T / d


def exact_gamma(kind: str, tau, **params) -> np.ndarray:
    """Dispatch: ``exact_gamma("zarc", tau, R=, tau0=, n=)`` or ``("hn", ..., alpha=, beta=)``."""
    if kind == "zarc":
        return zarc_gamma(tau, **params)
    if kind == "hn":
        return hn_gamma(tau, **params)
    raise InputError(f"no continuous DRT for {kind!r}; discrete ones: rc_discrete, warburg_*")
