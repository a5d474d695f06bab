"""Non-linear fitting: parameters, Levenberg–Marquardt, starting values, FitResult, sequences."""

from .fitter import fit, simulate
from .result import Derived, FitResult
from .sequence import fit_sequence
from .sequence_result import SequenceResult

__all__ = ["fit", "simulate", "FitResult", "Derived", "fit_sequence", "SequenceResult"]
