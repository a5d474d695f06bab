"""Immutable circuit trees: :class:`Element`, :class:`Series`, :class:`Parallel`.

``a - b`` joins in series and ``a | b`` in parallel (Python gives ``-`` the higher
precedence, exactly like the text grammar). Nested series of series and parallel of
parallel are flattened into one n-ary node. Trees are hashable, compare structurally,
and their ``str()`` is a canonical text that :func:`eisfit.parse` reads back into an
equal tree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from functools import cached_property
from typing import Any, Iterator

import numpy as np

from ..errors import CircuitError, ReadOnlyError, UnknownNameError
from .elements import ELEMENTS, ElementSpec, ParamSpec

__all__ = ["Circuit", "Element", "Series", "Parallel", "make_element"]

_LABEL_RE = re.compile(r"^(\d+|_[A-Za-z0-9_]+)$")


class Circuit:
    """Base class of circuit nodes. Use :func:`eisfit.parse` or element constructors."""

    # -- composition --------------------------------------------------------------
    def __sub__(self, other: "Circuit") -> "Series":
        if not isinstance(other, Circuit):
            return NotImplemented
        return Series(self, other)

    def __or__(self, other: "Circuit") -> "Parallel":
        if not isinstance(other, Circuit):
            return NotImplemented
        return Parallel(self, other)

    # -- structure ----------------------------------------------------------------
    def walk(self) -> Iterator["Circuit"]:
        """All nodes, depth first, parents before children."""
        yield self

    @cached_property
    def elements(self) -> tuple["Element", ...]:
        """The elements in tree order."""
        return tuple(n for n in self.walk() if isinstance(n, Element))

    @cached_property
    def parameters(self) -> tuple[str, ...]:
        """Ordered parameter names (public API: e.g. ``R1``, ``Q1_Q``, ``Q1_n``)."""
        return tuple(p for e in self.elements for p in e.param_names)

    @cached_property
    def param_specs(self) -> dict[str, ParamSpec]:
        """Parameter name → its :class:`ParamSpec` (unit, scale, default bounds)."""
        return {
            name: spec
            for e in self.elements
            for name, spec in zip(e.param_names, e.spec.params)
        }

    @property
    def units(self) -> dict[str, str]:
        return {n: s.unit for n, s in self.param_specs.items()}

    def element(self, name: str) -> "Element":
        """The element called ``name`` (e.g. ``"Q1"``)."""
        for e in self.elements:
            if e.name == name:
                return e
        raise UnknownNameError(f"no element {name!r} in {self}")

    # -- evaluation ---------------------------------------------------------------
    def compile(self):
        """A :class:`~eisfit.circuit.compile.CompiledCircuit` (Z and dZ/dθ in one pass).

        Compiled once per circuit (trees are immutable) and reused.
        """
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            from .compile import CompiledCircuit

            compiled = CompiledCircuit(self)
            self.__dict__["_compiled"] = compiled
        return compiled

    def impedance(self, freq: Any, values: Mapping[str, float]) -> np.ndarray:
        """Complex impedance at ``freq`` (Hz) for parameter ``values`` (name → number).

        Examples
        --------
        >>> import eisfit as ef
        >>> import math
        >>> f_arc = 1 / (2 * math.pi * 2 * 1e-3)  # ω·R1·C1 = 1: Z = R0 + R1 / (1 + j)
        >>> z = ef.parse("R0 - (R1 | C1)").impedance([f_arc], {"R0": 1, "R1": 2, "C1": 1e-3})
        >>> print(f"{z[0]:.6f}")
        2.000000-1.000000j
        """
        missing = [p for p in self.parameters if p not in values]
        if missing:
            raise CircuitError(f"missing values for parameters {missing} of {self}")
        theta = np.array([float(values[p]) for p in self.parameters])
        freq = np.asarray(freq, dtype=float)
        return self.compile().z(theta, freq.ravel()).reshape(freq.shape)

    # -- text ---------------------------------------------------------------------
    def to_impedance_py(self) -> str:
        """This circuit in impedance.py syntax (``R0-p(R1,CPE1)``): :func:`eisfit.to_impedance_py`."""
        from .foreign import to_impedance_py

        return to_impedance_py(self)

    def _text(self, inside: str | None) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return self._text(None)

    def __repr__(self) -> str:
        return f"<Circuit {self}>"

    def _check_unique(self) -> None:
        counts = Counter(e.name for e in self.elements)
        dup = sorted(n for n, c in counts.items() if c > 1)
        if dup:
            raise CircuitError(f"duplicate element label(s) {', '.join(dup)} in {self}")


class Element(Circuit):
    """A single element such as ``R1``, ``Q_sei`` or ``Wo1``."""

    def __init__(self, kind: str, label: str):
        if kind not in ELEMENTS:
            raise CircuitError(f"unknown element type {kind!r}; known: {', '.join(ELEMENTS)}")
        label = str(label)
        if not _LABEL_RE.match(label):
            raise CircuitError(
                f"invalid label {label!r} for element {kind}: use digits ('1') or '_name'"
            )
        self.__dict__["kind"] = kind
        self.__dict__["label"] = label

    def __setattr__(self, key, value):
        raise ReadOnlyError("circuits are immutable")

    kind: str
    label: str

    @property
    def spec(self) -> ElementSpec:
        return ELEMENTS[self.kind]

    @property
    def name(self) -> str:
        return self.kind + self.label

    @cached_property
    def param_names(self) -> tuple[str, ...]:
        return tuple(
            self.name if p.suffix is None else f"{self.name}_{p.suffix}" for p in self.spec.params
        )

    def _text(self, inside):
        return self.name

    def __eq__(self, other):
        return isinstance(other, Element) and (self.kind, self.label) == (other.kind, other.label)

    def __hash__(self):
        return hash(("E", self.kind, self.label))

    def __reduce__(self):
        return (Element, (self.kind, self.label))


class _Composite(Circuit):
    _tag = ""
    _op = ""

    def __init__(self, *children: Circuit):
        flat: list[Circuit] = []
        for c in children:
            if not isinstance(c, Circuit):
                raise CircuitError(f"cannot combine {type(c).__name__} into a circuit")
            if type(c) is type(self):
                flat.extend(c.children)
            else:
                flat.append(c)
        if len(flat) < 2:
            raise CircuitError(f"{type(self).__name__} needs at least two parts")
        self.__dict__["children"] = tuple(flat)
        self._check_unique()

    children: tuple[Circuit, ...]

    def __setattr__(self, key, value):
        raise ReadOnlyError("circuits are immutable")

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def __eq__(self, other):
        return type(other) is type(self) and self.children == other.children

    def __hash__(self):
        return hash((self._tag, self.children))

    def __reduce__(self):
        return (type(self), self.children)


class Series(_Composite):
    """Elements in series: impedances add."""

    _tag = "S"

    def _text(self, inside):
        s = " - ".join(c._text("S") for c in self.children)
        return f"({s})" if inside == "P" else s


class Parallel(_Composite):
    """Elements in parallel: admittances add."""

    _tag = "P"

    def _text(self, inside):
        s = " | ".join(c._text("P") for c in self.children)
        return f"({s})" if inside == "S" else s


def make_element(kind: str):
    """A constructor ``kind(label)`` for Python-form circuits, e.g. ``R("sei")`` → ``R_sei``."""

    def ctor(label: Any) -> Element:
        label = str(label)
        if not (label.isdigit() or label.startswith("_")):
            label = "_" + label
        return Element(kind, label)

    ctor.__name__ = kind
    ctor.__qualname__ = kind
    ctor.__doc__ = (
        f"{ELEMENTS[kind].name.capitalize()} element: ``{kind}(1)`` → ``{kind}1``, "
        f"``{kind}('sei')`` → ``{kind}_sei``."
    )
    return ctor
