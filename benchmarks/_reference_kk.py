"""Independent reference linear Kramers–Kronig test for the benchmarks (numpy only).

This module deliberately shares no code with eisfit: the benchmarks use it as the judge of
eisfit's own verdicts (``ef.kk``, ``FitResult.success``, ``ef.propose``), so it must not come
from eisfit. It is a plain Schönleber-style lin-KK (M. Schönleber, D. Klotz, E. Ivers-Tiffée,
Electrochim. Acta 131 (2014) 20):

    Z_kk(ω) = R∞ + jωL + 1/(jωC) + Σ_k R_k / (1 + jωτ_k),        k = 1 … M

* the time constants τ_k are fixed and log-spaced over [1/ω_max, 1/ω_min], extended by
  ``EXTEND_DECADES`` (a third of a decade) at each end so that arcs cut by the frequency window
  can still be described;
* the series inductance L and the series capacitance (a column 1/(jω), coefficient 1/C) are
  included by default (blocking electrodes, reflective diffusion tails, cable inductance);
  the coefficients R∞, R_k, L and 1/C are free in sign (linear problem);
* complex fit, |Z|-weighted: the real and imaginary parts of (Z − Z_kk)/|Z| are stacked and
  solved in the least-squares sense by ``numpy.linalg.lstsq`` (columns normalised first).

Residual definition (used for KK tests *and* for circuit fits in the benchmarks)::

    rms = sqrt( mean_i |Z_i − Z_model,i|² / |Z_i|² )

i.e. the root mean square over the N points of the complex relative deviation; real and imaginary
parts both count, so for complex Gaussian noise with standard deviation σ·|Z| in each part the
rms of the noise itself is √2·σ (a fit with P parameters leaves about √2·σ·sqrt(1 − P/2N)).
See :func:`rel_rms`.

Choice of M (the "plateau" criterion, written for these benchmarks)
-------------------------------------------------------------------
The reference must say how well *any* Kramers–Kronig-consistent impedance can describe the
data, without under-fitting (that would make judgements lenient) and without fitting the noise.
For every M = 1 … M_max the fit is made, and its rms is corrected for the parameters spent,

    s(M) = rms(M) · sqrt(2N / (2N − P)),      P = M + 1 (R∞) + 1 (L) + 1 (C),

(s² estimates the noise variance per point without the bias of fitting: for white noise s(M) is
flat in M once the structure is described). Then

    M = the smallest M with s(M) ≤ (1 + PLATEAU_TOL) · min_{M' ≤ M_max} s(M'),   PLATEAU_TOL = 0.10,

with M_max = max(1, min(N − 3, round(8 · decades))) — at most N parameters for the 2N real
data, and eight elements per decade. "Increase M until the residual stops improving
meaningfully": on white noise (71 points, σ = 0.1–1 %) this gives M ≈ 12–29 and an rms of
0.90–0.95 × the noise's own √2·σ; on a noise-free spectrum of any of the benchmark topologies
(RC/CPE ladders, W, Wo, Ws, G, H, T, Tb, R‖L loops, series C) it goes on to the numerical floor
(rms ≲ 1e-5); on a noise-free drifting spectrum the dense Voigt set gets as close as a
KK-consistent impedance can, so the remaining rms measures the drift. The reported ``rms`` is
the plain rms(M) at the chosen M (not s). Schönleber's μ = 1 − Σ_{R_k<0}|R_k| / Σ_{R_k≥0} R_k at
that M is reported too; ``criterion="mu"`` selects M the classical way (first M with μ ≤ c,
c = 0.85; M_max if μ never drops below c) — not used by the benchmarks, because inductive loops
give genuine negative R_k (μ < c at small M: under-fitting) and noise-free spectra rarely reach
μ < c before M_max.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXTEND_DECADES = 1.0 / 3.0
PLATEAU_TOL = 0.10
MU_C = 0.85


def rel_rms(Z, Z_model) -> float:
    """sqrt(mean(|Z − Z_model|² / |Z|²)) — the relative RMS residual used by every benchmark."""
    Z = np.asarray(Z, complex)
    d = np.abs(np.asarray(Z_model, complex) - Z) ** 2 / np.abs(Z) ** 2
    return float(np.sqrt(np.mean(d)))


@dataclass(frozen=True)
class RefKK:
    """Result of :func:`lin_kk`."""

    rms: float            #: relative RMS residual (definition above) at the chosen M
    M: int                #: number of Voigt elements chosen
    mu: float             #: Schönleber's μ at the chosen M
    Z_fit: np.ndarray     #: the lin-KK impedance at the data frequencies
    rms_by_M: np.ndarray  #: rms for M = 1 … M_max (index M − 1)
    criterion: str


def _design(omega: np.ndarray, tau: np.ndarray, inductance: bool, capacitance: bool) -> np.ndarray:
    cols = [np.ones_like(omega, dtype=complex)]
    cols += [1.0 / (1.0 + 1j * omega * t) for t in tau]
    if inductance:
        cols.append(1j * omega)
    if capacitance:
        cols.append(1.0 / (1j * omega))
    return np.stack(cols, axis=1)


def _solve(omega, Z, tau, inductance, capacitance):
    A = _design(omega, tau, inductance, capacitance)
    w = 1.0 / np.abs(Z)
    Aw = A * w[:, None]
    big = np.vstack([Aw.real, Aw.imag])
    rhs = np.concatenate([(Z * w).real, (Z * w).imag])
    scale = np.linalg.norm(big, axis=0)
    scale[scale == 0] = 1.0
    x, *_ = np.linalg.lstsq(big / scale, rhs, rcond=None)
    x = x / scale
    Zfit = A @ x
    R_k = x[1:1 + len(tau)]
    pos = R_k[R_k >= 0].sum()
    neg = -R_k[R_k < 0].sum()
    mu = 1.0 - neg / pos if pos > 0 else -np.inf
    return Zfit, float(mu)


def tau_grid(freq, M: int) -> np.ndarray:
    """M log-spaced time constants over [1/ω_max, 1/ω_min], extended by EXTEND_DECADES each side."""
    omega = 2 * np.pi * np.asarray(freq, float)
    lo = np.log10(1.0 / omega.max()) - EXTEND_DECADES
    hi = np.log10(1.0 / omega.min()) + EXTEND_DECADES
    if M == 1:
        return np.array([10 ** (0.5 * (lo + hi))])
    return np.logspace(lo, hi, M)


def max_elements(freq) -> int:
    freq = np.asarray(freq, float)
    decades = np.log10(freq.max() / freq.min())
    return int(max(1, min(len(freq) - 3, round(8 * decades))))


def lin_kk(freq, Z, *, M: int | None = None, criterion: str = "plateau", inductance: bool = True,
           capacitance: bool = True, c: float = MU_C, max_M: int | None = None) -> RefKK:
    """Reference lin-KK of (freq, Z); see the module docstring for the model and the M choice.

    ``freq`` in Hz (any order), ``Z`` complex (Z'' < 0 capacitive). ``M`` fixes the number of
    Voigt elements; otherwise it is chosen by ``criterion`` ("plateau", default, or "mu").
    """
    freq = np.asarray(freq, float)
    Z = np.asarray(Z, complex)
    ok = np.isfinite(freq) & np.isfinite(Z) & (freq > 0) & (np.abs(Z) > 0)
    freq, Z = freq[ok], Z[ok]
    omega = 2 * np.pi * freq
    if M is not None:
        Zf, mu = _solve(omega, Z, tau_grid(freq, M), inductance, capacitance)
        r = rel_rms(Z, Zf)
        return RefKK(r, M, mu, Zf, np.array([r]), "fixed")
    M_max = max_M or max_elements(freq)
    fits = []
    for m in range(1, M_max + 1):
        Zf, mu = _solve(omega, Z, tau_grid(freq, m), inductance, capacitance)
        fits.append((rel_rms(Z, Zf), mu, Zf))
    rms = np.array([f[0] for f in fits])
    n_par = np.arange(1, M_max + 1) + 1 + int(inductance) + int(capacitance)
    dof = np.maximum(2 * len(Z) - n_par, 1)
    s_corr = rms * np.sqrt(2 * len(Z) / dof)
    if criterion == "mu":
        below = [m for m in range(1, M_max + 1) if fits[m - 1][1] <= c]
        m = below[0] if below else M_max
    elif criterion == "plateau":
        target = (1.0 + PLATEAU_TOL) * s_corr.min()
        m = int(np.argmax(s_corr <= target)) + 1
    else:
        raise ValueError(f"criterion must be 'plateau' or 'mu', not {criterion!r}")
    r, mu, Zf = fits[m - 1]
    return RefKK(float(r), m, float(mu), Zf, rms, criterion)


def passive_rms(freq, Z, per_decade: float = 8.0) -> float:
    """Residual (same definition as :func:`rel_rms`) of the best *passive relaxation* model:

        Z_p(ω) = R∞ + jωL + 1/(jωC) + Σ_k R_k/(1 + jωτ_k) + Σ_k G_k·jωτ_k/(1 + jωτ_k),

    every coefficient ≥ 0 (non-negative least squares, scipy.optimize.nnls), τ_k on the
    extended grid of :func:`tau_grid` at ``per_decade`` per decade. It is the Foster form of
    any network of resistors and capacitors plus any network of resistors and inductors in
    series, so it covers every ladder of R, C, CPE, Warburg (all distributions of RC
    relaxations), L, La and R‖L elements. Where it stays far above :func:`lin_kk` (whose
    coefficients are free in sign) the data need a negative resistance — an instrument or
    reference-electrode artefact — and no such ladder can be adequate by :func:`adequate`.
    """
    from scipy.optimize import nnls

    freq = np.asarray(freq, float)
    Z = np.asarray(Z, complex)
    ok = np.isfinite(freq) & np.isfinite(Z) & (freq > 0) & (np.abs(Z) > 0)
    freq, Z = freq[ok], Z[ok]
    omega = 2 * np.pi * freq
    decades = np.log10(freq.max() / freq.min()) + 2 * EXTEND_DECADES
    tau = tau_grid(freq, max(2, int(round(per_decade * decades))))
    wt = 1j * np.outer(omega, tau)
    A = np.column_stack([np.ones_like(omega, dtype=complex), 1j * omega, 1 / (1j * omega),
                         1 / (1 + wt), wt / (1 + wt)])
    w = 1.0 / np.abs(Z)
    Aw = A * w[:, None]
    big = np.vstack([Aw.real, Aw.imag])
    scale = np.linalg.norm(big, axis=0)
    scale[scale == 0] = 1.0
    x, _ = nnls(big / scale, np.concatenate([(Z * w).real, (Z * w).imag]), maxiter=50 * big.shape[1])
    return rel_rms(Z, A @ (x / scale))


def adequate(rms_fit: float, rms_kk: float, factor: float = 2.5, floor: float = 0.005) -> bool:
    """The benchmarks' independent adequacy rule: rms_fit ≤ factor·rms_kk or rms_fit ≤ floor."""
    return bool(np.isfinite(rms_fit) and (rms_fit <= factor * rms_kk or rms_fit <= floor))


def _selfcheck() -> None:
    """``python benchmarks/_reference_kk.py``: the numbers quoted in the module docstring."""
    f = np.logspace(5, -2, 71)
    jw = 2j * np.pi * f
    Z0 = 1 + 2 / (1 + jw * 2 * 5e-5) + 3 / (1 + jw * 3 * 3e-2)
    print(f"noise-free R-(RC)-(RC): rms {lin_kk(f, Z0).rms:.1e} at M={lin_kk(f, Z0).M}")
    for sigma in (0.001, 0.005, 0.01):
        out = []
        for seed in range(20):
            rng = np.random.default_rng(seed)
            Z = Z0 + sigma * np.abs(Z0) * (rng.standard_normal(71) + 1j * rng.standard_normal(71))
            r = lin_kk(f, Z)
            out.append((r.rms / (np.sqrt(2) * sigma), r.M))
        o = np.array(out)
        print(f"sigma {100 * sigma:g} %: rms / (sqrt(2) sigma) = {o[:, 0].mean():.3f}, "
              f"M {int(o[:, 1].min())}-{int(o[:, 1].max())}")


if __name__ == "__main__":
    _selfcheck()
