"""Hypothesis fuzzing of the column-role detector: right roles or ReaderError, never wrong.

Tables are written from known spectra with shuffled columns, with or without a header,
with or without |Z| and phase, with time, cycle and unrelated metadata columns. Whatever
the reader returns must equal the known spectra to the printed precision.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eisfit as ef

NAMES = {
    "freq": ["freq/Hz", "Frequency (Hz)", "f"],
    "re": ["Re(Z)/Ohm", "Z'", "Zre"],
    "im": ["Im(Z)/Ohm", "Z''", "Zim"],
    "neg_im": ["-Im(Z)/Ohm", "-Z''", "-Zim"],
    "mod": ["|Z|/Ohm", "Zmod", "|Z|"],
    "phase_deg": ["Phase(Z)/deg", "Phase (deg)", "theta"],
    "phase_rad": ["Phase/rad", "phase (rad)"],
    "time": ["time/s", "Time (s)"],
    "cycle": ["cycle number", "cycle"],
    "ewe": ["<Ewe>/V", "E (V)"],
    "current": ["<I>/mA", "I/mA"],
    "temp": ["Temperature/°C"],
    "noise": ["Q/mA.h", "x"],
}


def spectrum(f, r0, r1, tau, a, w, age):
    s = 2j * np.pi * f
    return r0 * (1 + 0.02 * age) + r1 * (1 + 0.1 * age) / (1 + (s * tau) ** a) + w / np.sqrt(s)


@st.composite
def tables(draw):
    n_sweeps = draw(st.integers(1, 4))
    hi, lo = draw(st.floats(2.5, 6.0)), draw(st.floats(-3.0, 0.5))
    ppd = draw(st.integers(4, 12))
    npts = max(6, int((hi - lo) * ppd))
    f = np.logspace(hi, lo, npts) if draw(st.booleans()) else np.logspace(lo, hi, npts)
    pars = (
        draw(st.floats(1e-3, 100.0)),
        draw(st.floats(1e-3, 1000.0)),
        draw(st.floats(1e-6, 10.0)),
        draw(st.floats(0.6, 1.0)),
        draw(st.floats(0.0, 5.0)),
    )
    zs = [spectrum(f, *pars, k) for k in range(n_sweeps)]
    F = np.tile(f, n_sweeps)
    Z = np.concatenate(zs)
    cols = {"freq": F, "re": Z.real}
    if draw(st.booleans()):
        cols["neg_im"] = -Z.imag
    else:
        cols["im"] = Z.imag
    if draw(st.booleans()):
        cols["mod"] = np.abs(Z)
    ph = draw(st.sampled_from([None, "deg", "rad"]))
    if ph == "deg":
        cols["phase_deg"] = np.degrees(np.angle(Z))
    elif ph == "rad":
        cols["phase_rad"] = np.angle(Z)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if draw(st.booleans()):
        cols["time"] = np.cumsum(0.5 + 1 / F) + draw(st.floats(0, 1e5))
    if draw(st.booleans()):
        cols["cycle"] = np.repeat(np.arange(n_sweeps) + draw(st.integers(0, 3)), f.size)
    for extra in draw(st.lists(st.sampled_from(["ewe", "current", "temp", "noise"]), unique=True)):
        cols[extra] = {
            "ewe": 3.7 + 1e-3 * rng.standard_normal(F.size),
            "current": 1e-3 * rng.standard_normal(F.size),
            "temp": 25 + 0.1 * rng.standard_normal(F.size),
            "noise": rng.uniform(0, 1, F.size),
        }[extra]
    order = draw(st.permutations(list(cols)))
    header = draw(st.booleans())
    names = [draw(st.sampled_from(NAMES[k])) for k in order] if header else None
    fmt = draw(st.sampled_from(["{:.7E}", "{:.5E}", "{:.9g}"]))
    return order, cols, names, fmt, f, zs


FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(t=tables())
def test_detector_recovers_or_refuses(t):
    order, cols, names, fmt, f, zs = t
    rows = ["\t".join(fmt.format(cols[k][i]) for k in order) for i in range(f.size * len(zs))]
    text = ("\t".join(names) + "\n" if names else "") + "\n".join(rows) + "\n"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.txt"
        p.write_text(text, encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ef.EisfitWarning)
            try:
                got = ef.read(p, format="table")
            except ef.ReaderError as exc:
                assert exc.path == str(p)
                # refusals happen only without a header; the message names the option
                assert names is None and "columns=" in exc.reason, exc.reason
                return
    assert len(got) == len(zs), (order, names, [len(s) for s in got])
    digits = 5 if fmt == "{:.5E}" else 7
    for s, z in zip(got, zs):
        np.testing.assert_allclose(s.freq, f, rtol=10.0**-digits)
        tol = 3 * 10.0**-digits * np.abs(z)
        assert np.all(np.abs(s.Z - z) <= tol), (order, names)


def test_headerless_with_phase_is_recovered(tmp_path):
    """The detector is not a refusal machine: a plain header-less sweep with phase reads."""
    f = np.logspace(5, -1, 37)
    z = spectrum(f, 0.5, 2.0, 1e-3, 0.9, 0.05, 0)
    cols = [np.degrees(np.angle(z)), -z.imag, f, np.abs(z), z.real]
    p = tmp_path / "shuffled.txt"
    p.write_text("\n".join("\t".join(f"{c[i]:.7E}" for c in cols) for i in range(f.size)))
    s = ef.read(p)[0]
    assert s.meta["column_roles"] == "freq=2, z_real=4, -z_imag=1, |Z|=3, phase=0"
    np.testing.assert_allclose(s.Z, z, rtol=1e-6)
