"""Wrappers around the DRT peers used by ``bench_drt.py`` (imported and called, never copied).

* pyDRTtools (MIT): ``runs.simple_run`` with automatic λ by GCV, Gaussian RBF, 1st-order
  derivative, combined Re–Im data — the defaults of its GUI. Its package ``__init__``
  imports the PyQt5 GUI, so the package is registered as an empty namespace and
  ``pyDRTtools.runs`` imported directly.
* pyimpspec (GPL-3.0), 5.1.3 API:
  - TR-NNLS as its documentation calls it: ``pyimpspec.calculate_drt(DataSet(f, Z),
    method="tr-nnls")`` with every default (``mode="real"``, ``lambda_value=-1.0`` = its
    automatic λ: a scan of 70 values 1e-7…1, ``max_iter=-1``); TR-NNLS takes no
    ``num_procs`` (it is single process);
  - TR-RBF: ``calculate_drt(..., method="tr-rbf", num_procs=1)``, every other option its
    default (automatic λ by mGCV, Gaussian RBF, 1st-order derivative, complex data); one
    process so that its time compares with the others.

Each wrapper returns ``(tau, gamma)`` on the tool's own output grid. Peaks are counted for
every tool by the same rule (see ``count_peaks`` in bench_drt.py). A peer that cannot
be imported is reported as unavailable, with the reason.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import types

import numpy as np


def _load_pydrttools():
    spec = importlib.util.find_spec("pyDRTtools")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pyDRTtools is not installed (pip install pyDRTtools cvxopt scikit-learn)")
    if "pyDRTtools" not in sys.modules or not hasattr(sys.modules["pyDRTtools"], "runs"):
        pkg = types.ModuleType("pyDRTtools")
        pkg.__path__ = list(spec.submodule_search_locations)  # skip the GUI-importing __init__
        sys.modules["pyDRTtools"] = pkg
    with contextlib.redirect_stdout(io.StringIO()):
        from pyDRTtools import runs
    from cvxopt import solvers

    solvers.options["show_progress"] = False
    return runs


def pydrttools_gcv():
    """A callable ``(freq, Z) -> (tau, gamma)`` for pyDRTtools with GCV."""
    runs = _load_pydrttools()

    def run(freq, Z):
        entry = runs.EIS_object(np.asarray(freq, float), Z.real.copy(), Z.imag.copy())
        with contextlib.redirect_stdout(io.StringIO()):
            out = runs.simple_run(entry, rbf_type="Gaussian", data_used="Combined Re-Im Data",
                                  induct_used=1, der_used="1st order", cv_type="GCV")
        return np.asarray(out.out_tau_vec, float), np.asarray(out.gamma, float)

    return run


def _pyimpspec_dataset(freq, Z):
    import pyimpspec

    return pyimpspec.DataSet(np.asarray(freq, float), np.asarray(Z, complex))


def pyimpspec_tr_rbf():
    from pyimpspec import calculate_drt

    def run(freq, Z):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            res = calculate_drt(_pyimpspec_dataset(freq, Z), method="tr-rbf", num_procs=1)
        tau, gamma = res.get_drt_data()
        return np.asarray(tau, float), np.asarray(gamma, float)

    return run


def pyimpspec_tr_nnls():
    from pyimpspec import calculate_drt

    def run(freq, Z):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            res = calculate_drt(_pyimpspec_dataset(freq, Z), method="tr-nnls")
        tau, gamma = res.get_drt_data()
        return np.asarray(tau, float), np.asarray(gamma, float)

    return run


PEERS = {
    "pyDRTtools GCV": pydrttools_gcv,
    "pyimpspec TR-RBF": pyimpspec_tr_rbf,
    "pyimpspec TR-NNLS": pyimpspec_tr_nnls,
}


def load_peers() -> tuple[dict, dict]:
    """``(runners, unavailable)``: name → callable, and name → reason it cannot run."""
    runners, missing = {}, {}
    for name, make in PEERS.items():
        try:
            runners[name] = make()
        except Exception as exc:  # noqa: BLE001 - report whatever stops a peer
            missing[name] = f"{type(exc).__name__}: {exc}"
    return runners, missing
