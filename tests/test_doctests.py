"""Every docstring example in the package runs and shows what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import eisfit

FINDER = doctest.DocTestFinder(exclude_empty=True)


def _tests(name: str):
    module = importlib.import_module(name)
    return [t for t in FINDER.find(module, name)  # globals: a copy of the module namespace
            if t.examples and (t.filename or "").endswith(".py")]


#: Modules whose docstrings carry examples (the others have nothing to run).
MODULES = [n for n in ["eisfit", *sorted(i.name for i in pkgutil.walk_packages(
    eisfit.__path__, "eisfit."))] if _tests(n)]


def test_the_package_has_examples():
    assert len(MODULES) >= 25


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _tests(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"
