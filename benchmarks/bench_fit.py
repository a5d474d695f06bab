"""Fitting benchmark: eisfit without starting values vs lmfit and impedance.py with ×3 starts.

Run:  python benchmarks/bench_fit.py [--n 100] [--skip-impedance]

For each family, N noisy spectra (0.5 % noise on real and imaginary parts relative to
|Z|, 71 points, 1 MHz–0.1 Hz) are fitted by
  - eisfit:        ``ef.fit(circuit, spectrum)`` — no starting values at all;
  - lmfit:         ``lmfit.minimize`` (leastsq) on a hand-written numpy model, modulus
                   weighting, starting values = truth × a log-uniform factor in [1/3, 3]
                   (CPE exponents: truth ± 0.1);
  - impedance.py:  ``CustomCircuit(...).fit(weight_by_modulus=True)`` from the same starts.
Success = every resistance within 5 % of the truth (10 % for the 4-RC ladder) and every
time constant within 20 %. Also printed: the cost of Z + Jacobian against a plain numpy
Z-only expression, and the coverage of eisfit's 95 % confidence intervals.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import eisfit as ef

F = np.logspace(6, -1, 71)
W = 2 * np.pi * F
JW = 1j * W


def q_of(r, tau, n):
    return tau**n / r


def zarc(r, q, n):
    return r / (1 + r * q * JW**n)


def rc(r, c):
    return r / (1 + JW * r * c)


def wo(r, tau):
    s = np.sqrt(JW * tau)
    return r / (s * np.tanh(s))


FAMILIES = {
    "3-arc CPE ladder": dict(
        circuit="R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3)",
        impy="R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
        truth=dict(R0=50, R1=175, Q1_Q=q_of(175, 1e-6, 0.9), Q1_n=0.9,
                   R2=450, Q2_Q=q_of(450, 1e-3, 0.85), Q2_n=0.85,
                   R3=2000, Q3_Q=q_of(2000, 1.0, 0.8), Q3_n=0.8),
        numpy=lambda p: p[0] + zarc(p[1], p[2], p[3]) + zarc(p[4], p[5], p[6]) + zarc(p[7], p[8], p[9]),
        taus={"1": ("R1", "Q1_Q", "Q1_n"), "2": ("R2", "Q2_Q", "Q2_n"), "3": ("R3", "Q3_Q", "Q3_n")},
        rtol=0.05,
    ),
    "4-RC pouch ladder": dict(
        circuit="R1 - (R2 | C2) - (R3 | C3) - (R4 | C4) - (R5 | C5)",
        impy="R1-p(R2,C2)-p(R3,C3)-p(R4,C4)-p(R5,C5)",
        # SEEDS §2, Table S4, after formation; τ at the four DRT processes
        truth=dict(R1=0.13, R2=0.04, C2=1e-5 / 0.04, R3=0.16, C3=1e-4 / 0.16,
                   R4=0.13, C4=1e-2 / 0.13, R5=0.39, C5=0.5 / 0.39),
        numpy=lambda p: p[0] + rc(p[1], p[2]) + rc(p[3], p[4]) + rc(p[5], p[6]) + rc(p[7], p[8]),
        taus={"2": ("R2", "C2", None), "3": ("R3", "C3", None), "4": ("R4", "C4", None), "5": ("R5", "C5", None)},
        rtol=0.10,
    ),
    "Randles + open Warburg": dict(
        circuit="R0 - (R1 | Q1) - ((R2 - Wo2) | Q2)",
        impy="R0-p(R1,CPE1)-p(R2-Wo2,CPE2)",
        truth=dict(R0=20, R1=100, Q1_Q=q_of(100, 1e-5, 0.9), Q1_n=0.9, R2=200,
                   Wo2_R=300, Wo2_tau=1.0, Q2_Q=q_of(200, 1e-2, 0.85), Q2_n=0.85),
        numpy=lambda p: p[0] + zarc(p[1], p[2], p[3])
        + 1 / (1 / (p[4] + wo(p[5], p[6])) + p[7] * JW ** p[8]),
        taus={"1": ("R1", "Q1_Q", "Q1_n"), "2": ("R2", "Q2_Q", "Q2_n"), "W": ("Wo2_tau", None, None)},
        rtol=0.05,
    ),
}


def perturbed_start(truth, rng):
    """Positive parameters × a log-uniform factor in [1/3, 3]; CPE exponents ± 0.1."""
    out = {}
    for k, v in truth.items():
        if k.endswith("_n"):
            out[k] = float(np.clip(v + rng.uniform(-0.1, 0.1), 0.5, 1.0))
        else:
            out[k] = v * np.exp(rng.uniform(-np.log(3), np.log(3)))
    return out


def taus_of(fam, v):
    out = {}
    for k, (a, b, n) in fam["taus"].items():
        if b is None:
            out[k] = v[a]
        elif n is None:
            out[k] = v[a] * v[b]
        else:
            out[k] = (v[a] * v[b]) ** (1 / v[n])
    return out


def judge(fam, v) -> bool:
    truth = fam["truth"]
    res_ok = all(abs(v[k] / truth[k] - 1) <= fam["rtol"] for k in truth if k.startswith("R") or k.endswith("_R"))
    t_true, t_fit = taus_of(fam, truth), taus_of(fam, v)
    return res_ok and all(abs(t_fit[k] / t_true[k] - 1) <= 0.2 for k in t_true)


def run_eisfit(fam, spec):
    r = ef.fit(fam["circuit"], spec)
    return r, r.values, r.success


def run_lmfit(fam, spec, start):
    import lmfit

    names = list(fam["truth"])
    params = lmfit.Parameters()
    for k in names:
        hi = 1.0 if k.endswith("_n") else np.inf
        params.add(k, value=min(start[k], 1.0) if k.endswith("_n") else start[k], min=0.0, max=hi)
    z, wt = spec.Z, 1 / np.abs(spec.Z)

    def resid(p):
        zm = fam["numpy"]([p[k].value for k in names])
        d = (zm - z) * wt
        return np.concatenate((d.real, d.imag))

    out = lmfit.minimize(resid, params, method="leastsq")
    return {k: out.params[k].value for k in names}


def run_impedance(fam, spec, start):
    from impedance.models.circuits import CustomCircuit

    names = list(fam["truth"])
    # impedance.py orders parameters by its own traversal; map by position per family
    order = IMPY_ORDER[fam["impy"]]
    guess = [start[k] for k in order]
    cc = CustomCircuit(fam["impy"], initial_guess=guess)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cc.fit(F, spec.Z, weight_by_modulus=True, bounds=None)
    return dict(zip(order, cc.parameters_)) if set(order) == set(names) else {}


IMPY_ORDER = {
    "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)": ["R0", "R1", "Q1_Q", "Q1_n", "R2", "Q2_Q", "Q2_n", "R3", "Q3_Q", "Q3_n"],
    "R1-p(R2,C2)-p(R3,C3)-p(R4,C4)-p(R5,C5)": ["R1", "R2", "C2", "R3", "C3", "R4", "C4", "R5", "C5"],
    "R0-p(R1,CPE1)-p(R2-Wo2,CPE2)": ["R0", "R1", "Q1_Q", "Q1_n", "R2", "Wo2_R", "Wo2_tau", "Q2_Q", "Q2_n"],
}


def timed(fn, *a):
    t = time.perf_counter()
    out = fn(*a)
    return out, time.perf_counter() - t


def jacobian_cost() -> tuple[float, float, float]:
    fam = FAMILIES["3-arc CPE ladder"]
    c = ef.parse(fam["circuit"]).compile()
    theta = np.array(list(fam["truth"].values()))
    p = theta

    def plain():
        return p[0] + p[1] / (1 + p[1] * p[2] * JW ** p[3]) + p[4] / (1 + p[4] * p[5] * JW ** p[6]) \
            + p[7] / (1 + p[7] * p[8] * JW ** p[9])

    def best(fn, n=2000):
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            for _ in range(n):
                fn()
            ts.append((time.perf_counter() - t) / n)
        return min(ts)

    c.z_jac(theta, F)
    t_plain = best(plain)
    t_zj = best(lambda: c.z_jac(theta, F))
    t_z = best(lambda: c.z(theta, F))
    return t_plain, t_z, t_zj


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="spectra per family")
    ap.add_argument("--skip-impedance", action="store_true", help="skip impedance.py (slow)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    cover_hits = cover_total = 0
    for name, fam in FAMILIES.items():
        circuit = ef.parse(fam["circuit"])
        res = {"eisfit": [], "lmfit": [], "impedance.py": []}
        silent = 0
        for i in range(args.n):
            spec = ef.simulate(circuit, F, fam["truth"], noise=0.005, seed=rng)
            start = perturbed_start(fam["truth"], rng)
            (r, v, success), t = timed(run_eisfit, fam, spec)
            ok = judge(fam, v)
            res["eisfit"].append((ok and success, t))
            silent += (not ok) and success
            if success:
                for k in r.free:
                    lo, hi = r.ci[k]
                    cover_total += 1
                    cover_hits += lo <= fam["truth"][k] <= hi
            try:
                v, t = timed(run_lmfit, fam, spec, start)
                res["lmfit"].append((judge(fam, v), t))
            except ValueError:  # lmfit ≥ 1.3 raises when a trial step gives NaN: a failure
                res["lmfit"].append((False, float("nan")))
            if not args.skip_impedance:
                try:
                    v, t = timed(run_impedance, fam, spec, start)
                    res["impedance.py"].append((bool(v) and judge(fam, v), t))
                except Exception:  # impedance.py raises on some divergent fits
                    res["impedance.py"].append((False, float("nan")))
        for tool, lst in res.items():
            if not lst:
                continue
            ok = np.array([a for a, _ in lst])
            ts = np.array([b for _, b in lst])
            rows.append((name, tool, "none" if tool == "eisfit" else "truth ×[1/3,3]",
                         100 * ok.mean(), 1e3 * np.nanmedian(ts)))
        rows.append((name, "eisfit: wrong but success=True", "", 100 * silent / args.n, float("nan")))
    print(f"\n{args.n} spectra per family, 71 points 1 MHz–0.1 Hz, 0.5 % noise\n")
    print(f"{'family':<24}{'tool':<32}{'start':<18}{'success %':>10}{'median ms':>11}")
    for fam, tool, start, pct, ms in rows:
        print(f"{fam:<24}{tool:<32}{start:<18}{pct:>10.1f}{ms:>11.2f}")
    med = {}
    for fam, tool, _, _, ms in rows:
        med[(fam, tool)] = ms
    print("\nmedian time ratio eisfit / lmfit (≤ 1 is the target):")
    for name in FAMILIES:
        print(f"  {name:<24}{med[(name, 'eisfit')] / med[(name, 'lmfit')]:.2f}")
    print(f"\n95 % CI coverage over free parameters of successful eisfit fits: "
          f"{100 * cover_hits / max(cover_total, 1):.1f} % ({cover_hits}/{cover_total})")
    t_plain, t_z, t_zj = jacobian_cost()
    print(f"\n3-arc ladder, 71 points: plain numpy Z {1e6 * t_plain:.1f} µs; eisfit Z {1e6 * t_z:.1f} µs; "
          f"eisfit Z + Jacobian {1e6 * t_zj:.1f} µs  → ratio {t_zj / t_plain:.2f} (target ≤ 3)")


if __name__ == "__main__":
    main()
