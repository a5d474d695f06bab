"""Electrochemistry helpers fed by fitted resistances.

Closed-form quantities that battery papers compute from impedance fits, each with
first-order uncertainty propagation when standard errors are given:

* :func:`conductivity` — blocking-cell ionic conductivity σ = L / (R·A);
* :func:`area_specific` and :func:`interface_resistance` — Ω·cm², and the
  per-electrode interface resistance of a symmetric cell, R·A/2;
* :func:`transference_bruce_vincent` and :func:`transference_watanabe` —
  Li⁺ transference numbers from potentiostatic polarisation;
* :func:`arrhenius` and :func:`vtf` — fits of σ(T) with parameter uncertainties;
* :func:`conductivity_table` — σ for every row of a batch ``parameters`` table.

All functions accept scalars or arrays and broadcast like numpy.

Examples
--------
>>> import eisfit as ef
>>> round(ef.echem.conductivity(R=100.0, L=0.01, A=1.0), 8)   # S/cm
0.0001
>>> round(ef.echem.interface_resistance(R=23.386, A=1.5394), 2)  # Ω·cm² per electrode
18.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    "K_B_EV",
    "R_GAS",
    "conductivity",
    "area_specific",
    "interface_resistance",
    "transference_bruce_vincent",
    "transference_watanabe",
    "ArrheniusResult",
    "VTFResult",
    "arrhenius",
    "vtf",
    "conductivity_table",
    "to_kelvin",
]

K_B_EV = 8.617333262e-5  #: Boltzmann constant, eV/K
R_GAS = 8.314462618  #: gas constant, J/(mol·K)


def _arr(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(a)):
        raise InputError(f"{name} must be finite, got {x!r}")
    return a


def _err(x: Any, name: str) -> np.ndarray:
    """An uncertainty: NaN (unknown, e.g. an undetermined fit parameter) propagates."""
    a = np.abs(np.asarray(x, dtype=float))
    if np.any(np.isinf(a)):
        raise InputError(f"{name} must be finite or NaN, got {x!r}")
    return a


def _positive(x: Any, name: str) -> np.ndarray:
    a = _arr(x, name)
    if np.any(a <= 0):
        raise InputError(f"{name} must be > 0, got {x!r}")
    return a


def _out(value: np.ndarray, err: np.ndarray | None):
    value = float(value) if value.ndim == 0 else value
    if err is None:
        return value
    err = float(err) if np.ndim(err) == 0 else err
    return value, err


def to_kelvin(T: Any, unit: str = "K") -> np.ndarray:
    """Temperatures in kelvin from ``unit`` ``"K"`` or ``"C"``."""
    t = _arr(T, "T")
    if unit.upper() in ("C", "°C", "CELSIUS"):
        t = t + 273.15
    elif unit.upper() not in ("K", "KELVIN"):
        raise InputError(f"unknown temperature unit {unit!r}; use 'K' or 'C'")
    if np.any(t <= 0):
        raise InputError("temperatures must be above absolute zero")
    return t


def conductivity(R: Any, L: Any, A: Any, R_err: Any = None) -> Any:
    """Ionic conductivity of a blocking cell, σ = L / (R·A).

    Parameters
    ----------
    R : float or array
        Bulk resistance (Ω).
    L : float or array
        Electrolyte thickness (cm).
    A : float or array
        Electrode area (cm²).
    R_err : float or array, optional
        Standard error of ``R``. When given, returns ``(sigma, sigma_err)`` with
        σ_err = σ · R_err / R.

    Returns
    -------
    float or ndarray (or a tuple with the standard error)
        Conductivity in S/cm.

    Examples
    --------
    >>> conductivity(R=200.0, L=0.02, A=2.0, R_err=2.0)
    (5e-05, 5e-07)
    """
    r = _positive(R, "R")
    sigma = _positive(L, "L") / (r * _positive(A, "A"))
    err = None if R_err is None else sigma * _err(R_err, "R_err") / r
    return _out(sigma, err)


def area_specific(R: Any, A: Any, R_err: Any = None) -> Any:
    """Area-specific resistance R·A (Ω·cm²); with ``R_err`` also its standard error."""
    a = _positive(A, "A")
    val = _arr(R, "R") * a
    return _out(val, None if R_err is None else _err(R_err, "R_err") * a)


def interface_resistance(R: Any, A: Any, R_err: Any = None, *, electrodes: int = 2) -> Any:
    """Per-electrode interface resistance of a symmetric cell, R·A/2 (Ω·cm²).

    A Li‖Li symmetric cell has two identical interfaces in series, so each carries
    half of the fitted interface resistance.

    Parameters
    ----------
    R : float or array
        Fitted interface resistance of the whole cell (Ω).
    A : float or array
        Electrode area (cm²).
    R_err : float or array, optional
        Standard error of ``R``; when given, returns ``(value, error)``.
    electrodes : int
        Number of identical interfaces in series (2 for a symmetric cell).

    Examples
    --------
    >>> round(interface_resistance(23.386, 1.5394), 3)
    18.0
    """
    if int(electrodes) < 1:
        raise InputError("electrodes must be >= 1")
    a = _positive(A, "A")
    val = _arr(R, "R") * a / int(electrodes)
    err = None if R_err is None else _err(R_err, "R_err") * a / int(electrodes)
    return _out(val, err)


def transference_bruce_vincent(
    I0: Any, Iss: Any, R0: Any, Rss: Any, dE: Any = 0.010, *, errors: dict | None = None
) -> Any:
    """Bruce–Vincent Li⁺ transference number.

    T⁺ = I_ss (ΔE − I₀R₀) / (I₀ (ΔE − I_ss R_ss))

    Parameters
    ----------
    I0, Iss : float or array
        Initial and steady-state polarisation currents (A).
    R0, Rss : float or array
        Interface resistances before and after polarisation (Ω), e.g. the sum of
        the fitted interface arcs.
    dE : float or array
        Applied polarisation (V), 10 mV by default.
    errors : dict, optional
        Standard errors by argument name (``{"R0": .., "Rss": .., "I0": .., "Iss": ..}``);
        when given, returns ``(t, t_err)`` by first-order propagation.

    Examples
    --------
    >>> round(transference_bruce_vincent(I0=1e-5, Iss=5e-6, R0=100, Rss=120), 4)
    0.4787
    """
    args = {"I0": I0, "Iss": Iss, "R0": R0, "Rss": Rss, "dE": dE}

    def f(I0, Iss, R0, Rss, dE):
        return Iss * (dE - I0 * R0) / (I0 * (dE - Iss * Rss))

    return _propagate(f, args, errors)


def transference_watanabe(
    Rl: Any, Iss: Any, Rss: Any, dE: Any = 0.010, *, errors: dict | None = None
) -> Any:
    """Watanabe Li⁺ transference number, T⁺ = R_l / (ΔE / I_ss − R_ss).

    Parameters
    ----------
    Rl : float or array
        High-frequency (bulk electrolyte) resistance (Ω).
    Iss : float or array
        Steady-state current (A).
    Rss : float or array
        Interface resistance at steady state (Ω).
    dE : float or array
        Applied polarisation (V).
    errors : dict, optional
        Standard errors by argument name; when given, returns ``(t, t_err)``.

    Examples
    --------
    >>> round(transference_watanabe(Rl=200, Iss=2e-5, Rss=100), 4)
    0.5
    """
    args = {"Rl": Rl, "Iss": Iss, "Rss": Rss, "dE": dE}

    def f(Rl, Iss, Rss, dE):
        return Rl / (dE / Iss - Rss)

    return _propagate(f, args, errors)


def _propagate(f: Callable, args: dict, errors: dict | None) -> Any:
    vals = {k: _arr(v, k) for k, v in args.items()}
    t = np.asarray(f(**vals), dtype=float)
    if errors is None:
        return _out(t, None)
    unknown = set(errors) - set(args)
    if unknown:
        raise InputError(f"errors given for unknown arguments {sorted(unknown)}")
    var = np.zeros_like(t)
    for k, e in errors.items():
        x = vals[k]
        h = 1e-6 * np.maximum(np.abs(x), 1e-30)
        up = dict(vals, **{k: x + h})
        dn = dict(vals, **{k: x - h})
        d = (np.asarray(f(**up)) - np.asarray(f(**dn))) / (2 * h)
        var = var + (d * _err(e, k)) ** 2
    return _out(t, np.sqrt(var))


# --------------------------------------------------------------------------------------
# temperature dependence
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TempFit:
    params: dict[str, float]
    stderr: dict[str, float]
    covariance: np.ndarray = field(repr=False)
    T: np.ndarray = field(repr=False)
    sigma: np.ndarray = field(repr=False)
    rss: float
    dof: int

    def ci(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Student-t confidence intervals of the parameters."""
        from scipy import stats

        q = stats.t.ppf(0.5 + level / 2, max(self.dof, 1))
        return {k: (v - q * self.stderr[k], v + q * self.stderr[k]) for k, v in self.params.items()}

    @property
    def aic(self) -> float:
        n = self.T.size
        k = len(self.params)
        return float(n * np.log(max(self.rss, 1e-300) / n) + 2 * k)

    def to_frame(self):
        """A DataFrame: parameter, value, stderr, ci_low, ci_high."""
        import pandas as pd

        ci = self.ci()
        return pd.DataFrame(
            [
                {"parameter": k, "value": v, "stderr": self.stderr[k], "ci_low": ci[k][0],
                 "ci_high": ci[k][1]}
                for k, v in self.params.items()
            ]
        )


@dataclass(frozen=True)
class ArrheniusResult(_TempFit):
    """Arrhenius fit σ = A·exp(−Ea/(k_B T)) (or σT = A·exp(...) with ``form="sigmaT"``).

    ``params``: ``Ea`` (eV) and ``ln_A``; ``Ea_kJ`` gives kJ/mol.
    """

    form: str = "sigma"

    @property
    def Ea(self) -> float:
        return self.params["Ea"]

    @property
    def Ea_kJ(self) -> float:
        """Activation energy in kJ/mol."""
        return self.params["Ea"] * K_B_EV ** -1 * R_GAS / 1000.0

    def predict(self, T: Any) -> np.ndarray:
        """σ (S/cm) at temperatures ``T`` (K)."""
        t = _positive(T, "T")
        ln = self.params["ln_A"] - self.params["Ea"] / (K_B_EV * t)
        return np.exp(ln) / (t if self.form == "sigmaT" else 1.0)


@dataclass(frozen=True)
class VTFResult(_TempFit):
    """Vogel–Tammann–Fulcher fit σ = A·T^(−p)·exp(−B/(k_B (T − T0))).

    ``params``: ``B`` (pseudo-activation energy, eV), ``T0`` (K), ``ln_A``; ``p`` is
    the fixed prefactor exponent (0 or ½).
    """

    p: float = 0.0

    def predict(self, T: Any) -> np.ndarray:
        """σ (S/cm) at temperatures ``T`` (K)."""
        t = _positive(T, "T")
        P = self.params
        return np.exp(P["ln_A"] - self.p * np.log(t) - P["B"] / (K_B_EV * (t - P["T0"])))


def _prep_T(T, sigma, T_unit, sigma_err):
    t = to_kelvin(T, T_unit).ravel()
    s = _positive(sigma, "sigma").ravel()
    if t.shape != s.shape:
        raise InputError(f"T and sigma must have the same length, got {t.size} and {s.size}")
    w = None
    if sigma_err is not None:
        e = _positive(sigma_err, "sigma_err").ravel()
        if e.shape != s.shape:
            raise InputError("sigma_err must have the same length as sigma")
        w = e / s  # standard error of ln σ
    return t, s, w


def arrhenius(
    T: Any,
    sigma: Any,
    *,
    sigma_err: Any = None,
    T_unit: str = "K",
    form: str = "sigma",
) -> ArrheniusResult:
    """Fit ln σ (or ln σT) linearly in 1/T.

    Parameters
    ----------
    T : array
        Temperatures (``T_unit``).
    sigma : array
        Conductivities (S/cm).
    sigma_err : array, optional
        Standard errors of σ; the fit is then weighted by 1/var(ln σ).
    T_unit : {"K", "C"}
    form : {"sigma", "sigmaT"}
        ``"sigmaT"`` fits σT = A·exp(−Ea/kT) (the form with a 1/T prefactor).

    Returns
    -------
    ArrheniusResult
        Ea in eV with standard error and CI. With two points the fit is exact and
        the standard errors are NaN.

    Examples
    --------
    >>> r = arrhenius([25, 60], [2.5e-5, 1.9e-4], T_unit="C")
    >>> round(r.Ea, 3)
    0.496
    """
    if form not in ("sigma", "sigmaT"):
        raise InputError("form must be 'sigma' or 'sigmaT'")
    t, s, w = _prep_T(T, sigma, T_unit, sigma_err)
    if t.size < 2:
        raise InputError("an Arrhenius fit needs at least two temperatures")
    y = np.log(s * t) if form == "sigmaT" else np.log(s)
    X = np.column_stack([np.ones_like(t), -1.0 / (K_B_EV * t)])
    W = np.ones_like(t) if w is None else 1.0 / w
    beta, *_ = np.linalg.lstsq(X * W[:, None], y * W, rcond=None)
    resid = (y - X @ beta) * W
    dof = t.size - 2
    rss = float(resid @ resid)
    XtX_inv = np.linalg.inv((X * W[:, None]).T @ (X * W[:, None]))
    # with stated errors the covariance is still inflated when the law misfits (χ²_red > 1)
    red = rss / dof if dof > 0 else np.nan
    cov = XtX_inv * (red if w is None else max(1.0, red) if dof > 0 else 1.0)
    se = np.sqrt(np.diag(cov))
    return ArrheniusResult(
        params={"ln_A": float(beta[0]), "Ea": float(beta[1])},
        stderr={"ln_A": float(se[0]), "Ea": float(se[1])},
        covariance=cov,
        T=t,
        sigma=s,
        rss=float(np.sum((y - X @ beta) ** 2)),
        dof=dof,
        form=form,
    )


def vtf(
    T: Any,
    sigma: Any,
    *,
    sigma_err: Any = None,
    T_unit: str = "K",
    p: float = 0.0,
    T0_guess: float | None = None,
) -> VTFResult:
    """Fit the Vogel–Tammann–Fulcher law σ = A·T^(−p)·exp(−B/(k_B (T − T0))).

    Parameters
    ----------
    T, sigma, sigma_err, T_unit
        As in :func:`arrhenius`.
    p : float
        Prefactor exponent (0 for the plain form, 0.5 for the A/√T form).
    T0_guess : float, optional
        Starting value for T0 (K); by default 50 K below the lowest temperature.

    Returns
    -------
    VTFResult
        ``B`` (eV), ``T0`` (K), ``ln_A`` with standard errors and CIs (needs ≥ 4
        temperatures for finite errors).

    Notes
    -----
    For a fixed T0 the model is linear in (ln A, B); the fit profiles T0 with a
    bounded scalar search and then refines all three parameters with
    :func:`scipy.optimize.least_squares`, whose Jacobian gives the covariance.
    """
    from scipy.optimize import least_squares, minimize_scalar

    t, s, w = _prep_T(T, sigma, T_unit, sigma_err)
    if t.size < 3:
        raise InputError("a VTF fit needs at least three temperatures")
    y = np.log(s) + p * np.log(t)
    W = np.ones_like(t) if w is None else 1.0 / w
    tmin = float(t.min())

    def linear(T0):
        X = np.column_stack([np.ones_like(t), -1.0 / (K_B_EV * (t - T0))])
        beta, *_ = np.linalg.lstsq(X * W[:, None], y * W, rcond=None)
        r = (y - X @ beta) * W
        return float(r @ r), beta

    hi = tmin - 1.0
    res = minimize_scalar(lambda T0: linear(T0)[0], bounds=(0.0, hi), method="bounded",
                          options={"xatol": 1e-6})
    T0 = float(res.x) if T0_guess is None or linear(res.x)[0] <= linear(T0_guess)[0] else T0_guess
    _, beta = linear(T0)

    def resid(theta):
        lnA, B, T0_ = theta
        return (y - (lnA - B / (K_B_EV * (t - T0_)))) * W

    ls = least_squares(resid, x0=[beta[0], beta[1], T0], bounds=([-np.inf, 0, 0], [np.inf, np.inf, hi]),
                       x_scale=[1.0, max(abs(beta[1]), 1e-3), 10.0])
    J = ls.jac
    dof = t.size - 3
    rss = float(ls.fun @ ls.fun)
    try:
        cov = np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        cov = np.full((3, 3), np.nan)
    red = rss / dof if dof > 0 else np.nan
    cov = cov * (red if w is None else max(1.0, red) if dof > 0 else 1.0)
    se = np.sqrt(np.abs(np.diag(cov)))
    names = ("ln_A", "B", "T0")
    return VTFResult(
        params={n: float(v) for n, v in zip(names, ls.x)},
        stderr={n: float(v) for n, v in zip(names, se)},
        covariance=cov,
        T=t,
        sigma=s,
        rss=float(np.sum((ls.fun / W) ** 2)),
        dof=dof,
        p=float(p),
    )


def conductivity_table(
    parameters: Any,
    *,
    resistance: str,
    thickness: str = "thickness",
    area: str = "area",
):
    """σ for every spectrum of a batch ``parameters`` table.

    Parameters
    ----------
    parameters : pandas.DataFrame
        The tidy table of :attr:`eisfit.batch.BatchResult.parameters` (one row per
        spectrum × parameter, with metadata columns).
    resistance : str
        Name of the bulk-resistance parameter (e.g. ``"R0"``).
    thickness, area : str
        Metadata columns with L (cm) and A (cm²).

    Returns
    -------
    pandas.DataFrame
        The rows of ``resistance`` with added columns ``sigma`` and ``sigma_err`` (S/cm).
    """
    df = parameters[parameters["parameter"] == resistance].copy()
    if df.empty:
        raise InputError(f"no rows for parameter {resistance!r}")
    for col in (thickness, area):
        if col not in df.columns:
            raise InputError(f"column {col!r} not in the table (add it with a sidecar table)")
    r = df["value"].to_numpy(float)
    L = df[thickness].to_numpy(float)
    A = df[area].to_numpy(float)
    ok = (r > 0) & (L > 0) & (A > 0)
    sig = np.full(r.shape, np.nan)
    err = np.full(r.shape, np.nan)
    sig[ok] = L[ok] / (r[ok] * A[ok])
    if "stderr" in df.columns:
        err[ok] = sig[ok] * df["stderr"].to_numpy(float)[ok] / r[ok]
    df["sigma"] = sig
    df["sigma_err"] = err
    return df
