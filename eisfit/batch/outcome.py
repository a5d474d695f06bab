"""What a batch worker returns for one spectrum: :class:`SpectrumOutcome`.

It carries the library's own results — the :class:`~eisfit.fitting.result.FitResult`,
the :class:`~eisfit.validate.kramers_kronig.KKResult` the fit was judged against and, for
the spectra the report shows, the DRT curve — plus where the spectrum came from and what
went wrong, if anything. The cache stores its JSON (the results' own ``to_json``); the
tables are built from it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..fitting.result import FitResult
from ..results import frozen_arrays
from ..validate.kramers_kronig import KKResult

__all__ = ["SpectrumOutcome", "outcomes_to_json", "document_from_json", "OUTCOME_VERSION"]

#: Bumped when the layout changes (invalidates caches).
OUTCOME_VERSION = 5


@dataclass(frozen=True)
class SpectrumOutcome:
    """One spectrum of one input file, after the batch worker.

    Attributes
    ----------
    file, hash : str
        Input file (relative name) and its content hash.
    spectrum : int or None
        Index of the spectrum in the file (None when the file could not be read).
    meta : mapping
        Scalar metadata of the spectrum (file header, pattern, sidecar).
    model : str or None
        Model label (preset name or circuit text).
    fit : FitResult or None
    kk_passed, kk_reason, kk_noise : bool, str, float or None
        Verdict, reason and estimated noise of the Kramers–Kronig test of the fitted points
        (the fit's own reference).
    kk : KKResult or None
        That test in full, for the spectra the report draws.
    drt_tau, drt_gamma : ndarray or None
        DRT curve, computed in the worker for the spectra the report shows.
    error, stage : str or None
        What failed, and in which stage (read, model, fit, kk, drt).
    warm : bool
        The fit started from the previous spectrum's values.
    flags : tuple of str
        Jump and label-swap flags against the previous spectrum of the cell.
    warnings : tuple of str
    seconds : float
    """

    file: str
    hash: str
    spectrum: int | None
    meta: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None
    fit: FitResult | None = None
    kk_passed: bool | None = None
    kk_reason: str | None = None
    kk_noise: float | None = None
    kk: KKResult | None = None
    drt_tau: np.ndarray | None = None
    drt_gamma: np.ndarray | None = None
    error: str | None = None
    stage: str | None = None
    warm: bool = False
    flags: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    seconds: float = math.nan

    def __post_init__(self):
        frozen_arrays(self)

    @property
    def status(self) -> str:
        """``ok``; ``poor_fit`` (fitted, judged poor); ``failed`` (no fit: read or other error)."""
        if self.fit is None or self.error:
            return "failed"
        return "ok" if self.fit.success else "poor_fit"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "hash": self.hash,
            "spectrum": self.spectrum,
            "meta": {k: v for k, v in self.meta.items() if _jsonable(v)},
            "model": self.model,
            "fit": None if self.fit is None else self.fit.to_json(),
            "kk_passed": self.kk_passed,
            "kk_reason": self.kk_reason,
            "kk_noise": self.kk_noise,
            "kk": None if self.kk is None else self.kk.to_json(),
            "drt": None if self.drt_tau is None else [self.drt_tau.tolist(), self.drt_gamma.tolist()],
            "error": self.error,
            "stage": self.stage,
            "warm": self.warm,
            "flags": list(self.flags),
            "warnings": list(self.warnings),
            "seconds": None if not math.isfinite(self.seconds) else self.seconds,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SpectrumOutcome":
        drt = d.get("drt")
        return cls(
            file=d["file"],
            hash=d["hash"],
            spectrum=d["spectrum"],
            meta=dict(d.get("meta") or {}),
            model=d.get("model"),
            fit=None if d.get("fit") is None else FitResult.from_json(d["fit"]),
            kk_passed=d.get("kk_passed"),
            kk_reason=d.get("kk_reason"),
            kk_noise=d.get("kk_noise"),
            kk=None if d.get("kk") is None else KKResult.from_json(d["kk"]),
            drt_tau=None if drt is None else np.asarray(drt[0], float),
            drt_gamma=None if drt is None else np.asarray(drt[1], float),
            error=d.get("error"),
            stage=d.get("stage"),
            warm=bool(d.get("warm")),
            flags=tuple(d.get("flags") or ()),
            warnings=tuple(d.get("warnings") or ()),
            seconds=math.nan if d.get("seconds") is None else float(d["seconds"]),
        )


def outcomes_to_json(outcomes: list[SpectrumOutcome], rows: list[dict]) -> str:
    """One input file's outcomes and their table rows as one document: two lines of JSON,
    the version and the rows first, the outcomes second (the tables need only the first:
    :func:`document_from_json` with ``outcomes=False`` does not parse the second)."""
    head = json.dumps({"version": OUTCOME_VERSION, "rows": rows}, allow_nan=True)
    return head + "\n" + json.dumps([o.to_dict() for o in outcomes], allow_nan=True)


def document_from_json(text: str, outcomes: bool = True) -> dict | None:
    """The parsed document — ``rows``, and ``outcomes`` still as dicts (unless not
    wanted) — or None for another version or a damaged document."""
    head, sep, tail = text.partition("\n")  # JSON escapes every newline inside a string
    try:
        d = json.loads(head)
        if d.get("version") != OUTCOME_VERSION or "rows" not in d or not sep:
            return None
        if outcomes:
            d["outcomes"] = json.loads(tail)
        return d
    except (ValueError, TypeError, AttributeError):
        return None


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False
