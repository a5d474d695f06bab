"""NumPy ``.npy`` arrays holding spectra.

Accepted shapes: complex ``(K, 2, N)`` (``[k, 0]`` = frequency, ``[k, 1]`` = Z; AutoEIS
layout) or ``(2, N)``; real ``(N, 3)``/``(3, N)`` = f, Z', Z''. Pickled arrays are refused.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import _make, read_bytes

FORMAT = "npy"
EXTENSIONS = (".npy",)
OPTIONS: frozenset[str] = frozenset()


def sniff(head: str | bytes, path: Any = None) -> float:
    """1.0 for the NumPy ``.npy`` magic."""
    b = head if isinstance(head, bytes) else head.encode("latin-1", "replace")
    return 1.0 if b.startswith(b"\x93NUMPY") else 0.0


def read(path: str | Path, **options: Any) -> list[Spectrum]:
    """Read the spectra stored in a ``.npy`` file."""
    raw = read_bytes(path)
    try:
        a = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/OSError/EOFError/... on corrupt input
        raise ReaderError(
            f"not a readable .npy array ({type(exc).__name__}: {exc})", path
        ) from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fiuc":
        raise ReaderError("expected a numeric array", path)
    meta = {"source": str(path), "format": FORMAT}
    if np.iscomplexobj(a) and a.ndim in (2, 3) and a.shape[-2] == 2:
        a3 = a if a.ndim == 3 else a[None]
        return [
            _make(a3[k, 0].real.astype(float), a3[k, 1].astype(complex), {**meta, "index": k}, path)
            for k in range(a3.shape[0])
        ]
    if a.ndim == 2 and not np.iscomplexobj(a) and 3 in a.shape:
        t = a if a.shape[1] == 3 else a.T
        return [_make(t[:, 0].astype(float), t[:, 1] + 1j * t[:, 2], {**meta, "index": 0}, path)]
    raise ReaderError(
        f"array of shape {a.shape} and dtype {a.dtype}: expected complex (K, 2, N) or real (N, 3)",
        path,
    )
