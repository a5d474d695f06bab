"""Princeton Applied Research Parstat / VersaStudio tab-separated text export.

Header ``Potential (V)  Current (A)  Elapsed Time (s)  Frequency (Hz)  Zre (ohms)  Zim (ohms)
...``; DC rows (frequency 0, impedance 0) precede the impedance rows and are skipped
(counted in ``meta["marker_rows_skipped"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..spectrum import Spectrum
from . import table
from ._common import head_text, load_text

FORMAT = "parstat"
EXTENSIONS = (".txt",)
OPTIONS = frozenset({"sign_fix", "freq", "z_real", "z_imag", "neg_imag", "frequencies"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a Parstat text export."""
    first = head_text(head).lstrip("\ufeff").split("\n", 1)[0]
    if first.startswith("Potential (V)\tCurrent (A)") and "Frequency (Hz)" in first:
        return 0.9
    return 0.0


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read a Parstat text export (impedance rows only)."""
    text = load_text(path, "a Parstat text export")
    return table.read_text(path, text, FORMAT, sign_fix=sign_fix, **options)
