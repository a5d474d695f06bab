"""One test (or a few) per format added for the "never a silent misread" issue.

Expected values are typed from the fixture files' own text (or the JSON/binary values as
listed in the fixture's SOURCE notes), or come from the known arrays the synthetic
fixtures were written from (``tests/fixtures/make_synthetic.py``).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import eisfit as ef
from eisfit.data.readers import formats, sniff_format

FIXTURES_SPEC = importlib.util.spec_from_file_location(
    "make_synthetic",
    __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "make_synthetic.py",
)
synth = importlib.util.module_from_spec(FIXTURES_SPEC)
FIXTURES_SPEC.loader.exec_module(synth)


def quiet_read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        return ef.read(path, **kw)


def test_formats_lists_every_reader():
    names = formats()
    for name in ("palmsens-pssession", "zahner-ism", "ivium", "ods", "table", "biologic-mpr"):
        assert name in names


# ---- header-less EC-Lab multi-sweep table -----------------------------------------------
def test_headerless_eclab_multisweep_each_sweep_one_spectrum(fx):
    path = fx("eclab_headerless_multisweep.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ef.EisfitWarning)  # no repair, no guess: no warning
        spectra = ef.read(path)
    assert len(spectra) == synth.N_SWEEPS == 12
    assert all(len(s) == 60 for s in spectra)
    assert [s.meta["cycle"] for s in spectra] == list(range(1, 13))
    first, second = spectra[0], spectra[1]
    # line 1:  35.400000  1  1.0000000E+05  2.1411468E-02  2.7040054E-05  ...  -0.072357
    assert first.freq[0] == 1e5 and first.Z[0] == pytest.approx(2.1411468e-02 - 2.7040054e-05j)
    # line 60: 1301.896521  1  1.0000000E-02  6.9751731E-02  1.6824884E-02
    assert first.freq[-1] == pytest.approx(0.01)
    assert first.Z[-1] == pytest.approx(6.9751731e-02 - 1.6824884e-02j)
    assert first.meta["time_start"] == pytest.approx(35.4)
    assert first.meta["time_end"] == pytest.approx(1301.896521)
    assert second.meta["time_start"] == pytest.approx(4902.296521)  # line 61
    assert first.meta["roles_from"] == "content"
    assert "freq=2" in first.meta["column_roles"] and "-z_imag=4" in first.meta["column_roles"]
    for k, s in enumerate(spectra):
        np.testing.assert_allclose(s.Z, synth.cell(synth.SWEEP_F, k + 1), rtol=2e-7, atol=1e-10)


def test_ambiguous_headerless_table_is_refused_with_the_option_that_settles_it(tmp_path):
    f = np.logspace(4, -1, 20)
    z = synth.cell(f)
    p = tmp_path / "amb.txt"
    # f, Z', -Z'', and two more columns; no |Z|, no phase: Z' vs -Z'' cannot be told apart
    rows = [
        f"{a:.6e}\t{b.real:.6e}\t{-b.imag:.6e}\t{3.7:.3f}\t{k}"
        for k, (a, b) in enumerate(zip(f, z))
    ]
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(ef.ReaderError) as ei:
        ef.read(p)
    msg = str(ei.value)
    assert str(p) in msg and "columns=" in msg and "frequency candidates" in msg
    s = ef.read(p, columns={"freq": 0, "z_real": 1, "z_imag": 2, "neg_imag": True})[0]
    np.testing.assert_allclose(s.Z, z, rtol=1e-6)


def test_columns_option_errors(tmp_path, fx):
    p = fx("eclab_headerless_multisweep.txt")
    with pytest.raises(ef.ReaderError, match="unknown key"):
        ef.read(p, columns={"frequency": 2})
    with pytest.raises(ef.ReaderError, match="columns 0..6"):
        ef.read(p, columns={"freq": 9, "z_real": 3, "z_imag": 4})
    with pytest.raises(ef.ReaderError, match="takes no columns"):
        ef.read(fx("zahner_000_mvdc.ism"), columns={"freq": 0})


# ---- header variants -------------------------------------------------------------------
F = np.logspace(4, -1, 16)
Z = synth.cell(F, 2)


@pytest.mark.parametrize(
    "header,cols",
    [
        ("f,-Z',-Z''", lambda z: (-z.real, -z.imag)),
        ("Zre,Zim", lambda z: (z.real, z.imag)),
        ("Z',Z\"", lambda z: (z.real, z.imag)),
        ("Z' / Ohm,-Z'' / Ohm", lambda z: (z.real, -z.imag)),
    ],
)
def test_header_variants(tmp_path, header, cols):
    names = header.split(",")
    if len(names) == 2:
        names = ["freq/Hz"] + names
    a, b = cols(Z)
    p = tmp_path / "v.csv"
    p.write_text(
        ",".join(names) + "\n" + "\n".join(f"{x:.9e},{y:.9e},{w:.9e}" for x, y, w in zip(F, a, b))
    )
    s = ef.read(p)[0]
    np.testing.assert_allclose(s.Z, Z, rtol=1e-8)


@pytest.mark.parametrize("unit", ["deg", "rad"])
def test_modulus_and_phase_columns(tmp_path, unit):
    ph = np.angle(Z) if unit == "rad" else np.degrees(np.angle(Z))
    p = tmp_path / "polar.csv"
    p.write_text(
        f"Frequency (Hz),|Z| (Ohm),Phase ({unit})\n"
        + "\n".join(f"{x:.9e},{abs(z):.9e},{q:.9e}" for x, z, q in zip(F, Z, ph))
    )
    s = ef.read(p)[0]
    np.testing.assert_allclose(s.Z, Z, rtol=1e-7)


def test_header_that_contradicts_values_is_refused(tmp_path):
    p = tmp_path / "shifted.csv"
    # |Z| column holds something else: the header does not describe these values
    p.write_text(
        "freq,Z',Z'',|Z|\n"
        + "\n".join(f"{x:.6e},{z.real:.6e},{z.imag:.6e},{2 * abs(z):.6e}" for x, z in zip(F, Z))
    )
    with pytest.raises(ef.ReaderError, match="does not match the values"):
        ef.read(p)


# ---- Zahner ----------------------------------------------------------------------------
def test_zahner_csv_with_si_suffixes(fx):
    s = ef.read(fx("zahner_thales_EIS.csv"))[0]
    assert len(s) == 25 and s.meta["si_suffixes"] is True
    # row 6: 98.966;735.948m;-84.415   row 12: 1.462k;78.668m;-44.011
    assert s.freq[5] == pytest.approx(98.966)
    assert abs(s.Z[5]) == pytest.approx(0.735948) and np.degrees(np.angle(s.Z[5])) == pytest.approx(
        -84.415
    )
    assert s.freq[11] == pytest.approx(1462) and abs(s.Z[11]) == pytest.approx(0.078668)


def test_zahner_ism_measured_diode(fx):
    path = fx("zahner_000_mvdc.ism")
    assert sniff_format(path) == "zahner-ism"
    s = ef.read(path)[0]
    # SOURCE notes: 38 points, 100 Hz -> 500 kHz ascending, 0.0255 V, 10 mV, 2021-10-15
    assert len(s) == 38 and s.freq[0] == 100 and s.freq[-1] == 500e3
    assert s.meta["E_dc"] == pytest.approx(0.0255) and s.meta["V_ac_mV"] == pytest.approx(10)
    assert s.meta["date"] == "151021" and s.meta["timestamp"].startswith("2021-10-15")
    assert "overlap_points_dropped" not in s.meta


def test_zahner_ism_overlapping_sweep_keeps_one_branch(fx):
    s = ef.read(fx("zahner_rc-data.ism"))[0]
    # SOURCE notes: 75 points stored, 55 kept, 0.2 Hz - 100 kHz, |Z| 10.9 kOhm - 99.5 MOhm
    assert len(s) == 55 and s.meta["overlap_points_dropped"] == 20
    assert s.freq.min() == pytest.approx(0.2) and s.freq.max() == pytest.approx(1e5, rel=1e-3)
    assert abs(s.Z).min() == pytest.approx(10.9e3, rel=0.01)
    assert abs(s.Z).max() == pytest.approx(99.5e6, rel=0.01)
    assert s.meta["temperature"] == pytest.approx(23.8) and s.meta["system"] == "RC HIZ"
    assert s.meta["comments"] == "First Line / 2 / 3 / Last Line"
    assert np.all(np.diff(s.freq) < 0)


# ---- PalmSens, Ivium -------------------------------------------------------------------
def test_pssession(fx):
    s = ef.read(fx("palmsens_eis_5freq.pssession"))[0]
    # DataValues of Frequency, ZRe, ZIm in the JSON (ZIm stored as -Im Z)
    np.testing.assert_allclose(s.freq, [200000.0, 20000.0, 2000.0, 198.113, 19.999998])
    np.testing.assert_allclose(s.Z.real, [569.666, 564.804, 1097.24, 9186.113, 10603.932])
    np.testing.assert_allclose(s.Z.imag, [-32.340022, -239.0, -2260.43, -3568.658, -405.591])
    assert s.meta["curve_title"] == "CH 7: 5 freqs"
    assert s.meta["instrument_serial"] == "ES4HR20B0008"


def test_ivium_idf(fx):
    s = ef.read(fx("exampleDataIvium.idf"))[0]
    assert s.meta["format"] == "ivium" and len(s) == 26
    # first and last rows of primary_data: "1.37548E+01  -1.87976E+00 1.00000E+05", ...
    assert s.freq[0] == 1e5 and s.Z[0] == pytest.approx(13.7548 - 1.87976j)
    assert s.freq[-1] == 1.0 and s.Z[-1] == pytest.approx(92.8463 - 16.7393j)
    assert s.meta["technique"] == "Constant I" and s.meta["control"] == "galvanostatic"
    assert s.meta["timestamp"] == "2022-12-12T17:18:49"


def test_ivium_ids_two_scans(fx):
    spectra = ef.read(fx("ivium_two_scans.ids"))
    assert len(spectra) == 2 and [s.meta["block"] for s in spectra] == [0, 1]
    f = np.array([1e5, 2.5e4, 6.3e3, 1.6e3, 400.0, 100.0, 25.0, 6.3, 1.6, 0.4])
    for k, s in enumerate(spectra):
        np.testing.assert_allclose(s.freq, f)
        np.testing.assert_allclose(s.Z, 10 * synth.cell(f, 4 * k), rtol=1e-5)


# ---- Gamry -----------------------------------------------------------------------------
def test_gamry_decimal_comma_equals_dot_file(fx):
    a = ef.read(fx("eispot_data.dta"))[0]
    b = ef.read(fx("gamry_decimal_comma.DTA"))[0]
    np.testing.assert_array_equal(a.freq, b.freq)
    np.testing.assert_array_equal(a.Z, b.Z)
    assert b.meta["decimal_comma"] is True and b.meta["E_dc_set"] == 1.3


def test_gamry_drift_corrected_columns_are_used(fx):
    s = ef.read(fx("gamry_drift_corrected.DTA"))[0]
    assert s.meta["drift_corrected"] is True
    # row "1 3 5000 224.712 -4.283262 ... 2.242626E+02 -4.296112E+00"
    assert s.freq[1] == 5000 and s.Z[1] == pytest.approx(224.2626 - 4.296112j)
    assert s.Z[0] == pytest.approx(224.6075 - 3.767681j)  # point 0: no correction


def test_gamry_7_8_dta(shared):
    s = quiet_read(shared / "formats_permissive/gamry_dta/550C.0.5V.DTA")[0]
    # SOURCE notes: 61 points, 100.2 kHz -> 0.1 Hz, Zreal 0.66 -> 1.94 Ohm
    assert len(s) == 61 and s.freq[0] == pytest.approx(100195.3)
    assert s.Z.real[0] == pytest.approx(0.66, abs=0.01) and s.Z.real[-1] == pytest.approx(
        1.94, abs=0.01
    )


# ---- BioLogic --------------------------------------------------------------------------
def test_mpt_with_empty_ece_fields_equals_original(fx):
    a = ef.read(fx("exampleDataBioLogic.mpt"))[0]
    b = ef.read(fx("mpt_ece_empty_fields.mpt"))[0]
    np.testing.assert_array_equal(a.freq, b.freq)
    np.testing.assert_array_equal(a.Z, b.Z)
    assert b.meta["empty_fields"] == 24


def test_mpt_without_imz_uses_modulus_and_phase(fx):
    a = ef.read(fx("exampleDataBioLogic.mpt"))[0]
    b = ef.read(fx("mpt_no_imz.mpt"))[0]
    # |Z| and phase printed with 8 digits: Z from them agrees to ~1e-7 of |Z|
    np.testing.assert_allclose(b.Z, a.Z, rtol=0, atol=2e-6 * np.abs(a.Z).max())


def test_mpt_without_any_imaginary_information_is_refused(fx, tmp_path):
    lines = fx("mpt_no_imz.mpt").read_bytes().decode("latin-1").split("\r\n")
    names = lines[60].split("\t")
    drop = {names.index("|Z|/Ohm"), names.index("Phase(Z)/deg")}
    cut = ["\t".join(p for k, p in enumerate(ln.split("\t")) if k not in drop) for ln in lines[60:]]
    p = tmp_path / "re_only.mpt"
    p.write_bytes("\r\n".join(lines[:60] + cut).encode("latin-1"))
    with pytest.raises(ef.ReaderError, match="cannot establish the column roles") as ei:
        ef.read(p)
    assert "Re(Z)/Ohm" in str(ei.value) and "columns=" in str(ei.value)


def test_mpt_header_one_name_short(fx):
    """exampleDataBioLogic_NoImZ.mpt: the header lacks '-Im(Z)/Ohm' but the rows have it."""
    with pytest.warns(ef.EisfitWarning, match="column 2 has no name"):
        b = ef.read(fx("exampleDataBioLogic_NoImZ.mpt"))
    a = ef.read(fx("exampleDataBioLogic.mpt"))
    assert len(b) == 1 and len(b[0]) == 43
    np.testing.assert_array_equal(a[0].Z, b[0].Z)


def test_mpr_eclab_11_61_layout(fx):
    spectra = ef.read(fx("aurora_PEIS_eclab11.61.mpr"))
    # SOURCE notes: 4 spectra (cycle number 1-4), 61 points, 10.0 kHz -> 10.0 mHz
    assert [len(s) for s in spectra] == [61] * 4
    assert [s.meta["cycle"] for s in spectra] == [1, 2, 3, 4]
    assert spectra[0].freq[0] == pytest.approx(1e4, rel=1e-3)
    assert spectra[0].freq[-1] == pytest.approx(0.01, rel=1e-2)
    assert 5.4 < spectra[0].Z.real.min() < 5.6 and spectra[0].meta["technique"] == "PEIS"


def test_mpr_modulo_bat_peis_steps(fx):
    spectra = ef.read(fx("modulo_bat_peis.mpr"))
    assert len(spectra) == 2
    assert spectra[0].meta["technique"] == "MB"
    assert [s.meta["step"] for s in spectra] == [1, 1]
    assert [s.meta["cycle"] for s in spectra] == [0, 1]
    assert [s.meta["z_cycle"] for s in spectra] == [1, 2]
    assert spectra[0].meta["non_eis_rows_skipped"] == 2 * (5 + 8)
    for k, s in enumerate(spectra):
        np.testing.assert_allclose(s.freq, synth.MB_EIS_F, rtol=1e-6)
        np.testing.assert_allclose(s.Z, synth.cell(synth.MB_EIS_F, 3 * k), rtol=1e-6)


# ---- spreadsheets ----------------------------------------------------------------------
def test_ods(fx):
    pytest.importorskip("odf")
    s = ef.read(fx("cell_polar.ods"))[0]
    assert s.meta["format"] == "ods" and s.meta["sheet"] == "EIS"
    f = np.logspace(4, -1, 26)
    np.testing.assert_allclose(s.freq, f)
    np.testing.assert_allclose(s.Z, synth.cell(f, 1), rtol=2e-6)


# ---- the sanity gate -------------------------------------------------------------------
def test_gate_splits_a_named_table_with_restarts_and_refuses_one_point_spectra(tmp_path):
    f = np.concatenate([np.logspace(3, 2, 7), np.logspace(2.75, 1.55, 7)])
    z = synth.cell(f)
    p = tmp_path / "two.csv"
    body = [f"{a},{b.real},{b.imag}" for a, b in zip(f, z)]
    # a spectrum id that does not change although the sweep restarts (by < 1 decade)
    p.write_text("spectrum,freq,Z',Z''\n" + "\n".join("1," + r for r in body) + "\n")
    with pytest.warns(ef.EisfitWarning, match="split where the frequency restarts"):
        spectra = ef.read(p)
    assert [len(s) for s in spectra] == [7, 7] and [s.meta["sweep"] for s in spectra] == [0, 1]
    q = tmp_path / "points.csv"
    q.write_text("spectrum,freq,Z',Z''\n" + "\n".join(f"{k}," + r for k, r in enumerate(body[:7])))
    with pytest.raises(ef.ReaderError, match="no frequency sweep of at least 5 points"):
        ef.read(q)


# ---- plain numeric tables: the whole-block parse and the field-by-field one agree ------
@pytest.mark.parametrize("sep,eol", [(",", "\n"), ("\t", "\n"), (";", "\r\n"), (" ", "\n"),
                                     ("  ", "\n")])
def test_plain_table_values_are_read_exactly(tmp_path, sep, eol):
    rng = np.random.default_rng(3)
    f = np.logspace(5, -1, 25)
    z = (rng.uniform(0.01, 10, 25) - 1j * rng.uniform(0.01, 10, 25)) * 10.0 ** rng.integers(-4, 4, 25)
    body = eol.join(sep.join((repr(float(a)), repr(float(b.real)), f"{b.imag:.6e}", "+1.5E-3" if k % 2 else ".5"))
                    for k, (a, b) in enumerate(zip(f, z)))
    p = tmp_path / "t.txt"
    p.write_bytes((sep.join(["freq/Hz", "Re(Z)/Ohm", "Im(Z)/Ohm", "extra"]) + eol + body + eol)
                  .encode())
    (s,) = quiet_read(p)
    assert np.array_equal(s.freq, f)
    assert np.array_equal(s.Z.real, z.real)
    assert np.array_equal(s.Z.imag, np.array([float(f"{v:.6e}") for v in z.imag]))


def test_a_bad_row_after_plain_ones_is_named_by_its_line(tmp_path):
    rows = [f"{10.0 ** (3 - k / 4):.6g},{1 + k},{-0.5 * k}" for k in range(12)]
    rows[8] = "1.0,2.0,oops"
    p = tmp_path / "bad.csv"
    p.write_text("freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm\n" + "\n".join(rows) + "\n")
    with pytest.raises(ef.ReaderError) as e:
        ef.read(p)
    assert "line 10" in str(e.value) and "oops" in str(e.value)


@pytest.mark.parametrize("text,real,imag", [
    # SI suffixes and an empty last field: the field-by-field path
    ("freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm,extra\n10k,1.2,-0.2,25\n1k,1.5,-0.5,25\n"
     "100,2.5m,-1.5,25\n10,3.5,-2.5k,25\n1,4.5,-3.5,25\n0.1,5.5,-4.5,\n",
     [1.2, 1.5, 2.5e-3, 3.5, 4.5, 5.5], [-0.2, -0.5, -1.5, -2500.0, -3.5, -4.5]),
    # the first data row ends in an empty field: it is data, not the header
    ("freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm,T/C\n10000,1.2,-0.2,\n1000,1.5,-0.5,25\n"
     "100,2.5,-1.5,25\n10,3.5,-2.5,25\n1,4.5,-3.5,25\n0.1,5.5,-4.5,25\n",
     [1.2, 1.5, 2.5, 3.5, 4.5, 5.5], [-0.2, -0.5, -1.5, -2.5, -3.5, -4.5]),
], ids=["si-suffixes-and-empty-fields", "first-row-ends-empty"])
def test_rows_that_are_not_plain_numbers_are_read_field_by_field(tmp_path, text, real, imag):
    p = tmp_path / "t.csv"
    p.write_text(text)
    (s,) = quiet_read(p)
    assert np.array_equal(s.freq, [1e4, 1e3, 100.0, 10.0, 1.0, 0.1])
    assert np.array_equal(s.Z.real, real)
    assert np.array_equal(s.Z.imag, imag)
