"""``fit`` and ``simulate``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy import stats

from ..circuit import Circuit, Element, Parallel, Preset, parse
from ..data.spectrum import Spectrum
from ..errors import EisfitWarning, FitError
from .starts import Features, analyse, arc_slots, initial_guesses, signature, slot_tau
from .lm import levenberg_marquardt
from .params import ParamSetup, from_lmfit, setup_parameters
from .result import Derived, FitResult
from .weights import residual_weights, stack, stack_jacobian

__all__ = ["fit", "simulate", "NOISE_RATIO_LIMIT", "NOISE_FLOOR"]

#: A fit whose |Z|-relative residual RMS exceeds this multiple of the noise level
#: (estimated by a Kramers–Kronig-consistent reference fit) is reported as failed …
NOISE_RATIO_LIMIT = 2.5
#: … unless that RMS is below this floor (1 % of |Z|, the accuracy instruments quote over
#: most of their range); below it a systematic misfit is only warned about.
NOISE_FLOOR = 1e-2
#: Above this multiple of the noise level the multi-start tries other starting points.
RETRY_RATIO = 1.3


def _as_circuit(circuit: Any) -> tuple[Circuit, Mapping[str, tuple[float, float]]]:
    if isinstance(circuit, Preset):
        return circuit.circuit, circuit.bounds
    if isinstance(circuit, str):
        from ..circuit import presets

        known = presets()
        if circuit in known:  # a preset name
            return known[circuit].circuit, known[circuit].bounds
        return parse(circuit), {}
    if isinstance(circuit, Circuit):
        return circuit, {}
    raise FitError(f"expected a circuit, circuit text or preset, got {type(circuit).__name__}")


def _as_data(spectrum: Any) -> tuple[np.ndarray, np.ndarray, dict]:
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
    return f[order], z[order], meta


def _objective(compiled, setup: ParamSetup, f, Z, w_re, w_im):
    def fun(x):
        th = setup.theta(x)
        z, J = compiled.z_jac(th, f)
        r = stack(z - Z, w_re, w_im)
        return r, stack_jacobian(J, w_re, w_im) @ setup.dtheta_dx(th)

    return fun


def _relative_rms(zfit: np.ndarray, Z: np.ndarray) -> float:
    d = (zfit - Z) / np.abs(Z)
    return float(np.sqrt(np.mean(d.real**2 + d.imag**2)))


def fit(
    circuit: Circuit | str | Preset,
    spectrum: Spectrum | tuple,
    init: Mapping[str, float] | Any = None,
    weight: str | np.ndarray = "modulus",
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | Iterable[str] | None = None,
    tie: Mapping[str, str] | None = None,
    keep_order: bool = True,
    max_nfev: int = 400,
    multistart: int = 8,
) -> FitResult:
    """Fit an equivalent circuit to a spectrum by weighted complex least squares.

    Parameters
    ----------
    circuit : Circuit, str or Preset
        The model; text is parsed with :func:`eisfit.parse`.
    spectrum : Spectrum or (freq, Z)
        Only unmasked points are used.
    init : mapping, lmfit.Parameters, FitResult or None
        Starting values. ``None`` (default): taken from the data. A partial mapping is
        completed from the data. A FitResult (e.g. of the previous spectrum in a
        sequence) warm-starts from its values. ``lmfit.Parameters`` also set bounds,
        fixed (``vary=False``) and tied (``expr="Q1_n"``) parameters.
    weight : {"modulus", "proportional", "unit"} or array of σ
        See :mod:`eisfit.fit.weights`. Default: residual divided by |Z| of the data.
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
    with np.errstate(all="ignore"):  # trial steps may overflow; results are checked for finiteness
        return _fit(circuit, spectrum, init, weight, bounds, fixed, tie, keep_order, max_nfev, multistart)


def _fit(circuit, spectrum, init, weight, bounds, fixed, tie, keep_order, max_nfev, multistart):
    circuit, preset_bounds = _as_circuit(circuit)
    f, Z, meta = _as_data(spectrum)
    names = circuit.parameters
    user_init: dict[str, float] = {}
    ties = dict(tie or {})
    merged_bounds = dict(preset_bounds)
    fixed_arg = fixed
    if init is not None:
        if isinstance(init, FitResult):
            user_init = {k: v for k, v in init.values.items() if k in names}
        elif hasattr(init, "valuesdict") and hasattr(init, "items"):  # lmfit.Parameters
            user_init, lm_bounds, lm_fixed, lm_ties = from_lmfit(init, names)
            merged_bounds.update(lm_bounds)
            ties = {**lm_ties, **ties}
            if lm_fixed:
                fixed_arg = {**lm_fixed, **(dict(fixed) if isinstance(fixed, Mapping) else {})}
        elif isinstance(init, Mapping):
            user_init = {k: float(v) for k, v in init.items()}
        else:
            raise FitError("init must be a mapping, lmfit.Parameters, a FitResult or None")
        unknown = set(user_init) - set(names)
        if unknown:
            raise FitError(f"init: unknown parameters {sorted(unknown)} (circuit has {', '.join(names)})")
    merged_bounds.update(bounds or {})
    setup = setup_parameters(circuit, merged_bounds, fixed_arg, ties, user_init)
    w_re, w_im, absolute = residual_weights(Z, weight)
    weight_name = weight if isinstance(weight, str) else "sigma"

    feat = analyse(f, Z)

    def complete(g: dict[str, float]) -> dict[str, float]:
        g.update(setup.fixed)
        for dep, src in setup.ties.items():
            g[dep] = g[src]
        return g

    def auto_guesses() -> list[dict[str, float]]:
        return [complete(g) for g in initial_guesses(circuit, feat, max_guesses=max(multistart, 1))]

    if user_init and set(user_init) >= set(setup.free):  # e.g. a warm start: data guesses only if needed
        guesses = [complete(dict(user_init))]
    else:
        guesses = auto_guesses()
        if user_init:
            guesses = [complete({**guesses[0], **user_init})] + guesses
    first = guesses[0]

    compiled = circuit.compile()
    fun = _objective(compiled, setup, f, Z, w_re, w_im)
    xlo, xhi = setup.x_bounds()
    limit = max(NOISE_RATIO_LIMIT * feat.ref_rms, NOISE_FLOOR)
    good_enough = max(RETRY_RATIO * feat.ref_rms, 1e-3)

    def quality(res) -> float:
        th = setup.theta(res.x)
        return _relative_rms(compiled.z(th, f), Z)

    best = levenberg_marquardt(fun, setup.to_x(first), xlo, xhi, max_nfev=max_nfev)
    n_starts = 1
    nfev = best.nfev
    if (quality(best) > good_enough or not best.converged) and multistart > 1:
        if len(guesses) == 1:
            guesses += auto_guesses()
        trials = [best]
        for g in guesses[1:multistart]:
            t = levenberg_marquardt(fun, setup.to_x(g), xlo, xhi, max_nfev=60)
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
        feat, limit, nfev, n_starts, first, meta,
    )


def _order_arcs(circuit: Circuit, setup: ParamSetup, theta: np.ndarray) -> np.ndarray:
    """Permute interchangeable top-level arcs so their time constants increase.

    Arcs are interchangeable when they have the same structure and none of their
    parameters is fixed or tied; a permutation is applied only if every moved value lies
    within the bounds of the parameter it moves to (the fitted Z is unchanged by it).
    """
    names = list(setup.names)
    values = dict(zip(names, theta))
    index = {n: i for i, n in enumerate(names)}
    locked = set(setup.fixed) | set(setup.ties) | set(setup.ties.values())
    groups: dict[Any, list[Parallel]] = {}
    for arc in arc_slots(circuit):
        pn = [p for e in arc.elements for p in e.param_names]
        if not locked.intersection(pn):
            groups.setdefault(signature(arc), []).append(arc)
    out = dict(values)
    for arcs in groups.values():
        taus = [slot_tau(a, values) for a in arcs]
        if len(arcs) < 2 or not all(np.isfinite(taus)):
            continue
        order = np.argsort(taus, kind="stable")
        moved = {}
        for dst, src in zip(arcs, [arcs[i] for i in order]):
            for pd_, ps in zip(
                [p for e in dst.elements for p in e.param_names],
                [p for e in src.elements for p in e.param_names],
            ):
                moved[pd_] = values[ps]
        if all(setup.lo[index[n]] <= v <= setup.hi[index[n]] for n, v in moved.items()):
            out.update(moved)
    return np.array([out[n] for n in names])


def _derived(circuit: Circuit, values: dict[str, float], cov: np.ndarray, names) -> tuple[Derived, ...]:
    """τ, characteristic frequency and Brug effective capacitance, with delta-method errors."""
    idx = {n: i for i, n in enumerate(names)}
    items: list[tuple[str, str, str, list[str], Any]] = []
    for arc in arc_slots(circuit):
        rs = [e for e in arc.children if isinstance(e, Element) and e.kind == "R"]
        cs = [e for e in arc.children if isinstance(e, Element) and e.kind in ("C", "Q")]
        if len(rs) != 1 or len(cs) != 1 or len(arc.children) != 2:
            continue
        r, c = rs[0].name, cs[0]
        label = f"{r}|{c.name}"
        if c.kind == "C":
            ps = [r, c.name]
            items.append((label, "tau", "s", ps, lambda v: v[0] * v[1]))
            items.append((label, "f_peak", "Hz", ps, lambda v: 1 / (2 * np.pi * v[0] * v[1])))
        else:
            ps = [r, c.name + "_Q", c.name + "_n"]
            items.append((label, "tau", "s", ps, lambda v: (v[0] * v[1]) ** (1 / v[2])))
            items.append((label, "f_peak", "Hz", ps, lambda v: 1 / (2 * np.pi * (v[0] * v[1]) ** (1 / v[2]))))
            items.append((label, "C_eff", "F", ps, lambda v: v[1] ** (1 / v[2]) * v[0] ** (1 / v[2] - 1)))
    for e in circuit.elements:
        if e.kind in ("Wo", "Ws", "G", "H"):
            ps = [e.name + "_tau"]
            items.append((e.name, "f_char", "Hz", ps, lambda v: 1 / (2 * np.pi * v[0])))
    out = []
    for label, q, unit, ps, fn in items:
        v = np.array([values[p] for p in ps])
        val = float(fn(v))
        grad = np.empty(len(ps))
        for k in range(len(ps)):
            h = 1e-6 * abs(v[k]) or 1e-9
            vp = v.copy()
            vp[k] += h
            grad[k] = (fn(vp) - val) / h
        ii = [idx[p] for p in ps]
        var = float(grad @ cov[np.ix_(ii, ii)] @ grad)
        out.append(Derived(label, q, val, float(np.sqrt(var)) if var >= 0 else float("nan"), unit))
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


def _build_result(circuit, setup, compiled, f, Z, w_re, w_im, absolute, weight_name, theta,
                  lm, feat: Features, limit, nfev, n_starts, init, meta) -> FitResult:
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
    cov_x, bad = _covariance_x(Jx, s2)
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
    tq = stats.t.ppf(0.975, max(dof, 1))
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
    # bounds reached
    at_bound = set()
    for i, n in enumerate(names):
        if setup.column[i] < 0:
            continue
        lo, hi = setup.lo[i], setup.hi[i]
        tol = 1e-6 * max(abs(lo), abs(hi) if np.isfinite(hi) else 0, 1e-300)
        if (np.isfinite(lo) and theta[i] - lo <= max(tol, 1e-9 * abs(theta[i]))) or (
            np.isfinite(hi) and hi - theta[i] <= max(tol, 1e-9 * abs(theta[i]))
        ):
            if not (setup.log[i] and lo == 0):
                at_bound.add(n)
    rel = _relative_rms(z_fit, Z)
    ratio = rel / feat.ref_rms if feat.ref_rms > 0 else np.inf
    problems = []
    if not lm.converged:
        problems.append(f"optimiser stopped: {lm.message}")
    if not np.all(np.isfinite(z_fit)):
        problems.append("model is not finite at the fitted values")
    if rel > limit:
        problems.append(
            f"residuals are {ratio:.1f}× the noise level of the data (relative RMS {rel:.2%} vs "
            f"{feat.ref_rms:.2%} for a Kramers–Kronig-consistent reference): the model does not "
            "describe the data"
        )
        if at_bound:
            problems.append(f"parameters stuck at a bound: {', '.join(sorted(at_bound))}")
    if absolute and dof > 0:
        pval = stats.chi2.sf(chi2, dof)
        if pval < 1e-6:
            problems.append(f"χ² = {chi2:.4g} for {dof} degrees of freedom is implausible (p = {pval:.1e}) given the stated σ")
    if not problems and ratio > NOISE_RATIO_LIMIT:
        warn.append(
            f"systematic misfit: residuals are {ratio:.1f}× the noise level (relative RMS {rel:.2%}, "
            f"below the {NOISE_FLOOR:.0%} failure floor)"
        )
    if at_bound and not problems:
        warn.append(f"parameters at a bound: {', '.join(sorted(at_bound))}")
    relse = [n for i, n in enumerate(names) if setup.column[i] >= 0 and np.isfinite(se[i]) and se[i] > abs(theta[i])]
    if relse:
        warn.append(f"poorly determined (stderr > 100 %): {', '.join(relse)}")
    success = not problems
    message = "; ".join(problems) if problems else f"converged after {nfev} evaluations"
    logl_term = m * np.log(chi2 / m) if chi2 > 0 else -np.inf
    values = dict(zip(names, theta))
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
        n_points=m,
        aic=float(logl_term + 2 * p),
        bic=float(logl_term + p * np.log(m)),
        freq=f,
        Z=Z,
        Z_fit=z_fit,
        residuals=w_re * (z_fit - Z).real + 1j * w_im * (z_fit - Z).imag,
        weight=weight_name,
        success=success,
        message=message,
        noise_ratio=float(ratio),
        nfev=nfev,
        n_starts=n_starts,
        units=tuple(circuit.units.items()),
        init=tuple(float(init[n]) for n in names),
        derived=_derived(circuit, values, cov, names),
        warnings=tuple(warn),
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
