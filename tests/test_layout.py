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
