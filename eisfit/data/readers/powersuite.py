"""Solartron/AMETEK PowerSuite text export: ``Frequency<TAB> Zre<TAB> Zimg`` then rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..spectrum import Spectrum
from . import table
from ._common import head_text, load_text

FORMAT = "powersuite"
EXTENSIONS = (".txt",)
OPTIONS = frozenset({"sign_fix", "freq", "z_real", "z_imag", "neg_imag", "frequencies"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """Score that ``head`` is a PowerSuite export."""
    first = head_text(head).lstrip("\ufeff").split("\n", 1)[0]
    names = [n.strip() for n in first.split("\t")]
    if names[:3] == ["Frequency", "Zre", "Zimg"]:
        return 0.9
    return 0.0


def read(path: str | Path, *, sign_fix: str = "keep", **options: Any) -> list[Spectrum]:
    """Read a PowerSuite text export."""
    text = load_text(path, "a PowerSuite text export")
    return table.read_text(path, text, FORMAT, sign_fix=sign_fix, **options)
