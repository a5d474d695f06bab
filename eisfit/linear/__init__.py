"""The linear core shared by starting values, the Kramers–Kronig test and the DRT.

An immittance written as a linear combination of fixed basis functions — R∞, jωL,
1/(jωC) and a relaxation basis (Voigt RC elements or the DRT's hat functions) — is
fitted by weighted linear least squares or non-negative least squares. This package
holds each piece once:

- :mod:`.weights`: the residual weights and the stacking of real and imaginary parts
  (also used by the non-linear fitter);
- :mod:`.basis`: the series and Voigt columns, in impedance or admittance form;
- :mod:`.kernels`: the DRT's piecewise-linear (hat) basis in closed form;
- :mod:`.solve`: column-scaled least squares and block-pivoting NNLS.
"""

from .basis import Columns, series_columns, voigt_columns, voigt_tau
from .solve import QPSolution, lstsq, nnls
from .weights import WEIGHTS, residual_weights, stack, stack_columns, stack_jacobian

__all__ = [
    "Columns", "series_columns", "voigt_columns", "voigt_tau", "QPSolution", "lstsq", "nnls",
    "WEIGHTS", "residual_weights", "stack", "stack_columns", "stack_jacobian",
]
