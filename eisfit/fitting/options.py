"""The options of a fit, as one immutable value: :class:`FitOptions`.

``ef.fit`` and ``ef.batch.run`` take the same object, so a batch fits every spectrum
exactly as a single call would, and the options become part of the batch cache key.

Examples
--------
>>> import eisfit as ef
>>> opts = ef.FitOptions(fixed={"Q1_n": 0.9}, multistart=4)
>>> opts.replace(weight="unit").weight
'unit'
>>> dict(opts.fixed)
{'Q1_n': 0.9}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import FitError
from ..results import FrozenDict

__all__ = ["FitOptions"]


def _frozen(m):
    if m is None:
        return None
    if isinstance(m, Mapping):
        return FrozenDict({k: (tuple(v) if isinstance(v, list) else v) for k, v in m.items()})
    return tuple(m)


@dataclass(frozen=True)
class FitOptions:
    """How :func:`eisfit.fit` fits (everything but the circuit, the data and ``init``).

    Attributes
    ----------
    weight : {"modulus", "proportional", "unit"}
        Residual weighting (see :mod:`eisfit.linear.weights`); per-point σ arrays belong
        to one spectrum and are passed to ``ef.fit`` directly.
    bounds : mapping name → (low, high), optional
    fixed : mapping name → value, or names (values taken from ``init``), optional
    tie : mapping dependent → source, optional
        Equality ties, e.g. ``{"Q2_n": "Q1_n"}``.
    keep_order : bool
        Relabel interchangeable arcs so that time constants increase along the ladder.
    max_nfev : int
        Iteration limit of the final optimisation.
    multistart : int
        Starting points tried when the first fit is not good enough.
    """

    weight: str = "modulus"
    bounds: Mapping[str, tuple[float, float]] | None = None
    fixed: Mapping[str, float] | tuple[str, ...] | None = None
    tie: Mapping[str, str] | None = None
    keep_order: bool = True
    max_nfev: int = 400
    multistart: int = 8

    def __post_init__(self):
        if not isinstance(self.weight, str):
            raise FitError("FitOptions.weight is a name ('modulus', 'proportional', 'unit'); "
                           "pass per-point σ arrays to ef.fit(weight=...) directly")
        for name in ("bounds", "fixed", "tie"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if int(self.max_nfev) < 1 or int(self.multistart) < 1:
            raise FitError("max_nfev and multistart must be at least 1")

    def replace(self, **changes: Any) -> "FitOptions":
        """A copy with some options changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples as lists)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Mapping):
                v = {k: list(x) if isinstance(x, tuple) else x for k, x in v.items()}
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def fingerprint(self) -> str:
        """A short hash of the options (part of the batch cache key)."""
        import hashlib  # only batch runs hash options

        blob = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()

    @classmethod
    def coerce(cls, options: "FitOptions | Mapping[str, Any] | None") -> "FitOptions":
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        if isinstance(options, Mapping):
            return cls(**dict(options))
        raise FitError(f"options must be a FitOptions or a mapping, got {type(options).__name__}")

