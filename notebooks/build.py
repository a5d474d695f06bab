"""Build the notebooks from their sources in ``notebooks/src``.

Each source is a plain Python file in the "percent" format: ``# %%`` starts a code
cell, ``# %% [markdown]`` a markdown cell whose lines are commented out with ``# ``.
The notebooks are written without outputs (run them in Jupyter, or let
``tests/test_notebooks.py`` execute them).

    python notebooks/build.py            # write notebooks/*.ipynb
    python notebooks/build.py --check    # exit 1 if a notebook differs from its source
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def cells_from_source(text: str) -> list:
    """Split a percent-format source into nbformat cells."""
    cells = []
    kind, lines = None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(
                ln[2:] if ln.startswith("# ") else ln.removeprefix("#") for ln in body.splitlines()
            )
            cells.append(nbformat.v4.new_markdown_cell(body))
        else:
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind = "markdown" if "[markdown]" in line else "code"
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(src: Path):
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(KERNEL)
    nb.cells = cells_from_source(src.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"{src.stem[:2]}-{i:02d}"
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    a = ap.parse_args(argv)
    stale = []
    for src in sorted(SRC.glob("[0-9]*.py")):
        target = HERE / f"{src.stem}.ipynb"
        text = nbformat.writes(build(src)) + "\n"
        if a.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run python notebooks/build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
