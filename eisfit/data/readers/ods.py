"""OpenDocument spreadsheets (``.ods``, LibreOffice/OpenOffice; needs the optional ``odfpy``).

Read through pandas' ``odf`` engine; each sheet is then read like a text table (see
:mod:`.table`), exactly as Excel workbooks are (:func:`.excel.read_workbook`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..spectrum import Spectrum
from .excel import OPTIONS as _EXCEL_OPTIONS
from .excel import read_workbook

FORMAT = "ods"
EXTENSIONS = (".ods",)
OPTIONS = _EXCEL_OPTIONS
_MIME = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score for an OpenDocument spreadsheet (zip whose first member names its MIME type)."""
    b = head if isinstance(head, bytes) else head.encode("latin-1", "replace")
    if b.startswith(b"PK\x03\x04") and _MIME in b[:200]:
        return 0.95
    return 0.0


def read(
    path: str | Path, *, sheet: str | int | None = None, sign_fix: str = "auto", **options: Any
) -> list[Spectrum]:
    """Read the spectra in an OpenDocument spreadsheet."""
    return read_workbook(path, "odf", "odf", "ods", FORMAT, sheet, sign_fix, options)
