"""``fit`` and ``simulate``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..circuit import Circuit, Element, Preset, parse
from ..circuit.arcs import arcs, ordered_values
from ..data.spectrum import Spectrum
from ..errors import FitError
from ..linear.weights import residual_weights, stack, stack_jacobian
from ..validate.kramers_kronig import KKResult
from .lm import levenberg_marquardt, levenberg_marquardt_stacked
from .options import FitOptions
from .params import ParamSetup, from_lmfit, setup_parameters
from .result import Derived, FitResult
from .starts import analyse, initial_guesses
from .verdict import (
    MAX_NOISE, NOISE_FLOOR, NOISE_RATIO_LIMIT, band_hint, identifiability,
    missed_bands, params_at_bound, reference, relative_s,
)

__all__ = ["fit", "simulate"]

#: Above this multiple of the reference residual the multi-start tries other starting points.
RETRY_RATIO = 1.3


def init_values(init: Any, names: Sequence[str],
                allowed: str = "a mapping, a FitResult or None") -> dict[str, float]:
    """Starting values given by the user (a mapping or a FitResult) as ``{name: value}``;
    names the circuit does not have are refused."""
    if init is None:
        return {}
    if isinstance(init, FitResult):
        user = {k: v for k, v in init.values.items() if k in names}
    elif isinstance(init, Mapping):
        user = {k: float(v) for k, v in init.items()}
    else:
        raise FitError(f"init must be {allowed}")
    unknown = set(user) - set(names)
    if unknown:
        raise FitError(f"init: unknown parameters {sorted(unknown)} "
                       f"(circuit has {', '.join(names)})")
    return user


def _as_circuit(circuit: Any) -> tuple[Circuit, Mapping[str, tuple[float, float]]]:
    if isinstance(circuit, Preset):
        return circuit.circuit, circuit.bounds
    if isinstance(circuit, str):  # circuit text only; a preset name is refused with a hint
        return parse(circuit), {}
    if isinstance(circuit, Circuit):
        return circuit, {}
    raise FitError(f"expected a circuit, circuit text or preset, got {type(circuit).__name__}")


def _as_data(spectrum: Any, weight: Any = "modulus"
             ) -> tuple[np.ndarray, np.ndarray, dict, Any]:
    """Active points sorted by frequency, the metadata, and a σ-array ``weight`` sorted alike
    (σ is given per active point in the order of the data)."""
    if isinstance(spectrum, Spectrum):
        f, z = spectrum.active()
        meta = dict(spectrum.meta)
    elif isinstance(spectrum, tuple) and len(spectrum) == 2:
        f, z = np.asarray(spectrum[0], float), np.asarray(spectrum[1], complex)
        meta = {}
    else:
        raise FitError("spectrum must be an eisfit.Spectrum or a (freq, Z) tuple")
    if f.size < 2:
        raise FitError(f"need at least 2 active points, have {f.size}")
    order = np.argsort(f)
    if weight is not None and not isinstance(weight, str):
        sigma = np.asarray(weight)
        if sigma.shape != f.shape:
            raise FitError(f"σ array must have one entry per active point ({f.size}), "
                           f"got shape {sigma.shape}")
        weight = sigma[order]
    return f[order], z[order], meta, weight


def _objective(compiled, setup: ParamSetup, f, Z, w_re, w_im):
    def fun(x):
        th = setup.theta(x)
        z, J = compiled.z_jac(th, f)
        r = stack(z - Z, w_re, w_im)
        return r, stack_jacobian(J, w_re, w_im) @ setup.dtheta_dx(th)

    return fun


class _Block:
    """K spectra of one circuit padded to one point count: the objective of
    :func:`~eisfit.fitting.lm.levenberg_marquardt_stacked` (stacked fits; one spectrum
    repeated: the starts of a multi-start)."""

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


def fit(
    circuit: Circuit | str | Preset,
    spectrum: Spectrum | tuple,
    init: Mapping[str, float] | Any = None,
    weight: str | np.ndarray | None = None,
    *,
    options: FitOptions | Mapping[str, Any] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | Iterable[str] | None = None,
    tie: Mapping[str, str] | None = None,
    keep_order: bool | None = None,
    max_nfev: int | None = None,
    multistart: int | None = None,
) -> FitResult:
    """Fit an equivalent circuit to a spectrum by weighted complex least squares.

    Parameters
    ----------
    circuit : Circuit, str or Preset
        The model: a circuit, eisfit circuit text (read by :func:`eisfit.parse`; foreign
        syntaxes go through ``ef.from_cdc`` / ``ef.from_impedance_py`` first), or a preset
        object, ``ef.preset("randles")``, whose default bounds are used. Preset names are
        not circuit text.
    spectrum : Spectrum or (freq, Z)
        Only the points in use (``spectrum.use``) are fitted.
    init : mapping, lmfit.Parameters, FitResult or None
        Starting values. ``None`` (default): taken from the data. A partial mapping is
        completed from the data. A FitResult (e.g. of the previous spectrum in a
        sequence) warm-starts from its values. ``lmfit.Parameters`` also set bounds,
        fixed (``vary=False``) and tied (``expr="Q1_n"``) parameters.
    weight : {"modulus", "proportional", "unit"} or array of σ
        See :mod:`eisfit.linear.weights`. Default: residual divided by |Z| of the data.
    options : FitOptions, optional
        All of the options below as one value (what ``ef.batch.run`` takes); an option
        given by keyword overrides it.
    bounds : mapping name → (low, high), optional
    fixed : mapping name → value, or names (values from ``init``), optional
    tie : mapping dependent → source, optional
        Equality ties, e.g. ``{"Q2_n": "Q1_n"}``.
    keep_order : bool
        Relabel interchangeable arcs so that time constants increase along the
        ladder (R1‖Q1 fastest), so that labels cannot swap between fits.
    max_nfev : int
        Iteration limit of the final optimisation.
    multistart : int
        Number of starting points tried when the first fit is not good enough.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> model = ef.parse("R0 - (R1 | Q1)")
    >>> f = np.logspace(5, -1, 40)
    >>> spec = ef.simulate(model, f, {"R0": 10, "R1": 100, "Q1_Q": 1e-5, "Q1_n": 0.9})
    >>> res = ef.fit(model, spec)
    >>> round(res.values["R1"], 6), res.success
    (100.0, True)
    """
    sigma = None
    if weight is not None and not isinstance(weight, str):
        sigma, weight = weight, None  # per-point σ: not an option of the whole batch
    o = FitOptions.coerce(options).replace(
        weight=weight, bounds=bounds, fixed=fixed, tie=tie, keep_order=keep_order,
        max_nfev=max_nfev, multistart=multistart,
    )
    with np.errstate(all="ignore"):  # trial steps may overflow; results are checked for finiteness
        return _fit(circuit, spectrum, init, o.weight if sigma is None else sigma, o.bounds,
                    o.fixed, o.tie, o.keep_order, o.max_nfev, o.multistart)


def _fit(circuit, spectrum, init, weight, bounds, fixed, tie, keep_order, max_nfev, multistart):
    circuit, preset_bounds = _as_circuit(circuit)
    f, Z, meta, weight = _as_data(spectrum, weight)
    names = circuit.parameters
    user_init: dict[str, float] = {}
    ties = dict(tie or {})
    merged_bounds = dict(preset_bounds)
    fixed_arg = fixed
    if hasattr(init, "valuesdict") and hasattr(init, "items"):  # lmfit.Parameters
        user_init, lm_bounds, lm_fixed, lm_ties = from_lmfit(init, names)
        merged_bounds.update(lm_bounds)
        ties = {**lm_ties, **ties}
        if lm_fixed:
            fixed_arg = {**lm_fixed, **(dict(fixed) if isinstance(fixed, Mapping) else {})}
        init_values(user_init, names)  # the unknown-name check
    else:
        user_init = init_values(init, names, "a mapping, lmfit.Parameters, a FitResult or None")
    merged_bounds.update(bounds or {})
    setup = setup_parameters(circuit, merged_bounds, fixed_arg, ties, user_init)
    w_re, w_im, absolute = residual_weights(Z, weight)
    weight_name = weight if isinstance(weight, str) else "sigma"

    feat = []  # the quick DRT behind the data-driven guesses, computed when first needed

    def complete(g: dict[str, float]) -> dict[str, float]:
        g.update(setup.fixed)
        for dep, src in setup.ties.items():
            g[dep] = g[src]
        return g

    def auto_guesses(k: int) -> list[dict[str, float]]:
        if not feat:
            feat.append(analyse(f, Z))
        return [complete(g) for g in initial_guesses(circuit, feat[0], max_guesses=max(k, 1))]

    warm = bool(user_init) and set(user_init) >= set(setup.free)
    if warm:  # e.g. the previous spectrum of a sequence: data guesses only if needed
        guesses = [complete(dict(user_init))]
    else:
        guesses = auto_guesses(1)
        if user_init:
            guesses = [complete({**guesses[0], **user_init})] + guesses
    first = guesses[0]

    compiled = circuit.compile()
    fun = _objective(compiled, setup, f, Z, w_re, w_im)
    xlo, xhi = setup.x_bounds()
    ref = reference(f, Z)
    p_free = setup.n_free
    good_enough = max(RETRY_RATIO * ref.s, 1e-3) if ref is not None else NOISE_FLOOR

    def quality(res) -> float:
        th = setup.theta(res.x)
        return relative_s(compiled.z(th, f), Z, p_free)

    best = levenberg_marquardt(fun, setup.to_x(first), xlo, xhi, max_nfev=max_nfev)
    n_starts = 1
    nfev = best.nfev
    if (quality(best) > good_enough or not best.converged) and multistart > 1:
        more = auto_guesses(multistart)
        guesses = guesses + (more if (warm or user_init) else more[1:])
        trials = [best]
        # the other starts are solved together; the first good enough, in order, still
        # ends the search (as when they were solved one after another)
        others = guesses[1:multistart]
        runs = levenberg_marquardt_stacked(
            _Block(compiled, setup, [(f, Z, w_re, w_im)] * len(others)),
            np.array([setup.to_x(g) for g in others]), xlo, xhi, max_nfev=60) if others else []
        for t in runs:
            trials.append(t)
            n_starts += 1
            nfev += t.nfev
            if quality(t) <= good_enough:
                break
        cand = min(trials, key=lambda t: t.cost)
        if cand is not best:
            best = levenberg_marquardt(fun, cand.x, xlo, xhi, max_nfev=max_nfev)
            nfev += best.nfev
    theta = setup.theta(best.x)
    if keep_order:  # permuting interchangeable arcs leaves Z unchanged: no refit needed
        theta = _order_arcs(circuit, setup, theta)
    return _build_result(
        circuit, setup, compiled, f, Z, w_re, w_im, absolute, weight_name, theta, best,
        ref, nfev, n_starts, first, meta,
    )


def _order_arcs(circuit: Circuit, setup: ParamSetup, theta: np.ndarray) -> np.ndarray:
    """Interchangeable arcs relabelled so their time constants increase (Z unchanged)."""
    names = setup.names
    locked = set(setup.fixed) | set(setup.ties) | set(setup.ties.values())
    bounds = {n: (setup.lo[i], setup.hi[i]) for i, n in enumerate(names)}
    out = ordered_values(circuit, dict(zip(names, theta)), locked, bounds)
    return np.array([out[n] for n in names])


def _derived(circuit: Circuit, values: dict[str, float], cov: np.ndarray, names) -> tuple[Derived, ...]:
    """τ, characteristic frequency and Brug effective capacitance, with delta-method errors.

    Each quantity is a power law in its parameters, so its relative gradient is analytic:
    τ = R·C or (R·Q)^(1/n); f_peak = 1/(2πτ); C_eff = Q^(1/n)·R^(1/n − 1) (Brug);
    f_char = 1/(2πτ) of finite Warburgs, Gerischer and Havriliak–Negami elements.
    """
    idx = {n: i for i, n in enumerate(names)}
    out = []
    cv = cov.tolist()  # 2–3 parameters per quantity: plain floats beat numpy's call overhead

    def add(label, q, unit, val, ps, dlog):
        # dlog: d ln(value) / d p for each parameter p; var = gᵀ Σ g with g = val·dlog
        val = float(val)
        g = [val * float(d) for d in dlog]
        ii = [idx[p] for p in ps]
        var = sum(ga * gb * cv[a][b] for ga, a in zip(g, ii) for gb, b in zip(g, ii))
        out.append(Derived(label, q, val, math.sqrt(var) if var >= 0 else float("nan"), unit))

    # degenerate fits (τ → 0, R → 0) give inf/nan quantities, not ZeroDivisionError
    with np.errstate(all="ignore"):
        for arc in arcs(circuit):
            rs = [e for e in arc.children if isinstance(e, Element) and e.kind == "R"]
            cs = [e for e in arc.children if isinstance(e, Element) and e.kind in ("C", "Q")]
            if len(rs) != 1 or len(cs) != 1 or len(arc.children) != 2:
                continue
            r, c = rs[0].name, cs[0]
            label = f"{r}|{c.name}"
            R = np.float64(values[r])
            if c.kind == "C":
                C = np.float64(values[c.name])
                tau = R * C
                d = [1 / R, 1 / C]
                add(label, "tau", "s", tau, [r, c.name], d)
                add(label, "f_peak", "Hz", 1 / (2 * np.pi * tau), [r, c.name], [-x for x in d])
            else:
                Q, n = np.float64(values[c.name + "_Q"]), np.float64(values[c.name + "_n"])
                ps = [r, c.name + "_Q", c.name + "_n"]
                ln_rq = np.log(R * Q)
                tau = np.exp(ln_rq / n)
                d = [1 / (n * R), 1 / (n * Q), -ln_rq / n**2]
                add(label, "tau", "s", tau, ps, d)
                add(label, "f_peak", "Hz", 1 / (2 * np.pi * tau), ps, [-x for x in d])
                c_eff = np.exp(np.log(Q) / n + np.log(R) * (1 / n - 1))
                add(label, "C_eff", "F", c_eff, ps,
                    [(1 / n - 1) / R, 1 / (n * Q), -(np.log(Q) + np.log(R)) / n**2])
        for e in circuit.elements:
            if e.kind in ("Wo", "Ws", "G", "H"):
                t = np.float64(values[e.name + "_tau"])
                add(e.name, "f_char", "Hz", 1 / (2 * np.pi * t), [e.name + "_tau"], [-1 / t])
    return tuple(out)


def _covariance_x(Jx: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray]:
    """Covariance of the optimiser coordinates and a mask of undetermined parameters.

    The rank test runs on the column-normalised Jacobian (the log coordinates are already
    scale free), so a well-conditioned problem is never called rank deficient because its
    parameters have different units.
    """
    p = Jx.shape[1]
    if p == 0:
        return np.zeros((0, 0)), np.zeros(0, bool)
    norms = np.linalg.norm(Jx, axis=0)
    dead = ~(norms > 0) | ~np.isfinite(norms)
    norms = np.where(dead, 1.0, norms)
    try:
        _, S, Vt = np.linalg.svd(np.nan_to_num(Jx / norms), full_matrices=False)
    except np.linalg.LinAlgError:
        return np.full((p, p), np.nan), np.ones(p, bool)
    good = S > S[0] * 1e-9
    cov = (Vt[good].T / S[good] ** 2) @ Vt[good] / np.outer(norms, norms) * s2
    bad = dead.copy()
    if not good.all():
        bad |= np.abs(Vt[~good]).max(axis=0) > 0.1
    return cov, bad


def _t975(dof: int) -> float:
    """Two-sided 95 % quantile of Student's t (scipy, imported on first use)."""
    from scipy.special import stdtrit

    return float(stdtrit(max(dof, 1), 0.975))


def _chi2_pvalue(chi2: float, dof: int) -> float:
    """Upper tail of χ² (Wilson–Hilferty; ample for "implausible" at p < 1e-6)."""
    if dof <= 0:
        return float("nan")
    z = ((chi2 / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / np.sqrt(2 / (9 * dof))
    from statistics import NormalDist

    return 1.0 - NormalDist().cdf(float(z))


def _build_result(circuit, setup, compiled, f, Z, w_re, w_im, absolute, weight_name, theta,
                  lm, ref: KKResult, nfev, n_starts, init, meta, cov_x=None) -> FitResult:
    """The :class:`FitResult` of ``theta``; ``cov_x`` (covariance of the free optimiser
    coordinates, already scaled) replaces the one from this spectrum's Jacobian when given
    (a joint fit of several spectra computes it from its joint normal matrix)."""
    names = setup.names
    z_fit, J = compiled.z_jac(theta, f)
    r = stack(z_fit - Z, w_re, w_im)
    chi2 = float(r @ r)
    m = r.size
    p = setup.n_free
    dof = m - p
    # Jacobian with respect to the free parameters in natural units
    D = setup.dtheta_dx(theta)
    Jx = stack_jacobian(J, w_re, w_im) @ D
    scale_x = np.where(setup.log[setup.free_index], theta[setup.free_index], 1.0)
    warn: list[str] = []
    s2 = 1.0 if absolute else (chi2 / dof if dof > 0 else np.nan)
    if cov_x is None:
        cov_x, bad = _covariance_x(Jx, s2)
    else:
        bad = ~np.isfinite(np.diag(cov_x))
    if bad.any():
        warn.append(
            "the Jacobian is rank deficient: not determined by the data: "
            + ", ".join(n for n, b in zip(setup.free, bad) if b)
        )
    cov_free = cov_x * np.outer(scale_x, scale_x)  # dθ = θ·dx for log-scaled parameters
    select = D / scale_x  # free parameter → every parameter that takes its value (ties)
    cov = select @ np.nan_to_num(cov_free) @ select.T
    undetermined = (select[:, bad] != 0).any(axis=1) if bad.any() else np.zeros(len(names), bool)
    cov[undetermined, :] = np.nan
    cov[:, undetermined] = np.nan
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    se[np.isnan(np.diag(cov))] = np.nan
    tq = _t975(dof)
    ci = []
    for i, n in enumerate(names):
        v, s = theta[i], se[i]
        if setup.column[i] < 0:
            ci.append((v, v))
        elif setup.log[i]:
            k = np.exp(tq * s / v) if np.isfinite(s) else np.inf
            ci.append((v / k, v * k))
        else:
            ci.append((v - tq * s, v + tq * s))
    at_bound = params_at_bound(setup, theta)
    # -- the verdict: the lin-KK residual of the same data is the reference -------------
    res = (Z - z_fit) / np.abs(Z)
    rms = float(np.sqrt(np.mean(np.abs(res) ** 2)))
    s_fit = relative_s(z_fit, Z, p)
    if ref is None:
        ratio = float("nan")
    else:
        ratio = s_fit / ref.s if ref.s > 0 else np.inf
    problems = []
    if not np.all(np.isfinite(z_fit)):
        problems.append("model is not finite at the fitted values")
    bands = missed_bands(f, res, ref) if ref is not None else []
    if ref is None and rms > NOISE_FLOOR:
        problems.append(f"relative RMS residual {rms:.2%} above {NOISE_FLOOR:.1%} (no "
                        f"Kramers–Kronig reference on {f.size} points)")
    if ratio > NOISE_RATIO_LIMIT and rms > NOISE_FLOOR:
        problems.append(
            f"residuals are {ratio:.1f}× those of a Kramers–Kronig test circuit on the same "
            f"data (relative RMS {rms:.2%} vs {ref.rms:.2%}): the model does not describe the "
            "data"
        )
    for lo, hi, e, mult in bands:
        problems.append(f"misses {lo:.3g}–{hi:.3g} Hz (residual {e:.2%}, {mult:.0f}× the "
                        f"reference there){band_hint(f, Z, lo, hi)}")
    if ref is not None and ref.noise > MAX_NOISE:
        problems.append(
            f"the data are too noisy to judge a fit: the Kramers–Kronig reference estimates "
            f"the noise at {ref.noise:.0%} of |Z| (above {MAX_NOISE:.0%}); check the file, "
            "the columns read and the measurement"
        )
    if absolute and dof > 0:
        pval = _chi2_pvalue(chi2, dof)
        if pval < 1e-6:
            problems.append(f"χ² = {chi2:.4g} for {dof} degrees of freedom is implausible "
                            f"(p = {pval:.1e}) given the stated σ")
    if not lm.converged:
        if problems or ref is None:
            problems.insert(0, f"optimiser stopped: {lm.message}")
        else:  # at the reference's level: the data are described, a flat direction is not
            warn.append(f"optimiser stopped ({lm.message}) with the residuals at the "
                        "Kramers–Kronig reference's level: the model describes the data, but "
                        "the optimiser was still moving, usually along a direction the data "
                        "hardly determine (see poorly_determined)")
    if problems and at_bound:
        problems.append(f"parameters stuck at a bound: {', '.join(sorted(at_bound))}")
    negative = Z.real < 0
    if problems and negative.any():
        problems.append(
            f"Re Z < 0 at {int(negative.sum())} point(s) ({f[negative].min():.3g}–"
            f"{f[negative].max():.3g} Hz), which the circuit's positive resistances cannot "
            "give (usually an instrument artefact; drop them with "
            "spectrum.exclude(spectrum.Z.real < 0))"
        )
    if not problems and ratio > NOISE_RATIO_LIMIT:
        warn.append(
            f"systematic misfit: residuals are {ratio:.1f}× the Kramers–Kronig reference "
            f"(relative RMS {rms:.2%}, below the {NOISE_FLOOR:.1%} failure floor)"
        )
    if ref is not None and not ref.passed:
        warn.append(f"the data fail the Kramers–Kronig test ({ref.reason}); the fit is judged "
                    "against the best a consistent model can do")
    if at_bound and not problems:
        warn.append(f"parameters at a bound: {', '.join(sorted(at_bound))}")
    values = dict(zip(names, theta))
    id_warn, poor = identifiability(circuit, values, se, setup, f)
    warn += id_warn
    success = not problems
    if problems:
        message = "; ".join(problems)
    elif lm.converged:
        message = f"converged after {nfev} evaluations"
    else:
        message = (f"residuals at the reference level after {nfev} evaluations "
                   f"(optimiser stopped: {lm.message})")
    logl_term = m * np.log(chi2 / m) if chi2 > 0 else -np.inf
    return FitResult(
        circuit=circuit,
        parameter_names=names,
        _values=tuple(float(v) for v in theta),
        _stderr=tuple(0.0 if setup.column[i] < 0 else float(se[i]) for i in range(len(names))),
        _ci=tuple((float(a), float(b)) for a, b in ci),
        covariance=cov,
        free=setup.free,
        fixed=tuple(setup.fixed),
        ties=tuple(setup.ties.items()),
        at_bound=frozenset(at_bound),
        chi2=chi2,
        dof=dof,
        n_points=int(f.size),
        aic=float(logl_term + 2 * p),
        bic=float(logl_term + p * np.log(m)),
        freq=f,
        Z=Z,
        Z_fit=z_fit,
        residuals=res,
        weight=weight_name,
        success=success,
        message=message,
        noise_ratio=float(ratio),
        rms=rms,
        reference_rms=float(ref.rms) if ref is not None else float("nan"),
        nfev=nfev,
        n_starts=n_starts,
        units=tuple(circuit.units.items()),
        init=tuple(float(init[n]) for n in names),
        derived=_derived(circuit, values, cov, names),
        warnings=tuple(warn),
        poorly_determined=tuple(poor),
        meta=tuple(meta.items()),
    )


def simulate(
    circuit: Circuit | str | Preset,
    freq: Any,
    values: Mapping[str, float],
    noise: float = 0.0,
    *,
    kind: str = "modulus",
    seed: int | np.random.Generator | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Spectrum:
    """Impedance of a circuit at ``freq`` with optional Gaussian noise.

    ``kind="modulus"``: real and imaginary parts each get N(0, noise·|Z|) (what modulus
    weighting assumes); ``"proportional"``: N(0, noise·|Z'|) and N(0, noise·|Z''|).
    """
    c, _ = _as_circuit(circuit)
    f = np.asarray(freq, float)
    z = c.impedance(f, values)
    if noise:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if kind == "modulus":
            s_re = s_im = noise * np.abs(z)
        elif kind == "proportional":
            s_re, s_im = noise * np.abs(z.real), noise * np.abs(z.imag)
        else:
            raise FitError(f"unknown noise kind {kind!r}")
        z = z + rng.normal(0, 1, f.size) * s_re + 1j * rng.normal(0, 1, f.size) * s_im
    return Spectrum(f, z, meta={"simulated": str(c), **(meta or {})})
