"""Non-linear fitting: parameters, Levenberg–Marquardt, starting values, FitResult, sequences."""

from .fitter import fit, simulate
from .options import FitOptions
from .result import Derived, FitResult
from .sequence import fit_sequence
from .sequence_result import SequenceResult

__all__ = ["fit", "simulate", "FitOptions", "FitResult", "Derived", "fit_sequence",
           "SequenceResult"]
