# %% [markdown]
# # Real cycling data: a batch over coin cells, resistance vs cycle vs capacity
#
# **Data**: Zhang, Tang, Zhang, Wang, Stimming & Lee (2020), *Identifying degradation patterns
# of lithium ion batteries from impedance spectroscopy using machine learning*, Nat. Commun.
# 11, 1706 (data: Zenodo doi:10.5281/zenodo.3633835), as processed in the NREL MRS Spring 2022
# tutorial (github.com/battery-data-commons/mrs-sp22-tutorial, MIT licence): LCO/graphite coin
# cells at 25 °C, EIS at 100 % SOC ("state V") after a 15 min rest, 20 kHz – 20 mHz, with the
# discharge capacity of every cycle.
#
# The notebook reads the full table from `../shared/data/zhang2020_via_mrs-sp22-tutorial` when
# it sits beside the repository (every 20th cycle of all eight cells); otherwise it uses the
# 18-spectrum subset bundled with eisfit (`eisfit/_examples`, three cells). It writes one file
# per spectrum into a temporary folder — the situation `ef.batch.run` is made for: a folder
# of spectra with a file-name pattern and a sidecar table of metadata — and nothing into the
# repository.
#
# A second part fits one real **solid-state** spectrum (hybrid-drt data, BSD-3) when
# `../shared/data` is present.

# %%
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import eisfit as ef

# Jupyter runs a notebook in its own folder: the repository is its parent, ../shared sits beside it
SHARED = Path(os.environ.get("EISFIT_SHARED_DATA", Path.cwd().parent.parent / "shared" / "data"))
ZHANG = SHARED / "zhang2020_via_mrs-sp22-tutorial"
SSB = SHARED / "hybrid-drt_solid-state" / "tutorials" / "PEIS_SSB.mpr"
tmp = tempfile.TemporaryDirectory(prefix="eisfit-nb05-")
work = Path(tmp.name)
print("shared data:", SHARED.resolve() if SHARED.exists() else "not found — using bundled data")

# %% [markdown]
# ## The spectra and the sidecar table

# %%
if (ZHANG / "data_eis_zhang2020.csv").exists():
    with warnings.catch_warnings():
        # the table stores −Im Z under "ZImag": the reader detects it, flips it, and warns
        warnings.simplefilter("ignore", ef.EisfitWarning)
        table = ef.read(
            ZHANG / "data_eis_zhang2020.csv", frequencies=ZHANG / "freq_eis_zhang2020.csv"
        )
    print(
        f"{len(table)} spectra in the full table; sign flipped by the reader: "
        f"{table[0].meta['imag_sign_flipped']}"
    )
    folder = work / "zhang2020"
    folder.mkdir()
    rows = []
    by_cell = {}
    for s in table:
        by_cell.setdefault(int(s.meta["seriesIdx"]), []).append(s)
    for idx, specs in sorted(by_cell.items()):
        specs = sorted(specs, key=lambda s: s.meta["cycle"])
        keep = specs[::20] + ([specs[-1]] if (len(specs) - 1) % 20 else [])
        for s in keep:
            cell, cycle = f"25C{idx:02d}", int(s.meta["cycle"])
            name = f"{cell}_cycle{cycle}.csv"
            pd.DataFrame(
                {"freq_Hz": s.freq, "z_real_ohm": s.Z.real, "z_imag_ohm": s.Z.imag}
            ).to_csv(folder / name, index=False)
            rows.append(dict(file=name, capacity_mAh=s.meta["Q"], capacity_retention=s.meta["q"]))
    sidecar = work / "cells.csv"
    pd.DataFrame(rows).to_csv(sidecar, index=False)
    source = "full table, every 20th cycle"
else:
    folder, sidecar = ef.batch.example_folder()
    source = "bundled subset"
side = pd.read_csv(sidecar)
print(f"{source}: {len(side)} spectra in {folder}")
side.head()

# %% [markdown]
# ## The model
# Two depressed arcs (high-frequency: surface films / contact; mid-frequency: charge transfer),
# an inductance for the cables, a series resistance, and a CPE for the low-frequency diffusion
# line — the model of the quickstart notebook, checked there against the DRT proposal. Before
# running it on every file, a look at how it does on the first and last spectrum of one cell:

# %%
MODEL = "L0 - R0 - (R1 | Q1) - (R2 | Q2) - Q3"
first_cell = min(side.file).split("_")[0]
cell_files = sorted(
    (f for f in side.file if f.startswith(first_cell)),
    key=lambda f: int(f.split("cycle")[1].split(".")[0]),
)
fig, ax = plt.subplots(1, 3, figsize=(16, 4.2))
for name, c in ((cell_files[0], "C0"), (cell_files[-1], "C3")):
    spec = ef.read(Path(folder) / name)[0]
    fit = ef.fit(MODEL, spec)
    print(
        f"{name}: success={fit.success}, residual/noise={fit.noise_ratio:.2f}, "
        f"KK passed={ef.kk(spec).passed}"
    )
    ef.plot.nyquist(spec, fit, ax=ax[0], color=c, label=name)
    ef.plot.bode(spec, fit, axes=(ax[1], ax[2]), color=c)
ax[0].legend()
ax[0].set_title(f"cell {first_cell}: first and last spectrum with fits")
ax[1].set_title("|Z|")
ax[2].set_title("−phase")
ax[1].set_xlabel("frequency (Hz)")
fig.tight_layout()

# %% [markdown]
# ## The batch
# One call: discover the files, take `cell` and `cycle` from the file names, join the sidecar
# table (capacity), fit every spectrum (each warm-started from the previous cycle of the same
# cell, arcs kept in time-constant order), KK-check each, and tabulate growth per cell.
# Outputs (CSV/Parquet tables, `run.json`, and the fit cache that makes a re-run incremental)
# go to the temporary folder; `report=True` (the CLI's default) would also write the
# self-contained `report.html` with its figures — left out here to keep the notebook fast.

# %%
result = ef.batch.run(
    folder,
    MODEL,
    pattern="{cell}_cycle{cycle:d}",
    sidecar=sidecar,
    out=work / "out",
    groups={"interfacial": ["R1", "R2"]},
    n_jobs=2,
    report=False,
)
print(result.summary())
print(sorted(p.name for p in (work / "out").iterdir()))
result.spectra[["file", "cell", "cycle", "status", "chi2_red", "kk_passed", "flags"]].head(10)

# %%
params = result.parameters
wide = params.pivot_table(
    index=["cell", "cycle", "capacity_retention", "capacity_mAh"],
    columns="parameter",
    values="value",
).reset_index()
err = params.pivot_table(
    index=["cell", "cycle"], columns="parameter", values="stderr"
).reset_index()
wide = wide.merge(err, on=["cell", "cycle"], suffixes=("", "_err"))
wide[
    ["cell", "cycle", "capacity_retention", "R0", "R1", "R2", "interfacial", "interfacial_err"]
].head(12)

# %% [markdown]
# ## Resistance of each element against cycle, and against capacity

# %%
cells = sorted(wide.cell.unique())
names = {"R0": "R0 (ohmic)", "R1": "R1 (high-f arc)", "R2": "R2 (mid-f arc)"}
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
cmap = plt.get_cmap("tab10")
for ax, (p, label) in zip(axes, names.items()):
    for k, cell in enumerate(cells):
        d = wide[wide.cell == cell].sort_values("cycle")
        ax.errorbar(
            d.cycle,
            d[p],
            yerr=d[f"{p}_err"],
            fmt="o-",
            ms=3,
            lw=1,
            capsize=2,
            color=cmap(k),
            label=cell,
        )
    ax.set_title(label)
    ax.set_xlabel("cycle")
    ax.grid(True, alpha=0.3)
axes[0].set_ylabel("resistance (Ω)")
axes[-1].legend(fontsize=8, ncol=2)
fig.suptitle("fitted resistances over cycling (error bars: standard errors)")
fig.tight_layout()

# %%
fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
for ax, p in zip(axes, ["R0", "R1", "R2", "interfacial"]):
    for k, cell in enumerate(cells):
        d = wide[wide.cell == cell].sort_values("cycle")
        ax.plot(d.capacity_retention, d[p], "o-", ms=3, lw=1, color=cmap(k), label=cell)
    ax.set_xlabel("capacity retention (Q / Q₁)")
    ax.set_title(names.get(p, "interfacial = R1 + R2"))
    ax.invert_xaxis()
    ax.grid(True, alpha=0.3)
axes[0].set_ylabel("resistance (Ω)")
axes[-1].legend(fontsize=8, ncol=2)
fig.suptitle("resistance against capacity fade (x axis reversed: ageing runs left to right)")
fig.tight_layout()

# %% [markdown]
# How strongly does each resistance follow the capacity fade? Pearson correlation per cell
# (negative: resistance grows as capacity falls), and the batch's growth table (first → last
# spectrum, slope per cycle with its confidence interval):

# %%
corr = []
for cell in cells:
    d = wide[wide.cell == cell]
    row = dict(
        cell=cell, spectra=len(d), last_retention=d.sort_values("cycle").capacity_retention.iloc[-1]
    )
    for p in ("R0", "R1", "R2", "interfacial"):
        row[f"r({p}, Q)"] = np.corrcoef(d[p], d.capacity_retention)[0, 1]
    corr.append(row)
pd.DataFrame(corr).round(3)

# %%
g = result.growth
g[g.parameter.isin(["R0", "R1", "R2", "interfacial"])][
    [
        "cell",
        "parameter",
        "first",
        "last",
        "change_pct",
        "change_pct_stderr",
        "slope",
        "slope_ci_low",
        "slope_ci_high",
    ]
].round(5)

# %% [markdown]
# ## A real solid-state spectrum
# NCM–LPSCl composite | LPSCl | InLi half cell near 0 % SOC, 25 °C, 50 MPa (hybrid-drt
# tutorial data, J. Huang, BSD-3-Clause), BioLogic `.mpr`, 7 MHz – 10 mHz. Read, KK check,
# DRT, and the DRT proposal with the fitter's verdict on it.

# %%
if SSB.exists():
    ssb = ef.read(SSB)[0]
    print(ssb)
    print({k: ssb.meta[k] for k in ("technique", "E_dc", "I_dc") if k in ssb.meta})
    kk_ssb = ef.kk(ssb)
    print(kk_ssb)
    drt_ssb = ef.drt(ssb)
    print(drt_ssb)
    prop_ssb = ef.propose(ssb, drt_result=drt_ssb)
    print(prop_ssb)
    print(prop_ssb.fit.report())
else:
    ssb = None
    print(
        f"NOTE: {SSB} not found (../shared/data is not beside the repository); "
        "skipping the solid-state part."
    )

# %%
if ssb is not None:
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.3))
    ef.plot.nyquist(ssb, prop_ssb.fit, ax=ax[0], label="data")
    ax[0].set_title(f"PEIS_SSB.mpr and the proposed fit\n{prop_ssb.circuit}", fontsize=9)
    ax[0].legend()
    drt_ssb.plot(ax=ax[1])
    ax[1].set_title("DRT")
    f = prop_ssb.fit
    rel = (f.Z - f.Z_fit) / np.abs(f.Z)
    ax[2].semilogx(f.freq, 100 * rel.real, "o-", ms=3, label="fit residual, real")
    ax[2].semilogx(f.freq, 100 * rel.imag, "s-", ms=3, label="fit residual, imag")
    ax[2].semilogx(
        kk_ssb.freq, 100 * kk_ssb.residuals_real, ":", color="0.4", label="KK residual, real"
    )
    ax[2].set_xlabel("frequency (Hz)")
    ax[2].set_ylabel("% of |Z|")
    ax[2].legend(fontsize=8)
    ax[2].grid(True, which="both", alpha=0.3)
    ax[2].set_title(
        f"fit: {'success' if f.success else 'FAILED'} (residual/noise {f.noise_ratio:.1f})"
    )
    fig.tight_layout()

# %% [markdown]
# The fitter judges the proposed ladder against the noise level of the spectrum (from a
# Kramers–Kronig-consistent reference fit); this spectrum is very precise (compare the KK
# residuals with the fit residuals), so a few-arc ladder that misses by a percent is
# reported as FAILED instead of being passed off as a result. The DRT of this wide-band
# spectrum spreads over many decades rather than forming a few separate peaks — a
# distributed process; for a porous composite cathode a transmission-line element (`T`,
# `Tb` in eisfit's circuit language) is the physically motivated next candidate to try.

# %%
tmp.cleanup()  # the batch outputs lived in a temporary folder
