"""PalmSens PSTrace session files (``.pssession``): UTF-16 JSON.

Written from the structure of the shared samples (PalmSens' own BSD-licensed SDK test
files, ``formats_permissive/SOURCE.md``): ``Measurements[]`` → ``EISDataList[]`` (one
entry per channel/curve) → ``DataSet`` or, for a DC-potential scan, ``SubScans[]`` →
``DataSet``; a data set's ``Values[]`` are arrays with a ``Description`` (``Frequency``,
``ZRe``, ``ZIm``, ``Z``, ``Phase``, ``Idc``, ``potential``, ``mEdc``, ``time``, ...) and
``DataValues[]`` of ``{"V": value}``. Older PSTrace versions write every key in lower
case, so keys are matched case-insensitively. ``ZIm`` and ``Phase`` are stored positive
for capacitive behaviour (−Im Z and −φ): Z = ZRe − j·ZIm.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import _make, decode, head_text, read_bytes

FORMAT = "palmsens-pssession"
EXTENSIONS = (".pssession",)
OPTIONS = frozenset({"sign_fix"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a PSTrace session (JSON naming PalmSens.DataFiles.SessionFile)."""
    text = head_text(head).lstrip("\ufeff").lower()
    if text.startswith("{") and "palmsens.datafiles.sessionfile" in text[:400]:
        return 1.0
    return 0.0


def _lower(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k).lower(): _lower(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower(v) for v in obj]
    return obj


def _arrays(dataset: dict, path: Any) -> dict[str, np.ndarray]:
    out = {}
    for v in dataset.get("values") or []:
        if not isinstance(v, dict):
            continue
        name = str(v.get("description", "")).strip()
        vals = [d.get("v") if isinstance(d, dict) else None for d in v.get("datavalues") or []]
        try:
            out[name.lower()] = np.array([np.nan if x is None else float(x) for x in vals])
        except (TypeError, ValueError):
            raise ReaderError(f"array {name!r} holds a value that is not a number", path) from None
    return out


def _ticks_to_iso(ticks: Any) -> str | None:
    """.NET ticks (100 ns since 0001-01-01) as ISO 8601."""
    try:
        return (datetime(1, 1, 1) + timedelta(microseconds=int(ticks) // 10)).isoformat(
            timespec="seconds"
        )
    except (TypeError, ValueError, OverflowError):
        return None


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read every impedance curve (and sub-scan) of a PSTrace ``.pssession`` file."""
    text = decode(read_bytes(path)).strip().strip("\ufeff").strip()
    try:
        doc = _lower(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ReaderError(f"not valid JSON ({exc.msg})", path, exc.lineno) from None
    except RecursionError:
        raise ReaderError("JSON nested too deeply for a PSTrace session", path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("measurements"), list):
        raise ReaderError("expected a PSTrace session with a 'Measurements' list", path)
    out: list[Spectrum] = []
    for mi, meas in enumerate(doc["measurements"]):
        if not isinstance(meas, dict):
            continue
        base: dict[str, Any] = {"measurement": mi, "title": meas.get("title")}
        for key, name in (("deviceserial", "instrument_serial"), ("devicefw", "firmware")):
            if meas.get(key):
                base[name] = str(meas[key]).strip()
        ts = _ticks_to_iso(meas.get("timestamp"))
        if ts:
            base["timestamp"] = ts
        for ci, curve in enumerate(meas.get("eisdatalist") or []):
            if not isinstance(curve, dict):
                continue
            subs = curve.get("subscans") or []
            parts = [(None, s) for s in subs if isinstance(s, dict)] or [(None, curve)]
            for si, (_, part) in enumerate(parts):
                ds = part.get("dataset")
                if not isinstance(ds, dict):
                    continue
                a = _arrays(ds, path)
                if not {"frequency", "zre", "zim"} <= set(a):
                    raise ReaderError(
                        f"curve {curve.get('title')!r} lacks Frequency/ZRe/ZIm arrays "
                        f"(has {sorted(a)})",
                        path,
                    )
                f, zre, zim = a["frequency"], a["zre"], a["zim"]
                if not (f.size == zre.size == zim.size):
                    raise ReaderError("Frequency, ZRe and ZIm differ in length", path)
                meta = {**base, "curve": ci, "curve_title": curve.get("title")}
                if subs:
                    meta["subscan"] = si
                    meta["subscan_title"] = part.get("title")
                for key, name in (("medc", "E_dc"), ("potential", "E_dc"), ("idc", "I_dc_uA")):
                    if key in a and name not in meta and np.isfinite(a[key]).any():
                        meta[name] = float(np.nanmedian(a[key]))
                if "time" in a and np.isfinite(a["time"]).any():
                    meta["time_start"] = float(np.nanmin(a["time"]))
                meta.update(source=str(path), format=FORMAT, index=len(out))
                out.append(_make(f, zre - 1j * zim, meta, path))
    if not out:
        raise ReaderError("no EIS curves in the session (EISDataList empty)", path)
    return out
