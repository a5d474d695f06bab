"""Outcomes → the tidy ``parameters`` table and the one-row-per-spectrum ``spectra`` table.

Rows come from the results themselves: :meth:`FitResult.to_row` for a spectrum,
:meth:`FitResult.to_frame`'s fields for its parameters, :attr:`FitResult.derived` for τ,
f_peak and C_eff of each arc (``kind="derived"``, named like ``f_peak[R1|Q1]``) and
:meth:`FitResult.combine` for named groups (``kind="group"``: sums of resistances such as
*total* or *interfacial*, their standard error propagated through the fit covariance).
A group row says in ``poorly_determined`` when it includes a parameter the data do not
pin down (a time constant beyond the measured band, a confidence interval wider than a
decade). The default ``total`` (all DC resistances but diffusion elements) also leaves out
arcs whose time constant lies beyond the measured band, and its ``role`` says so; a preset's
or the user's own ``total`` is taken as given.

Tables are written row by row (:class:`CsvSink`), so a batch of any size holds only one
file's outcomes in memory; :class:`MemorySink` keeps them for runs without an output
folder.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


from ..circuit.arcs import beyond_band
from .cache import atomic_path
from .models import ModelChoice, resolve
from .outcome import SpectrumOutcome

__all__ = [
    "PARAM_COLUMNS", "SPECTRA_COLUMNS", "spectrum_fields", "parameter_fields", "outcome_rows",
    "CsvSink", "MemorySink", "meta_columns",
]

PARAM_COLUMNS = [
    "model", "success", "parameter", "kind", "role", "value", "stderr", "ci_low", "ci_high",
    "unit", "at_bound", "poorly_determined",
]
SPECTRA_COLUMNS = [
    "model", "status", "success", "chi2", "chi2_red", "aic", "bic", "rms", "reference_rms",
    "noise_ratio", "n_points", "f_min", "f_max", "kk_passed", "kk_reason", "kk_noise",
    "warm_start", "flags", "stage", "error", "message", "poorly_determined", "warnings",
    "seconds", "hash",
]
_Z95 = 1.959963984540054
FIRST_META = ("cell", "state", "cycle", "time", "soc")


def meta_columns(keys: Iterable[str]) -> list[str]:
    """Metadata columns in table order: cell, state, order fields, then the rest sorted."""
    keys = dict.fromkeys(keys)
    first = [k for k in FIRST_META if k in keys]
    return first + sorted(k for k in keys if k not in first and k not in ("file", "spectrum"))


def _choice(label: str | None, cache: dict) -> ModelChoice | None:
    if not label:
        return None
    if label not in cache:
        try:
            cache[label] = resolve(label)
        except Exception:
            cache[label] = None
    return cache[label]


def spectrum_fields(o: SpectrumOutcome) -> dict[str, Any]:
    """The ``spectra`` columns of an outcome (without file, index and metadata)."""
    fr = o.fit
    row: dict[str, Any] = fr.to_row() if fr is not None else {}
    warn = list(o.warnings) + (list(fr.warnings) if fr is not None else [])
    row.update(
        model=o.model,
        status=o.status,
        success=bool(fr is not None and fr.success and not o.error),
        kk_passed=o.kk_passed,
        kk_reason=o.kk_reason,
        kk_noise=o.kk_noise,
        warm_start=bool(o.warm),
        flags="; ".join(o.flags),
        stage=o.stage,
        error=o.error,
        message=o.error if fr is None else fr.message,
        warnings="; ".join(warn),
        seconds=o.seconds,
        hash=o.hash,
    )
    return row


def parameter_fields(o: SpectrumOutcome, extra_groups: Mapping[str, Iterable[str]],
                     cache: dict) -> list[dict[str, Any]]:
    """The ``parameters`` rows of an outcome (without file, index and metadata):
    parameters, named groups and derived quantities."""
    fr = o.fit
    if fr is None or o.error:
        return []
    choice = _choice(o.model, cache)
    base = {"model": o.model, "success": bool(fr.success)}
    ties = dict(fr.ties)
    poor = set(fr.poorly_determined)
    units = fr.unit
    rows = []
    for n, v, s, (lo, hi) in zip(fr.parameter_names, fr._values, fr._stderr, fr._ci):
        rows.append({**base, "parameter": n, "kind": "parameter",
                     "role": choice.role(n) if choice else None, "value": v, "stderr": s,
                     "ci_low": lo, "ci_high": hi, "unit": units.get(n, ""),
                     "at_bound": n in fr.at_bound,
                     "poorly_determined": n in poor or ties.get(n) in poor})
    groups = dict(choice.groups()) if choice else {}
    auto_total = "total" in groups and not (choice and choice.preset and "total" in choice.preset.groups)
    groups.update({k: tuple(v) for k, v in extra_groups.items()})
    if "total" in extra_groups:
        auto_total = False
    names = set(fr.parameter_names)
    out_of_band = _beyond_band(fr)
    for g, members in groups.items():
        present = [m for m in members if m in names]
        role = "group"
        if g == "total" and auto_total:  # the default total leaves extrapolated arcs out
            left_out = [m for m in present if m in out_of_band]
            present = [m for m in present if m not in out_of_band]
            if left_out:
                role = f"group (without {', '.join(left_out)}: beyond the measured band)"
        if not present:
            continue
        v, s = fr.combine(present)
        if not math.isfinite(s):
            s = math.sqrt(sum(fr.stderr[m] ** 2 for m in present))
        rows.append({**base, "parameter": g, "kind": "group", "role": role, "value": v,
                     "stderr": s, "ci_low": v - _Z95 * s, "ci_high": v + _Z95 * s, "unit": "Ω",
                     "at_bound": bool(fr.at_bound.intersection(present)),
                     "poorly_determined": bool(poor.intersection(present))})
    for d in fr.derived:
        rows.append({**base, "parameter": f"{d.quantity}[{d.element}]", "kind": "derived",
                     "role": None, "value": d.value, "stderr": d.stderr,
                     "ci_low": d.value - _Z95 * d.stderr, "ci_high": d.value + _Z95 * d.stderr,
                     "unit": d.unit, "at_bound": False, "poorly_determined": False})
    return rows


def _beyond_band(fr) -> set[str]:
    """Resistances of arcs whose time constant lies beyond the measured band."""
    labels = beyond_band(fr.circuit, fr.values, fr.freq)
    return {el for label in labels for el in label.split("|") if el.startswith("R")}


def outcome_rows(o: SpectrumOutcome, extra_groups, cache: dict) -> dict[str, Any]:
    """What the tables need of an outcome — computed where it was fitted, cached with it."""
    return {
        "file": o.file,
        "spectrum": o.spectrum,
        "meta": {k: v for k, v in o.meta.items() if isinstance(v, (str, int, float, bool))
                 or v is None},
        "fields": spectrum_fields(o),
        "params": parameter_fields(o, extra_groups, cache),
        "drawable": o.fit is not None and o.spectrum is not None,
        "drt": o.drt_tau is not None,
    }


class MemorySink:
    """Rows kept in memory, as a DataFrame at the end."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.rows: list[dict] = []

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.rows.extend(rows)

    def close(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


class CsvSink:
    """Rows appended to a CSV file (atomically moved into place by :meth:`close`)."""

    def __init__(self, path: str | Path, columns: list[str]):
        self.path = Path(path)
        self.columns = columns
        self._ctx = atomic_path(self.path)
        self._tmp = self._ctx.__enter__()
        self._fh = open(self._tmp, "w", newline="", encoding="utf-8")
        self._w = csv.writer(self._fh)
        self._w.writerow(columns)
        self.n = 0

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        cols = self.columns
        # csv writes None as an empty field; NaN (the one value unequal to itself) too
        out = [["" if v != v else v for v in map(r.get, cols)] for r in rows]
        self._w.writerows(out)
        self.n += len(out)

    def close(self) -> Path:
        self._fh.close()
        self._ctx.__exit__(None, None, None)
        return self.path

    def abort(self) -> None:
        self._fh.close()
        try:
            self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)
        except RuntimeError:
            pass
