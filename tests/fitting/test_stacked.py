"""Stacked fits: the same answers as ``ef.fit`` one spectrum at a time, from ground truth."""

import numpy as np
import pytest

import eisfit as ef
from eisfit.fitting.lm import levenberg_marquardt, levenberg_marquardt_stacked
from eisfit.fitting.stacked import fit_stacked, stacked_results

MODEL = ef.parse("R0 - (R1 | Q1) - (R2 | Q2)")
F = np.logspace(5, -1, 40)


def q_of(r, tau, n):
    return tau**n / r


def truth(k: int) -> dict[str, float]:
    """The k-th cell state: resistances growing, time constants fixed."""
    r1, r2 = 50 * (1 + 0.02 * k), 120 * (1 + 0.03 * k)
    return dict(R0=10 * (1 + 0.01 * k), R1=r1, Q1_Q=q_of(r1, 1e-4, 0.9), Q1_n=0.9,
                R2=r2, Q2_Q=q_of(r2, 0.1, 0.8), Q2_n=0.8)


#: the start of every block: the first state, off by 20 % (a predecessor's result)
START = {k: (v if k.endswith("_n") else 1.2 * v) for k, v in truth(0).items()}


def spectra(n: int, freqs=None, seed: int = 0):
    out = []
    for k in range(n):
        f = F if freqs is None else freqs[k % len(freqs)]
        out.append(ef.simulate(MODEL, f, truth(k), noise=0.005, seed=seed + k))
    return out


def assert_same(a, b, tol=1e-3):
    """Two results of one spectrum agree: same verdict, values within tol·stderr."""
    assert a.success == b.success, (a.message, b.message)
    for n in a.parameter_names:
        se = a.stderr[n]
        if se > 0 and np.isfinite(se):
            assert abs(a.values[n] - b.values[n]) <= tol * se + 1e-12 * abs(a.values[n]), n
        else:
            assert a.values[n] == pytest.approx(b.values[n], rel=1e-6), n


#: a spectrum of another cell's model in the block: four well separated arcs
FOUR_ARCS = ("R0 - (R1 | C1) - (R2 | C2) - (R3 | C3) - (R4 | C4)",
             dict(R0=5, R1=100, C1=1e-7, R2=100, C2=1e-5, R3=100, C3=1e-3, R4=100, C4=1e-1))


# -- the solver: the serial iteration, problem by problem --------------------------------
def _exp_problem(rates, t):
    y = np.exp(-np.outer(rates, t)) + 0.1

    def stacked(X, rows):
        e = np.exp(-X[:, :1] * t) * X[:, 1:2]
        r = e + X[:, 2:3] - y[rows]
        J = np.stack((-t * e, e / X[:, 1:2], np.ones_like(e)), axis=2)
        return r, J

    def single(k):
        return lambda x: tuple(a[0] for a in stacked(x[None], np.array([k])))

    return stacked, single


@pytest.mark.parametrize("hi_rate", [np.inf, 2.0], ids=["free", "bound active"])
def test_solver_repeats_the_serial_iteration(hi_rate):
    t = np.linspace(0, 3, 30)
    rates = np.array([0.5, 1.0, 3.0, 8.0])
    stacked, single = _exp_problem(rates, t)
    lo, hi = np.array([0.0, 0.1, -1.0]), np.array([hi_rate, 5.0, 1.0])
    x0 = np.array([[1.5, 1.2, 0.0]] * rates.size)
    got = levenberg_marquardt_stacked(stacked, x0, lo, hi)
    for k, g in enumerate(got):
        want = levenberg_marquardt(single(k), x0[k], lo, hi)
        np.testing.assert_allclose(g.x, want.x, rtol=1e-9, atol=1e-12)
        assert (g.nfev, g.converged, g.message) == (want.nfev, want.converged, want.message)
    if np.isfinite(hi_rate):
        assert got[3].x[0] == hi_rate  # held at its bound


def test_solver_stops_a_problem_that_is_not_finite_at_its_start():
    t = np.linspace(0, 3, 30)
    stacked, _ = _exp_problem(np.array([1.0, 2.0]), t)
    x0 = np.array([[1.5, 1.0, 0.0], [np.nan, 1.0, 0.0]])
    a, b = levenberg_marquardt_stacked(stacked, x0, np.full(3, -10.0), np.full(3, 10.0))
    assert a.converged and a.x[0] == pytest.approx(1.0, rel=1e-6)
    assert not b.converged and b.message == "model is not finite at the starting point"


# -- fits: ground truth and agreement with ef.fit ----------------------------------------
def test_recovers_the_truth_and_agrees_with_ef_fit():
    specs = spectra(12)
    got = fit_stacked(MODEL, specs, START)
    for k, (spec, res) in enumerate(zip(specs, got)):
        assert res.success, res.message
        for n, v in truth(k).items():
            assert abs(res.values[n] - v) <= 5 * res.stderr[n], (k, n)
        assert_same(ef.fit(MODEL, spec, init=START), res)
        assert res.init == tuple(START[n] for n in res.parameter_names)
        assert res.n_starts == 1


def test_a_chained_block_gives_the_serial_warm_started_sequence():
    """chain=True: each spectrum from its predecessor's result, as ef.fit in order would."""
    specs = spectra(20)
    first = ef.fit(MODEL, specs[0])
    serial, prev = [], first
    for spec in specs[1:]:
        prev = ef.fit(MODEL, spec, init=prev)
        serial.append(prev)
    got = fit_stacked(MODEL, specs[1:], first, chain=True)
    for a, b in zip(serial, got):
        assert_same(a, b, tol=1e-6)
        np.testing.assert_allclose(b.init, a.init, rtol=1e-5)
    # every spectrum from the same start instead: the same minima here, other starts
    alone = fit_stacked(MODEL, specs[1:], first)
    assert all(r.init == alone[0].init for r in alone)
    for a, b in zip(serial, alone):
        assert_same(a, b, tol=1e-3)


def test_a_chain_goes_on_from_a_refitted_spectrum_as_the_serial_sequence():
    specs = spectra(12)
    foreign = ef.simulate(FOUR_ARCS[0], F, FOUR_ARCS[1], noise=0.002, seed=1)
    seq = specs[1:5] + [foreign] + specs[5:]
    first = ef.fit(MODEL, specs[0])
    serial, prev = [], first
    for spec in seq:
        res = ef.fit(MODEL, spec, init=prev)
        if not res.success:
            cold = ef.fit(MODEL, spec)
            res = cold if cold.success or cold.chi2 < res.chi2 else res
        serial.append(res)
        prev = res if res.success else prev
    got = fit_stacked(MODEL, seq, first, chain=True)
    assert not got[4].success
    for a, b in zip(serial, got):
        assert_same(a, b, tol=1e-6)


def test_a_chained_block_ends_at_its_first_spectrum_that_is_not_accepted():
    # a foreign spectrum in the middle: the list stops there (what comes after starts from
    # that spectrum's refit, which the block cannot know); before it, the serial sequence
    specs = spectra(9)
    foreign = ef.simulate(FOUR_ARCS[0], F, FOUR_ARCS[1], noise=0.002, seed=1)
    seq = specs[1:4] + [foreign] + specs[4:]
    first = ef.fit(MODEL, specs[0])
    got = stacked_results(MODEL, seq, first, chain=True)
    assert len(got) == 4
    assert got[3] is None or not got[3].success
    prev = first
    for spec, res in zip(seq[:3], got[:3]):
        prev = ef.fit(MODEL, spec, init=prev)
        assert_same(prev, res, tol=1e-6)
    # a chain that holds: every spectrum back, and without chain nothing is cut
    assert len(stacked_results(MODEL, specs[1:], first, chain=True)) == 8
    assert len(stacked_results(MODEL, seq, first)) == len(seq)


def test_different_point_counts_in_one_block():
    grids = [np.logspace(5, -1, 25), np.logspace(5.3, -1.2, 61), F]
    specs = spectra(6, freqs=grids)
    got = fit_stacked(MODEL, specs, START)
    for spec, res in zip(specs, got):
        assert res.n_points == spec.freq.size
        assert res.residuals.size == spec.freq.size
        assert_same(ef.fit(MODEL, spec, init=START), res)
    # padding changes nothing: each spectrum alone in its block gives the same result
    for spec, res in zip(specs, got):
        assert_same(fit_stacked(MODEL, [spec], START)[0], res, tol=1e-6)


def test_a_bounded_parameter():
    opts = ef.FitOptions(bounds={"Q2_n": (0.5, 0.75)})  # the truth, 0.8, lies outside
    specs = spectra(5)
    got = fit_stacked(MODEL, specs, {**START, "Q2_n": 0.7}, opts)
    for spec, res in zip(specs, got):
        assert res.values["Q2_n"] == pytest.approx(0.75)
        assert "Q2_n" in res.at_bound
        assert_same(ef.fit(MODEL, spec, init={**START, "Q2_n": 0.7}, options=opts), res)


def test_fixed_and_tied_parameters():
    opts = ef.FitOptions(fixed={"Q1_n": 0.9})
    specs = spectra(5)
    got = fit_stacked(MODEL, specs, START, opts)
    for k, (spec, res) in enumerate(zip(specs, got)):
        assert res.success, res.message
        assert res.values["Q1_n"] == 0.9 and res.stderr["Q1_n"] == 0.0
        assert "Q1_n" not in res.free
        assert abs(res.values["R2"] - truth(k)["R2"]) <= 5 * res.stderr["R2"]
        assert_same(ef.fit(MODEL, spec, init=START, options=opts), res)
    tied = ef.FitOptions(tie={"Q2_n": "Q1_n"})
    for spec, res in zip(specs, fit_stacked(MODEL, specs, START, tied)):
        assert res.values["Q2_n"] == res.values["Q1_n"]
        assert_same(ef.fit(MODEL, spec, init=START, options=tied), res)


def test_a_garbage_spectrum_fails_alone():
    good = spectra(6)
    garbage = ef.simulate(*FOUR_ARCS[:1], F, FOUR_ARCS[1], noise=0.002, seed=1)
    block = good[:3] + [garbage] + good[3:]
    raw = stacked_results(MODEL, block, START)
    assert raw[3] is None or not raw[3].success
    got = fit_stacked(MODEL, block, START)
    assert not got[3].success
    assert "does not describe the data" in got[3].message
    assert_same(ef.fit(MODEL, garbage), got[3])  # refitted cold, as ef.fit alone
    alone = fit_stacked(MODEL, good, START)
    for res, ref in zip(got[:3] + got[4:], alone):
        assert res.success
        assert_same(ref, res, tol=1e-9)


def test_noise_gets_the_verdict_ef_fit_gives_it():
    """White noise: whatever ef.fit says (the verdict is relative to the KK reference,
    which fits noise no better), the stacked path says the same; the block is unaffected."""
    rng = np.random.default_rng(7)
    noise = ef.Spectrum(F, rng.uniform(1, 300, F.size) - 1j * rng.uniform(0, 300, F.size))
    good = spectra(3)
    got = fit_stacked(MODEL, [good[0], noise, good[1], good[2]], START)
    assert got[1].success == ef.fit(MODEL, noise, init=START).success
    for res, ref in zip([got[0]] + got[2:], fit_stacked(MODEL, good, START)):
        assert_same(ref, res, tol=1e-9)


def test_runs_ef_fit_would_not_accept_are_refitted_by_ef_fit():
    """A start far away: the stacked run does not reach the data, ef.fit's multi-start does."""
    specs = spectra(3)
    far = {k: (v if k.endswith("_n") else v * 1e3) for k, v in START.items()}
    far.update(R1=START["R2"], R2=START["R1"] * 1e-3)
    raw = stacked_results(MODEL, specs, far, ef.FitOptions(max_nfev=5))
    assert all(r is None for r in raw)
    got = fit_stacked(MODEL, specs, far, ef.FitOptions(max_nfev=5))
    for spec, res in zip(specs, got):
        assert res.success, res.message
        assert res.n_starts > 1 or res.init != tuple(far[n] for n in res.parameter_names)


def test_init_is_completed_from_the_data_and_checked():
    specs = spectra(3)
    got = fit_stacked(MODEL, specs)  # no start at all: the first spectrum's data guess
    assert all(r.success for r in got)
    with pytest.raises(ef.FitError, match="unknown parameters"):
        fit_stacked(MODEL, specs, {"R9": 1.0})
    assert fit_stacked(MODEL, [], START) == []
