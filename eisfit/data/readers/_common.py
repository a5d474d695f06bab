"""Shared helpers for the readers: decoding, number parsing, column roles, splitting.

Everything here raises :class:`~eisfit.errors.ReaderError` (never another exception)
for malformed input, so the format modules can stay short.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import EisfitWarning, ReaderError, ReaderFileNotFoundError
from ..spectrum import Spectrum

__all__ = [
    "HEAD_BYTES",
    "read_bytes",
    "decode",
    "to_float",
    "parse_block",
    "parse_rows",
    "Roles",
    "detect_roles",
    "build_spectra",
    "require_impedance",
    "split_points",
    "check_imag_sign",
]

HEAD_BYTES = 4096


def read_bytes(path: str | Path) -> bytes:
    """Read a whole file, turning OS errors into :class:`ReaderError`."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ReaderError("is a directory, expected a file", p)
        return p.read_bytes()
    except ReaderError:
        raise
    except FileNotFoundError as exc:
        raise ReaderFileNotFoundError(f"cannot open file ({exc.strerror or exc})", p) from None
    except OSError as exc:
        raise ReaderError(f"cannot open file ({exc.strerror or exc})", p) from None


def decode(raw: bytes) -> str:
    """Decode text bytes: BOM-aware UTF-8/UTF-16, else UTF-8, else Latin-1 (never fails)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace").lstrip("\ufeff")
    # UTF-16 without BOM: every other byte zero in the ASCII range
    if len(raw) >= 4 and raw[1:40:2].count(0) > 15 and raw[0:40:2].count(0) == 0:
        return raw.decode("utf-16-le", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def head_text(head: str | bytes) -> str:
    """Sniffing helper: the head of a file as text."""
    return head if isinstance(head, str) else decode(head)


def looks_binary(raw: bytes) -> bool:
    """True when a text reader should refuse the bytes outright (NUL bytes in plain text)."""
    sample = raw[:HEAD_BYTES]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(sample) >= 4 and sample[1:40:2].count(0) > 15
    ):
        return False
    return b"\x00" in sample


_NUM_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
# a number with an SI prefix as unit suffix, as Zahner's tools print them ("735.948m")
_SI_RE = re.compile(r"^([+-]?(\d+([.,]\d*)?|[.,]\d+))\s?([pnuµmkMG])$")
_SI = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}


def load_text(path: str | Path, expected: str) -> str:
    """The decoded text of a file, or a :class:`ReaderError` saying it is binary, not ``expected``."""
    raw = read_bytes(path)
    if looks_binary(raw):
        raise ReaderError(f"binary content, expected {expected}", path, 1)
    return decode(raw)


def to_float(token: str, decimal_comma: bool = False) -> float:
    """Parse one number (``ValueError`` if it is not one).

    ``1,5`` with ``decimal_comma``; an SI-prefix suffix scales the value
    (``735.948m`` = 0.735948, ``3.588k`` = 3588); an empty field is NaN.
    """
    t = token.strip()
    if not t:
        return math.nan
    if decimal_comma:
        t = t.replace(",", ".")
    m = _SI_RE.match(t)
    if m:
        return float(m.group(1).replace(",", ".")) * _SI[m.group(4)]
    return float(t)


def has_si_suffix(token: str) -> bool:
    """True for a number written with an SI-prefix suffix (``735.948m``)."""
    return bool(_SI_RE.match(token.strip()))


def is_number(token: str, si: bool = False) -> bool:
    """True when ``token`` is a number (with ``si``, also ``735.948m``-style values)."""
    t = token.strip()
    if not t:
        return False
    if _NUM_RE.match(t) or (si and _SI_RE.match(t)):
        return True
    return t.lower() in {"nan", "inf", "-inf", "+inf"}


def guess_separator(lines: Sequence[str]) -> str | None:
    """The most plausible field separator of data lines: tab, ';', ',' or whitespace (None)."""
    sample = [ln for ln in lines if ln.strip()][:20]
    if not sample:
        return None
    for sep in ("\t", ";"):
        counts = [ln.count(sep) for ln in sample]
        if min(counts) > 0:
            return sep
    if all("," in ln for ln in sample):
        # "1,5 2,5" (decimal comma, whitespace separated) vs "1.5,2.5"
        if all(len(ln.split()) > 1 for ln in sample) and not any("." in ln for ln in sample):
            return None
        return ","
    return None


def split_line(line: str, sep: str | None) -> list[str]:
    parts = line.split() if sep is None else line.split(sep)
    if sep is not None:
        parts = [p.strip() for p in parts]
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def parse_block(
    lines: Sequence[str],
    path: Any,
    first_line: int,
    sep: str | None,
    ncols: int | None = None,
    decimal_comma: bool = False,
    stop_at_text: bool = False,
) -> np.ndarray:
    """Parse numeric rows into a 2-D float array.

    Parameters
    ----------
    lines : sequence of str
        Data lines (blank lines are skipped).
    path : path-like
        For error messages.
    first_line : int
        1-based file line number of ``lines[0]``.
    sep : str or None
        Field separator (None = whitespace).
    ncols : int, optional
        Expected number of fields (rows may have more; extra fields are ignored).
    decimal_comma : bool
        Numbers use ``,`` as decimal mark.
    stop_at_text : bool
        End the block at the first non-numeric line instead of raising.
    """
    rows: list[list[str]] = []
    width = ncols
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        parts = split_line(line, sep)
        if width is None:
            width = len(parts)
        if len(parts) < width or not all(is_number(p) for p in parts[:width]):
            if stop_at_text:
                break
            bad = next((p for p in parts[:width] if not is_number(p)), None)
            what = (
                f"expected {width} numeric fields, found {len(parts)}"
                if bad is None
                else f"expected a number, found {bad[:40]!r}"
            )
            raise ReaderError(what, path, first_line + k)
        rows.append(parts[:width])
    if not rows:
        raise ReaderError("no numeric data rows found", path, first_line)
    try:
        flat = [t.replace(",", ".") if decimal_comma else t for r in rows for t in r]
        arr = np.array(flat, dtype=float).reshape(len(rows), width)
    except (ValueError, OverflowError):  # pragma: no cover - guarded by is_number
        raise ReaderError("malformed number in data block", path, first_line) from None
    return arr


def parse_rows(
    lines: Sequence[str],
    path: Any,
    first_line: int,
    sep: str | None,
    decimal_comma: bool = False,
    width: int | None = None,
) -> np.ndarray:
    """Numeric rows into a float array; empty fields (and missing trailing ones) are NaN.

    The width is ``width`` or the largest number of fields of any row; a field that is
    present but not a number raises :class:`ReaderError` with its line.
    """
    rows: list[list[str]] = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        parts = line.rstrip("\r\n").split(sep) if sep is not None else line.split()
        parts = [p.strip() for p in parts]
        while parts and parts[-1] == "":
            parts.pop()
        bad = next((p for p in parts if p and not is_number(p)), None)
        if bad is not None:
            raise ReaderError(f"expected a number, found {bad[:40]!r}", path, first_line + k)
        rows.append(parts)
    if not rows:
        raise ReaderError("no numeric data rows found", path, first_line)
    w = width or max(len(r) for r in rows)
    out = np.full((len(rows), w), np.nan)
    for i, r in enumerate(rows):
        for j, tok in enumerate(r[:w]):
            if tok:
                out[i, j] = to_float(tok, decimal_comma)
    return out


# --------------------------------------------------------------------------------------
# column roles
# --------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    s = name.strip().lower()
    if len(s) > 1 and s[0] == s[-1] == '"':
        s = s[1:-1]
    s = s.replace("\u2033", "''").replace("\u2032", "'").replace('"', "''").replace("\u2019", "'")
    s = s.replace("\u03c9", "ohm").replace("_", " ")
    return re.sub(r"\s+", " ", s).strip()


_END = r"\s*(/|\(|\[|$|ohm\b|hz\b|deg\b|rad\b|°)"
_IM = (
    r"(im\s*\(?z\)?|z\s*''|zim(ag|g)?|z\s*imag(inary)?|imag(inary)?( impedances?)?|z double prime)"
)
_ROLE_PATTERNS: list[tuple[str, re.Pattern]] = [
    # order matters: the first matching role wins for a column
    ("neg_zim", re.compile(r"^(-|minus )\s*" + _IM + _END)),
    ("neg_zre", re.compile(r"^(-|minus )\s*(re\s*\(?z\)?|z\s*'(?!')|zre(al)?|z\s*real)" + _END)),
    ("zim", re.compile(r"^" + _IM + _END)),
    (
        "zre",
        re.compile(
            r"^(re\s*\(?z\)?|z\s*'(?!')|zre(al)?|z\s*real|real( impedances?)?|z prime)" + _END
        ),
    ),
    ("neg_phase", re.compile(r"^-\s*(phase|theta|phi)" + r"\s*(\(z\))?" + _END)),
    ("phase", re.compile(r"^(phase|theta|phi|zphz|z\s*phase|phases)\s*(\(z\))?" + _END)),
    ("zcycle", re.compile(r"^z cycle\s*$")),
    (
        "zmod",
        re.compile(
            r"^(\|z\||mod\s*\(?z\)?|zmod|z\s*mod(ulus)?|z|z abs|abs\s*\(z\)|impedance|"
            r"\|impedance\|)" + _END
        ),
    ),
    ("freq", re.compile(r"^(freq|frequency|frequencies|f)" + _END)),
    ("time", re.compile(r"^(time|elapsed time|t)\s*(/|\(|\[|$)")),
    ("ewe", re.compile(r"^(<?ewe>?|e|potential|vdc|<?ecell>?|voltage)\s*(/|\(|\[|$)")),
    ("current", re.compile(r"^(<?i>?|current|idc)\s*(/|\(|\[|$)")),
    ("cycle", re.compile(r"^(cycle number|cycle|cycle no)\s*$")),
    ("loop", re.compile(r"^(loop|loop index)\s*$")),
    ("temperature", re.compile(r"^(temp|temperature)\s*(/|\(|\[|$)|^t\s*/\s*(°c|c|k)\s*$")),
    (
        "spectrum_id",
        re.compile(
            r"^(spectrum( index| id| idx| no| nr| number)?|indices|series idx|sweep|measurement)"
            r"\s*$"
        ),
    ),
]


@dataclass
class Roles:
    """Column index for each recognised quantity (``None`` if absent).

    ``source`` says how the roles were established (``"names"``, ``"names+content"``,
    ``"content"``, ``"order"``, ``"option"``); ``extra`` lists unnamed numeric columns
    kept as metadata; ``sign_confirmed`` / ``phase_contradicts`` record what a phase
    column says about the sign of the named Z'' column.
    """

    index: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    phase_rad: bool = False
    current_mA: bool = False
    source: str = "names"
    notes: list[str] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    sign_confirmed: bool = False
    phase_contradicts: bool = False

    def get(self, role: str) -> int | None:
        return self.index.get(role)

    def has_impedance(self) -> bool:
        i = self.index
        return "freq" in i and (
            (("zre" in i or "neg_zre" in i) and ("zim" in i or "neg_zim" in i))
            or ("zmod" in i and ("phase" in i or "neg_phase" in i))
        )


def detect_roles(names: Sequence[str]) -> Roles:
    """Assign quantities (freq, zre, zim/neg_zim, zmod, phase, time, ...) to column names."""
    roles = Roles(names=list(names))
    for k, raw in enumerate(names):
        n = _norm(raw)
        if not n:
            continue
        for role, pat in _ROLE_PATTERNS:
            if pat.search(n):
                if "(y)" in n or "|y|" in n or "ohm-1" in n:
                    break  # admittance columns
                if role not in roles.index:
                    roles.index[role] = k
                    if role in ("phase", "neg_phase") and "rad" in n:
                        roles.phase_rad = True
                    if role == "current" and re.search(r"\bma\b", n):
                        roles.current_mA = True
                break
    # a plain 'z' column with separate real/imag columns is the modulus
    return roles


# --------------------------------------------------------------------------------------
# building spectra
# --------------------------------------------------------------------------------------
def check_imag_sign(
    z_imag: np.ndarray, path: Any, label: str, *, declared_negated: bool, fix: str = "auto"
) -> tuple[np.ndarray, bool]:
    """Detect an imaginary column whose sign convention contradicts its header.

    A column labelled Z'' (or −Z'') whose values mostly have the sign expected of the
    *other* convention (more than 80 % of non-zero values, at least 5 points) is almost
    certainly mislabelled: with ``fix="auto"`` the values are negated and an
    :class:`EisfitWarning` says so; with ``fix="keep"`` only the warning is given.

    Returns
    -------
    (z_imag, flipped)
    """
    nz = z_imag[np.isfinite(z_imag) & (z_imag != 0)]
    if nz.size < 5:
        return z_imag, False
    frac_pos = float(np.mean(nz > 0))
    if frac_pos > 0.8:
        held, meant = ("Z''", "−Z''") if declared_negated else ("−Z''", "Z''")
        msg = (
            f"{path}: column {label!r} (read as {meant}) gives Z'' > 0 at {frac_pos:.0%} of "
            f"the points; capacitive impedance has Z'' < 0, so it looks like it holds {held}"
        )
        if fix == "keep":
            warnings.warn(msg + "; kept as read (sign_fix='keep')", EisfitWarning, stacklevel=3)
            return z_imag, False
        warnings.warn(
            msg + "; negated. Pass sign_fix='keep' to keep it.", EisfitWarning, stacklevel=3
        )
        return -z_imag, True
    return z_imag, False


def split_points(freq: np.ndarray, *labels: np.ndarray | None) -> list[np.ndarray]:
    """Indices of each spectrum: wherever any label column changes, then at sweep restarts."""
    n = freq.size
    change = np.zeros(max(n - 1, 0), bool)
    for lab in labels:
        if lab is None or lab.size != n:
            continue
        lab = np.asarray(lab, float)
        if np.unique(lab[np.isfinite(lab)]).size > 1:
            change |= np.diff(lab) != 0
    cuts = np.flatnonzero(change) + 1
    out = []
    for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), n]):
        out.extend(a + idx for idx in split_sweeps(freq[a:b]))
    return out


def split_sweeps(freq: np.ndarray) -> list[np.ndarray]:
    """Split a frequency sequence where a monotonic sweep restarts (jump back by > 1 decade)."""
    n = freq.size
    if n < 4:
        return [np.arange(n)]
    with np.errstate(divide="ignore", invalid="ignore"):
        lf = np.log10(np.where(freq > 0, freq, np.nan))
    d = np.diff(lf)
    good = np.isfinite(d)
    if not good.any():
        return [np.arange(n)]
    direction = np.sign(np.nansum(np.sign(d[good])))
    if direction == 0:
        return [np.arange(n)]
    jumps = np.flatnonzero(good & (np.sign(d) == -direction) & (np.abs(d) > 1.0)) + 1
    bounds = [0, *jumps.tolist(), n]
    return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _scalar_meta(values: np.ndarray) -> float | None:
    v = values[np.isfinite(values)]
    return float(np.median(v)) if v.size else None


def require_impedance(roles: Roles, path: Any, line: int | None = None) -> None:
    """Raise :class:`ReaderError` unless the columns give frequency and impedance."""
    if roles.has_impedance():
        return
    have = ", ".join(repr(n) for n in roles.names[:20]) or "none"
    missing = (
        "frequency column (e.g. 'freq/Hz')"
        if "freq" not in roles.index
        else ("impedance columns (Z'/Z'' or -Z'', or |Z| and phase)")
    )
    raise ReaderError(f"expected a {missing}; found columns: {have}", path, line)


_TIME_FORMATS = (
    "%m/%d/%Y %H:%M:%S.%f",  # EC-Lab (US locale), Gamry with fractional seconds
    "%m/%d/%Y %H:%M:%S",
    "%m-%d-%Y %H:%M:%S",  # ZPlot
    "%A, %B %d, %Y %I:%M:%S %p",  # VersaStudio DateAcquired + TimeAcquired
    "%b. %d, %Y %H:%M:%S",  # CH Instruments
    "%b %d, %Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)


def parse_timestamp(text: str) -> str | None:
    """ISO 8601 form of an instrument's date/time text, or None if no known layout fits.

    >>> parse_timestamp("02/04/2018 10:02:46")
    '2018-02-04T10:02:46'
    """
    from datetime import datetime

    t = " ".join(str(text).split())
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(t, fmt).isoformat()
        except ValueError:
            continue
    return None


def build_spectra(
    table: np.ndarray,
    roles: Roles,
    path: Any,
    fmt: str,
    meta: Mapping[str, Any] | None = None,
    *,
    sign_fix: str = "auto",
    split: bool = True,
    line: int | None = None,
) -> list[Spectrum]:
    """Turn a numeric table with detected column roles into spectra.

    Raises :class:`ReaderError` when the columns needed for impedance are missing.
    """
    require_impedance(roles, path, line)
    ix = roles.index
    ncol = table.shape[1]
    if any(v >= ncol for v in ix.values()):
        raise ReaderError("data rows have fewer fields than the header", path, line)
    f = table[:, ix["freq"]]
    flipped = real_flipped = False
    if ("zre" in ix or "neg_zre" in ix) and ("zim" in ix or "neg_zim" in ix):
        neg = "neg_zim" in ix
        col = ix["neg_zim"] if neg else ix["zim"]
        zi = table[:, col]
        zi = -zi if neg else zi
        label = roles.names[col] if col < len(roles.names) else f"column{col}"
        if roles.phase_contradicts:
            msg = (
                f"{path}: the phase column says the sign of column {label!r} is the opposite "
                "of what its name says"
            )
            if sign_fix == "keep":
                warnings.warn(
                    msg + "; kept as named (sign_fix='keep')", EisfitWarning, stacklevel=3
                )
            else:
                warnings.warn(
                    msg + "; negated. Pass sign_fix='keep' to keep it.", EisfitWarning, stacklevel=3
                )
                zi, flipped = -zi, True
        elif not roles.sign_confirmed:
            zi, flipped = check_imag_sign(zi, path, label, declared_negated=neg, fix=sign_fix)
        zr = table[:, ix["zre"] if "zre" in ix else ix["neg_zre"]]
        if "neg_zre" in ix:
            zr = -zr
            if np.mean(zr[np.isfinite(zr)] < 0) > 0.8 and sign_fix != "keep":
                # a passive cell has Re Z >= 0: the column holds Z', not -Z'
                warnings.warn(
                    f"{path}: column {roles.names[ix['neg_zre']]!r} read as -Z' gives Re Z < 0 "
                    "at most points; a passive cell has Re Z >= 0, so it holds Z'; negated back",
                    EisfitWarning,
                    stacklevel=3,
                )
                zr, real_flipped = -zr, True
        z = zr + 1j * zi
    else:
        neg = "neg_phase" in ix
        ph = table[:, ix["neg_phase"] if neg else ix["phase"]]
        ph = -ph if neg else ph
        ph = ph if roles.phase_rad else np.deg2rad(ph)
        z = table[:, ix["zmod"]] * np.exp(1j * ph)
    # rows with f = 0 and Z = 0 are DC/end-of-loop records (Parstat, EC-Lab loops), not data
    marker = (f == 0) & (z == 0)
    n_marker = int(marker.sum())
    if n_marker:
        keep = ~marker
        table, f, z = table[keep], f[keep], z[keep]
    labels = [
        table[:, ix[r]] if r in ix else None
        for r in ("spectrum_id", "step", "loop", "zcycle", "cycle")
    ]
    groups = split_points(f, *labels) if split else [np.arange(f.size)]
    out = []
    base = dict(meta or {})
    if "acquisition_start" in base and "timestamp" not in base:
        ts = parse_timestamp(base["acquisition_start"])
        if ts:
            base["timestamp"] = ts
    base.setdefault("source", str(path))
    base["format"] = fmt
    if flipped:
        base["imag_sign_flipped"] = True
    if real_flipped:
        base["real_sign_flipped"] = True
    if roles.source != "names":
        from .columns import describe

        base["roles_from"] = roles.source
        base["column_roles"] = describe(roles)
        if roles.source == "order":
            base["columns_by_order"] = True
    if n_marker:
        base["marker_rows_skipped"] = n_marker
    if f.size == 0:
        raise ReaderError("no impedance rows (only DC or marker rows with f = 0)", path, line)
    for k, idx in enumerate(groups):
        m = dict(base)
        m["index"] = k
        for role, key in (
            ("spectrum_id", "spectrum_id"),
            ("step", "step"),
            ("loop", "loop"),
            ("zcycle", "z_cycle"),
            ("cycle", "cycle"),
        ):
            if role in ix:
                v = _scalar_meta(table[idx, ix[role]])
                if v is not None and math.isfinite(v):
                    m[key] = int(v) if float(v).is_integer() else v
        if "time" in ix:
            t = table[idx, ix["time"]]
            t = t[np.isfinite(t)]
            if t.size:
                m["time_start"], m["time_end"] = float(t.min()), float(t.max())
        if "ewe" in ix:
            v = _scalar_meta(table[idx, ix["ewe"]])
            if v is not None:
                m.setdefault("E_dc", v)
        if "current" in ix:
            v = _scalar_meta(table[idx, ix["current"]])
            if v is not None:
                m.setdefault("I_dc", v / 1000 if roles.current_mA else v)
        if "temperature" in ix:
            v = _scalar_meta(table[idx, ix["temperature"]])
            if v is not None:
                m.setdefault("temperature", v)
        for k in roles.extra:
            name = roles.names[k] if k < len(roles.names) and roles.names[k] else f"column{k}"
            v = _scalar_meta(table[idx, k])
            if v is not None:
                m.setdefault(name, v)
        out.append(_make(f[idx], z[idx], m, path))
    return out


def _make(f: np.ndarray, z: np.ndarray, meta: dict, path: Any) -> Spectrum:
    bad = ~(np.isfinite(f) & np.isfinite(z.real) & np.isfinite(z.imag)) | (f <= 0)
    if bad.any():
        warnings.warn(
            f"{path}: dropped {int(bad.sum())} row(s) with missing, non-finite or non-positive "
            "frequency/impedance",
            EisfitWarning,
            stacklevel=4,
        )
        f, z = f[~bad], z[~bad]
    if f.size == 0:
        raise ReaderError("no valid impedance points (all rows missing or f <= 0)", path)
    if np.unique(f).size != f.size:
        warnings.warn(
            f"{path}: {f.size - np.unique(f).size} duplicate frequency value(s); kept as measured",
            EisfitWarning,
            stacklevel=4,
        )
    return Spectrum(f, z, meta=meta, _checked=True)
