"""``fit_sequence``: one joint fit of a sequence of spectra (cycles, states of charge, times).

Fitted one at a time, spectra of a sequence forget what their neighbours know: CPE
exponents, the series resistance and the inductance barely change, and two close arcs
trade resistance from one spectrum to the next. :func:`fit_sequence` fits the sequence as
one least-squares problem:

- parameters named in ``shared`` take one value for the whole sequence;
- the others may change from spectrum to spectrum, but a smoothness penalty on their
  second differences along the sequence coordinate (in the optimiser's coordinates:
  ``ln θ`` for positive parameters) ties neighbours together. Its strength λ (one for
  all parameters) is chosen by maximising the evidence (the Laplace-approximated
  marginal likelihood) with a continuation and Fellner–Schall / MacKay updates, or given;
- the arcs keep their *identity* by continuity along the sequence, never by time-constant
  rank: the starting values come from warm-started :func:`eisfit.fit` calls relabelled to
  follow the trend of the previous spectra, and the joint fit never reorders.

See :mod:`eisfit.fitting.joint` for the objective and the solver and
:mod:`eisfit.fitting.arrowhead` for the sparse linear algebra.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..circuit import Circuit, Preset
from ..errors import EisfitWarning, FitError
from ..linear.weights import residual_weights
from .fitter import _as_circuit, _as_data, _build_result
from .verdict import reference
from .joint import (
    JointProblem,
    levenberg_marquardt_joint,
    penalty_apply,
    posterior,
    second_difference,
    spectrum_blocks,
    spectrum_edf,
)
from .params import ParamSetup, setup_parameters
from .result import FitResult
from .sequence_result import SequenceResult
from .sequence_starts import chain_indices, robust_lines, warm_chain

__all__ = ["fit_sequence", "SequenceResult", "default_shared"]

#: Fellner–Schall updates of the smoothness strengths before giving up on convergence.
MAX_SMOOTH_UPDATES = 40
#: The evidence iteration has settled when the effective number of parameters beyond
#: straight lines (Σⱼ γⱼ, γⱼ = rank D − λ tr(Σ Pⱼ)) changes by less than this between updates.
SMOOTH_GAMMA_TOL = 0.1
#: λ is kept within this factor (either way) of the data information on the parameters.
SMOOTH_RANGE = 1e9
#: A variance inflation Σᵢᵢ·Mᵢᵢ above this marks a parameter that neither the data nor the
#: penalty determine.
UNDETERMINED_INFLATION = 1e12
#: Passes of "solve, then re-estimate every spectrum's noise level σₖ² = χ²ₖ/(mₖ − edfₖ)".
MAX_REWEIGHT = 3
#: The noise levels have settled when none changes by more than this (relative, in σ).
NOISE_RTOL = 0.02


def default_shared(circuit: Circuit | str | Preset) -> tuple[str, ...]:
    """Parameters a sequence of one cell shares by default: those of its inductive
    elements (``L``, and ``La`` with its exponent).

    An inductance describes the cell's leads and winding, which do not age with the
    cell. Everything else stays per spectrum and is smoothed along the sequence with a
    strength the evidence chooses, the CPE exponents included: a dispersion's shape does
    change as a cell ages (in the bundled example, cell 25C05, the exponent of the
    charge-transfer arc goes from about 0.65 to 1.0 over 275 cycles), and sharing it
    there moves the resistance into the neighbouring arcs. Where an exponent is constant,
    the smoothing makes it so; pass it in ``shared`` to impose it.

    >>> default_shared("L0 - R0 - (R1 | Q1) - Ws2")
    ('L0',)
    """
    circuit, _ = _as_circuit(circuit)
    specs = circuit.param_specs
    return tuple(n for e in circuit.elements
                 if any(specs[p].unit.startswith("H") for p in e.param_names)
                 for n in e.param_names)


class _Converged:
    """What :func:`~eisfit.fitting.fitter._build_result` needs to know of the optimiser."""

    def __init__(self, converged: bool, message: str):
        self.converged, self.message = converged, message


def fit_sequence(
    circuit: Circuit | str | Preset,
    spectra: Iterable[Any],
    *,
    shared: Iterable[str] = (),
    smooth: str | float | Mapping[str, float] | None = "auto",
    coordinate: Any = None,
    init: Any = None,
    weight: str | Sequence[np.ndarray] = "modulus",
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | Iterable[str] | None = None,
    tie: Mapping[str, str] | None = None,
    max_iter: int = 200,
) -> SequenceResult:
    """Fit one circuit to a sequence of spectra jointly.

    Parameters
    ----------
    circuit : Circuit, str or Preset
        The model, as for :func:`eisfit.fit`.
    spectra : iterable of Spectrum or (freq, Z)
        The sequence, in order (each spectrum may have its own frequency grid).
    shared : iterable of str
        Free parameters that take one value for the whole sequence (e.g. CPE exponents,
        the series resistance, an inductance).
    smooth : "auto", float, mapping or None
        Strength λ of the penalty ``λ Σⱼ ‖D xⱼ‖²`` on the second differences ``D`` of every
        other free parameter along the sequence coordinate (``xⱼ = ln θⱼ`` for positive
        parameters, ``θⱼ`` for exponents). The data term is measured in units of each
        spectrum's noise level and the coordinate in units of its mean spacing, so λ is
        the inverse variance of a parameter's second difference per step: ``1e4`` lets
        ``ln R`` bend by about 1 % per step. ``"auto"`` (default): one λ for all
        parameters, chosen by maximising the evidence (the Laplace-approximated marginal
        likelihood; see Notes); a number: that λ for all; a mapping: per parameter (others
        0); ``0`` or ``None``: no penalty — independent fits of the spectra, except for the
        shared parameters.
    coordinate : array_like, optional
        Sequence coordinate per spectrum (cycle number, SOC, time), strictly monotonic.
        Default 0, 1, 2, …. Uneven spacing is honoured (divided differences).
    init : mapping, FitResult, sequence of them, or None
        Starting values. ``None``: :func:`eisfit.fit` of the first spectrum from the data,
        then each next spectrum warm-started from the previous values. A mapping or
        FitResult: starting values of the first spectrum (the labels are then yours). A
        sequence with one mapping/FitResult per spectrum: the start of each.
    weight : {"modulus", "proportional", "unit"} or sequence of σ arrays
        As for :func:`eisfit.fit`; σ arrays one per spectrum.
    bounds, fixed, tie :
        As for :func:`eisfit.fit`, applied to every spectrum.
    max_iter : int
        Iteration limit of the final joint Levenberg–Marquardt run (the short runs between
        smoothness updates take at most 8 iterations each).

    Returns
    -------
    SequenceResult

    Raises
    ------
    FitError
        An empty sequence, a coordinate of the wrong length or not strictly monotonic,
        unknown names in ``shared`` / ``smooth``, a shared parameter that is fixed or tied.

    Notes
    -----
    Objective: ``Σₖ ‖rₖ‖²/σₖ² + λ Σⱼ ‖D xⱼ‖²`` (``rₖ`` the weighted residuals of spectrum
    k as in :func:`eisfit.fit`). Each spectrum is weighted by ``1/σₖ²``, its reduced χ²
    (first from its independent starting fit, then re-estimated from the joint fit as
    ``χ²ₖ / (mₖ − edfₖ)``, edfₖ the effective parameters it uses), so that a noisy spectrum
    does not dominate and, with ``smooth=0`` and no shared parameters, every spectrum's
    values *and* standard errors equal :func:`eisfit.fit`'s.

    Why second differences: their null space is the straight line, so a resistance that
    grows steadily is not pulled towards a constant (first differences would flatten
    trends and bias the ends), while a label swap between two arcs is a kink that costs
    a lot. Why one λ: per-parameter strengths let a poorly determined direction (a CPE
    coefficient trading with two close resistances) escape the smoothing, which biased
    the resistances in simulations; one prior width for all log-parameters did not.

    λ by evidence: two starts are tried and the one with the larger evidence kept —
    (1) robust straight lines through the independent fits, from very strong smoothing
    relaxed a decade at a time while the evidence grows (robust where the independent fits
    trade resistance); (2) the independent fits themselves, from the smoothing their
    roughness suggests (robust where the trends are far from straight). Both are refined
    by Fellner–Schall updates ``λ ← φ Σⱼγⱼ / Σⱼ‖D xⱼ‖²`` between short
    Levenberg–Marquardt runs. Long sequences take their starting fits from at most
    :data:`~eisfit.fitting.sequence_starts.CHAIN_MAX` evenly spaced spectra.

    The normal equations are block-banded in the per-spectrum parameters with dense rows
    for the shared ones (an arrowhead); they are factorised by a banded Cholesky and a
    Schur complement, and the standard errors come from the selected inversion of the
    same factor: ``cov = φ M⁻¹`` (``M`` the penalised Gauss–Newton matrix, ``φ`` the
    residual variance factor χ²/(m − edf), 1 for σ weights).

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> m = ef.parse("R0 - (R1 | Q1)")
    >>> f = np.logspace(4, -1, 30)
    >>> seq = [ef.simulate(m, f, {"R0": 5, "R1": 20 * 1.05**k, "Q1_Q": 1e-4, "Q1_n": 0.85},
    ...                    noise=0.005, seed=k) for k in range(12)]
    >>> res = ef.fit_sequence(m, seq, shared=["R0", "Q1_n"])
    >>> round(res.shared["Q1_n"], 2), len(res.fits), res.converged
    (0.85, 12, True)
    >>> bool(np.all(np.abs(res.values("R1") / (20 * 1.05 ** np.arange(12)) - 1) < 0.02))
    True
    """
    with np.errstate(all="ignore"):
        return _fit_sequence(circuit, spectra, shared, smooth, coordinate, init, weight, bounds,
                             fixed, tie, max_iter)


# -- input ----------------------------------------------------------------------------
def _unknown(name: str, known: Sequence[str], what: str) -> FitError:
    import difflib  # only on this error path (import eisfit stays light)

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return FitError(f"{what}: unknown parameter {name!r}{hint} (circuit has {', '.join(known)})")


def _coordinate(coordinate: Any, K: int) -> np.ndarray:
    if coordinate is None:
        return np.arange(K, dtype=float)
    try:
        t = np.asarray(coordinate, dtype=float)
    except (TypeError, ValueError) as exc:
        raise FitError(f"coordinate must be numbers: {exc}") from None
    if t.shape != (K,):
        raise FitError(f"coordinate has {t.size} values for {K} spectra")
    if not np.all(np.isfinite(t)):
        raise FitError("coordinate must be finite")
    d = np.diff(t)
    if K > 1 and not (np.all(d > 0) or np.all(d < 0)):
        raise FitError("coordinate must be strictly increasing or strictly decreasing "
                       "(sort the spectra along the sequence first)")
    return t


def _weights(weight: Any, K: int) -> list[Any]:
    if isinstance(weight, str):
        return [weight] * K
    if isinstance(weight, np.ndarray) and weight.ndim == 1 and K != 1:
        raise FitError("weight: give one σ array per spectrum")
    ws = list(weight)
    if len(ws) != K:
        raise FitError(f"weight: {len(ws)} σ arrays for {K} spectra")
    return ws


def _shared(shared: Iterable[str], setup: ParamSetup) -> tuple[str, ...]:
    if isinstance(shared, str):
        shared = [shared]
    out = []
    for n in shared:
        if n not in setup.names:
            raise _unknown(n, setup.names, "shared")
        if n in setup.fixed:
            raise FitError(f"shared: {n} is fixed (a fixed parameter is already one value)")
        if n in setup.ties:
            raise FitError(f"shared: {n} is tied to {setup.ties[n]}; share {setup.ties[n]} instead")
        if n not in out:
            out.append(n)
    return tuple(n for n in setup.free if n in out)


def _smooth(smooth: Any, local: tuple[str, ...], setup: ParamSetup) -> tuple[str, np.ndarray]:
    """``(method, λ per local parameter)``; method "auto", "given" or "none"."""
    if smooth is None:
        return "none", np.zeros(len(local))
    if isinstance(smooth, str):
        if smooth != "auto":
            raise FitError(f"smooth must be 'auto', a number, a mapping or None, not {smooth!r}")
        return "auto", np.ones(len(local))
    if isinstance(smooth, Mapping):
        lam = np.zeros(len(local))
        for n, v in smooth.items():
            if n not in setup.names:
                raise _unknown(n, setup.names, "smooth")
            if n not in local:
                raise FitError(f"smooth: {n} is not a free per-spectrum parameter "
                               "(shared, fixed or tied)")
            lam[local.index(n)] = _strength(v)
        return ("given" if lam.any() else "none"), lam
    lam = np.full(len(local), _strength(smooth))
    return ("given" if lam.any() else "none"), lam


def _strength(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise FitError(f"smooth strength must be a number, not {v!r}") from None
    if not (np.isfinite(x) and x >= 0):
        raise FitError(f"smooth strength must be finite and ≥ 0, not {v!r}")
    return x


# -- the fit ----------------------------------------------------------------------------
def _fit_sequence(circuit, spectra, shared, smooth, coordinate, init, weight, bounds, fixed, tie,
                  max_iter) -> SequenceResult:
    circuit, preset_bounds = _as_circuit(circuit)
    if isinstance(spectra, (str, bytes)) or not isinstance(spectra, Iterable):
        raise FitError("spectra must be a sequence of Spectrum objects or (freq, Z) tuples")
    spectra = list(spectra)
    K = len(spectra)
    if K == 0:
        raise FitError("empty sequence: no spectra to fit")
    data, weights = [], []
    for s, w in zip(spectra, _weights(weight, K)):
        f, z, meta, w = _as_data(s, w)
        data.append((f, z, meta))
        weights.append(w)
    t = _coordinate(coordinate, K)
    merged_bounds = {**preset_bounds, **(bounds or {})}
    first_init = init[0] if isinstance(init, (list, tuple)) and init else init
    init_map = first_init.values if isinstance(first_init, FitResult) else first_init
    setup = setup_parameters(circuit, merged_bounds, fixed, tie,
                             init_map if isinstance(init_map, Mapping) else None)
    shared_names = _shared(shared, setup)
    local_names = tuple(n for n in setup.free if n not in shared_names)
    method, lam = _smooth(smooth, local_names, setup)
    notes: list[str] = []
    if not local_names:  # every free parameter shared: nothing varies, nothing to smooth
        method = "none"
    if method != "none" and K < 3:
        if smooth == "auto":
            notes.append(f"{K} spectra: too few for a smoothness penalty (needs 3)")
        else:
            warnings.warn(f"{K} spectra: too few for a smoothness penalty (needs 3); none applied",
                          EisfitWarning, stacklevel=3)
        method, lam = "none", np.zeros(len(local_names))

    # -- starting values: warm-started independent fits (all of them without a penalty) ---
    idx = chain_indices(K, all_spectra=method == "none")
    chain = warm_chain(circuit, setup, data, t, idx, init, weights, merged_bounds, dict(setup.ties))
    refs, M = [], None
    for k, (f, Z, _) in enumerate(data):  # each test's search starts at its neighbour's M
        ref = chain.refs[k] if k in chain.refs else reference(f, Z, M_start=M)
        M = ref.M if ref is not None else M
        refs.append(ref)
    absolute = all(residual_weights(Z, w)[2] for (_, Z, _), w in zip(data, weights))
    s2 = np.ones(K) if absolute else chain.noise(K)

    # -- the joint problem: padded grids, weights in units of each spectrum's noise -------
    N = max(f.size for f, _, _ in data)
    fpad = np.empty((K, N))
    Zpad = np.ones((K, N), complex)
    wr = np.zeros((K, N))
    wi = np.zeros((K, N))
    w_orig = []
    for k, (f, Z, _) in enumerate(data):
        n = f.size
        a, b, _ = residual_weights(Z, weights[k])
        w_orig.append((a, b))
        fpad[k, :n], fpad[k, n:] = f, f[-1]
        Zpad[k, :n] = Z
        wr[k, :n], wi[k, :n] = a, b
    tn = np.abs(t - t[0]) / (np.mean(np.abs(np.diff(t))) if K > 1 else 1.0)  # steps from the first
    d0, d1, d2, rank = second_difference(tn)
    xlo, xhi = setup.x_bounds()
    free = list(setup.free)
    prob = JointProblem(circuit.compile(), setup, fpad, Zpad, wr, wi,
                        np.array([free.index(n) for n in local_names], int),
                        np.array([free.index(n) for n in shared_names], int),
                        (d0, d1, d2), rank, xlo, xhi).with_noise(np.sqrt(s2))
    Xc = np.array([setup.to_x(v) for v in chain.values]).reshape(len(idx), setup.n_free)
    use = chain.healthy if chain.healthy.sum() >= min(3, len(idx)) else np.ones(len(idx), bool)
    XS = np.median(Xc[use][:, prob.shared], axis=0)
    loL, hiL = xlo[prob.local], xhi[prob.local]
    if method == "none":
        starts = [(Xc[:, prob.local], None)]  # the independent fits themselves (idx: all spectra)
    else:
        # 1. the penalty's null space: robust straight lines through the healthy fits, from
        #    strong smoothing (robust where the independent fits trade resistance);
        # 2. the healthy fits themselves, interpolated, from the smoothing their roughness
        #    suggests (robust where the trends are far from straight).
        # The one with the larger evidence (or, for a given λ, the lower objective) is kept.
        lines = np.clip(robust_lines(Xc[:, prob.local], tn[idx], use, tn), loL, hiL)
        sel = use if use.sum() >= 2 else np.ones(len(idx), bool)
        interp = np.column_stack([np.interp(tn, tn[idx][sel], Xc[sel, j]) for j in prob.local])
        interp = np.clip(interp, loL, hiL)
        if method == "auto":  # as if every penalised direction were determined by the data
            q = float(np.sum(interp * penalty_apply(prob.pen, interp)))
            rough = np.full(prob.p_local, prob.rank * prob.p_local / max(q, 1e-300))
        else:
            rough = lam
        starts = [(lines, None), (interp, rough)]

    # -- solve; re-estimate each spectrum's noise level from its own residuals; repeat ---
    best = None
    for XL0, lam0 in starts:
        run = _solve(prob, XL0, XS, lam, method, absolute, max_iter, lam0)
        p = posterior(prob, run[0].XL, run[0].XS, run[0].r, run[0].Jx, run[1], absolute)
        score = p.log_evidence if method == "auto" else -run[0].cost
        if best is None or score > best[0]:
            best = (score, run, p, XL0)
    _, (state, lam, n_updates, smooth_ok), post, XL0 = best
    start = prob.thetas(prob.free_matrix(XL0, XS))
    for n_pass in range(2, MAX_REWEIGHT + 1):
        if absolute:
            break
        edf_k = spectrum_edf(prob, post, state.Jx)
        chi2_k = np.sum(state.r * state.r, axis=1) * s2  # in the units of the user's weights
        m_k = 2 * np.array([f.size for f, _, _ in data])
        new = chi2_k / np.maximum(m_k - edf_k, 1.0)
        new = np.maximum(new, 1e-6 * float(np.median(new)) + 1e-300)
        ratio = np.sqrt(new / s2)
        if np.max(np.abs(np.log(ratio))) < NOISE_RTOL:
            break
        s2 = new
        prob = prob.with_noise(ratio)
        state, lam, more, smooth_ok = _solve(prob, state.XL, state.XS, lam, method, absolute,
                                             max_iter, lam)
        n_updates += more
        post = posterior(prob, state.XL, state.XS, state.r, state.Jx, lam, absolute)
    if post.singular:
        notes.append("the joint normal matrix is singular: some parameters are determined "
                     "neither by the data nor by the penalty")
    if method == "auto" and not smooth_ok:
        notes.append(f"the smoothness strengths did not settle after {n_updates} evidence updates")
    return _results(circuit, setup, prob, data, t, w_orig, weights, absolute, start, s2, refs,
                    state, post, lam, method, shared_names, local_names, n_updates, notes)


def _solve(prob: JointProblem, XL, XS, lam, method, absolute, max_iter, lam_start=None):
    """The joint optimum: ``(state, λ, number of λ updates, whether λ settled)``.

    ``method == "auto"`` chooses one strength λ for all penalised parameters by maximising
    the evidence. Without ``lam_start`` the fit starts from very strong smoothing (every
    parameter nearly a straight line along the sequence: few effective parameters pooled
    over all spectra, no room for arcs to trade resistance) and relaxes it a decade at a
    time while the evidence grows — a continuation that a fixed-point iteration started at
    λ → ∞ cannot do (the straight-line solution can be a local maximum there). From the
    best decade, or from ``lam_start``, Fellner–Schall (MacKay) updates
    ``λ ← φ Σⱼγⱼ / Σⱼ‖D xⱼ‖²`` (γⱼ = rank D − λ tr(Σ Pⱼ), the effective number of
    parameters beyond a straight line) refine it. A given λ is approached from 10⁶ × λ in
    steps of 100. A few Levenberg–Marquardt iterations run between updates; a final fit
    converges at the chosen λ.
    """
    if method == "none":
        state = levenberg_marquardt_joint(prob, XL, XS, lam, max_iter=max_iter)
        return state, lam, 0, True
    mu, n_updates = 1e-3, 0
    if method == "given":
        target = lam
        lam = target if lam_start is not None else target * 1e6
        while True:
            state = levenberg_marquardt_joint(prob, XL, XS, lam, max_iter=max_iter, ftol=1e-6,
                                              mu=mu)
            XL, XS, mu = state.XL, state.XS, max(state.mu, 1e-12)
            if np.all(lam <= target):
                break
            lam = np.maximum(lam / 100, target)
            n_updates += 1
        state = levenberg_marquardt_joint(prob, XL, XS, lam, max_iter=max_iter, mu=mu)
        return state, lam, n_updates, True
    _, Jx = prob.evaluate(XL, XS)
    info = np.median(np.sum(Jx[:, prob.local, :] ** 2, axis=2), axis=0)
    # λ is kept within SMOOTH_RANGE of the data information on the parameters (per spectrum)
    top = max(float(np.max(info, initial=0.0)), 1e-300)
    lo = max(float(np.min(info, initial=0.0)), 1e-12 * top) / SMOOTH_RANGE
    hi = top * SMOOTH_RANGE
    ones = np.ones(prob.p_local)

    def step(XL, XS, value, mu):
        st = levenberg_marquardt_joint(prob, XL, XS, value * ones, max_iter=8, ftol=1e-8, mu=mu)
        return st, posterior(prob, st.XL, st.XS, st.r, st.Jx, value * ones, absolute)

    if lam_start is None:  # continuation from strong smoothing, a decade at a time
        value, best, drops = hi, None, 0
        while True:
            state, post = step(XL, XS, value, mu)
            XL, XS, mu = state.XL, state.XS, max(state.mu, 1e-12)
            n_updates += 1
            if best is None or post.log_evidence > best[0]:
                best, drops = (post.log_evidence, value, state, mu), 0
            else:
                drops += 1
            if drops >= 2 or value <= lo:
                break
            value = max(value / 10, lo)
        _, value, state, mu = best
        XL, XS = state.XL, state.XS
    else:
        value = float(np.clip(np.max(lam_start), lo, hi))
    ok, gamma_old = False, None
    for _ in range(MAX_SMOOTH_UPDATES):
        state, post = step(XL, XS, value, mu)
        XL, XS, mu = state.XL, state.XS, max(state.mu, 1e-12)
        n_updates += 1
        gamma = float(np.sum(np.maximum(prob.rank - value * post.traces, 0.0)))
        # settled when the effective number of parameters beyond straight lines stays put
        if state.converged and gamma_old is not None and abs(gamma - gamma_old) < SMOOTH_GAMMA_TOL:
            ok = True
            break
        gamma_old = gamma
        q = float(np.sum(XL * penalty_apply(prob.pen, XL)))
        phi = post.phi if np.isfinite(post.phi) else 1.0
        value = float(np.clip(phi * gamma / max(q, 1e-300), lo, hi))
    lam = value * ones
    state = levenberg_marquardt_joint(prob, XL, XS, lam, max_iter=max_iter, mu=mu)
    return state, lam, n_updates, ok


def _results(circuit, setup, prob, data, t, w_orig, weights, absolute, start, s2, refs, state,
             post, lam, method, shared_names, local_names, n_updates, notes) -> SequenceResult:
    K = prob.K
    TH = prob.thetas(prob.free_matrix(state.XL, state.XS))
    phi = post.phi
    # undetermined unknowns (variance inflation): NaN covariance, as ef.fit does
    bad = post.inflation > UNDETERMINED_INFLATION
    pL = prob.p_local
    bad_free = np.zeros((K, setup.n_free), bool)
    bad_free[:, prob.local] = bad[: K * pL].reshape(K, pL)
    bad_free[:, prob.shared] = bad[K * pL:]
    blocks = phi * spectrum_blocks(prob, post)
    conv = _Converged(state.converged, state.message)
    weight_name = weights[0] if isinstance(weights[0], str) else "sigma"
    names = setup.names
    fits = []
    for k, (f, Z, meta) in enumerate(data):
        cov = blocks[k].copy()
        cov[bad_free[k], :] = np.nan
        cov[:, bad_free[k]] = np.nan
        a, b = w_orig[k]
        m = {**meta, "sequence_index": k, "sequence_coordinate": float(t[k])}
        fits.append(_build_result(circuit, setup, prob.compiled, f, Z, a, b, absolute, weight_name,
                                  TH[k], conv, refs[k], state.nfev, 1, dict(zip(names, start[k])),
                                  m, cov_x=cov))
    sh_idx = [names.index(n) for n in shared_names]
    th_sh = TH[0][sh_idx]
    scale = np.where(setup.log[sh_idx], th_sh, 1.0)
    cov_sh = phi * post.shared * np.outer(scale, scale)
    bad_s = bad[K * pL:]
    cov_sh[bad_s, :] = np.nan
    cov_sh[:, bad_s] = np.nan
    se_sh = np.sqrt(np.clip(np.diag(cov_sh), 0, None))
    se_sh[np.isnan(np.diag(cov_sh))] = np.nan
    n_ok = sum(f.success for f in fits)
    how = {"auto": f"λ by evidence ({n_updates} updates)", "given": "λ given",
           "none": "no smoothness penalty"}[method]
    state_txt = "converged" if state.converged else "stopped: " + state.message
    message = (f"joint fit of {K} spectr{'um' if K == 1 else 'a'} {state_txt} after {state.nfev} "
               f"iterations; {how}; "
               f"{n_ok}/{K} spectra pass the fit verdict")
    return SequenceResult(
        circuit=circuit,
        fits=tuple(fits),
        shared_names=shared_names,
        _shared_values=tuple(float(v) for v in th_sh),
        _shared_stderr=tuple(float(s) for s in se_sh),
        shared_covariance=cov_sh,
        smooth={n: float(v) for n, v in zip(local_names, lam)},
        smooth_method=method,
        coordinate=t,
        chi2=float(sum(f.chi2 for f in fits)),
        penalty=float(prob.penalty(state.XL, lam)),
        edf=post.edf,
        noise=np.sqrt(s2),
        converged=state.converged,
        n_iter=state.nfev,
        message=message,
        warnings=tuple(notes),
    )
