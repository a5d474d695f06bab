"""eisfit — electrochemical impedance spectroscopy for battery research.

>>> import eisfit as ef
>>> model = ef.parse("R0 - (R1 | Q1)")
>>> model.parameters
('R0', 'R1', 'Q1_Q', 'Q1_n')
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version as _version

from .errors import (
    CircuitError,
    CircuitSyntaxError,
    EisfitError,
    EisfitWarning,
    FitError,
    ReaderError,
)
from .data.spectrum import Spectrum

try:
    __version__ = _version("eisfit-battery")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

# Heavier parts are imported on first use so that ``import eisfit`` stays fast.
_LAZY = {
    # circuit DSL
    "parse": ("eisfit.circuit", "parse"),
    "Circuit": ("eisfit.circuit", "Circuit"),
    "Element": ("eisfit.circuit", "Element"),
    "Series": ("eisfit.circuit", "Series"),
    "Parallel": ("eisfit.circuit", "Parallel"),
    "R": ("eisfit.circuit", "R"),
    "C": ("eisfit.circuit", "C"),
    "L": ("eisfit.circuit", "L"),
    "Q": ("eisfit.circuit", "Q"),
    "W": ("eisfit.circuit", "W"),
    "Wo": ("eisfit.circuit", "Wo"),
    "Ws": ("eisfit.circuit", "Ws"),
    "G": ("eisfit.circuit", "G"),
    "H": ("eisfit.circuit", "H"),
    "T": ("eisfit.circuit", "T"),
    "Tb": ("eisfit.circuit", "Tb"),
    "ladder": ("eisfit.circuit", "ladder"),
    "preset": ("eisfit.circuit", "preset"),
    "presets": ("eisfit.circuit", "presets"),
    "from_impedance_py": ("eisfit.circuit", "from_impedance_py"),
    "to_impedance_py": ("eisfit.circuit", "to_impedance_py"),
    "from_cdc": ("eisfit.circuit", "from_cdc"),
    "ELEMENTS": ("eisfit.circuit", "ELEMENTS"),
    # fitting
    "fit": ("eisfit.fitting", "fit"),
    "FitResult": ("eisfit.fitting", "FitResult"),
    "simulate": ("eisfit.fitting", "simulate"),
    # readers and validation
    "read": ("eisfit.data.readers", "read"),
    "kk": ("eisfit.validate.kk", "kk"),
    "KKResult": ("eisfit.validate.kk", "KKResult"),
    # DRT
    "drt": ("eisfit.relaxation", "drt"),
    "DRTResult": ("eisfit.relaxation", "DRTResult"),
    "propose": ("eisfit.relaxation", "propose"),
    "Proposal": ("eisfit.relaxation", "Proposal"),
    # submodules
    "plot": ("eisfit.plot", None),
    "batch": ("eisfit.batch", None),
    "echem": ("eisfit.echem", None),
}

__all__ = [
    "CircuitError",
    "CircuitSyntaxError",
    "EisfitError",
    "EisfitWarning",
    "FitError",
    "ReaderError",
    "Spectrum",
    *_LAZY,
]


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'eisfit' has no attribute {name!r}") from None
    mod = import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
