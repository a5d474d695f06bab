"""Every file of the shared reference data is read (and spot-checked) or cleanly rejected.

Skipped only when the shared data directory is absent; the fixture tests do not need it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import eisfit as ef

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="shared reference data not present")

ERR = "error"
FP = "formats_permissive/"
DL = "datalab_LiLi_symmetric_GEIS/jr862_11_08_23_insitu-impedance-LiLi_1MLiTFSI_TEGDME-1mA"
# relative path -> (format, number of spectra, points in the first spectrum) or ERR.
# Counts from each folder's SOURCE.md (and the files' own headers).
EXPECTED: dict[str, object] = {
    "impedance.py/exampleData.csv": ("table", 1, 66),
    "impedance.py/exampleDataAutolab.txt": ("zplot", 1, 41),
    "impedance.py/exampleDataBioLogic.mpt": ("biologic-mpt", 1, 43),
    "impedance.py/exampleDataBioLogic_MissingFreq.mpt": ERR,
    "impedance.py/exampleDataCHInstruments.txt": ("chi", 1, 73),
    "impedance.py/exampleDataGamry.DTA": ("gamry-dta", 1, 72),
    "impedance.py/exampleDataGamryABORT.DTA": ("gamry-dta", 1, 72),
    "impedance.py/exampleDataParstat.txt": ("parstat", 1, 31),
    "impedance.py/exampleDataPowersuite.txt": ("powersuite", 1, 30),
    "impedance.py/exampleDataVersaStudio.par": ("versastudio-par", 1, 61),
    "impedance.py/exampleDataZPlot.z": ("zplot", 1, 21),
    "impedance.py/exampleDataZPlot_noComments.z": ("zplot", 1, 31),
    "impedance.py/Circuit1_EIS_1.z": ("zplot", 1, 48),
    "impedance.py/Circuit1_EIS_2.z": ("zplot", 1, 48),
    "impedance.py/Circuit2_EIS_1.z": ("zplot", 1, 56),
    "impedance.py/Circuit2_EIS_2.z": ("zplot", 1, 56),
    "impedance.py/Circuit3_EIS_1.z": ("zplot", 1, 53),
    "impedance.py/Circuit3_EIS_2.z": ("zplot", 1, 53),
    "gamry-parser_tests/eispot_data.dta": ("gamry-dta", 1, 10),
    "gamry-parser_tests/eispot_data_curveaborted.dta": ("gamry-dta", 1, 5),
    "hybrid-drt_solid-state/tutorials/PEIS_SSB.mpr": ("biologic-mpr", 1, 89),
    "hybrid-drt_solid-state/tutorials/PEIS_LPSCl_IonBlocking_-25C.mpr": ("biologic-mpr", 1, 79),
    "hybrid-drt_solid-state/tutorials/PEIS_LPSCl_IonBlocking_-25C.txt": ("biologic-mpt", 1, 79),
    "hybrid-drt_solid-state/tutorials/PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt": ("relaxis", 1, 79),
    "hybrid-drt_solid-state/tutorials/EISGALV_EISTest3.DTA": ("gamry-dta", 1, 71),
    "hybrid-drt_solid-state/tutorials/CP_SSB.mpr": ERR,
    "hybrid-drt_solid-state/tutorials/CP_SSB.txt": ERR,
    "hybrid-drt_solid-state/webinar_SSB/Sample1_PEIS_EndOfDischarge.mpr": ("biologic-mpr", 1, 86),
    "hybrid-drt_solid-state/webinar_SSB/Sample2_PEIS_AtRest.csv": ("table", 10, 89),
    DL + "_02_GEIS_C05.mpr": ("biologic-mpr", 45, 9),
    DL + "-prerun_C05.mpr": ("biologic-mpr", 1, 15),
    DL + "_01_GCPL_C05.mpr": ERR,
    DL + "_02_GEIS_C05_LOOP.txt": ERR,
    DL + ".mps": ERR,
    DL + "-prerun.mps": ERR,
    "autoeis/battery_data.npy": ("npy", 130, 57),
    "autoeis/battery_data_long.csv": ("table", 130, 57),
    "autoeis/test_data.txt": ("table", 1, 67),
    "autoeis/circuits_filtered.csv": ERR,
    "autoeis/circuits_unfiltered.csv": ERR,
    "pybop_Kuhn2026_LG-MJ1/18650_LG_3500_MJ1_EIS_anode_discharge.parquet": ("parquet", 36, 72),
    "pybop_Kuhn2026_LG-MJ1/18650_LG_3500_MJ1_EIS_anode_discharge.csv": ("table", 36, 72),
    "zhang2020_via_mrs-sp22-tutorial/data_eis_zhang2020.csv": ("table", 1343, 60),
    "zhang2020_via_mrs-sp22-tutorial/freq_eis_zhang2020.csv": ERR,
    "zhang2020_via_mrs-sp22-tutorial/ref.txt": ERR,
    "autoecm_quantumscape/test_data_filtered.csv": ("table", 1761, 36),
    "autoecm_quantumscape/le_name_mapping.json": ERR,
    "pyDRTtools/EIS_data/csv_files/data_1.csv": ("table", 1, 107),
    "pyDRTtools/EIS_data/text_files/LIB_data.txt": ("table", 1, 107),
    "pyDRTtools/EIS_data/text_files/LIB_data_2.txt": ("table", 1, 100),
    "pyDRTtools/EIS_data/text_files/zarc_data.txt": ("table", 1, 81),
    "pyDRTtools/EIS_data/text_files/negami_data.txt": ("table", 1, 81),
    "pyDRTtools/tutorial/data/1ZARC.csv": ("table", 1, 81),
    "pyDRTtools/tutorial/data/gamma_data.csv": ERR,
    "pyDRTtools/tutorial/data/gamma_data1.csv": ERR,
    "pyDRTtools/tutorial/results/1ZARC_DRT-RR.csv": ERR,
    "pyDRTtools/tutorial/results/1ZARC_Z-RR.csv": ("table", 1, 81),
    "DRTtools/import_file_samples/csv_files/data_LIB.csv": ("table", 1, 107),
    "DRTtools/import_file_samples/csv_files/data_ZARC.csv": ("table", 1, 81),
    "DRTtools/import_file_samples/mat_file/data_1.mat": ("matlab", 1, 107),
    "DRTtools/import_file_samples/mat_file/data_2.mat": ("matlab", 1, 107),
    "DRTtools/import_file_samples/text_files/LIB_data.txt": ("table", 1, 107),
    "DRTtools/import_file_samples/text_files/LIB_data_2.txt": ("table", 1, 100),
    # formats_permissive/: counts from its SOURCE.md
    FP + "ivium_idf/exampleDataIvium.idf": ("ivium", 1, 26),
    FP + "palmsens_pssession/BatteryCurve.pssession": ("palmsens-pssession", 1, 50),
    FP + "palmsens_pssession/eis_3ch_4scan_5freq.pssession": ("palmsens-pssession", 12, 5),
    FP + "palmsens_pssession/eis_5freq.pssession": ("palmsens-pssession", 1, 5),
    FP + "zahner_ism/000_mvdc.ism": ("zahner-ism", 1, 38),
    FP + "zahner_ism/300_mvdc.ism": ("zahner-ism", 1, 38),
    FP + "zahner_ism/500uR_measurement_pro.ism": ("zahner-ism", 1, 160),
    FP + "zahner_ism/ZHIT.ism": ("zahner-ism", 1, 40),
    FP + "zahner_ism/drift.ism": ("zahner-ism", 1, 47),
    FP + "zahner_ism/li-ion-battery.ism": ("zahner-ism", 1, 128),
    FP + "zahner_ism/rc-data.ism": ("zahner-ism", 1, 55),
    FP + "zahner_ism/short_circuit_measurement_pro.ism": ("zahner-ism", 1, 212),
    FP + "zahner_thales_csv/EIS.csv": ("table", 1, 25),
    FP + "biologic_mpr_eclab_ge_11.50/PEIS.mpr": ("biologic-mpr", 4, 61),
    FP + "biologic_text/exampleDataBioLogic.mpr": ("biologic-mpr", 1, 43),
    FP + "biologic_text/exampleDataBioLogic.txt": ("table", 1, 43),
    FP + "biologic_text/exampleDataBioLogic_NoImZ.mpt": ("biologic-mpt", 1, 43),
    FP + "gamry_dta/550C.0.5V.DTA": ("gamry-dta", 1, 61),
}


def _all_files():
    if not SHARED.is_dir():
        return []
    return sorted(str(p.relative_to(SHARED)) for p in SHARED.rglob("*") if p.is_file())


def _read(rel, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.EisfitWarning)
        return ef.read(SHARED / rel, **kw)


@pytest.mark.parametrize("rel", _all_files())
def test_every_file_is_read_or_rejected(rel):
    expected = EXPECTED.get(rel)
    if expected is None and (
        rel.endswith((".md", ".json"))
        or "LICENSE" in rel
        or rel.endswith("sample_info.txt")
        or "_DRT-RR" in rel  # DRT outputs (tau, gamma): not impedance
    ):
        expected = ERR
    if expected is None and "ZARC" in rel:
        expected = ("table", 1, 81)  # synthetic ZARC spectra and reconstructions, 81 points
    try:
        spectra = _read(rel)
    except ef.ReaderError as exc:
        assert expected == ERR, f"{rel}: unexpected ReaderError {exc}"
        assert exc.path == str(SHARED / rel)
        assert exc.reason
        return
    assert expected != ERR, f"{rel} was read but should have been rejected"
    assert spectra and all(isinstance(s, ef.Spectrum) and len(s) > 0 for s in spectra)
    if expected is not None:
        fmt, n, npts = expected
        assert (spectra[0].meta["format"], len(spectra), len(spectra[0])) == (fmt, n, npts)


def test_all_listed_files_exist():
    missing = [rel for rel in EXPECTED if not (SHARED / rel).is_file()]
    assert not missing


# ---- spot values from the SOURCE.md files ----------------------------------------------
def test_zhang2020_sign_quirk_and_first_row():
    with pytest.warns(ef.EisfitWarning, match="−Z''"):
        spectra = ef.read(
            SHARED / "zhang2020_via_mrs-sp22-tutorial/data_eis_zhang2020.csv",
            frequencies=SHARED / "zhang2020_via_mrs-sp22-tutorial/freq_eis_zhang2020.csv",
        )
    s = spectra[0]
    assert s.freq[0] == pytest.approx(20004.453)
    assert s.Z[0].real == pytest.approx(0.38470)  # "Re = 0.38470 Ω at 20 kHz"
    assert s.Z[0].imag == pytest.approx(0.03513)  # inductive at 20 kHz
    cells = [s.meta["seriesIdx"] for s in spectra]
    # rows per cell: 261, 181, 202, 35, 275, 212, 140, 37
    assert [cells.count(c) for c in range(1, 9)] == [261, 181, 202, 35, 275, 212, 140, 37]


def test_autoeis_series():
    spectra = _read("autoeis/battery_data.npy")
    assert spectra[0].freq[0] == pytest.approx(9905, rel=1e-3)
    assert spectra[0].freq[-1] == pytest.approx(20.95e-3, rel=1e-3)
    # "Ohmic part grows 0.169 -> 0.186 Ω", "low-f |Z| grows ~1.9 -> 4.0 Ω"
    assert spectra[0].Z.real.min() == pytest.approx(0.169, abs=0.002)
    assert spectra[-1].Z.real.min() == pytest.approx(0.186, abs=0.002)
    assert abs(spectra[0].Z[-1]) == pytest.approx(1.9, abs=0.15)
    assert abs(spectra[-1].Z[-1]) == pytest.approx(4.0, abs=0.2)
    long = _read("autoeis/battery_data_long.csv")
    for a, b in zip(spectra, long):
        np.testing.assert_allclose(a.Z, b.Z, rtol=1e-7)


def test_pybop_parquet_equals_csv_and_band():
    a = _read("pybop_Kuhn2026_LG-MJ1/18650_LG_3500_MJ1_EIS_anode_discharge.parquet")
    b = _read("pybop_Kuhn2026_LG-MJ1/18650_LG_3500_MJ1_EIS_anode_discharge.csv")
    assert [s.meta["spectrum_id"] for s in a] == [s.meta["spectrum_id"] for s in b]
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.Z, y.Z, rtol=1e-12)
    assert a[0].freq.min() == pytest.approx(0.01) and a[0].freq.max() == pytest.approx(
        2e6, rel=0.01
    )


def test_solid_state_files():
    s = _read("hybrid-drt_solid-state/tutorials/PEIS_SSB.mpr")[0]
    assert s.freq.max() == pytest.approx(7e6, rel=1e-3) and s.freq.min() == pytest.approx(
        0.01, rel=0.01
    )
    s = _read("hybrid-drt_solid-state/webinar_SSB/Sample1_PEIS_EndOfDischarge.mpr")[0]
    assert s.freq.min() == pytest.approx(0.02, rel=0.01)
    g = _read("hybrid-drt_solid-state/tutorials/EISGALV_EISTest3.DTA")[0]
    assert g.Z.real[0] == pytest.approx(0.047, abs=1e-3) and g.Z.real[-1] == pytest.approx(
        0.066, abs=1e-3
    )
    assert g.meta["I_dc"] == pytest.approx(0.5, abs=0.05) and g.meta["E_dc"] == pytest.approx(
        1.46, abs=0.01
    )
    r = _read("hybrid-drt_solid-state/tutorials/PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt")[0]
    assert r.freq[0] == pytest.approx(0.1, rel=1e-3) and np.all(np.diff(r.freq) > 0)


def test_datalab_geis_frequency_windows():
    base = "datalab_LiLi_symmetric_GEIS/jr862_11_08_23_insitu-impedance-LiLi_1MLiTFSI_TEGDME-1mA"
    pre = _read(base + "-prerun_C05.mpr")[0]
    assert pre.freq[0] == pytest.approx(1e4, rel=0.01) and pre.freq[-1] == pytest.approx(
        0.1, rel=0.01
    )
    spectra = _read(base + "_02_GEIS_C05.mpr")
    assert all(s.meta["technique"] == "GEIS" for s in spectra)


def test_drttools_and_pydrttools_copies_agree():
    pairs = [
        (
            "DRTtools/import_file_samples/text_files/zarc_data.txt",
            "pyDRTtools/EIS_data/text_files/zarc_data.txt",
        ),
        (
            "DRTtools/import_file_samples/text_files/LIB_data.txt",
            "pyDRTtools/EIS_data/text_files/LIB_data.txt",
        ),
        (
            "DRTtools/import_file_samples/csv_files/data_LIB.csv",
            "pyDRTtools/EIS_data/csv_files/data_1.csv",
        ),
        (
            "DRTtools/import_file_samples/mat_file/data_1.mat",
            "DRTtools/import_file_samples/text_files/LIB_data.txt",
        ),
    ]
    for a, b in pairs:
        x, y = _read(a)[0], _read(b)[0]
        np.testing.assert_allclose(x.freq, y.freq, rtol=1e-9)
        np.testing.assert_allclose(x.Z, y.Z, rtol=1e-9)


ORACLE = [
    ("exampleData.csv", None),
    ("exampleDataAutolab.txt", "autolab"),
    ("exampleDataBioLogic.mpt", "biologic"),
    ("exampleDataCHInstruments.txt", "chinstruments"),
    ("exampleDataGamry.DTA", "gamry"),
    ("exampleDataGamryABORT.DTA", "gamry"),
    ("exampleDataParstat.txt", "parstat"),
    ("exampleDataPowersuite.txt", "powersuite"),
    ("exampleDataVersaStudio.par", "versastudio"),
    ("exampleDataZPlot.z", "zplot"),
    ("exampleDataZPlot_noComments.z", "zplot"),
    ("Circuit2_EIS_1.z", "zplot"),
]


@pytest.mark.parametrize("name,instrument", ORACLE)
def test_against_impedance_py_readers(name, instrument):
    pre = pytest.importorskip("impedance.preprocessing")
    path = SHARED / "impedance.py" / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, Z = pre.readCSV(str(path)) if instrument is None else pre.readFile(str(path), instrument)
    s = _read("impedance.py/" + name)[0]
    np.testing.assert_allclose(s.freq, f, rtol=1e-12)
    np.testing.assert_allclose(s.Z, Z, rtol=1e-12)


# ---- formats_permissive/ (quirks and values from its SOURCE.md) -------------------------
def test_pssession_multichannel_potential_scan():
    spectra = _read(FP + "palmsens_pssession/eis_3ch_4scan_5freq.pssession")
    titles = [s.meta["curve_title"].split(":")[0] for s in spectra]
    assert titles == ["CH 3"] * 4 + ["CH 5"] * 4 + ["CH 8"] * 4
    assert [s.meta["subscan_title"] for s in spectra[:4]] == [
        "E=0.000 V",
        "E=0.200 V",
        "E=0.400 V",
        "E=0.600 V",
    ]
    np.testing.assert_allclose([s.meta["E_dc"] for s in spectra[:4]], [0, 0.2, 0.4, 0.6], atol=0.02)
    assert all(s.freq[0] == pytest.approx(2e5) and s.freq[-1] == pytest.approx(20) for s in spectra)


def test_pssession_lower_case_keys():
    s = _read(FP + "palmsens_pssession/BatteryCurve.pssession")[0]
    # 50 points, 12.5 kHz -> 0.1 Hz, Edc ~ 1.439 V, ZRe 0.83 -> 58 Ohm
    assert s.freq[0] == pytest.approx(12.5e3) and s.freq[-1] == pytest.approx(0.1)
    assert s.meta["E_dc"] == pytest.approx(1.439, abs=0.005)
    assert s.Z.real[0] == pytest.approx(0.83, abs=0.01) and s.Z.real[-1] == pytest.approx(58, abs=1)
    assert np.mean(s.Z.imag < 0) > 0.8  # ZIm stored positive = capacitive


def test_zahner_ism_values():
    d = _read(FP + "zahner_ism/300_mvdc.ism")[0]
    assert d.meta["E_dc"] == pytest.approx(0.325, abs=1e-3)
    assert d.meta["I_dc"] == pytest.approx(0.1535, rel=0.01)
    assert np.mean(d.Z.imag > 0) > 0.5  # "the 300 mV one is inductive"
    sc = _read(FP + "zahner_ism/500uR_measurement_pro.ism")[0]
    assert sc.Z.real.min() == pytest.approx(-1.2e-3, rel=0.1)
    assert np.degrees(np.angle(sc.Z)).max() == pytest.approx(134, abs=1)
    li = _read(FP + "zahner_ism/li-ion-battery.ism")[0]
    assert li.freq.min() == pytest.approx(5e-4) and li.freq.max() == pytest.approx(5e3)
    assert "temperature" not in _read(FP + "zahner_ism/ZHIT.ism")[0].meta  # a simulation


def test_biologic_text_mpr_and_noimz_are_the_same_spectrum():
    ref = _read("impedance.py/exampleDataBioLogic.mpt")[0]
    txt = _read(FP + "biologic_text/exampleDataBioLogic.txt")[0]  # third column is Im(Z)
    mpr = _read(FP + "biologic_text/exampleDataBioLogic.mpr")[0]
    noimz = _read(FP + "biologic_text/exampleDataBioLogic_NoImZ.mpt")[0]
    np.testing.assert_allclose(txt.Z, ref.Z, rtol=1e-7)
    np.testing.assert_allclose(mpr.Z, ref.Z, rtol=1e-6)
    np.testing.assert_array_equal(noimz.Z, ref.Z)
    assert noimz.meta["cycle"] == 1


def test_ivium_idf_ends_at_primary_data():
    s = _read(FP + "ivium_idf/exampleDataIvium.idf")[0]
    assert s.freq[0] == 1e5 and s.freq[-1] == 1.0  # 26 frequencies 100 kHz -> 1 Hz
    assert s.Z.real[0] == pytest.approx(13.8, abs=0.1) and s.Z.real[-1] == pytest.approx(
        92.8, abs=0.1
    )


def test_zahner_csv_si_suffixes():
    s = _read(FP + "zahner_thales_csv/EIS.csv")[0]
    assert s.freq[0] == 5 and s.freq[-1] == 500e3
    assert abs(s.Z[0]) == pytest.approx(14.151) and abs(s.Z[-1]) == pytest.approx(0.062476)
