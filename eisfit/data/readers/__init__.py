"""Instrument file readers behind one entry point, :func:`read`.

Each format lives in its own module with two functions:

``sniff(head, path) -> float``
    a score in [0, 1] that the first bytes ``head`` belong to this format;
``read(path, **options) -> list[Spectrum]``
    every spectrum in the file, or :class:`~eisfit.errors.ReaderError`.

:data:`REGISTRY` maps format names to those modules; :func:`sniff_format` picks one
from the content (the file extension only breaks ties).
"""

from __future__ import annotations

import warnings
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from ...errors import EisfitWarning, ReaderError
from ..spectrum import Spectrum
from ._common import HEAD_BYTES

__all__ = ["read", "sniff_format", "REGISTRY", "formats"]

# format name -> module (relative to this package); order = tie-break priority
_MODULES: dict[str, str] = {
    "biologic-mpr": "biologic_mpr",
    "biologic-mpt": "biologic_mpt",
    "gamry-dta": "gamry",
    "zplot": "zplot",
    "chi": "chi",
    "versastudio-par": "versastudio",
    "relaxis": "relaxis",
    "palmsens-csv": "palmsens",
    "parstat": "parstat",
    "powersuite": "powersuite",
    "autolab": "autolab",
    "matlab": "matlab",
    "npy": "npy",
    "excel": "excel",
    "parquet": "parquet",
    "table": "table",
}


class _Registry(dict):
    """format name -> reader module, imported on first access."""

    def __getitem__(self, name: str) -> ModuleType:
        mod = super().__getitem__(name)
        if isinstance(mod, str):
            mod = import_module(f"{__name__}.{mod}")
            super().__setitem__(name, mod)
        return mod

    def values(self):  # type: ignore[override]
        return [self[k] for k in self]

    def items(self):  # type: ignore[override]
        return [(k, self[k]) for k in self]


REGISTRY: dict[str, ModuleType] = _Registry(_MODULES)


def formats() -> list[str]:
    """Names accepted by ``read(..., format=...)``."""
    return list(REGISTRY)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except IsADirectoryError:
        raise ReaderError("is a directory, expected a file", path) from None
    except OSError as exc:
        raise ReaderError(f"cannot open file ({exc.strerror or exc})", path) from None


def sniff_format(path: str | Path) -> str:
    """Name of the format of ``path``, judged from its content.

    Raises
    ------
    ReaderError
        When no reader recognises the content.

    Examples
    --------
    >>> from eisfit.data.readers import formats
    >>> "biologic-mpr" in formats()
    True
    """
    p = Path(path)
    head = _head(p)
    if not head:
        raise ReaderError("empty file", p)
    ext = p.suffix.lower()
    best, best_score = None, 0.0
    for name, mod in REGISTRY.items():
        try:
            score = float(mod.sniff(head, p))
        except Exception:  # a sniffer must never decide the outcome by crashing
            score = 0.0
        if score > 0 and ext in getattr(mod, "EXTENSIONS", ()):
            score += 0.05
        if score > best_score:
            best, best_score = name, score
    if best is None:
        raise ReaderError(
            "unrecognised content: not an impedance file of any known format "
            f"({', '.join(formats())})",
            p,
        )
    return best


def read(path: str | Path, format: str | None = None, **options: Any) -> list[Spectrum]:
    """Read every impedance spectrum in a file.

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        One of :func:`formats`; by default sniffed from the content.
    **options
        Passed to the format's reader; each module lists its own in ``OPTIONS``:
        ``sign_fix`` (``"auto"``: negate an imaginary column whose values contradict its
        name, with a warning; ``"keep"``: only warn), for tables ``freq=``/``z_real=``/
        ``z_imag=`` column names, ``neg_imag=``, ``frequencies=`` (array or file, for wide
        tables whose column names round the frequencies), ``sheet=`` for Excel. Options a
        reader does not take are ignored with an :class:`EisfitWarning`.

    Returns
    -------
    list of Spectrum
        In file order; ``meta`` holds ``source``, ``index``, ``format`` and what the file
        records (cycle/loop, timestamps, DC potential/current, temperature, ...).

    Raises
    ------
    ReaderError
        The file cannot be read as impedance data (names the file, the line where
        possible, and what was expected).

    Examples
    --------
    >>> import eisfit as ef
    >>> ef.read("no/such/file.mpt")
    Traceback (most recent call last):
    ...
    eisfit.errors.ReaderError: no/such/file.mpt: cannot open file (No such file or directory)
    """
    p = Path(path)
    if format is None:
        if not p.exists():
            raise ReaderError("cannot open file (No such file or directory)", p)
        format = sniff_format(p)
    elif format not in REGISTRY:
        raise ReaderError(f"unknown format {format!r}; known: {', '.join(formats())}", p)
    mod = REGISTRY[format]
    if options.get("sign_fix", "auto") not in ("auto", "keep"):
        raise ValueError(f"sign_fix must be 'auto' or 'keep', got {options['sign_fix']!r}")
    unused = sorted(set(options) - set(getattr(mod, "OPTIONS", ())))
    if unused:
        warnings.warn(
            f"option(s) {unused} not used by the {format!r} reader (it takes "
            f"{sorted(getattr(mod, 'OPTIONS', ())) or 'none'}); ignored",
            EisfitWarning,
            stacklevel=2,
        )
        options = {k: v for k, v in options.items() if k not in unused}
    try:
        spectra = mod.read(p, **options)
    except ReaderError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, MemoryError, UnicodeError) as exc:
        # safety net; the readers are fuzzed to raise ReaderError themselves
        raise ReaderError(f"could not parse as {format}: {type(exc).__name__}: {exc}", p) from exc
    if not spectra:
        raise ReaderError(f"no impedance spectra found (read as {format})", p)
    return spectra
