"""File discovery, content hashes, file-name patterns and sidecar tables."""

from __future__ import annotations

import pytest

from eisfit import EisfitError
from eisfit.batch.inputs import discover, file_hash, natural_key
from eisfit.batch.metadata import FilenamePattern, clean_header_meta, load_sidecar, sidecar_lookup


def _touch(p, text="x"):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_discover_natural_order_recursive_hidden_and_exclude(tmp_path):
    for n in ["a_cycle10.csv", "a_cycle2.csv", "sub/b_cycle1.csv", ".hidden.csv",
              ".git/x.csv", "out/parameters.csv", "notes.txt"]:
        _touch(tmp_path / n)
    names = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path, exclude=[tmp_path / "out"])]
    assert names == ["a_cycle2.csv", "a_cycle10.csv", "notes.txt", "sub/b_cycle1.csv"]
    flat = [p.name for p in discover(tmp_path, recursive=False, glob="*.csv", exclude=[tmp_path / "out"])]
    assert flat == ["a_cycle2.csv", "a_cycle10.csv"]
    # an explicit file is taken even if it does not match the glob
    assert discover([tmp_path / "notes.txt"], glob="*.csv") == [tmp_path / "notes.txt"]
    with pytest.raises(EisfitError, match="no such file"):
        discover(tmp_path / "missing")


def test_discover_links_dunder_folders_relative_roots_and_folder_globs(tmp_path, monkeypatch):
    import os

    for n in ["d/e/f.csv", "d/__pycache__/g.csv", "d/e/.h.csv", "z.mpr", "d/e/k.txt"]:
        _touch(tmp_path / n)
    os.symlink(tmp_path / "d", tmp_path / "link_to_d")  # a linked folder is not entered
    os.symlink(tmp_path / "z.mpr", tmp_path / "link.mpr")  # a linked file is a file
    rel = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert rel == ["d/e/f.csv", "d/e/k.txt", "link.mpr", "z.mpr"]
    assert discover(tmp_path, glob="e/*.csv") == []  # a glob with "/": the relative name
    assert discover(tmp_path, glob="d/e/*.csv") == [tmp_path / "d/e/f.csv"]
    monkeypatch.chdir(tmp_path)  # a relative root gives relative paths, as pathlib does
    assert [str(p) for p in discover(".", glob="*.mpr")] == ["link.mpr", "z.mpr"]
    assert [str(p) for p in discover("d/", exclude=["d/e"])] == []


def test_file_hash_changes_with_content_only(tmp_path):
    a = _touch(tmp_path / "a.csv", "1,2,3\n")
    b = _touch(tmp_path / "b.csv", "1,2,3\n")
    h = file_hash(a)
    assert h == file_hash(b) and len(h) == 32
    a.write_text("1,2,4\n")
    assert file_hash(a) != h


def test_natural_key():
    names = ["c10", "c9", "C1", "c100"]
    assert sorted(names, key=natural_key) == ["C1", "c9", "c10", "c100"]


@pytest.mark.parametrize(
    "pattern, name, expected",
    [
        ("{cell}_cycle{cycle:d}", "A1_cycle12", {"cell": "A1", "cycle": 12}),
        ("{cell}_cycle{cycle:d}", "A_b_cycle3", {"cell": "A_b", "cycle": 3}),
        ("{cell}_{T:f}C", "x_25.5C", {"cell": "x", "T": 25.5}),
        ("{cell}_{T:f}C", "x_-1e1C", {"cell": "x", "T": -10.0}),
        ("*_{state}_{cycle:d}", "run7_after_20", {"state": "after", "cycle": 20}),
        ("{cell}_cycle{cycle:d}", "A1_cycleX", None),
        ("{cell}_cycle{cycle:d}", "A1_cycle3_extra", None),
    ],
)
def test_filename_pattern(pattern, name, expected):
    assert FilenamePattern(pattern).match(name) == expected


def test_filename_pattern_on_paths_and_errors():
    p = FilenamePattern("{cell}/{cell2}_c{cycle:d}")
    assert p.match_path("A/x_c3.mpt") == {"cell": "A", "cell2": "x", "cycle": 3}
    assert FilenamePattern("{cell}_c{cycle:d}").match_path("deep/dir/B_c4.csv") == {"cell": "B", "cycle": 4}
    with pytest.raises(EisfitError):
        FilenamePattern("no fields")
    with pytest.raises(EisfitError):
        FilenamePattern("{a}_{a}")
    with pytest.raises(EisfitError):
        FilenamePattern("{a:q}")


def test_sidecar_by_cell_and_by_file(tmp_path):
    p = tmp_path / "cells.csv"
    p.write_text(
        "cell,file,area,thickness,state\n"
        "A,,1.5,0.01,\n"
        "A,A_cycle20.csv,,,after\n"
    )
    side = sidecar_lookup(load_sidecar(p))
    assert side.for_cell("A") == {"cell": "A", "area": 1.5, "thickness": 0.01}
    assert side.for_file("A_cycle20.csv") == {"cell": "A", "state": "after"}
    assert side.for_file("sub/A_cycle20.csv") == {"cell": "A", "state": "after"}  # by name
    assert side.for_file("A_cycle1.csv") == {}
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(EisfitError, match="'cell' or a 'file'"):
        load_sidecar(bad)


def test_clean_header_meta_keeps_scalars_only():
    import numpy as np

    m = clean_header_meta({"source": "/x", "index": 0, "cycle": np.int64(3), "arr": np.ones(3),
                           "T": 25.0, "name": "x"})
    assert m == {"cycle": 3, "T": 25.0, "name": "x"}
    assert type(m["cycle"]) is int


def test_order_value_state_then_cycle_time_soc():
    from eisfit.batch.metadata import order_value, state_rank

    metas = [{"state": "after", "cycle": 1}, {"soc": 50}, {"soc": 10}, {"state": "before", "cycle": 9},
             {"cycle": 3, "time": 5.0}, {"cycle": 3, "time": 1.0}]
    ordered = sorted(metas, key=order_value)
    assert ordered[0] == {"state": "before", "cycle": 9}
    assert ordered[1] == {"state": "after", "cycle": 1}
    assert ordered[2:4] == [{"cycle": 3, "time": 1.0}, {"cycle": 3, "time": 5.0}]
    assert ordered[4:] == [{"soc": 10}, {"soc": 50}]
    assert state_rank("Before_cycling") < state_rank("after 20 cycles")
    assert state_rank("weird") != state_rank("weird")  # NaN: unknown states keep file order
