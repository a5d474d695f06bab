"""The verdict of :func:`eisfit.kk`: statistics of the residuals under "consistent"
(serial correlation, end windows, outliers, size against a stated σ, the noise limit)."""

from __future__ import annotations

import numpy as np

from .kk_result import KKResult, KKTest
from .kk_scan import _Fit, _Scan, median

__all__ = ["END_WINDOWS"]

#: Numbers of lowest/highest frequencies whose residual energy is tested.
END_WINDOWS = (3, 6, 10)


# ---------------------------------------------------------------------------------------
# statistics under "consistent": r = (I − QQᵀ) ε
# ---------------------------------------------------------------------------------------
def _z_upper(p: float) -> float:
    from statistics import NormalDist  # on first use: import eisfit stays light

    return NormalDist().inv_cdf(1.0 - p)


def _chi2_z(T: float, mean: float, var: float) -> float:
    """z-score of a positive quadratic form T (Wilson–Hilferty for a scaled χ²)."""
    if mean <= 0 or var <= 0:
        return 0.0
    a = var / (2 * mean)
    b = 2 * mean * mean / var
    x = max(T / (a * b), 0.0)
    return float((x ** (1 / 3) - (1 - 2 / (9 * b))) / np.sqrt(2 / (9 * b)))


class _Null:
    """Moments of residual statistics under "consistent", from the fit's projection."""

    def __init__(self, A: np.ndarray, n_half: int):
        self.Q = np.linalg.qr(A / np.maximum(np.linalg.norm(A, axis=0), 1e-300))[0]
        self.n = A.shape[0]
        self.half = n_half
        self.nu = self.n - self.Q.shape[1]

    def shift(self, X: np.ndarray) -> np.ndarray:
        """(S X) with S the symmetric lag-1 adjacency within the real and imaginary halves, /2."""
        out = np.zeros_like(X)
        h = self.half
        for a in (0, h):
            blk = X[a:a + h]
            out[a:a + h - 1] += blk[1:]
            out[a + 1:a + h] += blk[:-1]
        return 0.5 * out

    def serial(self, r: np.ndarray) -> float:
        """z-score of the lag-1 autocorrelation (Durbin–Watson moments under the projection)."""
        rr = float(r @ r)
        if rr <= 0 or self.nu < 3:
            return 0.0
        d = float(r @ self.shift(r[:, None])[:, 0]) / rr
        SQ = self.shift(self.Q)
        B = self.Q.T @ SQ
        tr_ma = -np.trace(B)  # tr(S) = 0
        tr_s2 = float(self.half - 1)  # tr(S²) = Σ Sᵢⱼ²: 2(h−1) entries of ½ in each half
        tr_mama = tr_s2 - 2 * float(np.sum(SQ * SQ)) + float(np.sum(B * B))
        nu = self.nu
        mean = tr_ma / nu
        var = 2 * (nu * tr_mama - tr_ma**2) / (nu**2 * (nu + 2))
        return float((d - mean) / np.sqrt(var)) if var > 0 else 0.0

    def diff_noise(self, r: np.ndarray) -> float:
        """Noise σ from differences of neighbouring residuals (robust, calibrated)."""
        h = self.half
        idx = np.concatenate((np.arange(h - 1), np.arange(h, 2 * h - 1)))
        d = r[idx + 1] - r[idx]
        DQ = self.Q[idx + 1] - self.Q[idx]
        v = np.clip(2.0 - np.sum(DQ * DQ, axis=1), 1e-3, None)
        return median(np.abs(d) / np.sqrt(v)) / 0.6744897501960817

    def leverage(self) -> np.ndarray:
        return np.clip(1.0 - np.sum(self.Q * self.Q, axis=1), 1e-6, None)

    def window(self, idx: np.ndarray) -> tuple[float, float]:
        """Null mean and variance of Σ_{i∈idx} ε-residual² / σ² (M_ww = I − Q_w Q_wᵀ)."""
        Qw = self.Q[idx]
        q2 = float(np.sum(Qw * Qw))
        G = Qw.T @ Qw
        return idx.size - q2, 2.0 * (idx.size - 2.0 * q2 + float(np.sum(G * G)))


def _verdict(scan: _Scan, ft: _Fit, f, Z, sig, c, alpha, tolerance, noise_floor,
             max_noise) -> KKResult:
    N = f.size
    null = _Null(ft.A, N)
    r = ft.r
    # the fitted immittance's residual, and the same in impedance terms for reporting
    y_fit = scan.y - (r[:N] + 1j * r[N:]) / scan.w
    Z_fit = 1.0 / y_fit if scan.admittance else y_fit
    res = (Z - Z_fit) / np.abs(Z)
    noise_est = null.diff_noise(r)
    noise = max(noise_est, noise_floor)
    if sig is not None:
        ref = np.concatenate(sig)
        sigma_med = float(np.median(ref))
    else:
        ref = np.full(2 * N, noise)
        sigma_med = None
    u = r / ref  # residuals in noise units
    s2 = float(r @ r) / max(null.nu, 1)
    base2 = noise**2 if sig is None else float(np.mean(ref**2))

    def excess(idx) -> float:
        """RMS of the residuals beyond the noise (relative to |Z|)."""
        return float(np.sqrt(max(float(np.mean(r[idx] ** 2)) - base2, 0.0)))

    matters = np.sqrt(max(s2 - base2, 0.0)) > tolerance
    tests: list[KKTest] = []
    flagged = np.zeros(2 * N, bool)

    z_serial = null.serial(r)
    lim = _z_upper(alpha)
    tests.append(KKTest("serial", z_serial, lim, bool(matters and z_serial > lim),
                        f"lag-1 autocorrelation of the residuals, z = {z_serial:.1f}"))
    lim_w = _z_upper(alpha / (2 * len(END_WINDOWS)))
    for end, name in ((0, "lf_end"), (1, "hf_end")):
        worst = None
        for k in END_WINDOWS:
            if 2 * k > N:
                continue
            pts = np.arange(k) if end == 0 else np.arange(N - k, N)
            idx = np.concatenate((pts, pts + N))
            mean, var = null.window(idx)
            z = _chi2_z(float(u[idx] @ u[idx]), mean, var)
            if worst is None or z > worst[0]:
                worst = (z, k, idx)
        if worst is None:
            continue
        z, k, idx = worst
        band = f[idx[:k]]
        failed = bool(z > lim_w and excess(idx) > tolerance)
        if failed:
            flagged[idx] = True
        tests.append(KKTest(name, z, lim_w, failed,
                            f"residual energy of the {k} {'lowest' if end == 0 else 'highest'} "
                            f"frequencies ({band.min():.3g}–{band.max():.3g} Hz), z = {z:.1f}"))
    lim_o = _z_upper(alpha / (2 * 2 * N))
    zo = np.abs(u) / np.sqrt(null.leverage())
    out = (zo > lim_o) & (np.abs(r) > tolerance)
    flagged |= out
    worst_o = float(zo.max()) if zo.size else 0.0
    tests.append(KKTest("outliers", worst_o, lim_o, bool(out.any()),
                        f"{int(out.sum())} point(s) beyond {lim_o:.1f} σ"))
    if sig is not None:
        # can a test circuit reach the stated noise at all? The best of the fits scanned
        # (the M chosen sits on the s² plateau, up to one standard error above its floor)
        z, chi2_nu, m_best = np.inf, np.nan, ft.M
        for other in scan.fits.values():  # every scanned fit keeps its design and solution
            u_m = (scan.b - other.A @ other.xs) / ref
            nu_m = max(u_m.size - other.A.shape[1], 1)
            z_m = _chi2_z(float(u_m @ u_m), float(nu_m), 2.0 * nu_m)
            if z_m < z:
                z, chi2_nu, m_best = z_m, float(u_m @ u_m) / nu_m, other.M
        tests.append(KKTest("size", z, lim, bool(z > lim and matters),
                            f"χ²/ν = {chi2_nu:.2f} against the stated noise (best of the "
                            f"test circuits scanned, M = {m_best})"))
    tests.append(KKTest("noise_limit", noise_est, max_noise, bool(noise_est > max_noise),
                        f"noise {100 * noise_est:.2g} % of |Z| exceeds {100 * max_noise:.2g} %"))
    failed = [t for t in tests if t.failed]
    stat = max(t.value for t in tests if t.name != "noise_limit")
    inconsistent = flagged[:N] | flagged[N:]
    ne = scan.extras.n
    coef = dict(zip(scan.extras.names, ft.x[:ne] * scan.extras.scale))
    if scan.admittance:
        g_inf = coef.get("G_inf", 0.0)
        R0 = 1.0 / g_inf if g_inf else np.inf
        L = 1.0 / coef["L_inv"] if coef.get("L_inv") else np.inf
        C = coef.get("C", 0.0)
    else:
        R0 = coef.get("R_inf", 0.0)
        L = coef.get("L", 0.0)
        C = 1.0 / coef["C_inv"] if coef.get("C_inv") else np.inf
    return KKResult(
        passed=not failed,
        reason="; ".join(t.detail for t in failed),
        statistic=float(stat),
        tests=tuple(tests),
        noise=float(noise_est),
        sigma=sigma_med,
        rms=float(np.sqrt(np.mean(np.abs(res) ** 2))),
        freq=f,
        Z=Z,
        Z_fit=Z_fit,
        residuals_real=res.real,
        residuals_imag=res.imag,
        inconsistent=inconsistent,
        M=int(ft.M),
        mu=float(ft.mu),
        c=float(c),
        representation="admittance" if scan.admittance else "impedance",
        tau=ft.tau,
        R=ft.x[ne:],
        R0=float(R0),
        L=float(L),
        C=float(C),
        dof=float(null.nu),
    )
