"""Scribner ZPlot/ZView files (``.z``) and the legacy ``Z60W``/``ZPlotW`` text layout.

Three layouts are recognised:

* ``ZPLOT2 ASCII``: a long key/value header, column names on the line before
  ``End Comments``, then tab-separated rows;
* ``"ZPlotW Data File: ..."`` and ``"Z60W Data File: ..."`` (the latter is what
  impedance.py calls the *Autolab* example): a short quoted header, a quoted column-name
  line ``"  Freq(Hz) Ampl Bias Time(Sec) Z'(a) Z''(b) GD Err Range"``, then comma-separated
  rows.

Columns are fixed by the format: frequency, amplitude, bias, time, Z', Z'', ...
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import (
    Roles,
    build_spectra,
    guess_separator,
    head_text,
    load_text,
    parse_block,
)

FORMAT = "zplot"
EXTENSIONS = (".z", ".txt")
OPTIONS = frozenset({"sign_fix"})
_LEGACY = re.compile(r'^\s*"(ZPlotW|Z60W)\s+Data File', re.I)
_DEFAULT_ROLES = {"freq": 0, "time": 3, "zre": 4, "zim": 5}


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a ZPlot/Z60W file."""
    text = head_text(head).lstrip("\ufeff")
    if text.startswith("ZPLOT2 ASCII"):
        return 1.0
    if _LEGACY.match(text):
        return 1.0
    return 0.0


def _meta_zplot2(lines: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    date = time = None
    for ln in lines:
        key, _, val = ln.partition(":")
        key, val = key.strip(), val.strip()
        if key == "Date":
            date = val
        elif key == "Time":
            time = val
        elif key == "Open Circuit Potential (V)":
            try:
                meta["E_oc"] = float(val)
            except ValueError:
                pass
        elif key == "Potential-DC":
            try:
                meta["E_dc_set"] = float(val)
            except ValueError:
                pass
    if date or time:
        meta["acquisition_start"] = " ".join(x for x in (date, time) if x)
    return meta


def _roles(names: list[str]) -> Roles:
    roles = Roles(index=dict(_DEFAULT_ROLES), names=names)
    return roles


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read a ZPlot ``.z`` (or legacy Z60W text) file."""
    lines = load_text(path, "a ZPlot text file").splitlines()
    if not lines:
        raise ReaderError("empty file", path)
    first = lines[0].lstrip("\ufeff")
    meta: dict[str, Any] = {}
    if first.startswith("ZPLOT2 ASCII"):
        end = next((k for k, ln in enumerate(lines) if ln.strip() == "End Comments"), None)
        if end is None:
            raise ReaderError("expected an 'End Comments' line before the data", path)
        names = lines[end - 1].split("\t") if end > 0 and "Freq" in lines[end - 1] else []
        meta = _meta_zplot2(lines[:end])
        meta["variant"] = "ZPLOT2"
        start = end + 1
    elif _LEGACY.match(first):
        hdr = next(
            (k for k, ln in enumerate(lines[:60]) if re.match(r'^\s*"\s*Freq\s*\(Hz\)', ln)), None
        )
        if hdr is None:
            raise ReaderError("expected a quoted column-name line starting with Freq", path)
        names = [n for n in re.split(r"\s{2,}|\t", lines[hdr].strip().strip('"')) if n]
        meta["variant"] = _LEGACY.match(first).group(1)
        if len(lines) > 3 and lines[3].strip().startswith("Date"):
            meta["acquisition_start"] = lines[3].replace("Date:", "").replace("Time:", "").strip()
        start = hdr + 1
    else:
        raise ReaderError("expected 'ZPLOT2 ASCII' or a ZPlotW/Z60W header line", path, 1)
    data = lines[start:]
    sep = guess_separator(data)
    table = parse_block(data, path, start + 1, sep, ncols=None)
    if table.shape[1] < 6:
        raise ReaderError(
            "expected at least 6 columns (freq, ampl, bias, time, Z', Z''), "
            f"found {table.shape[1]}",
            path,
            start + 1,
        )
    roles = _roles(names or ["Freq(Hz)", "Ampl", "Bias", "Time(Sec)", "Z'(a)", "Z''(b)"])
    return build_spectra(table, roles, path, FORMAT, meta, sign_fix=sign_fix, split=False)
