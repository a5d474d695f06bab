"""CH Instruments text export ("A.C. Impedance").

A date line, ``A.C. Impedance``, key = value settings, then a header such as
``Freq/Hz, Z'/ohm, Z"/ohm, Z/ohm, Phase/deg`` and comma-separated rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import (
    build_spectra,
    detect_roles,
    head_text,
    load_text,
    parse_block,
    require_impedance,
)

FORMAT = "chi"
EXTENSIONS = (".txt", ".csv")
OPTIONS = frozenset({"sign_fix"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a CH Instruments impedance export."""
    text = head_text(head)
    lines = text.splitlines()[:12]
    if any(ln.strip() == "A.C. Impedance" for ln in lines) and (
        "Instrument Model:  CHI" in text or "Freq/Hz" in text
    ):
        return 1.0
    return 0.0


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read a CH Instruments A.C. impedance text file."""
    lines = load_text(path, "a CHI text export").splitlines()
    hdr = next((k for k, ln in enumerate(lines) if ln.strip().startswith("Freq/Hz")), None)
    if hdr is None:
        raise ReaderError("expected a column header starting with 'Freq/Hz'", path)
    names = [n.strip() for n in lines[hdr].split(",")]
    roles = detect_roles(names)
    require_impedance(roles, path, hdr + 1)
    table = parse_block(lines[hdr + 1 :], path, hdr + 2, ",", ncols=len(names))
    meta: dict[str, Any] = {}
    if lines and lines[0].strip():
        meta["acquisition_start"] = " ".join(lines[0].split())
    for ln in lines[:hdr]:
        key, _, val = ln.partition(":")
        if key.strip() == "Instrument Model" and val.strip():
            meta["instrument"] = val.strip()
        k2, eq, v2 = ln.partition("=")
        if eq and k2.strip() == "Init E (V)":
            try:
                meta["E_dc_set"] = float(v2)
            except ValueError:
                pass
    return build_spectra(table, roles, path, FORMAT, meta, sign_fix=sign_fix, split=False)
