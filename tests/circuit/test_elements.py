"""Element impedances against closed forms and impedance.py; Jacobians against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import eisfit as ef
from eisfit.circuit import ELEMENTS, Element

F = np.logspace(-3, 7, 61)
W = 2 * np.pi * F

# closed forms written independently (numpy complex power / tanh instead of exp-log / coth)
CLOSED = {
    "R": (dict(R1=12.5), lambda p: np.full(F.size, 12.5 + 0j)),
    "C": (dict(C1=3e-6), lambda p: 1 / (1j * W * 3e-6)),
    "L": (dict(L1=2e-7), lambda p: 1j * W * 2e-7),
    # BioLogic application note 42: Z = La·(jω)^α
    "La": (dict(La1_L=2e-7, La1_alpha=0.85), lambda p: 2e-7 * (1j * W) ** 0.85),
    "Q": (dict(Q1_Q=2e-5, Q1_n=0.8), lambda p: 1 / (2e-5 * (1j * W) ** 0.8)),
    "W": (dict(W1=30.0), lambda p: 30 * np.sqrt(2) / np.sqrt(1j * W)),
    "Wo": (dict(Wo1_R=50.0, Wo1_tau=2.0), lambda p: 50 / (np.sqrt(1j * W * 2) * np.tanh(np.sqrt(1j * W * 2)))),
    "Ws": (dict(Ws1_R=50.0, Ws1_tau=2.0), lambda p: 50 * np.tanh(np.sqrt(2j * W)) / np.sqrt(2j * W)),
    "G": (dict(G1_R=40.0, G1_tau=1e-3), lambda p: 40 / np.sqrt(1 + 1j * W * 1e-3)),
    "H": (
        dict(H1_R=80.0, H1_tau=1e-4, H1_alpha=0.7, H1_beta=0.6),
        lambda p: 80 / (1 + (1j * W * 1e-4) ** 0.7) ** 0.6,
    ),
    "Tb": (
        dict(Tb1_Rion=5.0, Tb1_Q=1e-3, Tb1_n=0.9),
        lambda p: np.sqrt(5 / (1e-3 * (1j * W) ** 0.9)) / np.tanh(np.sqrt(5 * 1e-3 * (1j * W) ** 0.9)),
    ),
    "T": (
        dict(T1_Rion=5.0, T1_Rct=100.0, T1_Q=1e-3, T1_n=0.9),
        lambda p: (lambda zs: np.sqrt(5 * zs) / np.tanh(np.sqrt(5 / zs)))(
            1 / (1 / 100 + 1e-3 * (1j * W) ** 0.9)
        ),
    ),
}


def test_every_element_has_a_closed_form_test():
    assert set(CLOSED) == set(ELEMENTS)


@pytest.mark.parametrize("kind", sorted(CLOSED))
def test_closed_form(kind):
    values, expected = CLOSED[kind]
    z = Element(kind, "1").impedance(F, values)
    np.testing.assert_allclose(z, expected(values), rtol=1e-10)


def test_physical_limits():
    lo = np.array([1e-6])
    # reflective Warburg: R/3 + capacitor T/R at low frequency
    z = ef.parse("Wo1").impedance(lo, {"Wo1_R": 60, "Wo1_tau": 1.0})
    assert z.real[0] == pytest.approx(20, rel=1e-6)
    assert -1 / (2 * np.pi * lo[0] * z.imag[0]) == pytest.approx(1 / 60, rel=1e-6)
    # transmissive Warburg and Gerischer: R at DC
    assert ef.parse("Ws1").impedance(lo, {"Ws1_R": 60, "Ws1_tau": 1.0}).real[0] == pytest.approx(60, rel=1e-6)
    assert ef.parse("G1").impedance(lo, {"G1_R": 60, "G1_tau": 1.0}).real[0] == pytest.approx(60, rel=1e-6)
    # blocking transmission line with an ideal capacitor: Rion/3 + 1/(jωQ) at low frequency
    z = ef.parse("Tb1").impedance(lo, {"Tb1_Rion": 9.0, "Tb1_Q": 1e-3, "Tb1_n": 1.0})
    assert z.real[0] == pytest.approx(3.0, rel=1e-6)


# impedance.py element → (its string, its parameters, the translation written by hand)
IMPEDANCE_PY = {
    "R": ("R1", [12.5], "R1"),
    "C": ("C1", [3e-6], "C1"),
    "L": ("L1", [2e-7], "L1"),
    "La": ("La1", [2e-7, 0.85], "La1"),
    "Q": ("CPE1", [2e-5, 0.8], "Q1"),
    "W": ("W1", [30.0], "W1"),
    "Wo": ("Wo1", [50.0, 2.0], "Wo1"),
    "Ws": ("Ws1", [50.0, 2.0], "Ws1"),
    "G": ("G1", [40.0, 1e-3], "G1"),
    "Tb": ("TLMQ1", [5.0, 1e-3, 0.9], "Tb1"),
}
# impedance.py elements eisfit has no equivalent for (from_impedance_py refuses them)
IMPEDANCE_PY_REFUSED = {"K", "Zarc", "Gs", "T"}


def _impedance_py(text, params):
    from impedance.models.circuits import CustomCircuit

    return CustomCircuit(text, initial_guess=params).predict(F, use_initial=True)


def test_every_impedance_py_element_is_translated_or_refused():
    from impedance.models.circuits.elements import circuit_elements

    names = set(circuit_elements) - {"s", "p"}  # series / parallel, not elements
    translated = {impy.rstrip("0123456789") for impy, _, _ in IMPEDANCE_PY.values()}
    assert names == translated | IMPEDANCE_PY_REFUSED
    for name in sorted(IMPEDANCE_PY_REFUSED):
        with pytest.raises(ef.CircuitSyntaxError, match="no eisfit equivalent"):
            ef.from_impedance_py(f"R0-{name}1")


def test_modified_inductor_against_impedance_py():
    """impedance.py 1.7.1 computes La as (L·jω)^α (its docstring says L·(jω)^α, the BioLogic
    definition eisfit uses): the same impedance with L_eisfit = L_impedance.py^α."""
    L, a = 2e-7, 0.85
    ref = _impedance_py("La1", [L, a])
    z = ef.from_impedance_py("La1").impedance(F, {"La1_L": L**a, "La1_alpha": a})
    np.testing.assert_allclose(z, ref, rtol=1e-9)


@pytest.mark.parametrize("kind", sorted(IMPEDANCE_PY))
def test_against_impedance_py(kind):
    """Each element built in impedance.py and in eisfit after translation agrees."""
    impy, params, ours = IMPEDANCE_PY[kind]
    c = ef.from_impedance_py(impy)
    assert str(c) == ours and c.to_impedance_py() == impy
    values = dict(zip(c.parameters, params))
    if kind == "La":  # the one element whose parameter differs: L_eisfit = L_impedance.py^α
        values["La1_L"] = params[0] ** params[1]
    np.testing.assert_allclose(c.impedance(F, values), _impedance_py(impy, params), rtol=1e-9)


def test_ladder_against_impedance_py():
    p = [10, 100, 1e-5, 0.9, 200, 300, 1.0, 1e-3, 0.85]
    ref = _impedance_py("R0-p(R1,CPE1)-p(R2-Wo2,CPE2)", p)
    c = ef.from_impedance_py("R0-p(R1,CPE1)-p(R2-Wo2,CPE2)")
    order = ["R0", "R1", "Q1_Q", "Q1_n", "R2", "Wo2_R", "Wo2_tau", "Q2_Q", "Q2_n"]
    np.testing.assert_allclose(c.impedance(F, dict(zip(order, p))), ref, rtol=1e-9)


# -- Jacobians against central finite differences (property-based) ---------------
def _random_values(c, data):
    vals = {}
    for name, spec in c.param_specs.items():
        if spec.scale == "log":
            vals[name] = 10 ** data.draw(st.floats(-3, 3), label=name) * spec.typical
        else:
            vals[name] = data.draw(st.floats(0.35, 0.99), label=name)
    return vals


def _check_jacobian(c, vals, freq):
    comp = c.compile()
    th = np.array([vals[n] for n in c.parameters])
    z, J = comp.z_jac(th, freq)
    np.testing.assert_allclose(z, comp.z(th, freq), rtol=1e-12)
    for k, name in enumerate(c.parameters):
        h = 1e-4 * th[k]
        tp, tm = th.copy(), th.copy()
        tp[k] += h
        tm[k] -= h
        fd = (comp.z(tp, freq) - comp.z(tm, freq)) / (2 * h)
        scale = np.abs(J[k]) + 1e-7 * np.abs(z) / th[k]
        err = np.abs(fd - J[k]) / scale
        assert np.max(err) < 1e-4, (name, np.max(err))


@pytest.mark.parametrize("kind", sorted(ELEMENTS))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_element_jacobian(kind, data):
    c = Element(kind, "1")
    _check_jacobian(c, _random_values(c, data), np.logspace(-2, 6, 25))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_nested_circuit_jacobian(data):
    c = ef.parse("L0 - R0 - (R1 | Q1) - ((R2 - Wo2) | C2) - (G3 | (R4 - Ws4) | Q4) - H5 - T6")
    _check_jacobian(c, _random_values(c, data), np.logspace(-2, 6, 25))


def test_impedance_requires_all_values():
    with pytest.raises(ef.CircuitError, match="Q1_n"):
        ef.parse("R1 | Q1").impedance(F, {"R1": 1, "Q1_Q": 1})


def test_element_table_documents_every_element():
    from eisfit.circuit import element_table

    t = element_table()
    for prefix in ELEMENTS:
        assert f"| `{prefix}` |" in t
