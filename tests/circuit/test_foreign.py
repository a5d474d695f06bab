"""Explicit translators: Boukamp CDC and impedance.py strings, both directions.

Expected forms are written by hand; impedance.py itself is the independent implementation
the translated circuits are evaluated against (tests/circuit/test_elements.py does it per
element, here for whole circuits).
"""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import eisfit as ef
from eisfit.circuit import Element, Parallel, Series

F = np.logspace(-2, 6, 41)

# -- Boukamp CDC → eisfit: golden table (input, canonical form) ------------------------
CDC_GOLDEN = [
    ("R", "R0"),
    ("RC", "R0 - C0"),  # CDC juxtaposition is series: not R | C
    ("(RC)", "R1 | C1"),  # one parallel group: arc 1
    ("R(RC)", "R0 - (R1 | C1)"),
    ("R(RC)(RQ)", "R0 - (R1 | C1) - (R2 | Q2)"),
    ("R(RQ)(RQ)", "R0 - (R1 | Q1) - (R2 | Q2)"),
    ("R(RQ)(RQ)W", "R0 - (R1 | Q1) - (R2 | Q2) - W3"),  # like ef.ladder(2, diffusion="W")
    ("LR(RQ)(RQ)O", "L0 - R0 - (R1 | Q1) - (R2 | Q2) - Wo3"),
    ("R(RQ)(RQ)(RQ)T", "R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3) - Ws4"),
    ("(RC)(RC)(RC)", "(R1 | C1) - (R2 | C2) - (R3 | C3)"),
    ("(RC)R", "(R1 | C1) - R2"),
    ("RG(RQ)", "R0 - G0 - (R1 | Q1)"),
    ("[R(RC)]", "R0 - (R1 | C1)"),
    ("R(C(RW))", "R0 - (C1 | (R1 - W1))"),  # Randles: alternating round brackets
    ("R(C[RW])", "R0 - (C1 | (R1 - W1))"),  # the same with a square series bracket
    ("R(Q(RO))", "R0 - (Q1 | (R1 - Wo1))"),
    ("R(RQ)(Q(RO))", "R0 - (R1 | Q1) - (Q2 | (R2 - Wo2))"),
    # a name already given away takes the next label above all positional ones
    ("R(Q(R(RQ)))", "R0 - (Q1 | (R1 - (R2 | Q2)))"),
    ("R(RQ)(Q(R(RQ)))", "R0 - (R1 | Q1) - (Q2 | (R2 - (R3 | Q3)))"),
    ("RR", "R0 - R1"),
    ("(RRC)", "R1 | R2 | C1"),
    ("R(RC)W(RC)", "R0 - (R1 | C1) - W1 - (R2 | C2)"),  # between arcs 1 and 2: label 1
    ("R(RC)R(RC)", "R0 - (R1 | C1) - R3 - (R2 | C2)"),  # R1 is taken: next above 2
    ("((RC))", "R0 - C0"),  # a group of one part is no group
    ("R[RC]", "R0 - R1 - C0"),
]


@pytest.mark.parametrize("cdc,canonical", CDC_GOLDEN)
def test_from_cdc_golden(cdc, canonical):
    c = ef.from_cdc(cdc)
    assert str(c) == canonical
    assert c == ef.parse(canonical)


def test_cdc_letters_are_boukamps():
    from eisfit.circuit.foreign import CDC_LETTERS

    assert CDC_LETTERS == {"R": "R", "C": "C", "L": "L", "Q": "Q", "W": "W", "O": "Wo",
                           "T": "Ws", "G": "G"}


@pytest.mark.parametrize(
    "cdc,pos,fragment",
    [
        ("L R(RC)", 1, "no spaces; did you mean 'LR(RC)'?"),
        ("R(RC", 1, "missing ')'"),
        ("R[RC", 1, "missing ']'"),
        ("R(RC))", 5, "unbalanced ')'"),
        ("R(RC]", 4, "expected ')'"),
        ("R1(RC)", 1, "no labels"),
        ("R()", 2, "empty brackets"),
        ("", 0, "empty"),
        ("RX", 1, "unknown CDC element 'X'"),
        ("R(RH)", 3, "unknown CDC element 'H'"),
        ("R-C", 1, "ef.parse"),
    ],
)
def test_from_cdc_errors(cdc, pos, fragment):
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.from_cdc(cdc)
    assert fragment in e.value.reason and e.value.pos == pos
    assert isinstance(e.value, ef.CircuitError) and isinstance(e.value, ValueError)


# -- eisfit → CDC ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,cdc",
    [
        ("R0", "R"),
        ("R1 | C1", "(RC)"),
        ("R0 - (R1 | Q1) - (R2 | Q2)", "R(RQ)(RQ)"),
        ("R0 - (C1 | (R1 - W1))", "R(C(RW))"),
        ("R0 - (R1 | Q1) - (C2 | (R2 - W2))", "R(RQ)(C(RW))"),
        ("L0 - R0 - (R1 | Q1) - Wo2 - Ws3 - G4", "LR(RQ)OTG"),
        ("(R_a - (R_b | C_b)) | Q_a", "((R(RC))Q)"),
    ],
)
def test_to_cdc_golden(text, cdc):
    assert ef.to_cdc(ef.parse(text)) == cdc
    assert ef.to_cdc(text) == cdc  # eisfit text is accepted too
    from eisfit.circuit import to_cdc

    assert to_cdc is ef.to_cdc


@pytest.mark.parametrize("text,name", [("R0 - La1", "La1"), ("R0 - H1", "H1"),
                                       ("(R1 | Q1) - T2", "T2"), ("Tb_pore", "Tb_pore")])
def test_to_cdc_refuses_elements_without_a_letter(text, name):
    with pytest.raises(ef.CircuitError) as e:
        ef.to_cdc(ef.parse(text))
    assert name in str(e.value) and isinstance(e.value, ValueError)


_ladders = st.builds(
    ef.ladder,
    st.integers(1, 6),
    st.sampled_from(["RC", "RQ"]),
    series=st.sampled_from(["R", None]),
    diffusion=st.sampled_from([None, "W", "Wo", "Ws"]),
    inductance=st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(_ladders)
def test_cdc_round_trip_of_ladders_is_exact(c):
    assert ef.from_cdc(ef.to_cdc(c)) == c


def _shape(c):
    """Structure without labels (written here, independently of eisfit.circuit.arcs)."""
    if isinstance(c, Element):
        return c.kind
    return (type(c).__name__, tuple(_shape(k) for k in c.children))


@st.composite
def _cdc_circuits(draw, depth=0):
    counter = draw(st.shared(st.builds(lambda: [0]), key="cdc"))
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        counter[0] += 1
        kind = draw(st.sampled_from(["R", "C", "L", "Q", "W", "Wo", "Ws", "G"]))
        return Element(kind, str(counter[0]) if draw(st.booleans()) else f"_x{counter[0]}")
    kids = [draw(_cdc_circuits(depth + 1)) for _ in range(draw(st.integers(2, 4)))]
    return Series(*kids) if draw(st.booleans()) else Parallel(*kids)


@settings(max_examples=150, deadline=None)
@given(_cdc_circuits())
def test_cdc_round_trip_keeps_the_structure(c):
    back = ef.from_cdc(ef.to_cdc(c))
    assert _shape(back) == _shape(c)
    assert ef.to_cdc(back) == ef.to_cdc(c)


# ladders written as CDC, with the expected eisfit form built by hand: arc k → label k
_ARC_CDC = {"(RC)": "(R{k} | C{k})", "(RQ)": "(R{k} | Q{k})", "(C(RW))": "(C{k} | (R{k} - W{k}))",
            "(Q(RO))": "(Q{k} | (R{k} - Wo{k}))", "(Q(RT))": "(Q{k} | (R{k} - Ws{k}))"}


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["", "R", "LR", "L"]), st.lists(st.sampled_from(sorted(_ARC_CDC)), min_size=1,
       max_size=5), st.sampled_from(["", "W", "O", "T", "G"]))
def test_from_cdc_numbers_like_the_ladders(head, arcs, tail):
    n = len(arcs)
    parts = [f"{ch}0" for ch in head]
    parts += [_ARC_CDC[a].format(k=k) for k, a in enumerate(arcs, start=1)]
    tails = {"W": "W", "O": "Wo", "T": "Ws", "G": "G"}
    if tail:
        parts.append(f"{tails[tail]}{n + 1}")
    assert ef.from_cdc(head + "".join(arcs) + tail) == ef.parse(" - ".join(parts))


# -- impedance.py → eisfit: golden table (input, canonical form) ----------------------
IMPY_GOLDEN = [
    ("R0", "R0"),
    ("R0-p(R1,CPE1)", "R0 - (R1 | Q1)"),
    ("R0-p(R1,CPE1)-p(R2-Wo2,C2)", "R0 - (R1 | Q1) - ((R2 - Wo2) | C2)"),
    ("R_0-p(R_1,C_1)-Wo_1", "R0 - (R1 | C1) - Wo1"),  # R_0 → R0
    ("L0-R0-p(R1,CPE1)-Ws2", "L0 - R0 - (R1 | Q1) - Ws2"),
    ("La0-R0-TLMQ1", "La0 - R0 - Tb1"),
    ("p(R1,C1,L1)", "R1 | C1 | L1"),
    ("p(R1-p(R2,C2),C1)", "(R1 - (R2 | C2)) | C1"),
    ("R0 - p(R1, CPE1)", "R0 - (R1 | Q1)"),  # impedance.py ignores spaces
    ("G1-W2", "G1 - W2"),
    ("R12-CPE12", "R12 - Q12"),
]


@pytest.mark.parametrize("impy,canonical", IMPY_GOLDEN)
def test_from_impedance_py_golden(impy, canonical):
    c = ef.from_impedance_py(impy)
    assert str(c) == canonical
    assert c == ef.parse(canonical)


@pytest.mark.parametrize(
    "text,impy",
    [
        ("R0 - (R1 | Q1)", "R0-p(R1,CPE1)"),
        ("R0 - (R1 | Q1) - ((R2 - Wo2) | C2)", "R0-p(R1,CPE1)-p(R2-Wo2,C2)"),
        ("La0 - R0 - Tb1", "La0-R0-TLMQ1"),
        ("R1 | C1 | L1", "p(R1,C1,L1)"),
        ("R_0 - C_1", "R_0-C_1"),  # impedance.py reads R_0
    ],
)
def test_to_impedance_py_golden(text, impy):
    c = ef.parse(text)
    assert ef.to_impedance_py(c) == impy == c.to_impedance_py() == ef.to_impedance_py(text)


@pytest.mark.parametrize(
    "impy,fragment,pos",
    [
        ("R0-K1", "write (R1 | C1) with C1 = τ/R", 3),
        ("Zarc1", "Q1_Q = τ^γ/R and Q1_n = γ", 0),
        ("R0-Gs1", "finite-length Gerischer", 3),
        ("R0-T1", "Paasch", 3),
        ("R0-X1", "unknown impedance.py element 'X1'", 3),
        ("R0-p(R1)", "at least two branches", 3),
        ("R0-p(R1,C1", "missing ')'", 10),
        ("R0-(R1)", "p(...) only", 3),
        ("R0 - (R1 | C1)", "'|' is eisfit syntax", 9),
        ("R0-R0", "duplicate element R0", 3),
        ("R_0-R0", "duplicate element R0", 4),
        ("R-C1", "has no label", 0),
        ("", "empty", 0),
        ("R0-", "the text ended", 3),
        ("R0-p(R1,C1))", "unexpected ')'", 11),
    ],
)
def test_from_impedance_py_errors(impy, fragment, pos):
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.from_impedance_py(impy)
    assert fragment in e.value.reason and e.value.pos == pos
    assert pickle.loads(pickle.dumps(e.value)).reason == e.value.reason


@pytest.mark.parametrize("text,fragment", [("R0 - H1", "H1"), ("R0 - T1", "T1"),
                                           ("R_sei | Q_sei", "relabel R_sei")])
def test_to_impedance_py_errors(text, fragment):
    with pytest.raises(ef.CircuitError) as e:
        ef.parse(text).to_impedance_py()
    assert fragment in str(e.value) and isinstance(e.value, ValueError)


@st.composite
def _impy_circuits(draw, depth=0):
    counter = draw(st.shared(st.builds(lambda: [0]), key="impy"))
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        counter[0] += 1
        kind = draw(st.sampled_from(["R", "C", "L", "La", "Q", "W", "Wo", "Ws", "G", "Tb"]))
        return Element(kind, str(counter[0]))
    kids = [draw(_impy_circuits(depth + 1)) for _ in range(draw(st.integers(2, 4)))]
    return Series(*kids) if draw(st.booleans()) else Parallel(*kids)


@settings(max_examples=150, deadline=None)
@given(_impy_circuits())
def test_impedance_py_round_trip(c):
    assert ef.from_impedance_py(ef.to_impedance_py(c)) == c


# -- translated circuits evaluated by impedance.py itself -----------------------------
def _impy_z(text, params):
    from impedance.models.circuits import CustomCircuit

    return CustomCircuit(text, initial_guess=list(params)).predict(F, use_initial=True)


def test_whole_circuit_agrees_with_impedance_py_both_ways():
    impy = "L0-La1-R0-p(R1,CPE1)-p(R2-Wo2,C2)-p(R3,CPE3)-W4-Ws5-G6-TLMQ7"
    # impedance.py's parameters in its order (element order, each element's own order)
    p = [2e-7, 3e-6, 0.8, 10.0, 100.0, 1e-5, 0.9, 50.0, 80.0, 2.0, 1e-3, 40.0, 1e-2, 0.85,
         5.0, 60.0, 1.5, 30.0, 2e-3, 8.0, 1e-2, 0.75]
    c = ef.from_impedance_py(impy)
    assert c.to_impedance_py() == impy
    values = dict(zip(c.parameters, p))
    values["La1_L"] = p[1] ** p[2]  # impedance.py's La is (L·jω)^α: L_eisfit = L^α
    np.testing.assert_allclose(c.impedance(F, values), _impy_z(impy, p), rtol=1e-9)


def test_suggested_replacements_for_missing_elements_are_exact():
    """K1 ≡ (R1 | C1) with C1 = τ/R and Zarc1 ≡ (R1 | Q1) with Q = τ^γ/R, as the errors say."""
    r, tau, gamma = 40.0, 2e-3, 0.8
    rc = ef.parse("R1 | C1").impedance(F, {"R1": r, "C1": tau / r})
    np.testing.assert_allclose(rc, _impy_z("K1", [r, tau]), rtol=1e-9)
    rq = ef.parse("R1 | Q1").impedance(F, {"R1": r, "Q1_Q": tau**gamma / r, "Q1_n": gamma})
    np.testing.assert_allclose(rq, _impy_z("Zarc1", [r, tau, gamma]), rtol=1e-9)
