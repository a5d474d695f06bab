"""Distribution of relaxation times (DRT) and model-order proposal.

>>> import numpy as np, eisfit as ef
>>> f = np.logspace(5, -2, 71)
>>> Z = 5 + 20 / (1 + 1j * 2 * np.pi * f * 1e-3)
>>> len(ef.drt(ef.Spectrum(f, Z)).peaks())
1
"""

from __future__ import annotations

from importlib import import_module

from .analytic import exact_gamma
from .core import drt
from .peaks import Peak
from .result import DRTResult

__all__ = ["DRTResult", "Peak", "Proposal", "drt", "exact_gamma", "propose"]


def __getattr__(name: str):
    # propose() needs the circuit fitter: import it only when asked for
    if name in ("propose", "Proposal"):
        value = getattr(import_module(".proposal", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'eisfit.relaxation' has no attribute {name!r}")
