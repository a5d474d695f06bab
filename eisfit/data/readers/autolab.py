"""Metrohm Autolab NOVA ASCII exports of FRA/impedance data.

NOVA writes a header such as ``Index;Frequency (Hz);Z' (Ω);-Z'' (Ω);Z (Ω);-Phase (°);Time (s)``
(semicolon-, tab- or comma-separated, decimal point or comma), optionally with
``Potential (AC) (V)``/``Current (AC) (A)`` columns; several spectra of one export are split by
sweep restarts. (impedance.py's ``exampleDataAutolab.txt`` is in fact the legacy ``Z60W``
layout and is read by the ``zplot`` reader.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..spectrum import Spectrum
from . import table
from ._common import head_text, load_text

FORMAT = "autolab"
EXTENSIONS = (".txt", ".csv")
OPTIONS = frozenset({"sign_fix", "freq", "z_real", "z_imag", "neg_imag", "frequencies"})
_HDR = re.compile(r"Frequency \(Hz\)\s*[;\t,]\s*Z' \((Ω|Ohm|ohm)\)\s*[;\t,]\s*-Z'' \(", re.I)


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a NOVA impedance export."""
    text = head_text(head)
    return 0.8 if _HDR.search(text[:2000]) else 0.0


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read a NOVA ASCII impedance export."""
    return table.read_text(
        path, load_text(path, "a NOVA text export"), FORMAT, sign_fix=sign_fix, **options
    )
