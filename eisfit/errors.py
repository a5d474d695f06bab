"""Exception and warning hierarchy.

Every error eisfit raises on purpose derives from :class:`EisfitError` *and* from the
builtin that best describes it, so ``except ValueError`` keeps working for callers
that do not know eisfit. All errors are picklable (they travel back from worker
processes in a batch run).
"""

from __future__ import annotations

__all__ = [
    "EisfitError",
    "InputError",
    "InputTypeError",
    "UnknownNameError",
    "ReadOnlyError",
    "MissingDependencyError",
    "SolverError",
    "CircuitSyntaxError",
    "CircuitError",
    "PresetNotFoundError",
    "ReaderError",
    "ReaderFileNotFoundError",
    "FitError",
    "EisfitWarning",
    "require",
]


class EisfitError(Exception):
    """Root of all eisfit errors."""


class InputError(EisfitError, ValueError):
    """An argument or a data set the function cannot work with (a negative σ, too few points,
    an unknown option value, a malformed batch pattern, ...)."""


class InputTypeError(EisfitError, TypeError):
    """An argument of the wrong type (a number where circuit text is expected, ...)."""


class UnknownNameError(EisfitError, KeyError):
    """A name that is not there (an element, a parameter, a preset): a ``KeyError`` whose
    message reads as a sentence, often with a "did you mean" hint."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0]) if self.args else ""


class ReadOnlyError(EisfitError, AttributeError, TypeError):
    """A write to an immutable object (a result, a spectrum, a circuit, a frozen mapping).

    Both an ``AttributeError`` (what writing a frozen attribute raises in Python) and a
    ``TypeError`` (what writing a read-only mapping raises).
    """


class MissingDependencyError(EisfitError, ImportError):
    """An optional package is needed for this call; the message names the pip extra."""


class SolverError(EisfitError, RuntimeError):
    """A numerical solver gave no answer (the request itself was valid)."""


def require(module: str, extra: str, purpose: str):
    """Import an optional ``module`` or raise :class:`MissingDependencyError`.

    ``purpose`` says what needs it ("reading Parquet files"); ``extra`` is the
    ``eisfit-battery[extra]`` that installs it.
    """
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{purpose} needs {module}: pip install 'eisfit-battery[{extra}]'"
        ) from None


class CircuitError(EisfitError, ValueError):
    """A circuit that is well formed text but not a valid circuit (e.g. duplicate labels)."""


class CircuitSyntaxError(CircuitError):
    """Circuit text that cannot be parsed: a :class:`CircuitError` (hence a ``ValueError``).

    The message shows the text with a caret under the offending position.
    """

    def __init__(self, reason: str, text: str = "", pos: int | None = None):
        self.reason = reason
        self.text = text
        self.pos = pos
        super().__init__(self._format())

    def _format(self) -> str:
        if not self.text or self.pos is None:
            return self.reason
        return f"{self.reason}\n    {self.text}\n    {' ' * self.pos}^"

    def __reduce__(self):
        return (type(self), (self.reason, self.text, self.pos))


class PresetNotFoundError(UnknownNameError):
    """No preset of that name: a ``KeyError`` whose message carries a "did you mean" hint."""

    def __init__(self, message: str, name: str | None = None):
        self.name = name
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (str(self), self.name))


class ReaderError(EisfitError, ValueError):
    """A file that cannot be read as an impedance spectrum.

    Carries the path, and where known the 1-based line number, so that the message
    tells the user exactly where to look.
    """

    def __init__(self, reason: str, path: object = None, line: int | None = None):
        self.reason = reason
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if self.line is not None:
                where += f", line {self.line}"
            where += ": "
        return where + self.reason

    def __reduce__(self):
        return (type(self), (self.reason, self.path, self.line))


class ReaderFileNotFoundError(ReaderError, FileNotFoundError):
    """The file to read does not exist: a :class:`ReaderError` that is also a
    :class:`FileNotFoundError` (``except FileNotFoundError`` and ``except ValueError``
    both catch it)."""

    def __init__(self, reason: str, path: object = None, line: int | None = None):
        super().__init__(reason, path, line)
        self.errno = 2  # ENOENT
        self.filename = self.path

    def __str__(self) -> str:  # OSError's "[Errno 2] ..." form would hide the reason
        return self._format()


class FitError(EisfitError, ValueError):
    """Invalid fit request (unknown parameter names, inconsistent bounds, ...)."""


class EisfitWarning(UserWarning):
    """Soft problems: data repaired, fit questionable, ... Never printed, always warned."""
