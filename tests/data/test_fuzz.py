"""Readers never raise anything but ReaderError, whatever the bytes (hypothesis fuzzing)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eisfit as ef
from eisfit.data.readers import REGISTRY, read, sniff_format

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEEDS = {
    "biologic-mpr": "PEIS_LPSCl_IonBlocking_-25C.mpr",
    "biologic-mpt": "exampleDataBioLogic.mpt",
    "gamry-dta": "eispot_data.dta",
    "zplot": "exampleDataZPlot_noComments.z",
    "chi": "exampleDataCHInstruments.txt",
    "versastudio-par": "exampleDataVersaStudio.par",
    "relaxis": "PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt",
    "parstat": "exampleDataPowersuite.txt",
    "powersuite": "exampleDataPowersuite.txt",
    "autolab": "exampleDataAutolab.txt",
    "palmsens-csv": "1ZARC.csv",
    "matlab": "DRTtools_data_1.mat",
    "npy": "autoeis_battery_first3.npy",
    "excel": "exampleData.csv",
    "parquet": "pybop_MJ1_first2.parquet",
    "table": "zhang2020_wide_first3.csv",
    "palmsens-pssession": "palmsens_eis_5freq.pssession",
    "zahner-ism": "zahner_rc-data.ism",
    "ivium": "exampleDataIvium.idf",
    "ods": "cell_polar.ods",
}
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _attempt(fn, data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"fuzz{suffix}"
        p.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = fn(p)
            except ef.ReaderError as exc:
                assert exc.path == str(p)
                return None
    assert isinstance(out, list)
    assert all(isinstance(s, ef.Spectrum) for s in out)
    return out


def _mutate(seed: bytes, cut: int, flips: list[tuple[int, int]], insert: bytes) -> bytes:
    b = bytearray(seed[: max(1, cut)])
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    k = len(b) // 2
    return bytes(b[:k]) + insert + bytes(b[k:])


mutations = st.tuples(
    st.integers(0, 60000),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    st.binary(max_size=40),
)


@pytest.mark.parametrize("fmt", list(SEEDS))
@FUZZ
@given(data=st.binary(max_size=600))
def test_reader_random_bytes(fmt, data):
    mod = REGISTRY[fmt]
    _attempt(mod.read, data, mod.EXTENSIONS[0])


@pytest.mark.parametrize("fmt", list(SEEDS))
@FUZZ
@given(m=mutations)
def test_reader_mutated_real_file(fmt, m):
    mod = REGISTRY[fmt]
    seed = (FIXTURES / SEEDS[fmt]).read_bytes()
    _attempt(mod.read, _mutate(seed, *m), mod.EXTENSIONS[0])


@FUZZ
@given(m=mutations, name=st.sampled_from(sorted(set(SEEDS.values()))))
def test_read_and_sniff_on_mutated_files(m, name):
    seed = (FIXTURES / name).read_bytes()
    data = _mutate(seed, *m)
    _attempt(read, data, Path(name).suffix)
    _attempt(lambda p: [sniff_format(p)] and [], data, Path(name).suffix)


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(list("0123456789.,;\t -+eE\nabcfrqZ'\"|()/[]_")), max_size=400
    )
)
def test_read_on_table_like_text(text):
    _attempt(read, text.encode(), ".csv")


line_ops = st.lists(
    st.tuples(
        st.sampled_from(["del", "dup", "tok", "trunc", "blank"]),
        st.integers(0, 10**5),
        st.text(alphabet="0123456789.,;\t -+eEnaNinf\"'[]jZ", max_size=12),
    ),
    min_size=1,
    max_size=6,
)


def _line_mutate(seed: bytes, ops) -> bytes:
    lines = seed.decode("latin-1").split("\n")
    for op, k, txt in ops:
        if not lines:
            break
        i = k % len(lines)
        if op == "del":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "blank":
            lines[i] = ""
        elif op == "trunc":
            lines[i] = lines[i][: k % (len(lines[i]) + 1)]
        else:
            parts = lines[i].replace(",", "\t").split("\t")
            parts[k % len(parts)] = txt
            lines[i] = "\t".join(parts)
    return "\n".join(lines).encode("latin-1", "replace")


BINARY = ("biologic-mpr", "matlab", "npy", "parquet", "excel", "ods", "zahner-ism")
TEXT_FORMATS = [f for f in SEEDS if f not in BINARY]


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@FUZZ
@given(ops=line_ops)
def test_text_reader_line_mutations(fmt, ops):
    mod = REGISTRY[fmt]
    data = _line_mutate((FIXTURES / SEEDS[fmt]).read_bytes(), ops)
    _attempt(mod.read, data, mod.EXTENSIONS[0])
