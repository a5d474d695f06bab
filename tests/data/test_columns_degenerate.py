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
