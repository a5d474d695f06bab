"""``report.html``: a self-contained page (figures inlined as base64 PNG, no network).

Everything comes from the workers' results — no file is read again and no DRT is
recomputed: the data and the fit of each drawn spectrum are its :class:`FitResult`, the
DRT curves were computed once in the worker for the spectra the report draws.

The page has a headline table per cell (each named group and physical role, first → last,
change with its uncertainty, rounded to its precision; Ω·cm² when an area is known),
per-cell figures (Nyquist overlays along the sequence, DRT overlays, resistances against
cycle, and against capacity or capacity retention when the metadata carry it), a
before/after breakdown by physical role (like SEEDS §1 Table 2), residual plots of the
worst fits, the growth table, failures and poor fits. Figures are also written beside the
page as PNG in ``OUT/figures/``, named by cell; a figure that cannot be drawn is left out
and named in the page's notes and ``run.json`` (the page and the tables stand without it).
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EisfitWarning
from .cache import write_bytes, write_text
from .trend import cell_x

__all__ = ["write_report", "headline", "round_to_precision", "CAPACITY_COLUMNS",
           "cell_figures", "render_figure", "warm_plotting"]

#: Metadata columns read as capacity (first found), then as capacity retention.
CAPACITY_COLUMNS = ("capacity_mAh", "capacity", "Q", "discharge_capacity")
RETENTION_COLUMNS = ("capacity_retention", "retention", "q", "soh")
WORST_FITS = 4


def round_to_precision(value: float, stderr: float) -> str:
    """``value ± stderr`` with the error to two significant digits and the value to match.

    Examples
    --------
    >>> round_to_precision(1.23456, 0.0345)
    '1.235 ± 0.035'
    >>> round_to_precision(80.4, float("nan"))
    '80.4'
    """
    if not math.isfinite(value):
        return "—"
    if not (math.isfinite(stderr) and stderr > 0):
        return f"{value:.4g}"
    digits = max(0, 1 - int(math.floor(math.log10(stderr))))
    return f"{value:.{digits}f} ± {stderr:.{digits}f}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "cell"


def _png(fig) -> bytes:
    """The figure as PNG bytes (closed afterwards). One raster format only: each rendering
    costs ~0.1–0.2 s (vector versions are one ``ef.plot`` call away from the results)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def render_figure(job: tuple) -> bytes | None:
    """Build and render one figure of the report: ``job = (builder name, args)``; runs
    in the run's workers (figures are independent), or in this process."""
    from ..plot import pyplot

    name, args = job
    plt = pyplot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = _BUILDERS[name](plt, *args)
        return None if fig is None else _png(fig)


def warm_plotting() -> None:
    """Import matplotlib in a worker ahead of the figures (run while the tables are built)."""
    from ..plot import pyplot

    pyplot()


def cell_figures(cell, outcomes, cdf) -> dict[str, tuple]:
    """A cell's figures as ``{file name: (builder, args)}``: Nyquist and DRT overlays of
    the outcomes drawn, resistances along the sequence (and against capacity when every
    spectrum has it) from ``cdf``, the cell's resistance rows. Known as soon as the cell is
    tabulated, so a run starts drawing them while it tabulates the next cells."""
    safe = _safe(cell)
    jobs: dict[str, tuple] = {}
    if outcomes:
        jobs[f"{safe}_nyquist"] = ("nyquist", (cell, outcomes))
        jobs[f"{safe}_drt"] = ("drt", (cell, outcomes))
    if cdf is not None and len(cdf):
        jobs[f"{safe}_resistances"] = ("trend", (cell, cdf, _x_axis(cdf)))
        cap = next((c for c in CAPACITY_COLUMNS + RETENTION_COLUMNS if c in cdf.columns
                    and cdf[c].notna().all()), None)
        if cap is not None:
            jobs[f"{safe}_vs_{_safe(cap)}"] = ("capacity", (cell, cdf, cap))
    return jobs


def _render_all(jobs: dict[str, tuple | None], executor, started=None
                ) -> tuple[dict[str, bytes | None], dict[str, str]]:
    """Every figure, and why those that could not be drawn were not: the ones in
    ``started`` (file name → future of :func:`render_figure`; their job is None here) from
    their futures, the others through ``executor`` when it has more than one worker (a
    figure that fails there is drawn again here)."""
    out: dict[str, bytes | None] = {}
    errors: dict[str, str] = {}
    for key, fut in (started or {}).items():
        if key in jobs:
            try:
                out[key] = fut.result()
            except Exception as e:
                errors[key] = f"{type(e).__name__}: {e}"
    rest = [(k, j) for k, j in jobs.items() if k not in out and j is not None]
    if executor is not None and getattr(executor, "workers", 1) > 1 and rest:
        for key, png, err in executor.map_unordered(render_figure, rest):
            if err is None:
                out[key] = png
    for key, job in jobs.items():
        if key in out or job is None:
            continue
        try:
            out[key] = render_figure(job)
        except Exception as e:
            errors[key] = f"{type(e).__name__}: {e}"
    return out, errors


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _label(o) -> str:
    for f in ("state", "cycle", "time", "soc"):
        v = o.meta.get(f)
        if v is not None and str(v) not in ("nan", "<NA>", "None", ""):
            return f"{f} {v}"
    return f"{o.file}[{o.spectrum}]"


def headline(growth, cell: str):
    """The growth rows of one cell worth a headline: groups first, then resistances by role.

    Returns a DataFrame with cell, quantity, role, first, last, change and change % as
    rounded text, and the sentence ``"interfacial resistance of 25C01: +80 ± 4 % over
    260 cycles"`` for the first group.
    """
    import pandas as pd

    g = growth[growth["cell"].astype(str) == str(cell)] if len(growth) else growth
    if not len(g):
        return pd.DataFrame(), ""
    g = g.assign(_o=np.where(g["kind"] == "group", 0, 1)).sort_values(["_o", "parameter"])
    rows = []
    for _, r in g.iterrows():
        rows.append({
            "quantity": r["parameter"] if r["kind"] == "group" else f"{r['parameter']}",
            "role": (r.get("role") if isinstance(r.get("role"), str) else "")
            + (" (not determined by the data: extrapolated or too uncertain)"
               if bool(r.get("poorly_determined", False)) else ""),
            "first (Ω)": round_to_precision(r["first"], r["first_stderr"]),
            "last (Ω)": round_to_precision(r["last"], r["last_stderr"]),
            "change (Ω)": round_to_precision(r["change"], r["change_stderr"]),
            "change (%)": round_to_precision(r["change_pct"], r["change_pct_stderr"]),
            **({"last (Ω·cm²)": round_to_precision(r["last_ohm_cm2"], r["last_stderr_ohm_cm2"])}
               if "last_ohm_cm2" in g.columns and math.isfinite(r.get("last_ohm_cm2", math.nan))
               else {}),
        })
    top = g.iloc[0]
    span = ""
    if top["x"] != "index":
        span = f" over {top['x_last'] - top['x_first']:.4g} {top['x']}" + (
            "s" if top["x"] == "cycle" else "")
    sentence = (f"{top['parameter']} resistance of {cell}: "
                f"{'+' if top['change_pct'] >= 0 else ''}"
                f"{round_to_precision(top['change_pct'], top['change_pct_stderr'])} %{span}")
    return pd.DataFrame(rows), sentence


def _nyquist(plt, cell, outcomes):
    from ..data.spectrum import Spectrum
    from ..plot import nyquist

    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    cmap = plt.get_cmap("viridis")
    for j, o in enumerate(outcomes):
        fr = o.fit
        color = cmap(j / max(1, len(outcomes) - 1))
        f = np.logspace(np.log10(fr.freq.min()), np.log10(fr.freq.max()), 200)
        spec = Spectrum(fr.freq, fr.Z, _checked=True)
        nyquist(spec, fit=(f, fr.impedance(f)), ax=ax, color=color, label=_label(o), equal=False)
    ax.set_title(f"{cell}: data (points) and fits (lines)")
    ax.legend(fontsize=7, loc="best")
    return fig


def _drt(plt, cell, outcomes):
    drawn = [o for o in outcomes if o.drt_tau is not None]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    cmap = plt.get_cmap("viridis")
    for j, o in enumerate(drawn):
        ax.semilogx(o.drt_tau, o.drt_gamma, color=cmap(j / max(1, len(drawn) - 1)),
                    label=_label(o))
    ax.set_xlabel("τ / s")
    ax.set_ylabel("γ / Ω")
    ax.set_title(f"{cell}: distribution of relaxation times")
    ax.legend(fontsize=7)
    return fig


def _x_axis(cdf):
    """The column the cell's growth is taken along (as :func:`.trend.growth` chooses it
    from the successful fits), or None for the position in the sequence."""
    res = cdf[cdf["success"].astype(bool)] if "success" in cdf.columns else cdf
    if res.empty:
        return None
    x = cell_x(res)
    return x if x in cdf.columns else None


def _poorly_determined(rows) -> list[str]:
    """Parameters the fit flagged in any of these rows (beyond the band, CI over a decade)."""
    if "poorly_determined" not in rows or rows.empty:
        return []
    flag = rows["poorly_determined"].fillna(False).astype(bool)
    return sorted(set(rows.loc[flag & (rows["kind"] == "parameter"), "parameter"]))


def _trend(plt, cell, cdf, xname, xlabel=None):
    res = cdf[cdf["success"].astype(bool)]
    left_out = _poorly_determined(res)
    res = res[~res["parameter"].isin(left_out)]  # an extrapolated value would set the scale
    if res.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    for p in dict.fromkeys(res["parameter"]):
        sub = res[res["parameter"] == p]
        x = np.arange(len(sub)) if xname is None else sub[xname].astype(float).to_numpy()
        kind = sub["kind"].iloc[0]
        y, e = sub["value"].to_numpy(float), sub["stderr"].to_numpy(float)
        role = sub["role"].iloc[0] if isinstance(sub["role"].iloc[0], str) else None
        lab = p + (f" ({role})" if role and kind != "group" else "")
        ls = "--" if kind == "group" else "-"
        if len(sub) <= 60:
            ax.errorbar(x, y, yerr=e, marker="s" if kind == "group" else "o", ms=4, capsize=3,
                        ls=ls, label=lab)
        else:
            (ln,) = ax.plot(x, y, ls=ls, lw=1.2, label=lab)
            ax.fill_between(x, y - e, y + e, color=ln.get_color(), alpha=0.25, lw=0)
    ax.set_xlabel(xlabel or xname or "position in sequence")
    ax.set_ylabel("resistance (Ω)")
    ax.set_title(f"{cell}: resistances (±1 standard error)"
                 + (f"\n(left out, not determined by the data: {', '.join(left_out)})"
                    if left_out else ""), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def breakdown_rows(cdf):
    """What the breakdown needs of one cell's resistance rows: the parameter rows of its
    first and last successful spectrum, and the parameters flagged in any of its spectra
    (a run keeps these, not every row)."""
    res = cdf[(cdf["kind"] == "parameter") & cdf["success"].astype(bool)]
    keys = list(zip(res["file"], res["spectrum"]))
    ends = {keys[0], keys[-1]} if keys else set()
    return res[[k in ends for k in keys]], set(_poorly_determined(res))


def _breakdown(plt, ends, cells, left_out):
    """Stacked bars: first vs last spectrum of each cell, one segment per physical role
    (``ends``: the rows :func:`breakdown_rows` keeps).

    Resistances the data do not pin down (an arc beyond the measured band, a confidence
    interval wider than a decade, in any spectrum: ``left_out``) are left out of the bars,
    as out of the default total, and named in the title: stacked, an extrapolated
    resistance would dwarf the measured ones.
    """
    res = ends[~ends["parameter"].isin(left_out)]
    if res.empty:
        return None
    bars = []
    for cell in cells:
        cdf = res[res["cell"].astype(str) == str(cell)]
        keys = list(dict.fromkeys(zip(cdf["file"], cdf["spectrum"])))
        if not keys:
            continue
        for tag, (f, s) in [("first", keys[0])] + ([("last", keys[-1])] if len(keys) > 1 else []):
            sub = cdf[(cdf["file"] == f) & (cdf["spectrum"] == s)]
            parts: dict[str, tuple[float, float]] = {}
            for _, r in sub.iterrows():
                key = r["role"] if isinstance(r["role"], str) else r["parameter"]
                v, e = parts.get(key, (0.0, 0.0))
                parts[key] = (v + float(r["value"]), math.hypot(e, float(r["stderr"]))
                              if math.isfinite(r["stderr"]) else e)
            bars.append((f"{cell}\n{tag}", parts))
    if not bars:
        return None
    names = list(dict.fromkeys(k for _, parts in bars for k in parts))
    fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(bars) + 2), 4.4))
    colors = plt.get_cmap("tab10")
    bottom = np.zeros(len(bars))
    for k, name in enumerate(names):
        h = np.array([parts.get(name, (0.0, 0.0))[0] for _, parts in bars])
        ax.bar(range(len(bars)), h, bottom=bottom, color=colors(k % 10), label=name,
               edgecolor="white", linewidth=0.5)
        bottom += h
    err = [math.sqrt(sum(e**2 for _, e in parts.values())) for _, parts in bars]
    ax.errorbar(range(len(bars)), bottom, yerr=err, fmt="none", ecolor="k", capsize=3)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.set_ylabel("resistance (Ω)")
    title = "Breakdown by physical role, first vs last spectrum of each cell"
    if left_out:
        title += f"\n(left out, not determined by the data: {', '.join(left_out)})"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _residuals(plt, worst):
    if not worst:
        return None
    fig, axs = plt.subplots(1, len(worst), figsize=(3.4 * len(worst), 3.0), squeeze=False)
    for ax, o in zip(axs[0], worst):
        fr = o.fit
        ax.semilogx(fr.freq, 100 * fr.residuals.real, "o-", ms=2, label="Δ real")
        ax.semilogx(fr.freq, 100 * fr.residuals.imag, "s-", ms=2, label="Δ imag")
        if o.kk is not None:
            ax.semilogx(o.kk.freq, 100 * o.kk.residuals_real, ":", color="0.5", label="KK real")
        ax.set_title(f"{o.file}[{o.spectrum}]\n{fr.noise_ratio:.1f}× KK", fontsize=8)
        ax.set_xlabel("f / Hz")
        ax.set_ylabel("residual / % of |Z|")
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def _capacity(plt, cell, cdf, cap):
    fig = _trend(plt, cell, cdf, cap, xlabel=cap.replace("_", " "))
    if fig is not None:
        fig.axes[0].invert_xaxis()  # capacity falls as the cell ages
    return fig


_BUILDERS = {"breakdown": _breakdown, "nyquist": _nyquist, "drt": _drt, "trend": _trend,
             "capacity": _capacity, "residuals": _residuals}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;
color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:12px;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.figs{display:flex;flex-wrap:wrap;gap:12px}.figs img{max-width:100%;border:1px solid #eee}
.note{color:#666;font-size:.9em}.bad{color:#a00}.headline{font-size:1.15em;margin:.3em 0}
"""


def _table(df, float_fmt="{:.4g}") -> str:
    if df is None or len(df) == 0:
        return "<p class='note'>(none)</p>"
    return df.to_html(index=False, na_rep="", border=0,
                      float_format=lambda v: float_fmt.format(v), escape=True)


def write_report(result: Any, tab: Any, out: str | Path, executor=None, started=None) -> Path:
    """Write ``report.html`` and ``figures/*.png`` from a run's tabulated outcomes; the
    figures are drawn by ``executor``'s workers when given (see :func:`render_figure`),
    those in ``started`` (file name → future) already while the run tabulated."""
    from .. import __version__

    out = Path(out)
    figdir = out / "figures"
    growth = result.growth
    opts = result.options
    parts: list[str] = []
    notes: list[str] = []
    cells = list(tab.shown)
    jobs: dict[str, tuple | None] = {}  # figure file name → (builder, args); drawn below

    def fig(name: str, job: tuple | None) -> str:
        jobs[name] = job
        return f"\x00{name}\x00"

    if tab.n_cells:
        parts.append("<h2>Before / after breakdown by physical role</h2><div class='figs'>"
                     + fig("breakdown", ("breakdown", (tab.ends, cells, tab.left_out)))
                     + "</div>")
    for cell in cells:
        safe = _safe(cell)
        table, sentence = headline(growth, cell)
        imgs = [fig(name, job) for name, job in tab.figures[cell].items()]
        parts.append(
            f"<h2>Cell {html.escape(str(cell))}</h2>"
            + (f"<p class='headline'>{html.escape(sentence)}</p>" if sentence else "")
            + _table(table) + f"<p class='note'>figures {html.escape(safe)}_*.png</p>"
            + "<div class='figs'>" + "".join(imgs) + "</div>"
        )
    fitted = [o for outs in tab.shown.values() for o in outs if o.fit is not None]
    worst = sorted(fitted, key=lambda o: -o.fit.noise_ratio)[:WORST_FITS]
    if worst:
        parts.append("<h2>Residuals of the worst fits drawn</h2><div class='figs'>"
                     + fig("worst_residuals", ("residuals", (worst,))) + "</div>")
    images = {}
    pngs, errors = _render_all(jobs, executor, started)
    for name, err in errors.items():  # the page and the tables stand without it
        notes.append(f"figure {name} not drawn: {err}")
        result.notes.append(notes[-1])
        warnings.warn(notes[-1], EisfitWarning, stacklevel=2)
    for name, png in pngs.items():
        if png is not None:
            write_bytes(figdir / f"{name}.png", png, fsync=False)
            images[f"\x00{name}\x00"] = _img(base64.b64encode(png).decode("ascii"), name)
    parts = [re.sub("\x00[^\x00]*\x00", lambda m: images.get(m.group(0), ""), x)
             for x in parts]
    if tab.n_cells > len(cells):
        notes.append(f"figures for {len(cells)} of {tab.n_cells} cells; the tables list all")
    gcols = [c for c in ("cell", "parameter", "kind", "role", "n", "x", "first", "first_stderr",
                         "last", "last_stderr", "change", "change_stderr", "change_pct",
                         "slope", "slope_ci_low", "slope_ci_high", "first_ohm_cm2",
                         "last_ohm_cm2") if len(growth) and c in growth.columns]
    counts = opts.get("counts", {})
    n = counts.get("spectra", 0)
    fails = result.failures[["file", "spectrum", "stage", "error"]] if len(result.failures) else None
    poor = result.poor_fits[["file", "spectrum", "message"]].head(200) if counts.get("poor_fits") else None
    head = (
        f"<h1>eisfit batch report</h1><p>{len(result.files)} files, {n} spectra: "
        f"{n - counts.get('failed', 0) - counts.get('poor_fits', 0)} good fits, "
        f"{counts.get('poor_fits', 0)} poor fits, "
        + (f"<span class='bad'>{counts.get('failed', 0)} failed</span>" if counts.get("failed")
           else "0 failed")
        + f". Model: <code>{html.escape(str(opts.get('model')))}</code>"
        + (f"; automatic models: <code>{html.escape(str(opts.get('auto_models')))}</code>"
           if opts.get("auto_models") else "")
        + f". eisfit {__version__}, "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.</p>"
    )
    body = (
        head + "".join(parts)
        + "<h2>Growth per cell</h2><p class='note'>first/last values ± 1 standard error; slope "
        "per unit of <i>x</i> from a weighted line with 95 % CI; groups (e.g. interfacial) "
        "propagate the fit covariance.</p>" + _table(growth[gcols] if gcols else None)
        + "<h2>Failures</h2>" + _table(fails)
        + "<h2>Poor fits</h2>" + _table(poor)
        + ("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in notes) + "</ul>"
           if notes else "")
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>eisfit batch report</title><style>{_CSS}</style></head><body>{body}"
        "</body></html>"
    )
    return write_text(out / "report.html", page)
