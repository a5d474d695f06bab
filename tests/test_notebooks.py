"""The notebooks in ``notebooks/``: each executes top to bottom, none writes into the
repository, the committed files carry no outputs, and they match their sources.

Executing needs ``nbclient``, ``nbformat`` and ``ipykernel`` (kernel ``python3``); without them
the execution tests are skipped.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NB_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 300  # s per cell; the notebooks take seconds each on 2 cores
WATCHED = [NB_DIR, REPO / "eisfit" / "_examples", REPO / "circuits"]

if not (NB_DIR / "build.py").is_file():  # e.g. tests run from an sdist without notebooks/
    pytest.skip("notebooks/ is not part of this tree", allow_module_level=True)
nbformat = pytest.importorskip("nbformat")


def _snapshot() -> dict[str, tuple[int, int]]:
    """Files (size, mtime) under the folders a notebook could plausibly write to."""
    out = {}
    for root in WATCHED:
        for p in root.rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts:
                st = p.stat()
                out[str(p.relative_to(REPO))] = (st.st_size, st.st_mtime_ns)
    return out


def test_there_are_five_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert names == [
        "01_quickstart",
        "02_polymer_cell_breakdown",
        "03_drt_model_order",
        "04_symmetric_and_blocking_cells",
        "05_real_cycling_data",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells, "empty notebook"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [], f"cell {i} has outputs"
        assert cell.get("execution_count") is None, f"cell {i} has an execution count"


def test_notebooks_match_their_sources():
    spec = importlib.util.spec_from_file_location("_nb_build", NB_DIR / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.main(["--check"]) == 0, "run: python notebooks/build.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(path, as_version=4)
    before = _snapshot()
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        # Jupyter runs a notebook in its own folder; the notebooks rely on that to find
        # ../shared/data beside the repository (and fall back to bundled data without it)
        resources={"metadata": {"path": str(NB_DIR)}},
    )
    t = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - t
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, errors
    assert _snapshot() == before, "the notebook wrote into the repository"
    print(f"{path.name}: {elapsed:.1f} s")
