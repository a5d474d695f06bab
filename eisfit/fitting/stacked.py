"""Stacked fits: many spectra of one circuit advanced together by one Levenberg–Marquardt loop.

:func:`~eisfit.fitting.lm.levenberg_marquardt_stacked` runs the iteration of the
per-spectrum solver for K problems at once (one evaluation of the whole block and one
batched solve per iteration); the objective of a block is
:class:`~eisfit.fitting.fitter._Block`.

:func:`fit_stacked` fits K spectra of one circuit from one start (a warm start, e.g. the
result of the spectrum before them) and builds every result with the same code as
:func:`eisfit.fit` (verdict against the Kramers–Kronig reference, uncertainties). A
spectrum whose stacked run :func:`eisfit.fit` would not accept as its first run (not
converged, or residual above the multi-start threshold), or whose result is not a success,
is fitted again by :func:`eisfit.fit` itself, so no spectrum comes out worse than it would
serially.

Spectra with different point counts are padded to the longest with zero-weight points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..linear.weights import residual_weights
from ..validate.kramers_kronig import KKResult
from .fitter import (RETRY_RATIO, _as_circuit, _as_data, _Block, _build_result, _order_arcs,
                     fit, init_values)
from .verdict import NOISE_FLOOR, reference, relative_s
from .lm import LMResult, levenberg_marquardt_stacked
from .options import FitOptions
from .params import setup_parameters
from .result import FitResult
from .starts import analyse, initial_guesses

__all__ = ["fit_stacked"]

# ---------------------------------------------------------------------------------------
# fitting spectra
# ---------------------------------------------------------------------------------------
def _start(circuit, init, first_spectrum) -> dict[str, float]:
    names = circuit.parameters
    user = init_values(init, names)
    if not set(user) >= set(names):  # completed from the first spectrum's data
        f, Z, _, _ = _as_data(first_spectrum)
        guess = initial_guesses(circuit, analyse(f, Z), max_guesses=1)[0]
        user = {**guess, **user}
    return user


#: A spectrum of a chained block is run again when its predecessor's result (its start)
#: moved by more than this in the optimiser's coordinates (log θ: a relative change).
#: With 1e-6 the batch gave the serial values on all 1,343 Zhang 2020 spectra (13-parameter
#: model; largest difference 1e-4 stderr); 1e-3 saved solver time there but left 17 spectra
#: more than one stderr away (other points of flat valleys). Smooth sequences need the
#: same passes either way.
CHAIN_TOL = 1e-6


def stacked_results(
    circuit: Any,
    spectra: Sequence[Any],
    init: Mapping[str, float] | FitResult | None,
    options: FitOptions | Mapping[str, Any] | None = None,
    *,
    chain: bool = False,
    refs: Sequence[KKResult | None] | None = None,
) -> list[FitResult | None]:
    """The stacked solve alone: a result per spectrum, or ``None`` where :func:`eisfit.fit`
    would not accept the run as its first (not converged, or its residual above the
    multi-start threshold) and would go on to other starts.

    ``chain``: start each spectrum from its predecessor's result (the first from ``init``),
    as a warm-started sequence of ``ef.fit`` calls does. The chain is solved by stacked
    passes: all from ``init``, then again every spectrum whose predecessor's result moved
    (by more than :data:`CHAIN_TOL`) from where it was last started, until none did (after
    pass j the first j spectra are final; a smooth sequence needs two or three passes). It
    is the serial sequence up to the first spectrum that is ``None`` or not a success: the
    serial sequence goes on from that spectrum's refit, so the list ends there (it is
    shorter than ``spectra``; the spectra after it are neither solved again nor built).
    ``refs``: the spectra's Kramers–Kronig references, if already computed
    (:func:`~eisfit.fitting.verdict.reference`)."""
    o = FitOptions.coerce(options)
    circuit, preset_bounds = _as_circuit(circuit)
    spectra = list(spectra)
    if not spectra:
        return []
    with np.errstate(all="ignore"):
        user = _start(circuit, init, spectra[0])
        setup = setup_parameters(circuit, {**preset_bounds, **(o.bounds or {})}, o.fixed,
                                 o.tie, user)
        first = dict(user)
        first.update(setup.fixed)
        for dep, src in setup.ties.items():
            first[dep] = first[src]
        prepared = []
        for k, spec in enumerate(spectra):
            f, Z, meta, weight = _as_data(spec, o.weight)
            w_re, w_im, absolute = residual_weights(Z, weight)
            ref = refs[k] if refs is not None else reference(f, Z)
            prepared.append((f, Z, meta, w_re, w_im, absolute, ref))
        compiled = circuit.compile()
        block = _Block(compiled, setup, [(d[0], d[1], d[3], d[4]) for d in prepared])
        xlo, xhi = setup.x_bounds()
        p = setup.n_free
        names = setup.names

        def accepted(k: int, lm: LMResult) -> np.ndarray | None:
            """θ of the run (arcs ordered), or None where ef.fit would try other starts."""
            f, Z, ref = prepared[k][0], prepared[k][1], prepared[k][6]
            theta = setup.theta(lm.x)
            good_enough = max(RETRY_RATIO * ref.s, 1e-3) if ref is not None else NOISE_FLOOR
            if o.multistart > 1 and (not lm.converged
                                     or relative_s(compiled.z(theta, f), Z, p) > good_enough):
                return None
            return _order_arcs(circuit, setup, theta) if o.keep_order else theta

        K = len(spectra)
        x_first = setup.to_x(first)
        starts = np.tile(x_first, (K, 1))
        runs = levenberg_marquardt_stacked(block, starts, xlo, xhi, max_nfev=o.max_nfev)
        thetas = [accepted(k, lm) for k, lm in enumerate(runs)]
        begun: list[Mapping[str, float]] = [first] * K  # the start of each run, as values
        as_start: dict[int, tuple[np.ndarray, dict]] = {}  # k → its θ as a start (x, values)

        def start_of(k: int) -> tuple[np.ndarray, dict]:
            if k not in as_start:
                v = dict(zip(names, thetas[k]))
                as_start[k] = (setup.to_x(v), v)
            return as_start[k]

        while chain:
            want = np.empty_like(starts)
            want_v = list(begun)
            last, last_v = x_first, first
            for k in range(K):
                want[k], want_v[k] = last, last_v
                if thetas[k] is not None:
                    last, last_v = start_of(k)
            cut = next((k for k in range(K) if thetas[k] is None), K)  # the chain ends there
            redo = np.flatnonzero(np.max(np.abs(want[:cut + 1] - starts[:cut + 1]), axis=1)
                                  > CHAIN_TOL)
            if redo.size == 0:
                break
            starts[redo] = want[redo]
            for k in redo:
                begun[k] = want_v[k]
            again = levenberg_marquardt_stacked(lambda X, rows: block(X, redo[rows]),
                                                starts[redo], xlo, xhi, max_nfev=o.max_nfev)
            for k, lm in zip(redo, again):
                runs[k], thetas[k] = lm, accepted(k, lm)
                as_start.pop(k, None)
        out: list[FitResult | None] = []
        for k, ((f, Z, meta, w_re, w_im, absolute, ref), lm) in enumerate(zip(prepared, runs)):
            res = None if thetas[k] is None else _build_result(  # None: ef.fit tries more starts
                circuit, setup, compiled, f, Z, w_re, w_im, absolute, o.weight, thetas[k], lm,
                ref, lm.nfev, 1, begun[k], meta)
            out.append(res)
            if chain and (res is None or not res.success):
                break
    return out


def fit_stacked(
    circuit: Any,
    spectra: Sequence[Any],
    init: Mapping[str, float] | FitResult | None = None,
    options: FitOptions | Mapping[str, Any] | None = None,
    *,
    chain: bool = False,
) -> list[FitResult]:
    """Fit many spectra of one circuit together from one start.

    Parameters
    ----------
    circuit : Circuit, str or Preset
        As :func:`eisfit.fit`.
    spectra : sequence of Spectrum or (freq, Z)
        Any point counts (shorter spectra are padded with zero-weight points).
    init : mapping, FitResult or None
        The one start of every spectrum, typically the result of the spectrum before them
        (a warm start). Parameters it lacks come from the first spectrum's data.
    options : FitOptions, optional
        As :func:`eisfit.fit` (one weighting name for all; per-point σ is not supported).
    chain : bool
        The spectra are a sequence: start each from its predecessor's result (the first
        from ``init``), the results of ``ef.fit(..., init=previous result)`` in order,
        computed by a few stacked passes (see :func:`stacked_results`). Default: every
        spectrum from ``init``.

    Returns
    -------
    list of FitResult, in the order of ``spectra``, each built as :func:`eisfit.fit` builds
    its result. A spectrum whose stacked run ``ef.fit`` would not have accepted is fitted by
    ``ef.fit(circuit, spectrum, init, options)`` (its multi-start; with ``chain`` from the
    last successful result before it); one that is still not a success by ``ef.fit``
    without ``init`` (the better of the two is kept, as a batch does).

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> model = ef.parse("R0 - (R1 | Q1)")
    >>> f = np.logspace(5, -1, 40)
    >>> specs = [ef.simulate(model, f, {"R0": 10, "R1": r, "Q1_Q": 1e-5, "Q1_n": 0.9})
    ...          for r in (90, 100, 110)]
    >>> res = ef.fitting.fit_stacked(model, specs, {"R0": 12, "R1": 80, "Q1_Q": 2e-5, "Q1_n": 0.85})
    >>> [round(r.values["R1"], 6) for r in res], all(r.success for r in res)
    ([90.0, 100.0, 110.0], True)
    """
    o = FitOptions.coerce(options)
    spectra = list(spectra)

    def finish(spectrum, res, start) -> FitResult:
        if res is None:
            res = fit(circuit, spectrum, init=start, options=o)
        if not res.success:
            cold = fit(circuit, spectrum, options=o)
            if cold.success or cold.chi2 < res.chi2:
                res = cold
        return res

    if not chain:
        got = stacked_results(circuit, spectra, init, o)
        return [finish(s, r, init) for s, r in zip(spectra, got)]
    # a chain is exact up to its first spectrum that is refitted (or not a success): the
    # ones after it start from what the refit gives, so they are solved again from there
    out: list[FitResult] = []
    prev, pos, window = init, 0, len(spectra)
    while pos < len(spectra):
        got = stacked_results(circuit, spectra[pos:pos + window], prev, o, chain=True)
        j = next((i for i, r in enumerate(got) if r is None or not r.success), len(got))
        out += got[:j]  # type: ignore[arg-type]
        if j:
            prev = got[j - 1]
        if j < len(got):
            res = finish(spectra[pos + j], got[j], prev)
            out.append(res)
            if res.success:
                prev = res
        pos += j + 1 if j < len(got) else j
        window = len(spectra) if j == len(got) else 32  # after a refit, shorter runs
    return out  # type: ignore[return-value]
