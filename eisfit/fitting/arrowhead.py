"""Symmetric banded-plus-arrowhead systems: factorisation, solves and selected inversion.

The joint fit of a sequence of spectra has normal equations of the form ::

        ┌            ┐
        │  B     C   │    B: n × n banded (the per-spectrum parameters, spectrum-major;
    M = │            │       the data couple parameters of one spectrum, the smoothness
        │  Cᵀ    E   │       penalty couples a parameter with its neighbours in the sequence)
        └            ┘    C: n × s dense, E: s × s dense (the parameters shared by all spectra)

``B`` is stored in LAPACK's lower band form (``band[d, i] = B[i + d, i]``) and factorised
by a banded Cholesky (:func:`scipy.linalg.cholesky_banded`): no fill-in outside the band,
``O(n u²)`` work for half-bandwidth ``u``. The shared block is eliminated through its
Schur complement ``S = E − Cᵀ B⁻¹ C``. :meth:`ArrowFactor.selected_inverse` returns the
entries of ``M⁻¹`` inside the band of ``B`` (Takahashi's recurrences on the Cholesky
factor, ``O(n u²)``) together with the shared rows and columns, without forming the dense
inverse — which is all the standard errors and the effective degrees of freedom need.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> G = rng.normal(size=(30, 8)) * (np.abs(np.subtract.outer(np.arange(30), np.arange(8) * 4)) < 6)
>>> dense = G.T @ G + np.eye(8)                    # 8 × 8, banded part 6 × 6 + 2 shared
>>> M = Arrowhead.from_dense(dense, n=6, u=5)
>>> fac = ArrowFactor(M)
>>> hL, hS = fac.solve(np.ones(6), np.ones(2))
>>> bool(np.allclose(dense @ np.r_[hL, hS], 1))
True
>>> band_inv, cross, ss = fac.selected_inverse()
>>> inv = np.linalg.inv(dense)
>>> bool(np.allclose(band_inv[1, :5], np.diag(inv, 1)[:5]) and np.allclose(ss, inv[6:, 6:]))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Arrowhead", "ArrowFactor"]


@dataclass
class Arrowhead:
    """``[[B, C], [Cᵀ, E]]`` with ``B`` in lower band storage ``band`` of shape (u + 1, n)."""

    band: np.ndarray
    C: np.ndarray
    E: np.ndarray

    @property
    def n(self) -> int:
        return self.band.shape[1]

    @property
    def u(self) -> int:
        return self.band.shape[0] - 1

    @classmethod
    def from_dense(cls, M: np.ndarray, n: int, u: int) -> "Arrowhead":
        """The arrowhead of a dense symmetric matrix (entries of ``B`` outside the band are
        dropped)."""
        band = np.zeros((u + 1, n))
        for d in range(u + 1):
            band[d, : n - d] = np.diag(M[:n, :n], -d)
        return cls(band, M[:n, n:].copy(), M[n:, n:].copy())

    def todense(self) -> np.ndarray:
        """The full matrix (for tests and small problems)."""
        n, s = self.n, self.E.shape[0]
        M = np.zeros((n + s, n + s))
        for d in range(min(self.u, n - 1) + 1):
            v = self.band[d, : n - d]
            M[np.arange(d, n), np.arange(n - d)] = v
            M[np.arange(n - d), np.arange(d, n)] = v
        M[:n, n:] = self.C
        M[n:, :n] = self.C.T
        M[n:, n:] = self.E
        return M

    def diagonal(self) -> tuple[np.ndarray, np.ndarray]:
        return self.band[0].copy(), np.diag(self.E).copy()

    def add_diagonal(self, dL: np.ndarray, dS: np.ndarray) -> "Arrowhead":
        """A copy with ``diag(dL, dS)`` added."""
        band = self.band.copy()
        band[0] += dL
        return Arrowhead(band, self.C, self.E + np.diag(dS))

    def freeze(self, fL: np.ndarray, fS: np.ndarray) -> "Arrowhead":
        """A copy in which the variables flagged in ``fL`` / ``fS`` are decoupled (unit
        diagonal, zero row and column): the solve then leaves them at zero."""
        band, C, E = self.band.copy(), self.C.copy(), self.E.copy()
        if fL.any():
            idx = np.flatnonzero(fL)
            band[1:, idx] = 0.0
            for d in range(1, self.u + 1):
                j = idx - d
                band[d, j[j >= 0]] = 0.0
            band[0, idx] = 1.0
            C[idx, :] = 0.0
        if fS.any():
            C[:, fS] = 0.0
            E[fS, :] = 0.0
            E[:, fS] = 0.0
            E[fS, fS] = 1.0
        return Arrowhead(band, C, E)

    def matvec(self, xL: np.ndarray, xS: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``M @ [xL, xS]`` from the band storage."""
        yL = self.band[0] * xL
        n = self.n
        for d in range(1, min(self.u, n - 1) + 1):
            v = self.band[d, : n - d]
            yL[d:] += v * xL[:-d]
            yL[:-d] += v * xL[d:]
        yL += self.C @ xS
        return yL, self.C.T @ xL + self.E @ xS


class ArrowFactor:
    """Cholesky factorisation of a positive definite :class:`Arrowhead`.

    Raises :class:`numpy.linalg.LinAlgError` when the matrix is not positive definite.
    """

    def __init__(self, M: Arrowhead):
        from scipy.linalg import cho_solve_banded, cholesky_banded

        self._cho_solve_banded = cho_solve_banded
        self.M = M
        n, u = M.n, M.u
        self.n, self.u, self.s = n, u, M.E.shape[0]
        if n:
            self.L = cholesky_banded(M.band, lower=True, check_finite=False)
            for d in range(1, u + 1):  # LAPACK leaves the unused corner of the storage as is
                self.L[d, max(n - d, 0):] = 0.0
        else:
            self.L = np.zeros((u + 1, 0))
        if self.s:
            self.W = self._solve_B(M.C) if n else np.zeros((0, self.s))
            S = M.E - M.C.T @ self.W
            self.S_chol = np.linalg.cholesky(S)  # raises LinAlgError when not definite
        else:
            self.W = np.zeros((n, 0))
            self.S_chol = np.zeros((0, 0))

    def _solve_B(self, rhs: np.ndarray) -> np.ndarray:
        return self._cho_solve_banded((self.L, True), rhs, check_finite=False)

    def _solve_S(self, rhs: np.ndarray) -> np.ndarray:
        y = np.linalg.solve(self.S_chol, rhs)
        return np.linalg.solve(self.S_chol.T, y)

    def solve(self, bL: np.ndarray, bS: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(xL, xS)`` with ``M @ [xL, xS] = [bL, bS]``."""
        y = self._solve_B(bL) if self.n else np.zeros(0)
        if not self.s:
            return y, np.zeros(0)
        xS = self._solve_S(bS - self.M.C.T @ y)
        return y - self.W @ xS, xS

    def logdet(self) -> float:
        out = 2.0 * float(np.sum(np.log(self.L[0]))) if self.n else 0.0
        if self.s:
            out += 2.0 * float(np.sum(np.log(np.diag(self.S_chol))))
        return out

    def selected_inverse(self, block: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entries of ``Σ = M⁻¹``: ``(band, cross, shared)``.

        ``band[d, i] = Σ[i, i + d]`` for ``d ≤ u`` (zero past the end), ``cross = Σ[:n, n:]``
        and ``shared = Σ[n:, n:]``.

        Takahashi's recurrence: with ``B = L Lᵀ``, ``Z = B⁻¹`` satisfies, for ``j ≥ i``,
        ``Z[i, j] = (δᵢⱼ / Lᵢᵢ − Σ_{k>i} L[k, i] Z[k, j]) / Lᵢᵢ``; the sum runs over the band,
        so the rows are filled from the last one upward using only entries already inside
        the band. The shared block adds ``W S⁻¹ Wᵀ`` (``W = B⁻¹ C``) to ``Z``.

        With ``block`` (a divisor of n, e.g. the parameters per spectrum) the same
        recurrence runs on dense blocks, one block row at a time (fewer, larger steps).
        """
        n, u = self.n, self.u
        if block and n and n % block == 0 and block > 1:
            zb = self._takahashi_blocks(block)
        else:
            zb = self._takahashi()
        if not self.s:
            return zb, np.zeros((n, 0)), np.zeros((0, 0))
        Sinv = self._solve_S(np.eye(self.s))
        V = self.W @ Sinv
        for d in range(min(u, n - 1) + 1):
            zb[d, : n - d] += np.einsum("is,is->i", V[: n - d], self.W[d:])
        return zb, -V, Sinv

    def _takahashi(self) -> np.ndarray:
        n, u, L = self.n, self.u, self.L
        zb = np.zeros((u + 1, n))
        win = np.zeros((u + 1, u + 1))  # Z[i:i+u+1, i:i+u+1], moving up the diagonal
        for i in range(n - 1, -1, -1):
            lii = L[0, i]
            l = L[1:, i]
            prev = win[:u, :u].copy()  # Z[i+1:i+u+1, i+1:i+u+1]
            row = -(prev @ l) / lii
            win[1:, 1:] = prev
            win[0, 1:] = row
            win[1:, 0] = row
            win[0, 0] = (1.0 / lii - l @ row) / lii
            zb[:, i] = win[0]
        return zb

    def _takahashi_blocks(self, b: int) -> np.ndarray:
        """Block form: with ``L`` in b × b blocks (block bandwidth w = ⌈u/b⌉), for block row
        k from the last, ``Z[J, k] = −Z[J, J] L[J, k] L[k, k]⁻¹`` (J: the w blocks below k)
        and ``Z[k, k] = L[k, k]⁻ᵀ (L[k, k]⁻¹ − L[J, k]ᵀ Z[J, k])``."""
        n, u, L = self.n, self.u, self.L
        K = n // b
        w = -(-u // b)
        Lb = np.zeros((w + 1, K, b, b))  # Lb[δ, k] = L[block k+δ, block k]
        for dl in range(w + 1):
            for a in range(b):
                for c in range(b):
                    d = dl * b + a - c
                    if 0 <= d <= u and K - dl > 0:
                        Lb[dl, : K - dl, a, c] = L[d].reshape(K, b)[: K - dl, c]
        Zb = np.zeros((w + 1, K, b, b))  # Zb[δ, k] = Z[block k+δ, block k]
        eye = np.eye(b)
        for k in range(K - 1, -1, -1):
            Linv = np.linalg.solve(Lb[0, k], eye)
            m = min(w, K - 1 - k)
            if m:
                C = Lb[1 : m + 1, k].reshape(m * b, b)
                ZJ = np.empty((m * b, m * b))
                for i in range(m):
                    for j in range(m):
                        blk = Zb[i - j, k + 1 + j] if i >= j else Zb[j - i, k + 1 + i].T
                        ZJ[i * b : (i + 1) * b, j * b : (j + 1) * b] = blk
                ZJk = -(ZJ @ C) @ Linv
                Zb[1 : m + 1, k] = ZJk.reshape(m, b, b)
                Zkk = Linv.T @ (Linv - C.T @ ZJk)
            else:
                Zkk = Linv.T @ Linv
            Zb[0, k] = 0.5 * (Zkk + Zkk.T)
        zb = np.zeros((u + 1, n))
        c = np.arange(b)
        for d in range(u + 1):  # zb[d, k·b + c] = Z[k·b + c + d, k·b + c]
            dl, a = (c + d) // b, (c + d) % b
            for cc in range(b):
                if dl[cc] <= w and K - dl[cc] > 0:
                    zb[d].reshape(K, b)[: K - dl[cc], cc] = Zb[dl[cc], : K - dl[cc], a[cc], cc]
        return zb
