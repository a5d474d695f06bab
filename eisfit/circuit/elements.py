"""Element definitions: impedance, analytic derivatives, units and default bounds.

Each element type is one declarative :class:`ElementSpec`. The spec drives the parser
(the type prefixes), the compile step (``z`` and ``jac``), the fitter (scales and
bounds), the documentation table and the reports (units). Formulas use the convention
Z = Z' + jZ'' with capacitive behaviour giving Z'' < 0.

Every ``z`` function takes a :class:`FreqContext` (angular frequency and powers of it,
computed once per frequency grid) and the parameter values; every ``jac`` function
takes the same plus the already computed impedance and returns one array (or scalar)
per parameter, dZ/dp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["ParamSpec", "ElementSpec", "ELEMENTS", "FreqContext", "element_table"]


class FreqContext:
    """Quantities of an angular-frequency grid shared by all elements."""

    __slots__ = ("omega", "jw", "ln_jw", "sqrt_w")

    def __init__(self, freq: np.ndarray):
        self.omega = 2 * np.pi * np.asarray(freq, dtype=float)
        self.jw = 1j * self.omega
        self.ln_jw = np.log(self.omega) + 0.5j * np.pi  # principal log of jω
        self.sqrt_w = np.sqrt(self.omega)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of an element type.

    ``suffix`` is ``None`` for one-parameter elements (the parameter is named after
    the element, e.g. ``R1``); otherwise the name is ``<element>_<suffix>``.
    ``scale`` is ``"log"`` for strictly positive quantities fitted in log coordinates,
    ``"linear"`` for bounded exponents.
    """

    suffix: str | None
    unit: str
    scale: str
    bounds: tuple[float, float]
    typical: float
    description: str


@dataclass(frozen=True)
class ElementSpec:
    """Declarative definition of one element type."""

    prefix: str
    name: str
    params: tuple[ParamSpec, ...]
    z: Callable
    jac: Callable
    formula: str
    impedance_py: str | None = None  # the element's name in impedance.py, if it has it
    cdc: str | None = None  # Boukamp CDC letter


def _pos(unit, typical, desc, suffix=None):
    return ParamSpec(suffix, unit, "log", (0.0, np.inf), typical, desc)


def _frac(suffix, typical, desc):
    return ParamSpec(suffix, "", "linear", (0.0, 1.0), typical, desc)


# ---------------------------------------------------------------------------------
# impedance functions and their derivatives
# ---------------------------------------------------------------------------------
def _z_r(ctx, r):
    return r + 0.0 * ctx.omega


def _j_r(ctx, z, r):
    return (np.ones_like(ctx.omega, dtype=complex),)


def _z_c(ctx, c):
    return 1.0 / (ctx.jw * c)


def _j_c(ctx, z, c):
    return (-z / c,)


def _z_l(ctx, l):
    return ctx.jw * l


def _j_l(ctx, z, l):
    return (ctx.jw,)


def _z_la(ctx, l, alpha):
    return l * np.exp(alpha * ctx.ln_jw)


def _j_la(ctx, z, l, alpha):
    return (z / l, z * ctx.ln_jw)


def _z_q(ctx, q, n):
    return np.exp(-n * ctx.ln_jw) / q


def _j_q(ctx, z, q, n):
    return (-z / q, -z * ctx.ln_jw)


_SQRT2 = np.sqrt(2.0)


def _z_w(ctx, sigma):
    # impedance.py convention: Z = σ (1 - j) / √ω  (= σ √2 / √(jω))
    return sigma * (1 - 1j) / ctx.sqrt_w


def _j_w(ctx, z, sigma):
    return (z / sigma,)


def _coth(s):
    return 1.0 / np.tanh(s)


def _z_wo(ctx, r, tau):
    s = np.sqrt(ctx.jw * tau)
    return r * _coth(s) / s


def _j_wo(ctx, z, r, tau):
    s = np.sqrt(ctx.jw * tau)
    ct = _coth(s)
    # d/dτ [coth(s)/s] with ds/dτ = s/(2τ): (-csch²s/s - coth s/s²)·s/(2τ)
    dtau = r / (2 * tau) * (-(ct * ct - 1.0) - ct / s)
    return (z / r, dtau)


def _z_ws(ctx, r, tau):
    s = np.sqrt(ctx.jw * tau)
    return r * np.tanh(s) / s


def _j_ws(ctx, z, r, tau):
    s = np.sqrt(ctx.jw * tau)
    t = np.tanh(s)
    dtau = r / (2 * tau) * ((1.0 - t * t) - t / s)
    return (z / r, dtau)


def _z_g(ctx, r, tau):
    return r / np.sqrt(1.0 + ctx.jw * tau)


def _j_g(ctx, z, r, tau):
    return (z / r, -0.5 * z * ctx.jw / (1.0 + ctx.jw * tau))


def _z_h(ctx, r, tau, alpha, beta):
    u = np.exp(alpha * (ctx.ln_jw + np.log(tau)))
    return r * np.exp(-beta * np.log1p(u))


def _j_h(ctx, z, r, tau, alpha, beta):
    ln_x = ctx.ln_jw + np.log(tau)
    u = np.exp(alpha * ln_x)
    d = 1.0 + u
    common = -beta * z * u / d
    return (z / r, common * alpha / tau, common * ln_x, -z * np.log(d))


def _tlm(ri, zs):
    """Z = √(Ri·Zs)·coth(√(Ri/Zs)) and its derivatives wrt Ri and Zs."""
    sri = np.sqrt(ri)
    szs = np.sqrt(zs)
    a = sri * szs
    b = sri / szs
    ct = _coth(b)
    z = a * ct
    k = b * (1.0 - ct * ct)
    dri = a / (2 * ri) * (ct + k)
    dzs = a / (2 * zs) * (ct - k)
    return z, dri, dzs


def _z_tb(ctx, ri, q, n):
    zs = np.exp(-n * ctx.ln_jw) / q
    return _tlm(ri, zs)[0]


def _j_tb(ctx, z, ri, q, n):
    zs = np.exp(-n * ctx.ln_jw) / q
    _, dri, dzs = _tlm(ri, zs)
    return (dri, dzs * (-zs / q), dzs * (-zs * ctx.ln_jw))


def _zs_t(ctx, rct, q, n):
    y = q * np.exp(n * ctx.ln_jw)
    return rct / (1.0 + rct * y), y


def _z_t(ctx, ri, rct, q, n):
    zs, _ = _zs_t(ctx, rct, q, n)
    return _tlm(ri, zs)[0]


def _j_t(ctx, z, ri, rct, q, n):
    zs, y = _zs_t(ctx, rct, q, n)
    _, dri, dzs = _tlm(ri, zs)
    zs2 = zs * zs
    # Zs = 1/(1/Rct + Y): dZs/dRct = Zs²/Rct², dZs/dY = -Zs², dY/dQ = Y/Q, dY/dn = Y ln(jω)
    return (
        dri,
        dzs * zs2 / (rct * rct),
        dzs * (-zs2) * y / q,
        dzs * (-zs2) * y * ctx.ln_jw,
    )


# ---------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------
_SPECS = [
    ElementSpec(
        "R", "resistor", (_pos("Ω", 100.0, "resistance"),), _z_r, _j_r, "R", "R", "R"
    ),
    ElementSpec(
        "C", "capacitor", (_pos("F", 1e-6, "capacitance"),), _z_c, _j_c, "1/(jωC)", "C", "C"
    ),
    ElementSpec(
        "L", "inductor", (_pos("H", 1e-7, "inductance"),), _z_l, _j_l, "jωL", "L", "L"
    ),
    ElementSpec(
        "La",
        "modified inductor",
        (
            _pos("H·s^(α−1)", 1e-7, "inductance coefficient", "L"),
            _frac("alpha", 0.9, "exponent (1 = ideal inductor)"),
        ),
        _z_la,
        _j_la,
        "L·(jω)^α",
        "La",
        None,
    ),
    ElementSpec(
        "Q",
        "constant phase element",
        (
            _pos("Ω⁻¹·sⁿ", 1e-6, "CPE coefficient", "Q"),
            _frac("n", 0.9, "CPE exponent (1 = ideal capacitor)"),
        ),
        _z_q,
        _j_q,
        "1/(Q·(jω)ⁿ)",
        "CPE",
        "Q",
    ),
    ElementSpec(
        "W",
        "semi-infinite Warburg",
        (_pos("Ω·s⁻½", 10.0, "Warburg coefficient σ"),),
        _z_w,
        _j_w,
        "σ·(1−j)/√ω",
        "W",
        "W",
    ),
    ElementSpec(
        "Wo",
        "finite-length Warburg, reflective (open)",
        (_pos("Ω", 100.0, "diffusion resistance", "R"), _pos("s", 1.0, "diffusion time", "tau")),
        _z_wo,
        _j_wo,
        "R·coth√(jωτ)/√(jωτ)",
        "Wo",
        "O",
    ),
    ElementSpec(
        "Ws",
        "finite-length Warburg, transmissive (short)",
        (_pos("Ω", 100.0, "diffusion resistance", "R"), _pos("s", 1.0, "diffusion time", "tau")),
        _z_ws,
        _j_ws,
        "R·tanh√(jωτ)/√(jωτ)",
        "Ws",
        "T",
    ),
    ElementSpec(
        "G",
        "Gerischer",
        (_pos("Ω", 100.0, "resistance", "R"), _pos("s", 1e-3, "time constant", "tau")),
        _z_g,
        _j_g,
        "R/√(1+jωτ)",
        "G",
        "G",
    ),
    ElementSpec(
        "H",
        "Havriliak–Negami relaxation",
        (
            _pos("Ω", 100.0, "resistance", "R"),
            _pos("s", 1e-3, "time constant", "tau"),
            _frac("alpha", 0.9, "symmetric broadening exponent"),
            _frac("beta", 0.9, "asymmetric broadening exponent"),
        ),
        _z_h,
        _j_h,
        "R/(1+(jωτ)^α)^β",
        None,
        None,
    ),
    ElementSpec(
        "T",
        "transmission line, porous electrode with faradaic interface (de Levie)",
        (
            _pos("Ω", 10.0, "total ionic resistance of the pore electrolyte", "Rion"),
            _pos("Ω", 100.0, "total charge-transfer resistance of the pore walls", "Rct"),
            _pos("Ω⁻¹·sⁿ", 1e-3, "total CPE coefficient of the pore walls", "Q"),
            _frac("n", 0.9, "CPE exponent"),
        ),
        _z_t,
        _j_t,
        "√(Rion·Zs)·coth√(Rion/Zs), Zs = Rct ‖ CPE",
        None,
        None,
    ),
    ElementSpec(
        "Tb",
        "transmission line, blocking porous electrode",
        (
            _pos("Ω", 10.0, "total ionic resistance of the pore electrolyte", "Rion"),
            _pos("Ω⁻¹·sⁿ", 1e-3, "total CPE coefficient of the pore walls", "Q"),
            _frac("n", 0.9, "CPE exponent"),
        ),
        _z_tb,
        _j_tb,
        "√(Rion·Zs)·coth√(Rion/Zs), Zs = CPE",
        "TLMQ",
        None,
    ),
]

#: Element types by prefix.
ELEMENTS: dict[str, ElementSpec] = {s.prefix: s for s in _SPECS}


def element_table() -> str:
    """A Markdown table of all element types, their parameters, units and formulas."""
    rows = ["| prefix | element | Z | parameters (name: unit, default range) |", "|---|---|---|---|"]
    for s in _SPECS:
        ps = []
        for p in s.params:
            nm = f"{s.prefix}1" if p.suffix is None else f"{s.prefix}1_{p.suffix}"
            lo, hi = p.bounds
            rng = "> 0, fitted in log" if p.scale == "log" else f"[{lo:g}, {hi:g}]"
            ps.append(f"`{nm}`: {p.unit or '—'}, {rng}")
        rows.append(f"| `{s.prefix}` | {s.name} | {s.formula} | {'; '.join(ps)} |")
    return "\n".join(rows)
