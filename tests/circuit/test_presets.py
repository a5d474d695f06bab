import pickle

import numpy as np
import pytest

import eisfit as ef

F = np.logspace(4, -1, 20)
VALS = {"R0": 1.0, "R1": 10.0, "Q1_Q": 1e-4, "Q1_n": 0.9}

EXPECTED = {
    "polymer_nmc_before", "polymer_nmc_after", "pouch_4rc", "lili_symmetric", "blocking_cell", "randles",
}


def test_all_seed_presets_present():
    assert EXPECTED <= set(ef.presets())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_is_complete(name):
    p = ef.preset(name)
    assert p.description and len(p.description) > 40
    roles = {p.role(n) for n in p.circuit.parameters}
    assert None not in roles  # every parameter has a physical role
    assert roles <= {"bulk", "interface", "diffusion"}
    for members in p.groups.values():
        assert set(members) <= set(p.circuit.parameters)


def test_before_after_polymer_cell_adds_rock_salt_and_diffusion():
    before = ef.preset("polymer_nmc_before").circuit
    after = ef.preset("polymer_nmc_after").circuit
    new = set(after.parameters) - set(before.parameters)
    assert {"R_rs", "Q_rs_Q", "Q_rs_n", "Wo_d_R", "Wo_d_tau"} == new
    assert ef.preset("polymer_nmc_after").groups["interfacial"] == ("R_sei", "R_rs")


def test_pouch_preset_has_four_rc():
    c = ef.preset("pouch_4rc").circuit
    assert sum(e.kind == "C" for e in c.elements) == 4


def test_unknown_preset_suggests():
    from eisfit.errors import PresetNotFoundError

    with pytest.raises(KeyError) as e:
        ef.preset("pouch4rc")
    err = e.value
    assert isinstance(err, PresetNotFoundError) and isinstance(err, ef.EisfitError)
    assert str(err).startswith("no preset 'pouch4rc'; did you mean 'pouch_4rc'?")  # no repr quotes
    assert err.name == "pouch4rc"
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.name == "pouch4rc"


def test_preset_names_are_not_circuit_text():
    for call in (ef.parse, lambda t: ef.fit(t, ef.simulate(ef.ladder(1), F, VALS))):
        with pytest.raises(ef.CircuitSyntaxError, match=r"use ef\.preset\('randles'\)"):
            call("randles")


def test_ladder_builder():
    assert str(ef.ladder(2, "RQ", diffusion="Wo")) == "R0 - (R1 | Q1) - (R2 | Q2) - Wo3"
    assert str(ef.ladder(3, "RC", series=None)) == "(R1 | C1) - (R2 | C2) - (R3 | C3)"
    assert str(ef.ladder(1, "H", inductance=True)) == "L0 - R0 - H1"
    assert ef.ladder(4, "RC", start=2) == ef.parse("R1 - (R2 | C2) - (R3 | C3) - (R4 | C4) - (R5 | C5)")
    with pytest.raises(ef.CircuitError):
        ef.ladder(2, "XY")


# ---- arcs: ordering and jump flags along a sequence -----------------------------------
def test_ordered_values_sort_by_tau_and_keep_impedance():
    import numpy as np

    from eisfit.circuit.arcs import arc_tau, arcs, ordered_values

    c = ef.parse("R0 - (R1 | Q1) - (R2 | Q2) - Wo3")
    vals = {"R0": 1.0, "R1": 50.0, "Q1_Q": 1e-2, "Q1_n": 0.8, "R2": 10.0, "Q2_Q": 1e-6,
            "Q2_n": 0.9, "Wo3_R": 5.0, "Wo3_tau": 10.0}
    new = ordered_values(c, vals)
    assert new["R1"] == 10.0 and new["Q1_Q"] == 1e-6 and new["R2"] == 50.0
    f = np.logspace(5, -2, 30)
    np.testing.assert_allclose(c.impedance(f, new), c.impedance(f, vals), rtol=1e-12)
    a1, a2 = arcs(c)
    assert arc_tau(a1, new) < arc_tau(a2, new)
    # a fixed parameter keeps its arc in place
    assert ordered_values(c, vals, locked={"Q1_n"}) == vals


def test_jump_flags_detect_swap_and_jump():
    from eisfit.circuit.arcs import jump_flags

    c = ef.parse("R0 - (R1 | Q1) - (R2 | Q2)")
    prev = {"R0": 10.0, "R1": 20.0, "R2": 100.0}
    assert jump_flags(c, prev, {"R0": 10.5, "R1": 21.0, "R2": 104.0}) == []
    assert jump_flags(c, prev, {"R0": 10.0, "R1": 99.0, "R2": 21.0}) == ["swap?R1<->R2"]
    assert jump_flags(c, prev, {"R0": 30.0, "R1": 20.0, "R2": 100.0}) == ["jump:R0"]
    assert jump_flags(c, None, prev) == []


def test_arc_tau_of_a_degenerate_arc_is_inf_without_a_warning():
    import warnings

    from eisfit.circuit.arcs import arc_tau, arcs

    (a,) = arcs(ef.parse("R0 - (R1 | Q1)"))
    # closed form (R·Q)^(1/n): 1e3 · 1e-3 = 1 → τ = 1 s; n → 0.001 with R·Q = 1e3 overflows
    assert arc_tau(a, {"R1": 1e3, "Q1_Q": 1e-3, "Q1_n": 0.8}) == pytest.approx(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert arc_tau(a, {"R1": 1e6, "Q1_Q": 1e-3, "Q1_n": 0.001}) == np.inf
