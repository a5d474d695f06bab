"""Excel workbooks (``.xlsx``/``.xlsm``; needs the optional ``openpyxl``).

Every sheet is read like a text table (see :mod:`.table`): header detection, header-less
column order, wide and long layouts. ``sheet=`` selects one sheet by name or index.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ...errors import ReaderError, require
from ..spectrum import Spectrum
from . import table
from ._common import read_bytes

FORMAT = "excel"
EXTENSIONS = (".xlsx", ".xlsm")
OPTIONS = frozenset(
    {"sheet", "sign_fix", "freq", "z_real", "z_imag", "neg_imag", "frequencies", "columns"}
)


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score for an Office Open XML workbook (zip with ``xl/`` members)."""
    b = head if isinstance(head, bytes) else head.encode("latin-1", "replace")
    if b.startswith(b"PK\x03\x04") and (b"xl/" in b or b"[Content_Types].xml" in b):
        return 0.9
    return 0.0


def read(
    path: str | Path, *, sheet: str | int | None = None, sign_fix: str = "auto", **options: Any
) -> list[Spectrum]:
    """Read the spectra in an Excel workbook."""
    return read_workbook(path, "openpyxl", "openpyxl", "excel", FORMAT, sheet, sign_fix, options)


def read_workbook(
    path: str | Path,
    engine: str,
    module: str,
    extra: str,
    fmt: str,
    sheet: str | int | None,
    sign_fix: str,
    options: dict[str, Any],
) -> list[Spectrum]:
    """Every sheet of a workbook read like a text table (shared by Excel and ODS).

    ``engine`` is the pandas engine, ``module`` the package it needs and ``extra`` the
    eisfit optional extra that installs it (named in the error when it is missing).
    """
    raw = read_bytes(path)
    require(module, extra, f"reading {path} ({fmt})")
    import pandas as pd

    try:
        sheets = pd.read_excel(
            io.BytesIO(raw),
            sheet_name=sheet if sheet is not None else None,
            header=None,
            engine=engine,
        )
    except Exception as exc:  # zip/XML libraries raise many types on corrupt files
        raise ReaderError(f"not a readable workbook ({type(exc).__name__}: {exc})", path) from None
    if not isinstance(sheets, dict):
        sheets = {sheet: sheets}
    out: list[Spectrum] = []
    errors = []
    for name, df in sheets.items():
        text = df.to_csv(index=False, header=False, lineterminator="\n")
        try:
            got = table.read_text(path, text, fmt, {"sheet": name}, sign_fix=sign_fix, **options)
        except ReaderError as exc:
            errors.append(f"sheet {name!r}: {exc.reason}")
            continue
        out.extend(s.with_meta(index=len(out) + i) for i, s in enumerate(got))
    if not out:
        raise ReaderError("no sheet holds impedance data: " + "; ".join(errors), path)
    return out
