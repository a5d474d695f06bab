"""Closed-form impedances for the DRT tests (plain numpy, no eisfit code)."""

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


