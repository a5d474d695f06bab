"""``report.html``: a self-contained page (figures inlined as base64 PNG, no network).

Per cell: Nyquist overlays of data and fits along the sequence, DRT overlays, and
resistances against cycle with error bars; for all cells a before/after stacked
breakdown of the resistances (like Fig. 4 of the seed paper in SEEDS §1); the growth
table and the list of failures. Every figure is also written beside the page as PNG
and SVG in ``OUT/figures/``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .cache import write_bytes, write_text
from .inputs import natural_key

__all__ = ["write_report", "MAX_CELLS", "MAX_CURVES"]

MAX_CELLS = 12  #: cells with their own figures (the tables list all)
MAX_CURVES = 6  #: spectra drawn per cell along its sequence


def _save(fig, figdir: Path, name: str) -> str:
    """Write PNG and SVG beside the report; return the PNG as base64."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    png = buf.getvalue()
    write_bytes(figdir / f"{name}.png", png)
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", bbox_inches="tight")
    write_bytes(figdir / f"{name}.svg", svg.getvalue())
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(png).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _picks(n: int, k: int = MAX_CURVES) -> list[int]:
    if n <= k:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, k).round().astype(int).tolist()))


def _label(row) -> str:
    for f in ("state", "cycle", "time", "soc"):
        if f in row and row[f] is not None and str(row[f]) not in ("nan", "<NA>", "None"):
            return f"{f} {row[f]}"
    return f"{row['file']}"


def _spectrum(paths: dict, row) -> Any:
    from .. import read

    spectra = read(paths[row["file"]])
    return spectra[int(row["spectrum"])]


def _values(params, row) -> dict[str, float]:
    sub = params[(params["file"] == row["file"]) & (params["spectrum"] == row["spectrum"])
                 & (params["kind"] == "parameter")]
    return dict(zip(sub["parameter"], sub["value"].astype(float)))


def _nyquist_cell(plt, cell, rows, params, paths, fmin, fmax):
    from ..plot import nyquist
    from .models import resolve

    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    cmap = plt.get_cmap("viridis")
    picks = _picks(len(rows))
    spectra = []
    for j, i in enumerate(picks):
        row = rows.iloc[i]
        color = cmap(j / max(1, len(picks) - 1))
        try:
            spec = _spectrum(paths, row)
            if fmin is not None or fmax is not None:
                spec = spec.crop(fmin, fmax)
        except Exception:
            continue
        fit = None
        vals = _values(params, row)
        if vals and row["model"]:
            try:
                c = resolve(row["model"]).circuit()
                f = np.logspace(np.log10(spec.freq.min()), np.log10(spec.freq.max()), 200)
                fit = (f, c.impedance(f, vals))
            except Exception:
                fit = None
        nyquist(spec, fit=fit, ax=ax, color=color, label=_label(row), equal=False)
        spectra.append((row, spec))
    ax.set_title(f"{cell}: data (points) and fits (lines)")
    ax.legend(fontsize=7, loc="best")
    return fig, spectra


def _drt_cell(plt, cell, spectra):
    from .. import drt as _drt  # the public name, wherever the DRT package lives
    from ..plot import drt as plot_drt

    if not spectra:
        return None, "no spectrum"
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    cmap = plt.get_cmap("viridis")
    errors, n = [], 0
    for j, (row, spec) in enumerate(spectra):
        try:
            r = _drt(spec)
            plot_drt(r, ax=ax, label=_label(row), color=cmap(j / max(1, len(spectra) - 1)))
            n += 1
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
    if n == 0:
        plt.close(fig)
        return None, errors[0] if errors else "DRT failed"
    ax.set_title(f"{cell}: distribution of relaxation times")
    ax.legend(fontsize=7)
    return fig, None


def _trend_cell(plt, cell, cdf, growth):
    res = cdf[cdf["unit"] == "Ω"]
    if "success" in res.columns:
        res = res[res["success"].astype(bool)]
    if res.empty:
        return None
    xname = "index"
    if growth is not None and len(growth) and "x" in growth.columns:
        g = growth[growth["cell"].astype(str) == str(cell)]
        if len(g):
            xname = g["x"].iloc[0]
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    for p in dict.fromkeys(res["parameter"]):
        sub = res[res["parameter"] == p]
        x = (np.arange(len(sub)) if xname == "index" or xname not in sub.columns
             else sub[xname].astype(float).to_numpy())
        kind = sub["kind"].iloc[0]
        y, e = sub["value"].to_numpy(float), sub["stderr"].to_numpy(float)
        ls = "--" if kind == "group" else "-"
        if len(sub) <= 60:
            ax.errorbar(x, y, yerr=e, marker="s" if kind == "group" else "o", ms=4, capsize=3,
                        ls=ls, label=p)
        else:  # long sequences: a line with a ±1 standard error band
            (ln,) = ax.plot(x, y, ls=ls, lw=1.2, label=p)
            ax.fill_between(x, y - e, y + e, color=ln.get_color(), alpha=0.25, lw=0)
    ax.set_xlabel(xname)
    ax.set_ylabel("resistance (Ω)")
    ax.set_title(f"{cell}: resistances (±1 standard error)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def _breakdown(plt, params, cells):
    """Stacked bars: first vs last spectrum of each cell, one segment per resistance."""
    res = params[(params["unit"] == "Ω") & (params["kind"] == "parameter")]
    if "success" in res.columns:
        res = res[res["success"].astype(bool)]
    if res.empty:
        return None
    names = list(dict.fromkeys(res["parameter"]))
    bars = []
    for cell in cells:
        cdf = res[res["cell"].astype(str) == str(cell)]
        keys = list(dict.fromkeys(zip(cdf["file"], cdf["spectrum"])))
        if not keys:
            continue
        ends = [("first", keys[0])] + ([("last", keys[-1])] if len(keys) > 1 else [])
        for tag, (f, s) in ends:
            sub = cdf[(cdf["file"] == f) & (cdf["spectrum"] == s)]
            vals = dict(zip(sub["parameter"], sub["value"].astype(float)))
            errs = dict(zip(sub["parameter"], sub["stderr"].astype(float)))
            role = dict(zip(sub["parameter"], sub["role"]))
            bars.append((f"{cell}\n{tag}", vals, errs, role))
    if not bars:
        return None
    fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(bars) + 2), 4.4))
    colors = plt.get_cmap("tab10")
    bottom = np.zeros(len(bars))
    for k, name in enumerate(names):
        h = np.array([b[1].get(name, 0.0) for b in bars])
        roles = {b[3].get(name) for b in bars if isinstance(b[3].get(name), str)}
        lab = name + (f" ({', '.join(sorted(map(str, roles)))})" if roles else "")
        ax.bar(range(len(bars)), h, bottom=bottom, color=colors(k % 10), label=lab,
               edgecolor="white", linewidth=0.5)
        bottom += h
    tot_err = [math.sqrt(sum(v**2 for v in b[2].values() if math.isfinite(v))) for b in bars]
    ax.errorbar(range(len(bars)), bottom, yerr=tot_err, fmt="none", ecolor="k", capsize=3)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.set_ylabel("resistance (Ω)")
    ax.set_title("Resistance breakdown, first vs last spectrum of each cell")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;
color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:12px;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.figs{display:flex;flex-wrap:wrap;gap:12px}.figs img{max-width:100%;border:1px solid #eee}
.note{color:#666;font-size:.9em}.bad{color:#a00}
"""


def _table(df, float_fmt="{:.4g}") -> str:
    if df is None or len(df) == 0:
        return "<p class='note'>(none)</p>"
    return df.to_html(index=False, na_rep="", border=0,
                      float_format=lambda v: float_fmt.format(v), escape=True)


def write_report(result: Any, out: str | Path) -> Path:
    """Write ``report.html`` and ``figures/*.png|svg`` for a :class:`BatchResult`."""
    from .. import __version__
    from ..plot import pyplot

    out = Path(out)
    figdir = out / "figures"
    plt = pyplot()
    params, spectra, growth = result.parameters, result.spectra, result.growth
    paths = dict(zip(result.files["file"], result.files["path"]))
    opts = result.options
    parts: list[str] = []
    notes: list[str] = []
    ok = spectra[spectra["status"] != "failed"] if len(spectra) else spectra
    cells = sorted(ok["cell"].astype(str).unique(), key=natural_key) if "cell" in ok else []
    shown = cells[:MAX_CELLS]
    if len(cells) > MAX_CELLS:
        notes.append(f"figures for the first {MAX_CELLS} of {len(cells)} cells; "
                     "the tables list all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = _breakdown(plt, params, shown) if len(params) else None
        if fig is not None:
            parts.append("<h2>Before / after breakdown</h2><div class='figs'>"
                         + _img(_save(fig, figdir, "breakdown"), "breakdown") + "</div>")
        for i, cell in enumerate(shown):
            rows = ok[ok["cell"].astype(str) == cell].reset_index(drop=True)
            cdf = params[params["cell"].astype(str) == cell] if len(params) else params
            safe = f"cell{i:02d}"
            imgs = []
            fig, picked = _nyquist_cell(plt, cell, rows, params, paths, opts.get("fmin"),
                                        opts.get("fmax"))
            imgs.append(_img(_save(fig, figdir, f"{safe}_nyquist"), f"{cell} Nyquist"))
            fig, why = _drt_cell(plt, cell, picked)
            if fig is not None:
                imgs.append(_img(_save(fig, figdir, f"{safe}_drt"), f"{cell} DRT"))
            else:
                notes.append(f"{cell}: no DRT overlay ({html.escape(str(why))[:200]})")
            fig = _trend_cell(plt, cell, cdf, growth) if len(cdf) else None
            if fig is not None:
                imgs.append(_img(_save(fig, figdir, f"{safe}_resistances"), f"{cell} trend"))
            parts.append(f"<h2>Cell {html.escape(cell)}</h2><p class='note'>{len(rows)} "
                         f"spectra; figure files {safe}_*.png/svg</p><div class='figs'>"
                         + "".join(imgs) + "</div>")
    gcols = [c for c in ("cell", "parameter", "unit", "n", "x", "first", "first_stderr", "last",
                         "last_stderr", "change", "change_stderr", "change_pct", "slope",
                         "slope_ci_low", "slope_ci_high", "first_ohm_cm2", "last_ohm_cm2")
             if len(growth) and c in growth.columns]
    fails = result.failures[["file", "spectrum", "stage", "error"]] if len(spectra) else None
    poor = result.poor_fits[["file", "spectrum", "message"]] if len(spectra) else None
    n = len(spectra)
    head = (
        f"<h1>eisfit batch report</h1><p>{len(result.files)} files, {n} spectra: "
        f"{n - len(result.failures) - len(result.poor_fits)} good fits, "
        f"{len(result.poor_fits)} poor fits, "
        + (f"<span class='bad'>{len(result.failures)} failed</span>" if len(result.failures)
           else "0 failed")
        + f". Model: <code>{html.escape(str(opts.get('model')))}</code>"
        + (f"; auto models: <code>{html.escape(str(opts.get('auto_models')))}</code>"
           if opts.get("auto_models") else "")
        + f". eisfit {__version__}, "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.</p>"
    )
    body = (
        head
        + "<h2>Growth per cell</h2><p class='note'>first/last values ± 1 standard error; slope "
        "per unit of <i>x</i> from a weighted line with 95 % CI; groups (e.g. interfacial) "
        "propagate the fit covariance.</p>"
        + _table(growth[gcols] if gcols else None)
        + "".join(parts)
        + "<h2>Failures</h2>" + _table(fails)
        + "<h2>Poor fits</h2>" + _table(poor)
        + ("<h2>Notes</h2><ul>" + "".join(f"<li>{x}</li>" for x in notes) + "</ul>"
           if notes else "")
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>eisfit batch report</title><style>{_CSS}</style></head><body>{body}"
        "</body></html>"
    )
    return write_text(out / "report.html", page)
