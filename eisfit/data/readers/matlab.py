"""MATLAB ``.mat`` files (v4–v7, via :func:`scipy.io.loadmat`) holding one spectrum.

Variables are recognised by name like table columns (``freq``, ``Z_prime``,
``Z_double_prime``, ``Zreal``, ``Zimag``, ...) or a complex ``Z``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import build_spectra, detect_roles, read_bytes

FORMAT = "matlab"
EXTENSIONS = (".mat",)
OPTIONS = frozenset({"sign_fix"})


def sniff(head: str | bytes, path: Any = None) -> float:
    """1.0 for a MATLAB 5 MAT-file header."""
    b = head if isinstance(head, bytes) else head.encode("latin-1", "replace")
    return 1.0 if b.startswith(b"MATLAB 5.0 MAT-file") else 0.0


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read the spectrum stored in a ``.mat`` file."""
    raw = read_bytes(path)
    if b"MATLAB 7.3 MAT-file" in raw[:128]:
        raise ReaderError("MATLAB v7.3 (HDF5) files are not supported; save with -v7", path)
    import io

    from scipy.io import loadmat

    try:
        data = loadmat(io.BytesIO(raw), squeeze_me=True)
    except Exception as exc:  # scipy raises many types on corrupt input
        raise ReaderError(f"not a readable MAT-file ({type(exc).__name__}: {exc})", path) from None
    arrays = {}
    for k, v in data.items():
        if k.startswith("__") or not isinstance(v, np.ndarray) or v.dtype.kind not in "fiuc":
            continue
        if v.ndim == 1 or (v.ndim == 2 and 1 in v.shape):
            arrays[k] = v.ravel()
    names = list(arrays)
    for k in names:
        if np.iscomplexobj(arrays[k]) and k.lower() in ("z", "impedance", "zdata"):
            arrays["Zreal"], arrays["Zimag"] = arrays[k].real, arrays[k].imag
            names += ["Zreal", "Zimag"]
    roles = detect_roles(names)
    needed = [names[i] for i in roles.index.values()]
    sizes = {arrays[n].size for n in needed}
    if roles.has_impedance() and len(sizes) != 1:
        raise ReaderError(f"variables {needed} differ in length {sorted(sizes)}", path)
    n = sizes.pop() if sizes else 0
    table = (
        np.column_stack(
            [
                arrays[name].real.astype(float) if arrays[name].size == n else np.full(n, np.nan)
                for name in names
            ]
        )
        if names
        else np.zeros((0, 0))
    )
    return build_spectra(
        table, roles, path, FORMAT, {"variables": names}, sign_fix=sign_fix, split=False
    )
