"""eisfit — electrochemical impedance spectroscopy for battery research.

>>> import eisfit as ef
>>> model = ef.parse("R0 - (R1 | Q1)")
>>> model.parameters
('R0', 'R1', 'Q1_Q', 'Q1_n')

The analysis core (circuits, fitting, DRT, Kramers–Kronig, model selection, readers) is
imported here explicitly; scipy, pandas and matplotlib are imported by the functions that
need them, so ``import eisfit`` stays fast. Packages are named for what they hold and never
share a name with a public function: ``ef.fit`` lives in :mod:`eisfit.fitting`, ``ef.drt``
in :mod:`eisfit.relaxation`, ``ef.propose`` in :mod:`eisfit.selection`. The batch layer,
plotting and electrochemistry helpers (which need pandas / matplotlib) are loaded on first
use: ``ef.batch``, ``ef.plot``, ``ef.echem``; ``__init__.pyi`` declares them for static
tools.
"""

from __future__ import annotations

from importlib import import_module

from .circuit import (
    ELEMENTS,
    C,
    Circuit,
    Element,
    G,
    H,
    L,
    La,
    Parallel,
    Q,
    R,
    Series,
    T,
    Tb,
    W,
    Wo,
    Ws,
    from_cdc,
    from_impedance_py,
    ladder,
    parse,
    preset,
    presets,
    to_cdc,
    to_impedance_py,
)
from .data.spectrum import Spectrum
from .relaxation import DRTResult, drt
from .errors import (
    CircuitError,
    CircuitSyntaxError,
    EisfitError,
    EisfitWarning,
    FitError,
    InputError,
    InputTypeError,
    MissingDependencyError,
    PresetNotFoundError,
    ReadOnlyError,
    ReaderError,
    ReaderFileNotFoundError,
    SolverError,
    UnknownNameError,
)
from .fitting import FitOptions, FitResult, fit, simulate
from .selection import Proposal, propose
from .validate import KKResult, kk

#: Subpackages that need pandas or matplotlib, imported on first attribute access.
_LAZY_MODULES = ("batch", "plot", "echem")
#: Names whose modules load on first access (the readers compile their column-name rules).
_LAZY_NAMES = {"read": ".data.readers", "fit_sequence": ".fitting.sequence",
               "SequenceResult": ".fitting.sequence_result"}

__all__ = [
    "CircuitError", "CircuitSyntaxError", "EisfitError", "EisfitWarning", "FitError",
    "InputError", "InputTypeError", "MissingDependencyError", "PresetNotFoundError",
    "ReadOnlyError", "ReaderError", "ReaderFileNotFoundError", "SolverError", "UnknownNameError",
    "Spectrum", "read",
    "parse", "Circuit", "Element", "Series", "Parallel", "ELEMENTS",
    "R", "C", "L", "La", "Q", "W", "Wo", "Ws", "G", "H", "T", "Tb",
    "ladder", "preset", "presets", "from_impedance_py", "to_impedance_py", "from_cdc", "to_cdc",
    "fit", "FitOptions", "FitResult", "fit_sequence", "SequenceResult", "simulate", "drt",
    "DRTResult", "propose", "Proposal", "kk", "KKResult",
    *_LAZY_MODULES,
]

def __getattr__(name: str):
    if name in _LAZY_MODULES:
        value = import_module(f"{__name__}.{name}")
    elif name in _LAZY_NAMES:
        value = getattr(import_module(_LAZY_NAMES[name], __name__), name)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("eisfit-battery")
        except PackageNotFoundError:  # running from a source tree
            value = "0+unknown"
    else:
        raise AttributeError(f"module 'eisfit' has no attribute {name!r}")
    globals()[name] = value
    return value

def __dir__():
    return sorted(__all__)
