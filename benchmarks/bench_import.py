"""Start-up cost: ``python -c "import eisfit as ef; ef.fit, ef.drt, ef.kk"`` (issue target ≤ 0.3 s).

Each command runs in a fresh interpreter, interleaved with the same interpreter importing
only numpy and doing nothing, so the table separates eisfit's own share from the machine's.
Bytecode caching is switched on for the runs (an installed wheel has compiled ``.pyc``
files; some development shells set ``PYTHONDONTWRITEBYTECODE``).

    python benchmarks/bench_import.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python (nothing)": "pass",
    "import numpy": "import numpy",
    "import eisfit; ef.fit, ef.drt, ef.kk": "import eisfit as ef; ef.fit, ef.drt, ef.kk",
    "import eisfit; ef.read": "import eisfit as ef; ef.read",
    "import scipy.optimize (peer stacks)": "import scipy.optimize",
    "import impedance.models.circuits (peer)": "import impedance.models.circuits",
    "import pyimpspec (peer)": "import pyimpspec",
}
TARGET = 0.3


def wall(code: str, env: dict) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    runnable = {}
    for label, code in COMMANDS.items():
        try:
            wall(code, env)  # warm-up: writes the .pyc files, fills the OS cache
            runnable[label] = code
        except subprocess.CalledProcessError:
            print(f"skipped (not installed): {label}")
    times: dict[str, list[float]] = {k: [] for k in runnable}
    for _ in range(a.runs):
        for label, code in runnable.items():
            times[label].append(wall(code, env))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nmedian wall time of {a.runs} fresh interpreters (1-min load {load:.1f})")
    print(f"{'command':42s} {'median s':>9s} {'min s':>7s}")
    for label, ts in times.items():
        print(f"{label:42s} {statistics.median(ts):9.3f} {min(ts):7.3f}")
    med = {k: statistics.median(v) for k, v in times.items()}
    key = "import eisfit; ef.fit, ef.drt, ef.kk"
    own = med[key] - med["import numpy"]
    verdict = "ok" if med[key] <= TARGET else "MISS"
    print(f"\ntarget ≤ {TARGET} s: {med[key]:.3f} s ({verdict}); eisfit's share above numpy: "
          f"{own * 1e3:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
