"""Generic delimited tables: CSV, TSV, whitespace-separated text.

Handles

* a header row with recognisable names (frequency; Z'/Z'' or −Z''; or |Z| and phase),
  possibly after free-text preamble lines;
* header-less numeric files, read by column order ``f, Z', Z''``;
* *long* tables holding several spectra with a spectrum-id column (``spectrum_index``,
  ``indices``, ``loop_index``, ...);
* *wide* tables with one spectrum per row and the frequency in the column names
  (``ZReal_0.1Hz``, ``ZImag_0.1Hz``, ...), other columns becoming metadata;
* *array-cell* tables whose ``freq`` and ``Z`` cells hold whole arrays as text.

Imaginary columns whose sign contradicts their name are negated with an
:class:`~eisfit.errors.EisfitWarning` (``sign_fix="auto"``, default) or only warned
about (``sign_fix="keep"``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ReaderError
from ..spectrum import Spectrum
from ._common import (
    _make,
    build_spectra,
    check_imag_sign,
    decode,
    detect_roles,
    guess_separator,
    has_si_suffix,
    head_text,
    is_number,
    load_text,
    looks_binary,
    read_bytes,
    split_line,
    to_float,
)
from .columns import resolve as resolve_roles

FORMAT = "table"
EXTENSIONS = (".csv", ".tsv", ".txt", ".dat")
OPTIONS = frozenset({"sign_fix", "freq", "z_real", "z_imag", "neg_imag", "frequencies", "columns"})

_WIDE = re.compile(
    r"^(?P<q>z_?re(al)?|z_?im(ag)?|-z_?im(ag)?|z|zmod|\|z\||z_?phase|phase)[ _]?"
    r"(?P<f>[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?)\s*_?hz$",
    re.I,
)


def sniff(head: str | bytes, path: Any = None) -> float:
    """Low score (0.3) for any text that has a table of numbers; the fallback reader."""
    raw = head if isinstance(head, bytes) else head.encode("utf-8", "replace")
    if looks_binary(raw):
        return 0.0
    lines = [ln for ln in head_text(head).splitlines() if ln.strip()][:60]
    sep = guess_separator(lines[-10:]) if lines else None
    numeric = 0
    for ln in lines:
        parts = split_line(ln, sep)
        if len(parts) >= 2 and sum(is_number(p, si=True) for p in parts) >= 2:
            numeric += 1
            if numeric >= 2:  # the score cannot change with more lines
                return 0.3
    if lines:
        first = lines[0]
        sep = "\t" if "\t" in first else ";" if ";" in first else "," if "," in first else None
        names = [n.strip().strip('"') for n in split_line(first, sep)]
        if _wide_columns(names) is not None or detect_roles(names).has_impedance():
            return 0.3
    return 0.0


def _find_data_start(lines: Sequence[str]) -> tuple[int, str | None]:
    """Index of the first numeric line followed by another of the same width (or last)."""
    n = len(lines)
    for k in range(n):
        if not lines[k].strip():
            continue
        window = [ln for ln in lines[k : k + 4] if ln.strip()]
        sep = guess_separator(window)
        parts = split_line(lines[k], sep)
        if len(parts) < 2 or not all(is_number(p, si=True) for p in parts):
            continue
        nxt = next((ln for ln in lines[k + 1 :] if ln.strip()), None)
        if nxt is None:
            return k, sep
        # same width: the same number of delimited fields (a row may end in empty ones,
        # "1000,1.5,-0.5,"), or of whitespace-separated tokens
        width = (lambda ln: len(ln.split(sep))) if sep is not None else (lambda ln: len(ln.split()))
        if width(nxt) == width(lines[k]) and all(is_number(p, si=True)
                                                 for p in split_line(nxt, sep)):
            return k, sep
    return -1, None


def _csv_rows(text: str, sep: str, path: Any) -> list[list[str]]:
    try:
        return [r for r in csv.reader(io.StringIO(text.replace("\x00", "")), delimiter=sep)]
    except csv.Error as exc:
        raise ReaderError(f"malformed delimited text ({exc})", path) from None


def _wide_columns(names: Sequence[str]) -> dict[str, dict[float, int]] | None:
    groups: dict[str, dict[float, int]] = {}
    for k, n in enumerate(names):
        m = _WIDE.match(n.strip())
        if not m:
            continue
        q = m.group("q").lower().replace("_", "")
        key = {
            "zre": "zre",
            "zreal": "zre",
            "zim": "zim",
            "zimag": "zim",
            "-zim": "neg_zim",
            "-zimag": "neg_zim",
            "z": "zmod",
            "zmod": "zmod",
            "|z|": "zmod",
            "zphase": "phase",
            "phase": "phase",
        }.get(q)
        if key:
            groups.setdefault(key, {})[float(m.group("f"))] = k
    ok = ("zre" in groups and ("zim" in groups or "neg_zim" in groups)) or (
        "zmod" in groups and "phase" in groups
    )
    return groups if ok and len(groups.get("zre", groups.get("zmod", {}))) >= 2 else None


def _load_frequencies(frequencies: Any, path: Any) -> np.ndarray:
    if isinstance(frequencies, (str, Path)):
        raw = read_bytes(frequencies)
        vals = [t for t in decode(raw).replace(",", " ").split() if t]
        if not vals or not all(is_number(v) for v in vals):
            raise ReaderError("expected one number per line", frequencies)
        return np.array([float(v) for v in vals])
    return np.asarray(frequencies, dtype=float).ravel()


def _read_wide(
    rows, names, groups, path, fmt, meta, sign_fix, first_line, frequencies=None
) -> list[Spectrum]:
    a_key = "zre" if "zre" in groups else "zmod"
    im_key = ("neg_zim" if "neg_zim" in groups else "zim") if a_key == "zre" else "phase"
    # keep the file's column order
    freqs = [
        f for f, _ in sorted(groups[a_key].items(), key=lambda kv: kv[1]) if f in groups[im_key]
    ]
    cols_a = [groups[a_key][f] for f in freqs]
    cols_b = [groups[im_key][f] for f in freqs]
    meta = dict(meta)
    if frequencies is not None:
        fv = _load_frequencies(frequencies, path)
        if fv.size != len(freqs):
            raise ReaderError(
                f"{fv.size} frequencies given for {len(freqs)} impedance columns",
                path,
                first_line - 1,
            )
        freqs = list(fv)
        meta["freq_source"] = "given"
    else:
        meta["freq_source"] = "column names"
    used = set(cols_a) | set(cols_b) | {k for g in groups.values() for k in g.values()}
    other = [k for k in range(len(names)) if k not in used]
    width = len(names)
    A, B, metas = [], [], []
    for r, row in enumerate(rows):
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            raise ReaderError(f"expected {width} fields, found {len(row)}", path, first_line + r)
        try:
            A.append([float(row[k]) if row[k].strip() else np.nan for k in cols_a])
            B.append([float(row[k]) if row[k].strip() else np.nan for k in cols_b])
        except ValueError:
            raise ReaderError(
                "expected numbers in impedance columns", path, first_line + r
            ) from None
        m = {}
        for k in other:
            key = names[k].strip() or f"column{k}"
            v = row[k].strip()
            m[key] = float(v) if is_number(v) else v
            if key.lower() in ("cycle", "cycle number", "cycle_number") and is_number(v):
                m["cycle"] = int(float(v)) if float(v).is_integer() else float(v)
        metas.append(m)
    if not A:
        raise ReaderError("no data rows", path, first_line)
    f = np.array(freqs)
    a, b = np.array(A), np.array(B)
    flipped = False
    if im_key == "phase":
        Z = a * np.exp(1j * np.deg2rad(b))
    else:
        b = -b if im_key == "neg_zim" else b
        b_flat, flipped = check_imag_sign(
            b.ravel(), path, names[cols_b[0]], declared_negated=im_key == "neg_zim", fix=sign_fix
        )
        Z = a + 1j * b_flat.reshape(b.shape)
    out = []
    for k in range(Z.shape[0]):
        m = {**meta, **metas[k], "source": str(path), "format": fmt, "index": k, "layout": "wide"}
        if flipped:
            m["imag_sign_flipped"] = True
        out.append(_make(f, Z[k], m, path))
    return out


def _parse_array_cell(cell: str, kind: type) -> np.ndarray:
    body = cell.strip().strip("[]").replace("\n", " ")
    toks = [t for t in re.split(r"[,\s]+(?![^()]*\))", body) if t]
    toks = [t.replace(" ", "") for t in toks]
    # complex numbers may be split like "1.8 -0.05j": re-join sign-led imaginary parts
    joined: list[str] = []
    for t in toks:
        if (
            kind is complex
            and joined
            and t.endswith("j")
            and t[0] in "+-"
            and not joined[-1].endswith("j")
        ):
            joined[-1] += t
        else:
            joined.append(t)
    return np.array([kind(t) for t in joined])


def _read_array_cells(rows, names, path, fmt, meta, first_line) -> list[Spectrum] | None:
    low = [n.strip().lower() for n in names]
    if "freq" not in low or "z" not in low:
        return None
    fi, zi = low.index("freq"), low.index("z")
    out = []
    for r, row in enumerate(rows):
        if len(row) <= max(fi, zi) or not row[fi].strip().startswith("["):
            if not any(c.strip() for c in row):
                continue
            return None if r == 0 else _bad(path, first_line + r)
        try:
            f = _parse_array_cell(row[fi], float)
            z = _parse_array_cell(row[zi], complex)
        except (ValueError, OverflowError):
            _bad(path, first_line + r)
        if f.size != z.size:
            raise ReaderError(
                f"freq and Z arrays differ in length ({f.size} vs {z.size})", path, first_line + r
            )
        m = {**meta, "source": str(path), "format": fmt, "index": len(out), "layout": "array-cells"}
        for k, n in enumerate(names):
            if k not in (fi, zi) and k < len(row) and n.strip():
                m[n.strip()] = row[k]
        out.append(_make(f, z, m, path))
    return out or None


def _bad(path, line):
    raise ReaderError("expected '[...]' arrays in the freq and Z cells", path, line)


def from_columns(
    names: Sequence[str] | None,
    table: np.ndarray,
    path: Any,
    fmt: str,
    meta: dict | None = None,
    *,
    sign_fix: str = "auto",
    line: int | None = None,
    columns: dict | None = None,
    freq: str | None = None,
    z_real: str | None = None,
    z_imag: str | None = None,
    neg_imag: bool | None = None,
) -> list[Spectrum]:
    """Spectra from a numeric table: roles from ``columns=``, the header and the values.

    ``freq``/``z_real``/``z_imag``/``neg_imag`` (header names) are the older spelling of
    ``columns={"freq": ..., "z_real": ..., ...}``; see :func:`.columns.resolve`.
    """
    if any(v is not None for v in (freq, z_real, z_imag)):
        columns = dict(columns or {})
        for key, v in (("freq", freq), ("z_real", z_real), ("z_imag", z_imag)):
            if v is not None:
                columns.setdefault(key, v)
        if neg_imag is not None:
            columns.setdefault("neg_imag", neg_imag)
        if names:
            named = detect_roles(names).index
            for key, role in (("freq", "freq"), ("z_real", "zre")):
                if key not in columns and role in named:
                    columns[key] = named[role]
            if "z_imag" not in columns and ("zim" in named or "neg_zim" in named):
                columns["z_imag"] = named.get("zim", named.get("neg_zim"))
                columns.setdefault("neg_imag", "neg_zim" in named)
    elif neg_imag is not None and names:
        named = detect_roles(names).index
        if "freq" in named and "zre" in named and ("zim" in named or "neg_zim" in named):
            columns = {
                "freq": named["freq"],
                "z_real": named["zre"],
                "z_imag": named.get("zim", named.get("neg_zim")),
                "neg_imag": neg_imag,
                **(columns or {}),
            }
    roles = resolve_roles(table, names, path, columns=columns, line=line)
    return build_spectra(table, roles, path, fmt, meta, sign_fix=sign_fix, line=line)


def read_text(
    path: Any,
    text: str,
    fmt: str = FORMAT,
    meta: dict | None = None,
    *,
    sign_fix: str = "auto",
    **options: Any,
) -> list[Spectrum]:
    """Parse table text (shared by the instrument modules that are plain tables)."""
    lines = text.splitlines()
    meta = dict(meta or {})
    d, sep = _find_data_start(lines)
    hdr = None
    if d > 0:
        hdr = next((k for k in range(d - 1, -1, -1) if lines[k].strip()), None)
    elif d < 0:
        # no two numeric lines: maybe a wide/array-cell table with text cells
        hdr = next((k for k, ln in enumerate(lines) if ln.strip()), None)
        if hdr is None:
            raise ReaderError("empty file: expected a table of numbers", path)
        sep = guess_separator(lines[hdr : hdr + 5]) or ","
    names: list[str] = []
    if hdr is not None:
        if sep is None:
            names = lines[hdr].split()
        else:
            names = next(csv.reader([lines[hdr]], delimiter=sep), [])
            names = [n.strip() for n in names]
        while names and names[-1] == "":
            names.pop()
        groups = _wide_columns(names)
        if groups is not None or (d < 0 and sep is not None):
            body = "\n".join(lines[hdr + 1 :])
            rows = _csv_rows(body, sep or ",", path)
            if groups is not None:
                return _read_wide(
                    rows,
                    names,
                    groups,
                    path,
                    fmt,
                    meta,
                    sign_fix,
                    hdr + 2,
                    options.get("frequencies"),
                )
            got = _read_array_cells(rows, names, path, fmt, meta, hdr + 2)
            if got is not None:
                return got
        if d < 0:
            raise ReaderError(
                "expected rows of numbers (frequency and impedance); found none", path, hdr + 1
            )
    first = lines[d]
    width = len(split_line(first, sep))
    decimal_comma = sep != "," and "," in first and "." not in first
    rows: list[list[float]] = []
    si = False
    table = _plain_table(lines[d:], sep, width)
    for k in range(d, len(lines) if table is None else d):
        ln = lines[k]
        if not ln.strip():
            continue
        parts = split_line(ln, sep)
        if len(parts) < width and sep is not None and len(parts) >= 2:
            parts = parts + [""] * (width - len(parts))  # trailing empty fields
        if len(parts) < width or not all(is_number(p, si=True) or p == "" for p in parts[:width]):
            if all(not x.strip() for x in lines[k:]):
                break
            raise ReaderError(
                f"expected {width} numeric fields like the rows above, found {ln.strip()[:60]!r}"
                f" ({next((p for p in parts if not is_number(p, si=True)), '')[:20]!r} is not a "
                "number)",
                path,
                k + 1,
            )
        si = si or any(has_si_suffix(p) for p in parts[:width])
        rows.append([to_float(p, decimal_comma) for p in parts[:width]])
    if table is None:
        table = np.array(rows, dtype=float)
    if si:
        meta["si_suffixes"] = True
    if hdr is not None and any(re.search(r"[A-Za-z]", n) for n in names):
        if len(names) > width:
            names = names[:width]
        return from_columns(
            names, table, path, fmt, meta, sign_fix=sign_fix, line=hdr + 1, **_col_opts(options)
        )
    return from_columns(
        None, table, path, fmt, meta, sign_fix=sign_fix, line=d + 1, **_col_opts(options)
    )


_PLAIN_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _plain_table(lines: Sequence[str], sep: str | None, width: int) -> np.ndarray | None:
    """The data rows as one array when every one is ``width`` plain numbers (decimal
    point, no SI suffix, no empty field) split by ``sep``, checked by one pattern over
    the whole block; ``None`` sends the rows through the field-by-field parser, which
    handles (and names the line of) everything else."""
    body = "\n".join(ln for ln in lines if ln.strip())
    gap = r"[ \t]+" if sep is None else r"[ \t]*" + re.escape(sep) + r"[ \t]*"
    row = r"[ \t]*" + _PLAIN_NUMBER + (r"(?:" + gap + _PLAIN_NUMBER + r")" + f"{{{width - 1}}}"
                                        if width > 1 else "") + r"[ \t]*"
    if width < 1 or not re.fullmatch(row + r"(?:\n" + row + r")*", body):
        return None
    tokens = body.split() if sep is None else body.replace(sep, " ").split()
    return np.array(tokens, dtype=float).reshape(-1, width)


def _col_opts(options: dict) -> dict:
    keys = ("freq", "z_real", "z_imag", "neg_imag", "columns")
    return {k: options[k] for k in keys if k in options}


def read(path: str | Path, *, sign_fix: str = "auto", **options: Any) -> list[Spectrum]:
    """Read a delimited text table (see module docstring)."""
    return read_text(path, load_text(path, "a text table"), FORMAT, sign_fix=sign_fix, **options)
