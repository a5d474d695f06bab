"""Parser for eisfit's circuit text — a small recursive-descent parser, no ``eval``.

Grammar (``-`` binds tighter than ``|``, as in Python)::

    circuit  := series ('|' series)*
    series   := term ('-' term)*
    term     := ELEMENT | '(' circuit ')'
    ELEMENT  := PREFIX LABEL        PREFIX ∈ {R, C, L, La, Q, W, Wo, Ws, G, H, T, Tb}
    LABEL    := digits | '_' name

This is the only grammar :func:`parse` reads. Errors are
:class:`~eisfit.errors.CircuitSyntaxError` with a caret under the offending position; text
in a foreign syntax (impedance.py, Boukamp CDC) or a preset name is refused with a message
naming the function that converts it (:mod:`eisfit.circuit.foreign`, :func:`eisfit.preset`).
"""

from __future__ import annotations

import re

from ..errors import CircuitError, CircuitSyntaxError, InputTypeError
from .elements import ELEMENTS
from .nodes import Circuit, Element, Parallel, Series

__all__ = ["parse", "split_element_name"]

MAX_DEPTH = 100
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>[-|()])|(?P<bad>\S))")
_PREFIXES = sorted(ELEMENTS, key=len, reverse=True)
_LABEL = re.compile(r"^(\d+|_[A-Za-z0-9_]+)$")
# names users write for elements in other tools → what to write in eisfit (suggested, never
# translated: "{0}" is the label)
_ALIASES = {
    "CPE": "Q{0}", "E": "Q{0}", "ZARC": "(R{0} | Q{0})", "K": "(R{0} | C{0})", "O": "Wo{0}",
    "TLM": "T{0}", "TLMQ": "Tb{0}",
}
_IDENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")


def split_element_name(word: str) -> tuple[str, str] | None:
    """``"Wo1"`` → ``("Wo", "1")``; ``None`` if no known prefix with a valid label fits."""
    for p in _PREFIXES:
        if word.startswith(p) and _LABEL.match(word[len(p):]):
            return p, word[len(p):]
    return None


def _suggest(word: str) -> str:
    prefix = re.match(r"[A-Za-z]+", word).group(0)
    label = word[len(prefix):]
    if prefix.upper() in _ALIASES:
        return f"; did you mean {_ALIASES[prefix.upper()].format(label or '1')}?"
    for p in _PREFIXES:  # known prefix, bad label, e.g. "Rs" or "R_"
        if prefix.startswith(p) and prefix != p:
            return f"; labels are digits or '_name': did you mean {p}_{word[len(p):]}?"
    import difflib  # only for error messages

    close = difflib.get_close_matches(prefix, list(ELEMENTS), n=1, cutoff=0.3)
    if not close:
        close = difflib.get_close_matches(prefix.capitalize(), list(ELEMENTS), n=1, cutoff=0.3)
    if close:
        return f"; did you mean {close[0]}{label or '1'}?"
    return f"; known element types: {', '.join(ELEMENTS)}"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:  # only trailing whitespace left
                break
            if m.lastgroup is None:
                break
            start = m.start(m.lastgroup)
            if m.lastgroup == "bad":
                self.error(f"unexpected character {m.group('bad')!r}", start)
            self.tokens.append((m.lastgroup, m.group(m.lastgroup), start))
            pos = m.end()
        self.i = 0
        self.seen: dict[str, int] = {}

    def error(self, reason: str, pos: int) -> None:
        raise CircuitSyntaxError(reason, self.text, pos)

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.text))

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def circuit(self, depth: int) -> Circuit:
        if depth > MAX_DEPTH:
            self.error(f"nesting deeper than {MAX_DEPTH} levels", self.peek()[2])
        parts = [self.series(depth)]
        while self.peek()[1] == "|":
            self.take()
            parts.append(self.series(depth))
        return parts[0] if len(parts) == 1 else self.build(Parallel, parts)

    def series(self, depth: int) -> Circuit:
        parts = [self.term(depth)]
        while self.peek()[1] == "-":
            self.take()
            parts.append(self.term(depth))
        return parts[0] if len(parts) == 1 else self.build(Series, parts)

    def build(self, cls, parts):
        try:
            return cls(*parts)
        except CircuitError as exc:
            raise CircuitSyntaxError(str(exc), self.text, None) from None

    def term(self, depth: int) -> Circuit:
        kind, value, pos = self.take()
        if kind == "name":
            split = split_element_name(value)
            if split is None:
                self.error(f"unknown element {value!r}{_suggest(value)}", pos)
            if value in self.seen:
                self.error(f"duplicate element label {value!r}", pos)
            self.seen[value] = pos
            return Element(*split)
        if value == "(":
            inner = self.circuit(depth + 1)
            k2, v2, p2 = self.take()
            if v2 != ")":
                self.error("expected ')'" if k2 != "end" else "unbalanced '(': missing ')'", p2)
            return inner
        if kind == "end":
            self.error("expected an element or '(' but the text ended", pos)
        self.error(f"expected an element or '(' but found {value!r}", pos)
        raise AssertionError("unreachable")  # pragma: no cover

    def parse(self) -> Circuit:
        if not self.tokens:
            self.error("empty circuit", 0)
        c = self.circuit(0)
        kind, value, pos = self.peek()
        if kind != "end":
            reason = "unbalanced ')'" if value == ")" else f"unexpected {value!r}"
            self.error(reason, pos)
        return c


def _refusal(text: str) -> tuple[str, int] | None:
    """Why ``text`` is refused, and where, when it is a preset name or foreign syntax."""
    m = _IDENT.fullmatch(text)
    if m:
        from .builders import find_preset  # lazy: builders imports this module

        p = find_preset(m.group(1))
        if p is not None:
            return (f"{p.name!r} is the name of a preset, not circuit text: use "
                    f"ef.preset({p.name!r}) (its circuit is {p.circuit})", m.start(1))
    from .foreign import foreign_hint

    return foreign_hint(text)


def parse(text: str | Circuit) -> Circuit:
    """Parse eisfit circuit text such as ``"R0 - (R1 | Q1) - (R2 | Q2) - Wo3"``.

    Only eisfit's grammar is read (module docstring): ``-`` series, ``|`` parallel,
    parentheses, elements a type prefix plus digits or ``_name``. Other syntaxes are
    converted explicitly — :func:`~eisfit.from_impedance_py` (``"R0-p(R1,CPE1)"``),
    :func:`~eisfit.from_cdc` (``"R(RQ)(RQ)"``) — and presets come from
    :func:`~eisfit.preset`; given such text, the error names the function to use.
    A :class:`~eisfit.Circuit` is returned unchanged.

    Raises
    ------
    CircuitSyntaxError
        The text is not eisfit circuit text (a ``ValueError`` with a caret).

    Examples
    --------
    >>> import eisfit as ef
    >>> c = ef.parse("R0 - (R1 | Q1) - Wo2")
    >>> c.parameters
    ('R0', 'R1', 'Q1_Q', 'Q1_n', 'Wo2_R', 'Wo2_tau')
    >>> ef.parse(c) is c
    True
    >>> try:
    ...     ef.parse("R(RC)")
    ... except ef.CircuitSyntaxError as e:
    ...     print(e)  # doctest: +NORMALIZE_WHITESPACE
    'R(RC)' looks like a Boukamp CDC string; ef.parse reads eisfit's grammar only
    (R0 - (R1 | Q1)): convert it with ef.from_cdc('R(RC)') → R0 - (R1 | C1)
        R(RC)
        ^
    """
    if isinstance(text, Circuit):
        return text
    if not isinstance(text, str):
        hint = " (a preset's circuit is preset.circuit)" if hasattr(text, "circuit") else ""
        raise InputTypeError(f"parse() needs a string, got {type(text).__name__}{hint}")
    try:
        return _Parser(text).parse()
    except CircuitSyntaxError:
        refusal = _refusal(text)
        if refusal is None:
            raise
        raise CircuitSyntaxError(refusal[0], text, refusal[1]) from None
