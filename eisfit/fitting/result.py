"""The immutable :class:`FitResult`: values, uncertainties, statistics, report, tables, JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import InputError, UnknownNameError
from ..results import FrozenDict, frozen_arrays

__all__ = ["FitResult", "Derived"]


@dataclass(frozen=True)
class Derived:
    """A quantity derived from fitted parameters (τ, peak frequency, Brug capacitance …)."""

    element: str
    quantity: str
    value: float
    stderr: float
    unit: str


@dataclass(frozen=True, eq=False)
class FitResult:
    """Result of :func:`eisfit.fitting`. Immutable; mappings are returned as fresh dicts.

    Attributes
    ----------
    values, stderr : dict
        Parameter name → fitted value / standard error (0 for fixed parameters).
    ci : dict
        Parameter name → (low, high), 95 % confidence interval (log-normal for positive
        parameters, symmetric for exponents).
    success : bool
        False if the optimiser did not converge, or the residuals are more than
        ``NOISE_RATIO_LIMIT`` (2.5) times those of a Kramers–Kronig test circuit fitted to
        the same data and above 0.5 % of |Z| — overall or in a frequency band;
        ``message`` says why (and names the band).
    residuals : ndarray
        ``(Z − Z_fit)/|Z|`` at ``freq`` (data minus model, relative, like every residual
        in eisfit), whatever the weighting of the fit.
    n_points : int
        Number of frequencies fitted (the least-squares problem has ``2·n_points``
        residuals: real and imaginary parts).
    noise_ratio : float
        Residual standard deviation of the fit over that of the Kramers–Kronig test
        circuit on the same data (both corrected for their fitted parameters).
    rms, reference_rms : float
        Relative RMS residual of the fit and of the Kramers–Kronig test circuit.
    poorly_determined : tuple of str
        Parameters the data do not pin down: those of an arc or element whose time
        constant lies beyond the measured band (by more than a factor of 3), and free
        parameters whose 95 % interval spans more than a decade (``warnings`` says which).
    """

    circuit: Any
    parameter_names: tuple[str, ...]
    _values: tuple[float, ...]
    _stderr: tuple[float, ...]
    _ci: tuple[tuple[float, float], ...]
    covariance: np.ndarray
    free: tuple[str, ...]
    fixed: tuple[str, ...]
    ties: tuple[tuple[str, str], ...]
    at_bound: frozenset[str]
    chi2: float
    dof: int
    n_points: int
    aic: float
    bic: float
    freq: np.ndarray
    Z: np.ndarray
    Z_fit: np.ndarray
    residuals: np.ndarray
    weight: str
    success: bool
    message: str
    noise_ratio: float
    rms: float
    reference_rms: float
    nfev: int
    n_starts: int
    units: tuple[tuple[str, str], ...]
    init: tuple[float, ...]
    derived: tuple[Derived, ...] = ()
    warnings: tuple[str, ...] = ()
    poorly_determined: tuple[str, ...] = ()
    meta: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self):
        frozen_arrays(self)

    # -- mappings (read-only views: a result cannot be edited through them) -------
    @property
    def values(self) -> dict[str, float]:
        return FrozenDict(zip(self.parameter_names, self._values))

    @property
    def stderr(self) -> dict[str, float]:
        return FrozenDict(zip(self.parameter_names, self._stderr))

    @property
    def ci(self) -> dict[str, tuple[float, float]]:
        return FrozenDict(zip(self.parameter_names, self._ci))

    @property
    def initial_values(self) -> dict[str, float]:
        return FrozenDict(zip(self.parameter_names, self.init))

    @property
    def unit(self) -> dict[str, str]:
        return FrozenDict(self.units)

    @property
    def n_params(self) -> int:
        return len(self.free)

    @property
    def n_residuals(self) -> int:
        """Number of real residuals of the least-squares problem (``2·n_points``)."""
        return 2 * self.n_points

    @property
    def chi2_red(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix (order of ``parameter_names``; zero rows for fixed ones)."""
        d = np.sqrt(np.clip(np.diag(self.covariance), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            c = self.covariance / np.outer(d, d)
        c[~np.isfinite(c)] = 0.0
        return c

    def combine(self, names, weights=None) -> tuple[float, float]:
        """Value and standard error of a weighted sum of parameters, e.g. a total
        interfacial resistance ``res.combine(["R_sei", "R_rs"])``, with correlations taken
        into account (σ² = wᵀ Σ w).
        """
        names = list(names)
        unknown = [n for n in names if n not in self.parameter_names]
        if unknown:
            raise UnknownNameError(f"unknown parameters {unknown}")
        w = np.ones(len(names)) if weights is None else np.asarray(weights, float)
        idx = [self.parameter_names.index(n) for n in names]
        value = float(w @ np.asarray(self._values)[idx])
        var = float(w @ self.covariance[np.ix_(idx, idx)] @ w)
        return value, float(np.sqrt(var)) if var >= 0 else float("nan")

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def impedance(self, freq: Any) -> np.ndarray:
        """The fitted model's impedance at arbitrary frequencies (Hz).

        Examples
        --------
        >>> import numpy as np, eisfit as ef
        >>> m = ef.parse("R0 - (R1 | C1)")
        >>> res = ef.fit(m, ef.simulate(m, np.logspace(4, -1, 30), {"R0": 1, "R1": 9, "C1": 1e-3}))
        >>> bool(np.allclose(res.impedance([1e9, 1e-9]), [1, 10], rtol=1e-6))
        True
        """
        return self.circuit.impedance(freq, self.values)

    # -- tables -------------------------------------------------------------------
    def to_frame(self):
        """One row per parameter: value, stderr, ci_low, ci_high, unit, status, at_bound."""
        import pandas as pd

        ties = dict(self.ties)
        status = [
            "fixed" if n in self.fixed else f"tied to {ties[n]}" if n in ties else "free"
            for n in self.parameter_names
        ]
        return pd.DataFrame(
            {
                "parameter": list(self.parameter_names),
                "value": self._values,
                "stderr": self._stderr,
                "ci_low": [c[0] for c in self._ci],
                "ci_high": [c[1] for c in self._ci],
                "unit": [self.unit.get(n, "") for n in self.parameter_names],
                "status": status,
                "at_bound": [n in self.at_bound for n in self.parameter_names],
            }
        )

    def to_row(self) -> dict[str, Any]:
        """One flat record of the fit (what a batch's ``spectra`` table holds per spectrum).

        Examples
        --------
        >>> import numpy as np, eisfit as ef
        >>> m = ef.parse("R0 - (R1 | C1)")
        >>> res = ef.fit(m, ef.simulate(m, np.logspace(4, -1, 30), {"R0": 1, "R1": 9, "C1": 1e-3}))
        >>> row = res.to_row()
        >>> row["model"], row["success"], row["n_points"]
        ('R0 - (R1 | C1)', True, 30)
        """
        return {
            "model": str(self.circuit),
            "success": bool(self.success),
            "message": self.message,
            "n_points": int(self.n_points),
            "f_min": float(np.min(self.freq)) if self.n_points else float("nan"),
            "f_max": float(np.max(self.freq)) if self.n_points else float("nan"),
            "chi2": float(self.chi2),
            "chi2_red": float(self.chi2_red),
            "aic": float(self.aic),
            "bic": float(self.bic),
            "rms": float(self.rms),
            "reference_rms": float(self.reference_rms),
            "noise_ratio": float(self.noise_ratio),
            "nfev": int(self.nfev),
            "poorly_determined": "; ".join(self.poorly_determined),
            "warnings": "; ".join(self.warnings),
        }

    def derived_frame(self):
        import pandas as pd

        return pd.DataFrame([d.__dict__ for d in self.derived])

    # -- text ---------------------------------------------------------------------
    def _rows(self):
        ties = dict(self.ties)
        for n, v, s, (lo, hi) in zip(self.parameter_names, self._values, self._stderr, self._ci):
            rel = f"{100 * s / abs(v):.2g} %" if v and np.isfinite(s) and n in self.free else ""
            note = []
            if n in self.fixed:
                note.append("fixed")
            if n in ties:
                note.append(f"= {ties[n]}")
            if n in self.at_bound:
                note.append("AT BOUND")
            yield n, v, s, lo, hi, rel, self.unit.get(n, ""), ", ".join(note)

    def report(self) -> str:
        """A plain-text report (what a fit report in a lab notebook should say)."""
        lines = [
            f"circuit      {self.circuit}",
            f"status       {'success' if self.success else 'FAILED'}: {self.message}",
            f"points       {self.n_points} frequencies, {self.n_params} free parameters, "
            f"weight={self.weight}",
            f"chi2         {self.chi2:.4g}  (reduced {self.chi2_red:.4g})",
            f"residual     {self.rms:.3%} of |Z| RMS, {self.noise_ratio:.3g}× the "
            f"Kramers–Kronig reference ({self.reference_rms:.3%})",
            f"AIC / BIC    {self.aic:.2f} / {self.bic:.2f}",
            "",
            f"{'parameter':<12}{'value':>12}{'stderr':>11}{'rel':>9}   {'95 % CI':<25} unit",
        ]
        for n, v, s, lo, hi, rel, unit, note in self._rows():
            ci = f"[{lo:.4g}, {hi:.4g}]" if n in self.free else ""
            lines.append(
                f"{n:<12}{v:>12.5g}{s:>11.3g}{rel:>9}   {ci:<25} {unit} {note}".rstrip()
            )
        if self.derived:
            lines += ["", f"{'element':<14}{'quantity':<10}{'value':>12}{'stderr':>11}  unit"]
            for d in self.derived:
                lines.append(f"{d.element:<14}{d.quantity:<10}{d.value:>12.5g}{d.stderr:>11.3g}  {d.unit}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "success" if self.success else "FAILED"
        return f"<FitResult {self.circuit} {state}, chi2_red={self.chi2_red:.3g}>"

    def _repr_html_(self) -> str:
        from html import escape as e
        colour = "#1a7f37" if self.success else "#b42318"
        rows = "".join(
            f"<tr><td>{e(n)}</td><td>{v:.5g}</td><td>{s:.3g}</td><td>{e(rel)}</td>"
            f"<td>{f'[{lo:.4g}, {hi:.4g}]' if n in self.free else ''}</td><td>{e(unit)}</td>"
            f"<td>{e(note)}</td></tr>"
            for n, v, s, lo, hi, rel, unit, note in self._rows()
        )
        warn = "".join(f"<li>{e(w)}</li>" for w in self.warnings)
        return (
            f"<div><b>{e(str(self.circuit))}</b> — "
            f"<span style='color:{colour}'>{'success' if self.success else 'FAILED'}</span>: "
            f"{e(self.message)}<br>χ²<sub>red</sub> = {self.chi2_red:.4g}, residual "
            f"{self.rms:.3%} of |Z| = {self.noise_ratio:.3g}× the Kramers–Kronig reference, "
            f"AIC = {self.aic:.2f}, BIC = {self.bic:.2f}"
            f"<table><tr><th>parameter</th><th>value</th><th>stderr</th><th>rel</th>"
            f"<th>95 % CI</th><th>unit</th><th></th></tr>{rows}</table>"
            f"{'<ul>' + warn + '</ul>' if warn else ''}</div>"
        )

    # -- JSON ---------------------------------------------------------------------
    def to_json(self) -> str:
        """JSON text from which :meth:`from_json` rebuilds an equal result."""

        def cplx(a):
            return [np.asarray(a).real.tolist(), np.asarray(a).imag.tolist()]

        d = {
            "eisfit_fit_result": 2,
            "circuit": str(self.circuit),
            "parameter_names": list(self.parameter_names),
            "values": list(self._values),
            "stderr": [_num(s) for s in self._stderr],
            "ci": [[_num(a), _num(b)] for a, b in self._ci],
            "covariance": _nums(self.covariance),
            "free": list(self.free),
            "fixed": list(self.fixed),
            "ties": [list(t) for t in self.ties],
            "at_bound": sorted(self.at_bound),
            "chi2": _num(self.chi2),
            "dof": self.dof,
            "n_points": self.n_points,
            "aic": _num(self.aic),
            "bic": _num(self.bic),
            "freq": np.asarray(self.freq).tolist(),
            "Z": cplx(self.Z),
            "Z_fit": cplx(self.Z_fit),
            "residuals": cplx(self.residuals),
            "weight": self.weight,
            "success": self.success,
            "message": self.message,
            "noise_ratio": _num(self.noise_ratio),
            "rms": _num(self.rms),
            "reference_rms": _num(self.reference_rms),
            "nfev": self.nfev,
            "n_starts": self.n_starts,
            "units": [list(u) for u in self.units],
            "init": list(self.init),
            "derived": [d.__dict__ for d in self.derived],
            "warnings": list(self.warnings),
            "poorly_determined": list(self.poorly_determined),
            "meta": {k: v for k, v in self.meta if _jsonable(v)},
        }
        try:  # nearly always finite already: the copy only when needed
            return json.dumps(d, allow_nan=False)
        except ValueError:
            return json.dumps(_clean(d), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "FitResult":
        d = json.loads(text)
        if d.get("eisfit_fit_result") != 2:
            raise InputError("not an eisfit FitResult JSON document")

        def cplx(p):
            return np.asarray(p[0]) + 1j * np.asarray(p[1])

        f = _unnum
        return cls(
            circuit=_parse(d["circuit"]),
            parameter_names=tuple(d["parameter_names"]),
            _values=tuple(f(v) for v in d["values"]),
            _stderr=tuple(f(s) for s in d["stderr"]),
            _ci=tuple((f(a), f(b)) for a, b in d["ci"]),
            covariance=_unnums(d["covariance"], len(d["parameter_names"])),
            free=tuple(d["free"]),
            fixed=tuple(d["fixed"]),
            ties=tuple(tuple(t) for t in d["ties"]),
            at_bound=frozenset(d["at_bound"]),
            chi2=f(d["chi2"]),
            dof=d["dof"],
            n_points=d["n_points"],
            aic=f(d["aic"]),
            bic=f(d["bic"]),
            freq=np.asarray(d["freq"], float),
            Z=cplx(d["Z"]),
            Z_fit=cplx(d["Z_fit"]),
            residuals=cplx(d["residuals"]),
            weight=d["weight"],
            success=d["success"],
            message=d["message"],
            noise_ratio=f(d["noise_ratio"]),
            rms=f(d["rms"]),
            reference_rms=f(d["reference_rms"]),
            nfev=d["nfev"],
            n_starts=d["n_starts"],
            units=tuple(tuple(u) for u in d["units"]),
            init=tuple(f(v) for v in d["init"]),
            derived=tuple(Derived(**{**x, "stderr": f(x["stderr"]), "value": f(x["value"])}) for x in d["derived"]),
            warnings=tuple(d["warnings"]),
            poorly_determined=tuple(d.get("poorly_determined", ())),
            meta=tuple(d["meta"].items()),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FitResult):
            return NotImplemented
        return json.loads(self.to_json()) == json.loads(other.to_json())

    __hash__ = None  # type: ignore[assignment]


def _num(v: float):
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _unnum(v) -> float:
    return float(v)


def _clean(obj):
    """JSON-safe copy: non-finite floats become the strings "nan", "inf", "-inf"."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else _num(obj)
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _nums(a) -> list:
    """A float array as nested lists, non-finite values as the strings "nan", "inf"."""
    a = np.asarray(a, float)
    if np.all(np.isfinite(a)):
        return a.tolist()
    return np.vectorize(_num, otypes=[object])(a).tolist()


def _unnums(rows, n: int) -> np.ndarray:
    return np.array(rows, dtype=object).astype(float).reshape(n, n)


@lru_cache(maxsize=512)
def _parse(text: str):
    from ..circuit import parse

    return parse(text)


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False
