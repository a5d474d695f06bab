"""ReaderError names the file, the line where possible, and what was expected."""

from __future__ import annotations

import pickle

import pytest

import eisfit as ef
from eisfit.data.readers import formats, sniff_format


def test_missing_file(tmp_path):
    p = tmp_path / "nope.mpt"
    with pytest.raises(ef.ReaderError, match="cannot open file") as ei:
        ef.read(p)
    assert ei.value.path == str(p)
    assert isinstance(ei.value, FileNotFoundError) and isinstance(ei.value, ValueError)
    with pytest.raises(FileNotFoundError):
        ef.read(p, format="table")  # the reader's own open, not only read()'s check
    assert pickle.loads(pickle.dumps(ei.value)).path == str(p)


def test_directory(tmp_path):
    with pytest.raises(ef.ReaderError, match="directory"):
        ef.read(tmp_path)
    with pytest.raises(ef.ReaderError, match="directory"):
        ef.read(tmp_path, format="table")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(ef.ReaderError, match="empty"):
        ef.read(p)


def test_binary_garbage_with_text_format_forced(tmp_path):
    p = tmp_path / "x.mpt"
    p.write_bytes(bytes(range(256)) * 4)
    for fmt in formats():
        with pytest.raises(ef.ReaderError):
            ef.read(p, format=fmt)


def test_bad_row_reports_line_and_expectation(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("freq,z_real,z_imag\n1000,1,-0.1\n100,2,-0.2\n10,oops,-0.3\n1,4,-0.4\n")
    with pytest.raises(ef.ReaderError) as ei:
        ef.read(p)
    assert ei.value.line == 4
    assert "numeric" in ei.value.reason and "oops" in ei.value.reason
    assert f"{p}, line 4:" in str(ei.value)


def test_mpt_bad_row_line_number(fx, tmp_path):
    lines = fx("exampleDataBioLogic.mpt").read_bytes().decode("latin-1").splitlines()
    lines[70] = lines[70].replace("E+00", "Q+00", 1)
    p = tmp_path / "bad.mpt"
    p.write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(ef.ReaderError) as ei:
        ef.read(p)
    assert ei.value.line == 71


def test_mpt_header_count_beyond_file(fx, tmp_path):
    text = fx("exampleDataBioLogic.mpt").read_bytes().decode("latin-1")
    p = tmp_path / "short.mpt"
    p.write_bytes(text.replace("Nb header lines : 61", "Nb header lines : 9999").encode("latin-1"))
    with pytest.raises(ef.ReaderError, match="header claims 9999 lines") as ei:
        ef.read(p)
    assert ei.value.line == 2


def test_gamry_without_zcurve(fx, tmp_path):
    text = fx("eispot_data.dta").read_text(encoding="latin-1")
    p = tmp_path / "nozcurve.dta"
    p.write_text(text.replace("ZCURVE", "OCVCURVE"), encoding="latin-1")
    with pytest.raises(ef.ReaderError, match="ZCURVE"):
        ef.read(p, format="gamry-dta")


def test_gamry_fewer_rows_than_announced_is_aborted(fx, tmp_path):
    text = fx("eispot_data.dta").read_text(encoding="latin-1")
    p = tmp_path / "short.dta"
    p.write_text(text.replace("ZCURVE\tTABLE", "ZCURVE\tTABLE\t20"), encoding="latin-1")
    with pytest.warns(ef.EisfitWarning, match="aborted"):
        s = ef.read(p)[0]
    assert len(s) == 10 and s.meta["aborted"]


def test_unrecognised_content(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just some words\nand more words\n")
    with pytest.raises(ef.ReaderError, match="unrecognised content"):
        sniff_format(p)


def test_reader_error_is_picklable_and_a_value_error(tmp_path):
    p = tmp_path / "nope.csv"
    with pytest.raises(ValueError) as ei:
        ef.read(p)
    err = pickle.loads(pickle.dumps(ei.value))
    assert isinstance(err, ef.ReaderError) and err.path == str(p)


def test_nan_rows_are_dropped_with_warning(tmp_path):
    p = tmp_path / "nan.csv"
    p.write_text("freq,z_real,z_imag\n1000,1,-0.1\n100,nan,-0.2\n10,3,-0.3\n1,4,-0.4\n")
    with pytest.warns(ef.EisfitWarning, match="dropped 1 row"):
        s = ef.read(p, min_points=3)[0]
    assert list(s.freq) == [1000, 10, 1]


def test_duplicate_frequencies_warn(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("freq,z_real,z_imag\n1000,1,-0.1\n100,2,-0.2\n100,2.1,-0.25\n1,4,-0.4\n")
    with pytest.warns(ef.EisfitWarning, match="duplicate"):
        s = ef.read(p, min_points=4)[0]
    assert len(s) == 4
