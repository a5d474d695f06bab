"""Joint fits of spectrum sequences: ground truth from closed-form impedances (plain numpy)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import eisfit as ef
from eisfit.fitting.arrowhead import ArrowFactor, Arrowhead

TWO_ARCS = "R0 - (R1 | Q1) - (R2 | Q2)"


def zarc(f, R, tau, n):
    """R ‖ CPE with time constant τ: R / (1 + (jωτ)ⁿ) (eisfit's Q = τⁿ / R)."""
    return R / (1 + (2j * np.pi * f * tau) ** n)


def noisy(Z, eps, rng):
    return Z + eps * np.abs(Z) * (rng.standard_normal(Z.size) + 1j * rng.standard_normal(Z.size))


def two_arc_truth(K, overtake=False):
    """Resistances that grow along the sequence; with ``overtake`` arc 1's time constant
    grows past arc 2's (10× faster at the start, 3× slower at the end)."""
    s = np.linspace(0, 1, K)
    R1 = 10 * (1 + 2 * s + 1.5 * s**2)
    R2 = 20 * (1 + 0.75 * s**1.5)
    tau1 = 10 ** (-3.5 + (1.5 if overtake else 0.3) * s**1.3)
    tau2 = np.full(K, 10**-2.5)
    return [dict(R0=10.0, R1=R1[k], tau1=tau1[k], n1=0.9, R2=R2[k], tau2=tau2[k], n2=0.8)
            for k in range(K)]


def as_params(t):
    return {"R0": t["R0"], "R1": t["R1"], "Q1_Q": t["tau1"] ** t["n1"] / t["R1"], "Q1_n": t["n1"],
            "R2": t["R2"], "Q2_Q": t["tau2"] ** t["n2"] / t["R2"], "Q2_n": t["n2"]}


def two_arc_spectra(truths, eps, seed, grids=None):
    rng = np.random.default_rng(seed)
    out = []
    for k, t in enumerate(truths):
        f = np.logspace(5, -2, 50) if grids is None else grids[k]
        Z = t["R0"] + zarc(f, t["R1"], t["tau1"], t["n1"]) + zarc(f, t["R2"], t["tau2"], t["n2"])
        out.append((f, noisy(Z, eps, rng) if eps else Z))
    return out


def arc_tau(v, i):
    return (v[f"R{i}"] * v[f"Q{i}_Q"]) ** (1 / v[f"Q{i}_n"])


def swapped(values, truth) -> bool:
    """Whether the fitted arcs match the true arcs better with labels exchanged (distance
    in ln R, ln τ and n together, so a crossing of R alone or of τ alone is not a swap)."""
    fit = [(np.log(values[f"R{i}"]), np.log(arc_tau(values, i)), values[f"Q{i}_n"]) for i in (1, 2)]
    tru = [(np.log(truth[f"R{i}"]), np.log(truth[f"tau{i}"]), truth[f"n{i}"]) for i in (1, 2)]

    def d(a, b):
        return abs(a[0] - b[0]) + abs(a[1] - b[1]) + 10 * abs(a[2] - b[2])

    return d(fit[0], tru[1]) + d(fit[1], tru[0]) < d(fit[0], tru[0]) + d(fit[1], tru[1])


# -- recovery ------------------------------------------------------------------------------
def test_shared_parameters_are_recovered():
    truths = two_arc_truth(20)
    spectra = two_arc_spectra(truths, 0.01, seed=1)
    res = ef.fit_sequence(TWO_ARCS, spectra, shared=["R0", "Q1_n", "Q2_n"])
    assert res.converged, res.message
    assert set(res.shared) == {"R0", "Q1_n", "Q2_n"}
    for name, true in {"R0": 10.0, "Q1_n": 0.9, "Q2_n": 0.8}.items():
        est, se = res.shared[name], res.shared_stderr[name]
        assert 0 < se < 0.02 * true, name
        assert abs(est - true) < 4 * se, (name, est, se)
        # every spectrum carries the one shared value
        assert all(f.values[name] == est for f in res.fits)
    for k, t in enumerate(truths):
        assert res.fits[k].values["R1"] == pytest.approx(t["R1"], rel=0.1)
        assert res.fits[k].values["R2"] == pytest.approx(t["R2"], rel=0.1)


def test_smooth_zero_reproduces_independent_fits():
    m = ef.parse("R0 - (R1 | Q1) - (R2 | C2)")
    rng = np.random.default_rng(0)
    spectra = []
    for k in range(6):
        f = np.logspace(5, -1, 30 + 3 * k)
        Z = 5 + zarc(f, 20 + 3 * k, 1e-4, 0.88) + zarc(f, 50 - 2 * k, 0.5, 1.0)
        spectra.append((f, noisy(Z, 0.01, rng)))
    res = ef.fit_sequence(m, spectra, smooth=0)
    assert res.smooth_method == "none" and res.shared == {}
    for (f, Z), joint in zip(spectra, res.fits):
        alone = ef.fit(m, (f, Z))
        assert joint.n_points == alone.n_points == f.size
        assert joint.success == alone.success
        for n in m.parameters:
            assert joint.values[n] == pytest.approx(alone.values[n], rel=1e-5), n
            assert joint.stderr[n] == pytest.approx(alone.stderr[n], rel=1e-4), n
        np.testing.assert_allclose(joint.residuals, alone.residuals, atol=1e-6)


def test_smooth_none_with_shared_recovers_noise_free_truth():
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 30)
    spectra = [(f, 3.0 + 40 * (1 + 0.2 * k) / (1 + 2j * np.pi * f * 40 * (1 + 0.2 * k) * 1e-3))
               for k in range(5)]
    res = ef.fit_sequence(m, spectra, shared=["C1"], smooth=None)
    assert res.shared["C1"] == pytest.approx(1e-3, rel=1e-6)
    np.testing.assert_allclose(res.values("R1"), 40 * (1 + 0.2 * np.arange(5)), rtol=1e-6)
    np.testing.assert_allclose(res.values("R0"), 3.0, rtol=1e-6)


# -- identity ------------------------------------------------------------------------------
def test_arc_that_overtakes_in_time_constant_keeps_its_identity():
    truths = two_arc_truth(40, overtake=True)
    spectra = two_arc_spectra(truths, 0.01, seed=3)
    # the twin: fitted one by one with labels ordered by τ, the labels swap after the crossing
    late = ef.fit(TWO_ARCS, spectra[-1])
    assert swapped(late.values, truths[-1])
    res = ef.fit_sequence(TWO_ARCS, spectra, shared=["R0", "Q1_n", "Q2_n"])
    assert not any(swapped(f.values, t) for f, t in zip(res.fits, truths))
    assert arc_tau(res.fits[0].values, 1) < arc_tau(res.fits[0].values, 2)
    assert arc_tau(res.fits[-1].values, 1) > arc_tau(res.fits[-1].values, 2)
    for name in ("R1", "R2"):
        err = np.abs(res.values(name) / [t[name] for t in truths] - 1)
        assert np.median(err) < 0.05, name


def test_different_frequency_grids_per_spectrum():
    rng = np.random.default_rng(7)
    truths = two_arc_truth(12)
    grids = [np.logspace(5 + rng.uniform(-0.5, 0.2), -2 + rng.uniform(-0.3, 0.5),
                         rng.integers(25, 61)) for _ in truths]
    spectra = two_arc_spectra(truths, 1e-4, seed=2, grids=grids)
    res = ef.fit_sequence(TWO_ARCS, spectra, shared=["Q1_n", "Q2_n"])
    for k, (fit, t) in enumerate(zip(res.fits, truths)):
        np.testing.assert_allclose(fit.freq, np.sort(grids[k]))
        assert fit.n_points == grids[k].size
        for name, v in as_params(t).items():
            assert fit.values[name] == pytest.approx(v, rel=0.01), (k, name)
        assert fit.success, fit.message


def test_uneven_coordinate_uses_divided_differences():
    """ln R1 linear in an unevenly spaced coordinate lies in the penalty's null space: a
    very strong penalty then costs nothing (undivided differences would bend it)."""
    c = np.array([0.0, 1, 2, 5, 6, 10, 11, 12, 20, 21])
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 25)
    R1 = 30 * np.exp(0.05 * c)
    spectra = [(f, 2 + r / (1 + 2j * np.pi * f * r * 2e-4)) for r in R1]
    res = ef.fit_sequence(m, spectra, shared=["R0", "C1"], smooth=1e12, coordinate=c)
    np.testing.assert_allclose(res.values("R1"), R1, rtol=1e-5)
    # the same sequence in other units of the coordinate: the same fit (spacing is normalised)
    res2 = ef.fit_sequence(m, spectra, shared=["R0", "C1"], smooth=1e12, coordinate=1000 * c)
    np.testing.assert_allclose(res2.values("R1"), res.values("R1"), rtol=1e-8)


def test_decreasing_coordinate_is_accepted():
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 25)
    spectra = [(f, 2 + r / (1 + 2j * np.pi * f * r * 2e-4)) for r in (10, 12, 14, 16)]
    res = ef.fit_sequence(m, spectra, shared=["C1"], coordinate=[100, 75, 50, 25])
    np.testing.assert_allclose(res.coordinate, [100, 75, 50, 25])
    np.testing.assert_allclose(res.values("R1"), [10, 12, 14, 16], rtol=1e-4)


# -- uncertainties ----------------------------------------------------------------------------
def test_standard_errors_equal_a_dense_covariance():
    """Selected inversion of the sparse joint matrix against the dense inverse of a
    finite-difference Jacobian of the full penalised residual vector (σ known: cov = M⁻¹)."""
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 20)
    K, lam, sigma_rel = 6, 30.0, 0.01
    rng = np.random.default_rng(5)
    spectra, sigmas = [], []
    for k in range(K):
        R1, C1 = 10 + 2 * k + k**2, 1e-3 * (1 + 0.1 * k)
        Z0 = 2.0 + R1 / (1 + 2j * np.pi * f * R1 * C1)
        sig = sigma_rel * np.abs(Z0)
        e = rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)
        spectra.append((f, Z0 + sig * e))
        sigmas.append(sig)
    res = ef.fit_sequence(m, spectra, shared=["R0"], smooth=lam, weight=sigmas)

    # unknowns: ln R1_k, ln C1_k for k = 0..K-1, then ln R0
    x = np.array([np.log(res.fits[k].values[n]) for k in range(K) for n in ("R1", "C1")]
                 + [np.log(res.shared["R0"])])
    D = np.zeros((K - 2, K))
    for i in range(K - 2):
        D[i, i:i + 3] = (1, -2, 1)

    def residuals(x):
        X = x[:-1].reshape(K, 2)
        R0 = np.exp(x[-1])
        out = []
        for k, ((ff, Z), sig) in enumerate(zip(spectra, sigmas)):
            R1, C1 = np.exp(X[k])
            d = (R0 + R1 / (1 + 2j * np.pi * ff * R1 * C1) - Z) / sig
            out += [d.real, d.imag]
        for j in range(2):
            out.append(np.sqrt(lam) * D @ X[:, j])
        return np.concatenate(out)

    h = 1e-6
    J = np.array([(residuals(x + h * e) - residuals(x - h * e)) / (2 * h)
                  for e in np.eye(x.size)]).T
    cov = np.linalg.inv(J.T @ J)
    for k in range(K):
        for j, n in enumerate(("R1", "C1")):
            i = 2 * k + j
            dense = np.exp(x[i]) * np.sqrt(cov[i, i])
            assert res.fits[k].stderr[n] == pytest.approx(dense, rel=1e-4)
        # covariance with the shared parameter, in natural units
        c = res.fits[k].covariance[m.parameters.index("R1"), m.parameters.index("R0")]
        assert c == pytest.approx(np.exp(x[2 * k] + x[-1]) * cov[2 * k, -1], rel=1e-4)
    dense = res.shared["R0"] * np.sqrt(cov[-1, -1])
    assert res.shared_stderr["R0"] == pytest.approx(dense, rel=1e-4)
    assert res.shared_covariance[0, 0] == pytest.approx(res.shared_stderr["R0"] ** 2, rel=1e-12)
    # the objective at the optimum: a stationary point of the same penalised sum of squares
    g = J.T @ residuals(x)
    assert np.max(np.abs(g)) < 1e-4 * np.sqrt(np.sum(residuals(x) ** 2))


def test_selected_inverse_of_a_banded_arrowhead():
    rng = np.random.default_rng(11)
    K, p, s = 9, 3, 2
    n, u = K * p, 2 * p
    A = np.zeros((n + s, n + s))
    for k in range(K):  # per-spectrum blocks, second-difference coupling, shared rows
        G = rng.normal(size=(8, p + s))
        idx = list(range(k * p, k * p + p)) + [n, n + 1]
        A[np.ix_(idx, idx)] += G.T @ G
    D = np.zeros((K - 2, K))
    for i in range(K - 2):
        D[i, i:i + 3] = (1, -2, 1)
    A[:n, :n] += np.kron(D.T @ D, np.diag([3.0, 0.5, 7.0]))
    M = Arrowhead.from_dense(A, n=n, u=u)
    np.testing.assert_allclose(M.todense(), A)
    fac = ArrowFactor(M)
    inv = np.linalg.inv(A)
    for block in (None, p):  # scalar and block recurrences
        band, cross, shared = fac.selected_inverse(block=block)
        for d in range(u + 1):
            np.testing.assert_allclose(band[d, : n - d], np.diag(inv[:n, :n], d), rtol=1e-9,
                                       atol=1e-12)
        np.testing.assert_allclose(cross, inv[:n, n:], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(shared, inv[n:, n:], rtol=1e-9)
    b = rng.normal(size=n + s)
    xL, xS = fac.solve(b[:n], b[n:])
    np.testing.assert_allclose(np.r_[xL, xS], np.linalg.solve(A, b), rtol=1e-9)
    yL, yS = M.matvec(xL, xS)
    np.testing.assert_allclose(np.r_[yL, yS], b, rtol=1e-9, atol=1e-12)
    assert fac.logdet() == pytest.approx(np.linalg.slogdet(A)[1], rel=1e-10)


def test_confidence_intervals_cover_the_truth():
    """Over many short sequences the 95 % intervals of the local and the shared parameters
    cover the truth about 95 % of the time (ln R1 linear: no smoothing bias)."""
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 20)
    K = 8
    R1 = 20 * np.exp(0.08 * np.arange(K))
    hits_local, hits_shared = [], []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        spectra = [(f, noisy(5 + r / (1 + 2j * np.pi * f * r * 1e-3), 0.02, rng)) for r in R1]
        res = ef.fit_sequence(m, spectra, shared=["R0"])
        for k, fit in enumerate(res.fits):
            lo, hi = fit.ci["R1"]
            hits_local.append(lo <= R1[k] <= hi)
            lo, hi = fit.ci["C1"]
            hits_local.append(lo <= 1e-3 <= hi)
        lo, hi = res.fits[0].ci["R0"]
        hits_shared.append(lo <= 5 <= hi)
    assert 0.88 <= np.mean(hits_local) <= 1.0
    assert np.mean(hits_shared) >= 0.8


# -- the result ------------------------------------------------------------------------------
def small_result():
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 25)
    rng = np.random.default_rng(0)
    spectra = [(f, noisy(2 + r / (1 + 2j * np.pi * f * r * 2e-4), 0.005, rng))
               for r in (10, 11, 12.5, 14)]
    return ef.fit_sequence(m, spectra, shared=["R0"], coordinate=[1, 2, 3, 4])


def test_result_is_immutable_and_tidy():
    res = small_result()
    assert isinstance(res, ef.SequenceResult) and len(res) == 4
    assert all(isinstance(f, ef.FitResult) for f in res)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.message = "x"
    for arr in (res.coordinate, res.noise, res.shared_covariance):
        with pytest.raises(ValueError):
            arr[0] = 0
    with pytest.raises(TypeError):
        res.smooth["R1"] = 1.0
    df = res.to_frame()
    assert len(df) == 4 * 3
    assert list(df.columns) == ["index", "coordinate", "parameter", "value", "stderr", "ci_low",
                                "ci_high", "unit", "status", "success"]
    status = dict(zip(df.parameter, df.status))
    assert status == {"R0": "shared", "R1": "free", "C1": "free"}
    r1 = df[df.parameter == "R1"]
    np.testing.assert_allclose(r1.value, res.values("R1"))
    np.testing.assert_allclose(r1.coordinate, [1, 2, 3, 4])
    assert "R0" in res._repr_html_() and "SequenceResult" in repr(res)
    assert "shared" in res.report()
    with pytest.raises(KeyError):
        res.values("R9")
    assert set(res.smooth) == {"R1", "C1"}
    assert res.fits[2].meta and dict(res.fits[2].meta)["sequence_index"] == 2


def test_fixed_and_tied_parameters():
    m = ef.parse("R0 - (R1 | Q1) - (R2 | Q2)")
    truths = two_arc_truth(8)
    spectra = two_arc_spectra(truths, 1e-4, seed=4)
    res = ef.fit_sequence(m, spectra, shared=["Q1_n"], fixed={"R0": 10.0}, tie={"Q2_n": "Q1_n"},
                          smooth=0)
    assert all(f.values["R0"] == 10.0 and f.stderr["R0"] == 0.0 for f in res.fits)
    assert all(f.values["Q2_n"] == f.values["Q1_n"] == res.shared["Q1_n"] for f in res.fits)
    assert res.to_frame().set_index("parameter").loc["Q2_n", "status"].iloc[0] == "tied to Q1_n"


def test_every_parameter_shared_is_one_fit_of_all_the_data():
    """With σ weights (no per-spectrum noise scaling) and every parameter shared, the joint
    fit is one least-squares fit of the pooled points: ef.fit on the concatenated data."""
    m = ef.parse("R0 - (R1 | C1)")
    rng = np.random.default_rng(8)
    spectra, sigmas = [], []
    for k in range(4):
        f = np.logspace(4 - 0.01 * k, -2 + 0.01 * k, 20)  # distinct grids: no tied frequencies
        Z0 = 2 + 10 / (1 + 2j * np.pi * f * 10 * 2e-4)
        sig = 0.01 * np.abs(Z0)
        spectra.append((f, Z0 + sig * (rng.standard_normal(20) + 1j * rng.standard_normal(20))))
        sigmas.append(sig)
    res = ef.fit_sequence(m, spectra, shared=m.parameters, weight=sigmas)
    f = np.concatenate([s[0] for s in spectra])
    order = np.argsort(f)
    Z = np.concatenate([s[1] for s in spectra])[order]
    pooled = ef.fit(m, (f[order], Z), weight=np.concatenate(sigmas)[order])
    for n in m.parameters:
        assert res.shared[n] == pytest.approx(pooled.values[n], rel=1e-6), n
        assert res.shared_stderr[n] == pytest.approx(pooled.stderr[n], rel=1e-4), n
    assert res.smooth == {} and res.smooth_method == "none"


def test_per_spectrum_starting_values():
    """Starting values per spectrum (e.g. an earlier fit) lead to the same optimum."""
    truths = two_arc_truth(10)
    spectra = two_arc_spectra(truths, 0.005, seed=6)
    first = ef.fit_sequence(TWO_ARCS, spectra, shared=["R0", "Q1_n", "Q2_n"], smooth=1e4)
    again = ef.fit_sequence(TWO_ARCS, spectra, shared=["R0", "Q1_n", "Q2_n"], smooth=1e4,
                            init=list(first.fits))
    for a, b in zip(first.fits, again.fits):
        for n in ("R1", "R2", "Q1_Q", "Q2_Q"):
            assert b.values[n] == pytest.approx(a.values[n], rel=1e-4), n
    assert again.shared["Q1_n"] == pytest.approx(first.shared["Q1_n"], rel=1e-5)


def test_one_and_two_spectra():
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 25)
    spec = (f, 2 + 10 / (1 + 2j * np.pi * f * 10 * 2e-4))
    one = ef.fit_sequence(m, [spec])
    assert one.fits[0].values["R1"] == pytest.approx(10, rel=1e-6)
    with pytest.warns(ef.EisfitWarning, match="too few"):
        two = ef.fit_sequence(m, [spec, spec], smooth=5.0)
    assert two.smooth_method == "none"


# -- the vectorised evaluation the joint fit relies on --------------------------------------
def test_compiled_circuit_takes_one_parameter_value_per_point():
    c = ef.parse("R0 - (R1 | Q1) - Wo2 - La3 - H4 - T5 - Tb6 - G7 - W8 - L9 - Ws10 - C11")
    cc = c.compile()
    rng = np.random.default_rng(1)
    f1, f2 = np.logspace(5, -2, 17), np.logspace(3, -1, 9)
    typical = np.array([s.typical for s in c.param_specs.values()])
    th1 = typical * rng.uniform(0.5, 1.0, typical.size)
    th2 = th1 * rng.uniform(0.8, 1.2, th1.size)
    per_point = np.hstack((np.repeat(th1[:, None], f1.size, 1),
                           np.repeat(th2[:, None], f2.size, 1)))
    z, J = cc.z_jac(per_point, np.r_[f1, f2])
    z1, J1 = cc.z_jac(th1, f1)
    z2, J2 = cc.z_jac(th2, f2)
    np.testing.assert_allclose(z, np.r_[z1, z2], rtol=1e-12)
    np.testing.assert_allclose(J, np.hstack((J1, J2)), rtol=1e-12, atol=1e-300)


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(coordinate=[0, 1]), "coordinate has 2 values for 3 spectra"),
    (dict(coordinate=[0, 2, 1]), "strictly increasing"),
    (dict(coordinate=[0, 1, 1]), "strictly increasing"),
    (dict(shared=["R_1"]), "unknown parameter 'R_1'; did you mean 'R1'"),
    (dict(shared=["R1"], fixed={"R1": 3.0}), "fixed"),
    (dict(smooth="gcv"), "smooth must be"),
    (dict(smooth=-1.0), "≥ 0"),
    (dict(smooth={"R0": 1.0}, shared=["R0"]), "not a free per-spectrum parameter"),
    (dict(smooth={"Rx": 1.0}), "unknown parameter"),
    (dict(init=[{"R0": 1, "R1": 1, "C1": 1e-3}]), "1 starting values for 3 spectra"),
])
def test_bad_input_raises_fit_error(kwargs, match):
    m = ef.parse("R0 - (R1 | C1)")
    f = np.logspace(4, -2, 25)
    spectra = [(f, 2 + 10 / (1 + 2j * np.pi * f * 10 * 2e-4))] * 3
    with pytest.raises(ef.FitError, match=match) as info:
        ef.fit_sequence(m, spectra, **kwargs)
    assert isinstance(info.value, ValueError)


def test_empty_and_malformed_sequences():
    with pytest.raises(ef.FitError, match="empty sequence"):
        ef.fit_sequence("R0 - (R1 | C1)", [])
    with pytest.raises(ef.FitError, match="Spectrum or a"):
        ef.fit_sequence("R0 - (R1 | C1)", [np.zeros(3)])
    with pytest.raises(ef.FitError, match="sequence of Spectrum"):
        ef.fit_sequence("R0 - (R1 | C1)", 42)
