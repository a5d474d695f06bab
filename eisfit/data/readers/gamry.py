"""Gamry Framework data files (``.DTA``): EISPOT / GALVEIS and hybrid EIS.

Header lines are ``KEY<TAB>TYPE<TAB>VALUE...``; the impedance table starts at
``ZCURVE<TAB>TABLE[<TAB>count]``, followed by a column-name line, a unit line and
tab-indented rows. An aborted measurement (``EXPERIMENTABORTED`` tag, or fewer rows
than announced) yields the complete rows and an :class:`~eisfit.errors.EisfitWarning`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import EisfitWarning, ReaderError
from ..spectrum import Spectrum
from ._common import (
    build_spectra,
    detect_roles,
    head_text,
    is_number,
    load_text,
    require_impedance,
    to_float,
)
from .columns import resolve as resolve_roles

FORMAT = "gamry-dta"
EXTENSIONS = (".dta",)
OPTIONS = frozenset({"sign_fix", "columns"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a Gamry ``.DTA`` file."""
    text = head_text(head).lstrip("\ufeff")
    if text.startswith("EXPLAIN") and "\nTAG\t" in text[:200]:
        return 1.0
    if "ZCURVE\tTABLE" in text:
        return 0.9
    return 0.0


def _header(lines: list[str], decimal_comma: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    date = time = None
    for ln in lines:
        parts = ln.rstrip("\r\n").split("\t")
        if len(parts) == 2 and parts[0] == "TAG":
            meta["technique"] = parts[1].strip()
            continue
        if len(parts) < 3:
            continue
        key, typ, val = parts[0].strip(), parts[1].strip(), parts[2].strip()
        if key == "TAG":
            meta["technique"] = typ
        elif key == "TITLE" and typ == "LABEL" and val:
            meta["title"] = val
        elif key == "DATE":
            date = val
        elif key == "TIME":
            time = val
        elif key == "PSTAT" and val:
            meta["instrument"] = val
        elif key in ("VDC", "IDC", "EOC", "AREA", "VAC", "IACREQ", "IDCREQ") and typ in (
            "POTEN",
            "QUANT",
        ):
            if is_number(val):
                num = to_float(val, decimal_comma)
                meta[
                    {
                        "VDC": "E_dc_set",
                        "IDC": "I_dc_set",
                        "EOC": "E_oc",
                        "AREA": "area_cm2",
                        "VAC": "V_ac_mV",
                        "IACREQ": "I_ac",
                        "IDCREQ": "I_dc_set",
                    }[key]
                ] = num
    if date or time:
        meta["acquisition_start"] = " ".join(x for x in (date, time) if x)
    return meta


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read the ZCURVE table of a Gamry ``.DTA`` file."""
    lines = load_text(path, "a Gamry .DTA text file").splitlines()
    start = next((k for k, ln in enumerate(lines) if ln.startswith("ZCURVE\t")), None)
    if start is None:
        raise ReaderError("expected a 'ZCURVE<TAB>TABLE' section (no impedance table)", path)
    announced = None
    tparts = lines[start].split("\t")
    if len(tparts) >= 3 and tparts[2].strip().isdigit():
        announced = int(tparts[2].strip())
    if start + 2 >= len(lines):
        raise ReaderError("ZCURVE table has no column header", path, start + 1)
    names = lines[start + 1].strip("\r\n").split("\t")
    if names and names[0] == "":
        names = names[1:]
    ncol = len(names)
    low = [n.strip().lower() for n in names]
    drift = "zrealdrcor" in low and "zimagdrcor" in low
    rows, aborted, k = [], False, start + 3
    decimal_comma = None
    while k < len(lines):
        ln = lines[k]
        if not ln.strip():
            k += 1
            continue
        if not ln[:1].isspace():
            aborted = ln.startswith("EXPERIMENTABORTED") and "\tT" in ln
            break
        parts = ln.split()
        if len(parts) < ncol or not all(is_number(p) for p in parts[:ncol]):
            bad = next((p for p in parts[:ncol] if not is_number(p)), None)
            raise ReaderError(
                f"ZCURVE row: expected {ncol} numeric fields"
                + (f", found {bad[:40]!r}" if bad else f", found {len(parts)}"),
                path,
                k + 1,
            )
        if decimal_comma is None:
            decimal_comma = any("," in p for p in parts[:ncol]) and not any(
                "." in p for p in parts[:ncol]
            )
        rows.append([to_float(p, decimal_comma) for p in parts[:ncol]])
        k += 1
    if not rows:
        raise ReaderError("ZCURVE table has no data rows", path, start + 4)
    if announced is not None and len(rows) < announced:
        aborted = True
    meta = _header(lines[:start], bool(decimal_comma))
    if decimal_comma:
        meta["decimal_comma"] = True
    if aborted:
        meta["aborted"] = True
        warnings.warn(
            f"{path}: measurement was aborted; returning the {len(rows)} complete point(s)",
            EisfitWarning,
            stacklevel=2,
        )
    table = np.array(rows, dtype=float)
    columns = options.get("columns")
    if drift and not columns:
        # drift-corrected impedance (Gamry's EIS drift correction): use it, say so
        columns = {
            "freq": low.index("freq"),
            "z_real": low.index("zrealdrcor"),
            "z_imag": low.index("zimagdrcor"),
        }
        meta["drift_corrected"] = True
        meta["z_columns"] = "ZrealDrCor, ZimagDrCor"
    elif not columns:
        require_impedance(detect_roles(names), path, start + 2)
    roles = resolve_roles(table, names, path, columns=columns, line=start + 2)
    if drift and not options.get("columns"):
        roles.source = "names"  # chosen by name (ZrealDrCor/ZimagDrCor), not by the user
    return build_spectra(
        table, roles, path, FORMAT, meta, sign_fix=sign_fix, split=False, line=start + 2
    )
