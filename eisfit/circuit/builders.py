"""Circuit builders: ladders and the named presets stored in ``circuits/``.

Presets are looked up by name with :func:`preset` only; :func:`eisfit.parse` and
:func:`eisfit.fit` take circuit text, circuits and :class:`Preset` objects, not names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from ..errors import CircuitError, PresetNotFoundError
from .nodes import Circuit, Element, Parallel, Series
from .parser import parse

__all__ = ["ladder", "Preset", "preset", "presets"]

_ARCS = {
    "RC": lambda i: Parallel(Element("R", i), Element("C", i)),
    "RQ": lambda i: Parallel(Element("R", i), Element("Q", i)),
    "H": lambda i: Element("H", i),
    "G": lambda i: Element("G", i),
}


def ladder(
    n: int,
    element: str = "RQ",
    *,
    series: str | None = "R",
    diffusion: str | None = None,
    inductance: bool = False,
    start: int = 1,
) -> Circuit:
    """A Voigt-type ladder of ``n`` arcs in series.

    Parameters
    ----------
    n : int
        Number of arcs (0 allowed if ``series`` or ``diffusion`` is given).
    element : {"RQ", "RC", "H", "G"}
        Arc type: R‖CPE, R‖C, Havriliak–Negami or Gerischer.
    series : str or None
        Prefix of the series element, ``"R"`` gives ``R0``; ``None`` for none.
    diffusion : {"Wo", "Ws", "W"} or None
        Diffusion element appended at the end (``Wo<n+1>``).
    inductance : bool
        Prepend a series inductance ``L0``.
    start : int
        Label of the first arc.

    Examples
    --------
    >>> import eisfit as ef
    >>> str(ef.ladder(2, "RQ", diffusion="Wo"))
    'R0 - (R1 | Q1) - (R2 | Q2) - Wo3'
    """
    if element not in _ARCS:
        raise CircuitError(f"unknown arc type {element!r}; choose from {', '.join(_ARCS)}")
    if n < 0:
        raise CircuitError("n must be >= 0")
    parts: list[Circuit] = []
    if inductance:
        parts.append(Element("L", str(start - 1)))
    if series:
        parts.append(Element(series, str(start - 1)))
    parts += [_ARCS[element](str(start + k)) for k in range(n)]
    if diffusion:
        parts.append(Element(diffusion, str(start + n)))
    if not parts:
        raise CircuitError("empty ladder")
    return parts[0] if len(parts) == 1 else Series(*parts)


@dataclass(frozen=True)
class Preset:
    """A named model for a seed cell: circuit, physical roles, groups and default bounds."""

    name: str
    circuit: Circuit
    description: str
    source: str = ""
    roles: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def role(self, name: str) -> str | None:
        """Role of a parameter or element (``"bulk"``, ``"interface"``, ``"diffusion"`` …)."""
        if name in self.roles:
            return self.roles[name]
        for e in self.circuit.elements:
            if name in e.param_names:
                return self.roles.get(e.name)
        return None

    def __str__(self) -> str:
        return str(self.circuit)


def _preset_dirs() -> list[Path]:
    dirs = []
    try:  # installed wheel: circuits/ is packaged as eisfit/_presets
        p = resources.files("eisfit") / "_presets"
        if p.is_dir():
            dirs.append(Path(str(p)))
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover
        pass
    src = Path(__file__).resolve().parents[2] / "circuits"  # source tree / editable install
    if src.is_dir():
        dirs.append(src)
    return dirs


def _load(path: Path) -> Preset:
    import tomllib  # presets are read on first use

    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
        circuit = parse(d["circuit"])
        names = set(circuit.parameters) | {e.name for e in circuit.elements}
        for section in ("roles", "bounds"):
            unknown = set(d.get(section, {})) - names
            if unknown:
                raise CircuitError(f"[{section}] names not in the circuit: {sorted(unknown)}")
        for g, members in d.get("groups", {}).items():
            unknown = set(members) - set(circuit.parameters)
            if unknown:
                raise CircuitError(f"group {g!r} names unknown parameters {sorted(unknown)}")
        return Preset(
            name=d.get("name", path.stem),
            circuit=circuit,
            description=" ".join(d.get("description", "").split()),
            source=d.get("source", ""),
            roles=MappingProxyType(dict(d.get("roles", {}))),
            groups=MappingProxyType({k: tuple(v) for k, v in d.get("groups", {}).items()}),
            bounds=MappingProxyType({k: (float(v[0]), float(v[1])) for k, v in d.get("bounds", {}).items()}),
        )
    except (KeyError, ValueError) as exc:  # TOMLDecodeError and CircuitError are ValueErrors
        raise CircuitError(f"invalid preset file {path}: {exc}") from exc


_loading = False  # set while the preset files are read (their circuits go through parse)


@lru_cache(maxsize=1)
def _registry() -> dict[str, Preset]:
    global _loading
    _loading = True
    try:
        reg: dict[str, Preset] = {}
        for d in _preset_dirs():
            for f in sorted(d.glob("*.toml")):
                p = _load(f)
                reg.setdefault(p.name, p)
        return reg
    finally:
        _loading = False


def find_preset(name: str) -> Preset | None:
    """The preset called ``name`` or ``None`` — for error messages (never raises)."""
    if _loading:
        return None
    try:
        return _registry().get(name)
    except CircuitError:  # a broken preset file must not hide the error being reported
        return None


def presets() -> dict[str, Preset]:
    """All named presets, name → :class:`Preset`.

    Examples
    --------
    >>> import eisfit as ef
    >>> "pouch_4rc" in ef.presets()
    True
    """
    return dict(_registry())


def preset(name: str) -> Preset:
    """The preset called ``name`` (see :func:`presets`).

    Raises
    ------
    PresetNotFoundError
        No such preset (a ``KeyError``); the message suggests the closest name.

    Examples
    --------
    >>> import eisfit as ef
    >>> print(ef.preset("randles"))
    R0 - ((R_ct - Wo_d) | Q_dl)
    >>> ef.preset("randle")
    Traceback (most recent call last):
    ...
    eisfit.errors.PresetNotFoundError: no preset 'randle'; did you mean 'randles'? (available: ...)
    """
    reg = _registry()
    if name not in reg:
        import difflib

        close = difflib.get_close_matches(str(name), list(reg), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PresetNotFoundError(
            f"no preset {name!r}{hint} (available: {', '.join(sorted(reg))})", name
        )
    return reg[name]
