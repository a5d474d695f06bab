"""IviumSoft data files (``.idf``) and data-set files (``.ids``).

Written from the layout of the shared sample (``formats_permissive/ivium_idf``, MIT,
checked value by value against its text): mostly CR-LF text of ``Key=Value`` method
lines, with NUL bytes and short binary length prefixes before some sections. The
impedance table follows a ``primary_data`` line: the number of columns (3), the number
of rows, then rows ``Z'  Z''  f`` (Z'' = Im Z, negative for capacitive behaviour). An
``osc_data`` block of waveforms may follow and is ignored.

``.ids`` files were read the same way, one spectrum per ``primary_data`` block; no
public ``.ids`` sample was available, so this assumes the data-set file repeats the
``.idf`` block layout (the project's fixture is built that way).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import _make, is_number, parse_timestamp, read_bytes

FORMAT = "ivium"
EXTENSIONS = (".idf", ".ids")
OPTIONS = frozenset({"sign_fix"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is an IviumSoft file (``Version=`` and method keys, NULs allowed)."""
    raw = head if isinstance(head, bytes) else head.encode("latin-1", "replace")
    text = raw.replace(b"\x00", b"").decode("latin-1")
    if re.search(r"(^|[\r\n\x00-\x1f])Version=\d+\r?\n", text[:400]) and (
        "QR=" in text or "Method=" in text or "Technique=" in text
    ):
        return 0.9
    return 0.0


def _meta(text: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, name in (("Method", "method"), ("Technique", "technique"), ("Title", "title")):
        m = re.search(rf"(?m)^{key}=(.*?)\r?$", text)
        if m and m.group(1).strip():
            meta[name] = m.group(1).strip()
    m = re.search(r"start time\s*:\s*([^\x1c\r\n]+)", text)
    if m:
        meta["acquisition_start"] = m.group(1).strip()
        ts = parse_timestamp(m.group(1).strip()) or _ivium_time(m.group(1).strip())
        if ts:
            meta["timestamp"] = ts
    m = re.search(r"(?m)^Data Options\.Temperature=([-+\d.eE]+)\r?$", text)
    if m and is_number(m.group(1)):
        meta["temperature_K_setting"] = float(m.group(1))
    if meta.get("technique", "").lower().startswith("constant i"):
        meta["control"] = "galvanostatic"
    elif meta.get("technique", "").lower().startswith("constant e"):
        meta["control"] = "potentiostatic"
    return meta


def _ivium_time(text: str) -> str | None:
    from datetime import datetime

    try:
        return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").isoformat()
    except ValueError:
        return None


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read every ``primary_data`` impedance block of an IviumSoft ``.idf``/``.ids`` file."""
    text = read_bytes(path).replace(b"\x00", b"").decode("latin-1")
    if "Version=" not in text[:400]:
        raise ReaderError("expected an IviumSoft file ('Version=' near the start)", path)
    blocks = [m.end() for m in re.finditer(r"primary_data", text)]
    if not blocks:
        raise ReaderError("no 'primary_data' block: the file holds no measured data", path)
    meta_all = _meta(text)
    out: list[Spectrum] = []
    for b, start in enumerate(blocks):
        line = text.count("\n", 0, start) + 1
        toks = text[start : start + 64 * 1024 * 64].split(None, 2)
        if len(toks) < 3 or not (toks[0].isdigit() and toks[1].isdigit()):
            raise ReaderError("expected column and row counts after 'primary_data'", path, line)
        ncol, nrow = int(toks[0]), int(toks[1])
        if ncol < 3 or nrow < 1:
            raise ReaderError(f"primary_data has {ncol} columns, {nrow} rows", path, line)
        vals = toks[2].split(None, ncol * nrow)[: ncol * nrow]
        if len(vals) < ncol * nrow or not all(is_number(v) for v in vals):
            raise ReaderError(
                f"primary_data announces {nrow} rows of {ncol} numbers; fewer found", path, line
            )
        try:
            arr = np.array(vals, float).reshape(nrow, ncol)
        except ValueError:
            raise ReaderError("primary_data holds a malformed number", path, line) from None
        zre, zim, f = arr[:, 0], arr[:, 1], arr[:, 2]
        meta = {**meta_all, "block": b, "source": str(path), "format": FORMAT, "index": len(out)}
        out.append(_make(f, zre + 1j * zim, meta, path))
    return out
