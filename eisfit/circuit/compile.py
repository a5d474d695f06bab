"""Compile a circuit tree into a function returning Z and dZ/dθ in one vectorised pass.

The tree is turned once into a flat list of closures (no recursion, no ``eval`` at
evaluation time). Parameters of a subtree are contiguous in the parameter vector, so a
parallel node rescales its children's Jacobian rows in place with (Z/Zᵢ)².
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .elements import FreqContext
from .nodes import Circuit, Element, Parallel, Series

__all__ = ["CompiledCircuit"]


def _y_r(ctx, r):
    return 1.0 / r, (-1.0 / (r * r),)


def _y_c(ctx, c):
    y = ctx.jw * c
    return y, (ctx.jw,)


def _y_q(ctx, q, n):
    e = np.exp(n * ctx.ln_jw)
    y = q * e
    return y, (e, y * ctx.ln_jw)


#: admittance Y and dY/dθ of elements that are cheaper in admittance form
_ADMITTANCE = {"R": _y_r, "C": _y_c, "Q": _y_q}


class CompiledCircuit:
    """Fast evaluator of a circuit.

    ``z(theta, freq)`` gives Z; ``z_jac(theta, freq)`` gives ``(Z, J)`` with ``J`` of
    shape ``(n_params, n_freq)``, ``J[k] = dZ/dθ_k``. θ is in the order of
    ``circuit.parameters``. The last frequency grid is cached.
    """

    def __init__(self, circuit: Circuit):
        self.circuit = circuit
        self.names = circuit.parameters
        self._ctx: tuple[bytes, FreqContext] | None = None  # one assignment: thread-safe
        self._z_fn = self._build(circuit, 0, jac=False)[0]
        self._zj_fn = self._build(circuit, 0, jac=True)[0]

    def context(self, freq: np.ndarray) -> FreqContext:
        key = np.asarray(freq, dtype=float).tobytes()
        cached = self._ctx
        if cached is not None and cached[0] == key:
            return cached[1]
        ctx = FreqContext(freq)
        self._ctx = (key, ctx)
        return ctx

    def z(self, theta, freq) -> np.ndarray:
        ctx = self.context(freq)
        z = self._z_fn(np.asarray(theta, dtype=float), ctx, None)
        return np.broadcast_to(z, ctx.omega.shape).astype(complex)

    def z_jac(self, theta, freq) -> tuple[np.ndarray, np.ndarray]:
        ctx = self.context(freq)
        J = np.empty((len(self.names), ctx.omega.size), dtype=complex)
        z = self._zj_fn(np.asarray(theta, dtype=float), ctx, J)
        return np.broadcast_to(z, ctx.omega.shape).astype(complex), J

    # ------------------------------------------------------------------------------
    def _build(self, node: Circuit, start: int, jac: bool) -> tuple[Callable, int]:
        if isinstance(node, Element):
            return self._build_element(node, start, jac)
        fns = []
        bounds = []
        pos = start
        for child in node.children:
            fn, end = self._build(child, pos, jac)
            fns.append(fn)
            bounds.append((pos, end))
            pos = end
        if isinstance(node, Series):

            def series(theta, ctx, J):
                z = fns[0](theta, ctx, J)
                for f in fns[1:]:
                    z = z + f(theta, ctx, J)
                return z

            return series, pos
        assert isinstance(node, Parallel)
        if not jac:

            def parallel(theta, ctx, J):
                y = 1.0 / fns[0](theta, ctx, J)
                for f in fns[1:]:
                    y = y + 1.0 / f(theta, ctx, J)
                return 1.0 / y

            return parallel, pos

        # children with a simple admittance (R, C, Q) skip the 1/Z round trip
        adm = [_ADMITTANCE.get(c.kind) if isinstance(c, Element) else None for c in node.children]
        parts = list(zip(fns, bounds, adm))

        def parallel_jac(theta, ctx, J):
            y = 0.0
            direct = []
            nested = []
            for fn, (a, b), ad in parts:
                if ad is not None:
                    yi, dys = ad(ctx, *theta[a:b])
                    direct.append((a, dys))
                else:
                    yi = 1.0 / fn(theta, ctx, J)
                    nested.append((a, b, yi))
                y = y + yi
            z = 1.0 / y
            z2 = z * z
            for a, dys in direct:
                for k, dy in enumerate(dys):
                    J[a + k] = -z2 * dy
            for a, b, yi in nested:
                if b > a:
                    s = z * yi
                    J[a:b] *= s * s
            return z

        return parallel_jac, pos

    @staticmethod
    def _build_element(node: Element, start: int, jac: bool) -> tuple[Callable, int]:
        spec = node.spec
        n = len(spec.params)
        end = start + n
        zf, jf = spec.z, spec.jac
        if spec.prefix == "R":  # scalars broadcast: no arrays needed for a resistor
            if not jac:
                return (lambda theta, ctx, J: theta[start]), end

            def r_jac(theta, ctx, J):
                J[start] = 1.0
                return theta[start]

            return r_jac, end
        if not jac:
            return (lambda theta, ctx, J: zf(ctx, *theta[start:end])), end

        def element_jac(theta, ctx, J):
            p = theta[start:end]
            z = zf(ctx, *p)
            for k, d in enumerate(jf(ctx, z, *p)):
                J[start + k] = d
            return z

        return element_jac, end
