"""BioLogic EC-Lab text export (``.mpt``, "EC-Lab ASCII FILE").

Layout: a header whose second line says ``Nb header lines : N``; line ``N`` holds the
tab-separated column names (``freq/Hz``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``, ...); data follow.
Numbers may use a decimal comma (European locales). Several spectra in one file are
split by ``loop``/``z cycle``/``cycle number`` or, failing those, by sweep restarts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import (
    build_spectra,
    detect_roles,
    head_text,
    load_text,
    parse_rows,
    require_impedance,
)
from .columns import resolve as resolve_roles

FORMAT = "biologic-mpt"
EXTENSIONS = (".mpt", ".txt")
OPTIONS = frozenset({"sign_fix", "columns"})

_NHEAD = re.compile(r"^\s*Nb header lines\s*:\s*(\d+)", re.I | re.M)


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score 0–1 that ``head`` is an EC-Lab text export."""
    text = head_text(head)
    if text.lstrip("\ufeff").startswith("EC-Lab ASCII FILE"):
        return 1.0
    return 0.0


def _header_meta(lines: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if len(lines) > 3:
        tech = lines[3].strip()
        if tech:
            meta["technique"] = tech
            low = tech.lower()
            if "impedance" in low:
                meta["control"] = "galvanostatic" if low.startswith("galvano") else "potentiostatic"
    for ln in lines:
        if ":" not in ln:
            continue
        key, _, val = ln.partition(":")
        key, val = key.strip().lower(), val.strip()
        if key == "acquisition started on" and val:
            meta["acquisition_start"] = val
        elif key == "device" and val:
            meta["instrument"] = val
        elif key == "file" and val and "original_file" not in meta:
            meta["original_file"] = val
    return meta


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read every spectrum in an EC-Lab ``.mpt`` text export."""
    text = load_text(path, "EC-Lab text export")
    lines = text.splitlines()
    if not lines or not lines[0].lstrip("\ufeff").startswith("EC-Lab ASCII FILE"):
        raise ReaderError("expected 'EC-Lab ASCII FILE' on the first line", path, 1)
    m = _NHEAD.search("\n".join(lines[1:3]))
    if m is None:
        raise ReaderError("expected 'Nb header lines : N' on line 2", path, 2)
    nhead = int(m.group(1))
    if nhead < 2 or nhead > len(lines):
        raise ReaderError(f"header claims {nhead} lines but the file has {len(lines)}", path, 2)
    names = lines[nhead - 1].rstrip("\t\r\n ").split("\t")
    data = lines[nhead:]
    if not any(ln.strip() for ln in data):
        raise ReaderError("no data rows after the header", path, nhead + 1)
    sample = next(ln for ln in data if ln.strip())
    decimal_comma = "," in sample and "." not in sample
    columns = options.get("columns")
    if not columns and "freq" not in detect_roles(names).index:
        require_impedance(detect_roles(names), path, nhead)
    # every field of every row (rows may have empty fields, e.g. Ece columns): NaN there
    table = parse_rows(data, path, nhead + 1, "\t", decimal_comma=decimal_comma)
    if table.shape[1] < len(names):
        table = np.hstack([table, np.full((table.shape[0], len(names) - table.shape[1]), np.nan)])
    roles = resolve_roles(table, names, path, columns=columns, line=nhead)
    meta = _header_meta(lines[:nhead])
    empty = int(np.isnan(table).sum())
    if empty:
        meta["empty_fields"] = empty
    return build_spectra(table, roles, path, FORMAT, meta, sign_fix=sign_fix, line=nhead)
