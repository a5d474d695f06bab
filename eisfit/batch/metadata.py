"""Metadata for each spectrum: from file names, file headers and a sidecar table.

Precedence (later wins): file header (:attr:`Spectrum.meta`) < file-name pattern <
sidecar row for the cell < sidecar row for the file.

Examples
--------
>>> p = FilenamePattern("{cell}_cycle{cycle:d}")
>>> p.match("A1_cycle12")
{'cell': 'A1', 'cycle': 12}
>>> p.match("notes") is None
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError, ReaderError, ReaderFileNotFoundError

__all__ = [
    "FilenamePattern",
    "load_sidecar",
    "sidecar_lookup",
    "clean_header_meta",
    "ORDER_FIELDS",
    "order_value",
    "state_rank",
    "STATE_ORDER",
]

#: Metadata fields that order spectra within a cell, in priority order.
ORDER_FIELDS = ("cycle", "time", "soc")

_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([dfs]))?\}")
_TYPES = {
    "d": (r"[-+]?\d+", int),
    "f": (r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", float),
    "s": (r".+?", str),
}


class FilenamePattern:
    """A file-name template with typed fields, e.g. ``"{cell}_cycle{cycle:d}"``.

    ``{name}`` matches any text (shortest), ``{name:d}`` an integer, ``{name:f}`` a
    float; ``*`` matches anything and is not captured. The pattern must match the
    whole file name without its extension, or — when it contains ``/`` — the path
    relative to the searched folder without extension.

    Parameters
    ----------
    pattern : str

    Raises
    ------
    InputError
        Invalid pattern (a repeated field name, no field at all).
    """

    def __init__(self, pattern: str):
        self.pattern = str(pattern)
        self.fields: dict[str, type] = {}
        out, pos = [], 0
        for m in _FIELD_RE.finditer(self.pattern):
            out.append(self._literal(self.pattern[pos : m.start()]))
            name, code = m.group(1), m.group(2) or "s"
            if name in self.fields:
                raise InputError(f"field {{{name}}} appears twice in pattern {pattern!r}")
            rx, typ = _TYPES[code]
            self.fields[name] = typ
            out.append(f"(?P<{name}>{rx})")
            pos = m.end()
        out.append(self._literal(self.pattern[pos:]))
        if not self.fields:
            raise InputError(f"pattern {pattern!r} has no {{field}}")
        self._rx = re.compile("".join(out))
        self.uses_path = "/" in self.pattern

    @staticmethod
    def _literal(text: str) -> str:
        if "{" in text or "}" in text:
            raise InputError(f"malformed field in pattern near {text!r} (use {{name}} or {{name:d}})")
        return ".*?".join(re.escape(t) for t in text.split("*"))

    def match(self, name: str) -> dict[str, Any] | None:
        """Typed fields of ``name`` (a stem or relative path without suffix), or None."""
        m = self._rx.fullmatch(name)
        if m is None:
            return None
        return {k: self.fields[k](v) for k, v in m.groupdict().items()}

    def match_path(self, relpath: str) -> dict[str, Any] | None:
        """Match a relative file path (the suffix is removed first)."""
        p = Path(relpath)
        target = p.with_suffix("").as_posix() if self.uses_path else p.stem
        return self.match(target)

    def __repr__(self) -> str:
        return f"FilenamePattern({self.pattern!r})"

    def __reduce__(self):
        return (FilenamePattern, (self.pattern,))


def load_sidecar(path: str | Path):
    """Read a sidecar table (CSV, TSV or Excel) of per-cell or per-file metadata.

    The table needs a ``cell`` or a ``file`` column; other columns (``area`` in cm²,
    ``thickness`` in cm, ``temperature``, ``state``, ...) become metadata fields.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ReaderFileNotFoundError("sidecar table not found", p)
    suf = p.suffix.lower()
    try:
        if suf in (".xlsx", ".xls"):
            df = pd.read_excel(p)
        elif suf in (".tsv", ".tab"):
            df = pd.read_csv(p, sep="\t")
        else:
            df = pd.read_csv(p, sep=None, engine="python")
    except Exception as e:  # pandas raises many types
        raise ReaderError(f"cannot read the sidecar table: {e}", p) from e
    df.columns = [str(c).strip() for c in df.columns]
    if "cell" not in df.columns and "file" not in df.columns:
        raise ReaderError(
            f"a sidecar table needs a 'cell' or a 'file' column; has {list(df.columns)}", p
        )
    for col in ("cell", "file"):
        if col in df.columns:
            df[col] = df[col].astype(str).str.strip()
    return df


def _row_dict(row: Mapping[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k in skip:
            continue
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out[k] = v.item() if hasattr(v, "item") else v
    return out


def sidecar_lookup(df) -> SidecarIndex:
    """Index a sidecar table for fast per-file lookups."""
    return SidecarIndex(df)


class SidecarIndex:
    """Per-cell and per-file metadata from a sidecar table."""

    def __init__(self, df):
        self.by_cell: dict[str, dict] = {}
        self.by_file: dict[str, dict] = {}
        has_file = "file" in df.columns
        for row in df.to_dict("records"):
            if has_file and isinstance(row.get("file"), str) and row["file"] not in ("", "nan"):
                key = row["file"].replace("\\", "/")
                self.by_file[key] = _row_dict(row, ("file",))
            elif "cell" in row:
                self.by_cell[str(row["cell"])] = _row_dict(row, ())

    def for_file(self, relpath: str) -> dict[str, Any]:
        """The sidecar row for a file (by relative path, name or stem)."""
        p = Path(relpath)
        for key in (relpath, p.name, p.stem, p.with_suffix("").as_posix()):
            if key in self.by_file:
                return dict(self.by_file[key])
        return {}

    def for_cell(self, cell: Any) -> dict[str, Any]:
        return dict(self.by_cell.get(str(cell), {}))


_SCALARS = (str, int, float, bool)


def clean_header_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar metadata fields of a spectrum header (arrays and the source path dropped)."""
    out = {}
    for k, v in meta.items():
        if k in ("source", "path", "index"):
            continue
        if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
            v = v.item()
        if v is None or isinstance(v, _SCALARS):
            out[str(k)] = v
    return out


#: Usual words for the state of a cell, in time order (before < after).
STATE_ORDER = ("pristine", "fresh", "initial", "before", "formation", "formed", "after",
               "cycled", "aged", "end", "final")


def state_rank(state: Any) -> float:
    """Position of a ``state`` value in :data:`STATE_ORDER` (NaN if unknown)."""
    if state is None:
        return math.nan
    s = str(state).strip().lower()
    for i, w in enumerate(STATE_ORDER):
        if s == w or s.startswith(w + "_") or s.startswith(w + " "):
            return float(i)
    return math.nan


def order_value(meta: Mapping[str, Any]) -> tuple:
    """Sort key of a spectrum within its cell: state (before < after), cycle, time, SOC."""
    r = state_rank(meta.get("state"))
    key = [(0, r) if math.isfinite(r) else (1, 0.0)]
    for f in ORDER_FIELDS:
        v = meta.get(f)
        try:
            key.append((0, float(v)))
        except (TypeError, ValueError):
            key.append((1, 0.0))
    return tuple(key)
