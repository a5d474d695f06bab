"""Stacked fits: many spectra of one circuit advanced together by one Levenberg–Marquardt loop.

The per-spectrum solver (:mod:`eisfit.fitting.lm`) spends most of its time in Python
overhead, not arithmetic: a 2-arc circuit on 40 points needs a handful of iterations of
microseconds of numpy work each. :func:`levenberg_marquardt_stacked` runs the *same*
iteration (same damping, acceptance, bound handling and stopping tests, problem by
problem) for K problems at once: one model + Jacobian evaluation of the whole block and
one batched solve of the (K, p, p) normal equations per iteration. Each problem keeps its
own damping; a problem that has stopped is no longer evaluated or moved.

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

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..linear.weights import residual_weights
from ..validate.kramers_kronig import KKResult
from .fitter import (RETRY_RATIO, _as_circuit, _as_data, _build_result, _order_arcs, fit,
                     init_values)
from .verdict import NOISE_FLOOR, reference, relative_s
from .lm import LMResult
from .options import FitOptions
from .params import ParamSetup, setup_parameters
from .result import FitResult
from .starts import analyse, initial_guesses

__all__ = ["levenberg_marquardt_stacked", "fit_stacked"]

_MESSAGES = (
    "iteration limit reached",
    "gradient vanished",
    "converged",
    "converged (no further decrease possible)",
    "converged (damping saturated)",
    "model is not finite at the starting point",
)
_RUNNING, _GRADIENT, _CONVERGED, _NO_DECREASE, _SATURATED, _NOT_FINITE = range(6)


def _normal(J: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JᵀJ (k, n, n) and Jᵀr (k, n) of Jacobians (k, m, n) and residuals (k, m)."""
    Jt = J.transpose(0, 2, 1)
    return Jt @ J, (Jt @ r[:, :, None])[:, :, 0]


def _free(x, g, lo, hi) -> np.ndarray:
    """Variables not held by a bound (the gradient does not push them outward)."""
    return ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))


def _solve_masked(M: np.ndarray, b: np.ndarray, act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``M[act, act] h[act] = b[act]`` for each problem (``h = 0`` elsewhere).

    Frozen variables get identity rows, so one batched solve serves all problems.
    Returns ``(h, ok)``; ``ok`` is False where the system is singular.
    """
    k, n = b.shape
    both = act[:, :, None] & act[:, None, :]
    Mm = np.where(both, M, np.eye(n))
    bm = np.where(act, b, 0.0)
    ok = np.ones(k, bool)
    try:
        return np.linalg.solve(Mm, bm[:, :, None])[:, :, 0], ok
    except np.linalg.LinAlgError:  # find the singular ones, solve the others
        h = np.zeros((k, n))
        for i in range(k):
            try:
                h[i] = np.linalg.solve(Mm[i], bm[i])
            except np.linalg.LinAlgError:
                ok[i] = False
        return h, ok


def _gauss_newton_decrease(A, g, D, x, lo, hi) -> np.ndarray:
    """Per problem: the decrease of Σ r² an undamped Gauss–Newton step would still promise."""
    act = _free(x, g, lo, hi)
    h, ok = _solve_masked(A + 1e-12 * (D[:, :, None] * np.eye(D.shape[1])), g, act)
    out = np.abs(np.sum(np.where(act, g, 0.0) * h, axis=1))
    return np.where(ok, out, np.inf)


def levenberg_marquardt_stacked(
    fun: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    max_nfev: int = 400,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-12,
) -> list[LMResult]:
    """Minimise ``Σ r_k(x_k)²`` subject to ``lo ≤ x_k ≤ hi`` for K independent problems.

    The iteration of :func:`eisfit.fitting.lm.levenberg_marquardt`, problem by problem,
    with the evaluations and linear solves of all running problems done together.

    Parameters
    ----------
    fun : callable
        ``fun(X, rows)`` returns the residuals (k, m) and Jacobians (k, m, n) of the
        problems ``rows`` (indices into the K problems) at their coordinates ``X`` (k, n).
        Padded residual rows must be zero (zero weight).
    x0 : array (K, n)
    lo, hi : array (n,) or (K, n)
    max_nfev, ftol, xtol, gtol
        As :func:`~eisfit.fitting.lm.levenberg_marquardt`, for each problem.

    Returns
    -------
    list of LMResult, one per problem (``r`` and ``J`` with any padding rows).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 20)
    >>> rate = np.array([1.0, 3.0])            # two problems: y = exp(-rate t)
    >>> y = np.exp(-rate[:, None] * t)
    >>> def fun(X, rows):
    ...     e = np.exp(-X[:, :1] * t)
    ...     return e - y[rows], (-t * e)[:, :, None]
    >>> res = levenberg_marquardt_stacked(fun, np.ones((2, 1)) * 2, np.zeros(1), np.full(1, 10.0))
    >>> [round(float(r.x[0]), 6) for r in res], all(r.converged for r in res)
    ([1.0, 3.0], True)
    """
    x = np.array(x0, dtype=float, ndmin=2)
    K, n = x.shape
    lo = np.broadcast_to(np.asarray(lo, float), (K, n))
    hi = np.broadcast_to(np.asarray(hi, float), (K, n))
    x = np.clip(x, lo, hi)
    r, J = fun(x, np.arange(K))
    r, J = np.array(r, float), np.array(J, float)
    nfev = np.ones(K, dtype=int)
    status = np.full(K, _RUNNING)
    finite = np.isfinite(r).all(axis=1) & np.isfinite(J).all(axis=(1, 2))
    status[~finite] = _NOT_FINITE
    cost = np.where(finite, np.einsum("km,km->k", r, r), np.inf)
    A, g = _normal(np.where(finite[:, None, None], J, 0.0), np.where(finite[:, None], r, 0.0))
    D = np.maximum(np.diagonal(A, axis1=1, axis2=2).copy(), 1e-300)
    mu = np.full(K, 1e-3)
    nu = np.full(K, 2.0)
    while True:
        run = np.flatnonzero((status == _RUNNING) & (nfev < max_nfev))
        if run.size == 0:
            break
        act = _free(x[run], g[run], lo[run], hi[run])
        gmax = np.max(np.where(act, np.abs(g[run]), 0.0), axis=1)
        vanished = ~act.any(axis=1) | (gmax <= gtol * np.maximum(cost[run], 1e-300))
        status[run[vanished]] = _GRADIENT
        run, act = run[~vanished], act[~vanished]
        if run.size == 0:
            continue
        M = A[run] + mu[run, None, None] * (D[run][:, :, None] * np.eye(n))
        h, ok = _solve_masked(M, -g[run], act)
        bad = run[~ok]  # singular: more damping, no evaluation (as the serial solver)
        mu[bad] *= nu[bad]
        nu[bad] *= 2
        run, h = run[ok], h[ok]
        if run.size == 0:
            continue
        x_old = x[run]
        x_new = np.clip(x_old + h, lo[run], hi[run])
        step = x_new - x_old
        pred = -(2 * np.einsum("ki,ki->k", step, g[run])
                 + np.einsum("ki,kij,kj->k", step, A[run], step))
        r_new, J_new = fun(x_new, run)
        nfev[run] += 1
        cost_new = np.where(np.isfinite(r_new).all(axis=1),
                            np.einsum("km,km->k", r_new, r_new), np.inf)
        better = (cost_new < cost[run]) & np.isfinite(J_new).all(axis=(1, 2))
        small = (np.linalg.norm(step, axis=1)
                 <= xtol * (np.linalg.norm(x_old, axis=1) + xtol))
        # accepted steps
        a, sel = run[better], np.flatnonzero(better)
        if a.size:
            p = pred[sel]
            rho = np.where(p > 0, (cost[a] - cost_new[sel]) / np.where(p > 0, p, 1.0), 0.0)
            x[a], r[a], J[a], cost[a] = x_new[sel], r_new[sel], J_new[sel], cost_new[sel]
            A[a], g[a] = _normal(J[a], r[a])
            D[a] = np.maximum(D[a], np.diagonal(A[a], axis1=1, axis2=2))
            mu[a] *= np.maximum(1 / 3, 1 - (2 * rho - 1) ** 3)
            nu[a] = 2.0
            done = small[sel] | (_gauss_newton_decrease(A[a], g[a], D[a], x[a], lo[a], hi[a])
                                 <= ftol * cost[a])
            status[a[done]] = _CONVERGED
        # rejected steps
        b, sel = run[~better], np.flatnonzero(~better)
        if b.size:
            stuck = small[sel]
            status[b[stuck]] = _NO_DECREASE
            b = b[~stuck]
            mu[b] *= nu[b]
            nu[b] *= 2
            status[b[mu[b] > 1e30]] = _SATURATED
    conv = (status != _RUNNING) & (status != _NOT_FINITE)
    return [LMResult(x[k].copy(), r[k], J[k], float(cost[k]), int(nfev[k]), bool(conv[k]),
                     _MESSAGES[status[k]]) for k in range(K)]


# ---------------------------------------------------------------------------------------
# fitting spectra
# ---------------------------------------------------------------------------------------
class _Block:
    """K spectra of one circuit padded to one point count: the stacked objective."""

    def __init__(self, compiled, setup: ParamSetup, data: list[tuple]):
        self.compiled, self.setup = compiled, setup
        K = len(data)
        N = max(d[0].size for d in data)
        self.N = N
        self.f = np.empty((K, N))
        self.Z = np.ones((K, N), complex)
        self.w_re = np.zeros((K, N))
        self.w_im = np.zeros((K, N))
        for k, (f, Z, w_re, w_im) in enumerate(data):
            n = f.size
            self.f[k, :n], self.f[k, n:] = f, f[0]  # padding: a real frequency, zero weight
            self.Z[k, :n] = Z
            self.w_re[k, :n], self.w_im[k, :n] = w_re, w_im
        # free column c collects every parameter that takes its value (ties)
        col = setup.column
        self.rows = np.array([setup.names.index(n) for n in setup.free], dtype=int)
        self.ties = [(i, int(col[i])) for i in range(col.size)
                     if col[i] >= 0 and i != self.rows[col[i]]]

    def thetas(self, X: np.ndarray) -> np.ndarray:
        s = self.setup
        th = np.broadcast_to(s.fixed_values, (X.shape[0], len(s.names))).copy()
        free = s.column >= 0
        xv = X[:, s.column[free]]
        th[:, free] = np.where(s.log[free], np.exp(np.minimum(xv, 700.0)), xv)
        return th

    def __call__(self, X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th = self.thetas(X)
        k, N = th.shape[0], self.N
        # one evaluation of the block: parameters given per point (the evaluator broadcasts)
        z, J = self.compiled.z_jac(np.repeat(th.T, N, axis=1), self.f[rows].ravel())
        w_re, w_im = self.w_re[rows], self.w_im[rows]
        dz = z.reshape(k, N) - self.Z[rows]
        r = np.concatenate((w_re * dz.real, w_im * dz.imag), axis=1)
        scale = np.where(self.setup.log, th, 1.0)  # dθ/dx per parameter
        Jt = J.reshape(-1, k, N) * scale.T[:, :, None]
        Jf = Jt[self.rows]  # (n_free, k, N)
        for i, c in self.ties:
            Jf[c] += Jt[i]
        Jx = np.concatenate((Jf.real * w_re, Jf.imag * w_im), axis=2)
        return r, np.ascontiguousarray(Jx.transpose(1, 2, 0))


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
