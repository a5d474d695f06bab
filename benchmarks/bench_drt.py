"""DRT benchmark: eisfit.relaxation / eisfit.propose against pyDRTtools and pyimpspec (issue 3).

Run:  python benchmarks/bench_drt.py [--n 20] [--n-dec1 100] [--families 3cpe,4rc,...] [--no-peers]
      python benchmarks/bench_drt.py --quick        # 3 spectra per family, 12 dec1 ladders

Spectra: 71 points, 1 MHz – 10 mHz (8.75 per decade), complex Gaussian noise of 0.5 %
of |Z| on the real and the imaginary part (the convention of ``ef.simulate``), computed
from closed forms. Families (``--n`` spectra each, different seeds; dec1 ``--n-dec1``):

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
dec1       R0 = 5 Ω + a random ladder of 2–4 ZARCs (number uniform), neighbouring time
           constants 1.0–1.5 decades apart (each gap uniform), n uniform in [0.8, 1.0],
           R uniform in 5–50 Ω, every τ at least half a decade inside the measured τ
           window 1/(2π f): a new ladder per spectrum (seeded, ``dec1_ladder``)
=========  ===============================================================================

Columns: median wall and CPU time per spectrum (eisfit: ``ef.drt(spec)`` alone; "peaks ms"
= the first ``.peaks()`` call on its result, which includes the parametric confirmation
of weak maxima); "peaks ok" = share of spectra whose DRT shows exactly the expected number
of processes (zarcws: 2 = the ZARC and the Warburg's main mode); "τ err" = median over
those spectra of the mean |log10 τ_found/τ_true| (decades); "resid %" = median rms of
``DRTResult.residuals`` ((Z − Z_fit)/|Z|, per real/imaginary component, in %; ≈ 0.5 for
0.5 % noise); for eisfit also ``propose()``: share with the right order (number of arcs; for
zarcws one arc plus one diffusion element), share it calls ``adequate``, and its median wall
and CPU time per spectrum (including the DRT it starts from).

Peak rule: eisfit uses ``len(ef.drt(spec).peaks())`` with its defaults (significance ≥ 3 σ,
weaker maxima kept when a fit with one arc per peak needs them). Peers have no
significance: a peak is a local maximum of their γ within the measured τ window whose
prominence is at least 5 % of max γ (scipy ``find_peaks``); "ok@10%" repeats the count with
a 10 % prominence threshold. Peers: see ``_drt_peers.py`` (pyimpspec TR-NNLS as its docs
call it, ``calculate_drt(data, method="tr-nnls")`` with every default).

Targets: dec1 peak count right ≥ 95 % (eisfit); ``ef.drt`` faster than pyimpspec TR-NNLS
in every family (median ms, same run).
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


#: τ window of the measured band (s), and the margin dec1 keeps inside it (decades)
TAU_LO, TAU_HI = 1 / (2 * np.pi * FREQ.max()), 1 / (2 * np.pi * FREQ.min())
DEC1_MARGIN = 0.5


def dec1_ladder(seed: int) -> dict:
    """A random dec1 ladder: 2–4 ZARCs 1.0–1.5 decades apart, inside the window by ≥ ½ decade."""
    rng = np.random.default_rng(10_000 + seed)
    k = int(rng.integers(2, 5))
    gaps = rng.uniform(1.0, 1.5, k - 1)
    lo, hi = np.log10(TAU_LO) + DEC1_MARGIN, np.log10(TAU_HI) - DEC1_MARGIN
    first = rng.uniform(lo, hi - gaps.sum())
    log_tau = first + np.concatenate([[0.0], np.cumsum(gaps)])
    return {"taus": (10.0 ** log_tau).tolist(), "R": rng.uniform(5, 50, k).tolist(),
            "n": rng.uniform(0.8, 1.0, k).tolist(), "gaps": gaps.tolist()}


def family(name: str, seed: int = 0):
    """``(Z, expected_taus, expected_arcs, expected_diffusion)`` for a family name.

    Only ``dec1`` depends on ``seed`` (a new random ladder per spectrum)."""
    f = FREQ
    if name == "dec1":
        lad = dec1_ladder(seed)
        Z = 5 + sum(_zarc(f, R, t, n) for R, t, n in zip(lad["R"], lad["taus"], lad["n"]))
        return Z, lad["taus"], len(lad["taus"]), None
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


def resid_rms(res) -> float:
    """rms of the relative residuals per real/imaginary component, in %."""
    r = getattr(res, "residuals", None)
    if r is None:
        return float("nan")
    r = np.asarray(r)
    if np.iscomplexobj(r):
        r = np.concatenate([r.real, r.imag])
    return 100.0 * float(np.sqrt(np.mean(r**2)))


DEC1_TARGET = 95.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="spectra per family (default 20; quick 3)")
    ap.add_argument("--n-dec1", type=int, default=None,
                    help="spectra of the dec1 family (default 100; quick 12)")
    ap.add_argument("--families", default="3cpe,4rc,2zarc3,2rc2,zarcws,sep1,sep2,sep3,sep4,dec1")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--quick", action="store_true", help="3 spectra per family, 12 dec1 ladders")
    args = ap.parse_args(argv)
    n_fam = args.n if args.n is not None else (3 if args.quick else 20)
    n_dec1 = args.n_dec1 if args.n_dec1 is not None else (12 if args.quick else 100)
    families = args.families.split(",")
    warnings.simplefilter("ignore")
    t_start = time.perf_counter()
    load0 = os.getloadavg()[0]

    runners, missing = ({}, {}) if args.no_peers else load_peers()
    # warm-up (imports, caches, JIT-free but first-call costs)
    Zw = noisy(family("3cpe")[0], 999)
    ef.drt(ef.Spectrum(FREQ, Zw)).peaks()
    ef.propose(ef.Spectrum(FREQ, Zw))
    for name, run in list(runners.items()):
        try:
            run(FREQ, Zw)
        except Exception as exc:  # noqa: BLE001
            missing[name] = f"{type(exc).__name__}: {exc}"
            del runners[name]

    rows = []
    dec1_cases = []
    for fam in families:
        count = n_dec1 if fam == "dec1" else n_fam
        stats = {k: {"t": [], "cpu": [], "ok": [], "ok10": [], "err": []}
                 for k in ["eisfit drt", *runners]}
        peak_t, peak_cpu, resid = [], [], []
        prop_t, prop_cpu, prop_ok, prop_adequate = [], [], [], []
        for seed in range(count):
            Z0, taus, n_arcs, diff = family(fam, seed)
            n_expected = len(taus)
            Zn = noisy(Z0, seed)
            spec = ef.Spectrum(FREQ, Zn)
            t0, c0 = time.perf_counter(), time.process_time()
            res = ef.drt(spec)
            stats["eisfit drt"]["t"].append(time.perf_counter() - t0)
            stats["eisfit drt"]["cpu"].append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            peaks = res.peaks()
            peak_t.append(time.perf_counter() - t0)
            peak_cpu.append(time.process_time() - c0)
            resid.append(resid_rms(res))
            found = [p.tau for p in peaks]
            if fam == "zarcws":  # the Warburg's main mode: position of the maximum
                found = [p.tau_mode for p in peaks]
            stats["eisfit drt"]["ok"].append(len(found) == n_expected)
            stats["eisfit drt"]["ok10"].append(np.nan)
            stats["eisfit drt"]["err"].append(tau_error(found, taus))
            if fam == "dec1":
                lad = dec1_ladder(seed)
                dec1_cases.append({"seed": seed, "k": n_expected, "found": len(found),
                                   "taus": taus, "found_taus": found, "n": lad["n"],
                                   "R": lad["R"], "gaps": lad["gaps"],
                                   "sig": [p.significance for p in res.all_peaks()
                                           if not p.edge]})
            t0, c0 = time.perf_counter(), time.process_time()
            prop = ef.propose(spec, drt_result=res)
            prop_t.append(time.perf_counter() - t0 + stats["eisfit drt"]["t"][-1])
            prop_cpu.append(time.process_time() - c0 + stats["eisfit drt"]["cpu"][-1])
            prop_ok.append(prop.n_arcs == n_arcs and prop.diffusion == diff)
            prop_adequate.append(bool(getattr(prop, "adequate", np.nan)))
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
                "n": count,
                "tool": name,
                "ms": 1e3 * float(np.median(s["t"])),
                "cpu": 1e3 * float(np.median(s["cpu"])),
                "peaks_ms": np.nan,
                "peaks_ok": pct(s["ok"]),
                "ok10": pct(s["ok10"]) if not np.isnan(s["ok10"]).all() else np.nan,
                "tau_err": float(np.nanmedian(err)) if np.isfinite(err).any() else np.nan,
                "resid": np.nan,
                "prop_ok": np.nan,
                "prop_adequate": np.nan,
                "prop_ms": np.nan,
                "prop_cpu": np.nan,
            }
            if name == "eisfit drt":
                row["peaks_ms"] = 1e3 * float(np.median(peak_t))
                row["resid"] = float(np.nanmedian(resid))
                row["prop_ok"] = pct(prop_ok)
                row["prop_adequate"] = pct(prop_adequate)
                row["prop_ms"] = 1e3 * float(np.median(prop_t))
                row["prop_cpu"] = 1e3 * float(np.median(prop_cpu))
            rows.append(row)
        print(f"  done {fam}", file=sys.stderr, flush=True)

    print(f"\nDRT benchmark: {n_fam} spectra per family ({n_dec1} for dec1), 71 points "
          "1 MHz–10 mHz, 0.5 % noise")
    hdr = (f"{'family':8s} {'tool':18s} {'ms/spec':>8s} {'cpu ms':>7s} {'peaks ms':>9s} "
           f"{'peaks ok':>9s} {'ok@10%':>7s} {'τ err/dec':>10s} {'resid %':>8s} "
           f"{'propose ok':>11s} {'adequate':>9s} {'propose ms':>11s} {'cpu ms':>7s}")
    print(hdr)
    print("-" * len(hdr))

    def cell(v, fmt, suffix=""):
        return (format(v, fmt) + suffix) if np.isfinite(v) else "—"

    for r in rows:
        print(
            f"{r['family']:8s} {r['tool']:18s} {cell(r['ms'], '.1f'):>8s} {cell(r['cpu'], '.1f'):>7s} "
            f"{cell(r['peaks_ms'], '.1f'):>9s} "
            f"{cell(r['peaks_ok'], '.0f', '%'):>9s} {cell(r['ok10'], '.0f', '%'):>7s} "
            f"{cell(r['tau_err'], '.3f'):>10s} {cell(r['resid'], '.2f'):>8s} "
            f"{cell(r['prop_ok'], '.0f', '%'):>11s} {cell(r['prop_adequate'], '.0f', '%'):>9s} "
            f"{cell(r['prop_ms'], '.0f'):>11s} {cell(r['prop_cpu'], '.0f'):>7s}"
        )
    for name, why in missing.items():
        print(f"{name}: NOT RUN — {why}")
    all_drt = [r["ms"] for r in rows if r["tool"] == "eisfit drt"]
    all_cpu = [r["cpu"] for r in rows if r["tool"] == "eisfit drt"]
    all_peaks = [r["peaks_ms"] for r in rows if r["tool"] == "eisfit drt"]
    all_prop = [r["prop_ms"] for r in rows if r["tool"] == "eisfit drt"]
    all_prop_cpu = [r["prop_cpu"] for r in rows if r["tool"] == "eisfit drt"]
    print(f"\neisfit drt: median of family medians {np.median(all_drt):.1f} ms wall, "
          f"{np.median(all_cpu):.1f} ms CPU per spectrum; peaks() {np.median(all_peaks):.1f} ms "
          f"(worst family {np.max(all_peaks):.1f} ms); propose (incl. its DRT): worst "
          f"family median {np.max(all_prop):.0f} ms wall, {np.max(all_prop_cpu):.0f} ms CPU")

    # -- targets ------------------------------------------------------------------------
    by = {(r["family"], r["tool"]): r for r in rows}
    print("\nSpeed: ef.drt (automatic λ) vs pyimpspec TR-NNLS, median ms per spectrum, same run")
    speed_hdr = (f"{'family':8s} {'ef.drt':>8s} {'+peaks':>8s} {'TR-NNLS':>8s} "
                 f"{'drt/NNLS':>9s} {'(drt+peaks)/NNLS':>17s} {'verdict':>8s}")
    print(speed_hdr)
    print("-" * len(speed_hdr))
    verdicts = []
    for fam in families:
        e, nn = by.get((fam, "eisfit drt")), by.get((fam, "pyimpspec TR-NNLS"))
        if e is None:
            continue
        if nn is None:
            print(f"{fam:8s} {e['ms']:8.1f} {e['ms'] + e['peaks_ms']:8.1f} {'—':>8s} "
                  f"{'—':>9s} {'—':>17s} {'—':>8s}")
            continue
        ratio = e["ms"] / nn["ms"]
        v = "PASS" if ratio < 1 else "MISS"
        verdicts.append(v)
        print(f"{fam:8s} {e['ms']:8.1f} {e['ms'] + e['peaks_ms']:8.1f} {nn['ms']:8.1f} "
              f"{ratio:9.2f} {(e['ms'] + e['peaks_ms']) / nn['ms']:17.2f} {v:>8s}")
    if "pyimpspec TR-NNLS" in missing or (not runners and args.no_peers):
        print("pyimpspec TR-NNLS not run: " + missing.get("pyimpspec TR-NNLS", "--no-peers"))
    elif verdicts:
        print(f"ef.drt faster than TR-NNLS in {verdicts.count('PASS')} of {len(verdicts)} "
              f"families: {'PASS' if all(v == 'PASS' for v in verdicts) else 'MISS'}")

    if dec1_cases:
        print(f"\nPeak count, dec1 (eisfit len(ef.drt(spec).peaks()), defaults), by ladder size:")
        print(f"{'ZARCs':>5s} {'spectra':>8s} {'right':>6s} {'too few':>8s} {'too many':>9s}")
        for k in (2, 3, 4):
            cs = [c for c in dec1_cases if c["k"] == k]
            if not cs:
                continue
            print(f"{k:5d} {len(cs):8d} {sum(c['found'] == k for c in cs):6d} "
                  f"{sum(c['found'] < k for c in cs):8d} {sum(c['found'] > k for c in cs):9d}")
        right = 100.0 * np.mean([c["found"] == c["k"] for c in dec1_cases])
        v = "PASS" if right >= DEC1_TARGET else "MISS"
        print(f"dec1 peak count right: {right:.1f} % of {len(dec1_cases)} (target ≥ "
              f"{DEC1_TARGET:.0f} %): {v}")
        wrong = [c for c in dec1_cases if c["found"] != c["k"]]
        for c in wrong[:12]:
            print(f"  seed {c['seed']:3d}: {c['k']} ZARCs, found {c['found']}; log10 τ "
                  + " ".join(f"{np.log10(t):+.2f}" for t in c["taus"])
                  + "; gaps " + " ".join(f"{g:.2f}" for g in c["gaps"])
                  + "; n " + " ".join(f"{x:.2f}" for x in c["n"])
                  + "; R " + " ".join(f"{x:.0f}" for x in c["R"])
                  + "; found log10 τ " + " ".join(f"{np.log10(t):+.2f}" for t in c["found_taus"])
                  + "; significance of maxima " + " ".join(f"{x:.1f}" for x in c["sig"]))
        if len(wrong) > 12:
            print(f"  ... and {len(wrong) - 12} more")

    print(f"\nwall time {time.perf_counter() - t_start:.0f} s; load average {load0:.2f} at the "
          f"start, {os.getloadavg()[0]:.2f} at the end on {os.cpu_count()} cores "
          "(other processes on the machine inflate wall times; CPU times do not)")
    return rows


if __name__ == "__main__":
    main()
