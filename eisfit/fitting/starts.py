"""Automatic starting values, taken from the data.

1. A quick non-negative distribution of relaxation times (NNLS on a τ grid with a
   series resistance, inductance and capacitance; lightly ridge-regularised; the linear
   core of :mod:`eisfit.linear`) describes the spectrum by R∞, L, 1/C∞ and resistances γₖ
   at time constants τₖ.
2. The circuit is cut into *slots*: every parallel node with a resistive branch is an
   arc; Warburg, Gerischer, Havriliak–Negami and transmission-line elements are slots
   of their own; series R, L and C/Q take R∞, L and C∞.
3. The DRT mass is split into as many clusters as there are slots (peaks, merged or
   split as needed); clusters are handed out in order of time constant — arcs in
   tree order, diffusion elements last (ladder convention: R1 fastest).
4. Variants (equal-mass clusters, broader CPE exponents, log-uniform spreading,
   permutations of distinct arcs) feed a cheap multi-start.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import permutations

import numpy as np
from ..circuit import Circuit, Element, Parallel, Series
from ..circuit.arcs import has_resistive_branch, signature, top_parts
from ..linear.basis import series_columns, voigt_design, voigt_tau
from ..linear.solve import nnls_lsq
from ..linear.weights import stack, stack_columns

__all__ = ["Features", "analyse", "initial_guesses"]

_DIFFUSION = ("Wo", "Ws", "T", "Tb")
_ARC_ELEMENTS = ("G", "H")


@dataclass(frozen=True)
class Features:
    """What the quick DRT says about a spectrum (ascending frequency)."""

    freq: np.ndarray
    Z: np.ndarray
    r_inf: float
    inductance: float
    inv_c: float
    tau: np.ndarray
    gamma: np.ndarray

    @cached_property
    def z_scale(self) -> float:
        return float(np.median(np.abs(self.Z)))


def analyse(freq: np.ndarray, Z: np.ndarray, per_decade: float = 5.0, ridge: float = 1e-4) -> Features:
    """Quick non-negative DRT: R∞, L, 1/C and Voigt elements on a coarse τ grid.

    The |Z|-weighted design of :mod:`eisfit.linear` with columns scaled to unit norm is
    solved by NNLS with a small ridge on the relaxation part (``ridge`` relative to the
    unit diagonal), which spreads a process over neighbouring nodes instead of picking
    one at random.
    """
    order = np.argsort(freq)
    f, z = np.asarray(freq, float)[order], np.asarray(Z, complex)[order]
    w = 1.0 / np.maximum(np.abs(z), 1e-300)
    decades = np.log10(f.max() / f.min()) + 2.0
    m = max(int(np.ceil(decades * per_decade)) + 1, 12)
    tau = voigt_tau(f, m, extend=1.0)
    extras = series_columns(f, inductance=True, capacitance=True)
    A = np.hstack((stack_columns(extras.K, w, w), voigt_design(2 * np.pi * f, tau, w)))
    b = stack(z, w, w)
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0
    reg = np.zeros((m, 3 + m))
    reg[:, 3:] = np.sqrt(ridge) * np.eye(m)
    x = nnls_lsq(np.vstack((A / norms, reg)), np.concatenate((b, np.zeros(m))))
    coef = x / norms
    phys = coef[:3] * extras.scale
    return Features(f, z, phys[0], phys[1], phys[2], tau, coef[3:])


# ---------------------------------------------------------------------------------
# slots
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    kind: str  # "arc", "Wo", "Ws", "T", "Tb", "G", "H"
    node: Circuit


def collect_slots(circuit: Circuit) -> list[Slot]:
    """Time-constant slots in assignment order (arcs in tree order, then diffusion)."""
    arcs: list[Slot] = []
    diff: list[Slot] = []

    def visit(node: Circuit, top: bool) -> None:
        if isinstance(node, Element):
            if node.kind in _DIFFUSION:
                diff.append(Slot(node.kind, node))
            elif node.kind in _ARC_ELEMENTS:
                arcs.append(Slot(node.kind, node))
            return
        if isinstance(node, Parallel) and has_resistive_branch(node):
            arcs.append(Slot("arc", node))
        for ch in node.children:
            visit(ch, False)

    for part in top_parts(circuit):
        visit(part, True)
    return arcs + diff


# ---------------------------------------------------------------------------------
# clusters of the DRT mass
# ---------------------------------------------------------------------------------
def _segments(ln_tau: np.ndarray, g: np.ndarray) -> list[tuple[float, float, float]]:
    """(R, mean ln τ, width) of each peak region of γ."""
    if g.sum() <= 0:
        return []
    sm = np.convolve(np.pad(g, 2, mode="edge"), [0.1, 0.2, 0.4, 0.2, 0.1], mode="valid")
    thr = 0.01 * sm.max()
    peaks = [
        i for i in range(len(sm))
        if sm[i] > thr and (i == 0 or sm[i] >= sm[i - 1]) and (i == len(sm) - 1 or sm[i] > sm[i + 1])
    ]
    if not peaks:
        peaks = [int(np.argmax(sm))]
    cuts = [0] + [a + int(np.argmin(sm[a:b + 1])) for a, b in zip(peaks[:-1], peaks[1:])] + [len(g)]
    segs = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        mass = g[a:b].sum()
        if mass <= 0:
            continue
        mu = float((g[a:b] * ln_tau[a:b]).sum() / mass)
        wd = float(np.sqrt(max((g[a:b] * (ln_tau[a:b] - mu) ** 2).sum() / mass, 0.0)))
        segs.append((float(mass), mu, wd))
    return segs


def _fit_count(segs: list[tuple[float, float, float]], k: int) -> list[tuple[float, float, float]]:
    segs = list(segs)
    while len(segs) > k:  # merge the smallest into its nearest neighbour
        i = int(np.argmin([s[0] for s in segs]))
        j = i - 1 if i == len(segs) - 1 or (i > 0 and segs[i][1] - segs[i - 1][1] < segs[i + 1][1] - segs[i][1]) else i + 1
        a, b = segs[i], segs[j]
        mass = a[0] + b[0]
        mu = (a[0] * a[1] + b[0] * b[1]) / mass
        wd = np.sqrt((a[0] * (a[2] ** 2 + (a[1] - mu) ** 2) + b[0] * (b[2] ** 2 + (b[1] - mu) ** 2)) / mass)
        segs[min(i, j)] = (mass, mu, float(wd))
        del segs[max(i, j)]
    while len(segs) < k:  # split the broadest heavy segment in two
        i = int(np.argmax([s[0] * (s[2] + 0.5) for s in segs]))
        mass, mu, wd = segs[i]
        d = max(wd, 0.7)
        segs[i:i + 1] = [(mass / 2, mu - d, wd / 2), (mass / 2, mu + d, wd / 2)]
    return segs


def _equal_mass(ln_tau: np.ndarray, g: np.ndarray, k: int) -> list[tuple[float, float, float]]:
    c = np.cumsum(g)
    total = c[-1]
    edges = np.searchsorted(c, total * np.arange(1, k) / k)
    idx = np.split(np.arange(g.size), edges)
    out = []
    for ii in idx:
        mass = g[ii].sum() if ii.size else 0.0
        mu = float((g[ii] * ln_tau[ii]).sum() / mass) if mass > 0 else float(ln_tau[ii].mean() if ii.size else 0)
        out.append((float(max(mass, total / k * 1e-3)), mu, 0.5))
    return out


# ---------------------------------------------------------------------------------
# assigning values
# ---------------------------------------------------------------------------------
def _assign_slot(slot: Slot, mass: float, tau: float, n0: float, out: dict[str, float]) -> None:
    node = slot.node
    if slot.kind == "arc":
        rs = [e for e in _branch_elements(node) if e.kind == "R"]
        caps = [e for e in _branch_elements(node) if e.kind in ("C", "Q")]
        r_each = mass / max(len(rs), 1)
        for e in rs:
            out[e.name] = r_each
        for e in caps:
            if e.kind == "C":
                out[e.name] = tau / mass
            else:
                out[e.name + "_n"] = n0
                out[e.name + "_Q"] = tau**n0 / mass
        return
    e = node
    if slot.kind == "Wo":
        out[e.name + "_R"], out[e.name + "_tau"] = 3.0 * mass, np.pi**2 * tau
    elif slot.kind == "Ws":
        out[e.name + "_R"], out[e.name + "_tau"] = mass, np.pi**2 / 4 * tau
    elif slot.kind == "G":
        out[e.name + "_R"], out[e.name + "_tau"] = mass, tau
    elif slot.kind == "H":
        out.update({e.name + "_R": mass, e.name + "_tau": tau, e.name + "_alpha": n0, e.name + "_beta": 0.9})
    elif slot.kind == "T":
        out.update({e.name + "_Rion": mass / 2, e.name + "_Rct": mass, e.name + "_Q": tau**n0 / mass, e.name + "_n": n0})
    elif slot.kind == "Tb":
        out.update({e.name + "_Rion": mass, e.name + "_Q": tau**n0 / mass, e.name + "_n": n0})


def _branch_elements(p: Parallel) -> list[Element]:
    """Elements of an arc's own branches (not inside nested parallels or other slots)."""
    out = []
    for b in p.children:
        for e in (b.children if isinstance(b, Series) else (b,)):
            if isinstance(e, Element) and e.kind in ("R", "C", "Q"):
                out.append(e)
    return out


def _defaults(circuit: Circuit, feat: Features, out: dict[str, float]) -> None:
    """Series elements and anything still unset."""
    f, z = feat.freq, feat.Z
    w = 2 * np.pi * f
    zs = feat.z_scale
    top = top_parts(circuit)
    series_r = [e for e in top if isinstance(e, Element) and e.kind == "R"]
    for e in series_r:
        out[e.name] = max(feat.r_inf / len(series_r), 1e-4 * zs)
    for e in top:
        if not isinstance(e, Element):
            continue
        if e.kind == "L":
            out[e.name] = max(feat.inductance, 1e-4 * zs / w.max())
        elif e.kind == "La":  # start as an ideal inductor
            out[e.name + "_L"] = max(feat.inductance, 1e-4 * zs / w.max())
            out[e.name + "_alpha"] = 1.0
        elif e.kind == "C":
            out[e.name] = 1.0 / feat.inv_c if feat.inv_c > 0 else 10.0 / (w.min() * zs)
        elif e.kind == "Q":
            n0 = 0.9
            mim = max(-z[0].imag, 1e-3 * zs)
            out[e.name + "_n"] = n0
            out[e.name + "_Q"] = 1.0 / (mim * w[0] ** n0 * np.sin(n0 * np.pi / 2))
        elif e.kind == "W":
            out[e.name] = max(-z[0].imag, 1e-3 * zs) * np.sqrt(w[0])
    tau_mid = 1.0 / np.sqrt(w.min() * w.max())
    for e in circuit.elements:  # whatever is left: typical values on the data's scale
        for name, p in zip(e.param_names, e.spec.params):
            if name in out:
                continue
            if p.scale == "linear":
                out[name] = p.typical
            elif p.unit == "Ω":
                out[name] = zs
            elif p.unit == "s":
                out[name] = tau_mid
            elif p.unit == "F":
                out[name] = tau_mid / zs
            elif p.unit == "H":
                out[name] = 1e-3 * zs / w.max()
            elif p.unit.startswith("Ω⁻¹"):
                out[name] = tau_mid**0.9 / zs
            else:
                out[name] = zs * np.sqrt(tau_mid)


def _guess(circuit, feat, slots, clusters, n0) -> dict[str, float]:
    out: dict[str, float] = {}
    for slot, (mass, mu, _) in zip(slots, clusters):
        _assign_slot(slot, max(mass, 1e-6 * feat.z_scale), float(np.exp(mu)), n0, out)
    _defaults(circuit, feat, out)
    return out


def initial_guesses(circuit: Circuit, feat: Features, max_guesses: int = 8) -> list[dict[str, float]]:
    """Starting values, best first, for the multi-start."""
    slots = collect_slots(circuit)
    k = len(slots)
    ln_tau = np.log(feat.tau)
    g = feat.gamma
    if k == 0:
        out: dict[str, float] = {}
        _defaults(circuit, feat, out)
        return [out]
    if g.sum() <= 0:  # nothing resistive found: spread over the window
        g = np.ones_like(g) * max(feat.z_scale, 1e-12) / g.size
    peak = _fit_count(_segments(ln_tau, g), k)
    equal = _equal_mass(ln_tau, g, k)
    total = max(float(g.sum()), 1e-6 * feat.z_scale)
    w = 2 * np.pi * feat.freq
    spread = [
        (total / k, float(mu), 0.5)
        for mu in np.linspace(np.log(1 / w.max()), np.log(1 / w.min()), k + 2)[1:-1]
    ]
    guesses = [
        _guess(circuit, feat, slots, peak, 0.9),
        _guess(circuit, feat, slots, equal, 0.9),
        _guess(circuit, feat, slots, peak, 0.7),
        _guess(circuit, feat, slots, spread, 0.8),
    ]
    distinct = [s for s in slots if s.kind != "arc"] + [s for s in slots if s.kind == "arc"]
    if 1 < k <= 4 and len({signature(s.node) for s in distinct}) > 1:
        for perm in permutations(range(k)):
            if list(perm) == list(range(k)):
                continue
            guesses.append(_guess(circuit, feat, [slots[i] for i in perm], peak, 0.9))
            if len(guesses) >= max_guesses:
                break
    return guesses[:max_guesses]
