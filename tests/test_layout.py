"""The package layout: no module hidden behind a function of the same name."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import eisfit


def test_no_module_is_shadowed_by_an_attribute():
    """``import eisfit.x.y as m`` must work for every module: a function ``eisfit.x``
    named like a package would break it (Python resolves ``as`` through attributes)."""
    for info in pkgutil.walk_packages(eisfit.__path__, "eisfit."):
        module = importlib.import_module(info.name)
        parent, _, child = info.name.rpartition(".")
        assert getattr(sys.modules[parent], child) is module, info.name


def test_public_functions_are_functions():
    import types

    for name in ("fit", "drt", "kk", "propose", "read", "parse", "simulate"):
        assert isinstance(getattr(eisfit, name), types.FunctionType), name


def test_readme_structure_section_matches_the_tree():
    """Every module of the package has its line in the README's structure table, and every
    line names a module that exists (subpackage ``__init__`` files only re-export)."""
    import re
    from pathlib import Path

    root = Path(eisfit.__file__).parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Structure", 1)[1].split("\n## ", 1)[0]
    listed, formats = set(), set()
    for m in re.finditer(r"^\| `(eisfit/[^`]+)` \| (.*) \|$", section, re.M):
        path, text = m.groups()
        if "<format>" in path:
            formats = set(re.findall(r"`([a-z_]+)`", text))
            continue
        listed.add(path)
    pkg = root / "eisfit"
    modules = {p.relative_to(root).as_posix() for p in pkg.rglob("*.py")}
    exempt = {m for m in modules if m.endswith("/__init__.py")} - {
        "eisfit/data/readers/__init__.py"}
    readers = {m for m in modules if m.startswith("eisfit/data/readers/")} - listed
    assert {Path(m).stem for m in readers} == formats
    assert listed <= modules, sorted(listed - modules)
    assert modules - exempt - readers <= listed, sorted(modules - exempt - readers - listed)
