"""Batch analysis: a folder of spectra in, parameter tables and resistance growth out.

>>> import eisfit as ef
>>> folder, sidecar = ef.batch.example_folder()   # 18 real coin-cell spectra
>>> res = ef.batch.run(folder, "L0 - R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3)",
...                    pattern="{cell}_cycle{cycle:d}", sidecar=sidecar, n_jobs=1, kk=False)
>>> sorted(res.growth["cell"].unique())
['25C01', '25C02', '25C05']

Modules: :mod:`~.inputs` (finding files, content hashes), :mod:`~.metadata`
(file-name patterns, sidecar tables), :mod:`~.models` (model per state, arc order),
:mod:`~.worker` (the fit task), :mod:`~.execute` (local processes, Dask),
:mod:`~.cache` (atomic writes, incremental cache), :mod:`~.tables`,
:mod:`~.trend`, :mod:`~.report`, :mod:`~.pipeline` (:func:`run`).
"""

from __future__ import annotations

from .pipeline import BatchResult, run, write_outputs
from .inputs import discover, file_hash
from .trend import growth, line_fit
from .metadata import FilenamePattern, load_sidecar
from .models import ModelPlan

__all__ = [
    "run",
    "BatchResult",
    "write_outputs",
    "discover",
    "file_hash",
    "growth",
    "line_fit",
    "FilenamePattern",
    "load_sidecar",
    "ModelPlan",
    "example_folder",
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
