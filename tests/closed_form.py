"""Closed-form impedances and an independent lin-KK for the tests (plain numpy, no eisfit
code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
FREQ = np.logspace(6, -2, 71)


def zarc(f, R, tau, n):
    return R / (1 + (2j * np.pi * f * tau) ** n)


def rc(f, R, tau):
    return R / (1 + 2j * np.pi * f * tau)


def warburg_short(f, R, T):
    s = np.sqrt(2j * np.pi * f * T)
    return R * np.tanh(s) / s


def warburg_open(f, R, T):
    s = np.sqrt(2j * np.pi * f * T)
    return R / np.tanh(s) / s


def hn(f, R, tau, alpha, beta):
    return R / (1 + (2j * np.pi * f * tau) ** alpha) ** beta


def add_noise(Z, seed, eps=0.005):
    rng = np.random.default_rng(seed)
    return Z + eps * np.abs(Z) * (rng.standard_normal(Z.size) + 1j * rng.standard_normal(Z.size))


def plain_linkk_rms(f, Z, M):
    """Independent lin-KK in plain numpy: R, L, C and M RC elements on the measured τ range;
    the relative RMS residual a Kramers–Kronig-consistent impedance reaches on the data."""
    w = 2 * np.pi * f
    tau = np.logspace(np.log10(1 / w.max()), np.log10(1 / w.min()), M)
    K = np.column_stack([np.ones(f.size), 1j * w, 1 / (1j * w), 1 / (1 + 1j * np.outer(w, tau))])
    wt = 1 / np.abs(Z)
    A = np.vstack([K.real * wt[:, None], K.imag * wt[:, None]])
    b = np.concatenate([Z.real * wt, Z.imag * wt])
    r = A @ np.linalg.lstsq(A, b, rcond=None)[0] - b
    return float(np.sqrt(np.mean(r[: f.size] ** 2 + r[f.size :] ** 2)))
