"""Which circuit each spectrum is fitted with.

A batch model is a preset name (``"polymer_nmc_after"``), a circuit in the text DSL
(``"R0 - (R1 | Q1) - (R2 | Q2)"``), or ``"auto"`` (a DRT proposal per cell). A mapping
``{state: model}`` picks a model by the ``state`` metadata field, with the key ``"*"``
(or ``"default"``) as fallback. Preset names are resolved with :func:`eisfit.preset`;
everything else goes through :func:`eisfit.parse`.

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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..circuit import Preset, parse, presets
from ..errors import EisfitError, InputError

__all__ = ["AUTO", "ModelChoice", "ModelPlan", "resolve", "DIFFUSION"]

AUTO = "auto"
#: Elements whose resistance is not a DC resistance of an interface (left out of "total").
DIFFUSION = ("W", "Wo", "Ws", "T", "Tb")


@dataclass(frozen=True)
class ModelChoice:
    """One resolved model: canonical circuit text, and the preset it came from if any."""

    text: str
    preset: Preset | None = None

    @property
    def label(self) -> str:
        return self.preset.name if self.preset is not None else self.text

    @property
    def circuit(self):
        return self.preset.circuit if self.preset is not None else _parse(self.text)

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        return dict(self.preset.bounds) if self.preset is not None else {}

    def role(self, name: str) -> str | None:
        """Physical role of a parameter (from the preset), e.g. ``"bulk"``."""
        return self.preset.role(name) if self.preset is not None else None

    def groups(self) -> dict[str, tuple[str, ...]]:
        """The preset's named groups, plus ``total``: the DC resistances of every element
        that is not a diffusion element (unless the preset defines its own ``total``)."""
        groups = {k: tuple(v) for k, v in (self.preset.groups if self.preset else {}).items()}
        if "total" not in groups:
            c = self.circuit
            units = c.units
            members = tuple(p for e in c.elements if e.kind not in DIFFUSION
                            for p in e.param_names if units.get(p) == "Ω")
            if len(members) > 1:
                groups["total"] = members
        return groups


@lru_cache(maxsize=256)
def _parse(text: str):
    return parse(text)


@lru_cache(maxsize=256)
def resolve(spec: str) -> ModelChoice:
    """A :class:`ModelChoice` from a preset name or circuit text (not ``"auto"``).

    Raises
    ------
    InputError
        Neither a preset nor a valid circuit (the parser's message is kept).
    """
    spec = str(spec).strip()
    known = presets()
    if spec in known:
        return ModelChoice(str(known[spec].circuit), known[spec])
    try:
        c = _parse(spec)
    except EisfitError as e:
        raise InputError(
            f"model {spec!r} is neither a preset ({', '.join(sorted(known))}) "
            f"nor a valid circuit:\n{e}"
        ) from e
    return ModelChoice(str(c))


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
            raise InputError(f"model must be a string or a mapping state → model, got {spec!r}")
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
            raise InputError(f"no model for state {state!r}; give a default with the key '*'")
        return self.default

    def choice_for(self, meta: Mapping[str, Any], auto_text: str | None = None) -> ModelChoice:
        """The model of a spectrum with metadata ``meta`` (``auto_text`` resolves ``auto``)."""
        s = self.spec_for(meta)
        if s.strip().lower() == AUTO:
            if auto_text is None:
                raise InputError("model 'auto' but no proposal available for this cell")
            return resolve(auto_text)
        return resolve(s)

    def fingerprint(self) -> str:
        blob = json.dumps([self.default, list(self.by_state)], sort_keys=True)
        return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()

    def to_json(self):
        return self.default if not self.by_state else {"*": self.default, **dict(self.by_state)}
