"""Golden values per format, typed from the fixture files' own text (tests/fixtures)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisfit as ef
from eisfit.data.readers import sniff_format

# (fixture, format, n_spectra, n_points of first, first freq, first Z), copied from the files
GOLDEN = [
    ("exampleDataBioLogic.mpt", "biologic-mpt", 1, 43, 1.0003201e3, 65.470886 - 0.38998979j),
    ("PEIS_LPSCl_IonBlocking_-25C.txt", "biologic-mpt", 1, 79, 7.0000185e6, 359.24146 - 290.92038j),
    ("PEIS_LPSCl_IonBlocking_-25C.mpr", "biologic-mpr", 1, 79, 7.0000185e6, 359.24146 - 290.92038j),
    (
        "PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt",
        "relaxis",
        1,
        79,
        0.10002180933952332,
        1799427.625 - 8093785.5j,
    ),
    ("exampleDataGamryABORT.DTA", "gamry-dta", 1, 72, 200015.6, 825.8584 - 1367.239j),
    ("EISGALV_EISTest3.DTA", "gamry-dta", 1, 71, 1000078, 0.04711733 + 0.1695821j),
    ("eispot_data.dta", "gamry-dta", 1, 10, 10000, 224.6075 - 3.767681j),
    ("exampleDataZPlot.z", "zplot", 1, 21, 3.0e5, 147.77 - 11.335j),
    ("exampleDataZPlot_noComments.z", "zplot", 1, 31, 3.0e5, 642.62 - 85.821j),
    ("exampleDataAutolab.txt", "zplot", 1, 41, 10000, 0.013785863964281 + 0.007191946305823j),
    ("exampleDataCHInstruments.txt", "chi", 1, 73, 9.961e4, 98.91 - 2.748j),
    ("exampleDataParstat.txt", "parstat", 1, 31, None, None),
    ("exampleDataPowersuite.txt", "powersuite", 1, 30, 0.1, 423929.46 - 49014.063j),
    ("exampleDataVersaStudio.par", "versastudio-par", 1, 61, 100000, 55.31571 + 4.575431j),
    (
        "exampleData.csv",
        "table",
        1,
        66,
        3.1623e-3,
        4.949989776405060160e-02 - 2.043869854441892481e-02j,
    ),
    ("1ZARC.csv", "table", 1, 81, 0.01, 59.20397431908595 + 0.5913301898954791j),
    ("DRTtools_LIB_data.txt", "table", 1, 107, 999.040405, 0.112362966 + 0.00318273902j),
    ("DRTtools_data_1.mat", "matlab", 1, 107, 999.040405, 0.112362966 + 0.00318273902j),
    ("autoeis_battery_long_first3.csv", "table", 3, 57, 9904.999, 0.16852786 - 0.0509286j),
    ("autoeis_battery_first3.npy", "npy", 3, 57, 9904.999, 0.16852786 - 0.0509286j),
    ("pybop_MJ1_first2.parquet", "parquet", 2, 72, 0.01, 5.806409013591942 - 6.383691380130746j),
    ("LiLi_GEIS_C05.mpr", "biologic-mpr", 45, 9, None, None),
    (
        "Sample2_PEIS_AtRest_first3loops.csv",
        "table",
        3,
        89,
        7000018.5,
        50.752583 * np.exp(1j * np.deg2rad(-20.75998)),
    ),
]


@pytest.mark.parametrize("name,fmt,n_spec,n_pts,f0,z0", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(fx, name, fmt, n_spec, n_pts, f0, z0):
    path = fx(name)
    assert sniff_format(path) == fmt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        spectra = ef.read(path)
    assert len(spectra) == n_spec
    s = spectra[0]
    assert len(s) == n_pts
    assert s.meta["format"] == fmt
    assert s.meta["source"] == str(path)
    assert [x.meta["index"] for x in spectra] == list(range(n_spec))
    if f0 is not None:
        assert s.freq[0] == pytest.approx(f0, rel=1e-7)
        assert s.Z[0].real == pytest.approx(z0.real, rel=1e-7)
        assert s.Z[0].imag == pytest.approx(z0.imag, rel=1e-7)


def test_format_option_overrides_sniffing(fx):
    spectra = ef.read(fx("exampleData.csv"), format="table")
    assert len(spectra[0]) == 66
    with pytest.raises(ef.ReaderError, match="unknown format"):
        ef.read(fx("exampleData.csv"), format="nope")


def test_biologic_mpt_metadata(fx):
    s = ef.read(fx("exampleDataBioLogic.mpt"))[0]
    assert s.meta["technique"] == "Potentio Electrochemical Impedance Spectroscopy"
    assert s.meta["control"] == "potentiostatic"
    assert s.meta["acquisition_start"] == "02/04/2018 10:02:46"
    assert s.meta["cycle"] == 1
    # <Ewe>/V of the first rows is ~ -3e-4 V; <I>/mA ~ -0.048 mA -> A
    assert abs(s.meta["E_dc"]) < 1e-2
    assert s.meta["I_dc"] == pytest.approx(-4.8e-5, rel=0.5)


def test_missing_frequency_column_is_a_reader_error(fx):
    path = fx("exampleDataBioLogic_MissingFreq.mpt")
    with pytest.raises(ef.ReaderError) as ei:
        ef.read(path)
    err = ei.value
    assert err.path == str(path)
    assert err.line == 61
    assert "freq" in err.reason.lower()


def test_decimal_comma_mpt(fx, tmp_path):
    text = fx("exampleDataBioLogic.mpt").read_bytes().decode("latin-1")
    lines = text.splitlines()
    lines[61:] = [ln.replace(".", ",") for ln in lines[61:]]
    p = tmp_path / "comma.mpt"
    p.write_bytes("\n".join(lines).encode("latin-1"))
    a = ef.read(fx("exampleDataBioLogic.mpt"))[0]
    b = ef.read(p)[0]
    np.testing.assert_array_equal(a.freq, b.freq)
    np.testing.assert_array_equal(a.Z, b.Z)


def test_mpt_several_cycles_are_split(fx, tmp_path):
    text = fx("exampleDataBioLogic.mpt").read_bytes().decode("latin-1")
    lines = text.splitlines()
    header, rows = lines[:61], lines[61:]
    col = header[60].split("\t").index("cycle number")

    def with_cycle(row, c):
        parts = row.split("\t")
        parts[col] = f"{c:.15E}"
        return "\t".join(parts)

    more = rows + [with_cycle(r, 2) for r in rows] + [with_cycle(r, 3) for r in rows[:10]]
    p = tmp_path / "three.mpt"
    p.write_bytes("\n".join(header + more).encode("latin-1"))
    spectra = ef.read(p)
    assert [len(s) for s in spectra] == [43, 43, 10]
    assert [s.meta["cycle"] for s in spectra] == [1, 2, 3]
    np.testing.assert_array_equal(spectra[1].Z, spectra[0].Z)


def test_sweep_restart_split_without_cycle_column(tmp_path):
    f = np.logspace(4, -1, 11)
    z = 1 + 5 / (1 + 1j * f)
    rows = [f"{a},{b.real},{b.imag}" for a, b in zip(f, z)]
    p = tmp_path / "two.csv"
    p.write_text("freq,z_real,z_imag\n" + "\n".join(rows + rows) + "\n")
    spectra = ef.read(p)
    assert [len(s) for s in spectra] == [11, 11]


def test_gamry_aborted_warns_and_keeps_complete_points(fx):
    with pytest.warns(ef.EisfitWarning, match="aborted"):
        spectra = ef.read(fx("eispot_data_curveaborted.dta"))
    s = spectra[0]
    assert len(s) == 5
    assert s.meta["aborted"] is True
    np.testing.assert_allclose(s.freq, [10000, 5000, 1000, 500.1, 100])
    with pytest.warns(ef.EisfitWarning, match="aborted"):
        s = ef.read(fx("exampleDataGamryABORT.DTA"))[0]
    assert s.freq[-1] == pytest.approx(0.0158898)
    assert s.Z[-1] == pytest.approx(17007.49 - 6635.557j)


def test_gamry_odd_rows_and_metadata(fx):
    s = ef.read(fx("eispot_data.dta"))[0]
    # rows 6-9 are space-separated and row 9 has the frequency ".5"
    np.testing.assert_allclose(s.freq[-4:], [10, 5, 1, 0.5])
    assert s.meta["technique"] == "EISPOT"
    assert s.meta["E_dc_set"] == pytest.approx(1.3)
    assert s.meta["acquisition_start"] == "5/11/2016 17:47:03"
    g = ef.read(fx("EISGALV_EISTest3.DTA"))[0]
    assert g.meta["technique"] == "GALVEIS"
    assert g.meta["I_dc"] == pytest.approx(0.5, abs=0.05)  # Idc column ≈ 0.5 A
    assert g.meta["E_dc"] == pytest.approx(1.46, abs=0.01)


def test_parstat_dc_rows_are_skipped_and_counted(fx):
    path = fx("exampleDataParstat.txt")
    lines = path.read_text().splitlines()[1:]
    n_dc = sum(1 for ln in lines if ln.strip() and float(ln.split("\t")[3]) == 0)
    n_eis = sum(1 for ln in lines if ln.strip() and float(ln.split("\t")[3]) > 0)
    s = ef.read(path)[0]
    assert len(s) == n_eis == 31
    assert s.meta["marker_rows_skipped"] == n_dc


def test_zplot_metadata(fx):
    s = ef.read(fx("exampleDataZPlot.z"))[0]
    assert s.meta["variant"] == "ZPLOT2"
    assert s.meta["E_oc"] == pytest.approx(0.0033)
    assert s.meta["acquisition_start"] == "10-12-2018 11:04:34"


def test_wide_table_negated_imag_columns_warn_and_flip(fx):
    with pytest.warns(ef.EisfitWarning, match="−Z''"):
        spectra = ef.read(fx("zhang2020_wide_first3.csv"))
    assert len(spectra) == 3
    s = spectra[0]
    assert len(s) == 60
    # column names round the frequencies ("ZReal_2e+04Hz"); exact ones from a side file
    assert s.freq[0] == 2e4 and s.meta["freq_source"] == "column names"
    with pytest.warns(ef.EisfitWarning):
        s = ef.read(fx("zhang2020_wide_first3.csv"), frequencies=fx("zhang2020_freq.csv"))[0]
    assert s.freq[0] == 20004.453 and s.freq[-1] == 0.01999
    assert s.meta["freq_source"] == "given"
    # file: ZReal = 0.3847, ZImag = -0.03513 (holds -Im Z) -> Im Z = +0.03513
    assert s.Z[0].real == pytest.approx(0.3847)
    assert s.Z[0].imag == pytest.approx(0.03513)
    assert s.meta["cycle"] == 1 and s.meta["seriesIdx"] == 1
    assert s.meta["imag_sign_flipped"] is True
    with pytest.warns(ef.EisfitWarning, match="kept as read"):
        kept = ef.read(fx("zhang2020_wide_first3.csv"), sign_fix="keep")[0]
    assert kept.Z[0].imag == pytest.approx(-0.03513)


def test_long_table_equals_npy(fx):
    a = ef.read(fx("autoeis_battery_long_first3.csv"))
    b = ef.read(fx("autoeis_battery_first3.npy"))
    assert [x.meta["spectrum_id"] for x in a] == [0, 1, 2]
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.freq, y.freq, rtol=1e-12)
        np.testing.assert_allclose(x.Z, y.Z, rtol=1e-7)


def test_polar_csv_with_loops(fx):
    spectra = ef.read(fx("Sample2_PEIS_AtRest_first3loops.csv"))
    assert [s.meta["loop"] for s in spectra] == [0, 1, 2]
    # each loop ends with an all-zero f = 0 record, skipped and counted
    assert spectra[0].meta["marker_rows_skipped"] == 3
    assert spectra[0].meta["E_dc"] == pytest.approx(3.062, abs=1e-3)


def test_mat_equals_text_export(fx):
    a = ef.read(fx("DRTtools_data_1.mat"))[0]
    b = ef.read(fx("DRTtools_LIB_data.txt"))[0]
    np.testing.assert_allclose(a.freq, b.freq, rtol=1e-9)
    np.testing.assert_allclose(a.Z, b.Z, rtol=1e-9)


def test_excel_roundtrip(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "run1"
    ws.append(["Cell A, 25 °C"])
    ws.append(["Frequency (Hz)", "Z' (Ohm)", "-Z'' (Ohm)"])
    rows = [(1000.0, 1.5, 0.25), (100.0, 2.0, 0.75), (10.0, 3.0, 1.25), (1.0, 4.0, 0.5)]
    for r in rows:
        ws.append(list(r))
    p = tmp_path / "book.xlsx"
    wb.save(p)
    s = ef.read(p, min_points=4)[0]
    assert s.meta["format"] == "excel" and s.meta["sheet"] == "run1"
    np.testing.assert_allclose(s.freq, [r[0] for r in rows])
    np.testing.assert_allclose(s.Z, [r[1] - 1j * r[2] for r in rows])


def test_palmsens_utf16_csv(tmp_path):
    text = (
        "Impedance Spectroscopy\r\nDate and time measurement:,2021-03-04 10:11:12\r\n"
        "freq / Hz,logf,Z' / Ohm,-Z'' / Ohm,Z / Ohm,-Phase / °\r\n"
        "10000,4,10.5,0.5,10.51,2.7\r\n1000,3,11.0,2.0,11.18,10.3\r\n100,2,14.0,4.5,14.7,17.8\r\n"
    )
    p = tmp_path / "ps.csv"
    p.write_bytes(text.encode("utf-16"))
    s = ef.read(p, min_points=3)[0]
    assert s.meta["format"] == "palmsens-csv"
    assert s.meta["acquisition_start"] == "2021-03-04 10:11:12"
    np.testing.assert_allclose(s.Z, [10.5 - 0.5j, 11.0 - 2.0j, 14.0 - 4.5j])


def test_nova_export_semicolon_decimal_comma(tmp_path):
    text = (
        "Index;Frequency (Hz);Z' (Ω);-Z'' (Ω);Z (Ω);-Phase (°);Time (s)\n"
        "1;10000;1,5;0,25;1,52;9,46;0,1\n2;1000;2,5;0,5;2,55;11,3;0,5\n3;100;3,5;1,5;3,8;23,2;1,5\n"
    )
    p = tmp_path / "nova.txt"
    p.write_text(text, encoding="utf-8")
    s = ef.read(p, min_points=3)[0]
    assert s.meta["format"] == "autolab"
    np.testing.assert_allclose(s.freq, [10000, 1000, 100])
    np.testing.assert_allclose(s.Z, [1.5 - 0.25j, 2.5 - 0.5j, 3.5 - 1.5j])


def test_headerless_whitespace_table_by_column_order(tmp_path):
    p = tmp_path / "plain.dat"
    p.write_text(
        "  1e3  2.0  -0.5\n  1e2  2.5  -1.0\n  1e1  3.0  -0.7\n"
        "  1e0  3.2  -0.4\n  1e-1  3.3  -0.3\n"
    )
    s = ef.read(p)[0]
    assert s.meta["columns_by_order"] is True
    np.testing.assert_allclose(s.Z, [2 - 0.5j, 2.5 - 1j, 3 - 0.7j, 3.2 - 0.4j, 3.3 - 0.3j])


def test_explicit_column_names(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("w,a,b\n1000,1,-0.1\n100,2,-0.2\n10,3,-0.3\n1,4,-0.4\n0.1,5,-0.5\n")
    with pytest.raises(ef.ReaderError, match="frequency"):
        ef.read(p)
    s = ef.read(p, freq="w", z_real="a", z_imag="b")[0]
    np.testing.assert_allclose(s.Z, [1 - 0.1j, 2 - 0.2j, 3 - 0.3j, 4 - 0.4j, 5 - 0.5j])
    t = ef.read(p, columns={"freq": "w", "z_real": 1, "z_imag": "b"})[0]
    np.testing.assert_array_equal(t.Z, s.Z)


@pytest.mark.parametrize(
    "name,iso",
    [
        ("exampleDataBioLogic.mpt", "2018-02-04T10:02:46"),  # "02/04/2018 10:02:46" (US)
        ("eispot_data.dta", "2016-05-11T17:47:03"),  # DATE 5/11/2016, TIME 17:47:03
        ("exampleDataZPlot.z", "2018-10-12T11:04:34"),  # "10-12-2018", "11:04:34"
        ("exampleDataVersaStudio.par", "2018-07-19T09:40:30"),  # Thursday, July 19, 2018 9:40:30 AM
        ("exampleDataCHInstruments.txt", "2020-02-20T15:55:08"),  # Feb. 20, 2020   15:55:08
    ],
)
def test_timestamps(fx, name, iso):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        assert ef.read(fx(name))[0].meta["timestamp"] == iso


def test_unused_option_warns_and_bad_sign_fix_raises(fx):
    with pytest.warns(ef.EisfitWarning, match="not used by the 'gamry-dta' reader"):
        ef.read(fx("eispot_data.dta"), sheet="x")
    with pytest.raises(ValueError, match="sign_fix"):
        ef.read(fx("eispot_data.dta"), sign_fix="flip")


def test_galvanostatic_mpt(fx, tmp_path):
    lines = fx("exampleDataBioLogic.mpt").read_bytes().decode("latin-1").splitlines()
    assert lines[3] == "Potentio Electrochemical Impedance Spectroscopy"
    lines[3] = "Galvano Electrochemical Impedance Spectroscopy"
    p = tmp_path / "geis.mpt"
    p.write_bytes("\n".join(lines).encode("latin-1"))
    s = ef.read(p)[0]
    assert s.meta["control"] == "galvanostatic"


def test_headerless_with_row_counter(tmp_path):
    p = tmp_path / "counter.csv"
    p.write_text("0,1000,2.0,-0.5\n1,100,2.5,-1.0\n2,10,3.0,-0.7\n3,1,3.5,-0.6\n4,0.1,4.0,-0.9\n")
    s = ef.read(p)[0]
    np.testing.assert_allclose(s.freq, [1000, 100, 10, 1, 0.1])
    np.testing.assert_allclose(s.Z, [2 - 0.5j, 2.5 - 1j, 3 - 0.7j, 3.5 - 0.6j, 4 - 0.9j])


def test_minus_imag_column_that_holds_plus_imag(tmp_path):
    f = np.logspace(4, -1, 12)
    z = 1 + 5 / (1 + 1j * f)  # capacitive: Im Z < 0
    p = tmp_path / "mislabelled.csv"
    rows = [f"{a},{b.real},{b.imag}" for a, b in zip(f, z)]  # writes Im Z under "-Z''"
    p.write_text("freq,Z',-Z''\n" + "\n".join(rows) + "\n")
    with pytest.warns(ef.EisfitWarning, match="looks like it holds Z''"):
        s = ef.read(p)[0]
    np.testing.assert_allclose(s.Z, z)
    assert s.meta["imag_sign_flipped"] is True
