"""The result of a batch run: :class:`BatchResult`."""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["BatchResult"]


class BatchResult:
    """Everything a batch run produced.

    With an output folder the large tables live on disk (``parameters.csv``,
    ``spectra.csv``) and are read on first access, so a run over any number of files holds
    no table in memory; without one they are kept in memory.

    Attributes
    ----------
    parameters : pandas.DataFrame
        Tidy: one row per spectrum × parameter, named group (``kind="group"``) and
        derived quantity (``kind="derived"``: τ, f_peak, C_eff per arc), with metadata.
    spectra : pandas.DataFrame
        One row per spectrum (or per unreadable file): model, status, success, χ²,
        residual against the Kramers–Kronig reference, KK verdict, error.
    growth : pandas.DataFrame
        One row per cell × resistance/group: first, last, change, slope with CIs.
    files : pandas.DataFrame
        One row per input file: hash and whether it was fitted now or taken from cache.
    failures : pandas.DataFrame
        Rows of ``spectra`` that could not be fitted (unreadable file, error).
    options : dict
        The options of the run (as written to ``run.json``).
    notes : list of str
        Optional outputs that could not be written, and why.
    out : Path or None
        Output folder, if one was written.
    """

    def __init__(self, *, parameters=None, spectra=None, growth=None, files=None, failures=None,
                 options: dict | None = None, out: Path | None = None, elapsed: float = math.nan,
                 notes: list[str] | None = None):
        self._parameters = parameters
        self._spectra = spectra
        self.growth = growth
        self.files = files
        self.failures = failures
        self.options = dict(options or {})
        self.out = None if out is None else Path(out)
        self.elapsed = elapsed
        self.notes = list(notes or [])

    def _table(self, name: str):
        import pandas as pd

        cached = getattr(self, "_" + name)
        if cached is None:
            if self.out is None:
                return pd.DataFrame()
            cached = pd.read_csv(self.out / f"{name}.csv", low_memory=False)
            setattr(self, "_" + name, cached)
        return cached

    @property
    def parameters(self):
        return self._table("parameters")

    @property
    def spectra(self):
        return self._table("spectra")

    @property
    def poor_fits(self):
        """Rows of :attr:`spectra` fitted, but judged poor by the fitter (see ``message``)."""
        s = self.spectra
        return s[s["status"] == "poor_fit"] if len(s) else s

    @property
    def n_fitted(self) -> int:
        """Files fitted in this run (the rest came from the cache)."""
        return int((self.files["status"] == "fitted").sum()) if len(self.files) else 0

    @property
    def n_cached(self) -> int:
        return int((self.files["status"] == "cached").sum()) if len(self.files) else 0

    @property
    def n_spectra(self) -> int:
        return int(self.options.get("counts", {}).get("spectra", len(self.spectra)))

    def summary(self) -> str:
        """A few lines for a terminal."""
        counts = self.options.get("counts", {})
        n = counts.get("spectra", len(self.spectra))
        bad = len(self.failures)
        poor = counts.get("poor_fits", len(self.poor_fits))
        lines = [
            f"{len(self.files)} files, {n} spectra: {n - bad - poor} good fits, {poor} poor fits, "
            f"{bad} failed ({self.n_fitted} files fitted now, {self.n_cached} from cache) "
            f"in {self.elapsed:.1f} s"
        ]
        for _, r in self.failures.head(20).iterrows():
            where = "" if str(r["spectrum"]) in ("<NA>", "None", "nan", "") else f"[{r['spectrum']}]"
            lines.append(f"  FAILED {r['file']}{where}: {r['error']}")
        if bad > 20:
            lines.append(f"  ... and {bad - 20} more (see failures.csv)")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.out is not None:
            lines.append(f"outputs in {self.out}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<BatchResult {len(self.files)} files, out={self.out}>"

    def _repr_html_(self) -> str:
        import html

        return (f"<pre>{html.escape(self.summary())}</pre>"
                + (self.growth.to_html(max_rows=30) if len(self.growth) else ""))
