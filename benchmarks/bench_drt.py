"""DRT benchmark: eisfit.relaxation / eisfit.propose against pyDRTtools and pyimpspec (issue 3).

Run:  python benchmarks/bench_drt.py [--n 20] [--families 3cpe,4rc,...] [--no-peers]

Spectra: 71 points, 1 MHz – 10 mHz (8.75 per decade), complex Gaussian noise of 0.5 %
of |Z| on the real and the imaginary part (the convention of ``ef.simulate``), computed
from closed forms. Families (``--n`` spectra each, different seeds):

=========  ===============================================================================
3cpe       R0 = 5 Ω + three R‖CPE, τ = 1e-6 / 1e-3 / 1 s, R = 10 / 20 / 30 Ω, n = 0.85 / 0.8 / 0.75
4rc        pouch ladder of SEEDS.md §2, Table S4 "before cycling": R1 = 0.15 Ω series,
           R2..R5 = 0.05 / 0.14 / 0.11 / 0.38 Ω as R‖C at τ = 1e-5 / 1e-4 / 1e-2 / 0.5 s
2zarc3     R0 = 5 Ω + two ZARCs, 20 Ω each, τ = 1e-3 and 3e-3 s (a factor 3), n = 0.9
2rc2       R0 = 5 Ω + two R‖C, 20 Ω each, τ = 1e-3 and 2e-3 s (a factor 2)
zarcws     R0 = 5 Ω + ZARC (20 Ω, 1e-4 s, n = 0.85) + transmissive finite Warburg
           Ws (R = 30 Ω, T = 10 s); its DRT main mode is at 4T/π² = 4.05 s
sep1..4    R0 = 5 Ω + 1..4 ZARCs two decades apart (τ = 1e-5, 1e-3, 1e-1, 10 s),
           R = 10, 20, 30, 40 Ω, n = 0.85 (the "well-separated arcs" of the issue)
=========  ===============================================================================

Columns: median wall and CPU time per spectrum; "peaks ok" = share of spectra whose DRT shows exactly
the expected number of processes (zarcws: 2 = the ZARC and the Warburg's main mode);
"τ err" = median over those spectra of the mean |log10 τ_found/τ_true| (decades);
for eisfit also ``propose()``: share with the right order (number of arcs; for zarcws
one arc plus one diffusion element) and its median wall and CPU time per spectrum
(including the DRT it starts from).

Peak rule: eisfit uses ``DRTResult.peaks()`` (its posterior/refit significance, default
threshold). Peers have no significance: a peak is a local maximum of their γ within the
measured τ window whose prominence is at least 5 % of max γ (scipy ``find_peaks``);
"ok@10%" repeats the count with a 10 % prominence threshold.
All tools run single-threaded BLAS (OPENBLAS_NUM_THREADS=1 set before numpy loads) with
one warm-up call each; times exclude data generation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
from scipy.signal import find_peaks

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from _drt_peers import load_peers

import eisfit as ef

FREQ = np.logspace(6, -2, 71)


def _zarc(f, R, tau, n):
    return R / (1 + (2j * np.pi * f * tau) ** n)


def _rc(f, R, tau):
    return R / (1 + 2j * np.pi * f * tau)


def _ws(f, R, T):
    s = np.sqrt(2j * np.pi * f * T)
    return R * np.tanh(s) / s


def family(name: str):
    """``(Z, expected_taus, expected_arcs, expected_diffusion)`` for a family name."""
    f = FREQ
    if name == "3cpe":
        Z = 5 + _zarc(f, 10, 1e-6, 0.85) + _zarc(f, 20, 1e-3, 0.8) + _zarc(f, 30, 1.0, 0.75)
        return Z, [1e-6, 1e-3, 1.0], 3, None
    if name == "4rc":
        taus, Rs = [1e-5, 1e-4, 1e-2, 0.5], [0.05, 0.14, 0.11, 0.38]
        return 0.15 + sum(_rc(f, R, t) for R, t in zip(Rs, taus)), taus, 4, None
    if name == "2zarc3":
        return 5 + _zarc(f, 20, 1e-3, 0.9) + _zarc(f, 20, 3e-3, 0.9), [1e-3, 3e-3], 2, None
    if name == "2rc2":
        return 5 + _rc(f, 20, 1e-3) + _rc(f, 20, 2e-3), [1e-3, 2e-3], 2, None
    if name == "zarcws":
        Z = 5 + _zarc(f, 20, 1e-4, 0.85) + _ws(f, 30, 10.0)
        return Z, [1e-4, 4 * 10.0 / np.pi**2], 1, "Ws"
    if name.startswith("sep"):
        k = int(name[3:])
        taus = [10.0 ** (-5 + 2 * i) for i in range(k)]
        Z = 5 + sum(_zarc(f, 10 * (i + 1), t, 0.85) for i, t in enumerate(taus))
        return Z, taus, k, None
    raise SystemExit(f"unknown family {name!r}")


def noisy(Z, seed, eps=0.005):
    rng = np.random.default_rng(seed)
    return Z + eps * np.abs(Z) * (rng.standard_normal(Z.size) + 1j * rng.standard_normal(Z.size))


def count_peaks(tau, gamma, rel=0.05):
    """Peer peak rule: maxima inside the measured window, prominence ≥ rel · max γ."""
    lo, hi = 1 / (2 * np.pi * FREQ.max()), 1 / (2 * np.pi * FREQ.min())
    g = np.asarray(gamma, float)
    if not np.any(g > 0):
        return []
    idx, _ = find_peaks(np.concatenate([[0.0], g, [0.0]]), prominence=rel * g.max())
    idx = idx - 1
    return [float(tau[i]) for i in idx if lo <= tau[i] <= hi]


def tau_error(found, expected):
    if len(found) != len(expected):
        return np.nan
    return float(np.mean(np.abs(np.log10(np.sort(found) / np.sort(expected)))))


def pct(xs):
    return 100.0 * float(np.mean(xs)) if len(xs) else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="spectra per family (default 20)")
    ap.add_argument("--families", default="3cpe,4rc,2zarc3,2rc2,zarcws,sep1,sep2,sep3,sep4")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args(argv)
    families = args.families.split(",")
    warnings.simplefilter("ignore")

    runners, missing = ({}, {}) if args.no_peers else load_peers()
    # warm-up (imports, caches, JIT-free but first-call costs)
    Zw = noisy(family("3cpe")[0], 999)
    ef.drt(ef.Spectrum(FREQ, Zw))
    ef.propose(ef.Spectrum(FREQ, Zw))
    for name, run in list(runners.items()):
        try:
            run(FREQ, Zw)
        except Exception as exc:  # noqa: BLE001
            missing[name] = f"{type(exc).__name__}: {exc}"
            del runners[name]

    rows = []
    for fam in families:
        Z0, taus, n_arcs, diff = family(fam)
        n_expected = len(taus)
        stats = {k: {"t": [], "cpu": [], "ok": [], "ok10": [], "err": []}
                 for k in ["eisfit drt", *runners]}
        prop_t, prop_cpu, prop_ok = [], [], []
        for seed in range(args.n):
            Zn = noisy(Z0, seed)
            spec = ef.Spectrum(FREQ, Zn)
            t0, c0 = time.perf_counter(), time.process_time()
            res = ef.drt(spec)
            stats["eisfit drt"]["t"].append(time.perf_counter() - t0)
            stats["eisfit drt"]["cpu"].append(time.process_time() - c0)
            found = [p.tau for p in res.peaks()]
            if fam == "zarcws":  # the Warburg's main mode: position of the maximum
                found = [p.tau_mode for p in res.peaks()]
            stats["eisfit drt"]["ok"].append(len(found) == n_expected)
            stats["eisfit drt"]["ok10"].append(np.nan)
            stats["eisfit drt"]["err"].append(tau_error(found, taus))
            t0, c0 = time.perf_counter(), time.process_time()
            prop = ef.propose(spec, drt_result=res)
            prop_t.append(time.perf_counter() - t0 + stats["eisfit drt"]["t"][-1])
            prop_cpu.append(time.process_time() - c0 + stats["eisfit drt"]["cpu"][-1])
            prop_ok.append(prop.n_arcs == n_arcs and prop.diffusion == diff)
            for name, run in runners.items():
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    tau, gamma = run(FREQ, Zn)
                except Exception:  # noqa: BLE001 - a failed run counts as wrong
                    stats[name]["t"].append(time.perf_counter() - t0)
                    stats[name]["cpu"].append(time.process_time() - c0)
                    stats[name]["ok"].append(False)
                    stats[name]["ok10"].append(False)
                    stats[name]["err"].append(np.nan)
                    continue
                stats[name]["t"].append(time.perf_counter() - t0)
                stats[name]["cpu"].append(time.process_time() - c0)
                found = count_peaks(tau, gamma)
                stats[name]["ok"].append(len(found) == n_expected)
                stats[name]["ok10"].append(len(count_peaks(tau, gamma, 0.10)) == n_expected)
                stats[name]["err"].append(tau_error(found, taus))
        for name, s in stats.items():
            err = np.array(s["err"], float)
            row = {
                "family": fam,
                "tool": name,
                "ms": 1e3 * float(np.median(s["t"])),
                "cpu": 1e3 * float(np.median(s["cpu"])),
                "peaks_ok": pct(s["ok"]),
                "ok10": pct(s["ok10"]) if not np.isnan(s["ok10"]).all() else np.nan,
                "tau_err": float(np.nanmedian(err)) if np.isfinite(err).any() else np.nan,
                "prop_ok": np.nan,
                "prop_ms": np.nan,
                "prop_cpu": np.nan,
            }
            if name == "eisfit drt":
                row["prop_ok"] = pct(prop_ok)
                row["prop_ms"] = 1e3 * float(np.median(prop_t))
                row["prop_cpu"] = 1e3 * float(np.median(prop_cpu))
            rows.append(row)
        print(f"  done {fam}", file=sys.stderr, flush=True)

    print(f"\nDRT benchmark: {args.n} spectra per family, 71 points 1 MHz–10 mHz, 0.5 % noise")
    hdr = (f"{'family':8s} {'tool':18s} {'ms/spec':>8s} {'cpu ms':>7s} {'peaks ok':>9s} "
           f"{'ok@10%':>7s} {'τ err/dec':>10s} {'propose ok':>11s} {'propose ms':>11s} {'cpu ms':>7s}")
    print(hdr)
    print("-" * len(hdr))
    def cell(v, fmt, suffix=""):
        return (format(v, fmt) + suffix) if np.isfinite(v) else "—"

    for r in rows:
        print(
            f"{r['family']:8s} {r['tool']:18s} {cell(r['ms'], '.1f'):>8s} {cell(r['cpu'], '.1f'):>7s} "
            f"{cell(r['peaks_ok'], '.0f', '%'):>9s} {cell(r['ok10'], '.0f', '%'):>7s} "
            f"{cell(r['tau_err'], '.3f'):>10s} "
            f"{cell(r['prop_ok'], '.0f', '%'):>11s} {cell(r['prop_ms'], '.0f'):>11s} "
            f"{cell(r['prop_cpu'], '.0f'):>7s}"
        )
    for name, why in missing.items():
        print(f"{name}: NOT RUN — {why}")
    all_drt = [r["ms"] for r in rows if r["tool"] == "eisfit drt"]
    all_cpu = [r["cpu"] for r in rows if r["tool"] == "eisfit drt"]
    all_prop = [r["prop_ms"] for r in rows if r["tool"] == "eisfit drt"]
    all_prop_cpu = [r["prop_cpu"] for r in rows if r["tool"] == "eisfit drt"]
    print(f"\neisfit drt: median of family medians {np.median(all_drt):.1f} ms wall, "
          f"{np.median(all_cpu):.1f} ms CPU per spectrum; propose (incl. its DRT): worst "
          f"family median {np.max(all_prop):.0f} ms wall, {np.max(all_prop_cpu):.0f} ms CPU")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(other processes on the machine inflate wall times; CPU times do not)")
    return rows


if __name__ == "__main__":
    main()
