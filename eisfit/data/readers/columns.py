"""Column roles from the header *and* the values: the one detector every table reader uses.

A column name is a claim; the numbers are evidence. :func:`resolve` combines both:

* **frequency**: positive, monotone and roughly log-spaced within each sweep; a sweep
  restarts where the frequency jumps back (several sweeps in one table);
* **impedance pair**: a column equal to ``hypot(a, b)`` confirms that ``a`` and ``b``
  are Z′ and ±Z″ (|Z|); a column equal to ``atan2(±b, a)`` in degrees or radians
  confirms which is the real part *and* the sign of the imaginary one (phase);
* **time**: non-decreasing over the whole table, not log-spaced; **cycle/loop**: small
  integers, non-decreasing and piecewise constant; any other numeric column is kept as
  metadata.

Names that the values contradict (a "|Z|" column that is not ``hypot(Z', Z'')``, a
header with one name fewer than the rows have fields, ...) are not trusted. When the
roles cannot be established a :class:`~eisfit.errors.ReaderError` lists the candidate
columns and the ``columns=`` option that settles it, e.g.
``columns={"freq": 2, "z_real": 3, "z_imag": 4, "neg_imag": True}``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...errors import EisfitWarning, ReaderError
from ._common import Roles, detect_roles

__all__ = ["resolve", "OPTION_KEYS", "is_frequency", "describe"]

# ``columns=`` keys -> internal role names
_OPTION_ROLES = {
    "freq": "freq",
    "z_real": "zre",
    "z_imag": "zim",
    "z_mod": "zmod",
    "phase": "phase",
    "time": "time",
    "cycle": "cycle",
    "loop": "loop",
    "spectrum_id": "spectrum_id",
    "temperature": "temperature",
}
_OPTION_FLAGS = ("neg_imag", "neg_real", "neg_phase", "phase_unit")
OPTION_KEYS = frozenset(_OPTION_ROLES) | frozenset(_OPTION_FLAGS)
_IMPEDANCE_ROLES = ("zre", "neg_zre", "zim", "neg_zim", "zmod", "phase", "neg_phase")
_META_ROLES = ("time", "cycle", "loop", "zcycle", "spectrum_id", "ewe", "current", "temperature")

_SAMPLE = 400  # rows used to screen candidate relations (verified on all rows after)
_MAG_TOL = 1e-3  # relative tolerance |Z| vs hypot(Z', Z'') (4 printed digits)
_DEG_TOL = 0.06  # absolute phase tolerance in degrees (1 printed decimal)
_RAD_TOL = 1e-3
_MATCH = 0.95  # fraction of rows that must satisfy a relation
_MAX_SEARCH = 32  # at most this many columns are searched for relations


# --------------------------------------------------------------------------------------
# column tests
# --------------------------------------------------------------------------------------
def _finite(col: np.ndarray) -> np.ndarray:
    return col[np.isfinite(col)]


def _sweep_bounds(freq: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges of the monotone runs of a positive column (restart = jump back)."""
    lf = np.log10(freq)
    d = np.diff(lf)
    nz = d[d != 0]
    if nz.size == 0:
        return [(0, freq.size)]
    direction = 1.0 if np.sum(nz > 0) >= np.sum(nz < 0) else -1.0
    cuts = np.flatnonzero(d * direction < 0) + 1
    bounds = [0, *cuts.tolist(), freq.size]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def is_frequency(col: np.ndarray) -> bool:
    """True when ``col`` looks like measured frequencies: see the module docstring.

    Every value positive and finite, each sweep strictly monotone in one common
    direction, at least 4 points and more than one decade per sweep on average, at
    most 200 points per decade, and log steps of comparable size.
    """
    v = np.asarray(col, float)
    if v.size < 4 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        return False
    runs = _sweep_bounds(v)
    if v.size / len(runs) < 4:
        return False
    lf = np.log10(v)
    spans, steps = [], []
    for a, b in runs:
        seg = lf[a:b]
        if b - a < 2:
            return False
        d = np.diff(seg)
        if np.any(d == 0) and np.mean(d == 0) > 0.05:
            return False
        spans.append(abs(seg[-1] - seg[0]))
        steps.append(np.abs(d[d != 0]))
    if np.median(spans) < 1.0:
        return False
    if (v.size / len(runs)) / max(np.median(spans), 1e-12) > 200:
        return False
    s = np.concatenate(steps)
    lo, hi = np.percentile(s, [10, 90])
    return bool(lo > 0 and hi / lo < 8)


def _is_time(col: np.ndarray) -> bool:
    v = _finite(col)
    return v.size >= 3 and v.size == col.size and bool(np.all(np.diff(v) >= 0)) and v[-1] > v[0]


def _is_counter(col: np.ndarray) -> bool:
    """Cycle/loop numbers: integers, non-decreasing, piecewise constant."""
    v = _finite(col)
    if v.size < 3 or v.size != col.size or not np.all(v == np.round(v)):
        return False
    d = np.diff(v)
    return bool(np.all(d >= 0) and np.mean(d == 0) >= 0.5)


def _is_row_counter(col: np.ndarray) -> bool:
    """0, 1, 2, ... or 1, 2, 3, ...: a row number, not a measured quantity."""
    return col.size >= 2 and bool(np.all(np.diff(col) == 1)) and col[0] in (0, 1)


def _period_ok(time: np.ndarray, freq: np.ndarray) -> bool:
    """Each point of a sweep takes at least one period: Δtime >= 1/f between points."""
    if not _is_time(time):
        return False
    same = np.ones(freq.size - 1, bool)
    for a, b in _sweep_bounds(freq):
        if a > 0:
            same[a - 1] = False
    dt = np.diff(time)[same]
    per = 1.0 / freq[1:][same]
    return dt.size >= 3 and bool(np.mean(dt >= 0.9 * per) >= _MATCH)


def _drop_time_lookalikes(t: np.ndarray, freq: list[int]) -> list[int]:
    """Of several frequency candidates, drop those that behave as the time of another.

    A measurement at frequency f lasts at least one period, so the time column steps
    by at least 1/f; a frequency column does not step by 1/time. Only a one-sided
    verdict counts.
    """
    time_like = set()
    for a in freq:
        for b in freq:
            if a != b and _period_ok(t[:, a], t[:, b]) and not _period_ok(t[:, b], t[:, a]):
                time_like.add(a)
    left = [k for k in freq if k not in time_like]
    return left if len(left) == 1 else freq


def _rows(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, _SAMPLE)).astype(int))


def _magnitude_ok(t: np.ndarray, a: int, b: int, c: int, rows: Any = slice(None)) -> bool:
    """Column ``c`` equals hypot(a, b), and both are needed for that (not just |a| or |b|)."""
    x, y, m = t[rows, a], t[rows, b], t[rows, c]
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(m) & (m > 0)
    if ok.sum() < 3 or ok.mean() < _MATCH:
        return False
    x, y, m = x[ok], y[ok], m[ok]
    r1 = np.abs(np.hypot(x, y) - m) / m
    if np.mean(r1 <= _MAG_TOL) < _MATCH:
        return False
    for alone in (x, y):  # each of a and b must be needed: neither |a| nor |b| is |Z|
        r0 = np.abs(np.abs(alone) - m) / m
        if not (np.median(r1) * 10 < np.median(r0) or np.mean(r0 <= _MAG_TOL) < _MATCH):
            return False
    return True


def _phase_fit(
    t: np.ndarray, re: int, im: int, p: int, rows: Any = slice(None)
) -> list[tuple[int, str]]:
    """Signs ``s`` and units for which column ``p`` equals atan2(s·im, re)."""
    x, y, ph = t[rows, re], t[rows, im], t[rows, p]
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(ph)
    if ok.sum() < 3 or ok.mean() < _MATCH:
        return []
    x, y, ph = x[ok], y[ok], ph[ok]
    out = []
    for unit, scale, tol in (("deg", 180 / np.pi, _DEG_TOL), ("rad", 1.0, _RAD_TOL)):
        if np.max(np.abs(ph)) <= 10 * tol:  # a phase of ~0 everywhere confirms nothing
            continue
        for s in (1, -1):
            pred = np.arctan2(s * y, x) * scale
            diff = _angle_diff(ph, pred, scale)
            if np.mean(diff <= tol + 1e-3 * np.abs(pred)) >= _MATCH:
                out.append((s, unit))
    return out


def _angle_diff(a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    full = 2 * np.pi * scale
    d = np.abs(a - b) % full
    return np.minimum(d, full - d)


# --------------------------------------------------------------------------------------
# the detector
# --------------------------------------------------------------------------------------
def _label(names: Sequence[str], k: int) -> str:
    n = names[k] if k < len(names) else ""
    return f"{k} ({n!r})" if n and n != f"column{k}" else str(k)


def describe(roles: Roles) -> str:
    """One line naming the column of each role, e.g. ``freq=2, z_real=3, -z_imag=4``."""
    ix = roles.index
    parts = []
    for role, key in (
        ("freq", "freq"),
        ("zre", "z_real"),
        ("neg_zre", "-z_real"),
        ("zim", "z_imag"),
        ("neg_zim", "-z_imag"),
        ("zmod", "|Z|"),
        ("phase", "phase"),
        ("neg_phase", "-phase"),
        ("time", "time"),
        ("cycle", "cycle"),
        ("loop", "loop"),
    ):
        if role in ix:
            unit = " rad" if "phase" in role and roles.phase_rad else ""
            parts.append(f"{key}={ix[role]}{unit}")
    return ", ".join(parts)


def _suggest(freq: list[int], pair: Sequence[int], width: int) -> str:
    f = freq[0] if freq else 0
    rest = [k for k in range(width) if k != f]
    a, b = (list(pair) + rest)[:2] if len(pair) >= 2 else (rest + [1, 2])[:2]
    return f'columns={{"freq": {f}, "z_real": {a}, "z_imag": {b}, "neg_imag": False}}'


def _ambiguous(path: Any, line: Any, why: str, names, freq, cand, width) -> ReaderError:
    lab = [_label(names, k) for k in cand]
    msg = (
        f"cannot establish the column roles from the content: {why}; frequency candidates "
        f"{[_label(names, k) for k in freq] or 'none'}, impedance candidates {lab or 'none'}. "
        f"Pass e.g. {_suggest(freq, cand, width)} (0-based column numbers or header names; "
        "also z_mod=, phase=, phase_unit='rad', neg_phase=True)"
    )
    return ReaderError(msg, path, line)


def _from_option(
    columns: Mapping[str, Any], names: Sequence[str], width: int, path: Any, line: Any
) -> Roles:
    unknown = sorted(set(columns) - OPTION_KEYS)
    if unknown:
        raise ReaderError(
            f"unknown key(s) {unknown} in columns=; known: {sorted(OPTION_KEYS)}", path, line
        )
    roles = Roles(names=list(names) or [f"column{k}" for k in range(width)], source="option")
    for key, role in _OPTION_ROLES.items():
        if columns.get(key) is None:
            continue
        ref = columns[key]
        if isinstance(ref, str):
            if ref not in names:
                raise ReaderError(
                    f"columns={{{key!r}: {ref!r}}}: no such column; have {list(names)}", path, line
                )
            k = list(names).index(ref)
        elif isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
            k = int(ref)
            if not 0 <= k < width:
                raise ReaderError(
                    f"columns={{{key!r}: {k}}}: the table has columns 0..{width - 1}", path, line
                )
        else:
            raise ReaderError(f"columns={{{key!r}: ...}} must be a column number or name", path)
        roles.index[role] = k
    ix = roles.index
    if columns.get("neg_imag") and "zim" in ix:
        ix["neg_zim"] = ix.pop("zim")
    if columns.get("neg_real") and "zre" in ix:
        ix["neg_zre"] = ix.pop("zre")
    if columns.get("neg_phase") and "phase" in ix:
        ix["neg_phase"] = ix.pop("phase")
    unit = columns.get("phase_unit", "deg")
    if unit not in ("deg", "rad"):
        raise ReaderError(f"columns phase_unit must be 'deg' or 'rad', got {unit!r}", path, line)
    roles.phase_rad = unit == "rad"
    if "freq" not in ix or not (
        ({"zre", "neg_zre"} & set(ix) and {"zim", "neg_zim"} & set(ix))
        or ("zmod" in ix and {"phase", "neg_phase"} & set(ix))
    ):
        raise ReaderError(
            "columns= must give 'freq' and either 'z_real' and 'z_imag' or 'z_mod' and 'phase'",
            path,
            line,
        )
    # keep what the header says about the other columns
    if names:
        for role, k in detect_roles(names).index.items():
            if role in _META_ROLES and role not in ix and k not in ix.values():
                ix[role] = k
    return roles


def _candidates(t: np.ndarray, usable: list[int]) -> dict[str, Any]:
    """Relations among ``usable`` columns: |Z| triples and phase orientations.

    Screened on a sample of rows with one vectorised comparison per column pair, then
    verified on every row.
    """
    rows = _rows(t.shape[0])
    s = t[rows]
    fin = np.isfinite(s)
    pos = [k for k in usable if fin[:, k].all() and np.all(s[:, k] > 0)]
    ang = [k for k in usable if fin[:, k].all() and np.max(np.abs(s[:, k])) <= 180 + 1e-6]
    triples: list[tuple[int, int, int]] = []
    oriented: list[tuple[int, int, int, int, str]] = []
    P = s[:, pos] if pos else None
    A = s[:, ang] if ang else None
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for i, a in enumerate(usable):
            for b in usable:
                if b == a:
                    continue
                if P is not None and b > a:
                    h = np.hypot(s[:, a], s[:, b])
                    frac = np.mean(np.abs(h[:, None] - P) <= _MAG_TOL * P, axis=0)
                    for j in np.flatnonzero(frac >= _MATCH):
                        c = pos[j]
                        if c not in (a, b) and _magnitude_ok(t, a, b, c):
                            triples.append((a, b, c))
                if A is None:
                    continue
                for sg in (1, -1):
                    base = np.arctan2(sg * s[:, b], s[:, a])
                    for unit, scale, tol in (
                        ("deg", 180 / np.pi, _DEG_TOL),
                        ("rad", 1.0, _RAD_TOL),
                    ):
                        pred = base * scale
                        d = _angle_diff(A, pred[:, None], scale)
                        frac = np.mean(d <= tol + 1e-3 * np.abs(pred[:, None]), axis=0)
                        for j in np.flatnonzero(frac >= _MATCH):
                            p = ang[j]
                            if p in (a, b):
                                continue
                            if (sg, unit) in _phase_fit(t, a, b, p):
                                oriented.append((a, b, sg, p, unit))
    return {"triples": triples, "oriented": oriented}


def resolve(
    table: np.ndarray,
    names: Sequence[str] | None,
    path: Any,
    *,
    columns: Mapping[str, Any] | None = None,
    line: int | None = None,
) -> Roles:
    """Roles of the columns of a numeric ``table`` (rows × columns, NaN = empty field).

    Parameters
    ----------
    table : ndarray
        The data rows.
    names : sequence of str or None
        Header names, one per column where known (``""`` for a column without a name);
        ``None`` for a header-less table.
    path : path-like
        For messages.
    columns : mapping, optional
        The user's ``columns=`` option: ``freq``, ``z_real``, ``z_imag``, ``z_mod``,
        ``phase``, ``time``, ``cycle``, ... as 0-based column numbers or header names,
        and the flags ``neg_imag``, ``neg_real``, ``neg_phase``, ``phase_unit``.
    line : int, optional
        1-based line of the header (or first data row) for messages.

    Returns
    -------
    Roles
        ``source`` says how they were established (``"option"``, ``"names"``,
        ``"names+content"``, ``"content"``, ``"order"``); ``notes`` what was checked.

    Raises
    ------
    ReaderError
        When names and values disagree, or the roles cannot be established.
    """
    t = np.asarray(table, float)
    width = t.shape[1]
    names = [str(n).strip() for n in names] if names is not None else []
    if columns:
        names = (names + [""] * width)[:width] if names else []
        return _from_option(columns, names, width, path, line)
    if names and len(names) == width - 1 and any(names):
        return _align(t, names, path, line)
    if names and len(names) < width - 1:
        warnings.warn(
            f"{path}: the header names {len(names)} columns but the rows have {width} fields; "
            "header ignored, roles taken from the values",
            EisfitWarning,
            stacklevel=3,
        )
        names = []
    names = (names + [""] * width)[:width] if names else []
    return _resolve(t, names, path, line)


def _align(t: np.ndarray, names: list[str], path: Any, line: Any) -> Roles:
    """A header one name short of the rows: find the one place where a column lacks a name.

    Accepted only when exactly one placement makes names and values agree (|Z| equal to
    hypot(Z', Z''), or Z' equal to |Z|·cos(phase)); anything else is refused.
    """
    width = t.shape[1]
    fits = []
    for k in range(width):
        cand = names[:k] + [""] + names[k:]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EisfitWarning)
                r = _resolve(t, cand, path, line)
        except ReaderError:
            continue
        if r.source == "names+content":
            fits.append((k, r))
    if len(fits) != 1:
        raise ReaderError(
            f"the header names {len(names)} columns but the rows have {width} fields, and "
            + (
                "no placement of the unnamed column makes the header agree with the values"
                if not fits
                else f"{len(fits)} placements of the unnamed column fit ({[k for k, _ in fits]})"
            )
            + "; pass columns={...} to say which column is which",
            path,
            line,
        )
    k, roles = fits[0]
    warnings.warn(
        f"{path}: the header names {len(names)} columns but the rows have {width} fields; "
        f"column {k} has no name — placed there because only then the header agrees with the "
        f"values ({describe(roles)})",
        EisfitWarning,
        stacklevel=4,
    )
    roles.notes.append(f"column {k} has no header name")
    return roles


def _resolve(t: np.ndarray, names: list[str], path: Any, line: Any) -> Roles:
    width = t.shape[1]
    named = detect_roles(names) if names else Roles(names=[])
    named.names = names or [f"column{k}" for k in range(width)]
    for role, k in list(named.index.items()):
        if k >= width:
            del named.index[role]
    # columns the content detector may use: unnamed ones and those named as impedance
    taken = {k for r, k in named.index.items() if r not in _IMPEDANCE_ROLES and r != "freq"}
    unnamed = [k for k in range(width) if not (names and names[k]) and k not in taken]
    numeric = [k for k in range(width) if np.isfinite(t[:, k]).mean() >= _MATCH]
    ix = named.index
    if named.has_impedance() or ("freq" in ix and {"zre", "neg_zre"} & set(ix)):
        roles = _check_named(t, named, unnamed, numeric, path, line)
        if roles is not None:
            return roles
    usable = [k for k in numeric if k in unnamed or (names and k in ix.values() and k not in taken)]
    return _from_content(t, named, names, usable, numeric, path, line)


def _pair_of(ix: Mapping[str, int]) -> tuple[int | None, int | None, int, int]:
    re = ix.get("zre", ix.get("neg_zre"))
    im = ix.get("zim", ix.get("neg_zim"))
    return re, im, (-1 if "neg_zre" in ix else 1), (-1 if "neg_zim" in ix else 1)


def _check_named(t, roles: Roles, unnamed, numeric, path, line) -> Roles | None:
    """Verify named impedance columns against each other; fill a missing Z'' from content."""
    ix = roles.index
    re, im, sre, sim = _pair_of(ix)
    mod = ix.get("zmod")
    ph = ix.get("phase", ix.get("neg_phase"))
    sph = -1 if "neg_phase" in ix else 1
    notes = []
    filled = False
    if re is not None and im is None and mod is not None:
        # Z'' column without a (recognised) name: the one completing hypot(Z', x) = |Z|
        fill = [k for k in unnamed if k in numeric and _magnitude_ok(t, re, k, mod)]
        if len(fill) == 1:
            im, filled = fill[0], True
            ix["zim"] = im
            sim = 1
            notes.append(f"column {im} (no name) is ±Z'': hypot with Z' equals |Z|")
    if re is not None and im is None and mod is not None and ph is not None:
        # polar impedance plus a Z' column: Z' must equal |Z| cos(phase)
        x, m, p = t[:, re] * sre, t[:, mod], t[:, ph] * sph
        ok = np.isfinite(x) & np.isfinite(m) & np.isfinite(p)
        if ok.sum() >= 3:
            scale = 1.0 if roles.phase_rad else np.pi / 180
            pred = m[ok] * np.cos(p[ok] * scale)
            good = np.abs(pred - x[ok]) <= _MAG_TOL * np.abs(m[ok]) + 1e-3 * np.abs(m[ok])
            if np.mean(good) < _MATCH:
                raise ReaderError(
                    f"the header does not match the values: column {_label(roles.names, re)} "
                    f"is not |Z|·cos(phase) from columns {_label(roles.names, mod)} and "
                    f"{_label(roles.names, ph)}; a column is missing or shifted. Pass "
                    "columns={...} to say which column is which",
                    path,
                    line,
                )
            notes.append("Z' = |Z|·cos(phase) checked; Z'' from |Z| and the phase")
            ix.pop("zre", None)
            ix.pop("neg_zre", None)
    if re is not None and im is not None and mod is not None:
        if not _magnitude_ok(t, re, im, mod) and np.isfinite(t[:, mod]).any():
            x, y, m = t[:, re], t[:, im], t[:, mod]
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.nanmedian(np.abs(np.hypot(x, y) - m) / np.abs(m))
            if not (r <= 10 * _MAG_TOL):
                raise ReaderError(
                    f"the header does not match the values: column {_label(roles.names, mod)} "
                    f"is not hypot({_label(roles.names, re)}, {_label(roles.names, im)}) "
                    f"(median relative difference {r:.2g}); a column is missing or shifted. "
                    "Pass columns={...} to say which column is which",
                    path,
                    line,
                )
        else:
            notes.append("|Z| = hypot(Z', Z'') checked")
    if re is not None and im is not None and ph is not None:
        fits = _phase_fit(t, re, im, ph)
        signs = {s for s, _ in fits}
        units = {u for _, u in fits}
        if len(signs) == 1:
            s = signs.pop() * sph * sre
            if filled:
                del ix["zim"]
                ix["zim" if s > 0 else "neg_zim"] = im
                roles.sign_confirmed = True
                notes.append("sign of the unnamed Z'' column from the phase")
            else:
                want = -1 if s * sim < 0 else 1  # sign the phase implies for the named column
                roles.sign_confirmed = want == 1
                if want == -1:
                    roles.phase_contradicts = True
                else:
                    notes.append("sign of Z'' confirmed by the phase")
            if len(units) == 1:
                roles.phase_rad = units.pop() == "rad"
        elif filled:
            raise ReaderError(
                f"column {im} has no name; it completes |Z| = hypot(Z', x) but no phase column "
                "gives its sign. Pass columns={...} with neg_imag=",
                path,
                line,
            )
    elif re is None and mod is not None and ph is not None:
        pass  # polar only: nothing to cross-check
    if im is None and not roles.has_impedance():
        return None
    if "freq" not in ix:
        return None
    roles.notes = notes
    roles.source = "names+content" if notes else "names"
    _meta_columns(t, roles, unnamed)
    return roles


def _meta_columns(t: np.ndarray, roles: Roles, free: Sequence[int]) -> None:
    """Time and cycle among ``free`` (unnamed, unclaimed) columns; the rest kept as meta."""
    ix = roles.index
    used = set(ix.values())
    rest = [k for k in free if k not in used]
    for k in rest:
        col = t[:, k]
        if not np.isfinite(col).all():
            roles.extra.append(k)
        elif "cycle" not in ix and _is_counter(col):
            ix["cycle"] = k
        elif "time" not in ix and _is_time(col) and not _is_counter(col):
            ix["time"] = k
        else:
            roles.extra.append(k)


def _from_content(t, named: Roles, header: list[str], usable, numeric, path, line) -> Roles:
    names = named.names
    width = t.shape[1]
    if len(usable) > _MAX_SEARCH:
        raise _ambiguous(
            path,
            line,
            f"{len(usable)} columns without a usable name are too many to tell "
            "apart by their values",
            names,
            [],
            usable[:6],
            width,
        )
    rel = _candidates(t, usable)
    triples, oriented = rel["triples"], rel["oriented"]
    # distinct orientations (re, im, sign); a |Z| column may back them up
    hyps = {}
    for re, im, s, p, unit in oriented:
        hyps.setdefault((re, im, s), []).append((p, unit))
    if len(hyps) > 1 and triples:
        # a |Z| column can mimic Z' when the phase is small: keep pairs that |Z| confirms
        pairs = {frozenset((a, b)) for a, b, _ in triples}
        keep = {h: v for h, v in hyps.items() if frozenset(h[:2]) in pairs}
        hyps = keep or hyps
    roles = Roles(names=list(names), source="content")
    for r, k in named.index.items():
        if r in _META_ROLES:
            roles.index[r] = k
    claimed: set[int] = set()
    if len(hyps) == 1:
        (re, im, s), ps = next(iter(hyps.items()))
        if len({p for p, _ in ps}) != 1:
            raise _ambiguous(path, line, "several columns fit the phase", names, [], usable, width)
        p, unit = ps[0]
        roles.index["zre"] = re
        roles.index["zim" if s > 0 else "neg_zim"] = im
        roles.index["phase"] = p
        roles.phase_rad = unit == "rad"
        mods = [c for a, b, c in triples if {a, b} == {re, im}]
        if len(mods) == 1:
            roles.index["zmod"] = mods[0]
        claimed = {re, im, p, *mods}
        roles.notes.append("Z', Z'' and their sign from the phase column")
    elif len(hyps) > 1:
        cand = sorted({k for h in hyps for k in h[:2]})
        raise _ambiguous(
            path,
            line,
            "more than one column pair fits a phase column (impedance and admittance?)",
            names,
            [],
            cand,
            width,
        )
    elif triples:
        cand = sorted({k for tr in triples for k in tr})
        freq = [k for k in usable if k not in cand and is_frequency(t[:, k])]
        raise _ambiguous(
            path,
            line,
            "a |Z| column confirms the Z'/Z'' pair but no phase column tells "
            "which is the real part and the sign",
            names,
            freq,
            cand,
            width,
        )
    if "freq" in named.index:
        freq = [named.index["freq"]]
    else:
        freq = [k for k in usable if k not in claimed and is_frequency(t[:, k])]
        if len(freq) > 1:
            freq = _drop_time_lookalikes(t, freq)
    if not claimed:
        # no relation between columns: only the conventional order f, Z', Z'' is taken
        rest = [k for k in usable if k not in freq and not _is_row_counter(t[:, k])]
        if (
            len(freq) == 1
            and len(rest) == 2
            and rest == [freq[0] + 1, freq[0] + 2]
            and len(numeric) <= 4
            and np.all(t[:, rest[0]][np.isfinite(t[:, rest[0]])] >= 0)
            and np.any(t[:, rest[1]] < 0)
        ):
            roles.index.update({"freq": freq[0], "zre": rest[0], "zim": rest[1]})
            roles.source = "order"
            roles.notes.append("columns taken in the conventional order f, Z', Z''")
            _meta_columns(t, roles, [k for k in range(width) if k not in roles.index.values()])
            return roles
        why = (
            "no column equals |Z| or the phase of another pair"
            if rest
            else "too few numeric columns"
        )
        raise _ambiguous(path, line, why, names, freq, rest, width)
    if len(freq) != 1:
        why = "no column looks like a frequency sweep" if not freq else "several columns do"
        raise _ambiguous(path, line, why, names, freq, sorted(claimed), width)
    roles.index["freq"] = freq[0]
    free = [k for k in range(width) if k not in roles.index.values() and not (header and header[k])]
    _meta_columns(t, roles, free)
    im_col = roles.index.get("zim", roles.index.get("neg_zim"))
    sign = -1 if "neg_zim" in roles.index else 1
    zi = sign * t[:, im_col]
    if np.mean(zi[np.isfinite(zi)] > 0) > 0.8:
        raise _ambiguous(
            path,
            line,
            "the phase column makes the spectrum inductive at most points; it may hold −phase",
            names,
            freq,
            sorted(claimed),
            width,
        )
    if header and any(header):
        warnings.warn(
            f"{path}: column roles taken from the values, not the header ({describe(roles)})",
            EisfitWarning,
            stacklevel=4,
        )
    return roles
