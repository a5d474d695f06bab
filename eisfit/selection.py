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
areas (and, while no candidate is adequate, a candidate that fits worse than a smaller one
also from the fitter's own automatic start, the better fit kept: a start from the DRT can
leave an extra arc unused in a local minimum), and judged by the fit's verdict (residual
within 2.5× that of a Kramers–Kronig test circuit on the same data, overall and in every
band).

**When no candidate is adequate the search widens**, guided by where the best candidate
misses: an inductive high-frequency end gets a series inductor ``L0``, then a modified
inductor ``La0`` (L·(jω)^α); a low-frequency end gets a tail — a CPE ``Q``, a
transmissive or reflective finite Warburg, or a semi-infinite Warburg; the rest gets one
more arc (at the worst band, or by splitting the broadest arc) or R‖CPE instead of
R‖C arcs. Each round starts from the best fit so far; the search stops at the first
adequate model or at ``max_elements`` arcs plus tail. If nothing is adequate,
``Proposal.adequate`` is False and ``message`` says how far the best candidate is, and
whether any passive circuit could do better: ``Proposal.passive_rms`` is the residual of the
best non-negative sum of RC and RL relaxations (the limit of every ladder built here); when
even that is inadequate the data need a negative resistance, and the message names the band.

Candidates are ranked adequate first, then by BIC (AIC and a residual-whiteness statistic
are reported too); BIC weights ``exp(−ΔBIC/2)`` give the relative support of each.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .candidates import _children, _circuit_text, _init, _Spec, _specs, zarc_n_from_width
from .circuit import parse
from .data.spectrum import Spectrum
from .errors import EisfitError, EisfitWarning, FitError
from .fitting import fit as _fit
from .fitting.verdict import BAND_POINTS, NOISE_FLOOR, NOISE_RATIO_LIMIT
from .linear import series_columns, voigt_columns, voigt_tau
from .linear.solve import nnls_lsq
from .relaxation.inversion import drt as _drt
from .relaxation.result import DRTResult
from .results import FrozenDict

__all__ = ["Proposal", "propose", "zarc_n_from_width"]

#: Rounds of widening after the DRT candidates, and candidates expanded per round.
MAX_ROUNDS = 4
BEAM = 2


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
        How the search ended, and how far the best candidate is when none is adequate
        (and whether any passive circuit could do better: see ``passive_rms``).
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
    passive_rms : float or None
        When no candidate is adequate: the relative RMS residual of the best *passive*
        relaxation model of the same points (a non-negative sum of RC and RL relaxations
        plus R∞, L and 1/C, by NNLS). That is the limit of every ladder of R, C, CPE,
        Warburg, L, La and R‖L elements; when it is itself inadequate, the data need a
        negative resistance (an instrument or reference-electrode artefact) and the
        message says so and where. None when a candidate is adequate.
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
    passive_rms: float | None = None

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


#: Relaxation times per decade of the passive reference (:func:`_passive_limit`).
PASSIVE_PER_DECADE = 8


def _passive_limit(freq: np.ndarray, Z: np.ndarray) -> tuple[float, float, float]:
    """The best passive relaxation model of ``(freq, Z)``: its relative RMS residual and
    the band (f_lo, f_hi) of :data:`BAND_POINTS` points where it misses most.

    Z_p = R∞ + jωL + 1/(jωC) + Σ R_k/(1 + jωτ_k) + Σ G_k·jωτ_k/(1 + jωτ_k), every
    coefficient ≥ 0, τ_k a third of a decade beyond the measured band on both sides: the
    Foster form of any R–C network in series with any R–L network, hence the limit of
    every ladder :func:`propose` can build (a CPE or a Warburg is a positive distribution
    of RC relaxations, La of RL ones). Lin-KK's coefficients are free in sign; where it
    describes the data and this does not, the data need a negative resistance.
    """
    decades = float(np.log10(freq.max() / freq.min())) + 2 / 3
    tau = voigt_tau(freq, max(2, round(PASSIVE_PER_DECADE * decades)), extend=1 / 3)
    series = series_columns(freq, capacitance=True)
    K = np.column_stack([series.K, voigt_columns(freq, tau), voigt_columns(freq, tau, True)])
    w = 1.0 / np.abs(Z)
    A = np.vstack([(K * w[:, None]).real, (K * w[:, None]).imag])
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    x = nnls_lsq(A / scale, np.concatenate([(Z * w).real, (Z * w).imag])) / scale
    e2 = np.abs((Z - K @ x) * w) ** 2
    k = min(BAND_POINTS, e2.size)
    c = np.concatenate(([0.0], np.cumsum(e2)))
    i = int(np.argmax(c[k:] - c[:-k]))
    band = freq[i:i + k]
    return float(np.sqrt(np.mean(e2))), float(band.min()), float(band.max())


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
                if not fr.success and not any(r["success"] for r in rows) and any(
                        g.n_params < fr.n_params and g.chi2 < fr.chi2 for g in fits):
                    # worse than a smaller candidate: the start from the DRT's (or the
                    # parent's) values left it in a local minimum, so it is judged by the
                    # better of that start and the fitter's own automatic one
                    auto = _fit(circuit, data, weight=weight, multistart=multistart,
                                max_nfev=max_nfev)
                    if auto.chi2 < fr.chi2:
                        fr = auto
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
    passive = None
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
        passive, lo, hi = _passive_limit(res.freq, res.Z)
        if passive > max(NOISE_RATIO_LIMIT * best.reference_rms, NOISE_FLOOR):
            message += (
                f". No passive circuit can describe these data either: the best non-negative "
                f"sum of RC and RL relaxations leaves {passive:.2%} "
                f"(the reference {best.reference_rms:.2%}), most at "
                f"{lo:.3g}–{hi:.3g} Hz, while the reference, whose resistances are free in "
                "sign, describes them: the data need a negative resistance there, the mark of "
                "an instrument or reference-electrode artefact or of a cell that changed "
                "during the sweep (check those points, or mask them)"
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
        passive_rms=passive,
    )
