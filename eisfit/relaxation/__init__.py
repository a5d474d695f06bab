"""Distribution of relaxation times (DRT): kernels, solver, choice of λ, peaks, result.

>>> import numpy as np, eisfit as ef
>>> f = np.logspace(5, -2, 71)
>>> Z = 5 + 20 / (1 + 1j * 2 * np.pi * f * 1e-3)
>>> len(ef.drt(ef.Spectrum(f, Z)).peaks())
1
"""

from .analytic import exact_gamma
from .inversion import drt
from .peaks import Peak
from .result import DRTResult

__all__ = ["DRTResult", "Peak", "drt", "exact_gamma"]
