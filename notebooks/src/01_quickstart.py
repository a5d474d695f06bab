# %% [markdown]
# # eisfit quickstart: read → check → fit → report → plot
#
# This notebook takes one **real** impedance spectrum — an LCO/graphite coin cell of
# Zhang et al. (2020), 25 °C, 100 % SOC, first cycle — and goes through the everyday steps:
#
# 1. read the file (`ef.read` sniffs the format),
# 2. Kramers–Kronig check (`ef.kk`): is the spectrum consistent with a linear, stable system?
# 3. fit an equivalent circuit **without starting values** (`ef.fit`),
# 4. read the report: values, uncertainties, 95 % confidence intervals, derived time
#    constants and capacitances, and the fitter's own verdict,
# 5. Nyquist and Bode plots with the fit, residuals,
# 6. what happens with a model that is too simple (the fit says so),
# 7. let the DRT propose the number of arcs (`ef.propose`).
#
# The spectrum ships with eisfit (`eisfit/_examples`, MIT-licensed source, see its
# `SOURCE.md`), so this notebook runs from a fresh clone.

# %%
import matplotlib.pyplot as plt
import numpy as np

import eisfit as ef

print("eisfit", ef.__version__)
folder, sidecar = ef.batch.example_folder()  # bundled real spectra (Zhang et al. 2020)
path = folder / "25C01_cycle1.csv"
print(path.name)
print(path.read_text().splitlines()[:4])

# %% [markdown]
# ## 1. Read
# `ef.read` returns a list (some files hold many spectra); each `Spectrum` carries
# frequencies, complex impedance, which points to use, and metadata.

# %%
spectra = ef.read(path)
spec = spectra[0]
print(spec)
print(dict(spec.meta))
spec.to_frame().head()

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 4))
ef.plot.nyquist(spec, ax=ax[0], label="25C01, cycle 1")
ax[0].legend()
ax[0].set_title("Nyquist")
f, Z = spec.freq, spec.Z
ax[1].semilogx(f, Z.real, "o", ms=3, label="Z'")
ax[1].semilogx(f, -Z.imag, "s", ms=3, label="−Z''")
ax[1].set_xlabel("frequency (Hz)")
ax[1].set_ylabel("Ω")
ax[1].legend()
ax[1].grid(True, which="both", alpha=0.3)
ax[1].set_title("real and imaginary parts")
fig.tight_layout()

# %% [markdown]
# Two depressed arcs (contact/SEI at high frequency, charge transfer in the middle), an
# inductive tail above ~10 kHz (cables and the cell's winding) and a steep capacitive
# line at low frequency (solid-state diffusion into fully lithiated graphite / LCO).
#
# ## 2. Kramers–Kronig check
# A linear KK test (Schönleber's μ criterion chooses the number of RC elements); a
# point fails when its residual exceeds `n_sigma` times the estimated noise.

# %%
kk = ef.kk(spec)
print(kk)
print(f"noise level ≈ {kk.noise:.2%} of |Z|, {int(kk.inconsistent.sum())} inconsistent points")
ax = kk.plot()
ax.set_title("KK residuals (relative to |Z|)")
# %% [markdown]
# ## 3. Fit without starting values
# The circuit is written in eisfit's circuit language: `-` is series, `|` is parallel.
# `L0` takes the inductive tail, `R0` the ohmic resistance, two R‖CPE arcs, and a CPE
# `Q3` for the low-frequency diffusion line. No `init=`: starting values come from the
# data (intercepts, arc apices, phase minima) and a short multi-start.

# %%
model = ef.parse("L0 - R0 - (R1 | Q1) - (R2 | Q2) - Q3")
print(model.parameters)
fit = ef.fit(model, spec)
print(fit.report())

# %% [markdown]
# `success` is not just "the optimiser stopped": the residuals are compared with the noise
# level of a Kramers–Kronig-consistent reference fit, so a model that does not describe the
# data is reported as failed, with the reason. The same result as tables:

# %%
fit.to_frame()

# %%
fit.derived_frame()

# %% [markdown]
# ## 4. Plots with the fit

# %%
fig = plt.figure(figsize=(11, 7.5))
gs = fig.add_gridspec(3, 2, height_ratios=[1, 1, 0.8])
ax_n = fig.add_subplot(gs[0:2, 0])
ef.plot.nyquist(spec, fit, ax=ax_n, label="data")
ax_n.plot([], [], "-", color="C0", label="fit")
ax_n.legend()
ax_n.set_title(str(model), fontsize=9)
ax_m = fig.add_subplot(gs[0, 1])
ax_p = fig.add_subplot(gs[1, 1], sharex=ax_m)
ef.plot.bode(spec, fit, axes=(ax_m, ax_p))
ax_r = fig.add_subplot(gs[2, :])
res = (fit.Z - fit.Z_fit) / np.abs(fit.Z)
ax_r.semilogx(fit.freq, 100 * res.real, "o-", ms=3, label="real")
ax_r.semilogx(fit.freq, 100 * res.imag, "s-", ms=3, label="imag")
ax_r.axhline(0, color="k", lw=0.8)
ax_r.set_xlabel("frequency (Hz)")
ax_r.set_ylabel("residual (% of |Z|)")
ax_r.legend(ncol=2)
ax_r.grid(True, which="both", alpha=0.3)
print(
    f"largest fit residual {100 * np.abs(res).max():.2f} % of |Z|; "
    f"KK: {100 * np.abs(kk.residuals).max():.2f} %"
)
for d in fit.derived:
    if d.quantity == "f_peak":
        ax_p.axvline(d.value, color="grey", ls=":", lw=1)
        ax_p.annotate(
            d.element,
            (d.value, ax_p.get_ylim()[1]),
            fontsize=7,
            rotation=90,
            va="top",
            ha="right",
            color="grey",
        )
fig.tight_layout()

# %% [markdown]
# The dotted lines mark the fitted characteristic frequencies of the two arcs
# (`fit.derived`). Compare the fit residuals with the KK residuals above: a model that
# describes the data leaves residuals of the same size as the KK test's.
#
# ## 5. A model that is too simple is *reported* as such
# One arc instead of two, no inductance: the optimiser converges, but `success` is False and
# the message says why.

# %%
too_simple = ef.fit("R0 - (R1 | Q1) - Q2", spec)
print(too_simple.success)
print(too_simple.message)

# %% [markdown]
# ## 6. How many arcs? Ask the DRT
# `ef.propose` computes the distribution of relaxation times, builds candidate ladders from
# its peaks, fits each, and ranks them by BIC. Its candidates are ladders of RC/RQ arcs,
# optionally with a finite-length Warburg; compare its choice (and the fitter's verdict on
# it, column `success`) with the hand-written model above.

# %%
proposal = ef.propose(spec)
print(proposal)
print(
    f"BIC of the hand-written model {fit.bic:.1f} (success={fit.success}); "
    f"of the proposal {proposal.fit.bic:.1f} (success={proposal.fit.success})"
)
proposal.candidates[["label", "circuit", "n_arcs", "delta_bic", "weight", "success"]]

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
proposal.drt.plot(ax=ax)
ax.set_title("DRT of 25C01, cycle 1")
fig.tight_layout()

# %% [markdown]
# ## 7. Save and reload a fit
# A `FitResult` is immutable and round-trips through JSON (values, covariance, data, verdict).

# %%
text = fit.to_json()
again = ef.FitResult.from_json(text)
print(again == fit, len(text), "characters")
