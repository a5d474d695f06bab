"""Non-linear fitting: parameters, Levenberg–Marquardt, starting values, FitResult, sequences."""

from .fitter import fit, simulate
from .options import FitOptions
from .result import Derived, FitResult
from .stacked import fit_stacked

__all__ = ["fit", "fit_stacked", "simulate", "FitOptions", "FitResult", "Derived", "fit_sequence",
           "SequenceResult"]

#: The sequence fit (its banded solver and scipy.linalg) loads on first use.
_LAZY = {"fit_sequence": ".sequence", "SequenceResult": ".sequence_result"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
