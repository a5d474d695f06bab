"""Non-linear fitting: parameters, Levenberg–Marquardt, starting values, FitResult."""

from .fitter import fit, simulate
from .options import FitOptions
from .result import Derived, FitResult

__all__ = ["fit", "simulate", "FitOptions", "FitResult", "Derived"]
