"""Princeton Applied Research VersaStudio project files (``.par``).

XML-like sections; each ``<SegmentN>`` holds a ``Definition=`` line naming the
comma-separated columns (``Frequency(Hz)``, ``Z Real``, ``Z Imag``, ...) and the rows.
Every segment with impedance columns becomes one spectrum.
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
)

FORMAT = "versastudio-par"
EXTENSIONS = (".par",)
OPTIONS = frozenset({"sign_fix"})
_SEG = re.compile(r"^<Segment(\d+)>\s*$")


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a VersaStudio ``.par`` file."""
    text = head_text(head).lstrip("\ufeff")
    if text.startswith("<Application>") and "VersaStudio" in text[:300]:
        return 1.0
    if text.startswith("<Application>") and "\n<Segment" in text:
        return 0.6
    return 0.0


def _section(lines: list[str], name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    inside = False
    for ln in lines:
        if ln.strip() == f"<{name}>":
            inside = True
        elif ln.strip() == f"</{name}>":
            break
        elif inside and "=" in ln:
            k, _, v = ln.partition("=")
            out[k.strip()] = v.strip()
    return out


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read the impedance segments of a VersaStudio ``.par`` file."""
    lines = load_text(path, "a VersaStudio .par text file").splitlines()
    exp = _section(lines, "Experiment")
    meta: dict[str, Any] = {}
    if exp.get("DateAcquired") or exp.get("TimeAcquired"):
        meta["acquisition_start"] = (
            f"{exp.get('DateAcquired', '')} {exp.get('TimeAcquired', '')}".strip()
        )
    inst = _section(lines, "Instrument")
    if inst.get("Type"):
        meta["instrument"] = inst["Type"]
    out: list[Spectrum] = []
    found_segment = False
    k = 0
    while k < len(lines):
        m = _SEG.match(lines[k].strip())
        if not m:
            k += 1
            continue
        found_segment = True
        seg = int(m.group(1))
        names: list[str] = []
        rows: list[list[float]] = []
        first = None
        k += 1
        while k < len(lines) and lines[k].strip() != f"</Segment{seg}>":
            ln = lines[k].strip()
            if ln.startswith("Definition="):
                names = [n.strip() for n in ln[len("Definition=") :].split(",")]
            elif names and ln and (ln[0].isdigit() or ln[0] in "+-."):
                parts = [p.strip() for p in ln.split(",")]
                width = len(names)
                if len(parts) < width - 1 or not all(is_number(p) for p in parts[: width - 1]):
                    raise ReaderError(
                        f"segment {seg}: expected {width} comma-separated numbers", path, k + 1
                    )
                first = first or k + 1
                rows.append([float(p) for p in parts[: width - 1]])
            k += 1
        if not names or not rows:
            continue
        roles = detect_roles(names[: len(rows[0])])
        if not roles.has_impedance():
            continue
        spectra = build_spectra(
            np.array(rows),
            roles,
            path,
            FORMAT,
            {**meta, "segment": seg},
            sign_fix=sign_fix,
            split=False,
            line=first,
        )
        out.extend(s.with_meta(index=len(out) + i) for i, s in enumerate(spectra))
    if not out:
        why = (
            "no <SegmentN> data sections"
            if not found_segment
            else "no segment with impedance columns"
        )
        raise ReaderError(f"{why} (expected Frequency(Hz), Z Real, Z Imag)", path)
    return out
