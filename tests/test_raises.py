"""Every exception eisfit raises is an eisfit error *and* the builtin that describes it.

The test reads the package's source (AST), resolves the class of each ``raise`` in its
module's namespace and checks it; it also checks a few raised errors end to end.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import pickle
from pathlib import Path

import numpy as np
import pytest

import eisfit as ef
from eisfit import errors

PACKAGE = Path(ef.__file__).parent

# Raises that must stay plain Python, each for a reason of the language:
ALLOWED = {
    # module __getattr__ must raise AttributeError for hasattr()/import machinery
    ("eisfit/__init__.py", "__getattr__", "AttributeError"),
    ("eisfit/fitting/__init__.py", "__getattr__", "AttributeError"),
    # argparse turns this exception of a type= callback into a usage message
    ("eisfit/cli.py", "_kv", "ArgumentTypeError"),
    # an abstract method and an unreachable branch
    ("eisfit/circuit/nodes.py", "_text", "NotImplementedError"),
    ("eisfit/circuit/parser.py", "term", "AssertionError"),
}

_BUILTIN_ERRORS = {
    c for c in vars(builtins).values()
    if isinstance(c, type) and issubclass(c, BaseException)
} - {BaseException, Exception}


def _raises():
    """(relative path, enclosing function, exception node) for every raise with a value."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stack: list[str] = []

        def visit(node, stack=stack, rel=rel):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                stack.append(node.name)
                for child in ast.iter_child_nodes(node):
                    yield from visit(child)
                stack.pop()
                return
            if isinstance(node, ast.Raise) and node.exc is not None:
                yield rel, (stack[-1] if stack else "<module>"), node.exc
            for child in ast.iter_child_nodes(node):
                yield from visit(child)

        yield from visit(tree)


def _module(rel: str):
    name = rel[:-3].replace("/", ".")
    if name.endswith(".__init__"):
        name = name[: -len(".__init__")]
    return importlib.import_module(name)


def _resolve(module, expr):
    """The object an expression names in ``module`` (``a.b`` attributes followed), or None."""
    if isinstance(expr, ast.Name):
        return getattr(module, expr.id, getattr(builtins, expr.id, None))
    if isinstance(expr, ast.Attribute):
        base = _resolve(module, expr.value)
        return None if base is None else getattr(base, expr.attr, None)
    return None


def _is_house_error(cls) -> bool:
    return (isinstance(cls, type) and issubclass(cls, errors.EisfitError)
            and any(issubclass(cls, b) for b in _BUILTIN_ERRORS))


def test_every_raise_is_an_eisfit_error_and_a_builtin():
    checked, offenders = 0, []
    for rel, func, exc in _raises():
        target = exc.func if isinstance(exc, ast.Call) else exc
        obj = _resolve(_module(rel), target)
        label = ast.unparse(target)
        if isinstance(obj, type):
            cls = obj
        elif callable(obj):  # a factory such as columns._ambiguous(...) -> ReaderError
            cls = getattr(obj, "__annotations__", {}).get("return")
            if isinstance(cls, str):
                cls = getattr(errors, cls, None)
        else:  # re-raising a caught exception object (`raise exc`)
            assert isinstance(exc, ast.Name), f"{rel}:{exc.lineno} raises {label}"
            continue
        checked += 1
        name = getattr(cls, "__name__", label)
        if (rel, func, name) in ALLOWED:
            continue
        if not _is_house_error(cls):
            offenders.append(f"{rel}:{exc.lineno} in {func}(): raise {label}")
    assert checked > 150  # the walk really sees the package
    assert not offenders, "raises that are not eisfit errors:\n" + "\n".join(offenders)


def test_the_allowed_exceptions_still_exist():
    # an allowance that matches nothing is stale and would hide a new plain raise
    seen = set()
    for rel, func, exc in _raises():
        target = exc.func if isinstance(exc, ast.Call) else exc
        seen.add((rel, func, ast.unparse(target).split(".")[-1]))
    assert ALLOWED <= seen


def test_every_error_class_is_picklable_and_a_builtin():
    for name in errors.__all__:
        cls = getattr(errors, name)
        if not (isinstance(cls, type) and issubclass(cls, errors.EisfitError)):
            continue
        if cls is errors.EisfitError:
            continue
        assert _is_house_error(cls), name
        args = {"CircuitSyntaxError": ("bad", "R0 -", 4),
                "ReaderError": ("bad", "f.txt", 3),
                "ReaderFileNotFoundError": ("gone", "f.txt")}.get(name, ("message",))
        e = cls(*args)
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is cls and str(again) == str(e)


def test_errors_users_meet_are_caught_by_the_builtin_they_expect():
    f = np.logspace(4, -1, 30)
    spec = ef.simulate("R0 - (R1 | C1)", f, {"R0": 1, "R1": 10, "C1": 1e-3})
    with pytest.raises(ValueError, match="at least 5 active points"):
        ef.kk(spec.crop(fmin=5e3))
    with pytest.raises(TypeError, match="expects a Spectrum"):
        ef.kk([1, 2, 3])
    with pytest.raises(KeyError, match="did you mean"):
        ef.preset("randel")
    with pytest.raises(KeyError, match="no element 'R9'"):
        ef.parse("R0 - (R1 | C1)").element("R9")
    with pytest.raises(FileNotFoundError):
        ef.read(PACKAGE / "no-such-file.mpt")
    with pytest.raises(ValueError, match="sign_fix"):
        ef.read(Path(__file__).parent / "fixtures" / "exampleData.csv", sign_fix="flip")
    res = ef.fit("R0 - (R1 | C1)", spec)
    for obj, write in [(res, lambda o: setattr(o, "success", False)),
                       (spec, lambda o: setattr(o, "Z", None)),
                       (ef.parse("R0"), lambda o: setattr(o, "label", "1")),
                       (res.values, lambda o: o.__setitem__("R0", 2.0))]:
        with pytest.raises((AttributeError, TypeError)):
            write(obj)
    with pytest.raises(errors.ReadOnlyError):
        res.values["R0"] = 2.0
    with pytest.raises(errors.ReadOnlyError):
        spec.Z = None
