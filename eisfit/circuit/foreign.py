"""Explicit translators between eisfit circuits and foreign circuit syntaxes.

:func:`eisfit.parse` reads eisfit's own grammar only (``R0 - (R1 | Q1)``); text in another
syntax is converted with the functions here, which say what they do to names and labels.

impedance.py — ``R0-p(R1,CPE1)-Wo1``
    ``-`` joins in series, ``p(a,b,…)`` in parallel. Element names are mapped (``CPE`` ↔ ``Q``,
    ``TLMQ`` ↔ ``Tb``; the others keep their name) and labels are kept (``R_0`` → ``R0``):
    :func:`from_impedance_py`, :func:`to_impedance_py`.

Boukamp's circuit description code (CDC) — ``R(RQ)(RQ)``
    one letter per element and no labels; juxtaposition joins. The top level is a series and
    each level of round brackets switches between parallel and series (``R(C(RW))``: ``C`` in
    parallel with the series ``R``–``W``); square brackets always hold a series
    (``R(C[RW])`` is the same circuit). :func:`from_cdc` assigns labels the way eisfit's
    ladders and presets do; :func:`to_cdc` drops them.

Both foreign syntaxes describe structure only: parameter *values* keep eisfit's definitions
(see :func:`from_impedance_py` for the one element, ``La``, whose values differ).
"""

from __future__ import annotations

import re

from ..errors import CircuitError, CircuitSyntaxError, InputTypeError
from .elements import ELEMENTS
from .nodes import Circuit, Element, Parallel, Series

__all__ = ["from_impedance_py", "to_impedance_py", "from_cdc", "to_cdc"]

#: impedance.py element name → eisfit prefix (from the element definitions)
IMPEDANCE_PY_NAMES = {s.impedance_py: s.prefix for s in ELEMENTS.values() if s.impedance_py}
_EF_TO_IMPY = {v: k for k, v in IMPEDANCE_PY_NAMES.items()}
#: impedance.py elements without an eisfit equivalent, with what to write instead
IMPEDANCE_PY_MISSING = {
    "K": "K is R/(1+jωτ): write (R1 | C1) with C1 = τ/R",
    "Zarc": "Zarc is R/(1+(jωτ)^γ): write (R1 | Q1) with Q1_Q = τ^γ/R and Q1_n = γ",
    "Gs": "eisfit has no finite-length Gerischer element",
    "T": "impedance.py's T is the Paasch porous-electrode model, not eisfit's T "
    "(de Levie line with an Rct ‖ CPE wall); eisfit has no equivalent",
}
#: Boukamp CDC letter → eisfit prefix
CDC_LETTERS = {s.cdc: s.prefix for s in ELEMENTS.values() if s.cdc}
_EF_TO_CDC = {v: k for k, v in CDC_LETTERS.items()}

_IMPY_TOKEN = re.compile(r"\s*(?:(p\()|([A-Za-z][A-Za-z0-9_]*)|([-,()])|(\S))")
_IMPY_LABEL_OUT = re.compile(r"_*\d+")  # labels impedance.py reads back (names end in digits)


def _circuit_arg(circuit, func: str) -> Circuit:
    if isinstance(circuit, Circuit):
        return circuit
    if isinstance(circuit, str):
        from .parser import parse

        return parse(circuit)
    got = type(circuit).__name__
    raise InputTypeError(f"{func}() needs a Circuit or eisfit circuit text, got {got}")


# ---------------------------------------------------------------------------------
# recognising foreign text (used by eisfit.parse to name the converter)
# ---------------------------------------------------------------------------------
_IMPY_FEATURE = re.compile(
    r"(?<![A-Za-z0-9_])p\(|,|(?<![A-Za-z0-9_])(CPE|TLMQ|Zarc|Gs|K)(?=[0-9_])"
)


def impedance_py_feature(text: str) -> int | None:
    """Position of the first impedance.py-only feature (``p(``, a comma, ``CPE1``, ``TLMQ1``,
    ``Zarc1``, ``Gs1``, ``K1``) in text without ``|``; ``None`` if there is none."""
    if "|" in text:
        return None
    m = _IMPY_FEATURE.search(text)
    return None if m is None else m.start()


def looks_like_cdc(text: str) -> bool:
    """Only CDC letters and brackets (spaces tolerated here so that the error can name them)."""
    t = text.strip()
    return re.fullmatch(r"[RCLQWOTG()\[\] ]+", t) is not None and re.search(r"[A-Z]", t) is not None


def foreign_hint(text: str) -> tuple[str, int] | None:
    """For foreign ``text``: what to call instead of :func:`eisfit.parse`, and where the foreign
    syntax shows; ``None`` if the text is not recognisably impedance.py or CDC."""
    feature = impedance_py_feature(text)
    if feature is not None:
        kind, func, convert = "impedance.py syntax", "ef.from_impedance_py", from_impedance_py
    elif looks_like_cdc(text):
        kind, func, convert = "a Boukamp CDC string", "ef.from_cdc", from_cdc
        feature = len(text) - len(text.lstrip())
    else:
        return None
    try:
        outcome = f" → {convert(text)}"
    except CircuitError as exc:
        outcome = f" (which refuses it: {getattr(exc, 'reason', exc)})"
    reason = (
        f"{text.strip()!r} looks like {kind}; ef.parse reads eisfit's grammar only "
        f"(R0 - (R1 | Q1)): convert it with {func}({text.strip()!r}){outcome}"
    )
    return reason, feature


# ---------------------------------------------------------------------------------
# impedance.py
# ---------------------------------------------------------------------------------
def _impy_element(word: str, text: str, pos: int) -> Element:
    letters = re.match(r"[A-Za-z]+", word).group(0)
    rest = word[len(letters):]
    if letters in IMPEDANCE_PY_MISSING:
        raise CircuitSyntaxError(
            f"impedance.py element {word!r} has no eisfit equivalent: "
            f"{IMPEDANCE_PY_MISSING[letters]}",
            text,
            pos,
        )
    if letters not in IMPEDANCE_PY_NAMES:
        known = ", ".join(sorted(IMPEDANCE_PY_NAMES))
        raise CircuitSyntaxError(
            f"unknown impedance.py element {word!r} (known: {known})", text, pos
        )
    if not rest or rest.strip("_") == "":
        raise CircuitSyntaxError(f"element {word!r} has no label (e.g. {letters}1)", text, pos)
    if re.fullmatch(r"_*\d+", rest):
        label = rest.lstrip("_")  # R_0 → R0
    else:
        label = rest if rest.startswith("_") else "_" + rest  # R1_2 → R_1_2, R_bulk stays
    return Element(IMPEDANCE_PY_NAMES[letters], label)


def from_impedance_py(text: str) -> Circuit:
    """Convert an impedance.py circuit string such as ``"R0-p(R1,CPE1)-Wo1"``.

    Element names are mapped to eisfit prefixes (``CPE`` → ``Q``, ``TLMQ`` → ``Tb``, the
    others keep their name) and labels are kept: ``CPE1`` → ``Q1``, ``R_0`` → ``R0``.
    Parameter values keep eisfit's definitions, which equal impedance.py's for every element
    except the modified inductor: impedance.py 1.7 computes ``La`` as (L·jω)^α, eisfit as
    L·(jω)^α (BioLogic's definition), so ``La1_L`` (eisfit) = L (impedance.py) ** α.

    Raises
    ------
    CircuitSyntaxError
        Malformed text, duplicate labels, or an element eisfit lacks (``K``, ``Zarc``,
        ``Gs``, impedance.py's ``T``); the message says what to write instead.

    Examples
    --------
    >>> import eisfit as ef
    >>> str(ef.from_impedance_py("R0-p(R1,CPE1)-p(R2-Wo2,C2)"))
    'R0 - (R1 | Q1) - ((R2 - Wo2) | C2)'
    >>> str(ef.from_impedance_py("R_0-p(R_1,C_1)-TLMQ_2"))
    'R0 - (R1 | C1) - Tb2'
    """
    if not isinstance(text, str):
        raise InputTypeError(f"from_impedance_py() needs a string, got {type(text).__name__}")
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while True:
        m = _IMPY_TOKEN.match(text, pos)
        if m is None:
            break
        kind = ("p", "name", "op", "bad")[m.lastindex - 1]
        start = m.start(m.lastindex)
        if kind == "bad":
            ch = m.group(4)
            why = "; '|' is eisfit syntax: use ef.parse" if ch == "|" else ""
            raise CircuitSyntaxError(f"unexpected character {ch!r}{why}", text, start)
        tokens.append((kind, m.group(m.lastindex), start))
        pos = m.end()
    if not tokens:
        raise CircuitSyntaxError("empty circuit", text, 0)
    i = 0
    seen: set[str] = set()

    def peek() -> tuple[str, str, int]:
        return tokens[i] if i < len(tokens) else ("end", "", len(text))

    def series() -> Circuit:
        nonlocal i
        parts = [term()]
        while peek()[1] == "-":
            i += 1
            parts.append(term())
        return parts[0] if len(parts) == 1 else Series(*parts)

    def term() -> Circuit:
        nonlocal i
        kind, tok, pos = peek()
        i += 1
        if kind == "p":
            parts = [series()]
            while peek()[1] == ",":
                i += 1
                parts.append(series())
            if peek()[1] != ")":
                k2, _, p2 = peek()
                why = "unbalanced 'p(': missing ')'" if k2 == "end" else "expected ',' or ')'"
                raise CircuitSyntaxError(why, text, p2)
            i += 1
            if len(parts) < 2:
                raise CircuitSyntaxError("p(...) needs at least two branches", text, pos)
            return Parallel(*parts)
        if kind == "name":
            e = _impy_element(tok, text, pos)
            if e.name in seen:
                raise CircuitSyntaxError(f"duplicate element {e.name} ({tok!r})", text, pos)
            seen.add(e.name)
            return e
        if tok == "(":
            raise CircuitSyntaxError("impedance.py groups with p(...) only", text, pos)
        found = "the text ended" if kind == "end" else f"found {tok!r}"
        raise CircuitSyntaxError(f"expected an element or 'p(' but {found}", text, pos)

    c = series()
    if i != len(tokens):
        raise CircuitSyntaxError(f"unexpected {peek()[1]!r}", text, peek()[2])
    return c


def to_impedance_py(circuit: Circuit | str) -> str:
    """The circuit as an impedance.py string (``R0-p(R1,CPE1)``).

    Names are mapped as in :func:`from_impedance_py`, so ``from_impedance_py(to_impedance_py(c))
    == c`` for digit labels; note the different ``La`` parameter (L_eisfit = L_impedance.py^α).

    Raises
    ------
    CircuitError
        An element impedance.py lacks (``H``, ``T``), or a ``_name`` label (impedance.py
        names must end in digits).

    Examples
    --------
    >>> import eisfit as ef
    >>> ef.to_impedance_py(ef.parse("R0 - (R1 | Q1) - Tb2"))
    'R0-p(R1,CPE1)-TLMQ2'
    >>> ef.parse("R0 - (R1 | C1)").to_impedance_py()
    'R0-p(R1,C1)'
    """
    circuit = _circuit_arg(circuit, "to_impedance_py")

    def emit(node: Circuit) -> str:
        if isinstance(node, Element):
            if node.kind not in _EF_TO_IMPY:
                raise CircuitError(
                    f"impedance.py has no element for {node.name} ({node.spec.name})"
                )
            if not _IMPY_LABEL_OUT.fullmatch(node.label):
                raise CircuitError(
                    f"impedance.py element names end in digits: relabel {node.name} "
                    f"(e.g. {node.kind}1) before converting"
                )
            return _EF_TO_IMPY[node.kind] + node.label
        if isinstance(node, Series):
            return "-".join(emit(c) for c in node.children)
        return "p(" + ",".join(emit(c) for c in node.children) + ")"

    return emit(circuit)


# ---------------------------------------------------------------------------------
# Boukamp CDC
# ---------------------------------------------------------------------------------
def _cdc_tree(text: str):
    """Label-free tree of a CDC string: ``("E", prefix)``, ``("S", [...])``, ``("P", [...])``."""
    offset = len(text) - len(text.lstrip())
    t = text.strip()
    if not t:
        raise CircuitSyntaxError("empty circuit", text, 0)
    space = re.search(r"\s", t)
    if space:
        squeezed = "".join(t.split())
        raise CircuitSyntaxError(
            f"CDC strings have no spaces; did you mean {squeezed!r}?", text, offset + space.start()
        )
    i = 0

    def fail(reason: str, at: int):
        raise CircuitSyntaxError(reason, text, offset + at)

    def group(kind: str, close: str | None):
        nonlocal i
        parts: list = []
        while i < len(t):
            ch = t[i]
            if ch in "([":
                opener = i
                i += 1
                inner_kind = "S" if ch == "[" or kind == "P" else "P"
                inner = group(inner_kind, ")" if ch == "(" else "]")
                if i >= len(t):
                    fail(f"unbalanced {ch!r}: missing {')' if ch == '(' else ']'!r}", opener)
                i += 1
                parts.append(inner)
            elif ch in ")]":
                if ch != close:
                    fail(f"unbalanced {ch!r}" if close is None else f"expected {close!r}", i)
                break
            elif ch in CDC_LETTERS:
                parts.append(("E", CDC_LETTERS[ch]))
                i += 1
            elif ch.isdigit() or ch == "_":
                fail(f"unexpected {ch!r}: CDC strings have no labels "
                     "(eisfit text goes to ef.parse)", i)
            elif ch.isalpha():
                letters = ", ".join(f"{k}={v}" for k, v in CDC_LETTERS.items())
                fail(f"unknown CDC element {ch!r} (known: {letters})", i)
            else:
                why = " (eisfit text goes to ef.parse)" if ch in "-|" else ""
                fail(f"unexpected character {ch!r}{why}", i)
        if not parts:
            fail("empty brackets", i)
        flat: list = []
        for p in parts:  # series in series, parallel in parallel: one node
            flat.extend(p[1] if p[0] == kind else [p])
        return flat[0] if len(flat) == 1 else (kind, flat)

    root = group("S", None)
    if i != len(t):  # pragma: no cover - group(None) stops only at the end or raises
        fail(f"unexpected {t[i]!r}", i)
    return root


def _kinds(node) -> list[str]:
    return [node[1]] if node[0] == "E" else [k for c in node[1] for k in _kinds(c)]


def _cdc_labels(root) -> list[int]:
    """Labels of the elements of a CDC tree, in tree order (the rule of :func:`from_cdc`)."""
    top = root[1] if root[0] == "S" else [root]
    n_arcs = sum(p[0] == "P" for p in top)
    positional: list[int] = []
    k = 0
    for part in top:
        if part[0] == "P":
            k += 1
            positional += [k] * len(_kinds(part))
        else:
            positional.append(0 if k == 0 else n_arcs + 1 if k == n_arcs else k)
    fresh = max(positional) + 1
    taken: set[tuple[str, int]] = set()
    labels = []
    for kind, label in zip(_kinds(root), positional):
        if (kind, label) in taken:
            label = fresh
            while (kind, label) in taken:
                label += 1
        taken.add((kind, label))
        labels.append(label)
    return labels


def from_cdc(text: str) -> Circuit:
    """Convert a Boukamp CDC string such as ``"R(RQ)(RQ)"``, numbering like :func:`~eisfit.ladder`.

    CDC has no labels; they are assigned so that the result follows eisfit's ``Rk | Qk``
    convention:

    1. each parallel group at the top level is an *arc*; arc k (counted from 1, left to
       right) gives label k to all its elements, however deeply nested;
    2. an element standing alone at the top level takes label 0 before the first arc, n + 1
       after the last of n arcs, and k between arcs k and k + 1;
    3. an element whose name rules 1–2 already gave away (``R(RR)``, a nested arc) takes the
       next label above every label of rules 1–2 that is free for its type, in circuit order.

    So ``LR(RQ)(RQ)W`` is ``L0 - R0 - (R1 | Q1) - (R2 | Q2) - W3``, like
    ``ef.ladder(2, "RQ", diffusion="W", inductance=True)``. A circuit that is one parallel
    group is arc 1. Letters: R, C, L, Q (CPE), W (Warburg), O (``Wo``, reflective finite
    Warburg), T (``Ws``, transmissive finite Warburg), G (Gerischer); parameters keep
    eisfit's definitions.

    Raises
    ------
    CircuitSyntaxError
        Unknown letters, labels or spaces, unbalanced or empty brackets (with a caret).

    Examples
    --------
    >>> import eisfit as ef
    >>> str(ef.from_cdc("R(RC)(RQ)"))
    'R0 - (R1 | C1) - (R2 | Q2)'
    >>> str(ef.from_cdc("R(C(RW))"))
    'R0 - (C1 | (R1 - W1))'
    >>> str(ef.from_cdc("R(Q(R(RQ)))"))
    'R0 - (Q1 | (R1 - (R2 | Q2)))'
    """
    if not isinstance(text, str):
        raise InputTypeError(f"from_cdc() needs a string, got {type(text).__name__}")
    root = _cdc_tree(text)
    labels = iter(_cdc_labels(root))

    def build(node) -> Circuit:
        if node[0] == "E":
            return Element(node[1], str(next(labels)))
        parts = [build(c) for c in node[1]]
        return Series(*parts) if node[0] == "S" else Parallel(*parts)

    return build(root)


def to_cdc(circuit: Circuit | str) -> str:
    """The circuit as a Boukamp CDC string (labels are dropped).

    Parallel groups are written in round brackets and series groups inside them in round
    brackets again (the alternating convention), so :func:`from_cdc` reads the string back
    into the same structure: ``from_cdc(to_cdc(c))`` equals ``c`` up to labels, and equals it
    exactly for ladders numbered like :func:`~eisfit.ladder` with at least one arc.

    Raises
    ------
    CircuitError
        An element without a CDC letter (``La``, ``H``, ``T``, ``Tb``).

    Examples
    --------
    >>> import eisfit as ef
    >>> ef.to_cdc(ef.parse("R0 - (R1 | Q1) - (C2 | (R2 - W2))"))
    'R(RQ)(C(RW))'
    """
    circuit = _circuit_arg(circuit, "to_cdc")

    def emit(node: Circuit, parallel_level: bool) -> str:
        if isinstance(node, Element):
            if node.kind not in _EF_TO_CDC:
                raise CircuitError(f"CDC has no letter for {node.name} ({node.spec.name})")
            return _EF_TO_CDC[node.kind]
        want_parallel = isinstance(node, Parallel)
        body = "".join(emit(c, want_parallel) for c in node.children)
        # trees are flat, so only the top level can have the kind of its (series) context
        return body if want_parallel == parallel_level else f"({body})"

    return emit(circuit, False)
