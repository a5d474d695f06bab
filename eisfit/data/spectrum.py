"""The :class:`Spectrum` type: frequencies, complex impedance, which points to use, metadata.

A spectrum is immutable: its arrays are read-only and every operation (sorting,
excluding points, cropping) returns a new spectrum whose arrays stay aligned. The boolean
array ``use`` says which points analyses use (``True`` = use); :meth:`Spectrum.exclude`
leaves points out.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import EisfitWarning, InputError, ReadOnlyError, UnknownNameError
from ..results import FrozenDict, readonly

__all__ = ["Spectrum"]


class Spectrum:
    """An impedance spectrum.

    Parameters
    ----------
    freq : array_like
        Frequencies in Hz (positive, finite).
    Z : array_like
        Complex impedance in Ω, convention Z = Z' + j Z'' (capacitive arcs have Z'' < 0).
    use : array_like of bool, optional
        ``True`` for the points analyses use. Defaults to all points.
    meta : mapping, optional
        Metadata (source file, index, cycle, temperature, ... and user fields).

    Notes
    -----
    Points with non-finite values are dropped with an :class:`EisfitWarning`; duplicate
    frequencies are kept but warned about. Nothing is changed silently.

    Examples
    --------
    >>> import numpy as np, eisfit as ef
    >>> s = ef.Spectrum([1e3, 1.0], [10 - 1j, 20 - 5j], meta={"cell": "A"})
    >>> s.sorted().freq.tolist()
    [1.0, 1000.0]
    """

    __slots__ = ("_freq", "_Z", "_use", "_meta")

    def __init__(
        self,
        freq: Any,
        Z: Any,
        use: Any = None,
        meta: Mapping[str, Any] | None = None,
        *,
        _checked: bool = False,
    ):
        f = np.asarray(freq, dtype=float).ravel()
        z = np.asarray(Z, dtype=complex).ravel()
        if f.shape != z.shape:
            raise InputError(
                f"freq and Z must have the same length, got {f.size} and {z.size}"
            )
        m = np.ones(f.size, bool) if use is None else np.asarray(use, dtype=bool).ravel()
        if m.shape != f.shape:
            raise InputError(f"use must have length {f.size}, got {m.size}")
        if not _checked:
            bad = ~(np.isfinite(f) & np.isfinite(z.real) & np.isfinite(z.imag))
            if bad.any():
                warnings.warn(
                    f"dropped {int(bad.sum())} point(s) with non-finite frequency or impedance",
                    EisfitWarning,
                    stacklevel=2,
                )
                f, z, m = f[~bad], z[~bad], m[~bad]
            nonpos = f <= 0
            if nonpos.any():
                warnings.warn(
                    f"dropped {int(nonpos.sum())} point(s) with frequency <= 0 (DC rows?)",
                    EisfitWarning,
                    stacklevel=2,
                )
                f, z, m = f[~nonpos], z[~nonpos], m[~nonpos]
            if f.size and np.unique(f).size != f.size:
                warnings.warn(
                    f"{f.size - np.unique(f).size} duplicate frequency value(s); kept as measured",
                    EisfitWarning,
                    stacklevel=2,
                )
        object.__setattr__(self, "_freq", readonly(f))
        object.__setattr__(self, "_Z", readonly(z))
        object.__setattr__(self, "_use", readonly(m))
        object.__setattr__(self, "_meta", FrozenDict(meta or {}))

    def __setattr__(self, key, value):
        raise ReadOnlyError("a Spectrum is immutable; use with_use, exclude, crop, with_meta")

    # -- construction helpers -------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        freq: Any,
        z_real: Any,
        z_imag: Any,
        *,
        neg_imag: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> "Spectrum":
        """Build from real and imaginary parts; ``neg_imag=True`` if ``z_imag`` holds −Z''."""
        zi = np.asarray(z_imag, dtype=float)
        return cls(freq, np.asarray(z_real, float) + 1j * (-zi if neg_imag else zi), meta=meta)

    @classmethod
    def from_polar(
        cls, freq: Any, modulus: Any, phase_deg: Any, *, meta: Mapping[str, Any] | None = None
    ) -> "Spectrum":
        """Build from |Z| and phase in degrees (phase of Z, negative for capacitive)."""
        mod = np.asarray(modulus, float)
        ph = np.deg2rad(np.asarray(phase_deg, float))
        return cls(freq, mod * np.exp(1j * ph), meta=meta)

    # -- data -----------------------------------------------------------------------
    @property
    def freq(self) -> np.ndarray:
        """Frequencies (Hz), read-only."""
        return self._freq

    @property
    def Z(self) -> np.ndarray:
        """Complex impedance (Ω), read-only."""
        return self._Z

    @property
    def use(self) -> np.ndarray:
        """Which points analyses use (``True`` = use), read-only."""
        return self._use

    @property
    def meta(self) -> Mapping[str, Any]:
        """Read-only metadata mapping."""
        return self._meta

    @property
    def omega(self) -> np.ndarray:
        return 2 * np.pi * self._freq

    def __len__(self) -> int:
        return self._freq.size

    def active(self) -> tuple[np.ndarray, np.ndarray]:
        """Frequencies and impedance of the points in use."""
        return self._freq[self._use], self._Z[self._use]

    # -- derived spectra ------------------------------------------------------------
    def _new(self, idx: Any = slice(None), use: Any = None, meta: Mapping | None = None):
        m = self._use[idx] if use is None else use
        return Spectrum(
            self._freq[idx], self._Z[idx], m, self._meta if meta is None else meta, _checked=True
        )

    def sorted(self, descending: bool = False) -> "Spectrum":
        """Spectrum ordered by frequency (ascending by default), arrays kept aligned."""
        order = np.argsort(self._freq, kind="stable")
        return self._new(order[::-1] if descending else order)

    def with_use(self, use: Any) -> "Spectrum":
        """Replace which points are used (``True`` = use)."""
        m = np.asarray(use, bool)
        if m.shape != self._freq.shape:
            raise InputError(f"use must have length {len(self)}, got {m.size}")
        return self._new(use=m)

    def exclude(self, where: Any) -> "Spectrum":
        """Mask out (exclude) the points where ``where`` is True, keeping earlier exclusions."""
        w = np.asarray(where, bool)
        if w.shape != self._freq.shape:
            raise InputError(f"where must have length {len(self)}, got {w.size}")
        return self._new(use=self._use & ~w)

    def crop(self, fmin: float | None = None, fmax: float | None = None) -> "Spectrum":
        """Drop the points outside ``[fmin, fmax]`` (Hz)."""
        keep = np.ones(len(self), bool)
        if fmin is not None:
            keep &= self._freq >= fmin
        if fmax is not None:
            keep &= self._freq <= fmax
        return self._new(np.flatnonzero(keep))

    def capacitive_only(self) -> "Spectrum":
        """Mask out inductive points (Z'' > 0)."""
        return self.exclude(self._Z.imag > 0)

    def with_meta(self, **fields: Any) -> "Spectrum":
        """A copy with metadata fields added or replaced."""
        return self._new(meta={**self._meta, **fields})

    # -- interop --------------------------------------------------------------------
    def to_frame(self):
        """A pandas DataFrame with columns freq, z_real, z_imag, use."""
        import pandas as pd

        return pd.DataFrame(
            {
                "freq": self._freq,
                "z_real": self._Z.real,
                "z_imag": self._Z.imag,
                "use": self._use,
            }
        )

    @classmethod
    def from_frame(
        cls,
        df: Any,
        freq: str = "freq",
        z_real: str = "z_real",
        z_imag: str = "z_imag",
        *,
        neg_imag: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> "Spectrum":
        """Build from a DataFrame with the named columns (``neg_imag`` if it holds −Z'')."""
        missing = [c for c in (freq, z_real, z_imag) if c not in df.columns]
        if missing:
            raise UnknownNameError(f"columns not found: {missing}; have {list(df.columns)}")
        s = cls.from_arrays(df[freq], df[z_real], df[z_imag], neg_imag=neg_imag, meta=meta)
        if "use" in df.columns and len(df) == len(s):
            s = s.with_use(df["use"].to_numpy(bool))
        return s

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spectrum):
            return NotImplemented
        return (
            np.array_equal(self._freq, other._freq)
            and np.array_equal(self._Z, other._Z)
            and np.array_equal(self._use, other._use)
            and dict(self._meta) == dict(other._meta)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        return (_rebuild, (self._freq, self._Z, self._use, dict(self._meta)))

    def __repr__(self) -> str:
        n = len(self)
        if n == 0:
            return "Spectrum(0 points)"
        src = self._meta.get("source")
        extra = f", source={src!r}" if src else ""
        return (
            f"Spectrum({n} points, {self._freq.min():.3g}–{self._freq.max():.3g} Hz, "
            f"{int(self._use.sum())} in use{extra})"
        )


def _rebuild(freq, Z, use, meta):
    return Spectrum(freq, Z, use, meta, _checked=True)
