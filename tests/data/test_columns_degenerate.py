"""Column roles when the phase relation does not single out the columns (regressions).

A nearly pure resistance has Z'' ≈ 0 and a phase ≈ 0: then phase ≈ Z''/Z' (in radians,
×180/π in degrees), and that product relation is also satisfied with the Z'' and phase
columns exchanged and some other near-constant column as Z'. Such a table must read
right or be refused with ``columns=``, never be read with the wrong Z'.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisfit as ef

# found by test_columns_fuzz.py::test_detector_recovers_or_refuses (header-less, {:.7E});
# columns: freq, Z', Z'', phase (deg), <Ewe>, <I>, temperature
FREQ = [1.0, 1.94739085, 3.79233112, 7.38515092, 14.38177533, 28.00693768, 54.54045416,
        106.21158136, 206.83546166, 402.78948539, 784.38855815]  # fmt: skip
ZRE = [118.99988541, 118.99978593, 118.99960005, 118.99925262, 118.99860289, 118.99738663,
       118.99510563, 118.99081309, 118.98268413, 118.9671136, 118.93668391]  # fmt: skip
ZIM = [-0.00116327, -0.0021729, -0.00405883, -0.00758158, -0.0141617, -0.02645244,
       -0.04940895, -0.0922839, -0.17234916, -0.32182657, -0.60075603]  # fmt: skip
PHASE = [-0.00056009, -0.0010462, -0.00195424, -0.00365038, -0.00681862, -0.01273653,
         -0.02379026, -0.04443601, -0.0829942, -0.15499459, -0.28940182]  # fmt: skip
EWE = [3.70012573, 3.6998679, 3.70064042, 3.7001049, 3.69946433, 3.7003616, 3.701304,
       3.70094708, 3.69929626, 3.69873458, 3.69937673]  # fmt: skip
CURRENT = [0.00039512, 0.00042986, 0.00069604, -0.00118412, -0.0006617, -0.00043644,
           -0.0011698, 0.00173937, -0.00049591, 0.00032897, -0.00025857]  # fmt: skip
TEMP = [24.94183592, 25.01092797, 24.99242985, 25.02021144, 25.06941719, 24.92416302,
        25.1420982, 25.07260938, 25.08437327, 25.1164864, 25.07875882]  # fmt: skip


def _write(path, cols, fmt="{:.7E}"):
    n = len(cols[0])
    path.write_text("\n".join("\t".join(fmt.format(c[i]) for c in cols) for i in range(n)) + "\n")
    return path


def _read_or_refuse(p):
    """The spectrum read from ``p``, or None when the reader refused with columns=."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        try:
            return ef.read(p, format="table")
        except ef.ReaderError as exc:
            assert exc.path == str(p)
            assert "columns=" in exc.reason, exc.reason
            return None


def test_near_resistor_with_temperature_column_is_not_misread(tmp_path):
    p = _write(tmp_path / "t.txt", [FREQ, ZRE, ZIM, PHASE, EWE, CURRENT, TEMP])
    got = _read_or_refuse(p)
    if got is None:
        return
    assert len(got) == 1
    s = got[0]
    assert not np.allclose(s.Z.real, 25, rtol=0.05), "temperature taken as Z'"
    np.testing.assert_allclose(s.freq, FREQ, rtol=1e-7)
    z = np.array(ZRE) + 1j * np.array(ZIM)
    np.testing.assert_allclose(s.Z, z, rtol=1e-6)


def test_near_resistor_refusal_names_the_option(tmp_path):
    """The same table is ambiguous from its values alone; the message says how to settle it."""
    p = _write(tmp_path / "t.txt", [FREQ, ZRE, ZIM, PHASE, EWE, CURRENT, TEMP])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        with pytest.raises(ef.ReaderError, match=r"columns=") as info:
            ef.read(p, format="table")
    assert info.value.path == str(p)
    # the columns= option settles it
    opt = {"freq": 0, "z_real": 1, "z_imag": 2, "phase": 3}
    s = ef.read(p, format="table", columns=opt)[0]
    np.testing.assert_allclose(s.Z, np.array(ZRE) + 1j * np.array(ZIM), rtol=1e-6)


def test_near_resistor_with_header_reads(tmp_path):
    """A header that names the columns settles what the values cannot."""
    p = tmp_path / "h.txt"
    names = ["freq/Hz", "Re(Z)/Ohm", "Im(Z)/Ohm", "Phase(Z)/deg", "<Ewe>/V", "<I>/mA",
             "Temperature/°C"]  # fmt: skip
    cols = [FREQ, ZRE, ZIM, PHASE, EWE, CURRENT, TEMP]
    p.write_text("\t".join(names) + "\n" + _write(tmp_path / "body", cols).read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        s = ef.read(p, format="table")[0]
    np.testing.assert_allclose(s.Z, np.array(ZRE) + 1j * np.array(ZIM), rtol=1e-6)


@pytest.mark.parametrize("order", [(3, 0, 6, 2, 1, 5, 4), (6, 2, 3, 0, 1, 4, 5)])
def test_near_resistor_shuffled_is_not_misread(tmp_path, order):
    """Column order does not matter: right spectrum or a refusal, never temperature as Z'."""
    cols = [FREQ, ZRE, ZIM, PHASE, EWE, CURRENT, TEMP]
    p = _write(tmp_path / "t.txt", [cols[k] for k in order])
    got = _read_or_refuse(p)
    if got is not None:
        np.testing.assert_allclose(got[0].Z, np.array(ZRE) + 1j * np.array(ZIM), rtol=1e-6)


def test_near_resistor_alternative_reading_fits_the_printed_values():
    """Ground truth for the refusal: temperature as Z', the phase column as Z'' and the
    Z'' column as the phase (degrees) agree within the printed 0.06° — as the truth does."""
    alt = np.degrees(np.arctan2(PHASE, TEMP))
    true = np.degrees(np.arctan2(ZIM, ZRE))
    assert np.all(np.abs(alt - np.array(ZIM)) <= 0.06 + 1e-3 * np.abs(alt))
    assert np.all(np.abs(true - np.array(PHASE)) <= 0.06)


def test_large_resistor_with_potential_column_is_not_misread(tmp_path):
    """887 Ω with a phase under 0.05°: the <Ewe> column (3.7 V) as Z' with the phase and
    Z'' columns exchanged fits too (3.7 · 887 ≈ (180/π)²); never read as a 3.7 Ω cell."""
    f = np.logspace(0, 4, 25)
    zre = 887.0 * (1 - 1e-6 * np.log10(f))
    theta = -np.radians(0.05) * (f / f.max()) ** 0.5
    zim = zre * np.tan(theta)
    ewe = 3.7 + 1e-4 * np.cos(np.arange(f.size))
    p = _write(tmp_path / "r.txt", [f, zre, zim, np.degrees(theta), ewe])
    got = _read_or_refuse(p)
    if got is not None:
        np.testing.assert_allclose(got[0].Z, zre + 1j * zim, rtol=1e-6)


def _capacitor():
    f = np.logspace(-1, 3, 30)
    zre = 2e-3 * (1 + 0.01 * np.log10(f + 1))
    zim = -1 / (2 * np.pi * f * 1e-5)
    return f, zre, zim, np.degrees(np.arctan2(zim, zre))


def test_near_capacitor_phase_does_not_single_out_z_real(tmp_path):
    """At −90° the phase hardly depends on Z': twice Z' fits the printed phase as well,
    so the values alone cannot say which column is Z' (here there is only one, but a
    reader cannot know there is no other); refused with columns=."""
    f, zre, zim, ph = _capacitor()
    assert np.all(np.abs(np.degrees(np.arctan2(zim, 2 * zre)) - ph) <= 0.06)
    p = _write(tmp_path / "c.txt", [f, zre, zim, ph])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        with pytest.raises(ef.ReaderError, match=r"columns=") as info:
            ef.read(p, format="table")
    assert info.value.path == str(p)
    s = ef.read(p, format="table", columns={"freq": 0, "z_real": 1, "z_imag": 2})[0]
    np.testing.assert_allclose(s.Z, zre + 1j * zim, rtol=1e-6)


def test_near_capacitor_with_small_column_is_not_misread(tmp_path):
    f, zre, zim, ph = _capacitor()
    other = 3e-3 + 1e-5 * np.sin(np.arange(f.size))
    got = _read_or_refuse(_write(tmp_path / "c.txt", [f, zre, zim, ph, other]))
    if got is not None:
        np.testing.assert_allclose(got[0].Z, zre + 1j * zim, rtol=1e-6)


def test_small_phase_with_large_arc_still_reads(tmp_path):
    """The checks do not refuse a phase that tells the columns apart (tens of degrees)."""
    f = np.logspace(5, -1, 37)
    z = 50 + 400 / (1 + 2j * np.pi * f * 1e-3)
    rng = np.random.default_rng(3)
    temp = 25 + 0.1 * rng.standard_normal(f.size)
    ewe = 3.7 + 1e-3 * rng.standard_normal(f.size)
    p = _write(tmp_path / "a.txt", [f, z.real, z.imag, np.degrees(np.angle(z)), ewe, temp])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        s = ef.read(p, format="table")[0]
    np.testing.assert_allclose(s.Z, z, rtol=1e-6)


# found by the same fuzz test with another seed: freq, Z', Z'', phase (deg), <Ewe>
FREQ2 = [1.0, 1.87381742, 3.51119173, 6.57933225, 12.32846739, 23.101297, 43.28761281,
         81.11308308, 151.9911083, 284.80358684, 533.66992312, 1000.0]  # fmt: skip
ZRE2 = [92.02470452, 92.00716249, 92.00205041, 92.00058482, 92.00016663, 92.00004746,
        92.00001352, 92.00000385, 92.0000011, 92.00000031, 92.00000009, 92.00000003]  # fmt: skip
ZIM2 = [-0.1552231, -0.08432785, -0.04523496, -0.02417599, -0.0129074, -0.00688911,
        -0.00367664, -0.00196213, -0.00104713, -0.00055882, -0.00029823, -0.00015915]  # fmt: skip
PHASE2 = [-9.66438295e-02, -5.25136143e-02, -2.81708067e-02, -1.50562317e-02,
          -8.03845684e-03, -4.29039952e-03, -2.28973575e-03, -1.22197505e-03,
          -6.52133144e-04, -3.48024121e-04, -1.85730048e-04, -9.91185467e-05]  # fmt: skip
EWE2 = [3.70012573, 3.6998679, 3.70064042, 3.7001049, 3.69946433, 3.7003616, 3.701304,
        3.70094708, 3.69929626, 3.69873458, 3.69937673, 3.70004133]  # fmt: skip


def test_constant_column_is_not_taken_as_phase(tmp_path):
    """Z'' and the phase (deg) of a near resistor are proportional, so atan2(phase, Z'')
    is one angle, −π + atan(180/(π·92)) ≈ −2.585 rad ≡ 3.698 rad: the 3.70 V column fits
    it as a phase in radians. Never read with Z'' as Z' and the phase as Z''."""
    ang = np.arctan2(PHASE2, ZIM2) + 2 * np.pi
    assert np.all(np.abs(ang - np.array(EWE2)) <= 1e-3 + 1e-3 * np.abs(ang))
    p = _write(tmp_path / "t.txt", [FREQ2, ZRE2, ZIM2, PHASE2, EWE2])
    got = _read_or_refuse(p)
    if got is not None:
        np.testing.assert_allclose(got[0].Z, np.array(ZRE2) + 1j * np.array(ZIM2), rtol=1e-6)


def test_constant_phase_spectrum_needs_modulus_or_option(tmp_path):
    """A pure CPE has one phase at every frequency: Z', Z'' and |Z| are proportional and
    the phase cannot tell the pair apart; |Z| = hypot(Z', Z'') can."""
    f = np.logspace(4, -1, 30)
    z = 1e3 * (2j * np.pi * f) ** -0.8
    cols = [f, z.real, z.imag, np.degrees(np.angle(z))]
    got = _read_or_refuse(_write(tmp_path / "a.txt", cols))
    if got is not None:
        np.testing.assert_allclose(got[0].Z, z, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        s = ef.read(_write(tmp_path / "b.txt", [*cols, np.abs(z)]), format="table")[0]
    np.testing.assert_allclose(s.Z, z, rtol=1e-6)


def test_degree_phase_is_not_read_as_radians_with_another_z_real(tmp_path):
    """203 Ω with a phase under 0.03°: phase·Z' = (180/π)·Z'' in degrees, and the same
    columns fit phase·Z' = Z'' in radians with Z' ≈ 203·π/180 ≈ 3.5 — the 3.70 V column
    comes close enough. Found by fuzzing near resistors; never read as a 3.7 Ω cell."""
    f = np.array(FREQ2)
    zre = np.array([203.00629272, 203.00180029, 203.00051339, 203.00014627, 203.00004166,
                    203.00001187, 203.00000338, 203.00000096, 203.00000027, 203.00000008,
                    203.00000002, 203.00000001])  # fmt: skip
    zim = -7.90767124e-02 / f  # about 2 F in series, as fuzzed
    ph = np.degrees(np.arctan2(zim, zre))
    assert np.all(np.abs(np.arctan2(zim, np.array(EWE2)) - ph) <= 1e-3 + 1e-3 * np.abs(ph))
    got = _read_or_refuse(_write(tmp_path / "t.txt", [f, zre, zim, ph, EWE2]))
    if got is not None:
        np.testing.assert_allclose(got[0].Z, zre + 1j * zim, rtol=1e-6)
