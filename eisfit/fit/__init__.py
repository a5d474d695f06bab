"""Fitting: weights, least-squares core, automatic starting values, FitResult."""

from .fitter import fit, simulate
from .result import Derived, FitResult
from .weights import residual_weights, stack

__all__ = ["fit", "simulate", "FitResult", "Derived", "residual_weights", "stack"]
