"""Apache Parquet tables (needs the optional ``pyarrow``), read like a text table."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ...errors import ReaderError, require
from ..spectrum import Spectrum
from . import table
from ._common import read_bytes

FORMAT = "parquet"
EXTENSIONS = (".parquet", ".pq")
OPTIONS = frozenset({"sign_fix", "freq", "z_real", "z_imag", "neg_imag", "frequencies"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """1.0 for the Parquet magic ``PAR1``."""
    b = head if isinstance(head, bytes) else head.encode("latin-1", "replace")
    return 1.0 if b.startswith(b"PAR1") else 0.0


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read the spectra in a Parquet file (long or wide layout)."""
    raw = read_bytes(path)
    require("pyarrow", "parquet", f"reading {path} (Parquet)")
    import pandas as pd

    try:
        df = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises its own error types on corrupt files
        raise ReaderError(
            f"not a readable Parquet file ({type(exc).__name__}: {exc})", path
        ) from None
    text = df.to_csv(index=False, lineterminator="\n", float_format="%.17g")
    return table.read_text(path, text, FORMAT, sign_fix=sign_fix, **options)
