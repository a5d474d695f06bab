"""Real-data benchmark: ef.propose and ef.fit (presets) on every shared spectrum file, judged
by an independent lin-KK, side by side with pyimpspec and impedance.py fits of the same circuits.

Run from the repository root::

    python benchmarks/bench_real.py                 # every file, <= 8 spectra per file (~10 min)
    python benchmarks/bench_real.py --quick         # <= 2 files per folder, 1 spectrum each (< 1 min)
    python benchmarks/bench_real.py --per-file 3 --no-peers --folders zhang2020,autoeis

Data: every file under ``../shared/data`` (next to the repository) that ``ef.read`` reads.
Skipped and listed: files ``ef.read`` refuses (with its reason); by rule, licences, SOURCE.md /
README, EC-Lab settings (.mps), loop-index files, JSON and sample-info text; spectra with fewer than
8 points (too few for an independent lin-KK); spectra identical (to 1e-3 of |Z|) to one already
taken from another file (.npy / .parquet / .mat copies of a CSV, .mpr vs its text export — binary
copies are visited after text files so the text one is kept). Long series are sampled
deterministically: ``--per-file`` (default 8) evenly spaced spectra (first and last included).
Files are "synthetic" (autoecm, the pyDRTtools/DRTtools ZARC / Havriliak–Negami sets and DRT
reconstructions, Zahner simulation files), "fixture" (gamry-parser's hand-edited test files) or
"real" (the rest); the targets are on real spectra only.

For each spectrum
  * the independent reference: ``benchmarks/_reference_kk.py`` (plain numpy lin-KK, its M
    criterion in its docstring) gives rms_kk, the residual a Kramers–Kronig-consistent impedance
    reaches. Every residual here is rms = sqrt(mean(|Z − Z_model|²/|Z|²)) over the active points.
    A fit is **adequate** when rms_fit ≤ 2.5·rms_kk or rms_fit ≤ 0.5 %;
  * a second, information-only reference, ``passive_rms`` (same module): the best non-negative
    sum of RC and RL relaxations plus R∞, L, C (NNLS). It is the best any ladder of R, C, CPE,
    Warburg, L, La and R‖L elements can do; where even it is inadequate, the data need a negative
    resistance (an instrument or reference-electrode artefact) that lin-KK's free-sign
    coefficients supply and no passive circuit can. Printed: how many real spectra a passive
    model can describe, the proposals' adequacy among them, and for the rest how close the
    proposal comes to that passive bound;
  * ``p = ef.propose(spec)`` with default options (timed, after one warm-up call on a synthetic
    spectrum so that imports are not timed); rms of ``p.circuit`` at ``p.fit.values`` on the whole
    active spectrum; verdict agreement = ``p.fit.success == adequate``; ``p.adequate`` (the new
    "an adequate model was found" flag) is compared too and shown "n/a" if the attribute is missing;
  * ``ef.fit(ef.preset(name), spec)`` for each preset that applies to the folder (PRESETS below,
    from the folders' SOURCE.md), same bookkeeping, reported separately;
  * peers on the same circuits (the proposal's and the presets'), from their defaults:
      - pyimpspec ``fit_circuit(parse_cdc(cdc), DataSet(f, Z), method="least_squares",
        weight="modulus", num_procs=1)`` — pyimpspec's own default initial values per element
        (the circuit is translated to its CDC by ``to_pyimpspec_cdc`` below; eisfit G, H, T, Tb map
        to pyimpspec Ga, Ha, Tlmno, Tlmbo, checked to be the same functions). Its default
        ``method="auto", weight="auto"`` runs 9 methods × 4 weights (≈ 40 s per 3-arc spectrum),
        far beyond this benchmark's budget; ``--pyimpspec-auto`` restores it. Of the single
        methods, lmfit's "leastsq" stalls at a CPE exponent n → 0.1 from pyimpspec's defaults
        (impedance.py/Circuit1_EIS_1.z, 60 % rms) while "least_squares" matched "auto" there;
      - impedance.py ``CustomCircuit(circuit.to_impedance_py(), initial_guess=g).fit(f, Z,
        weight_by_modulus=True)`` (labels renumbered: impedance.py rejects ``CPE_dl``).
        impedance.py has no default starting values, so g is a fixed, documented rule using
        only the data's scale and frequency range: with |Z|~ = median |Z| and n_R
        resistance-like parameters, every resistance (R, Wo/Ws/G/H/T/Tb resistances) is
        |Z|~/n_R; the k-th of n time-constant slots (arcs, Warburgs, Gerischer, …, in circuit
        order) gets τ_k = 1/(2π f_k), f_k log-spaced from the highest to the lowest measured
        frequency at (k + ½)/n; C = τ/R, CPE Q = τ^0.9/R with n = 0.9; L = 0.01·|Z|~/(2π f_max);
        W σ = R·sqrt(2π f_k). Elements impedance.py lacks (H, T) → "unsupported".
    Peers run after all eisfit work, in a pool of 2 processes, so they never share a core with a
    timed eisfit call; a peer fit still running after ``--peer-timeout`` seconds (default 30;
    10 with ``--quick``) is stopped and counted as "timeout" (inadequate).
Printed: skipped files, a per-folder table, the real / synthetic summary, the targets with PASS /
MISS, the worst cases and the verdict disagreements, spectra the reference itself cannot describe.
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import os
import re
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _reference_kk import adequate, lin_kk, passive_rms, rel_rms  # noqa: E402

import eisfit as ef  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MIN_POINTS = 8

# -- file rules ---------------------------------------------------------------------------------
SKIP_BY_RULE = [
    (("LICENSE*", "*/LICENSE*"), "licence text"),
    (("*.md",), "documentation (SOURCE.md / README)"),
    (("*.mps",), "EC-Lab settings file"),
    (("*_LOOP.txt",), "EC-Lab loop-index file"),
    (("*.json",), "JSON metadata"),
    (("*sample_info.txt", "*/ref.txt"), "sample description / reference text"),
]
#: binary or derived copies are visited after text files (so duplicates resolve to the text file)
LATE_SUFFIXES = {".npy", ".parquet", ".mat"}

SYNTHETIC = [
    "autoecm_quantumscape/*",
    "pyDRTtools/tutorial/*",
    "pyDRTtools/EIS_data/text_files/zarc_data.txt",
    "pyDRTtools/EIS_data/text_files/negami_data.txt",
    "DRTtools/import_file_samples/text_files/zarc_data.txt",
    "DRTtools/import_file_samples/text_files/negami_data.txt",
    "DRTtools/import_file_samples/csv_files/data_ZARC.csv",
    "formats_permissive/zahner_ism/ZHIT.ism",
    "formats_permissive/zahner_ism/li-ion-battery.ism",
]
FIXTURE = ["gamry-parser_tests/*"]

#: presets that apply, by file (first match wins), decided from each folder's SOURCE.md
PRESETS = [
    ("hybrid-drt_solid-state/*IonBlocking*", ["blocking_cell"]),
    ("hybrid-drt_solid-state/*SSB*", ["polymer_nmc_after", "randles"]),      # NCM-LPSCl | LPSCl | InLi
    ("hybrid-drt_solid-state/*", ["randles", "pouch_4rc"]),                  # GALVEIS cell under bias
    ("datalab_LiLi_symmetric_GEIS/*", ["lili_symmetric"]),
    ("autoecm_quantumscape/*", []),                                          # own labelled circuits
    ("pyDRTtools/tutorial/*", ["polymer_nmc_before"]),                       # 1-2 ZARC synthetic
    ("*zarc_data.txt", ["polymer_nmc_before"]),
    ("*negami_data.txt", ["polymer_nmc_before"]),
    ("*data_ZARC.csv", ["polymer_nmc_before"]),
    ("pybop_Kuhn2026_LG-MJ1/*", ["randles", "pouch_4rc"]),                   # Li-ion anode vs ref
    ("zhang2020_via_mrs-sp22-tutorial/*", ["randles", "pouch_4rc"]),         # LCO/graphite coin cells
    ("autoeis/battery_data*", ["randles", "pouch_4rc"]),
    ("pyDRTtools/*", ["randles", "pouch_4rc"]),                              # real Li-ion spectra
    ("DRTtools/*", ["randles", "pouch_4rc"]),
    ("impedance.py/exampleData.csv", ["randles", "pouch_4rc"]),              # Li-ion, mΩ
    ("formats_permissive/biologic_mpr_eclab_ge_11.50/*", ["randles", "pouch_4rc"]),  # NMC811 coin
    ("formats_permissive/palmsens_pssession/BatteryCurve*", ["randles", "pouch_4rc"]),
    ("*", ["randles"]),                                                      # generic cell
]


def rel(p: Path) -> str:
    return p.relative_to(SHARED).as_posix()


def match(path: str, patterns) -> bool:
    return any(fnmatch.fnmatch(path, pat) for pat in patterns)


def kind_of(path: str) -> str:
    return "synthetic" if match(path, SYNTHETIC) else "fixture" if match(path, FIXTURE) else "real"


def presets_for(path: str) -> list[str]:
    for pat, names in PRESETS:
        if fnmatch.fnmatch(path, pat):
            return names
    return []


def folder_of(path: str) -> str:
    return path.split("/", 1)[0]


# -- circuit translation for the peers ---------------------------------------------------------
_CDC = {"R": "R", "C": "C", "L": "L", "Q": "Q", "W": "W", "Wo": "Wo", "Ws": "Ws", "G": "Ga",
        "H": "Ha", "T": "Tlmno", "Tb": "Tlmbo"}


def _is_series(node) -> bool:
    cls = getattr(ef, "Series", None)
    return isinstance(node, cls) if isinstance(cls, type) else type(node).__name__ == "Series"


def to_pyimpspec_cdc(circuit) -> str:
    """pyimpspec CDC of an eisfit circuit: ``[...]`` series, ``(...)`` parallel (public API only:
    a node with ``children`` is a series or parallel connection, otherwise an element with ``kind``)."""
    children = getattr(circuit, "children", None)
    if not children:
        if circuit.kind not in _CDC:
            raise ValueError(f"pyimpspec has no element for {circuit.kind}")
        return _CDC[circuit.kind]
    inner = "".join(to_pyimpspec_cdc(c) for c in children)
    return f"[{inner}]" if _is_series(circuit) else f"({inner})"


_IMPY_PREFIXES = ("TLMQ", "CPE", "Wo", "Ws", "La", "Gs", "Zarc", "R", "C", "L", "W", "G", "K", "T")


def impedance_py_string(circuit) -> str:
    """``circuit.to_impedance_py()`` with every element renumbered (R0, CPE1, Wo2, …).

    impedance.py 1.7.1 only accepts numeric labels (``CPE_dl`` → "CPEdl not in allowed
    elements"), so the presets' named labels are replaced, keeping the element order.
    """
    counter = itertools.count()

    def sub(m):
        word = m.group(0)
        for pre in _IMPY_PREFIXES:
            if word.startswith(pre):
                return f"{pre}{next(counter)}"
        return word

    return re.sub(r"(?<![A-Za-z0-9_])(?!p\()[A-Za-z][A-Za-z0-9_]*", sub, circuit.to_impedance_py())


_RES = {"R": [0], "Wo": [0], "Ws": [0], "G": [0], "H": [0], "T": [0, 1], "Tb": [0]}
_TAU_SLOTS = {"C", "Q", "W", "Wo", "Ws", "G", "H", "T", "Tb"}


def impedance_py_guess(circuit, freq, Z) -> list[float]:
    """The documented generic starting values for impedance.py (module docstring)."""
    zs = float(np.median(np.abs(Z)))
    els = list(circuit.elements)
    n_res = sum(len(_RES.get(e.kind, [])) for e in els) or 1
    r = zs / n_res
    slots = [e for e in els if e.kind in _TAU_SLOTS]
    fmax, fmin = float(np.max(freq)), float(np.min(freq))
    taus = {}
    for k, e in enumerate(slots):
        fk = fmax * (fmin / fmax) ** ((k + 0.5) / len(slots))
        taus[e.name] = 1.0 / (2 * np.pi * fk)
    guess: list[float] = []
    for e in els:
        t = taus.get(e.name, 1.0)
        if e.kind == "R":
            guess += [r]
        elif e.kind == "C":
            guess += [t / r]
        elif e.kind == "L":
            guess += [0.01 * zs / (2 * np.pi * fmax)]
        elif e.kind == "Q":
            guess += [t ** 0.9 / r, 0.9]
        elif e.kind == "W":
            guess += [r * np.sqrt(1.0 / t)]  # σ = R·sqrt(2π f_k)
        elif e.kind in ("Wo", "Ws", "G"):
            guess += [r, t]
        elif e.kind == "Tb":
            guess += [r, t ** 0.9 / r, 0.9]
        else:
            raise ValueError(f"impedance.py has no element for {e.kind}")
    return guess


# -- peers (run in worker processes) -------------------------------------------------------------
class PeerTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise PeerTimeout()


def _timed_call(fn, timeout: float):
    """fn() with a wall-clock limit (SIGALRM; the peers call Python code between iterations)."""
    import signal

    if not timeout or not hasattr(signal, "setitimer"):
        return fn()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _peer_job(job: dict) -> dict:
    warnings.simplefilter("ignore")
    f, Z, rms_kk = job["f"], job["Z"], job["rms_kk"]
    out = {"key": job["key"], "pyimpspec": None, "impedance.py": None}
    circuit = ef.parse(job["circuit"])
    if job["pyimpspec"]:
        try:
            import pyimpspec
        except ImportError:
            out["pyimpspec"] = {"status": "not installed"}
        else:
            try:
                cdc = to_pyimpspec_cdc(circuit)
            except ValueError:
                out["pyimpspec"] = {"status": "unsupported"}
            else:
                kw = {} if job["pyimpspec_auto"] else {"method": "least_squares", "weight": "modulus"}
                t = time.perf_counter()
                try:
                    res = _timed_call(lambda: pyimpspec.fit_circuit(
                        pyimpspec.parse_cdc(cdc), pyimpspec.DataSet(f, Z), num_procs=1, **kw),
                        job["timeout"])
                    Zf = res.circuit.get_impedances(f)
                    r = rel_rms(Z, Zf)
                    status = "ok"
                except PeerTimeout:
                    r, status = np.inf, "timeout"
                except Exception as exc:  # a peer failing is a result, not a crash
                    r, status = np.inf, f"failed: {type(exc).__name__}"
                out["pyimpspec"] = {"status": status, "rms": r, "time": time.perf_counter() - t,
                                    "adequate": adequate(r, rms_kk)}
    if job["impedance"]:
        try:
            from impedance.models.circuits import CustomCircuit
        except ImportError:
            out["impedance.py"] = {"status": "not installed"}
        else:
            try:
                text = impedance_py_string(circuit)
                guess = impedance_py_guess(circuit, f, Z)
                cc = CustomCircuit(circuit=text, initial_guess=guess)
                # the parameter order must match ours, or the guess is meaningless
                values = dict(zip(circuit.parameters, guess))
                z0 = cc.predict(f, use_initial=True)
                if rel_rms(circuit.impedance(f, values), z0) > 1e-6:
                    raise ValueError("parameter order differs")
            except Exception:
                out["impedance.py"] = {"status": "unsupported"}
            else:
                t = time.perf_counter()
                try:
                    _timed_call(lambda: cc.fit(f, Z, weight_by_modulus=True), job["timeout"])
                    r = rel_rms(Z, cc.predict(f))
                    status = "ok"
                except PeerTimeout:
                    r, status = np.inf, "timeout"
                except Exception as exc:
                    r, status = np.inf, f"failed: {type(exc).__name__}"
                out["impedance.py"] = {"status": status, "rms": r, "time": time.perf_counter() - t,
                                       "adequate": adequate(r, rms_kk)}
    return out


# -- data walk ----------------------------------------------------------------------------------
def skip_rule(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    for pats, reason in SKIP_BY_RULE:
        if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in pats):
            return reason
    return None


def sample_indices(n: int, k: int) -> list[int]:
    if n <= k:
        return list(range(n))
    return sorted(set(int(round(x)) for x in np.linspace(0, n - 1, k)))


def same_spectrum(a, b) -> bool:
    (fa, za), (fb, zb) = a, b
    if len(fa) != len(fb):
        return False
    ia, ib = np.argsort(fa), np.argsort(fb)
    if not np.allclose(fa[ia], fb[ib], rtol=1e-4):
        return False
    return bool(np.max(np.abs(za[ia] - zb[ib]) / np.abs(za[ia])) < 1e-3)


def walk(per_file: int, folders: list[str] | None, max_files_per_folder: int | None):
    files = [p for p in SHARED.rglob("*") if p.is_file()]
    files.sort(key=lambda p: (p.suffix.lower() in LATE_SUFFIXES, rel(p)))
    by_rule: dict[str, list[str]] = defaultdict(list)
    refused: list[tuple[str, str]] = []
    dups: list[tuple[str, str]] = []
    small: list[tuple[str, str]] = []
    taken: list[dict] = []
    seen: list[tuple[str, int, tuple]] = []
    n_in_folder: Counter = Counter()
    n_read = 0
    for p in files:
        path = rel(p)
        if folders and not any(path.startswith(f) for f in folders):
            continue
        reason = skip_rule(path)
        if reason:
            by_rule[reason].append(path)
            continue
        if max_files_per_folder is not None and n_in_folder[folder_of(path)] >= max_files_per_folder:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spectra = ef.read(p)
        except Exception as exc:
            refused.append((path, f"{type(exc).__name__}: {str(exc).replace(str(p), '').strip(': ,')}"))
            continue
        n_read += 1
        if not spectra:
            refused.append((path, "no spectra"))
            continue
        usable = [i for i, s in enumerate(spectra) if len(s.active()[0]) >= MIN_POINTS]
        if not usable:
            sizes = sorted({len(s.active()[0]) for s in spectra})
            small.append((path, f"{len(spectra)} spectra of {'/'.join(map(str, sizes))} points"))
            continue
        idx = [usable[i] for i in sample_indices(len(usable), per_file)]
        new = 0
        dup_of = None
        for i in idx:
            f, Z = spectra[i].active()
            f, Z = np.asarray(f, float), np.asarray(Z, complex)
            hit = next(((q, j) for q, j, fz in seen if same_spectrum(fz, (f, Z))), None)
            if hit:
                dup_of = dup_of or f"{hit[0]}#{hit[1]}"
                continue
            seen.append((path, i, (f, Z)))
            taken.append({"file": path, "index": i, "n_in_file": len(spectra), "spec": spectra[i],
                          "f": f, "Z": Z, "kind": kind_of(path), "presets": presets_for(path)})
            new += 1
        if new == 0:
            dups.append((path, dup_of))
        else:
            n_in_folder[folder_of(path)] += 1
    return taken, {"by_rule": by_rule, "refused": refused, "dups": dups, "small": small,
                   "n_read": n_read, "n_files": len(files)}


# -- statistics helpers -------------------------------------------------------------------------
def pct(xs) -> str:
    xs = [bool(x) for x in xs if x is not None]
    return f"{100 * sum(xs) / len(xs):5.1f} %" if xs else "   n/a"


def pct_val(xs) -> float | None:
    xs = [bool(x) for x in xs if x is not None]
    return 100 * sum(xs) / len(xs) if xs else None


def med(xs) -> str:
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return f"{statistics.median(xs):6.3f}" if xs else "   n/a"


def mx(xs) -> str:
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return f"{max(xs):6.3f}" if xs else "   n/a"


def table(head, rows) -> str:
    rows = [[str(c) for c in r] for r in rows]
    w = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join("{:<%d}" % x for x in w)
    out = [fmt.format(*head), fmt.format(*("-" * x for x in w))]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out)


# -- eisfit work --------------------------------------------------------------------------------
def model_rms(circuit, values, f, Z, fallback) -> float:
    try:
        Zm = circuit.impedance(f, dict(values))
        if np.all(np.isfinite(Zm)):
            return rel_rms(Z, Zm)
    except Exception:
        pass
    if fallback is not None:
        fz, zz, zf = fallback
        return rel_rms(zz, zf)
    return np.inf


def run_eisfit(rec: dict, caught: Counter) -> None:
    spec, f, Z = rec["spec"], rec["f"], rec["Z"]
    ref = lin_kk(f, Z)
    rec["rms_kk"], rec["M_kk"] = ref.rms, ref.M
    rec["rms_passive"] = passive_rms(f, Z)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        try:
            p = ef.propose(spec)
            err = None
        except Exception as exc:
            p, err = None, f"{type(exc).__name__}: {exc}"
        dt = time.perf_counter() - t
        prop = {"time": dt, "error": err}
        if p is not None:
            r = model_rms(p.circuit, p.fit.values, f, Z, (p.fit.freq, p.fit.Z, p.fit.Z_fit))
            prop.update(circuit=str(p.circuit), rms=r, adequate=adequate(r, ref.rms),
                        success=bool(p.fit.success), p_adequate=getattr(p, "adequate", None))
        else:
            prop.update(circuit=None, rms=np.inf, adequate=False, success=None, p_adequate=None)
        rec["propose"] = prop
        rec["fits"] = []
        for name in rec["presets"]:
            try:
                c = ef.preset(name)
            except Exception as exc:
                rec["fits"].append({"name": name, "time": np.nan, "error": f"preset: {exc}", "circuit": None,
                                    "rms": np.inf, "adequate": False, "success": None})
                continue
            t = time.perf_counter()
            try:
                res = ef.fit(c, spec)
                err = None
            except Exception as exc:
                res, err = None, f"{type(exc).__name__}: {exc}"
            dt = time.perf_counter() - t
            d = {"name": name, "time": dt, "error": err, "circuit": str(c.circuit)}
            if res is not None:
                r = model_rms(c.circuit, res.values, f, Z, (res.freq, res.Z, res.Z_fit))
                d.update(rms=r, adequate=adequate(r, ref.rms), success=bool(res.success))
            else:
                d.update(rms=np.inf, adequate=False, success=None)
            rec["fits"].append(d)
    for x in w:
        caught[x.category.__name__] += 1


def warm_up() -> None:
    s = ef.simulate(ef.ladder(2, "RQ"), np.logspace(5, -2, 50),
                    {"R0": 1, "R1": 2, "Q1_Q": 1e-5, "Q1_n": 0.9, "R2": 3, "Q2_Q": 0.1, "Q2_n": 0.8},
                    noise=0.005, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ef.propose(s)
        ef.fit(ef.preset("randles"), s)


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="<= 2 files per folder, 1 spectrum per file, peers on the proposal only (< 1 min)")
    ap.add_argument("--per-file", type=int, default=None, help="spectra sampled per file (default 8)")
    ap.add_argument("--folders", default=None, help="comma-separated folder prefixes of ../shared/data")
    ap.add_argument("--no-peers", action="store_true", help="skip pyimpspec and impedance.py")
    ap.add_argument("--pyimpspec-auto", action="store_true",
                    help="pyimpspec with its default method='auto', weight='auto' (very slow)")
    ap.add_argument("--workers", type=int, default=2, help="processes for the peer fits")
    ap.add_argument("--peer-timeout", type=float, default=None,
                    help="seconds before a peer fit is stopped and counted as 'timeout' "
                         "(default 30, 10 with --quick)")
    ap.add_argument("--worst", type=int, default=12, help="worst cases listed")
    a = ap.parse_args(argv)
    per_file = a.per_file or (1 if a.quick else 8)
    if a.peer_timeout is None:
        a.peer_timeout = 10.0 if a.quick else 30.0
    folders = [x.strip() for x in a.folders.split(",")] if a.folders else None
    t_start = time.perf_counter()

    if not SHARED.is_dir():
        print(f"shared data not found at {SHARED}")
        return 1
    recs, info = walk(per_file, folders, 2 if a.quick else None)
    caught: Counter = Counter()
    warm_up()
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for rec in recs:
        run_eisfit(rec, caught)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t_eisfit = time.perf_counter() - t_start

    # peers: same circuits, after the eisfit phase
    peer_status = {}
    for name, mod in (("pyimpspec", "pyimpspec"), ("impedance.py", "impedance")):
        try:
            __import__(mod)
            peer_status[name] = "ok"
        except ImportError:
            peer_status[name] = "not installed"
    jobs = []
    if not a.no_peers:
        for k, rec in enumerate(recs):
            targets = []
            if rec["propose"]["circuit"]:
                targets.append(("propose", rec["propose"]["circuit"]))
            if not a.quick:
                targets += [(d["name"], d["circuit"]) for d in rec["fits"] if d["circuit"]]
            for role, text in targets:
                jobs.append({"key": (k, role), "f": rec["f"], "Z": rec["Z"], "rms_kk": rec["rms_kk"],
                             "circuit": text, "pyimpspec": peer_status["pyimpspec"] == "ok",
                             "impedance": peer_status["impedance.py"] == "ok",
                             "pyimpspec_auto": a.pyimpspec_auto, "timeout": a.peer_timeout})
    for rec in recs:
        rec["peers"] = {}
    t_peer0 = time.perf_counter()
    if jobs:
        if a.workers > 1:
            with ProcessPoolExecutor(max_workers=a.workers) as pool:
                results = list(pool.map(_peer_job, jobs, chunksize=1))
        else:
            results = [_peer_job(j) for j in jobs]
        for res in results:
            k, role = res["key"]
            recs[k]["peers"][role] = res
    t_peers = time.perf_counter() - t_peer0

    # -- report ---------------------------------------------------------------------------------
    print(f"eisfit {ef.__version__}; numpy {np.__version__}; data {SHARED}")
    print(f"adequate: rms_fit <= 2.5 x rms_kk or <= 0.5 %; rms = sqrt(mean(|Z - Z_model|^2/|Z|^2)); "
          f"rms_kk from benchmarks/_reference_kk.py (numpy lin-KK, plateau M criterion)")
    print(f"sampling: <= {per_file} evenly spaced spectra per file"
          + (", <= 2 files per folder (quick)" if a.quick else "")
          + f"; eisfit defaults throughout; peers: "
          + ("skipped (--no-peers)" if a.no_peers else
             f"pyimpspec {peer_status['pyimpspec']} ("
             + ("method/weight auto" if a.pyimpspec_auto else "least_squares, modulus weight")
             + f", default starts), impedance.py {peer_status['impedance.py']} "
               "(generic starts, modulus weight)"
             + ("; on the proposal's circuit only (quick)" if a.quick else "")))
    print()

    print(f"Files: {info['n_files']} under shared/data, {info['n_read']} read by ef.read, "
          f"{len({r['file'] for r in recs})} used, {len(recs)} spectra "
          f"({sum(r['kind'] == 'real' for r in recs)} real, "
          f"{sum(r['kind'] == 'synthetic' for r in recs)} synthetic, "
          f"{sum(r['kind'] == 'fixture' for r in recs)} fixture)")
    print("Skipped by rule: " + "; ".join(f"{reason} ({len(v)})" for reason, v in info["by_rule"].items()))
    if info["refused"]:
        print(f"Refused by ef.read ({len(info['refused'])}):")
        for path, why in info["refused"]:
            print(f"  {path}: {why[:110]}")
    if info["small"]:
        print(f"Skipped, fewer than {MIN_POINTS} points per spectrum:")
        for path, why in info["small"]:
            print(f"  {path}: {why}")
    if info["dups"]:
        print("Skipped, same spectra as an earlier file:")
        for path, of in info["dups"]:
            print(f"  {path} = {of}")
    print()

    def fits_of(rs, which):
        if which == "propose":
            return [r["propose"] for r in rs]
        return [d for r in rs for d in r["fits"]]

    def peer_of(rs, peer, which):
        out = []
        for r in rs:
            for role, res in r["peers"].items():
                if (which == "propose") == (role == "propose") and res.get(peer):
                    out.append(res[peer])
        return out

    def peer_cell(rs, peer, which="propose"):
        if a.no_peers:
            return "skipped"
        if peer_status[peer] != "ok":
            return "not installed"
        ps = peer_of(rs, peer, which)
        ok = [x for x in ps if x["status"] not in ("unsupported",)]
        uns = len(ps) - len(ok)
        cell = pct([x["adequate"] for x in ok]).strip()
        return cell + (f" ({uns} unsup.)" if uns else "")

    # per-folder table
    rows = []
    groups = defaultdict(list)
    for r in recs:
        groups[(folder_of(r["file"]), r["kind"])].append(r)
    for (folder, kind), rs in sorted(groups.items()):
        P = fits_of(rs, "propose")
        F = fits_of(rs, "presets")
        rows.append([
            folder[:32], kind, len({r["file"] for r in rs}), len(rs),
            f"{statistics.median(r['rms_kk'] for r in rs) * 100:.2f} %",
            pct([x["adequate"] for x in P]),
            pct([x["success"] == x["adequate"] for x in P if x["success"] is not None]),
            pct([x["p_adequate"] == x["adequate"] for x in P if x["p_adequate"] is not None]),
            f"{med([x['time'] for x in P])}/{mx([x['time'] for x in P])}",
            pct([x["adequate"] for x in F]) if F else "   -",
            pct([x["success"] == x["adequate"] for x in F if x["success"] is not None]) if F else "   -",
            peer_cell(rs, "pyimpspec"), peer_cell(rs, "impedance.py"),
        ])
    print("Per folder (eisfit defaults; peers fit the proposal's circuit)")
    print(table(["folder", "kind", "files", "spectra", "rms_kk med", "propose adequate",
                 "success agrees", "p.adequate agrees", "propose s med/max", "presets adequate",
                 "presets agree", "pyimpspec adequate", "impedance.py adequate"], rows))
    print()

    # summary
    summary_rows = []
    targets_data = {}
    for kind in ("real", "synthetic", "fixture"):
        rs = [r for r in recs if r["kind"] == kind]
        if not rs:
            continue
        P, F = fits_of(rs, "propose"), fits_of(rs, "presets")
        errs = sum(1 for x in P + F if x.get("error"))
        summary_rows.append([kind, "eisfit propose", len(P), pct([x["adequate"] for x in P]),
                             pct([x["success"] == x["adequate"] for x in P if x["success"] is not None]),
                             pct([x["p_adequate"] == x["adequate"] for x in P if x["p_adequate"] is not None]),
                             med([x["time"] for x in P]), mx([x["time"] for x in P]),
                             sum(1 for x in P if x.get("error"))])
        summary_rows.append([kind, "eisfit presets", len(F), pct([x["adequate"] for x in F]),
                             pct([x["success"] == x["adequate"] for x in F if x["success"] is not None]),
                             "-", med([x["time"] for x in F]), mx([x["time"] for x in F]),
                             sum(1 for x in F if x.get("error"))])
        for peer in ("pyimpspec", "impedance.py"):
            for which, label in (("propose", "proposal's circuit"), ("presets", "presets")):
                if a.quick and which == "presets":
                    continue
                if a.no_peers or peer_status[peer] != "ok":
                    summary_rows.append([kind, f"{peer} ({label})", 0,
                                         "skipped" if a.no_peers else "not installed", "-", "-", "-", "-", "-"])
                    continue
                ps = peer_of(rs, peer, which)
                ok = [x for x in ps if x["status"] != "unsupported"]
                summary_rows.append([kind, f"{peer} ({label})", len(ok), pct([x["adequate"] for x in ok]),
                                     "-", "-", med([x["time"] for x in ok]), mx([x["time"] for x in ok]),
                                     f"{sum(1 for x in ok if x['status'] == 'timeout')} timeout, "
                                     f"{sum(1 for x in ok if x['status'].startswith('failed'))} failed, "
                                     f"{len(ps) - len(ok)} unsupported"])
        if kind == "real":
            targets_data = {"P": P, "F": F, "errs": errs}
    print("Summary (fits: number of fits; agreement: success == independent adequacy; times in s)")
    print(table(["spectra", "method", "fits", "adequate", "success agrees", "p.adequate agrees",
                 "median s", "max s", "errors"], summary_rows))
    print()

    # targets
    print("Targets (real spectra)")
    if targets_data:
        P, F = targets_data["P"], targets_data["F"]
        ad = pct_val([x["adequate"] for x in P])
        allfits = [x for x in P + F if x["success"] is not None]
        ag = pct_val([x["success"] == x["adequate"] for x in allfits])
        agP = pct_val([x["success"] == x["adequate"] for x in P if x["success"] is not None])
        times = [x["time"] for x in P]
        real = [r for r in recs if r["kind"] == "real"]
        Pp = [r["propose"] for r in real if adequate(r["rms_passive"], r["rms_kk"])]
        Pn = [(r["propose"], r["rms_passive"]) for r in real
              if not adequate(r["rms_passive"], r["rms_kk"])]
        tmed, tmax = statistics.median(times), max(times)
        rows = [
            ["proposal adequate", ">= 98 %", f"{ad:.1f} % of {len(P)}", "PASS" if ad >= 98 else "MISS"],
            ["success agrees (all fits)", ">= 98 %", f"{ag:.1f} % of {len(allfits)}" if ag is not None else "n/a",
             "PASS" if ag is not None and ag >= 98 else "MISS"],
            ["  of which proposals", "(info)", f"{agP:.1f} % of {len(P)}" if agP is not None else "n/a", ""],
            ["  spectra a passive model can describe", "(info)",
             f"{len(Pp)} of {len(P)} (non-negative RC + RL reference adequate)", ""],
            ["  proposal adequate among them", "(info)",
             f"{pct_val([x['adequate'] for x in Pp]):.1f} % of {len(Pp)}" if Pp else "n/a", ""],
            ["  proposal within 1.25x the passive bound, the rest", "(info)",
             f"{pct_val([x['rms'] <= 1.25 * rp for x, rp in Pn]):.1f} % of {len(Pn)}" if Pn else "n/a", ""],
            ["median propose time", "<= 0.3 s", f"{tmed:.3f} s", "PASS" if tmed <= 0.3 else "MISS"],
            ["max propose time", "<= 3 s", f"{tmax:.3f} s ({sum(t > 3 for t in times)} over)",
             "PASS" if tmax <= 3 else "MISS"],
        ]
        print(table(["target", "goal", "measured", "verdict"], rows))
    else:
        print("  no real spectra in this selection")
    print()

    # worst cases and disagreements
    allrows = []
    for r in recs:
        items = [("propose", r["propose"])] + [(d["name"], d) for d in r["fits"]]
        for role, x in items:
            allrows.append((r, role, x))
    real_rows = [t for t in allrows if t[0]["kind"] == "real"]

    def line(r, role, x):
        ratio = x["rms"] / r["rms_kk"] if r["rms_kk"] > 0 else np.inf
        return [f"{r['file']}#{r['index']}", role, f"{x['rms'] * 100:.2f} %" if np.isfinite(x["rms"]) else "inf",
                f"{r['rms_kk'] * 100:.2f} %", f"{ratio:.1f}" if np.isfinite(ratio) else "inf",
                f"{r['rms_passive'] * 100:.2f} %",
                "ok" if x["adequate"] else "INADEQUATE", {True: "True", False: "False", None: "error"}[x["success"]],
                (x.get("circuit") or x.get("error") or "")[:60] if role == "propose" else (x.get("error") or "")[:60]]

    head = ["spectrum", "fit", "rms_fit", "rms_kk", "ratio", "passive", "reference", "success", "proposed circuit / error"]
    worst = sorted([t for t in real_rows if t[1] == "propose"],
                   key=lambda t: -(t[2]["rms"] / max(t[0]["rms_kk"], 1e-12)))[: a.worst]
    print(f"Worst proposals on real spectra (by rms_fit / rms_kk, top {len(worst)})")
    print(table(head, [line(*t) for t in worst]))
    print()
    dis = [t for t in real_rows if t[2]["success"] is not None and t[2]["success"] != t[2]["adequate"]]
    print(f"Verdict disagreements on real spectra ({len(dis)}; success vs independent adequacy)")
    if dis:
        print(table(head, [line(*t) for t in dis[:25]]))
        if len(dis) > 25:
            print(f"  ... and {len(dis) - 25} more")
    print()
    hard = [r for r in recs if r["rms_kk"] > 0.02]
    print(f"Spectra with rms_kk > 2 % (very noisy, or no KK-consistent impedance describes them): {len(hard)}")
    for r in hard:
        print(f"  {r['file']}#{r['index']} ({r['kind']}): rms_kk {r['rms_kk'] * 100:.1f} % at M={r['M_kk']}")
    print()
    tot = time.perf_counter() - t_start
    print(f"warnings collected during eisfit calls: "
          + (", ".join(f"{k} x{v}" for k, v in caught.most_common()) or "none"))
    print(f"wall time: {tot:.0f} s (eisfit phase {t_eisfit:.0f} s, peers {t_peers:.0f} s on {a.workers} processes); "
          f"1-min load average {load0:.1f} before / {load1:.1f} after the timed eisfit phase "
          f"on {os.cpu_count()} cores (timings are only as clean as that)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
