"""Run every benchmark in ``benchmarks/`` and write ``BENCHMARKS.md`` at the repository root.

    python benchmarks/run_all.py                       # everything, full size (long)
    python benchmarks/run_all.py --quick               # pass --quick to scripts that take it
    python benchmarks/run_all.py --only fit --args "--n 5"
    python benchmarks/run_all.py --only fit,drt --args "fit=--n 5" --args "drt=--n 3 --no-peers"
    python benchmarks/run_all.py --list

Each ``benchmarks/bench_<name>.py`` runs as its own process (``python benchmarks/bench_<name>.py
ARGS`` from the repository root, so every script keeps its own imports, threads and memory).
Its standard output — the tables, with the peer tools side by side and the ratios — goes into
BENCHMARKS.md verbatim, under the exact command that produced it, with the wall time, the exit
status and the environment (CPU, cores, Python and library versions, date, git commit).

Sections are kept between marker comments: running a subset (``--only``) replaces those
sections and keeps the others, each of which records when and where it was produced.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = ROOT / "BENCHMARKS.md"

#: Arguments a script needs when none are given (positional choices, ...).
DEFAULT_ARGS: dict[str, list[str]] = {"batch": ["all"]}
#: Library versions recorded in the environment table.
PACKAGES = ["eisfit-battery", "numpy", "scipy", "pandas", "lmfit", "impedance", "pyimpspec",
            "pyDRTtools", "cvxpy", "cvxopt", "scikit-learn", "dask", "distributed"]

START = "<!-- benchmark:{name} start -->"
END = "<!-- benchmark:{name} end -->"
SECTION = re.compile(
    r"<!-- benchmark:(?P<name>[\w-]+) start -->\n(?P<body>.*?)<!-- benchmark:(?P=name) end -->",
    re.DOTALL,
)


# -- discovery ----------------------------------------------------------------------------
def discover(folder: Path = HERE) -> dict[str, Path]:
    """``{name: path}`` of every ``bench_<name>.py`` in ``folder``, sorted by name."""
    return {p.stem[len("bench_"):]: p for p in sorted(folder.glob("bench_*.py"))}


def supports_quick(script: Path) -> bool:
    """Whether the script's ``--help`` mentions a ``--quick`` option."""
    try:
        out = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return False
    return "--quick" in out.stdout + out.stderr


def parse_args_option(values: list[str], names: list[str]) -> dict[str, list[str]]:
    """``--args`` values: ``"NAME=ARGS"`` for one benchmark, plain ``"ARGS"`` for the others.

    A benchmark named in a ``NAME=ARGS`` value gets only those arguments; the plain values
    (joined in order) go to every other selected benchmark.
    """
    specific: dict[str, list[str]] = {}
    general: list[str] = []
    seen_general = False
    for v in values:
        m = re.match(r"^([\w-]+)=(.*)$", v, re.DOTALL)
        if m and m.group(1) in names:
            specific.setdefault(m.group(1), []).extend(shlex.split(m.group(2)))
        else:
            general.extend(shlex.split(v))
            seen_general = True
    out = dict(specific)
    if seen_general:
        for n in names:
            out.setdefault(n, list(general))
    return out


# -- environment --------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=30, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30, check=False).stdout.strip()
        return f"{rev}{' (with uncommitted changes)' if dirty else ''}" if rev else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def environment() -> dict[str, str]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count() or 0
    env = {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "git commit": git_commit(),
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
    }
    for pkg in PACKAGES:
        try:
            env[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            env[pkg] = "not installed"
    return env


def env_table(env: dict[str, str]) -> str:
    rows = ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in env.items()]
    return "\n".join(rows)


# -- running ------------------------------------------------------------------------------
def run_one(script: Path, args: list[str], timeout: float | None, echo: bool = True) -> dict:
    """Run one benchmark, streaming its output; returns command, output, status and time."""
    rel = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    cmd = [sys.executable, str(rel), *args]
    shown = " ".join(shlex.quote(c) for c in ["python", *cmd[1:]])
    if echo:
        print(f"\n$ {shown}", flush=True)
    t = time.perf_counter()
    lines: list[str] = []
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    timed_out = threading.Event()

    def _kill():
        timed_out.set()
        proc.kill()

    watchdog = threading.Timer(timeout, _kill) if timeout is not None else None
    err_chunks: list[str] = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    reader.start()  # drain stderr concurrently so a chatty script cannot block on a full pipe
    if watchdog is not None:
        watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # stream while capturing
            lines.append(line)
            if echo:
                print(line, end="", flush=True)
        proc.wait()
    finally:
        if watchdog is not None:
            watchdog.cancel()
    reader.join(timeout=10)
    stderr = "".join(err_chunks)
    status = "timed out" if timed_out.is_set() else None
    elapsed = time.perf_counter() - t
    if status is None:
        status = "ok" if proc.returncode == 0 else f"exit code {proc.returncode}"
    return {"command": shown, "stdout": "".join(lines), "stderr": stderr, "status": status,
            "seconds": elapsed}


def section(name: str, res: dict, env: dict[str, str], reduced: bool) -> str:
    out = [START.format(name=name), f"## {name}", ""]
    out.append(f"Command (from the repository root): `{res['command']}`  ")
    out.append(f"Status: {res['status']}; wall time {res['seconds']:.1f} s; run {env['date (UTC)']} UTC "
               f"at commit {env['git commit']} on {env['cores'].split(',')[0]} cores ({env['CPU']}).")
    if reduced:
        out.append("")
        out.append("> Reduced run (arguments other than the script's defaults): a smoke test, not the "
                   "benchmark's published numbers.")
    out += ["", "```text", res["stdout"].rstrip("\n") or "(no output)", "```"]
    if res["status"] != "ok" and res["stderr"].strip():
        tail = "\n".join(res["stderr"].rstrip().splitlines()[-30:])
        out += ["", "Last lines of standard error:", "", "```text", tail, "```"]
    out += ["", END.format(name=name)]
    return "\n".join(out)


def write_report(path: Path, new_sections: dict[str, str], order: list[str], env: dict[str, str],
                 command: str) -> None:
    old: dict[str, str] = {}
    if path.exists():
        for m in SECTION.finditer(path.read_text(encoding="utf-8")):
            old[m.group("name")] = m.group(0)
    merged = {**old, **new_sections}
    names = [n for n in order if n in merged] + sorted(n for n in merged if n not in order)
    head = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run_all.py`; regenerate everything with",
        "",
        "    python benchmarks/run_all.py",
        "",
        "Each section below is the verbatim standard output of one benchmark script (the tables,",
        "with eisfit and the peer tools side by side and their ratios), under the command that",
        "produced it. Sections not re-run by the latest invocation are kept as they were and",
        "say when and where they were produced.",
        "",
        f"Latest invocation: `{command}`",
        "",
        "## Environment of the latest invocation",
        "",
        env_table(env),
        "",
        "## Contents",
        "",
    ]
    head += [f"- [{n}](#{n})" for n in names]
    body = "\n\n".join(merged[n] for n in names)
    path.write_text("\n".join(head) + "\n\n" + body + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=None,
                    help="comma-separated benchmark names (bench_<name>.py), default: all")
    ap.add_argument("--args", action="append", default=[], metavar="[NAME=]ARGS",
                    help="arguments for the scripts instead of their defaults; 'NAME=ARGS' for one "
                         "benchmark; may be repeated")
    ap.add_argument("--quick", action="store_true",
                    help="pass --quick to the scripts that support it")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per benchmark")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report file (default BENCHMARKS.md)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    a = ap.parse_args(argv)

    found = discover()
    if a.list:
        for n, p in found.items():
            print(f"{n:<10} {p.relative_to(ROOT)}")
        return 0
    names = list(found) if a.only is None else [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in found]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(found)}")
    given = parse_args_option(a.args, names)

    env = environment()
    sections: dict[str, str] = {}
    failed = []
    for n in names:
        args = list(given.get(n, DEFAULT_ARGS.get(n, [])))
        if a.quick and supports_quick(found[n]) and "--quick" not in args:
            args.append("--quick")
        reduced = n in given or "--quick" in args
        res = run_one(found[n], args, a.timeout)
        sections[n] = section(n, res, env, reduced)
        if res["status"] != "ok":
            failed.append(f"{n} ({res['status']})")
            print(f"[{n}: {res['status']}]\n{res['stderr'][-2000:]}", file=sys.stderr)
    command = " ".join(shlex.quote(c) for c in ["python", "benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])])
    write_report(a.out, sections, list(found), env, command)
    print(f"\nwrote {a.out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
