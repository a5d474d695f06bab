"""Presets must load from a plain (non-editable) install: build the wheel and import from it."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_presets_load_from_the_built_wheel(tmp_path):
    pytest.importorskip("hatchling")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(site)
    sources = sorted(p.name for p in (ROOT / "circuits").glob("*.toml"))
    assert sources and all(f"eisfit/_presets/{n}" in names for n in sources)
    # import the extracted wheel from a directory where the source tree is not visible
    code = "import eisfit, sys; print(eisfit.__file__); print(' '.join(sorted(eisfit.presets())))"
    run = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); exec({code!r})"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    file_line, names_line = run.stdout.strip().splitlines()
    assert file_line.startswith(str(site))
    assert names_line.split() == sorted(p.stem for p in (ROOT / "circuits").glob("*.toml"))
