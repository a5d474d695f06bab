"""The immutable :class:`SequenceResult` of :func:`eisfit.fit_sequence`."""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ..results import frozen_arrays
from .result import FitResult

from ..errors import UnknownNameError as _UnknownName

__all__ = ["SequenceResult"]


@dataclass(frozen=True, eq=False)
class SequenceResult:
    """Result of a joint fit of a sequence of spectra. Immutable.

    Attributes
    ----------
    fits : tuple of FitResult
        One per spectrum, in sequence order: the jointly fitted values, standard errors
        and confidence intervals from the joint covariance, residuals, and each spectrum's
        own verdict (``success``, ``message``) judged as :func:`eisfit.fit` judges it.
    shared, shared_stderr : dict
        Shared parameter → its one value for the whole sequence / standard error.
    shared_covariance : ndarray
        Covariance of the shared parameters (natural units, order of ``shared_names``).
    smooth : mapping
        Smoothness strength λⱼ used for each non-shared free parameter (0: none).
    smooth_method : str
        ``"evidence"`` (chosen automatically), ``"given"`` or ``"none"``.
    coordinate : ndarray
        Sequence coordinate of each spectrum.
    chi2 : float
        Sum of the spectra's χ² (as in their FitResults).
    penalty : float
        Value of the smoothness penalty at the optimum (in units of each spectrum's
        noise level, like the objective).
    edf : float
        Effective number of parameters of the joint fit (shared + local, shrunk by the
        penalty).
    noise : ndarray
        Noise level σₖ of each spectrum used to weight it in the joint objective.
    converged : bool
        Whether the joint optimiser converged.
    message : str
    """

    circuit: object
    fits: tuple[FitResult, ...]
    shared_names: tuple[str, ...]
    _shared_values: tuple[float, ...]
    _shared_stderr: tuple[float, ...]
    shared_covariance: np.ndarray
    smooth: Mapping[str, float]
    smooth_method: str
    coordinate: np.ndarray
    chi2: float
    penalty: float
    edf: float
    noise: np.ndarray
    converged: bool
    n_iter: int
    message: str
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        frozen_arrays(self)

    # -- mappings and series ------------------------------------------------------
    @property
    def shared(self) -> dict[str, float]:
        return dict(zip(self.shared_names, self._shared_values))

    @property
    def shared_stderr(self) -> dict[str, float]:
        return dict(zip(self.shared_names, self._shared_stderr))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return self.fits[0].parameter_names

    @property
    def success(self) -> bool:
        """The joint optimiser converged and every spectrum passes its verdict."""
        return self.converged and all(f.success for f in self.fits)

    @property
    def n_failed(self) -> int:
        return sum(not f.success for f in self.fits)

    def values(self, name: str) -> np.ndarray:
        """Values of one parameter along the sequence.

        Examples
        --------
        >>> import numpy as np, eisfit as ef
        >>> m = ef.parse("R0 - (R1 | C1)")
        >>> f = np.logspace(4, -1, 25)
        >>> seq = [ef.simulate(m, f, {"R0": 2, "R1": 10 + k, "C1": 1e-3}) for k in range(4)]
        >>> res = ef.fit_sequence(m, seq, shared=["R0"], smooth=0)
        >>> np.round(res.values("R1"), 6).tolist()
        [10.0, 11.0, 12.0, 13.0]
        """
        self._check(name)
        return np.array([f.values[name] for f in self.fits])

    def stderr(self, name: str) -> np.ndarray:
        """Standard errors of one parameter along the sequence (joint covariance)."""
        self._check(name)
        return np.array([f.stderr[name] for f in self.fits])

    def _check(self, name: str) -> None:
        if name not in self.parameter_names:
            known = ", ".join(self.parameter_names)
            raise _UnknownName(f"unknown parameter {name!r} (circuit has {known})")

    def __len__(self) -> int:
        return len(self.fits)

    def __iter__(self) -> Iterator[FitResult]:
        return iter(self.fits)

    def __getitem__(self, k: int) -> FitResult:
        return self.fits[k]

    # -- tables -------------------------------------------------------------------
    def _status(self, name: str) -> str:
        fit = self.fits[0]
        ties = dict(fit.ties)
        if name in fit.fixed:
            return "fixed"
        if name in ties:
            return f"tied to {ties[name]}"
        return "shared" if name in self.shared_names else "free"

    def to_frame(self):
        """Tidy table: one row per spectrum × parameter.

        Columns: index, coordinate, parameter, value, stderr, ci_low, ci_high, unit,
        status (free / shared / fixed / tied to …), success (of that spectrum).
        """
        import pandas as pd

        names = self.parameter_names
        status = {n: self._status(n) for n in names}
        units = self.fits[0].unit
        rows = []
        for k, (t, fit) in enumerate(zip(self.coordinate, self.fits)):
            v, s, ci = fit.values, fit.stderr, fit.ci
            for n in names:
                rows.append((k, float(t), n, v[n], s[n], ci[n][0], ci[n][1], units.get(n, ""),
                             status[n], fit.success))
        return pd.DataFrame(rows, columns=["index", "coordinate", "parameter", "value", "stderr",
                                           "ci_low", "ci_high", "unit", "status", "success"])

    # -- text ---------------------------------------------------------------------
    def report(self) -> str:
        """Plain-text summary: the joint fit, the shared values, the per-parameter ranges."""
        fit0 = self.fits[0]
        lines = [
            f"circuit      {self.circuit}",
            f"sequence     {len(self.fits)} spectra, coordinate {self.coordinate[0]:.4g} … "
            f"{self.coordinate[-1]:.4g}",
            f"status       {'converged' if self.converged else 'NOT CONVERGED'}: {self.message}",
            f"chi2         {self.chi2:.4g}, effective parameters {self.edf:.1f}",
            "",
            f"{'shared':<12}{'value':>12}{'stderr':>11}   unit",
        ]
        for n, v, s in zip(self.shared_names, self._shared_values, self._shared_stderr):
            lines.append(f"{n:<12}{v:>12.5g}{s:>11.3g}   {fit0.unit.get(n, '')}".rstrip())
        lines += ["", f"{'parameter':<12}{'first':>12}{'last':>12}{'min':>12}{'max':>12}"
                      f"{'median se':>11}{'smooth λ':>11}"]
        for n in fit0.free:
            if n in self.shared_names:
                continue
            v, s = self.values(n), self.stderr(n)
            lam = self.smooth.get(n, 0.0)
            lines.append(f"{n:<12}{v[0]:>12.5g}{v[-1]:>12.5g}{v.min():>12.5g}{v.max():>12.5g}"
                         f"{np.nanmedian(s):>11.3g}{lam:>11.3g}")
        failed = [k for k, f in enumerate(self.fits) if not f.success]
        if failed:
            shown = ", ".join(str(k) for k in failed[:10]) + (" …" if len(failed) > 10 else "")
            lines.append(f"\n{len(failed)} spectra fail their fit verdict: {shown}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT CONVERGED"
        return (f"<SequenceResult {self.circuit}: {len(self.fits)} spectra, {state}, "
                f"{self.n_failed} failed, shared {self.shared_names}>")

    def _repr_html_(self) -> str:
        e = html.escape
        colour = "#1a7f37" if self.success else "#b42318"
        fit0 = self.fits[0]
        shared = "".join(
            f"<tr><td>{e(n)}</td><td>{v:.5g}</td><td>{s:.3g}</td>"
            f"<td>{e(fit0.unit.get(n, ''))}</td></tr>"
            for n, v, s in zip(self.shared_names, self._shared_values, self._shared_stderr)
        )
        local = []
        for n in fit0.free:
            if n in self.shared_names:
                continue
            v = self.values(n)
            local.append(f"<tr><td>{e(n)}</td><td>{v[0]:.5g}</td><td>{v[-1]:.5g}</td>"
                         f"<td>{v.min():.5g}</td><td>{v.max():.5g}</td>"
                         f"<td>{self.smooth.get(n, 0.0):.3g}</td></tr>")
        warn = "".join(f"<li>{e(w)}</li>" for w in self.warnings)
        return (
            f"<div><b>{e(str(self.circuit))}</b> — {len(self.fits)} spectra, "
            f"<span style='color:{colour}'>{'success' if self.success else 'see message'}</span>: "
            f"{e(self.message)}<br>χ² = {self.chi2:.4g}, effective parameters {self.edf:.1f}"
            + ("<table><tr><th>shared</th><th>value</th><th>stderr</th><th>unit</th></tr>"
               f"{shared}</table>" if shared else "")
            + "<table><tr><th>parameter</th><th>first</th><th>last</th><th>min</th><th>max</th>"
            f"<th>smooth λ</th></tr>{''.join(local)}</table>"
            f"{'<ul>' + warn + '</ul>' if warn else ''}</div>"
        )
