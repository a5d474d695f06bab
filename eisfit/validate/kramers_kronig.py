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

from typing import Any, Literal

import numpy as np

from ..data.spectrum import Spectrum
from ..errors import InputError, InputTypeError
from .kk_result import KKResult, KKTest
from .kk_scan import _Scan
from .kk_verdict import END_WINDOWS, _verdict

__all__ = ["kk", "KKResult", "KKTest", "END_WINDOWS"]


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
