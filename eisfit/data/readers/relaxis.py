"""RelaxIS (rhd instruments) spectrum text export.

``RelaxIS 3.0 Spectrum export`` / ``Date: ...`` / a tab-separated header of
``Data: <quantity>`` names; then, per spectrum, one info line (``DC=..., TM=..., J=...``,
model name, spectrum name) followed by its rows (ascending frequency as exported).
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
    is_number,
    load_text,
    require_impedance,
)

FORMAT = "relaxis"
EXTENSIONS = (".txt",)
OPTIONS = frozenset({"sign_fix"})
_PARAM = re.compile(r"([A-Za-z][A-Za-z0-9_]*)=([^,\t]+)")


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a RelaxIS export."""
    text = head_text(head).lstrip("\ufeff")
    if text.startswith("RelaxIS") and "Data: " in text[:600]:
        return 1.0
    return 0.0


def _info(line: str) -> dict[str, Any]:
    parts = line.split("\t")
    meta: dict[str, Any] = {}
    params = {}
    for k, v in _PARAM.findall(parts[0]):
        v = v.strip()
        params[k] = float(v) if is_number(v) else v
    if params:
        meta["relaxis_params"] = params
        if isinstance(params.get("DC"), float):
            meta["E_dc"] = params["DC"]
    names = [p.strip() for p in parts[1:] if p.strip()]
    if names:
        meta["spectrum_name"] = names[-1]
    return meta


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read every spectrum of a RelaxIS text export."""
    lines = load_text(path, "a RelaxIS text export").splitlines()
    hdr = next((k for k, ln in enumerate(lines[:10]) if ln.startswith("Data: ")), None)
    if hdr is None:
        raise ReaderError("expected a 'Data: Frequency<TAB>Data: Z'...' header line", path)
    names = [n.replace("Data:", "").strip() for n in lines[hdr].split("\t")]
    roles = detect_roles(names)
    require_impedance(roles, path, hdr + 1)
    file_meta: dict[str, Any] = {}
    for ln in lines[:hdr]:
        if ln.startswith("Date:"):
            file_meta["export_date"] = ln[5:].strip()
    blocks: list[tuple[dict, list[list[float]], int]] = []
    cur: tuple[dict, list[list[float]], int] | None = None
    width = len(names)
    for k in range(hdr + 1, len(lines)):
        ln = lines[k]
        if not ln.strip():
            continue
        parts = [p.strip() for p in ln.split("\t")]
        if len(parts) >= width and all(is_number(p) for p in parts[:width]):
            if cur is None:
                cur = ({}, [], k + 1)
                blocks.append(cur)
            cur[1].append([float(p) for p in parts[:width]])
        else:
            if cur is not None and not cur[1]:
                raise ReaderError("expected data rows after the spectrum info line", path, k + 1)
            cur = (_info(ln), [], k + 1)
            blocks.append(cur)
    out: list[Spectrum] = []
    for meta, rows, line in blocks:
        if not rows:
            raise ReaderError("spectrum info line without data rows", path, line)
        spectra = build_spectra(
            np.array(rows),
            roles,
            path,
            FORMAT,
            {**file_meta, **meta},
            sign_fix=sign_fix,
            split=False,
            line=line,
        )
        out.extend(s.with_meta(index=len(out) + i) for i, s in enumerate(spectra))
    if not out:
        raise ReaderError("no spectra found after the header", path, hdr + 2)
    return out
