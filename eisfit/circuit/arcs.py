"""Arcs and time constants of a circuit: which parts relax, and how fast.

An *arc* is a top-level series block that is a parallel node with a resistive branch
(``R1 | Q1``, ``R2 | C2``, ``(R3 - Wo3) | Q3``). Arcs of the same structure
(:func:`signature`) are interchangeable: swapping their values leaves the impedance
unchanged, which is why fits order them by time constant.

Examples
--------
>>> import eisfit as ef
>>> c = ef.parse("R0 - (R1 | Q1) - (R2 | C2) - Wo3")
>>> [str(a) for a in arcs(c)]
['R1 | Q1', 'R2 | C2']
>>> taus = time_constants(c, {"R0": 1, "R1": 10, "Q1_Q": 1e-5, "Q1_n": 1.0, "R2": 5,
...                            "C2": 2e-3, "Wo3_R": 3, "Wo3_tau": 4.0})
>>> {k: float(f"{t:.6g}") for k, t in taus.items()}
{'R1|Q1': 0.0001, 'R2|C2': 0.01, 'Wo3': 4.0}
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from .nodes import Circuit, Element, Parallel, Series

__all__ = [
    "top_parts", "arcs", "signature", "arc_tau", "arc_label", "time_constants", "beyond_band",
    "ordered_values", "jump_flags", "TAU_BAND_FACTOR",
]

#: A time constant further than this factor outside the measured band is not determined.
TAU_BAND_FACTOR = 3.0


def top_parts(c: Circuit) -> tuple[Circuit, ...]:
    """The series blocks of a circuit (the circuit itself if it is not a series)."""
    return c.children if isinstance(c, Series) else (c,)


def has_resistive_branch(p: Parallel) -> bool:
    """A parallel node relaxes (is an arc) when one of its branches holds a resistor."""
    return any(
        isinstance(b, Element) and b.kind == "R"
        or isinstance(b, Series) and any(isinstance(e, Element) and e.kind == "R" for e in b.children)
        for b in p.children
    )


def arcs(circuit: Circuit) -> list[Parallel]:
    """Top-level parallel arcs, in circuit order."""
    return [p for p in top_parts(circuit) if isinstance(p, Parallel) and has_resistive_branch(p)]


def signature(node: Circuit):
    """Structure of a node with labels removed (equal signatures are interchangeable)."""
    if isinstance(node, Element):
        return node.kind
    return (type(node).__name__, tuple(signature(c) for c in node.children))


def arc_label(p: Parallel) -> str:
    """``"R1|Q1"``: the arc's elements joined by ``|`` (its name in tables)."""
    return "|".join(e.name for e in p.elements)


def arc_tau(p: Parallel, values: Mapping[str, float]) -> float:
    """Time constant of an arc: (R·Q)^(1/n) for R‖CPE, R·C for R‖C (first R and C/Q)."""
    r = q = n = None
    for e in p.elements:
        if e.kind == "R" and r is None:
            r = values[e.name]
        elif e.kind == "C" and q is None:
            q, n = values[e.name], 1.0
        elif e.kind == "Q" and q is None:
            q, n = values[e.name + "_Q"], values[e.name + "_n"]
    if r is None or q is None or not n or not r * q > 0:
        return float("nan")
    with np.errstate(over="ignore"):  # a degenerate fit's arc: τ = inf, not a warning
        return float(np.exp(np.log(r * q) / n))


def time_constants(circuit: Circuit, values: Mapping[str, float]) -> dict[str, float]:
    """Characteristic time (s) of every arc and relaxing element, by label.

    Arcs as :func:`arc_tau`; finite Warburgs, Gerischer and Havriliak–Negami elements their
    ``tau``; transmission lines (Rct·Q)^(1/n) (faradaic) or (Rion·Q)^(1/n) (blocking).
    """
    out: dict[str, float] = {}
    for a in arcs(circuit):
        t = arc_tau(a, values)
        if np.isfinite(t):
            out[arc_label(a)] = t
    for e in circuit.elements:
        name = e.name
        with np.errstate(all="ignore"):
            if e.kind in ("Wo", "Ws", "G", "H"):
                out[name] = float(values[name + "_tau"])
            elif e.kind == "T":
                out[name] = float((values[name + "_Rct"] * values[name + "_Q"]) ** (1 / values[name + "_n"]))
            elif e.kind == "Tb":
                out[name] = float((values[name + "_Rion"] * values[name + "_Q"]) ** (1 / values[name + "_n"]))
    return out


def beyond_band(circuit: Circuit, values: Mapping[str, float], freq) -> dict[str, float]:
    """Time constants (by label) lying more than :data:`TAU_BAND_FACTOR` outside the band
    ``[1/(2π f_max), 1/(2π f_min)]`` of ``freq``: those arcs are extrapolated, not measured.

    Examples
    --------
    >>> from eisfit import parse
    >>> c = parse("R0 - (R1 | C1) - (R2 | C2)")
    >>> out = beyond_band(c, {"R0": 1, "R1": 1, "C1": 1e-4, "R2": 1, "C2": 100.0}, [1e4, 0.1])
    >>> {k: round(t, 6) for k, t in out.items()}   # τ = 100 s, band up to 1/(2π·0.1) = 1.6 s
    {'R2|C2': 100.0}
    """
    f = np.asarray(freq, float)
    lo, hi = 1 / (2 * np.pi * f.max()), 1 / (2 * np.pi * f.min())
    return {label: tau for label, tau in time_constants(circuit, values).items()
            if np.isfinite(tau) and tau > 0
            and (tau > TAU_BAND_FACTOR * hi or tau < lo / TAU_BAND_FACTOR)}


def ordered_values(
    circuit: Circuit,
    values: Mapping[str, float],
    locked: Collection[str] = (),
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, float]:
    """Values with interchangeable arcs relabelled so that their time constants increase.

    Arcs are interchangeable when they have the same :func:`signature` and none of their
    parameters is in ``locked`` (fixed or tied parameters keep their place). A
    permutation is applied only if every moved value lies within the ``bounds`` of the
    parameter it moves to. The impedance is unchanged: series blocks commute.

    Examples
    --------
    >>> import eisfit as ef
    >>> c = ef.parse("R0 - (R1 | C1) - (R2 | C2)")
    >>> ordered_values(c, {"R0": 1, "R1": 5, "C1": 1.0, "R2": 2, "C2": 1e-3})
    {'R0': 1, 'R1': 2, 'C1': 0.001, 'R2': 5, 'C2': 1.0}
    """
    locked = set(locked)
    groups: dict[object, list[Parallel]] = {}
    for a in arcs(circuit):
        if not locked.intersection(p for e in a.elements for p in e.param_names):
            groups.setdefault(signature(a), []).append(a)
    out = dict(values)
    for group in groups.values():
        taus = [arc_tau(a, values) for a in group]
        if len(group) < 2 or not all(np.isfinite(taus)):
            continue
        order = np.argsort(taus, kind="stable")
        moved = {}
        for dst, src in zip(group, [group[i] for i in order]):
            for pd_, ps in zip(
                [p for e in dst.elements for p in e.param_names],
                [p for e in src.elements for p in e.param_names],
            ):
                moved[pd_] = values[ps]
        if bounds is None or all(bounds[n][0] <= v <= bounds[n][1] for n, v in moved.items()):
            out.update(moved)
    return out


def jump_flags(
    circuit: Circuit,
    prev: Mapping[str, float] | None,
    values: Mapping[str, float],
    factor: float = 2.0,
) -> list[str]:
    """Flags for resistances that changed by more than ``factor`` from the previous fit.

    Along a sequence (cycles, states of charge) a jump of two interchangeable arcs whose
    values fit much better swapped is flagged ``"swap?R1<->R2"``; other jumps of a
    resistance (unit Ω) ``"jump:R1"``.

    Examples
    --------
    >>> import eisfit as ef
    >>> c = ef.parse("R0 - (R1 | C1) - (R2 | C2)")
    >>> jump_flags(c, {"R0": 1, "R1": 10, "R2": 50}, {"R0": 1, "R1": 52, "R2": 9})
    ['swap?R1<->R2']
    """
    if not prev:
        return []
    lf = float(np.log(factor))

    def d(a: float, b: float) -> float:
        return abs(float(np.log(a / b))) if a > 0 and b > 0 else float("inf")

    flags: list[str] = []
    swapped: set[str] = set()
    rs = []
    for a in arcs(circuit):
        r = next((e.name for e in a.elements if e.kind == "R"), None)
        if r is not None and r in prev and r in values:
            rs.append((signature(a), r))
    for i in range(len(rs)):
        for j in range(i + 1, len(rs)):
            (sa, a), (sb, b) = rs[i], rs[j]
            if sa != sb:
                continue
            same = d(values[a], prev[a]) + d(values[b], prev[b])
            cross = d(values[a], prev[b]) + d(values[b], prev[a])
            if same > lf and cross < 0.5 * same:
                flags.append(f"swap?{a}<->{b}")
                swapped.update((a, b))
    units = circuit.units
    for r in (p for p in circuit.parameters if units.get(p) == "Ω"):
        if r in swapped or r not in prev or r not in values:
            continue
        if d(values[r], prev[r]) > lf:
            flags.append(f"jump:{r}")
    return flags
