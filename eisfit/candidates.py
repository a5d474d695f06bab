"""Candidate circuits for :func:`eisfit.propose`: ladders built from the DRT peaks (arc
counts, arc types, a diffusion element for a train of peaks), and the widening of a
candidate from where its fit misses the data (an inductor at an inductive high-frequency
end, a tail at the low-frequency end, one more arc, R‖CPE instead of R‖C)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .circuit.arcs import arc_tau, arcs
from .errors import FitError
from .relaxation.peaks import Peak
from .relaxation.result import DRTResult

__all__ = ["zarc_n_from_width"]

_LN10 = np.log(10.0)
#: Tails tried at an unexplained low-frequency end.
TAILS = ("Q", "Ws", "Wo", "W")


def zarc_n_from_width(width_dec: float) -> float:
    """CPE exponent n of a ZARC whose DRT has the given FWHM (decades of τ).

    From γ ∝ 1/(cosh(n u) + cos nπ): half maximum at ``cosh(n u) = 2 + cos nπ``.
    Returns a value in [0.5, 1].
    """
    ns = np.linspace(0.5, 0.999, 200)
    widths = 2 * np.arccosh(2 + np.cos(ns * np.pi)) / ns / _LN10
    # widths decrease with n
    return float(np.interp(width_dec, widths[::-1], ns[::-1], left=1.0, right=0.5))


@dataclass(frozen=True)
class _Arc:
    kind: str  # "RC" or "RQ"
    tau: float
    R: float
    n: float = 1.0


@dataclass(frozen=True)
class _Spec:
    """A candidate ladder: [hf] - R0 - arcs - [tail], with starting values."""

    arcs: tuple[_Arc, ...]
    diffusion: str | None = None  # tail: "Ws", "Wo" (R, tau), "W" (σ), "Q" (Q, n)
    diff_R: float = 0.0
    diff_T: float = 0.0
    hf: str | None = None  # "L" or "La"
    L: float = 0.0
    alpha: float = 1.0
    R0: float | None = None

    @property
    def label(self) -> str:
        parts = ([self.hf] if self.hf else []) + [a.kind for a in self.arcs]
        if self.diffusion:
            parts.append(self.diffusion)
        return "-".join(parts) if parts else "R"

    @property
    def n_elements(self) -> int:
        return len(self.arcs) + (1 if self.diffusion else 0)



# -- candidate construction ------------------------------------------------------------
def _arc_from_peak(p: Peak, kind: str, w_min: float) -> _Arc:
    if kind == "RC":
        return _Arc("RC", p.tau, max(p.R, 1e-12))
    w_eff = float(np.sqrt(max(p.width**2 - w_min**2, 0.0)))
    n = min(max(zarc_n_from_width(w_eff), 0.6), 0.97)
    return _Arc("RQ", p.tau, max(p.R, 1e-12), n)


def _split(p: Peak) -> tuple[Peak, Peak]:
    d = max(p.width / 4, 0.15)
    from dataclasses import replace

    a = replace(p, tau=p.tau * 10 ** (-d), R=p.R / 2, width=p.width / 2)
    b = replace(p, tau=p.tau * 10 ** (d), R=p.R / 2, width=p.width / 2)
    return a, b


def _peak_sets(
    peaks: list[Peak], extra: list[Peak], max_arcs: int, R_pol: float
) -> list[tuple[int, list[Peak]]]:
    """Peak lists for arc counts n0-1, n0 and n0+1 (the latter in up to two variants:
    the broadest peak split in two, and the strongest sub-threshold peak added)."""
    n0 = len(peaks)
    sets: list[tuple[int, list[Peak]]] = []
    if n0 == 0:
        return sets
    sets.append((n0, list(peaks)))
    if n0 > 1:
        drop = min(range(n0), key=lambda i: peaks[i].R)
        sets.append((n0 - 1, [p for i, p in enumerate(peaks) if i != drop]))
    if n0 + 1 <= max_arcs:
        i = max(range(n0), key=lambda i: peaks[i].width)
        a, b = _split(peaks[i])
        sets.append((n0 + 1, sorted(peaks[:i] + [a, b] + peaks[i + 1 :], key=lambda p: p.tau)))
        big = [p for p in extra if p.R > 0.01 * R_pol]
        if big:
            add = max(big, key=lambda p: p.significance)
            sets.append((n0 + 1, sorted(list(peaks) + [add], key=lambda p: p.tau)))
    return [(k, v) for k, v in sets if 1 <= k <= max_arcs]


def _diffusion_hint(res: DRTResult, peaks: list[Peak]) -> bool:
    """Does the low-frequency end look like diffusion rather than a closed arc?"""
    f, Z = res.freq, res.Z
    i = np.argsort(f)[:3]
    # the impedance still rises steeply (phase below -20°) at the lowest frequencies …
    phase = np.degrees(np.angle(Z[i]))
    steep = bool(np.median(phase) < -20)
    # … or the slowest peak has a train of faster satellites (τ/9, τ/25 of a Warburg),
    # or mass on the grid extension beyond the lowest frequency
    all_p = res.all_peaks()
    slow = max(peaks, key=lambda p: p.tau) if peaks else None
    train = False
    if slow is not None:
        for q in all_p:
            ratio = slow.tau / q.tau
            if 4 < ratio < 20 and 0.02 < q.R / slow.R < 0.35:
                train = True
    edge = any(p.edge and p.tau > res.window[1] and p.R > 0.02 * res.R_pol for p in all_p)
    return steep or train or edge


def _lf_tail(res: DRTResult) -> tuple[float, float] | None:
    """``(R, T)`` starting values for a diffusion element beyond the slowest measured
    point, if the DRT has mass on its low-frequency grid extension or the impedance is
    still steeply capacitive at the lowest frequencies; else None."""
    lo_f = float(res.freq.min())
    T = 1 / (2 * np.pi * lo_f)
    edge_R = float(res.h * np.sum(res.gamma[res.tau > res.window[1]]))
    i = np.argsort(res.freq)[:3]
    steep = bool(np.median(np.degrees(np.angle(res.Z[i]))) < -30)
    if edge_R > 0.02 * max(res.R_pol, 1e-300) or steep:
        R = max(edge_R, 0.1 * res.R_pol, 1e-9)
        return R, T
    return None


def _warburg_train(ps: list[Peak]) -> list[Peak]:
    """The slowest peak and the faster, smaller peaks that look like its higher modes
    (within two decades, each at most half the area of the slowest), slowest first."""
    if not ps:
        return []
    slow = ps[-1]
    train = [slow]
    for q in reversed(ps[:-1]):
        if slow.tau / q.tau <= 100 and q.R <= 0.5 * slow.R:
            train.append(q)
        else:
            break
    return train


def _circuit_text(spec: _Spec) -> str:
    parts = ([f"{spec.hf}0"] if spec.hf else []) + ["R0"]
    for i, a in enumerate(spec.arcs, start=1):
        parts.append(f"(R{i} | C{i})" if a.kind == "RC" else f"(R{i} | Q{i})")
    if spec.diffusion:
        parts.append(f"{spec.diffusion}{len(spec.arcs) + 1}")
    return " - ".join(parts)


def _init(spec: _Spec, R_inf: float) -> dict[str, float]:
    v: dict[str, float] = {"R0": max(spec.R0 if spec.R0 is not None else R_inf, 1e-9)}
    if spec.hf == "L":
        v["L0"] = max(spec.L, 1e-12)
    elif spec.hf == "La":
        v["La0_L"] = max(spec.L, 1e-12)
        v["La0_alpha"] = min(max(spec.alpha, 0.05), 1.0)
    for i, a in enumerate(spec.arcs, start=1):
        v[f"R{i}"] = a.R
        if a.kind == "RC":
            v[f"C{i}"] = a.tau / a.R
        else:
            v[f"Q{i}_Q"] = a.tau**a.n / a.R
            v[f"Q{i}_n"] = a.n
    k = len(spec.arcs) + 1
    if spec.diffusion in ("Ws", "Wo"):
        v[f"{spec.diffusion}{k}_R"] = spec.diff_R
        v[f"{spec.diffusion}{k}_tau"] = spec.diff_T
    elif spec.diffusion == "W":
        v[f"W{k}"] = spec.diff_R
    elif spec.diffusion == "Q":
        v[f"Q{k}_Q"] = spec.diff_R
        v[f"Q{k}_n"] = spec.diff_T
    return v



def _specs(res: DRTResult, max_elements: int, diffusion: str) -> list[_Spec]:
    peaks = list(res.peaks(confirm=False))  # the candidates are compared parametrically here
    extra = [p for p in res.all_peaks() if 1.0 <= p.significance < 3.0 and not p.edge]
    if not peaks:
        sig = [p for p in res.all_peaks() if not p.edge] or list(res.all_peaks())
        if not sig:
            raise FitError("the DRT has no peak: nothing to propose")
        peaks = [max(sig, key=lambda p: p.R)]
    if len(peaks) > max_elements:  # keep the largest processes
        peaks = sorted(sorted(peaks, key=lambda p: p.R)[-max_elements:], key=lambda p: p.tau)
    all_w = [p.width for p in res.all_peaks()]
    w_min = min(all_w) if all_w else 0.0
    sets = _peak_sets(peaks, extra, max_elements, res.R_pol)
    specs: list[_Spec] = []
    seen: set = set()

    def add(spec: _Spec):
        if not spec.arcs and not spec.diffusion:
            return
        if len(spec.arcs) + (1 if spec.diffusion else 0) > max_elements:
            return
        key = tuple((a.kind, round(float(np.log10(a.tau)), 1)) for a in spec.arcs) + (
            spec.diffusion,
        )
        if key not in seen:
            seen.add(key)
            specs.append(spec)

    for k, ps in sets:
        add(_Spec(tuple(_arc_from_peak(p, "RQ", w_min) for p in ps)))
        add(_Spec(tuple(_arc_from_peak(p, "RC", w_min) for p in ps)))
        mixed = tuple(
            _arc_from_peak(p, "RC" if p.width <= 1.5 * w_min + 0.05 else "RQ", w_min) for p in ps
        )
        add(_Spec(mixed))
    want_diff = diffusion in ("Ws", "Wo", "both") or (
        diffusion == "auto" and _diffusion_hint(res, peaks)
    )
    if want_diff:
        kinds = ("Ws", "Wo") if diffusion in ("auto", "both") else (diffusion,)
        ps = sorted(peaks, key=lambda p: p.tau)
        train = _warburg_train(ps)
        rest = [p for p in ps if p not in train]
        # the slowest peak and its train of faster, smaller modes → one diffusion element;
        # also the slowest peak alone, the rest of the train kept as arcs
        variants = [(rest, train)]
        if len(train) > 1:
            variants.append((ps[:-1], [ps[-1]]))
        # diffusion beyond the slowest peak (a low-frequency tail, e.g. a reflective
        # Warburg's capacitive branch): all peaks stay arcs, the element is added
        lf_tail = _lf_tail(res)
        if lf_tail is not None:
            R_t, T_t = lf_tail
            for kind in kinds:
                add(_Spec(tuple(_arc_from_peak(p, "RQ", w_min) for p in ps), kind, R_t, T_t))
        for arcs, tr in variants:
            slow = tr[0]
            R_train = sum(p.R for p in tr)
            for kind in kinds:
                if kind == "Ws":  # modes 8R/((2k-1)²π²) at 4T/((2k-1)²π²): Σ = R
                    R, T = R_train, slow.tau * np.pi**2 / 4
                else:  # modes 2R/(k²π²) at T/(k²π²) (plus a series C)
                    R, T = slow.R * np.pi**2 / 2, slow.tau * np.pi**2
                add(_Spec(tuple(_arc_from_peak(p, "RQ", w_min) for p in arcs), kind, R, T))
    return specs


# -- widening: where the best candidate misses, add what belongs there -----------------
def _spec_from_fit(spec: _Spec, fr) -> _Spec:
    """``spec`` with the fitted values as starting values (warm start for children)."""
    v = fr.values
    c = fr.circuit
    new_arcs = []
    for a, node in zip(spec.arcs, arcs(c)):
        R = next(v[e.name] for e in node.elements if e.kind == "R")
        n = next((v[e.name + "_n"] for e in node.elements if e.kind == "Q"), 1.0)
        tau = arc_tau(node, v)
        if np.isfinite(tau) and R > 0:
            new_arcs.append(replace(a, tau=tau, R=R, n=n))
        else:
            new_arcs.append(a)
    out = replace(spec, arcs=tuple(new_arcs), R0=v.get("R0"))
    k = len(spec.arcs) + 1
    if spec.diffusion in ("Ws", "Wo"):
        out = replace(out, diff_R=v[f"{spec.diffusion}{k}_R"], diff_T=v[f"{spec.diffusion}{k}_tau"])
    elif spec.diffusion == "W":
        out = replace(out, diff_R=v[f"W{k}"])
    elif spec.diffusion == "Q":
        out = replace(out, diff_R=v[f"Q{k}_Q"], diff_T=v[f"Q{k}_n"])
    if spec.hf == "L":
        out = replace(out, L=v["L0"])
    elif spec.hf == "La":
        out = replace(out, L=v["La0_L"], alpha=v["La0_alpha"])
    return out


def _tail_guess(kind: str, f: np.ndarray, Z: np.ndarray) -> tuple[float, float]:
    """Starting values of a low-frequency tail from the lowest frequencies."""
    i = np.argsort(f)[:3]
    w = 2 * np.pi * f[i]
    mim = np.maximum(-Z.imag[i], 1e-6 * np.abs(Z[i]))
    slope = -np.polyfit(np.log(w), np.log(mim), 1)[0] if i.size > 1 else 0.8
    n = float(np.clip(slope, 0.3, 1.0))
    if kind == "Q":
        return float(1.0 / (mim[0] * w[0] ** n * np.sin(n * np.pi / 2))), n
    if kind == "W":
        return float(mim[0] * np.sqrt(w[0])), 0.0
    T = float(1.0 / w[0])
    return float(max(mim[0], 1e-9)), T


def _children(spec: _Spec, fr, max_elements: int) -> list[_Spec]:
    """Widened candidates, from where the fit ``fr`` of ``spec`` misses the data."""
    f, Z = fr.freq, fr.Z
    base = _spec_from_fit(spec, fr)
    res = np.abs(fr.residuals)
    n = f.size
    k = max(3, n // 8)
    hf_bad = bool(np.mean(res[-k:] ** 2) > 2 * np.mean(res**2)) or Z.imag[-1] > 0
    lf_bad = bool(np.mean(res[:k] ** 2) > 2 * np.mean(res**2))
    out: list[_Spec] = []
    # the inductive high-frequency end
    if spec.hf is None and (hf_bad or Z.imag[-1] > 0):
        L0 = max(float(Z.imag[-1]) / (2 * np.pi * f[-1]), 1e-12)
        out.append(replace(base, hf="L", L=L0))
    elif spec.hf == "L" and hf_bad:
        out.append(replace(base, hf="La", L=base.L, alpha=1.0))
    room = base.n_elements < max_elements
    # a low-frequency tail
    if room and spec.diffusion is None:
        for kind in TAILS:
            R_t, T_t = _tail_guess(kind, f, Z)
            out.append(replace(base, diffusion=kind, diff_R=R_t, diff_T=T_t))
    elif spec.diffusion is not None and lf_bad:
        for kind in TAILS:
            if kind != spec.diffusion:
                R_t, T_t = _tail_guess(kind, f, Z)
                out.append(replace(base, diffusion=kind, diff_R=R_t, diff_T=T_t))
    # one more arc: at the worst band, or by splitting the broadest arc
    if room:
        smooth = np.convolve(res, np.ones(3) / 3, mode="same")
        j = int(np.argmax(smooth))
        tau_new = 1 / (2 * np.pi * f[j])
        R_new = max(float(smooth[j] * np.abs(Z[j])) * 2, 1e-9)
        added = tuple(sorted(base.arcs + (_Arc("RQ", tau_new, R_new, 0.8),), key=lambda a: a.tau))
        out.append(replace(base, arcs=added))
        if base.arcs:
            i = max(range(len(base.arcs)), key=lambda i: base.arcs[i].R)
            a = base.arcs[i]
            halves = (replace(a, tau=a.tau / 3, R=a.R / 2), replace(a, tau=a.tau * 3, R=a.R / 2))
            out.append(replace(base, arcs=base.arcs[:i] + halves + base.arcs[i + 1:]))
    # R‖CPE instead of R‖C
    if any(a.kind == "RC" for a in base.arcs):
        out.append(replace(base, arcs=tuple(replace(a, kind="RQ", n=0.9) for a in base.arcs)))
    return out
