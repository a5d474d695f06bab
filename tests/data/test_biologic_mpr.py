"""The .mpr decoder against EC-Lab's own text export of the same run, and internal identities."""

from __future__ import annotations

import numpy as np
import pytest

import eisfit as ef
from eisfit.data.readers import biologic_mpr


def _text_columns(path):
    """Independent parse of an EC-Lab text export: header names -> list of printed strings."""
    lines = path.read_bytes().decode("latin-1").splitlines()
    nhead = int(lines[1].split(":")[1])
    names = lines[nhead - 1].rstrip("\t").split("\t")
    rows = [ln.rstrip("\t").split("\t") for ln in lines[nhead:] if ln.strip()]
    return {n: [r[k] for r in rows] for k, n in enumerate(names)}


@pytest.mark.parametrize(
    "name,digits",
    [
        ("freq/Hz", 7),
        ("Re(Z)/Ohm", 7),
        ("-Im(Z)/Ohm", 7),
        ("|Z|/Ohm", 7),
        ("Phase(Z)/deg", 7),
        ("<Ewe>/V", 7),
        ("<I>/mA", 7),
        ("time/s", 15),
        ("cycle number", 15),
    ],
)
def test_mpr_matches_text_export_to_printed_precision(fx, name, digits):
    """Every decoded value lies within half a unit of the last digit EC-Lab printed."""
    text = _text_columns(fx("PEIS_LPSCl_IonBlocking_-25C.txt"))
    cols = biologic_mpr.columns(fx("PEIS_LPSCl_IonBlocking_-25C.mpr"))
    printed = text[name]
    assert len(printed) == len(cols[name]) == 79
    for value, token in zip(cols[name], printed):
        mantissa, exp = token.split("E")
        assert len(mantissa.lstrip("-").split(".")[1]) == digits
        half_unit = 0.5 * 10.0 ** (int(exp) - digits)
        # (plus one ulp: float(token) is itself rounded to the nearest double)
        assert abs(value - float(token)) <= half_unit + np.spacing(abs(value)), (name, value, token)


def test_mpr_spectrum_equals_mpt_spectrum(fx):
    a = ef.read(fx("PEIS_LPSCl_IonBlocking_-25C.mpr"))[0]
    b = ef.read(fx("PEIS_LPSCl_IonBlocking_-25C.txt"))[0]
    np.testing.assert_allclose(a.freq, b.freq, rtol=6e-8)
    np.testing.assert_allclose(a.Z.real, b.Z.real, rtol=6e-8)
    np.testing.assert_allclose(a.Z.imag, b.Z.imag, rtol=6e-8)
    assert a.meta["technique"] == "PEIS" and a.meta["control"] == "potentiostatic"
    assert a.meta["time_start"] == b.meta["time_start"]


def test_relaxis_export_is_the_same_run(fx):
    """RelaxIS exported the same measurement (#61) in ascending frequency, full float32 digits."""
    a = ef.read(fx("PEIS_LPSCl_IonBlocking_-25C.mpr"))[0].sorted()
    r = ef.read(fx("PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt"))[0]
    assert "PEIS_TSeq7_-25C_#61_C01.mpr" in r.meta["spectrum_name"]
    np.testing.assert_allclose(r.freq, a.freq, rtol=1e-7)
    np.testing.assert_allclose(r.Z, a.Z, rtol=1e-7)
    assert r.meta["E_dc"] == pytest.approx(-0.080042)  # DC=-0.080042 on the info line


def test_geis_mpr_spectra_follow_loop_file(fx):
    spectra = ef.read(fx("LiLi_GEIS_C05.mpr"))
    loop_txt = fx("LiLi_GEIS_C05_LOOP.txt").read_text().split("\n")[1:]
    starts = [int(x) for x in loop_txt if x.strip()]
    assert starts[0] == 0 and starts[-1] == 405
    assert [len(s) for s in spectra] == list(np.diff(starts)) == [9] * 45
    assert [s.meta["loop"] for s in spectra] == list(range(45))
    for s in spectra:
        assert s.meta["technique"] == "GEIS" and s.meta["control"] == "galvanostatic"
        assert s.freq[0] == pytest.approx(500, rel=0.01)
        assert s.freq[-1] == pytest.approx(0.8, rel=0.05)
        assert np.all(np.diff(s.freq) < 0)
    t = [s.meta["time_start"] for s in spectra]
    assert np.all(np.diff(t) > 0)


def test_mpr_column_identities(fx):
    """|Z|, phase, Cs of the decoded columns agree with Re/-Im: the column ids are right."""
    c = biologic_mpr.columns(fx("LiLi_GEIS_C05.mpr"))
    re, mim = c["Re(Z)/Ohm"], c["-Im(Z)/Ohm"]
    np.testing.assert_allclose(c["|Z|/Ohm"], np.hypot(re, mim), rtol=1e-6)
    np.testing.assert_allclose(c["Phase(Z)/deg"], np.degrees(np.arctan2(-mim, re)), atol=1e-4)
    w = 2 * np.pi * c["freq/Hz"]
    np.testing.assert_allclose(c["Cs/µF"], 1e6 / (w * mim), rtol=1e-5)


def test_non_impedance_mpr_is_rejected(fx):
    with pytest.raises(ef.ReaderError, match="GCPL data, not impedance") as ei:
        ef.read(fx("LiLi_GCPL_C05.mpr"))
    assert ei.value.path.endswith("LiLi_GCPL_C05.mpr")


def test_truncated_mpr_is_a_reader_error(fx, tmp_path):
    raw = fx("PEIS_LPSCl_IonBlocking_-25C.mpr").read_bytes()
    for cut in (10, 60, 7000, 12000, len(raw) - 100):
        p = tmp_path / f"cut{cut}.mpr"
        p.write_bytes(raw[:cut])
        with pytest.raises(ef.ReaderError):
            ef.read(p)


def _with_ids(raw: bytes, replace: dict[int, int]) -> bytes:
    """Copy of the .mpr with some column ids in the data module replaced."""
    i = raw.index(b"MODULEVMP data")
    start = i + 65 + 6  # new-style header; ids follow the uint32 count and uint16 ncols
    nc = int.from_bytes(raw[i + 65 + 4 : i + 65 + 6], "little")
    ids = [int.from_bytes(raw[start + 2 * k : start + 2 * k + 2], "little") for k in range(nc)]
    new = b"".join(replace.get(c, c).to_bytes(2, "little") for c in ids)
    return raw[:start] + new + raw[start + 2 * nc :]


def test_unknown_column_ids_are_skipped_when_their_size_is_implied(fx, tmp_path):
    raw = fx("PEIS_LPSCl_IonBlocking_-25C.mpr").read_bytes()
    ref = ef.read(fx("PEIS_LPSCl_IonBlocking_-25C.mpr"))[0]
    one = tmp_path / "one_unknown.mpr"
    one.write_bytes(_with_ids(raw, {169: 999}))  # Cs -> unknown (4 bytes, implied by row size)
    s = ef.read(one)[0]
    np.testing.assert_array_equal(s.Z, ref.Z)
    assert s.meta["cycle"] == 1  # a column after the unknown one is still decoded
    two = tmp_path / "two_unknown.mpr"
    two.write_bytes(_with_ids(raw, {169: 998, 172: 999}))
    s = ef.read(two)[0]
    np.testing.assert_array_equal(s.Z, ref.Z)  # impedance columns precede the unknown ones
    assert "cycle" not in s.meta
    bad = tmp_path / "unknown_freq.mpr"
    bad.write_bytes(_with_ids(raw, {32: 997}))
    with pytest.raises(ef.ReaderError, match="no frequency column"):
        ef.read(bad)
