"""Parser (eisfit's grammar only), canonical text, Python operators, errors and refusals."""

import pickle

import pytest
from hypothesis import given, settings, strategies as st

import eisfit as ef
from eisfit.circuit import Element, Parallel, Series

# golden table: (input, canonical form)
GOLDEN = [
    ("R0", "R0"),
    ("R0-R1", "R0 - R1"),
    ("R0 - (R1 | Q1) - (R2 | Q2) - Wo1", "R0 - (R1 | Q1) - (R2 | Q2) - Wo1"),
    ("R0-(R1|Q1)", "R0 - (R1 | Q1)"),
    ("R1 - W1 | Q1", "(R1 - W1) | Q1"),  # '-' binds tighter than '|'
    ("R1 | C1 | L1", "R1 | C1 | L1"),
    ("((R1 | C1))", "R1 | C1"),
    ("R0 - (R1 - R2)", "R0 - R1 - R2"),  # flattened
    ("(R1 | (C1 | Q1))", "R1 | C1 | Q1"),
    ("R_bulk - (R_sei | Q_sei)", "R_bulk - (R_sei | Q_sei)"),
    ("Ws1 - G2 - H3 - T4 - Tb5 - L6", "Ws1 - G2 - H3 - T4 - Tb5 - L6"),
    ("R0 - ((R_ct - Wo_d) | Q_dl)", "R0 - ((R_ct - Wo_d) | Q_dl)"),
    ("La0-R0-(R1|Q1)-Wo2", "La0 - R0 - (R1 | Q1) - Wo2"),
    ("  R0  -  ( R1 | C1 )  ", "R0 - (R1 | C1)"),
    ("R_0 - R_a_1", "R_0 - R_a_1"),  # '_0' is a name label, not the number 0
    ("R12 | Q12", "R12 | Q12"),
]


@pytest.mark.parametrize("text,canonical", GOLDEN)
def test_golden(text, canonical):
    c = ef.parse(text)
    assert str(c) == canonical
    assert ef.parse(str(c)) == c


def test_precedence_matches_python_operators():
    R, Q, W = ef.R, ef.Q, ef.W
    built = R(1) - W(1) | Q(1)
    assert built == ef.parse("R1 - W1 | Q1")
    assert isinstance(built, Parallel) and isinstance(built.children[0], Series)
    assert ef.R("0") - (ef.R("sei") | ef.Q("sei")) == ef.parse("R0 - (R_sei | Q_sei)")


def test_tree_is_flat_immutable_hashable():
    c = ef.parse("R0 - R1 - R2")
    assert isinstance(c, Series) and len(c.children) == 3
    assert (ef.R(0) - ef.R(1)) - ef.R(2) == ef.R(0) - (ef.R(1) - ef.R(2)) == c
    assert len({c, ef.parse("R0-R1-R2")}) == 1
    with pytest.raises(AttributeError):
        c.children = ()
    assert pickle.loads(pickle.dumps(c)) == c


def test_parameter_names_public_api():
    c = ef.parse("R0 - (R1 | Q1) - Wo1 - Ws2 - C2 - L0 - G1 - H1")
    assert c.parameters == (
        "R0", "R1", "Q1_Q", "Q1_n", "Wo1_R", "Wo1_tau", "Ws2_R", "Ws2_tau", "C2", "L0",
        "G1_R", "G1_tau", "H1_R", "H1_tau", "H1_alpha", "H1_beta",
    )


def test_duplicate_labels_are_errors():
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.parse("R1 - (R2 | R1)")
    assert "duplicate" in str(e.value) and "^" in str(e.value)
    with pytest.raises(ef.CircuitError):
        ef.R(1) - ef.R(1)


@pytest.mark.parametrize(
    "text,pos,fragment",
    [
        ("R0 - (R1 | Q1", 13, "missing ')'"),
        ("R0 - X1", 5, "unknown element"),
        ("R0 -- R1", 4, "expected an element"),
        ("R0 - R1)", 7, "unbalanced ')'"),
        ("R0 $ R1", 3, "unexpected character"),
        ("", 0, "empty"),
        ("R0 - ", 5, "text ended"),
    ],
)
def test_errors_have_caret(text, pos, fragment):
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.parse(text)
    err = e.value
    assert isinstance(err, ValueError) and isinstance(err, ef.EisfitError)
    assert fragment in str(err)
    assert err.pos == pos
    if text:
        lines = str(err).splitlines()
        assert lines[-2] == "    " + text
        assert lines[-1].index("^") - 4 == pos  # caret under the offending character
    assert pickle.loads(pickle.dumps(err)).pos == pos


@pytest.mark.parametrize(
    "text,hint",
    [
        ("R0 - CPE1 | R1", "did you mean Q1?"),
        ("Rs - R1", "did you mean R_s"),
        ("R0 - Wx1", "did you mean W"),
        ("R0 - Cc1", "did you mean C_c1"),
        ("R0 - ZARC1", "did you mean (R1 | Q1)?"),
        ("R0 | TLMQ2", "did you mean Tb2?"),
        ("R0 - E3 | C1", "did you mean Q3?"),
    ],
)
def test_suggestions(text, hint):
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.parse(text)
    assert hint in str(e.value)


def test_aliases_are_never_translated():
    for text in ("CPE1", "R0 - CPE1 | R1", "ZARC1", "RC", "RC1", "O1", "TLM1"):
        with pytest.raises(ef.CircuitSyntaxError):
            ef.parse(text)


# -- foreign syntaxes and preset names are refused, naming the converter -----------
# (text, what the message must contain, caret position); conversions written by hand
REFUSED = [
    ("RC", "a Boukamp CDC string", "ef.from_cdc('RC') → R0 - C0", 0),
    ("R(RC)", "a Boukamp CDC string", "ef.from_cdc('R(RC)') → R0 - (R1 | C1)", 0),
    ("R(RQ)(RQ)", "a Boukamp CDC string", "ef.from_cdc('R(RQ)(RQ)') → R0 - (R1 | Q1) - (R2 | Q2)", 0),
    ("[R(RC)]", "a Boukamp CDC string", "ef.from_cdc('[R(RC)]') → R0 - (R1 | C1)", 0),
    ("R(C(RW))", "a Boukamp CDC string", "ef.from_cdc('R(C(RW))') → R0 - (C1 | (R1 - W1))", 0),
    ("  RQ", "a Boukamp CDC string", "ef.from_cdc('RQ')", 2),
    ("L R(RC)", "a Boukamp CDC string", "no spaces; did you mean 'LR(RC)'?", 0),
    ("R(RC", "a Boukamp CDC string", "missing ')'", 0),
    ("R0-p(R1,CPE1)", "impedance.py syntax",
     "ef.from_impedance_py('R0-p(R1,CPE1)') → R0 - (R1 | Q1)", 3),
    ("R0-p(R1,C1)-Wo1", "impedance.py syntax",
     "ef.from_impedance_py('R0-p(R1,C1)-Wo1') → R0 - (R1 | C1) - Wo1", 3),
    ("p(R1,R2)", "impedance.py syntax", "→ R1 | R2", 0),
    ("R0-CPE1", "impedance.py syntax", "ef.from_impedance_py('R0-CPE1') → R0 - Q1", 3),
    ("R0 - TLMQ1", "impedance.py syntax", "→ R0 - Tb1", 5),
    ("R0-K1", "impedance.py syntax", "(R1 | C1) with C1 = τ/R", 3),
    ("randles", "preset", "use ef.preset('randles')", 0),
    (" pouch_4rc ", "preset", "use ef.preset('pouch_4rc')", 1),
]


@pytest.mark.parametrize("text,kind,fragment,pos", REFUSED)
def test_foreign_text_is_refused_naming_the_converter(text, kind, fragment, pos):
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.parse(text)
    err = e.value
    assert isinstance(err, ef.CircuitError) and isinstance(err, ValueError)
    assert kind in err.reason and fragment in err.reason
    assert err.pos == pos
    assert str(err).splitlines()[-1].index("^") - 4 == pos
    assert pickle.loads(pickle.dumps(err)).reason == err.reason


def test_done_when_rc_names_from_cdc():
    with pytest.raises(ef.CircuitSyntaxError, match=r"ef\.from_cdc"):
        ef.parse("RC")


def test_eisfit_text_near_foreign_syntax_keeps_the_native_error():
    # '|' is eisfit syntax, so the text is not taken for impedance.py
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.parse("R0 - (R1 | C1")
    assert "from_" not in str(e.value) and "missing ')'" in str(e.value)
    with pytest.raises(ef.CircuitSyntaxError) as e:
        ef.parse("randle")  # not a preset name: the parser's own message
    assert "ef.preset" not in str(e.value) and "unknown element" in str(e.value)


def test_parse_returns_a_circuit_unchanged_and_refuses_other_types():
    c = ef.ladder(2)
    assert ef.parse(c) is c
    with pytest.raises(TypeError):
        ef.parse(ef.preset("randles"))
    with pytest.raises(TypeError):
        ef.parse(3)


def test_deep_nesting_is_a_syntax_error_not_recursion_error():
    with pytest.raises(ef.CircuitSyntaxError):
        ef.parse("(" * 500 + "R1" + ")" * 500)


# -- property: parse(str(c)) == c for random trees --------------------------------
_KINDS = ["R", "C", "L", "Q", "W", "Wo", "Ws", "G", "H", "T", "Tb"]


@st.composite
def circuits(draw, depth=0):
    counter = draw(st.shared(st.builds(lambda: [0]), key="counter"))

    def leaf():
        counter[0] += 1
        kind = draw(st.sampled_from(_KINDS))
        label = str(counter[0]) if draw(st.booleans()) else f"_x{counter[0]}"
        return Element(kind, label)

    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return leaf()
    n = draw(st.integers(2, 4))
    kids = [draw(circuits(depth + 1)) for _ in range(n)]
    return Series(*kids) if draw(st.booleans()) else Parallel(*kids)


@settings(max_examples=150, deadline=None)
@given(circuits())
def test_parse_str_round_trip(c):
    assert ef.parse(str(c)) == c
    assert hash(ef.parse(str(c))) == hash(c)
