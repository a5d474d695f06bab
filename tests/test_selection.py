"""propose(): model order from the DRT, confirmed by BIC over fitted candidates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from closed_form import FREQ, add_noise, plain_linkk_rms, rc, warburg_open, warburg_short, zarc

import eisfit as ef
from eisfit.selection import zarc_n_from_width


def _spec(Z, seed):
    return ef.Spectrum(FREQ, add_noise(Z, seed))


@pytest.mark.parametrize("n_arcs", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(2))
def test_well_separated_arcs(n_arcs, seed):
    Z = 5 + sum(zarc(FREQ, 10 * (i + 1), 10.0 ** (-5 + 2 * i), 0.85) for i in range(n_arcs))
    p = ef.propose(_spec(Z, seed))
    assert p.n_arcs == n_arcs
    assert p.diffusion is None


@pytest.mark.parametrize("seed", range(3))
def test_four_rc_pouch_ladder(seed):
    taus, Rs = [1e-5, 1e-4, 1e-2, 0.5], [0.05, 0.14, 0.11, 0.38]
    Z = 0.15 + sum(rc(FREQ, R, t) for R, t in zip(Rs, taus))
    p = ef.propose(_spec(Z, seed))
    assert p.n_arcs == 4
    assert p.candidates["label"].iloc[0] == "RC-RC-RC-RC"
    fitted = sorted(v for k, v in p.fit.values.items() if k in ("R1", "R2", "R3", "R4"))
    np.testing.assert_allclose(fitted, sorted(Rs), rtol=0.1)


@pytest.mark.parametrize("seed", range(3))
def test_two_rcs_a_factor_two_apart(seed):
    # one DRT peak, but the data support two RC elements
    Z = 5 + rc(FREQ, 20, 1e-3) + rc(FREQ, 20, 2e-3)
    p = ef.propose(_spec(Z, seed))
    assert len(p.drt.peaks()) == 1
    assert p.n_arcs == 2


@pytest.mark.parametrize("seed", range(3))
def test_two_zarcs_a_factor_three_apart(seed):
    Z = 5 + zarc(FREQ, 20, 1e-3, 0.9) + zarc(FREQ, 20, 3e-3, 0.9)
    assert ef.propose(_spec(Z, seed)).n_arcs == 2


@pytest.mark.parametrize("seed", range(3))
def test_zarc_plus_finite_warburg_is_one_arc_and_diffusion(seed):
    Z = 5 + zarc(FREQ, 20, 1e-4, 0.85) + warburg_short(FREQ, 30, 10.0)
    p = ef.propose(_spec(Z, seed))
    assert p.n_arcs == 1
    assert p.diffusion == "Ws"
    assert p.fit.values["Ws2_R"] == pytest.approx(30, rel=0.05)
    assert p.fit.values["Ws2_tau"] == pytest.approx(10, rel=0.05)


def test_reflective_warburg_proposed():
    Z = 5 + zarc(FREQ, 20, 1e-4, 0.85) + warburg_open(FREQ, 30, 1.0)
    p = ef.propose(_spec(Z, 0), diffusion="both")
    assert p.n_arcs == 1 and p.diffusion == "Wo"


def test_candidate_table_and_weights():
    Z = 5 + zarc(FREQ, 10, 1e-4, 0.85) + zarc(FREQ, 30, 1e-1, 0.8)
    p = ef.propose(_spec(Z, 1))
    t = p.candidates
    for col in ("label", "circuit", "n_arcs", "n_params", "aic", "bic", "delta_bic", "weight",
                "whiteness", "noise_ratio", "success", "round"):
        assert col in t.columns
    assert len(t) >= 3 and len(p.fits) == len(t)
    assert p.adequate and p.fit.success and str(p.circuit) == t["circuit"].iloc[0]
    # the truth (two arcs) carries the weight; a one-arc model does not describe the data
    two = t[t["n_arcs"] == 2]["weight"].sum()
    assert two > 0.9
    one = t[t["n_arcs"] == 1]
    assert len(one) and not one["success"].any()
    # its residuals are not white, the chosen model's are (lag-1 z-score ≈ N(0, 1))
    assert abs(t["whiteness"].iloc[0]) < 3 and (one["whiteness"].abs() > 3).all()
    # BIC from each fit's own χ², independently of the table: m·ln(χ²/m) + k·ln m
    for fr, (_, row) in zip(p.fits, t.iterrows()):
        m = 2 * fr.n_points
        assert row["bic"] == pytest.approx(m * np.log(fr.chi2 / m) + fr.n_params * np.log(m))


def test_no_adequate_model_is_said_so():
    """Four well-separated arcs and at most two elements allowed: nothing is adequate, and
    the proposal says so instead of ranking failures as if one were right."""
    Z = 5 + sum(zarc(FREQ, 10 * (i + 1), 10.0 ** (-5 + 2 * i), 0.85) for i in range(4))
    p = ef.propose(_spec(Z, 0), max_elements=2)
    assert not p.adequate and "no candidate with up to 2 elements" in p.message
    assert not p.fit.success and not p.candidates["success"].any()


def test_a_stuck_candidate_gets_the_fitters_own_start():
    """A real ZPlot spectrum (impedance.py's example, 31 points, 300 kHz - 300 Hz) whose
    three-arc candidate, started from the DRT peaks, falls into the two-arc minimum: the
    proposal must still reach an adequate model, i.e. stay within 2.5x the residual of an
    independent lin-KK (20 RC elements) of the same data."""
    spec = ef.read(Path(__file__).parent / "fixtures" / "exampleDataZPlot_noComments.z")[0]
    p = ef.propose(spec)
    ref = plain_linkk_rms(spec.freq, spec.Z, 20)
    rms = float(np.sqrt(np.mean(np.abs((spec.Z - p.fit.impedance(spec.freq)) / spec.Z) ** 2)))
    assert p.adequate and p.fit.success, p.message
    assert rms <= 2.5 * ref, (rms, ref, str(p.circuit))


def _plain_passive_rms(f, Z, per_decade=8):
    """Independent passive bound (scipy NNLS): non-negative R∞, L, 1/C, RC and RL relaxations
    on log-spaced τ a third of a decade beyond the measured band."""
    from scipy.optimize import nnls

    w = 2 * np.pi * f
    M = round(per_decade * (np.log10(f.max() / f.min()) + 2 / 3))
    tau = np.logspace(np.log10(1 / w.max()) - 1 / 3, np.log10(1 / w.min()) + 1 / 3, M)
    x = 1j * np.outer(w, tau)
    K = np.column_stack([np.ones(f.size), 1j * w, 1 / (1j * w), 1 / (1 + x), x / (1 + x)])
    A = np.vstack([(K / np.abs(Z)[:, None]).real, (K / np.abs(Z)[:, None]).imag])
    s = np.linalg.norm(A, axis=0)
    c = nnls(A / s, np.concatenate([(Z / np.abs(Z)).real, (Z / np.abs(Z)).imag]),
             maxiter=50 * A.shape[1])[0] / s
    return float(np.sqrt(np.mean(np.abs((Z - K @ c) / Z) ** 2)))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_data_no_passive_circuit_can_describe_are_named(sign):
    """Twins: R0 = 5 Ω, two ZARCs and a fast RC arc of +6 Ω or of −6 Ω (a negative
    resistance larger than R0, so Re Z < 0 at the highest frequencies, as instruments and
    reference electrodes produce; Kramers–Kronig consistent, but no network of positive
    elements has Re Z < 0). The first is adequate; the second is not, and the proposal says
    that no passive circuit can do better, with a passive bound equal to an independent
    NNLS and the band named above the ZARCs."""
    Z = 5 + sign * rc(FREQ, 6.0, 1e-6) + zarc(FREQ, 20, 1e-4, 0.9) + zarc(FREQ, 30, 1e-1, 0.85)
    spec = _spec(Z, 3)
    p = ef.propose(spec)
    if sign > 0:
        assert p.adequate and p.passive_rms is None, p.message
        return
    ref = plain_linkk_rms(spec.freq, spec.Z, 40)
    bound = _plain_passive_rms(spec.freq, spec.Z)
    assert bound > 2.5 * ref  # the ground truth: lin-KK describes it, no passive model does
    assert not p.adequate and not p.fit.success
    assert p.passive_rms == pytest.approx(bound, rel=1e-3)
    assert "No passive circuit can describe these data" in p.message
    lo, _hi = (float(v) for v in
              p.message.split("most at ")[1].split(" Hz")[0].replace("–", " ").split())
    assert lo > 1e4  # the band named is where the negative arc is, not at the ZARCs


def test_widening_finds_the_inductive_end_and_the_tail():
    """L - R - ZARC - ZARC - Ws: the search adds what the DRT candidates lack."""
    w = 2 * np.pi * FREQ
    Z = 1j * w * 2e-6 + 0.05 + zarc(FREQ, 0.02, 1e-5, 0.9) + zarc(FREQ, 0.03, 1e-2, 0.8)
    Z = Z + warburg_short(FREQ, 0.05, 30.0)
    p = ef.propose(_spec(Z, 4))
    assert p.adequate, p.message
    assert any(e.kind in ("L", "La") for e in p.circuit.elements)


def test_max_elements_limits_candidates():
    Z = 5 + sum(zarc(FREQ, 10, 10.0 ** (-5 + 2 * i), 0.85) for i in range(3))
    p = ef.propose(_spec(Z, 2), max_elements=2)
    assert p.candidates["n_arcs"].max() <= 2
    n_el = p.candidates["n_arcs"] + (p.candidates["diffusion"] != "").astype(int)
    assert n_el.max() <= 2
    assert ef.propose(_spec(Z, 2), max_elements=1).n_arcs == 1
    with pytest.raises(ValueError):
        ef.propose(_spec(Z, 2), max_elements=0)


def test_reuses_given_drt_and_passes_window():
    Z = 5 + zarc(FREQ, 10, 1e-4, 0.85) + zarc(FREQ, 30, 1e-1, 0.8)
    s = _spec(Z, 3)
    d = ef.drt(s, fmax=1e4)
    p = ef.propose(s, drt_result=d)
    assert p.drt is d
    assert p.fit.freq.max() <= 1e4
    p2 = ef.propose(s, fmax=1e4)
    assert p2.drt.freq.max() <= 1e4 and p2.n_arcs == 2


def test_zarc_n_from_width_inverts_the_zarc_drt():
    from eisfit.relaxation.analytic import zarc_gamma

    u = np.linspace(-8, 8, 20001)
    for n in (0.6, 0.75, 0.9):
        g = zarc_gamma(np.exp(u), 1.0, 1.0, n)
        above = u[g >= g.max() / 2]
        width_dec = (above[-1] - above[0]) / np.log(10)
        assert zarc_n_from_width(width_dec) == pytest.approx(n, abs=0.01)


def test_candidates_are_unique_circuits():
    import eisfit as ef
    from pathlib import Path

    path = Path(ef.__file__).parent / "_examples" / "zhang2020" / "25C01_cycle1.csv"
    prop = ef.propose(ef.read(path)[0])
    circuits = list(prop.candidates["circuit"])
    assert len(circuits) == len(set(circuits))
    assert prop.candidates["weight"].sum() == pytest.approx(1.0)
