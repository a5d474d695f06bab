"""From a DRT to an adequate, confirmed model: :func:`propose`.

The DRT says roughly how many processes there are and where; it cannot separate
processes closer than its resolution (≈ 0.4 decades at 0.5 % noise), and a diffusion
element shows up in it as a train of peaks. :func:`propose` therefore turns the DRT
peaks into a small set of candidate ladders and lets a parametric fit decide:

* arc counts: the number of significant peaks, one less and one more (a peak split in
  two when it is broad, or the strongest sub-threshold peak added);
* arc types: all R‖C, all R‖CPE, and a mix chosen from the peak widths;
* diffusion: the slowest peak read as a finite-length Warburg (transmissive or
  reflective) instead of an arc, when the low-frequency end suggests one;

each candidate is fitted with :func:`eisfit.fitting`, started from the peak positions and
areas, and judged by the fit's verdict (residual within 2.5× that of a Kramers–Kronig
test circuit on the same data, overall and in every band).

**When no candidate is adequate the search widens**, guided by where the best candidate
misses: an inductive high-frequency end gets a series inductor ``L0``, then a modified
inductor ``La0`` (L·(jω)^α); a low-frequency end gets a tail — a CPE ``Q``, a
transmissive or reflective finite Warburg, or a semi-infinite Warburg; the rest gets one
more arc (at the worst band, or by splitting the broadest arc) or R‖CPE instead of
R‖C arcs. Each round starts from the best fit so far; the search stops at the first
adequate model or at ``max_elements`` arcs plus tail. If nothing is adequate,
``Proposal.adequate`` is False and ``message`` says how far the best candidate is.

Candidates are ranked adequate first, then by BIC (AIC and a residual-whiteness statistic
are reported too); BIC weights ``exp(−ΔBIC/2)`` give the relative support of each.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .circuit import parse
from .circuit.arcs import arc_tau, arcs
from .data.spectrum import Spectrum
from .errors import EisfitError, EisfitWarning, FitError
from .fitting import fit as _fit
from .relaxation.inversion import drt as _drt
from .relaxation.peaks import Peak
from .relaxation.result import DRTResult
from .results import FrozenDict

__all__ = ["Proposal", "propose", "zarc_n_from_width"]

_LN10 = np.log(10.0)
#: Rounds of widening after the DRT candidates, and candidates expanded per round.
MAX_ROUNDS = 4
BEAM = 2
#: Tails tried at an unexplained low-frequency end.
TAILS = ("Q", "Ws", "Wo", "W")


def zarc_n_from_width(width_dec: float) -> float:
    """CPE exponent n of a ZARC whose DRT has the given FWHM (decades of τ).

    From γ ∝ 1/(cosh(n u) + cos nπ): half maximum at ``cosh(n u) = 2 + cos nπ``.
    Returns a value in [0.5, 1].
    """
    ns = np.linspace(0.5, 0.999, 200)
    widths = 2 * np.arccosh(2 + np.cos(ns * np.pi)) / ns / _LN10
    # widths decrease with n
    return float(np.interp(width_dec, widths[::-1], ns[::-1], left=1.0, right=0.5))


@dataclass(frozen=True)
class _Arc:
    kind: str  # "RC" or "RQ"
    tau: float
    R: float
    n: float = 1.0


@dataclass(frozen=True)
class _Spec:
    """A candidate ladder: [hf] - R0 - arcs - [tail], with starting values."""

    arcs: tuple[_Arc, ...]
    diffusion: str | None = None  # tail: "Ws", "Wo" (R, tau), "W" (σ), "Q" (Q, n)
    diff_R: float = 0.0
    diff_T: float = 0.0
    hf: str | None = None  # "L" or "La"
    L: float = 0.0
    alpha: float = 1.0
    R0: float | None = None

    @property
    def label(self) -> str:
        parts = ([self.hf] if self.hf else []) + [a.kind for a in self.arcs]
        if self.diffusion:
            parts.append(self.diffusion)
        return "-".join(parts) if parts else "R"

    @property
    def n_elements(self) -> int:
        return len(self.arcs) + (1 if self.diffusion else 0)


@dataclass(frozen=True, eq=False)
class Proposal:
    """The answer to "which model, how many elements?".

    Attributes
    ----------
    circuit : Circuit
        The chosen circuit: the adequate candidate with the lowest BIC (the lowest BIC
        overall if none is adequate).
    fit : FitResult
        Its fit.
    adequate : bool
        True when the chosen fit describes the data (``fit.success``: residuals within
        2.5× those of a Kramers–Kronig test circuit on the same data, overall and in every
        band, or below 0.5 % of |Z|).
    message : str
        How the search ended, and how far the best candidate is when none is adequate.
    n_arcs : int
        Number of RC/RQ arcs in ``circuit`` (tails and inductors are not counted).
    diffusion : str or None
        Tail element of the chosen circuit (``"Ws"``, ``"Wo"``, ``"W"`` or a CPE ``"Q"``).
    candidates : pandas.DataFrame
        One row per candidate, adequate first, then by BIC: label, circuit, n_arcs,
        diffusion, n_params, chi2, aic, bic (the fitter's, with χ² floored at a relative
        residual of 1e-5 so that noise-free data do not reward fitting round-off),
        delta_bic, weight (BIC weight), whiteness (lag-1 autocorrelation z-score of the
        residuals, ≈ N(0,1) for white residuals), noise_ratio, success, round (0: from the
        DRT; k: k-th widening).
    fits : tuple of FitResult
        Fits of all candidates, in the order of ``candidates``.
    drt : DRTResult
        The DRT the candidates were built from.
    """

    circuit: Any
    fit: Any
    adequate: bool
    message: str
    n_arcs: int
    diffusion: str | None
    _table: Any = field(repr=False)
    fits: tuple = field(repr=False)
    drt: DRTResult = field(repr=False)

    @property
    def candidates(self):
        """The candidate table (a fresh copy: the proposal itself cannot change)."""
        return self._table.copy()

    @property
    def weights(self) -> dict[str, float]:
        """Candidate label → BIC weight (read-only)."""
        return FrozenDict(zip(self._table["label"], self._table["weight"]))

    def __repr__(self) -> str:
        state = "adequate" if self.adequate else "NOT adequate"
        return f"Proposal({self.circuit}, n_arcs={self.n_arcs}, {state})"

    def _repr_html_(self) -> str:
        import html

        return (f"<p>{html.escape(repr(self))}: {html.escape(self.message)}</p>"
                + self.candidates.drop(columns=["circuit"]).to_html(index=False))


# -- candidate construction ------------------------------------------------------------
def _arc_from_peak(p: Peak, kind: str, w_min: float) -> _Arc:
    if kind == "RC":
        return _Arc("RC", p.tau, max(p.R, 1e-12))
    w_eff = float(np.sqrt(max(p.width**2 - w_min**2, 0.0)))
    n = min(max(zarc_n_from_width(w_eff), 0.6), 0.97)
    return _Arc("RQ", p.tau, max(p.R, 1e-12), n)


def _split(p: Peak) -> tuple[Peak, Peak]:
    d = max(p.width / 4, 0.15)
    from dataclasses import replace

    a = replace(p, tau=p.tau * 10 ** (-d), R=p.R / 2, width=p.width / 2)
    b = replace(p, tau=p.tau * 10 ** (d), R=p.R / 2, width=p.width / 2)
    return a, b


def _peak_sets(
    peaks: list[Peak], extra: list[Peak], max_arcs: int, R_pol: float
) -> list[tuple[int, list[Peak]]]:
    """Peak lists for arc counts n0-1, n0 and n0+1 (the latter in up to two variants:
    the broadest peak split in two, and the strongest sub-threshold peak added)."""
    n0 = len(peaks)
    sets: list[tuple[int, list[Peak]]] = []
    if n0 == 0:
        return sets
    sets.append((n0, list(peaks)))
    if n0 > 1:
        drop = min(range(n0), key=lambda i: peaks[i].R)
        sets.append((n0 - 1, [p for i, p in enumerate(peaks) if i != drop]))
    if n0 + 1 <= max_arcs:
        i = max(range(n0), key=lambda i: peaks[i].width)
        a, b = _split(peaks[i])
        sets.append((n0 + 1, sorted(peaks[:i] + [a, b] + peaks[i + 1 :], key=lambda p: p.tau)))
        big = [p for p in extra if p.R > 0.01 * R_pol]
        if big:
            add = max(big, key=lambda p: p.significance)
            sets.append((n0 + 1, sorted(list(peaks) + [add], key=lambda p: p.tau)))
    return [(k, v) for k, v in sets if 1 <= k <= max_arcs]


def _diffusion_hint(res: DRTResult, peaks: list[Peak]) -> bool:
    """Does the low-frequency end look like diffusion rather than a closed arc?"""
    f, Z = res.freq, res.Z
    i = np.argsort(f)[:3]
    # the impedance still rises steeply (phase below -20°) at the lowest frequencies …
    phase = np.degrees(np.angle(Z[i]))
    steep = bool(np.median(phase) < -20)
    # … or the slowest peak has a train of faster satellites (τ/9, τ/25 of a Warburg),
    # or mass on the grid extension beyond the lowest frequency
    all_p = res.all_peaks()
    slow = max(peaks, key=lambda p: p.tau) if peaks else None
    train = False
    if slow is not None:
        for q in all_p:
            ratio = slow.tau / q.tau
            if 4 < ratio < 20 and 0.02 < q.R / slow.R < 0.35:
                train = True
    edge = any(p.edge and p.tau > res.window[1] and p.R > 0.02 * res.R_pol for p in all_p)
    return steep or train or edge


def _lf_tail(res: DRTResult) -> tuple[float, float] | None:
    """``(R, T)`` starting values for a diffusion element beyond the slowest measured
    point, if the DRT has mass on its low-frequency grid extension or the impedance is
    still steeply capacitive at the lowest frequencies; else None."""
    lo_f = float(res.freq.min())
    T = 1 / (2 * np.pi * lo_f)
    edge_R = float(res.h * np.sum(res.gamma[res.tau > res.window[1]]))
    i = np.argsort(res.freq)[:3]
    steep = bool(np.median(np.degrees(np.angle(res.Z[i]))) < -30)
    if edge_R > 0.02 * max(res.R_pol, 1e-300) or steep:
        R = max(edge_R, 0.1 * res.R_pol, 1e-9)
        return R, T
    return None


def _warburg_train(ps: list[Peak]) -> list[Peak]:
    """The slowest peak and the faster, smaller peaks that look like its higher modes
    (within two decades, each at most half the area of the slowest), slowest first."""
    if not ps:
        return []
    slow = ps[-1]
    train = [slow]
    for q in reversed(ps[:-1]):
        if slow.tau / q.tau <= 100 and q.R <= 0.5 * slow.R:
            train.append(q)
        else:
            break
    return train


def _circuit_text(spec: _Spec) -> str:
    parts = ([f"{spec.hf}0"] if spec.hf else []) + ["R0"]
    for i, a in enumerate(spec.arcs, start=1):
        parts.append(f"(R{i} | C{i})" if a.kind == "RC" else f"(R{i} | Q{i})")
    if spec.diffusion:
        parts.append(f"{spec.diffusion}{len(spec.arcs) + 1}")
    return " - ".join(parts)


def _init(spec: _Spec, R_inf: float) -> dict[str, float]:
    v: dict[str, float] = {"R0": max(spec.R0 if spec.R0 is not None else R_inf, 1e-9)}
    if spec.hf == "L":
        v["L0"] = max(spec.L, 1e-12)
    elif spec.hf == "La":
        v["La0_L"] = max(spec.L, 1e-12)
        v["La0_alpha"] = min(max(spec.alpha, 0.05), 1.0)
    for i, a in enumerate(spec.arcs, start=1):
        v[f"R{i}"] = a.R
        if a.kind == "RC":
            v[f"C{i}"] = a.tau / a.R
        else:
            v[f"Q{i}_Q"] = a.tau**a.n / a.R
            v[f"Q{i}_n"] = a.n
    k = len(spec.arcs) + 1
    if spec.diffusion in ("Ws", "Wo"):
        v[f"{spec.diffusion}{k}_R"] = spec.diff_R
        v[f"{spec.diffusion}{k}_tau"] = spec.diff_T
    elif spec.diffusion == "W":
        v[f"W{k}"] = spec.diff_R
    elif spec.diffusion == "Q":
        v[f"Q{k}_Q"] = spec.diff_R
        v[f"Q{k}_n"] = spec.diff_T
    return v


#: Relative residual below which a fit counts as exact when candidates are ranked.
CHI2_FLOOR_REL = 1e-5


def _chi2_floor(Z: np.ndarray, weight) -> float:
    """χ²/point of a fit whose residuals are ``CHI2_FLOOR_REL`` of the data."""
    from .linear.weights import residual_weights

    w_re, w_im, _ = residual_weights(Z, weight)
    mean_sq = 0.5 * float(np.mean((w_re * Z.real) ** 2 + (w_im * Z.imag) ** 2))
    return CHI2_FLOOR_REL**2 * mean_sq


def _criterion(fr, floor: float, penalty: float) -> float:
    """AIC (penalty 2) or BIC (penalty ln m) as in the fitter, with χ²/m floored.

    On noise-free synthetic data χ² falls to round-off, and extra parameters fitting
    round-off would otherwise win; above the floor this equals ``fr.aic``/``fr.bic``.
    """
    m = fr.n_residuals
    return float(m * np.log(max(fr.chi2 / m, floor)) + fr.n_params * penalty)


def _whiteness(res) -> float:
    """Lag-1 autocorrelation z-score of the residuals (real and imaginary parts pooled)."""
    r = np.asarray(res)
    zs = []
    for part in (r.real, r.imag):
        x = part - part.mean()
        d = float(x @ x)
        if d > 0 and x.size > 2:
            zs.append(float(x[1:] @ x[:-1]) / d * np.sqrt(x.size))
    return float(np.mean(zs)) if zs else float("nan")


def _specs(res: DRTResult, max_elements: int, diffusion: str) -> list[_Spec]:
    peaks = list(res.peaks(confirm=False))  # the candidates are compared parametrically here
    extra = [p for p in res.all_peaks() if 1.0 <= p.significance < 3.0 and not p.edge]
    if not peaks:
        sig = [p for p in res.all_peaks() if not p.edge] or list(res.all_peaks())
        if not sig:
            raise FitError("the DRT has no peak: nothing to propose")
        peaks = [max(sig, key=lambda p: p.R)]
    if len(peaks) > max_elements:  # keep the largest processes
        peaks = sorted(sorted(peaks, key=lambda p: p.R)[-max_elements:], key=lambda p: p.tau)
    all_w = [p.width for p in res.all_peaks()]
    w_min = min(all_w) if all_w else 0.0
    sets = _peak_sets(peaks, extra, max_elements, res.R_pol)
    specs: list[_Spec] = []
    seen: set = set()

    def add(spec: _Spec):
        if not spec.arcs and not spec.diffusion:
            return
        if len(spec.arcs) + (1 if spec.diffusion else 0) > max_elements:
            return
        key = tuple((a.kind, round(float(np.log10(a.tau)), 1)) for a in spec.arcs) + (
            spec.diffusion,
        )
        if key not in seen:
            seen.add(key)
            specs.append(spec)

    for k, ps in sets:
        add(_Spec(tuple(_arc_from_peak(p, "RQ", w_min) for p in ps)))
        add(_Spec(tuple(_arc_from_peak(p, "RC", w_min) for p in ps)))
        mixed = tuple(
            _arc_from_peak(p, "RC" if p.width <= 1.5 * w_min + 0.05 else "RQ", w_min) for p in ps
        )
        add(_Spec(mixed))
    want_diff = diffusion in ("Ws", "Wo", "both") or (
        diffusion == "auto" and _diffusion_hint(res, peaks)
    )
    if want_diff:
        kinds = ("Ws", "Wo") if diffusion in ("auto", "both") else (diffusion,)
        ps = sorted(peaks, key=lambda p: p.tau)
        train = _warburg_train(ps)
        rest = [p for p in ps if p not in train]
        # the slowest peak and its train of faster, smaller modes → one diffusion element;
        # also the slowest peak alone, the rest of the train kept as arcs
        variants = [(rest, train)]
        if len(train) > 1:
            variants.append((ps[:-1], [ps[-1]]))
        # diffusion beyond the slowest peak (a low-frequency tail, e.g. a reflective
        # Warburg's capacitive branch): all peaks stay arcs, the element is added
        lf_tail = _lf_tail(res)
        if lf_tail is not None:
            R_t, T_t = lf_tail
            for kind in kinds:
                add(_Spec(tuple(_arc_from_peak(p, "RQ", w_min) for p in ps), kind, R_t, T_t))
        for arcs, tr in variants:
            slow = tr[0]
            R_train = sum(p.R for p in tr)
            for kind in kinds:
                if kind == "Ws":  # modes 8R/((2k-1)²π²) at 4T/((2k-1)²π²): Σ = R
                    R, T = R_train, slow.tau * np.pi**2 / 4
                else:  # modes 2R/(k²π²) at T/(k²π²) (plus a series C)
                    R, T = slow.R * np.pi**2 / 2, slow.tau * np.pi**2
                add(_Spec(tuple(_arc_from_peak(p, "RQ", w_min) for p in arcs), kind, R, T))
    return specs


# -- widening: where the best candidate misses, add what belongs there -----------------
def _spec_from_fit(spec: _Spec, fr) -> _Spec:
    """``spec`` with the fitted values as starting values (warm start for children)."""
    v = fr.values
    c = fr.circuit
    new_arcs = []
    for a, node in zip(spec.arcs, arcs(c)):
        R = next(v[e.name] for e in node.elements if e.kind == "R")
        n = next((v[e.name + "_n"] for e in node.elements if e.kind == "Q"), 1.0)
        tau = arc_tau(node, v)
        if np.isfinite(tau) and R > 0:
            new_arcs.append(replace(a, tau=tau, R=R, n=n))
        else:
            new_arcs.append(a)
    out = replace(spec, arcs=tuple(new_arcs), R0=v.get("R0"))
    k = len(spec.arcs) + 1
    if spec.diffusion in ("Ws", "Wo"):
        out = replace(out, diff_R=v[f"{spec.diffusion}{k}_R"], diff_T=v[f"{spec.diffusion}{k}_tau"])
    elif spec.diffusion == "W":
        out = replace(out, diff_R=v[f"W{k}"])
    elif spec.diffusion == "Q":
        out = replace(out, diff_R=v[f"Q{k}_Q"], diff_T=v[f"Q{k}_n"])
    if spec.hf == "L":
        out = replace(out, L=v["L0"])
    elif spec.hf == "La":
        out = replace(out, L=v["La0_L"], alpha=v["La0_alpha"])
    return out


def _tail_guess(kind: str, f: np.ndarray, Z: np.ndarray) -> tuple[float, float]:
    """Starting values of a low-frequency tail from the lowest frequencies."""
    i = np.argsort(f)[:3]
    w = 2 * np.pi * f[i]
    mim = np.maximum(-Z.imag[i], 1e-6 * np.abs(Z[i]))
    slope = -np.polyfit(np.log(w), np.log(mim), 1)[0] if i.size > 1 else 0.8
    n = float(np.clip(slope, 0.3, 1.0))
    if kind == "Q":
        return float(1.0 / (mim[0] * w[0] ** n * np.sin(n * np.pi / 2))), n
    if kind == "W":
        return float(mim[0] * np.sqrt(w[0])), 0.0
    T = float(1.0 / w[0])
    return float(max(mim[0], 1e-9)), T


def _children(spec: _Spec, fr, max_elements: int) -> list[_Spec]:
    """Widened candidates, from where the fit ``fr`` of ``spec`` misses the data."""
    f, Z = fr.freq, fr.Z
    base = _spec_from_fit(spec, fr)
    res = np.abs(fr.residuals)
    n = f.size
    k = max(3, n // 8)
    hf_bad = bool(np.mean(res[-k:] ** 2) > 2 * np.mean(res**2)) or Z.imag[-1] > 0
    lf_bad = bool(np.mean(res[:k] ** 2) > 2 * np.mean(res**2))
    out: list[_Spec] = []
    # the inductive high-frequency end
    if spec.hf is None and (hf_bad or Z.imag[-1] > 0):
        L0 = max(float(Z.imag[-1]) / (2 * np.pi * f[-1]), 1e-12)
        out.append(replace(base, hf="L", L=L0))
    elif spec.hf == "L" and hf_bad:
        out.append(replace(base, hf="La", L=base.L, alpha=1.0))
    room = base.n_elements < max_elements
    # a low-frequency tail
    if room and spec.diffusion is None:
        for kind in TAILS:
            R_t, T_t = _tail_guess(kind, f, Z)
            out.append(replace(base, diffusion=kind, diff_R=R_t, diff_T=T_t))
    elif spec.diffusion is not None and lf_bad:
        for kind in TAILS:
            if kind != spec.diffusion:
                R_t, T_t = _tail_guess(kind, f, Z)
                out.append(replace(base, diffusion=kind, diff_R=R_t, diff_T=T_t))
    # one more arc: at the worst band, or by splitting the broadest arc
    if room:
        smooth = np.convolve(res, np.ones(3) / 3, mode="same")
        j = int(np.argmax(smooth))
        tau_new = 1 / (2 * np.pi * f[j])
        R_new = max(float(smooth[j] * np.abs(Z[j])) * 2, 1e-9)
        added = tuple(sorted(base.arcs + (_Arc("RQ", tau_new, R_new, 0.8),), key=lambda a: a.tau))
        out.append(replace(base, arcs=added))
        if base.arcs:
            i = max(range(len(base.arcs)), key=lambda i: base.arcs[i].R)
            a = base.arcs[i]
            halves = (replace(a, tau=a.tau / 3, R=a.R / 2), replace(a, tau=a.tau * 3, R=a.R / 2))
            out.append(replace(base, arcs=base.arcs[:i] + halves + base.arcs[i + 1:]))
    # R‖CPE instead of R‖C
    if any(a.kind == "RC" for a in base.arcs):
        out.append(replace(base, arcs=tuple(replace(a, kind="RQ", n=0.9) for a in base.arcs)))
    return out


# -- entry point -----------------------------------------------------------------------
def propose(
    spectrum: Spectrum,
    max_elements: int = 6,
    *,
    weight: str = "modulus",
    diffusion: str = "auto",
    inductance: bool | None = None,
    drt_result: DRTResult | None = None,
    multistart: int = 1,
    max_nfev: int = 200,
    **drt_kwargs: Any,
) -> Proposal:
    """Propose an equivalent circuit that describes the spectrum: how many arcs, which types,
    which tail and high-frequency elements.

    Parameters
    ----------
    spectrum : Spectrum
        The data (only the points in use).
    max_elements : int
        Largest number of elements (arcs plus tail) in a candidate.
    weight : str
        Residual weighting for the DRT and the fits.
    diffusion : {"auto", "Ws", "Wo", "both", "none"}
        Diffusion candidates built from the DRT: ``"auto"`` adds transmissive and
        reflective finite Warburgs when the low-frequency end suggests diffusion;
        ``"none"`` also keeps the widening from adding tails.
    inductance : bool, optional
        Start with a series inductance ``L0``; default: when the DRT finds one that
        matters at the highest frequency (the widening adds ``L0``/``La0`` if the
        high-frequency end is missed, unless ``inductance=False``).
    drt_result : DRTResult, optional
        A DRT already computed for ``spectrum`` (otherwise computed here).
    multistart : int
        Passed to :func:`eisfit.fitting` (starting points tried for a poor first fit; the
        candidates already start from the DRT or from their parent's fit).
    max_nfev : int
        Iteration limit of each candidate fit.
    **drt_kwargs
        Passed to :func:`eisfit.relaxation` (e.g. ``fmax=6e3``, ``capacitive_only=True``).

    Returns
    -------
    Proposal

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> f = np.logspace(5, -2, 71); w = 2 * np.pi * f
    >>> Z = 5 + 20 / (1 + 1j * w * 1e-4) + 30 / (1 + (1j * w * 1e-1) ** 0.8)
    >>> e = np.random.default_rng(1).standard_normal((2, 71))
    >>> p = ef.propose(ef.Spectrum(f, Z + 0.005 * abs(Z) * (e[0] + 1j * e[1])))
    >>> p.adequate, p.n_arcs, p.candidates["label"].iloc[0]
    (True, 2, 'RC-RQ')
    """
    import pandas as pd

    if diffusion not in ("auto", "Ws", "Wo", "both", "none"):
        raise FitError(f"diffusion must be 'auto', 'Ws', 'Wo', 'both' or 'none', got {diffusion!r}")
    if max_elements < 1:
        raise FitError("max_elements must be at least 1")
    res = drt_result if drt_result is not None else _drt(spectrum, weight=weight, **drt_kwargs)
    auto_l = inductance is None
    if auto_l:
        wmax = 2 * np.pi * float(res.freq.max())
        inductance = bool(res.L * wmax > 0.01 * float(np.min(np.abs(res.Z))))
    hf = "L" if inductance else None
    specs = [replace(s, hf=hf, L=res.L) for s in _specs(res, max_elements, diffusion)]
    # fit on the same points the DRT used
    data = Spectrum(res.freq, res.Z, meta=dict(spectrum.meta))
    floor = _chi2_floor(res.Z, weight)
    tried: dict[str, int] = {}
    rows: list[dict] = []
    fits: list = []
    used: list[_Spec] = []

    def try_spec(spec: _Spec, round_: int) -> int | None:
        text = _circuit_text(spec)
        if text in tried:
            return None
        circuit = parse(text)
        # poor candidates are expected: their warnings and float overflows are noise here
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", EisfitWarning)
            try:
                fr = _fit(circuit, data, init=_init(spec, res.R_inf), weight=weight,
                          multistart=multistart, max_nfev=max_nfev)
            except (EisfitError, np.linalg.LinAlgError, FloatingPointError) as exc:
                warnings.warn(f"candidate {text!r} could not be fitted: {exc}", EisfitWarning, 3)
                tried[text] = None
                return None
        tried[text] = len(fits)
        fits.append(fr)
        used.append(spec)
        rows.append(
            {
                "label": spec.label,
                "circuit": str(circuit),
                "n_arcs": len(spec.arcs),
                "diffusion": spec.diffusion or "",
                "n_params": fr.n_params,
                "chi2": fr.chi2,
                "aic": _criterion(fr, floor, 2.0),
                "bic": _criterion(fr, floor, float(np.log(fr.n_residuals))),
                "whiteness": _whiteness(fr.residuals),
                "noise_ratio": fr.noise_ratio,
                "success": fr.success,
                "round": round_,
            }
        )
        return tried[text]

    done_ok: set[str] = set()
    for spec in specs:
        if spec.label in done_ok:
            # a second starting point for a structure that already fitted well adds cost,
            # not information
            continue
        i = try_spec(spec, 0)
        if i is not None and fits[i].success:
            done_ok.add(spec.label)
    if not rows:
        raise FitError("no candidate circuit could be fitted")
    widened = 0
    if not any(r["success"] for r in rows):
        allowed_hf = auto_l or inductance  # inductance=False keeps inductors out
        expanded: set[int] = set()
        for round_ in range(1, MAX_ROUNDS + 1):
            # expand the BEAM best candidates not expanded yet (a greedy path alone gets
            # stuck when the next element only pays off together with another)
            ranked = sorted((i for i in range(len(rows)) if i not in expanded),
                            key=lambda i: rows[i]["bic"])[:BEAM]
            new = []
            for i in ranked:
                expanded.add(i)
                kids = [k for k in _children(used[i], fits[i], max_elements)
                        if (allowed_hf or k.hf is None)
                        and (diffusion != "none" or k.diffusion is None)]
                new += [j for j in (try_spec(k, round_) for k in kids) if j is not None]
            widened = round_
            if not new or any(fits[j].success for j in new):
                break
    rows_ok = [r["success"] for r in rows]
    table = pd.DataFrame(rows)
    bic = table["bic"].to_numpy(float)
    finite = np.isfinite(bic)
    d = np.where(finite, bic - np.nanmin(np.where(finite, bic, np.nan)), np.inf)
    wts = np.exp(-0.5 * d)
    table["delta_bic"] = d
    table["weight"] = wts / wts.sum()
    order = np.lexsort((d, ~np.asarray(rows_ok)))  # adequate first, then by BIC
    table = table.iloc[order].reset_index(drop=True)
    fits = [fits[i] for i in order]
    best, best_spec = fits[0], used[int(order[0])]
    adequate = bool(best.success)
    n_tried = len(table)
    if adequate:
        how = "from the DRT" if not widened else f"after {widened} widening round(s)"
        message = f"{best.circuit} describes the data ({how}; {n_tried} candidates fitted)"
    else:
        message = (
            f"no candidate with up to {max_elements} elements describes the data "
            f"({n_tried} fitted, {widened} widening rounds); the best, {best.circuit}, "
            f"leaves residuals {best.noise_ratio:.1f}× those of a Kramers–Kronig test "
            f"circuit: {best.message}"
        )
    return Proposal(
        circuit=best.circuit,
        fit=best,
        adequate=adequate,
        message=message,
        n_arcs=len(best_spec.arcs),
        diffusion=best_spec.diffusion,
        _table=table,
        fits=tuple(fits),
        drt=res,
    )
