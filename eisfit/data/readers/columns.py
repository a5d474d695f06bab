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
from ._evidence import (
    _MAG_TOL,
    _MATCH,
    _MAX_SEARCH,
    _candidates,
    _constant_phase,
    _drop_time_lookalikes,
    _is_counter,
    _is_row_counter,
    _is_time,
    _magnitude_ok,
    _phase_fit,
    _pins_real_part,
    _rereadings,
    is_frequency,
)

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


def _check_discriminating(t, hyp, usable, names, path, line) -> None:
    """Refuse a phase relation that would hold as well for other columns.

    ``hyp`` is ``(re, im, s, p, unit)``, the only orientation found. The phase must
    vary (a constant one fits any proportional pair); it singles out Z' only if Z' twice
    or half as large would not fit; and a small-angle relation (phase ≈ Z''/Z') must
    have no other reading of its columns that fits too.
    """
    re, im, s, p, unit = hyp
    width = t.shape[1]
    freq = [k for k in usable if k not in (re, im, p) and is_frequency(t[:, k])]
    if _constant_phase(t, p, unit):
        why = (
            f"column {_label(names, p)} holds the same angle on every row; a constant phase "
            "only says that two columns are proportional, not which are Z' and Z''"
        )
        raise _ambiguous(path, line, why, names, freq, [re, im, p], width)
    if not _pins_real_part(t, re, im, s, p, unit):
        why = (
            f"column {_label(names, p)} fits the phase of column {_label(names, re)} as Z' "
            "but would fit as well with Z' twice or half as large (a phase near 0° or "
            "±90° does not tell which column is Z')"
        )
        raise _ambiguous(path, line, why, names, freq, [re, im, p], width)
    other = _rereadings(t, hyp, usable)
    if other:
        lab = [_label(names, k) for k in (re, im, p)]
        alt = "; ".join(
            f"Z'={_label(names, a)}, Z''={_label(names, b)}, phase={_label(names, c)}"
            for a, b, c in other[:3]
        )
        why = (
            f"the phase is small, so phase ≈ Z''/Z' and the columns read as Z'={lab[0]}, "
            f"Z''={lab[1]}, phase={lab[2]} fit as well read otherwise ({alt}"
            + (f"; {len(other) - 3} more" if len(other) > 3 else "")
            + ")"
        )
        cand = sorted({re, im, p} | {k for tri in other for k in tri})
        raise _ambiguous(path, line, why, names, [k for k in freq if k not in cand], cand, width)


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
        mods = [c for a, b, c in triples if {a, b} == {re, im}]
        if not mods:  # no |Z| backs the pair up: the phase alone must single the roles out
            _check_discriminating(t, (re, im, s, p, unit), usable, names, path, line)
        roles.index["zre"] = re
        roles.index["zim" if s > 0 else "neg_zim"] = im
        roles.index["phase"] = p
        roles.phase_rad = unit == "rad"
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
