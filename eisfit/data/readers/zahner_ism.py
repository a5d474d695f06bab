"""Zahner Thales / Zahner Analysis binary spectra (``.ism``).

Written from the layout documented for the shared samples (``formats_permissive/
SOURCE.md``, decoded value by value) and from reading Zahner's own MIT-licensed
Zahner-Analysis-Python reader; no code was taken from it.

Layout (big-endian)
-------------------
* 6-byte version word (``00 00 FF FF FF FE`` or ``... FF FF``), 6-byte unsigned ``n - 1``;
* ``n`` × f8 frequency (Hz), ``n`` × f8 |Z| (Ω), ``n`` × f8 phase (rad, standard sign),
  ``n`` × f8 time stamps (s since 1980-01-01), ``n`` × i2 significance (0–1000);
* u2-length-prefixed ASCII strings stored with the letter case swapped: date
  (DDMMYY), system, potential and amplitude, current, temperature, time window, four
  comment lines; more settings follow (not needed here).

Thales starts a sweep at a middle frequency, runs to one end and then from the other
end, so a measured file covers part of the range twice. Like Zahner's software, the
reader keeps the points between the highest and the lowest frequency (one sweep) and
records how many it dropped in ``meta["overlap_points_dropped"]``.
"""

from __future__ import annotations

import re
import struct
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import _make, read_bytes, to_float

FORMAT = "zahner-ism"
EXTENSIONS = (".ism",)
OPTIONS = frozenset({"sign_fix"})
_MAGICS = (b"\x00\x00\xff\xff\xff\xfe", b"\x00\x00\xff\xff\xff\xff")
_EPOCH = datetime(1980, 1, 1)


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a Zahner ``.ism`` file (version word and plausible count)."""
    if not isinstance(head, bytes) or len(head) < 20 or head[:6] not in _MAGICS:
        return 0.0
    n = int.from_bytes(head[6:12], "big") + 1
    if not 1 < n < 100_000:
        return 0.0
    if len(head) >= 20 and not 1e-7 < struct.unpack(">d", head[12:20])[0] < 1e9:
        return 0.0
    return 0.95


def _strings(raw: bytes, off: int, count: int) -> list[str]:
    out = []
    for _ in range(count):
        if off + 2 > len(raw):
            break
        n = struct.unpack(">H", raw[off : off + 2])[0]
        if off + 2 + n > len(raw) or n > 1000:
            break
        out.append(raw[off + 2 : off + 2 + n].decode("latin-1").swapcase().strip())
        off += 2 + n
    return out


_NUM = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?\s?[pnuµmkMG]?")


def _quantity(text: str, unit: str) -> float | None:
    """First number followed by ``unit`` in ``text``, SI prefix applied ("10mV" -> 0.01)."""
    m = re.search(r"([+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s?([pnuµmkMG]?)" + unit + r"\b", text)
    if not m:
        return None
    return to_float(m.group(1) + m.group(2))


def _meta(strings: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    keys = ["date", "system", "potential", "current", "temperature", "time_window"]
    got = dict(zip(keys, strings))
    if got.get("system"):
        meta["system"] = got["system"]
    pot = got.get("potential", "")
    if "ampl" in pot.lower():
        e, _, ampl = pot.partition(",")
        v = _quantity(e, "V")
        if v is not None:
            meta["E_dc"] = v
        a = _quantity(ampl, "V")
        if a is not None:
            meta["V_ac_mV"] = a * 1e3
        a = _quantity(ampl, "A")
        if a is not None:
            meta["I_ac"] = a
    cur = _quantity(got.get("current", ""), "A")
    if cur is not None:
        meta["I_dc"] = cur
    tm = re.match(r"\s*([+-]?\d+(\.\d*)?)", got.get("temperature", ""))
    if tm and float(tm.group(1)) > -273.0:  # simulations store -273.15
        meta["temperature"] = float(tm.group(1))
    comments = [c for c in strings[6:10] if c]
    if comments:
        meta["comments"] = " / ".join(comments)
    if got.get("date") and re.fullmatch(r"\d{6}", got["date"]):
        meta["date"] = got["date"]
    return meta


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read the spectrum in a Zahner ``.ism`` file."""
    raw = read_bytes(path)
    if len(raw) < 12 or raw[:6] not in _MAGICS:
        raise ReaderError("expected a Zahner .ism version word (00 00 FF FF FF FE)", path)
    n = int.from_bytes(raw[6:12], "big") + 1
    need = 12 + n * (4 * 8 + 2)
    if n < 1 or need > len(raw):
        raise ReaderError(
            f"header announces {n} points ({need} bytes) but the file has {len(raw)} bytes", path
        )
    off = 12
    cols = []
    for _ in range(4):
        cols.append(np.frombuffer(raw, ">f8", n, off).astype(float))
        off += 8 * n
    f, mag, phase, stamps = cols
    significance = np.frombuffer(raw, ">i2", n, off).astype(int)
    off += 2 * n
    meta = _meta(_strings(raw, off, 10))
    if not (np.all(np.isfinite(f)) and np.all(f > 0)):
        raise ReaderError("frequencies are not all positive and finite: not a spectrum", path)
    hi, lo = int(np.argmax(f)), int(np.argmin(f))
    a, b = min(hi, lo), max(hi, lo) + 1
    if b - a < n:
        meta["overlap_points_dropped"] = n - (b - a)
    t0 = stamps[a]
    if np.isfinite(t0) and 1e8 < t0 < 4e9:
        meta["timestamp"] = (_EPOCH + timedelta(seconds=float(t0))).isoformat(timespec="seconds")
    meta.update(
        source=str(path),
        format=FORMAT,
        index=0,
        significance_min=int(significance[a:b].min()),
        phase_unit_in_file="rad",
    )
    z = mag[a:b] * np.exp(1j * phase[a:b])
    return [_make(f[a:b], z, meta, path)]
