"""Translators to and from foreign circuit syntaxes.

- impedance.py strings: ``R0-p(R1,CPE1)-Wo1`` (``-`` series, ``p(a,b,...)`` parallel).
- Boukamp's circuit description code (CDC): ``R(RQ)(RQ)``; juxtaposition joins elements,
  each level of parentheses switches between series and parallel (the top level is
  series, ``(…)`` inside it is parallel, ``(…)`` inside that is series again);
  square brackets force series.
"""

from __future__ import annotations

import re
from itertools import count

from ..errors import CircuitSyntaxError
from .elements import ELEMENTS
from .nodes import Circuit, Element, Parallel, Series

__all__ = ["from_impedance_py", "to_impedance_py", "from_cdc", "to_cdc"]

# impedance.py element name → eisfit prefix
_IMPY_TO_EF = {s.impedance_py: s.prefix for s in ELEMENTS.values() if s.impedance_py}
_EF_TO_IMPY = {v: k for k, v in _IMPY_TO_EF.items()}
_IMPY_NAME = re.compile(r"([A-Za-z]+?)(_?\d+|_[A-Za-z0-9_]+)?$")
_CDC_TO_EF = {s.cdc: s.prefix for s in ELEMENTS.values() if s.cdc}
_EF_TO_CDC = {v: k for k, v in _CDC_TO_EF.items()}


def looks_like_impedance_py(text: str) -> bool:
    return "|" not in text and (re.search(r"(^|[-(,\s])p\(", text) is not None or "," in text
                                or re.search(r"\b(CPE|TLMQ)\w*", text) is not None)


def looks_like_cdc(text: str) -> bool:
    t = text.strip()
    return bool(t) and re.fullmatch(r"[RCLQWOTG()\[\]]+", t) is not None and not re.fullmatch(
        r"[A-Z]", t
    )


# ---------------------------------------------------------------------------------
# impedance.py
# ---------------------------------------------------------------------------------
def _impy_element(word: str, text: str, pos: int) -> Element:
    m = _IMPY_NAME.match(word)
    kind = m.group(1) if m else word
    label = (m.group(2) or "") if m else ""
    if kind not in _IMPY_TO_EF:
        known = ", ".join(sorted(_IMPY_TO_EF))
        raise CircuitSyntaxError(
            f"impedance.py element {kind!r} has no eisfit equivalent (known: {known})", text, pos
        )
    if label == "":
        raise CircuitSyntaxError(f"element {word!r} has no label", text, pos)
    if label.startswith("_") and label[1:].isdigit():
        label = label[1:]
    return Element(_IMPY_TO_EF[kind], label)


def from_impedance_py(text: str) -> Circuit:
    """Parse an impedance.py circuit string, e.g. ``"R0-p(R1,CPE1)-Wo1"``.

    Element labels are kept (``CPE1`` becomes ``Q1``, ``R_0`` becomes ``R0``).
    """
    tokens = [(m.group(0), m.start()) for m in re.finditer(r"p\(|[A-Za-z][A-Za-z0-9_]*|[-,()]|\S", text)]
    i = 0

    def peek():
        return tokens[i] if i < len(tokens) else ("", len(text))

    def series() -> Circuit:
        nonlocal i
        parts = [term()]
        while peek()[0] == "-":
            i += 1
            parts.append(term())
        return parts[0] if len(parts) == 1 else Series(*parts)

    def term() -> Circuit:
        nonlocal i
        tok, pos = peek()
        i += 1
        if tok == "p(":
            parts = [series()]
            while peek()[0] == ",":
                i += 1
                parts.append(series())
            if peek()[0] != ")":
                raise CircuitSyntaxError("expected ',' or ')'", text, peek()[1])
            i += 1
            if len(parts) < 2:
                raise CircuitSyntaxError("p(...) needs at least two parts", text, pos)
            return Parallel(*parts)
        if tok and (tok[0].isalpha()):
            return _impy_element(tok, text, pos)
        raise CircuitSyntaxError(f"expected an element or 'p(' but found {tok!r}", text, pos)

    if not tokens:
        raise CircuitSyntaxError("empty circuit", text, 0)
    c = series()
    if i != len(tokens):
        raise CircuitSyntaxError(f"unexpected {peek()[0]!r}", text, peek()[1])
    return c


def to_impedance_py(circuit: Circuit) -> str:
    """This circuit in impedance.py syntax. Elements impedance.py lacks raise ``ValueError``."""

    def emit(node: Circuit) -> str:
        if isinstance(node, Element):
            if node.kind not in _EF_TO_IMPY:
                raise ValueError(f"impedance.py has no element for {node.name} ({node.spec.name})")
            label = node.label if node.label[0].isdigit() else node.label
            return _EF_TO_IMPY[node.kind] + label
        if isinstance(node, Series):
            return "-".join(emit(c) for c in node.children)
        return "p(" + ",".join(emit(c) for c in node.children) + ")"

    return emit(circuit)


# ---------------------------------------------------------------------------------
# Boukamp CDC
# ---------------------------------------------------------------------------------
def from_cdc(text: str) -> Circuit:
    """Parse a Boukamp CDC string such as ``"R(RQ)(RQ)"``; elements are numbered in order."""
    t = text.strip()
    counter = count(0)
    i = 0

    def group(parallel: bool, close: str | None) -> Circuit:
        nonlocal i
        parts: list[Circuit] = []
        while i < len(t):
            ch = t[i]
            if ch in "([":
                opener = i
                i += 1
                inner = group(ch == "(" and not parallel, ")" if ch == "(" else "]")
                if i >= len(t) or t[i] != (")" if ch == "(" else "]"):
                    raise CircuitSyntaxError("unbalanced bracket", text, opener)
                i += 1
                parts.append(inner)
            elif ch in ")]":
                if ch != close:
                    raise CircuitSyntaxError(f"unexpected {ch!r}", text, i)
                break
            elif ch in _CDC_TO_EF:
                parts.append(Element(_CDC_TO_EF[ch], str(next(counter))))
                i += 1
            else:
                raise CircuitSyntaxError(f"unknown CDC element {ch!r}", text, i)
        if not parts:
            raise CircuitSyntaxError("empty group", text, i)
        if len(parts) == 1:
            return parts[0]
        return Parallel(*parts) if parallel else Series(*parts)

    c = group(False, None)
    if i != len(t):
        raise CircuitSyntaxError(f"unexpected {t[i]!r}", text, i)
    return c


def to_cdc(circuit: Circuit) -> str:
    """Boukamp CDC string of a circuit (labels are dropped)."""

    def emit(node: Circuit, parallel_level: bool) -> str:
        if isinstance(node, Element):
            if node.kind not in _EF_TO_CDC:
                raise ValueError(f"CDC has no letter for {node.name}")
            return _EF_TO_CDC[node.kind]
        want_parallel = isinstance(node, Parallel)
        body = "".join(emit(c, want_parallel) for c in node.children)
        if want_parallel == parallel_level:
            # same kind as the enclosing level: only possible for the top level
            return body
        return f"({body})" if want_parallel or parallel_level else f"[{body}]"

    return emit(circuit, False)
