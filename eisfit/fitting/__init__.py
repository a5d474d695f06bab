"""Non-linear fitting: parameters, Levenberg–Marquardt, starting values, FitResult."""

from .fitter import fit, simulate
from .result import Derived, FitResult

__all__ = ["fit", "simulate", "FitResult", "Derived"]
