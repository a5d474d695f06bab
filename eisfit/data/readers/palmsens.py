"""PalmSens PSTrace CSV export of impedance scans.

PSTrace writes (often UTF-16) CSV with a title/date preamble and a header naming the
quantities with units after a slash, e.g. ``freq / Hz, Z' / Ohm, -Z'' / Ohm, Z / Ohm,
-Phase / °``; a multi-scan export repeats the block side by side, one group of columns per
scan, which is split into one spectrum per group.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import (
    build_spectra,
    detect_roles,
    head_text,
    is_number,
    load_text,
)

FORMAT = "palmsens-csv"
EXTENSIONS = (".csv",)
OPTIONS = frozenset({"sign_fix"})


def _is_header(line: str) -> bool:
    low = line.lower().replace(" ", "")
    return "freq/hz" in low and ("z'/ohm" in low or "-z''/ohm" in low or "z/ohm" in low)


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a PSTrace impedance CSV."""
    text = head_text(head)
    lines = text.splitlines()[:20]
    if any(_is_header(ln) for ln in lines) and (
        any("date and time" in ln.lower() or "pstrace" in ln.lower() for ln in lines)
        or any(ln.lower().startswith("impedance") for ln in lines)
    ):
        return 0.85
    return 0.0


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read every scan of a PSTrace impedance CSV."""
    lines = load_text(path, "a PSTrace CSV").splitlines()
    hdr = next((k for k, ln in enumerate(lines) if _is_header(ln)), None)
    if hdr is None:
        raise ReaderError("expected a header with 'freq / Hz' and Z columns", path)
    sep = ";" if lines[hdr].count(";") > lines[hdr].count(",") else ","
    try:
        rows = list(
            csv.reader(io.StringIO("\n".join(lines[hdr:]).replace("\x00", "")), delimiter=sep)
        )
    except csv.Error as exc:
        raise ReaderError(f"malformed CSV ({exc})", path, hdr + 1) from None
    names = [n.strip() for n in rows[0]]
    starts = [k for k, n in enumerate(names) if n.lower().replace(" ", "").startswith("freq/hz")]
    meta: dict[str, Any] = {}
    for ln in lines[:hdr]:
        if ln.lower().startswith("date and time"):
            meta["acquisition_start"] = ln.split(":", 1)[-1].strip(" ,;")
    out: list[Spectrum] = []
    for g, a in enumerate(starts):
        b = starts[g + 1] if g + 1 < len(starts) else len(names)
        sub = names[a:b]
        while sub and not sub[-1]:
            sub.pop()
        data = []
        for r, row in enumerate(rows[1:]):
            cells = [c.strip() for c in row[a : a + len(sub)]]
            if not any(cells):
                continue
            if len(cells) < len(sub) or not all(is_number(c) or c == "" for c in cells):
                if all(c == "" or not is_number(c) for c in cells):
                    continue  # ragged scans: this one ended earlier
                raise ReaderError(f"expected numbers in scan {g + 1}", path, hdr + 2 + r)
            data.append([float(c.replace(",", ".")) if c else np.nan for c in cells])
        if not data:
            continue
        roles = detect_roles(sub)
        spectra = build_spectra(
            np.array(data),
            roles,
            path,
            FORMAT,
            {**meta, "scan": g + 1},
            sign_fix=sign_fix,
            split=False,
            line=hdr + 1,
        )
        for s in spectra:
            out.append(s.with_meta(index=len(out)))
    if not out:
        raise ReaderError("no impedance rows found", path, hdr + 2)
    return out
