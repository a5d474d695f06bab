"""Writing a batch's outputs: the tables first, then the optional outputs, then ``run.json``.

The CSV tables are the product: ``parameters.csv`` and ``spectra.csv`` are streamed while
tabulating, ``growth.csv`` and ``failures.csv`` follow. Parquet and the report come after;
each failure of an optional output is recorded in ``run.json`` (``notes``) and printed as
one line, never a traceback. Parquet gets an explicit schema built from every row's
values, so metadata columns that are empty throughout, of mixed types, or present only in
late files all survive.
"""

from __future__ import annotations

import json
import platform
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import EisfitWarning, require
from .cache import atomic_path, write_frame, write_text

__all__ = ["write", "parquet_from_csv", "BOOL_COLUMNS", "FLOAT_COLUMNS", "INT_COLUMNS"]

FLOAT_COLUMNS = {"value", "stderr", "ci_low", "ci_high", "chi2", "chi2_red", "aic", "bic", "rms",
                 "reference_rms", "noise_ratio", "f_min", "f_max", "kk_noise", "seconds"}
BOOL_COLUMNS = {"success", "at_bound", "poorly_determined", "kk_passed", "warm_start"}
INT_COLUMNS = {"spectrum", "n_points", "nfev"}


def parquet_from_csv(src: Path, dest: Path, meta_kinds: dict[str, str], chunk: int = 5_000) -> None:
    """Convert a table CSV into Parquet in row groups of ``chunk`` rows (bounded memory)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    header = pd.read_csv(src, nrows=0).columns.tolist()

    def kind(c: str) -> str:
        if c in FLOAT_COLUMNS:
            return "float"
        if c in BOOL_COLUMNS:
            return "bool"
        if c in INT_COLUMNS:
            return "int"
        return meta_kinds.get(c, "string")

    types = {"float": pa.float64(), "bool": pa.bool_(), "int": pa.int64(), "string": pa.string()}
    schema = pa.schema([(c, types[kind(c)]) for c in header])

    def convert(df):
        cols = {}
        for c in header:
            s = df[c]
            k = kind(c)
            if k == "float":
                cols[c] = pd.to_numeric(s, errors="coerce")
            elif k == "int":
                cols[c] = pd.to_numeric(s, errors="coerce").astype("Int64")
            elif k == "bool":
                cols[c] = s.map({"True": True, "False": False, "true": True, "false": False})
            else:
                cols[c] = s.where(s != "", None)
        return pa.Table.from_pandas(pd.DataFrame(cols), schema=schema, preserve_index=False)

    with atomic_path(dest) as tmp:
        with pq.ParquetWriter(str(tmp), schema) as writer:
            n = 0
            for df in pd.read_csv(src, dtype=str, keep_default_na=False, chunksize=chunk):
                writer.write_table(convert(df))
                n += len(df)
            if n == 0:
                writer.write_table(pa.Table.from_pylist([], schema=schema))


def _optional(notes: list[str], what: str, fn) -> None:
    try:
        fn()
    except Exception as e:  # an optional output must not lose the tables
        notes.append(f"{what} not written: {type(e).__name__}: {e}")
        warnings.warn(notes[-1], EisfitWarning, stacklevel=3)


def write(result, tab, *, report: bool = True, executor=None, started=None) -> None:
    """Write the tables, the optional outputs and ``run.json`` into ``result.out``
    (the report's figures drawn by ``executor``'s workers when given, those in
    ``started`` already under way)."""
    from .. import __version__

    out = Path(result.out)
    out.mkdir(parents=True, exist_ok=True)
    notes = result.notes
    write_frame(out / "growth.csv", result.growth)
    write_frame(out / "failures.csv", result.failures)

    def parquet():
        require("pyarrow", "parquet", "parameters.parquet")
        parquet_from_csv(out / "parameters.csv", out / "parameters.parquet", tab.meta_kinds)

    from concurrent.futures import ThreadPoolExecutor

    # Parquet in a thread of this process while the workers draw the report's figures
    with ThreadPoolExecutor(max_workers=1) as side:
        done = side.submit(_optional, notes, "parameters.parquet", parquet)
        if report:
            from .report import write_report

            _optional(notes, "report.html", lambda: write_report(result, tab, out, executor,
                                                                 started))
        done.result()
    import numpy as np

    run_info: dict[str, Any] = {
        "eisfit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "elapsed_s": round(result.elapsed, 3),
        "options": result.options,
        "counts": {
            "files": int(len(result.files)),
            **result.options.get("counts", {}),
            "fitted_now": result.n_fitted,
            "from_cache": result.n_cached,
        },
        "notes": notes,
        "inputs": result.files.to_dict("records"),
    }
    write_text(out / "run.json", json.dumps(run_info, indent=2, default=str, ensure_ascii=False))
