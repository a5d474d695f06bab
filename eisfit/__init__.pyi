# Static view of eisfit's lazily imported subpackages (see __init__.py).
from . import batch as batch
from . import echem as echem
from . import plot as plot
from .circuit import (
    ELEMENTS as ELEMENTS,
    C as C,
    Circuit as Circuit,
    Element as Element,
    G as G,
    H as H,
    L as L,
    La as La,
    Parallel as Parallel,
    Q as Q,
    R as R,
    Series as Series,
    T as T,
    Tb as Tb,
    W as W,
    Wo as Wo,
    Ws as Ws,
    from_cdc as from_cdc,
    from_impedance_py as from_impedance_py,
    ladder as ladder,
    parse as parse,
    preset as preset,
    presets as presets,
    to_cdc as to_cdc,
    to_impedance_py as to_impedance_py,
)
from .data.readers import read as read
from .data.spectrum import Spectrum as Spectrum
from .relaxation import DRTResult as DRTResult, drt as drt
from .errors import (
    CircuitError as CircuitError,
    CircuitSyntaxError as CircuitSyntaxError,
    EisfitError as EisfitError,
    EisfitWarning as EisfitWarning,
    FitError as FitError,
    InputError as InputError,
    InputTypeError as InputTypeError,
    MissingDependencyError as MissingDependencyError,
    PresetNotFoundError as PresetNotFoundError,
    ReadOnlyError as ReadOnlyError,
    ReaderError as ReaderError,
    ReaderFileNotFoundError as ReaderFileNotFoundError,
    SolverError as SolverError,
    UnknownNameError as UnknownNameError,
)
from .fitting import (
    FitOptions as FitOptions,
    FitResult as FitResult,
    SequenceResult as SequenceResult,
    fit as fit,
    fit_sequence as fit_sequence,
    simulate as simulate,
)
from .selection import Proposal as Proposal, propose as propose
from .validate import KKResult as KKResult, kk as kk

__version__: str
