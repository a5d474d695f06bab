"""The ``eisfit`` command line.

::

    eisfit batch DIR --model MODEL --out OUT [--pattern "{cell}_cycle{cycle:d}"] ...
    eisfit batch --example --out eisfit-out
    eisfit fit FILE --model MODEL
    eisfit drt FILE
    eisfit kk FILE
    eisfit circuits

Exit codes: 0 when the command completed (a batch with failed files still completes;
the failures are listed), 2 for usage errors (bad arguments, missing folder, invalid
model), 1 when ``--strict`` is given and a file or fit failed.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from .errors import InputError

__all__ = ["main", "build_parser"]

#: The example cells show an inductive tail, two interfacial arcs, a third small arc at a
#: few hundred mHz and the start of solid-state diffusion below it; fitted jointly per cell
#: (shared inductance; every other parameter smooth along cycling).
EXAMPLE_MODEL = "L0 - R0 - (R1 | Q1) - (R2 | Q2) - (R3 | Q3) - Ws4"
EXAMPLE_PATTERN = "{cell}_cycle{cycle:d}"
EXAMPLE_GROUPS = {"interfacial": ["R1", "R2"]}


class _UsageError(InputError):
    """A command line that cannot be run (exit status 2, message on stderr)."""


def _kv(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from . import __version__

    p = argparse.ArgumentParser(
        prog="eisfit", description="Impedance spectroscopy for battery research."
    )
    p.add_argument("--version", action="version", version=f"eisfit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser(
        "batch",
        help="fit every spectrum in a folder; tables, growth and report in OUT",
        description="Fit every spectrum in one or more folders and write parameters.csv, "
        "spectra.csv, growth.csv, report.html and run.json into OUT. Re-running fits only "
        "new or changed files.",
    )
    b.add_argument("paths", nargs="*", metavar="DIR", help="folders and/or files")
    b.add_argument("--example", action="store_true",
                   help="run on the bundled example (real coin-cell spectra over cycling)")
    b.add_argument("--model", "-m", default=None,
                   help="preset name, circuit text ('R0 - (R1 | Q1)') or 'auto' (default)")
    b.add_argument("--model-for", action="append", type=_kv, default=[], metavar="STATE=MODEL",
                   help="model for spectra whose 'state' metadata is STATE (repeatable)")
    b.add_argument("--out", "-o", default="eisfit-out", help="output folder (default eisfit-out)")
    b.add_argument("--pattern", "-p", default=None,
                   help='file-name template for metadata, e.g. "{cell}_cycle{cycle:d}"')
    b.add_argument("--glob", default="*", help="only files matching this glob (e.g. '*.mpt')")
    b.add_argument("--no-recursive", action="store_true", help="do not search sub-folders")
    b.add_argument("--cell-column", default=None, metavar="FIELD",
                   help="metadata field naming the cell of each spectrum (file name pattern, "
                   "sidecar or a column of the file, e.g. seriesIdx); multi-cell files are split")
    b.add_argument("--order-by", default=None, metavar="FIELD",
                   help="metadata field ordering each cell's sequence (default: state, cycle, "
                   "time, soc)")
    b.add_argument("--sidecar", default=None,
                   help="CSV/Excel table with a 'cell' or 'file' column (area, thickness, ...)")
    b.add_argument("--group", action="append", type=_kv, default=[], metavar="NAME=P1+P2",
                   help="named sum of resistances, e.g. interfacial=R1+R2 (repeatable)")
    b.add_argument("--weight", default="modulus", help="fit weighting (default modulus)")
    b.add_argument("--fmin", type=float, default=None, help="lowest frequency used (Hz)")
    b.add_argument("--fmax", type=float, default=None, help="highest frequency used (Hz)")
    b.add_argument("--joint", action="store_true",
                   help="fit each cell's sequence jointly (shared inductances, smooth trends "
                        "of the rest; the default with --example)")
    b.add_argument("--independent", action="store_true",
                   help="with --example: fit every spectrum on its own")
    b.add_argument("--shared", default=None, metavar="P1,P2",
                   help="with --joint: parameters shared by a cell's spectra "
                        "(default: the inductive elements' parameters)")
    b.add_argument("--no-kk", action="store_true", help="skip the Kramers-Kronig check")
    b.add_argument("--no-warm-start", action="store_true",
                   help="fit every spectrum from scratch")
    b.add_argument("--no-stacked", action="store_true",
                   help="fit spectra one by one, not in stacked blocks of one model")
    b.add_argument("--jobs", "-j", type=int, default=None,
                   help="local worker processes (default: all cores)")
    b.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    b.add_argument("--chunk-size", type=int, default=50, help="files per task (default 50)")
    b.add_argument("--no-cache", action="store_true",
                   help="refit everything and leave the cache untouched")
    b.add_argument("--no-report", action="store_true", help="tables only, no report.html")
    b.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show a progress bar (default: when the terminal is interactive)")
    b.add_argument("--no-progress", dest="progress", action="store_false")
    b.add_argument("--strict", action="store_true",
                   help="exit with status 1 if any file or fit failed")

    f = sub.add_parser("fit", help="fit one file and print the report")
    f.add_argument("file")
    f.add_argument("--model", "-m", required=True, help="preset name or circuit text")
    f.add_argument("--index", type=int, default=None,
                   help="spectrum index in the file (default: all)")
    f.add_argument("--json", action="store_true", help="print FitResult JSON instead")

    d = sub.add_parser("drt", help="distribution of relaxation times of one file")
    d.add_argument("file")
    d.add_argument("--index", type=int, default=0)

    k = sub.add_parser("kk", help="Kramers-Kronig check of one file")
    k.add_argument("file")

    sub.add_parser("circuits", help="list the named circuit presets")
    return p


def _read(path: str):
    from . import read

    return read(path)


def _cmd_batch(a) -> int:
    from .batch import example_folder, run
    from .errors import EisfitError

    paths = list(a.paths)
    model = a.model
    pattern, sidecar = a.pattern, a.sidecar
    groups = {}
    joint = bool(a.joint)
    if a.joint and a.independent:
        raise _UsageError("--joint and --independent exclude each other")
    if a.example:
        joint = not a.independent
        folder, table = example_folder()
        paths = paths or [str(folder)]
        model = model or EXAMPLE_MODEL
        pattern = pattern or EXAMPLE_PATTERN
        sidecar = sidecar or str(table)
        groups.update(EXAMPLE_GROUPS)
    if not paths:
        raise _UsageError("give a folder (eisfit batch DIR --model MODEL) or --example")
    model = model or "auto"
    if a.model_for:
        model = {"*": model, **dict(a.model_for)}
    for name, members in a.group:
        groups[name] = [m.strip() for m in members.replace(",", "+").split("+") if m.strip()]
    progress = sys.stderr.isatty() if a.progress is None else a.progress
    try:
        res = run(
            paths,
            model,
            out=a.out,
            pattern=pattern,
            glob=a.glob,
            recursive=not a.no_recursive,
            sidecar=sidecar,
            groups=groups or None,
            weight=a.weight,
            fmin=a.fmin,
            fmax=a.fmax,
            kk=not a.no_kk,
            warm_start=not a.no_warm_start,
            stacked=not a.no_stacked,
            n_jobs=a.jobs,
            scheduler=a.scheduler,
            chunk_size=a.chunk_size,
            incremental=not a.no_cache,
            progress=progress,
            report=not a.no_report,
            cell_column=a.cell_column,
            order_by=a.order_by,
            joint=joint,
            shared=a.shared,
        )
    except EisfitError as e:
        raise _UsageError(str(e)) from e
    print(res.summary())
    if len(res.growth):
        cols = [c for c in ("cell", "parameter", "first", "last", "change_pct", "slope")
                if c in res.growth.columns]
        with _pd_opts():
            print(res.growth[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if a.strict and len(res.failures):
        return 1
    return 0


class _pd_opts:
    def __enter__(self):
        import pandas as pd

        self._ctx = pd.option_context("display.width", 120, "display.max_rows", 60)
        self._ctx.__enter__()

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def _cmd_fit(a) -> int:
    from . import fit, preset, presets

    # the CLI takes preset names itself (ef.fit takes circuit text or a Preset object)
    model = preset(a.model) if a.model in presets() else a.model
    spectra = _read(a.file)
    picks = range(len(spectra)) if a.index is None else [a.index]
    for i in picks:
        if not 0 <= i < len(spectra):
            raise _UsageError(f"{a.file} holds {len(spectra)} spectra; no index {i}")
        res = fit(model, spectra[i])
        if a.json:
            print(res.to_json())
        else:
            if len(spectra) > 1:
                print(f"== spectrum {i} ==")
            print(res.report())
    return 0


def _cmd_drt(a) -> int:
    from . import drt  # the public name, wherever the DRT package lives

    spectra = _read(a.file)
    if not 0 <= a.index < len(spectra):
        raise _UsageError(f"{a.file} holds {len(spectra)} spectra; no index {a.index}")
    r = drt(spectra[a.index])
    peaks = r.peaks()
    print(f"DRT of {a.file}[{a.index}]: {len(peaks)} peak(s)")
    try:
        import pandas as pd

        df = peaks if isinstance(peaks, pd.DataFrame) else pd.DataFrame(list(peaks))
        print(df.to_string(index=False))
    except Exception:
        for pk in peaks:
            print(" ", pk)
    return 0


def _cmd_kk(a) -> int:
    from . import kk

    spectra = _read(a.file)
    for i, s in enumerate(spectra):
        r = kk(s)
        verdict = "PASS" if r.passed else "FAIL"
        extra = getattr(r, "message", "") or ""
        print(f"{a.file}[{i}]: Kramers-Kronig {verdict} {extra}".rstrip())
    return 0


def _cmd_circuits(a) -> int:
    from . import presets

    for name, p in sorted(presets().items()):
        print(f"{name}\n    {p.circuit}\n    {p.description}")
        if p.groups:
            print("    groups: " + ", ".join(f"{k}={'+'.join(v)}" for k, v in p.groups.items()))
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"eisfit: warning: {message}", file=sys.stderr if file is None else file)


_COMMANDS = {
    "batch": _cmd_batch,
    "fit": _cmd_fit,
    "drt": _cmd_drt,
    "kk": _cmd_kk,
    "circuits": _cmd_circuits,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eisfit`` console script; returns the exit status."""
    from .errors import EisfitError

    parser = build_parser()
    a = parser.parse_args(argv)
    if a.command is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            # library warnings go to stderr once each, as one plain line
            warnings.simplefilter("once")
            warnings.showwarning = _show_warning
            return _COMMANDS[a.command](a)
    except _UsageError as e:
        print(f"eisfit {a.command}: error: {e}", file=sys.stderr)
        return 2
    except (EisfitError, FileNotFoundError) as e:
        print(f"eisfit {a.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
