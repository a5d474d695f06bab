"""Batch analysis: a folder of spectra in, parameter tables and resistance growth out.

>>> import eisfit as ef
>>> folder, sidecar = ef.batch.example_folder()   # 18 real coin-cell spectra
>>> res = ef.batch.run(folder, "L0 - R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3) - Ws4",
...                    pattern="{cell}_cycle{cycle:d}", sidecar=sidecar, n_jobs=1, kk=False)
>>> sorted(res.growth["cell"].unique())
['25C01', '25C02', '25C05']

Modules: :mod:`~.inputs` (finding files, content hashes), :mod:`~.metadata`
(file-name patterns, sidecar tables), :mod:`~.models` (model per state, groups),
:mod:`~.worker` (the fit task), :mod:`~.outcome` (what a worker returns),
:mod:`~.execute` (local processes, Dask), :mod:`~.cache` (atomic writes, JSON cache),
:mod:`~.tables`, :mod:`~.trend`, :mod:`~.report`, :mod:`~.output`,
:mod:`~.pipeline` (:func:`run`: plan → execute → tabulate → write), :mod:`~.result`.
"""

from __future__ import annotations

from .inputs import discover, file_hash
from .metadata import FilenamePattern, load_sidecar
from .models import ModelPlan
from .outcome import SpectrumOutcome
from .pipeline import run
from .result import BatchResult
from .trend import growth, line_fit

__all__ = [
    "run", "BatchResult", "SpectrumOutcome", "discover", "file_hash", "growth", "line_fit",
    "FilenamePattern", "load_sidecar", "ModelPlan", "example_folder",
]


def example_folder():
    """Path of the bundled example (real coin-cell spectra over cycling) and its sidecar.

    Returns
    -------
    tuple of Path
        ``(folder, sidecar_table)``.
    """
    from importlib.resources import files
    from pathlib import Path

    root = Path(str(files("eisfit") / "_examples"))
    return root / "zhang2020", root / "zhang2020_cells.csv"
