"""Fit parameters: bounds, fixed and tied parameters, and the scaled coordinates.

The optimiser works on a vector ``x`` of *free* parameters: ``x = ln θ`` for strictly
positive quantities (resistances, capacitances, CPE coefficients, time constants) and
``x = θ`` for bounded exponents. Fixed parameters are held at their value; a tied
parameter takes the value of the parameter it is tied to (equality ties).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..circuit import Circuit
from ..errors import FitError

__all__ = ["ParamSetup", "setup_parameters"]


@dataclass(frozen=True)
class ParamSetup:
    """How the circuit's parameters map onto the optimiser's vector ``x``."""

    names: tuple[str, ...]
    lo: np.ndarray  # natural units, per parameter
    hi: np.ndarray
    log: np.ndarray  # bool per parameter
    fixed: Mapping[str, float]
    ties: Mapping[str, str]  # dependent -> source
    free: tuple[str, ...]
    column: np.ndarray  # per parameter: index into x, or -1 if fixed
    fixed_values: np.ndarray  # natural value for fixed parameters (nan otherwise)

    @property
    def n_free(self) -> int:
        return len(self.free)

    @property
    def free_index(self) -> np.ndarray:
        """Index (into ``names``) of each free parameter."""
        return np.array([self.names.index(n) for n in self.free], dtype=int)

    def x_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        idx = self.free_index
        lo, hi, lg = self.lo[idx], self.hi[idx], self.log[idx]
        with np.errstate(divide="ignore"):
            xlo = np.where(lg, np.log(np.where(lo > 0, lo, 0.0)), lo)
            xhi = np.where(lg, np.log(hi), hi)
        return xlo, xhi

    def theta(self, x: np.ndarray) -> np.ndarray:
        """Natural parameter vector (all parameters) from free coordinates ``x``."""
        th = self.fixed_values.copy()
        free = self.column >= 0
        xv = x[self.column[free]]
        th[free] = np.where(self.log[free], np.exp(np.minimum(xv, 700.0)), xv)
        return th

    def dtheta_dx(self, theta: np.ndarray) -> np.ndarray:
        """Matrix (n_params, n_free) of dθ/dx."""
        D = np.zeros((len(self.names), self.n_free))
        free = np.flatnonzero(self.column >= 0)
        D[free, self.column[free]] = np.where(self.log[free], theta[free], 1.0)
        return D

    def to_x(self, values: Mapping[str, float]) -> np.ndarray:
        """Free coordinates for a full mapping of values, clipped into the bounds."""
        x = np.empty(self.n_free)
        for k, name in enumerate(self.free):
            i = self.names.index(name)
            v = float(np.clip(values[name], self.lo[i], self.hi[i]))
            if self.log[i]:
                v = max(v, 1e-300)
            x[k] = np.log(v) if self.log[i] else v
        xlo, xhi = self.x_bounds()
        return np.clip(x, xlo, xhi)


def _check_names(names: Iterable[str], known: tuple[str, ...], what: str) -> None:
    for n in names:
        if n not in known:
            import difflib  # only for error messages

            close = difflib.get_close_matches(n, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise FitError(f"{what}: unknown parameter {n!r}{hint} (circuit has {', '.join(known)})")


def from_lmfit(params: Any, known: tuple[str, ...]):
    """Split an ``lmfit.Parameters`` object into init, bounds, fixed and ties."""
    init, bounds, fixed, ties = {}, {}, {}, {}
    for name, p in params.items():
        if name not in known:
            _check_names([name], known, "lmfit Parameters")
        if p.value is not None and np.isfinite(p.value):
            init[name] = float(p.value)
        bounds[name] = (float(p.min), float(p.max))
        if getattr(p, "expr", None):
            expr = p.expr.strip()
            if expr not in known:
                raise FitError(
                    f"lmfit expression {p.expr!r} for {name}: only equality ties to another "
                    "parameter name are supported"
                )
            ties[name] = expr
        elif not p.vary:
            fixed[name] = float(p.value)
    return init, bounds, fixed, ties


def setup_parameters(
    circuit: Circuit,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | Iterable[str] | None = None,
    tie: Mapping[str, str] | None = None,
    init: Mapping[str, float] | None = None,
) -> ParamSetup:
    """Validate user options and build the :class:`ParamSetup`."""
    names = circuit.parameters
    specs = circuit.param_specs
    lo = np.array([specs[n].bounds[0] for n in names], dtype=float)
    hi = np.array([specs[n].bounds[1] for n in names], dtype=float)
    log = np.array([specs[n].scale == "log" for n in names])
    bounds = dict(bounds or {})
    _check_names(bounds, names, "bounds")
    for n, (b_lo, b_hi) in bounds.items():
        i = names.index(n)
        b_lo = -np.inf if b_lo is None else float(b_lo)
        b_hi = np.inf if b_hi is None else float(b_hi)
        if not b_lo < b_hi:
            raise FitError(f"bounds for {n}: lower {b_lo} must be below upper {b_hi}")
        if log[i] and b_hi <= 0:
            raise FitError(f"bounds for {n}: {n} is positive, upper bound must be > 0")
        lo[i], hi[i] = max(b_lo, lo[i]) if log[i] else b_lo, b_hi
    if fixed is None:
        fixed_map: dict[str, float] = {}
    elif isinstance(fixed, Mapping):
        fixed_map = {k: float(v) for k, v in fixed.items()}
    else:
        fixed_list = list(fixed)
        _check_names(fixed_list, names, "fixed")
        missing = [n for n in fixed_list if init is None or n not in init]
        if missing:
            raise FitError(f"fixed parameters {missing} need a value: pass fixed={{name: value}}")
        fixed_map = {n: float(init[n]) for n in fixed_list}  # type: ignore[index]
    _check_names(fixed_map, names, "fixed")
    ties = dict(tie or {})
    _check_names(ties, names, "tie")
    _check_names(ties.values(), names, "tie")
    for dep, src in ties.items():
        if src in ties:
            raise FitError(f"tie {dep} -> {src}: {src} is itself tied; tie to {ties[src]} instead")
        if dep == src:
            raise FitError(f"tie {dep} -> {src}: a parameter cannot be tied to itself")
        if dep in fixed_map:
            raise FitError(f"{dep} is both fixed and tied")
        if log[names.index(dep)] != log[names.index(src)]:
            raise FitError(f"tie {dep} -> {src}: parameters of different kinds")
    free = tuple(n for n in names if n not in fixed_map and n not in ties)
    column = np.full(len(names), -1, dtype=int)
    fixed_values = np.full(len(names), np.nan)
    for i, n in enumerate(names):
        if n in fixed_map:
            fixed_values[i] = fixed_map[n]
        elif n in ties:
            src = ties[n]
            if src in fixed_map:
                fixed_values[i] = fixed_map[src]
            else:
                column[i] = free.index(src)
        else:
            column[i] = free.index(n)
    return ParamSetup(names, lo, hi, log, fixed_map, ties, free, column, fixed_values)
