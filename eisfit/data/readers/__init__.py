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
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ...errors import EisfitWarning, InputError, ReaderError, ReaderFileNotFoundError
from ..spectrum import Spectrum
from ._common import HEAD_BYTES

__all__ = ["read", "sniff_format", "REGISTRY", "formats", "gate", "MIN_POINTS"]

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
    "palmsens-pssession": "pssession",
    "zahner-ism": "zahner_ism",
    "ivium": "ivium",
    "parstat": "parstat",
    "powersuite": "powersuite",
    "autolab": "autolab",
    "matlab": "matlab",
    "npy": "npy",
    "excel": "excel",
    "ods": "ods",
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
    except FileNotFoundError as exc:
        raise ReaderFileNotFoundError(f"cannot open file ({exc.strerror})", path) from None
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


MIN_POINTS = 5


def _runs(freq: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges of the monotone runs of ``freq`` (a step against the sweep = restart)."""
    d = np.diff(freq)
    nz = d[d != 0]
    if nz.size == 0:
        return [(0, freq.size)]
    direction = 1.0 if np.sum(nz > 0) >= np.sum(nz < 0) else -1.0
    cuts = (np.flatnonzero(d * direction < 0) + 1).tolist()
    bounds = [0, *cuts, freq.size]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def gate(
    spectra: list[Spectrum], path: Any, fmt: str, min_points: int = MIN_POINTS
) -> list[Spectrum]:
    """The sanity gate every reader's output passes: one sweep per spectrum, or nothing.

    Points with non-finite values or frequency <= 0 are dropped; a spectrum whose
    frequency reverses direction is split at each restart (``meta["split_from"]`` names
    the original index); pieces with fewer than ``min_points`` points are dropped. Each
    of these repairs is announced with an :class:`EisfitWarning`. ``index`` is renumbered.

    Raises
    ------
    ReaderError
        When no spectrum of at least ``min_points`` points remains.
    """
    out: list[Spectrum] = []
    short: list[int] = []
    n_bad = n_split = 0
    for s in spectra:
        f, z, mask = np.asarray(s.freq), np.asarray(s.Z), np.asarray(s.use)
        ok = np.isfinite(f) & np.isfinite(z.real) & np.isfinite(z.imag) & (f > 0)
        if not ok.all():
            n_bad += int((~ok).sum())
            f, z, mask = f[ok], z[ok], mask[ok]
        runs = _runs(f) if f.size else []
        if len(runs) > 1:
            n_split += 1
        for k, (a, b) in enumerate(runs):
            if b - a < min_points:
                short.append(b - a)
                continue
            meta = dict(s.meta)
            if len(runs) > 1:
                meta["split_from"] = meta.get("index", len(out))
                meta["sweep"] = k
            meta["index"] = len(out)
            out.append(Spectrum(f[a:b], z[a:b], mask[a:b], meta, _checked=True))
    if n_bad:
        warnings.warn(
            f"{path}: dropped {n_bad} point(s) with non-finite impedance or frequency <= 0",
            EisfitWarning,
            stacklevel=3,
        )
    if n_split:
        warnings.warn(
            f"{path}: {n_split} spectrum/spectra held more than one frequency sweep; split where "
            "the frequency restarts",
            EisfitWarning,
            stacklevel=3,
        )
    if not out:
        raise ReaderError(
            f"no frequency sweep of at least {min_points} points (read as {fmt}: "
            f"{len(short)} piece(s) of {sorted(set(short))[:5]} points); not a spectrum, or "
            "the column roles are wrong (see columns=)",
            path,
        )
    if short:
        warnings.warn(
            f"{path}: dropped {len(short)} piece(s) shorter than {min_points} points "
            f"(sizes {sorted(set(short))[:5]}); pass min_points= to keep them",
            EisfitWarning,
            stacklevel=3,
        )
    return out


def read(
    path: str | Path,
    format: str | None = None,
    columns: Mapping[str, Any] | None = None,
    *,
    min_points: int = MIN_POINTS,
    **options: Any,
) -> list[Spectrum]:
    """Read every impedance spectrum in a file.

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        One of :func:`formats`; by default sniffed from the content.
    columns : mapping, optional
        For table-like formats: which column is which, overriding header and content
        detection, e.g. ``{"freq": 2, "z_real": 3, "z_imag": 4, "neg_imag": True}``
        (0-based column numbers or header names; also ``z_mod``, ``phase``,
        ``phase_unit="rad"``, ``neg_phase``, ``neg_real``, ``time``, ``cycle``).
    min_points : int
        Sweeps with fewer points are dropped (with a warning) by the sanity gate.
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
    >>> try:
    ...     ef.read("no/such/file.mpt")
    ... except FileNotFoundError as exc:  # a ReaderError that is also a FileNotFoundError
    ...     print(exc)
    no/such/file.mpt: cannot open file (No such file or directory)
    """
    p = Path(path)
    if format is None:
        if not p.exists():
            raise ReaderFileNotFoundError("cannot open file (No such file or directory)", p)
        format = sniff_format(p)
    elif format not in REGISTRY:
        raise ReaderError(f"unknown format {format!r}; known: {', '.join(formats())}", p)
    mod = REGISTRY[format]
    if columns is not None:
        if not isinstance(columns, Mapping):
            raise ReaderError("columns= must be a mapping like {'freq': 0, 'z_real': 1, ...}", p)
        if "columns" not in getattr(mod, "OPTIONS", ()):
            raise ReaderError(f"the {format!r} reader takes no columns= option", p)
        options["columns"] = dict(columns)
    if options.get("sign_fix", "auto") not in ("auto", "keep"):
        raise InputError(f"sign_fix must be 'auto' or 'keep', got {options['sign_fix']!r}")
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
    return gate(spectra, p, format, min_points)
