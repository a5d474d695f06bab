"""Which circuit each spectrum is fitted with, and keeping arcs comparable along a sequence.

A batch model is a preset name (``"polymer_nmc_after"``), a circuit in the text DSL
(``"R0 - (R1 | Q1) - (R2 | Q2)"``), or ``"auto"`` (a DRT proposal per cell). A mapping
``{state: model}`` picks a model by the ``state`` metadata field, with the key
``"*"`` (or ``"default"``) as fallback.

Series arcs of the same shape, e.g. ``(R1 | Q1) - (R2 | Q2)``, can trade labels
between fits without changing the impedance. :func:`order_arcs` relabels them so that
the first arc is always the fastest (highest characteristic frequency), and
:func:`jump_flags` flags resistances that jump between neighbours in a sequence,
in particular jumps that look like two arcs swapping labels.

Examples
--------
>>> plan = ModelPlan.from_spec({"before": "R0 - (R1 | Q1)", "*": "R0 - (R1 | Q1) - (R2 | Q2)"})
>>> plan.choice_for({"state": "before"}).text
'R0 - (R1 | Q1)'
>>> plan.choice_for({"state": "after"}).text
'R0 - (R1 | Q1) - (R2 | Q2)'
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import EisfitError

__all__ = ["AUTO", "ModelChoice", "ModelPlan", "resolve", "series_arcs", "order_arcs", "jump_flags"]

AUTO = "auto"


@dataclass(frozen=True)
class ModelChoice:
    """One resolved model: canonical circuit text plus preset information.

    Attributes
    ----------
    text : str
        Canonical circuit text (``str(circuit)``).
    preset : str or None
        Preset name when the model came from one.
    groups : dict
        Named sums of resistances (e.g. ``{"interfacial": ("R_sei", "R_rs")}``).
    roles : dict
        Parameter or element name → role (``"bulk"``, ``"interface"``, ...).
    bounds : dict
        Parameter bounds from the preset.
    """

    text: str
    preset: str | None = None
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.preset or self.text

    def circuit(self):
        """The parsed circuit (cached per process)."""
        return _parse(self.text)

    def role_of(self, name: str) -> str | None:
        """Role of a parameter, looked up by its own name and then by its element."""
        if name in self.roles:
            return self.roles[name]
        for e in self.circuit().elements:
            if name in e.param_names:
                return self.roles.get(e.name)
        return None


@lru_cache(maxsize=64)
def _parse(text: str):
    from .. import parse

    return parse(text)


@lru_cache(maxsize=64)
def resolve(spec: str) -> ModelChoice:
    """A :class:`ModelChoice` from a preset name or circuit text (not ``"auto"``).

    Raises
    ------
    EisfitError
        Neither a preset nor a valid circuit (the parser's message is kept).
    """
    spec = str(spec).strip()
    from .. import parse, presets

    known = presets()
    if spec in known:
        p = known[spec]
        return ModelChoice(
            text=str(p.circuit),
            preset=spec,
            groups={k: tuple(v) for k, v in dict(p.groups).items()},
            roles=dict(p.roles),
            bounds={k: tuple(v) for k, v in dict(p.bounds).items()},
        )
    try:
        c = parse(spec)
    except EisfitError as e:
        raise EisfitError(
            f"model {spec!r} is neither a preset ({', '.join(sorted(known))}) "
            f"nor a valid circuit:\n{e}"
        ) from e
    return ModelChoice(text=str(c))


@dataclass(frozen=True)
class ModelPlan:
    """Model per state: ``default`` and ``by_state`` (each a spec string or ``"auto"``)."""

    default: str | None
    by_state: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, str]) -> ModelPlan:
        """Build from a single spec or a ``{state: spec}`` mapping; validates every spec."""
        if isinstance(spec, Mapping):
            items = {str(k): str(v) for k, v in spec.items()}
            default = items.pop("*", None) or items.pop("default", None)
            plan = cls(default, tuple(sorted(items.items())))
        elif isinstance(spec, str):
            plan = cls(spec)
        else:
            raise EisfitError(f"model must be a string or a mapping state → model, got {spec!r}")
        for s in plan.specs():
            if s.strip().lower() != AUTO:
                resolve(s)
        return plan

    def specs(self) -> list[str]:
        return ([self.default] if self.default else []) + [v for _, v in self.by_state]

    @property
    def uses_auto(self) -> bool:
        return any(s.strip().lower() == AUTO for s in self.specs())

    def spec_for(self, meta: Mapping[str, Any]) -> str:
        state = meta.get("state")
        for k, v in self.by_state:
            if state is not None and str(state) == k:
                return v
        if self.default is None:
            raise EisfitError(
                f"no model for state {state!r}; give a default with the key '*'"
            )
        return self.default

    def choice_for(self, meta: Mapping[str, Any], auto_text: str | None = None) -> ModelChoice:
        """The model of a spectrum with metadata ``meta`` (``auto_text`` resolves ``auto``)."""
        s = self.spec_for(meta)
        if s.strip().lower() == AUTO:
            if auto_text is None:
                raise EisfitError("model 'auto' but no proposal available for this cell")
            return resolve(auto_text)
        return resolve(s)

    def fingerprint(self) -> str:
        blob = json.dumps([self.default, list(self.by_state)], sort_keys=True)
        return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


# --------------------------------------------------------------------------------------
# arcs
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arc:
    """A series (R | Q) or (R | C) block: its parameter names and shape."""

    shape: str  # "RQ" or "RC"
    names: tuple[str, ...]  # (R, Q_Q, Q_n) or (R, C)

    def tau(self, values: Mapping[str, float]) -> float:
        try:
            if self.shape == "RC":
                return float(values[self.names[0]] * values[self.names[1]])
            r, q, n = (float(values[k]) for k in self.names)
            return float((r * q) ** (1.0 / n))
        except (KeyError, ValueError, ZeroDivisionError, OverflowError):
            return math.nan

    @property
    def R(self) -> str:
        return self.names[0]


@lru_cache(maxsize=64)
def series_arcs(text: str) -> tuple[Arc, ...]:
    """The top-level series arcs of a circuit, in circuit order."""
    from .. import Element, Parallel, Series

    c = _parse(text)
    blocks = c.children if isinstance(c, Series) else (c,)
    arcs = []
    for b in blocks:
        if not isinstance(b, Parallel) or len(b.children) != 2:
            continue
        if not all(isinstance(e, Element) for e in b.children):
            continue
        kinds = {e.kind: e for e in b.children}
        if "R" in kinds and "Q" in kinds:
            arcs.append(Arc("RQ", kinds["R"].param_names + kinds["Q"].param_names))
        elif "R" in kinds and "C" in kinds:
            arcs.append(Arc("RC", kinds["R"].param_names + kinds["C"].param_names))
    return tuple(arcs)


def order_arcs(text: str, values: Mapping[str, float]) -> dict[str, str]:
    """Relabelling ``old name → new name`` that sorts same-shape arcs by time constant.

    Only arcs of the same shape are permuted (series blocks commute, so the
    impedance is unchanged). Returns an empty dict when the order is already right.
    """
    arcs = series_arcs(text)
    rename: dict[str, str] = {}
    for shape in ("RQ", "RC"):
        group = [a for a in arcs if a.shape == shape]
        if len(group) < 2:
            continue
        taus = [a.tau(values) for a in group]
        if any(not math.isfinite(t) for t in taus):
            continue
        order = sorted(range(len(group)), key=lambda i: taus[i])
        for slot, src in enumerate(order):
            if slot != src:
                for old, new in zip(group[src].names, group[slot].names):
                    rename[old] = new
    return rename


def jump_flags(
    text: str,
    prev: Mapping[str, float] | None,
    values: Mapping[str, float],
    resistances: list[str],
    factor: float = 2.0,
) -> list[str]:
    """Flags for resistances that changed by more than ``factor`` from the predecessor.

    A jump of two same-shape arcs whose values fit much better swapped is flagged
    ``"swap?R1<->R2"``; other jumps ``"jump:R1"``.
    """
    if not prev:
        return []
    flags: list[str] = []
    lf = math.log(factor)

    def d(a: float, b: float) -> float:
        if a > 0 and b > 0:
            return abs(math.log(a / b))
        return math.inf

    swapped: set[str] = set()
    arcs = [a for a in series_arcs(text) if a.R in prev and a.R in values]
    for i in range(len(arcs)):
        for j in range(i + 1, len(arcs)):
            a, b = arcs[i].R, arcs[j].R
            same = d(values[a], prev[a]) + d(values[b], prev[b])
            cross = d(values[a], prev[b]) + d(values[b], prev[a])
            if same > lf and cross < 0.5 * same:
                flags.append(f"swap?{a}<->{b}")
                swapped.update((a, b))
    for r in resistances:
        if r in swapped or r not in prev or r not in values:
            continue
        if d(values[r], prev[r]) > lf:
            flags.append(f"jump:{r}")
    return flags


def rename_result(rec: dict, rename: Mapping[str, str]) -> None:
    """Apply an arc relabelling to a fit record in place (values, errors, covariance)."""
    if not rename:
        return
    for key in ("values", "stderr", "ci", "init"):
        d = rec.get(key)
        if isinstance(d, dict):
            rec[key] = {rename.get(k, k): v for k, v in d.items()}
    if rec.get("at_bound"):
        rec["at_bound"] = sorted(rename.get(k, k) for k in rec["at_bound"])
    names = rec.get("param_names")
    cov = rec.get("covariance")
    if names and cov is not None:
        new_names = [rename.get(k, k) for k in names]
        # the parameter now called names[a] sat at position perm[a] before
        perm = [new_names.index(k) for k in names]
        cov = np.asarray(cov, float)
        rec["covariance"] = cov[np.ix_(perm, perm)]
        rec["param_names"] = list(names)
